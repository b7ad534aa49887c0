// Malformed guest images: kernels (Linux bzImage, multiboot ELF, multiboot a.out kludge,
// plain ELF), initrds, firmware (-bios) and disk images, each handed to the Machine
// constructor as a file, then, when it loads, a short run.
//
// The generator builds a small valid image of the chosen kind in memory and mutates it:
// byte flips, random bytes, truncation or growth, and the header's length and address
// fields set to extremes (0, 1, all ones, the file size, around 4 GiB and the guest's
// RAM size). The options around it vary too: the RAM size, the command line, an initrd,
// a disk, the engine. The expected outcomes are a clean refusal (LoadError, BackendError
// or DiskError whose message is one non-empty line), or a machine that runs; anything
// else (another exception, a message of several lines, an internal-error stop) is a
// finding, and a crash or sanitizer report is caught by the supervisor.
#include <memory>
#include <string>

#include "devices/char_backend.h"
#include "devices/disk_image.h"
#include "frontend/loader.h"
#include "frontend/machine.h"
#include "tests/fuzz/fuzz.h"

namespace popek::fuzz {
namespace {

using frontend::Machine;
using frontend::MachineConfig;

enum Kind : uint8_t { kLinux, kMultibootElf, kMultibootAout, kPlainElf, kBios, kDiskOnly, kNumKinds };
// Option bits of an input.
enum : uint8_t { kWithInitrd = 1, kWithDisk = 2, kWithBios = 4, kJit = 8, kReadonly = 16, kSnapshot = 32 };

constexpr uint64_t kRamSizes[] = {1u << 20, 2u << 20, 4u << 20, 16u << 20, 64u << 20, (1u << 20) + 4096};

void put32(std::vector<uint8_t>& v, size_t off, uint32_t x) {
  if (v.size() < off + 4) v.resize(off + 4);
  std::memcpy(v.data() + off, &x, 4);
}
void put16(std::vector<uint8_t>& v, size_t off, uint16_t x) {
  if (v.size() < off + 2) v.resize(off + 2);
  std::memcpy(v.data() + off, &x, 2);
}

// Guest code for an image: mostly an exit through isa-debug-exit, then random bytes.
std::vector<uint8_t> payload(Rng& r, size_t n) {
  std::vector<uint8_t> v = {0xB0, 0x01, 0xE6, 0xF4};  // mov al, 1; out 0xf4, al
  if (r.chance(50)) v.clear();
  while (v.size() < n) v.push_back(static_cast<uint8_t>(r.u32()));
  return v;
}

std::vector<uint8_t> linux_image(Rng& r) {
  namespace lx = frontend::lx;
  const unsigned setup_sects = r.chance(80) ? 1 + r.below(4) : r.below(256);
  const size_t pm = 512 + r.below(8192);
  std::vector<uint8_t> v((setup_sects ? setup_sects + 1 : 5) * 512);
  v[lx::kSetupSects] = static_cast<uint8_t>(setup_sects);
  put32(v, lx::kSysSize, static_cast<uint32_t>((pm + 15) / 16));
  put16(v, lx::kBootFlag, 0xAA55);
  v[lx::kJump] = 0xEB;
  v[lx::kJump + 1] = static_cast<uint8_t>(r.chance(80) ? 0x66 : r.u32());
  std::memcpy(v.data() + lx::kHeaderMagicOff, "HdrS", 4);
  static constexpr uint16_t kVersions[] = {0x0202, 0x0203, 0x0205, 0x0206, 0x020A, 0x020F, 0x0201, 0x02FF};
  put16(v, lx::kVersion, kVersions[r.below(std::size(kVersions))]);
  v[lx::kLoadFlags] = lx::kLoadedHigh | (r.chance(50) ? lx::kCanUseHeap : 0);
  put32(v, lx::kCode32Start, 0x100000);
  put32(v, lx::kInitrdAddrMax, 0x37FFFFFF);
  put32(v, lx::kKernelAlignment, r.chance(70) ? 0x200000 : r.u32());
  v[lx::kRelocatable] = static_cast<uint8_t>(r.below(2));
  put32(v, lx::kCmdlineSize, r.chance(70) ? 2047 : r.u32());
  put32(v, lx::kPrefAddress, r.chance(70) ? 0x100000 : r.u32());
  put32(v, lx::kInitSize, static_cast<uint32_t>(r.chance(70) ? pm * 2 : r.u32()));
  const std::vector<uint8_t> code = payload(r, pm);
  v.insert(v.end(), code.begin(), code.end());
  // Fields worth setting to extremes.
  static constexpr uint32_t kFields[] = {lx::kSysSize, lx::kRamdiskImage, lx::kRamdiskSize, lx::kHeapEndPtr,
                                         lx::kCmdLinePtr, lx::kInitrdAddrMax, lx::kKernelAlignment,
                                         lx::kCmdlineSize, lx::kPrefAddress, lx::kInitSize, lx::kCode32Start};
  const uint32_t extremes[] = {0, 1, 0xFFFFFFFF, 0x80000000, 0xFFFFF000, static_cast<uint32_t>(v.size()),
                               static_cast<uint32_t>(pm), 0x100000, 0x37FFFFFF, 0x9F000};
  while (r.chance(40)) put32(v, r.pick(kFields), r.pick(extremes));
  return v;
}

// ELF32 i386 ET_EXEC with 1-3 PT_LOAD segments, with or without a multiboot header.
std::vector<uint8_t> elf_image(Rng& r, bool multiboot) {
  const unsigned phnum = 1 + r.below(3);
  const uint32_t phoff = 52, hdr_end = phoff + 32 * phnum;
  const size_t code = 64 + r.below(4096);
  std::vector<uint8_t> v(hdr_end);
  std::memcpy(v.data(), "\x7f" "ELF", 4);
  v[4] = 1, v[5] = 1, v[6] = 1;
  put16(v, 16, 2);   // ET_EXEC
  put16(v, 18, 3);   // EM_386
  put32(v, 20, 1);
  const uint32_t load = r.chance(80) ? 0x100000 : r.chance(50) ? 0x10000 : r.u32();
  put32(v, 28, phoff);
  put16(v, 40, 52), put16(v, 42, 32), put16(v, 44, static_cast<uint16_t>(phnum));
  size_t mh = v.size();
  if (multiboot) {  // magic, flags, checksum: page-align and memory-info requests
    const uint32_t flags = r.chance(80) ? 3 : r.u32() & 0x10007;
    put32(v, mh, frontend::mb::kHeaderMagic), put32(v, mh + 4, flags);
    put32(v, mh + 8, 0u - frontend::mb::kHeaderMagic - flags);
  }
  const uint32_t text = static_cast<uint32_t>(v.size() + 12);
  const std::vector<uint8_t> c = payload(r, code);
  v.resize(text);
  v.insert(v.end(), c.begin(), c.end());
  put32(v, 24, r.chance(80) ? load : r.u32());  // entry: the start of the first segment
  uint32_t off = text, at = load;
  for (unsigned i = 0; i < phnum; ++i) {
    const uint32_t ph = phoff + 32 * i;
    const uint32_t filesz = i + 1 == phnum ? static_cast<uint32_t>(v.size() - off) : static_cast<uint32_t>((v.size() - off) / phnum);
    put32(v, ph, r.chance(90) ? 1 : r.below(8));  // PT_LOAD
    put32(v, ph + 4, off);
    put32(v, ph + 8, at), put32(v, ph + 12, at);
    put32(v, ph + 16, filesz), put32(v, ph + 20, filesz + (r.chance(30) ? r.below(0x10000) : 0));
    put32(v, ph + 24, 7);
    off += filesz;
    at += (filesz + 0xFFF) & ~0xFFFu;
  }
  return v;
}

// A multiboot kernel in a.out-kludge form: header fields give the load addresses.
std::vector<uint8_t> aout_image(Rng& r) {
  const size_t code = 64 + r.below(4096);
  std::vector<uint8_t> v(r.below(64) * 4);
  const uint32_t mh = static_cast<uint32_t>(v.size());
  const uint32_t load = r.chance(80) ? 0x100000 : r.u32() & ~3u;
  const uint32_t flags = 0x10003;
  put32(v, mh, frontend::mb::kHeaderMagic), put32(v, mh + 4, flags), put32(v, mh + 8, 0u - frontend::mb::kHeaderMagic - flags);
  const std::vector<uint8_t> c = payload(r, code);
  put32(v, mh + 12, load + mh);  // header_addr
  put32(v, mh + 16, load);       // load_addr
  put32(v, mh + 20, r.chance(50) ? 0 : static_cast<uint32_t>(load + mh + 32 + code));  // load_end_addr
  put32(v, mh + 24, r.chance(50) ? 0 : static_cast<uint32_t>(load + mh + 32 + code + r.below(0x10000)));  // bss_end
  put32(v, mh + 28, load + mh + 32);  // entry
  v.insert(v.end(), c.begin(), c.end());
  return v;
}

std::vector<uint8_t> bios_image(Rng& r) {
  const size_t size = r.chance(80) ? 4096 * (1 + r.below(32)) : r.below(0x110000);
  std::vector<uint8_t> v = payload(r, size);
  if (v.size() >= 16) {  // the reset vector at F000:FFF0: a jump into the image
    const size_t rv = v.size() - 16;
    v[rv] = 0xEB, v[rv + 1] = static_cast<uint8_t>(-static_cast<int>(2 + r.below(120)));
  }
  return v;
}

// The mutations every image gets: extremes in 32-bit fields, flips, size changes.
void mutate(Rng& r, std::vector<uint8_t>& v, uint64_t ram) {
  const uint32_t extremes[] = {0, 1, 0xFFFFFFFF, 0x7FFFFFFF, 0x80000000, 0xFFFFF000, static_cast<uint32_t>(v.size()),
                               static_cast<uint32_t>(ram), static_cast<uint32_t>(ram - 4096), 0x100000, 0xA0000, 0x9000};
  const unsigned rounds = r.chance(20) ? 0 : 1 + r.below(6);
  for (unsigned i = 0; i < rounds && !v.empty(); ++i) {
    switch (r.below(6)) {
      case 0: case 1: {  // a 32-bit field in the first KiB (the headers) to an extreme
        const size_t at = r.below(static_cast<uint32_t>(std::min<size_t>(v.size(), 1024))) & ~3u;
        put32(v, at, r.pick(extremes));
        break;
      }
      case 2: v[r.below(static_cast<uint32_t>(v.size()))] ^= static_cast<uint8_t>(1u << r.below(8)); break;
      case 3: v[r.below(static_cast<uint32_t>(v.size()))] = static_cast<uint8_t>(r.u32()); break;
      case 4: v.resize(r.below(static_cast<uint32_t>(v.size()) + 1)); break;  // truncate
      default: v.resize(v.size() + r.below(5000), static_cast<uint8_t>(r.u32())); break;
    }
  }
}

class LoaderFuzzer final : public Fuzzer {
 public:
  LoaderFuzzer(uint64_t budget, double soft_limit) : budget_(budget), soft_limit_(soft_limit) {}

  const char* name() const override { return "loader"; }

  std::vector<uint8_t> generate(Rng& r) override {
    Output o;
    const Kind kind = static_cast<Kind>(r.below(kNumKinds));
    uint8_t opts = 0;
    if (r.chance(30)) opts |= kWithInitrd;
    if (r.chance(30) || kind == kDiskOnly) opts |= kWithDisk;
    if (r.chance(10) && kind != kBios) opts |= kWithBios;
    if (r.chance(50)) opts |= kJit;
    if (r.chance(30)) opts |= kReadonly;
    if (r.chance(50)) opts |= kSnapshot;
    const uint8_t ram = static_cast<uint8_t>(r.below(std::size(kRamSizes)));
    o.u8(kind), o.u8(opts), o.u8(ram);
    std::vector<uint8_t> kernel, bios, initrd, disk;
    switch (kind) {
      case kLinux: kernel = linux_image(r); break;
      case kMultibootElf: kernel = elf_image(r, true); break;
      case kMultibootAout: kernel = aout_image(r); break;
      case kPlainElf: kernel = elf_image(r, false); break;
      case kBios: bios = bios_image(r); break;
      default: break;
    }
    if (opts & kWithBios) bios = bios_image(r);
    if (opts & kWithInitrd) initrd = payload(r, r.chance(90) ? r.below(20000) : r.below(3u << 20));
    if (opts & kWithDisk) disk = std::vector<uint8_t>(r.chance(80) ? 512 * r.below(64) : r.below(40000), 0x5A);
    mutate(r, kernel, kRamSizes[ram]);
    mutate(r, bios, kRamSizes[ram]);
    if (r.chance(30)) mutate(r, initrd, kRamSizes[ram]);
    std::string append = r.chance(70) ? "console=ttyS0" : std::string(r.chance(50) ? r.below(300) : r.below(0x90000), 'x');
    o.blob(kernel), o.blob(initrd), o.blob(bios), o.blob(disk);
    o.blob(std::vector<uint8_t>(append.begin(), append.end()));
    return o.v;
  }

  std::string run(const std::vector<uint8_t>& input, Counters& c) override {
    ++c.inputs;
    Input in(input);
    const uint8_t kind = in.u8() % kNumKinds, opts = in.u8();
    const uint64_t ram = kRamSizes[in.u8() % std::size(kRamSizes)];
    constexpr size_t kMax = 4u << 20;
    const std::vector<uint8_t> kernel = in.blob(kMax), initrd = in.blob(kMax), bios = in.blob(kMax),
                               disk = in.blob(kMax), append = in.blob(1u << 20);
    MachineConfig cfg;
    cfg.ram_size = ram;
    cfg.serial = "none";
    cfg.debugcon = "none";
    cfg.no_reboot = true;
    cfg.rtc_base = frontend::RtcBase::Fixed;
    cfg.engine = (opts & kJit) ? frontend::Engine::Jit : frontend::Engine::Interp;
    cfg.jit_cache_bytes = 1u << 20;
    cfg.append.assign(append.begin(), append.end());
    auto use = [](MemFile& f, const std::vector<uint8_t>& bytes, std::string& path) {
      f.set(bytes);
      path = f.path();
    };
    if (kind != kBios && kind != kDiskOnly) use(files_[0], kernel, cfg.kernel_path);
    if ((opts & kWithInitrd) || !initrd.empty()) use(files_[1], initrd, cfg.initrd_path);
    if (kind == kBios || (opts & kWithBios)) use(files_[2], bios, cfg.bios_path);
    if (opts & kWithDisk) {
      files_[3].set(disk);
      cfg.drives.push_back({files_[3].path(), 0, (opts & kReadonly) != 0});
      cfg.snapshot = opts & kSnapshot;
    }
    std::unique_ptr<Machine> m;
    std::string why;
    bool refused = false;
    try {
      m = std::make_unique<Machine>(cfg);
    } catch (const frontend::LoadError& e) {
      refused = true, why = e.what();
    } catch (const devices::BackendError& e) {
      refused = true, why = e.what();
    } catch (const devices::DiskError& e) {
      refused = true, why = e.what();
    } catch (const std::exception& e) {
      return std::string("the machine constructor threw an unexpected exception: ") + e.what();
    }
    if (refused) {
      ++c.rejected;
      if (why.empty() || why.find('\n') != std::string::npos)
        return "a refusal that is not one line: '" + why + "'";
      return "";
    }
    m->bus().log().quiet = true;
    m->host = SoftLimit::host();
    SoftLimit::arm(soft_limit_, &m->cpu().s.icount);
    std::string bad;
    while (m->cpu().s.icount < budget_ && m->bus().clock().idle_instructions() < 1000 * budget_) {
      const Machine::RunStep r = m->run_step(budget_ - m->cpu().s.icount);
      if (!r.done) continue;
      if (r.message.find("internal error") != std::string::npos) bad = "run loop: " + r.message;
      if (m->bus().stop_reason() == bus::StopReason::Fatal) ++c.fatal_stops;
      if (r.host) ++c.cut;
      break;
    }
    SoftLimit::disarm();
    c.guest_insns += m->cpu().s.icount;
    return bad;
  }

 private:
  uint64_t budget_;
  double soft_limit_;
  MemFile files_[4];  // kernel, initrd, bios, disk
};

}  // namespace

Fuzzer* make_loader_fuzzer(uint64_t budget, double soft_limit) { return new LoaderFuzzer(budget, soft_limit); }

}  // namespace popek::fuzz
