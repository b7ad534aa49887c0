// -kernel: multiboot v1 (ELF32 or a.out kludge), loaded directly as QEMU does.
#include <algorithm>
#include <cstdio>
#include <cstring>

#include "frontend/loader.h"

namespace popek::frontend {

namespace {

using namespace mb;

constexpr uint32_t kHoleStart = 0xA0000;
constexpr uint32_t kHoleEnd = 0x100000;

// ELF32 constants.
constexpr uint8_t kElfClass32 = 1, kElfData2Lsb = 1;
constexpr uint16_t kEtExec = 2, kEm386 = 3;
constexpr uint32_t kPtLoad = 1;
constexpr size_t kEhdrSize = 52, kPhdrSize = 32;


// A piece of the image to place: file bytes [offset, offset + filesz) at paddr, then
// zeros up to paddr + memsz.
struct Segment {
  uint32_t paddr, vaddr;
  size_t offset, filesz;
  uint32_t memsz;
};

class Loader {
 public:
  Loader(bus::Bus& bus, cpu::CpuState& s, const MachineConfig& cfg)
      : bus_(bus), s_(s), cfg_(cfg), what_("-kernel " + cfg.kernel_path + ": ") {}

  MultibootImage run() {
    data_ = read_image("-kernel", cfg_.kernel_path);
    const long mh = find_header();
    if (mh < 0) fail("neither a multiboot kernel nor a Linux bzImage");
    const uint32_t flags = rd32(data_, mh + 4);
    const uint32_t unknown = flags & 0xFFF8u;  // bits 3-15 are requirements popek does not know
    if (unknown) fail("multiboot header requires unsupported features (flags " + hex(flags) + ")");
    if (flags & kFlagAoutKludge) parse_kludge(static_cast<size_t>(mh));
    else parse_elf();
    place_segments();
    load_module();
    build_info();
    set_entry_state();
    return img_;
  }

 private:
  [[noreturn]] void fail(const std::string& why) { throw LoadError(what_ + why); }

  long find_header() const {
    const size_t limit = std::min<size_t>(data_.size(), kSearchLimit);
    for (size_t off = 0; off + 12 <= limit; off += 4) {
      if (rd32(data_, off) != kHeaderMagic) continue;
      const uint32_t sum = kHeaderMagic + rd32(data_, off + 4) + rd32(data_, off + 8);
      if (sum == 0) return static_cast<long>(off);
    }
    return -1;
  }

  void parse_elf() {
    if (data_.size() < 4 || std::memcmp(data_.data(), "\x7f" "ELF", 4) != 0)
      fail("has a multiboot header but is not an ELF file and does not set the a.out kludge flag");
    if (data_.size() < kEhdrSize) fail("truncated ELF header");
    if (data_[4] != kElfClass32) fail("not a 32-bit ELF file");
    if (data_[5] != kElfData2Lsb) fail("not a little-endian ELF file");
    const uint16_t type = rd16(data_, 16), machine = rd16(data_, 18);
    if (machine != kEm386) fail("ELF machine " + std::to_string(machine) + " is not i386");
    if (type != kEtExec) fail("not an executable ELF file (e_type " + std::to_string(type) + ")");
    const uint32_t entry = rd32(data_, 24), phoff = rd32(data_, 28);
    const uint16_t phentsize = rd16(data_, 42), phnum = rd16(data_, 44);
    if (phnum == 0) fail("ELF file has no program headers");
    if (phentsize < kPhdrSize) fail("bad ELF program header size " + std::to_string(phentsize));
    if (static_cast<uint64_t>(phoff) + static_cast<uint64_t>(phnum) * phentsize > data_.size())
      fail("truncated ELF program headers");
    for (unsigned i = 0; i < phnum; ++i) {
      const size_t ph = phoff + static_cast<size_t>(i) * phentsize;
      if (rd32(data_, ph) != kPtLoad) continue;
      Segment sg{rd32(data_, ph + 12), rd32(data_, ph + 8), rd32(data_, ph + 4), rd32(data_, ph + 16),
                 rd32(data_, ph + 20)};
      if (sg.memsz == 0) continue;
      if (sg.filesz > sg.memsz)
        fail("ELF segment " + std::to_string(i) + " has a file size larger than its memory size");
      if (static_cast<uint64_t>(sg.offset) + sg.filesz > data_.size())
        fail("truncated: ELF segment " + std::to_string(i) + " extends past the end of the file");
      segs_.push_back(sg);
    }
    if (segs_.empty()) fail("ELF file has no loadable segments");
    // A kernel linked at a virtual address other than its load address (a higher-half
    // kernel) gives a virtual e_entry: run it at the matching physical address.
    img_.entry = entry;
    bool in_phys = false;
    for (const Segment& sg : segs_)
      if (entry - sg.paddr < sg.memsz) in_phys = true;
    if (!in_phys) {
      for (const Segment& sg : segs_) {
        if (entry - sg.vaddr < sg.memsz) {
          img_.entry = entry - sg.vaddr + sg.paddr;
          break;
        }
      }
    }
  }

  // Multiboot header fields at offsets 12-28: header_addr, load_addr, load_end_addr,
  // bss_end_addr, entry_addr (all physical).
  void parse_kludge(size_t mh) {
    if (mh + 32 > data_.size()) fail("truncated multiboot header (a.out kludge fields missing)");
    const uint32_t header_addr = rd32(data_, mh + 12), load_addr = rd32(data_, mh + 16),
                   load_end_addr = rd32(data_, mh + 20), bss_end_addr = rd32(data_, mh + 24),
                   entry_addr = rd32(data_, mh + 28);
    if (load_addr > header_addr || header_addr - load_addr > mh)
      fail("bad multiboot load_addr " + hex(load_addr) + " for header_addr " + hex(header_addr));
    const size_t offset = mh - (header_addr - load_addr);
    const uint64_t load_end = load_end_addr ? load_end_addr : load_addr + (data_.size() - offset);
    if (load_end < load_addr) fail("multiboot load_end_addr below load_addr");
    const uint64_t filesz = load_end - load_addr;
    if (offset + filesz > data_.size())
      fail("truncated: the multiboot load range extends past the end of the file");
    const uint64_t bss_end = bss_end_addr ? bss_end_addr : load_end;
    if (bss_end < load_end) fail("multiboot bss_end_addr below load_end_addr");
    if (bss_end - load_addr > 0xFFFFFFFFull) fail("multiboot load range too large");
    segs_.push_back(Segment{load_addr, load_addr, offset, static_cast<size_t>(filesz),
                            static_cast<uint32_t>(bss_end - load_addr)});
    img_.entry = entry_addr;
  }

  void check_range(const std::string& what, uint64_t start, uint64_t end) {
    const std::string range = what + " at " + hex(start) + "-" + hex(end - 1);
    if (end > bus_.ram_size())
      fail(range + " lies outside guest RAM (" + std::to_string(bus_.ram_size() >> 20) +
           " MiB); try a larger -m");
    if (start < kHoleEnd && end > kHoleStart)
      fail(range + " overlaps the 0xa0000-0xfffff hole (video memory and ROM)");
    if (start < kAreaEnd && end > kGdtAddr)
      fail(range + " overlaps the boot information popek puts at 0x8000-0x9fff");
  }

  void place_segments() {
    img_.kernel_start = 0xFFFFFFFFu;
    for (const Segment& sg : segs_) {
      const uint64_t end = static_cast<uint64_t>(sg.paddr) + sg.memsz;
      check_range("segment", sg.paddr, end);
      bus_.load(sg.paddr, data_.data() + sg.offset, sg.filesz);
      bus_.fill(sg.paddr + static_cast<uint32_t>(sg.filesz), 0, sg.memsz - sg.filesz);
      img_.kernel_start = std::min(img_.kernel_start, sg.paddr);
      img_.kernel_end = std::max(img_.kernel_end, static_cast<uint32_t>(end));
    }
  }

  void load_module() {
    if (cfg_.initrd_path.empty()) return;
    const std::vector<uint8_t> mod = read_image("-initrd", cfg_.initrd_path);
    uint64_t start = (static_cast<uint64_t>(img_.kernel_end) + 0xFFF) & ~0xFFFull;
    if (start < kHoleEnd && start + mod.size() > kHoleStart) start = kHoleEnd;
    if (start < kAreaEnd && start + mod.size() > kGdtAddr) start = kAreaEnd;
    const uint64_t end = start + mod.size();
    if (end > bus_.ram_size()) {
      throw LoadError("-initrd " + cfg_.initrd_path + ": " + std::to_string(mod.size()) +
                      " bytes do not fit in guest RAM after the kernel; try a larger -m");
    }
    bus_.load(static_cast<uint32_t>(start), mod.data(), mod.size());
    img_.module_start = static_cast<uint32_t>(start);
    img_.module_end = static_cast<uint32_t>(end);
  }

  void put32(uint32_t addr, uint32_t v) { bus_.load(addr, &v, 4); }

  uint32_t put_string(const std::string& str, const char* option) {
    const uint32_t addr = strings_;
    if (strings_ + str.size() + 1 > kAreaEnd) {
      throw LoadError(std::string(option) + ": string too long for the multiboot information (" +
                      std::to_string(str.size()) + " bytes)");
    }
    bus_.load(addr, str.c_str(), str.size() + 1);
    strings_ += static_cast<uint32_t>(str.size() + 1);
    return addr;
  }

  void build_info() {
    bus_.fill(kGdtAddr, 0, kAreaEnd - kGdtAddr);  // the GDT is written at entry
    const uint32_t i = kInfoAddr;
    uint32_t flags = kInfoMem | kInfoCmdline | kInfoMods | kInfoMmap | kInfoLoaderName;
    put32(i + 4, kMemLowerKiB);
    put32(i + 8, static_cast<uint32_t>((bus_.ram_size() - (1u << 20)) / 1024));
    put32(i + 16, put_string(cfg_.kernel_path + " " + cfg_.append, "-append"));
    if (img_.module_end) {
      put32(kModsAddr + 0, img_.module_start);
      put32(kModsAddr + 4, img_.module_end);
      put32(kModsAddr + 8, put_string(cfg_.initrd_path, "-initrd"));
      put32(kModsAddr + 12, 0);
      put32(i + 20, 1);
    } else {
      put32(i + 20, 0);
    }
    put32(i + 24, kModsAddr);
    // Memory map: entries of {size = 20, base (64), length (64), type}.
    struct Range {
      uint64_t base, length;
      uint32_t type;
    };
    const Range ranges[] = {
        {0, 0x9FC00, 1},
        {0x9FC00, 0x400, 2},
        {0xF0000, 0x10000, 2},
        {0x100000, bus_.ram_size() - 0x100000, 1},
    };
    uint32_t at = kMmapAddr;
    for (const Range& r : ranges) {
      if (r.length == 0) continue;
      uint8_t e[24];
      const uint32_t size = 20;
      std::memcpy(e + 0, &size, 4);
      std::memcpy(e + 4, &r.base, 8);
      std::memcpy(e + 12, &r.length, 8);
      std::memcpy(e + 20, &r.type, 4);
      bus_.load(at, e, sizeof e);
      at += sizeof e;
    }
    put32(i + 44, at - kMmapAddr);
    put32(i + 48, kMmapAddr);
    bus_.load(kLoaderNameAddr, "popek", 6);
    put32(i + 64, kLoaderNameAddr);
    put32(i + 0, flags);
    img_.info_addr = i;
  }

  void set_entry_state() {
    enter_flat_protected_mode(bus_, s_, img_.entry);
    s_.gpr[cpu::EAX] = kBootMagic;
    s_.gpr[cpu::EBX] = img_.info_addr;
  }

  bus::Bus& bus_;
  cpu::CpuState& s_;
  const MachineConfig& cfg_;
  const std::string what_;
  std::vector<uint8_t> data_;
  std::vector<Segment> segs_;
  MultibootImage img_;
  uint32_t strings_ = kStringsAddr;
};

}  // namespace

MultibootImage load_multiboot(bus::Bus& bus, cpu::CpuState& s, const MachineConfig& cfg) {
  return Loader(bus, s, cfg).run();
}

}  // namespace popek::frontend
