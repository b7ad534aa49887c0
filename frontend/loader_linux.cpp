// -kernel: a Linux bzImage, entered through the 32-bit boot protocol.
//
// popek has no BIOS, so the image's real-mode setup code cannot run; the loader does its
// job instead (Documentation/arch/x86/boot.rst, "32-bit boot protocol"): it fills in
// boot_params (the "zero page") with the image's setup header, the memory map the BIOS
// would report and the loader fields, and enters the protected-mode kernel directly.
#include <algorithm>
#include <cstdio>
#include <cstring>

#include "frontend/loader.h"

namespace popek::frontend {

namespace {

using namespace lx;

constexpr uint32_t kSectorSize = 512;
constexpr uint32_t kDefaultSetupSects = 4;     // setup_sects == 0 means 4
constexpr uint32_t kOldInitrdAddrMax = 0x37FFFFFF;  // before protocol 2.03
constexpr uint32_t kOldCmdlineMax = 255;        // before protocol 2.06
constexpr uint32_t kPageMask = 0xFFF;
constexpr size_t kBootParamsSize = 4096;
constexpr uint32_t kExtMemKMax = 0xFC00;        // what INT 15h AH=88h can report

void wr32(std::vector<uint8_t>& d, size_t off, uint32_t v) { std::memcpy(d.data() + off, &v, 4); }
void wr16(std::vector<uint8_t>& d, size_t off, uint16_t v) { std::memcpy(d.data() + off, &v, 2); }

std::string version_string(uint16_t v) {
  char b[16];
  snprintf(b, sizeof b, "%u.%02u", v >> 8, v & 0xFF);
  return b;
}

uint64_t align_up(uint64_t v, uint64_t a) { return a ? (v + a - 1) / a * a : v; }

class Loader {
 public:
  Loader(bus::Bus& bus, cpu::CpuState& s, const MachineConfig& cfg)
      : bus_(bus), s_(s), cfg_(cfg), what_("-kernel " + cfg.kernel_path + ": ") {}

  LinuxImage run() {
    data_ = read_image("-kernel", cfg_.kernel_path);
    parse_header();
    place_kernel();
    place_initrd();
    build_boot_params();
    set_entry_state();
    return img_;
  }

 private:
  [[noreturn]] void fail(const std::string& why) { throw LoadError(what_ + why); }

  void parse_header() {
    if (!is_linux_image(data_)) fail("not a Linux kernel image (no \"HdrS\" setup header)");
    // The fields read before the header's own length is known end with loadflags.
    if (data_.size() < kLoadFlags + 1)
      fail("truncated: the file ends inside the setup header (" + std::to_string(data_.size()) + " bytes)");
    protocol_ = rd16(data_, kVersion);
    img_.protocol = protocol_;
    if (protocol_ < kMinProtocol) {
      fail("Linux boot protocol " + version_string(protocol_) + " is too old (popek needs " +
           version_string(kMinProtocol) + " or later)");
    }
    if (!(data_[kLoadFlags] & kLoadedHigh))
      fail("a zImage (loaded below 1 MiB) is not supported; use a bzImage");
    // The setup header ends where the jump at 0x200 lands.
    header_end_ = kJump + 2 + data_[kJump + 1];
    uint32_t setup_sects = data_[kSetupSects];
    if (setup_sects == 0) setup_sects = kDefaultSetupSects;
    pm_offset_ = (setup_sects + 1) * kSectorSize;
    if (header_end_ > pm_offset_ || header_end_ > kBootParamsSize)
      fail("bad setup header length " + std::to_string(header_end_ - kSetupSects));
    if (pm_offset_ >= data_.size())
      fail("truncated: no protected-mode kernel after the " + std::to_string(setup_sects) +
           " setup sectors");
    const uint64_t syssize = static_cast<uint64_t>(rd32(data_, kSysSize)) * 16;
    if (syssize > data_.size() - pm_offset_) {
      fail("truncated: the header says " + std::to_string(syssize) +
           " bytes of protected-mode kernel, the file has " +
           std::to_string(data_.size() - pm_offset_));
    }
    if (data_.size() - pm_offset_ > 0xFFFFFFFFull - kDefaultLoadAddr) fail("kernel too large");
    img_.kernel_size = static_cast<uint32_t>(data_.size() - pm_offset_);
  }

  bool at_least(uint16_t v) const { return protocol_ >= v; }

  void place_kernel() {
    const bool relocatable = at_least(0x0205) && data_[kRelocatable];
    const uint64_t pref = at_least(0x020A) ? rd32(data_, kPrefAddress) : 0;
    const uint32_t init_size = at_least(0x020A) ? rd32(data_, kInitSize) : 0;
    uint64_t load = kDefaultLoadAddr;
    // A relocatable kernel decompresses at its preferred address anyway (where it would
    // first copy itself to); loading it there saves that copy.
    if (relocatable && pref >= kDefaultLoadAddr) load = pref;
    // While decompressing, the kernel occupies init_size bytes from the load address
    // rounded up to kernel_alignment, and no lower than the address it was linked for
    // (pref_address).
    uint64_t base = load;
    if (relocatable && at_least(0x0205)) base = align_up(base, rd32(data_, kKernelAlignment));
    if (at_least(0x020A)) base = std::max(base, pref);
    const uint64_t end = std::max(load + img_.kernel_size, base + init_size);
    if (end > bus_.ram_size()) {
      fail("the kernel needs memory up to " + hex(end) + " (" + std::to_string((end + 0xFFFFF) >> 20) +
           " MiB) but the guest has " + std::to_string(bus_.ram_size() >> 20) + " MiB; try a larger -m");
    }
    bus_.load(static_cast<uint32_t>(load), data_.data() + pm_offset_, img_.kernel_size);
    img_.kernel_addr = static_cast<uint32_t>(load);
    img_.kernel_end = static_cast<uint32_t>(end);
  }

  void place_initrd() {
    if (cfg_.initrd_path.empty()) return;
    const std::vector<uint8_t> rd = read_image("-initrd", cfg_.initrd_path);
    const uint64_t max = at_least(0x0203) ? rd32(data_, kInitrdAddrMax) : kOldInitrdAddrMax;
    const uint64_t top = std::min<uint64_t>({bus_.ram_size(), max + 1, kLowmemLimit});
    const uint64_t low = align_up(img_.kernel_end, kPageMask + 1);
    if (rd.size() > top || ((top - rd.size()) & ~uint64_t{kPageMask}) < low) {
      throw LoadError("-initrd " + cfg_.initrd_path + ": " + std::to_string(rd.size()) +
                      " bytes do not fit between the kernel (up to " + hex(img_.kernel_end) +
                      ") and " + hex(top) + "; try a larger -m");
    }
    const uint64_t at = (top - rd.size()) & ~uint64_t{kPageMask};
    bus_.load(static_cast<uint32_t>(at), rd.data(), rd.size());
    img_.initrd_addr = static_cast<uint32_t>(at);
    img_.initrd_size = static_cast<uint32_t>(rd.size());
  }

  void build_boot_params() {
    std::vector<uint8_t> bp(kBootParamsSize, 0);
    std::memcpy(bp.data() + kSetupSects, data_.data() + kSetupSects, header_end_ - kSetupSects);

    // The command line.
    const uint32_t cmdline_max = at_least(0x0206) ? rd32(data_, kCmdlineSize) : kOldCmdlineMax;
    const uint32_t area = kCmdlineAreaEnd - kCmdlineAddr - 1;
    if (cfg_.append.size() > std::min(cmdline_max, area)) {
      throw LoadError("-append: the command line is " + std::to_string(cfg_.append.size()) +
                      " bytes; the kernel accepts at most " +
                      std::to_string(std::min(cmdline_max, area)));
    }
    bus_.load(kCmdlineAddr, cfg_.append.c_str(), cfg_.append.size() + 1);
    img_.cmdline_addr = kCmdlineAddr;
    wr32(bp, kCmdLinePtr, kCmdlineAddr);

    // Loader fields of the setup header.
    bp[kTypeOfLoaderOff] = kTypeOfLoader;
    bp[kLoadFlags] |= kLoadedHigh | kCanUseHeap;
    // Relative to the (absent) real-mode code at the zero page, as QEMU counts it.
    wr16(bp, kHeapEndPtr, static_cast<uint16_t>(kCmdlineAddr - kBootParamsAddr - 0x200));
    wr32(bp, kCode32Start, img_.kernel_addr);
    wr32(bp, kRamdiskImage, img_.initrd_addr);
    wr32(bp, kRamdiskSize, img_.initrd_size);

    // Memory sizes as the BIOS reports them (screen_info is otherwise zero: no video, so
    // the kernel finds no VGA console and uses the serial one it is told about).
    const uint64_t ext_k = (bus_.ram_size() - kDefaultLoadAddr) / 1024;
    wr16(bp, kExtMemK, static_cast<uint16_t>(std::min<uint64_t>(ext_k, kExtMemKMax)));
    wr32(bp, kAltMemK, static_cast<uint32_t>(ext_k));

    // The e820 map SeaBIOS gives an ISA PC: conventional memory up to the EBDA, the EBDA,
    // the BIOS area, then the extended memory.
    struct Range {
      uint64_t base, length;
      uint32_t type;
    };
    const Range ranges[] = {
        {0, 0x9FC00, kE820Ram},
        {0x9FC00, 0x400, kE820Reserved},
        {0xF0000, 0x10000, kE820Reserved},
        {kDefaultLoadAddr, bus_.ram_size() - kDefaultLoadAddr, kE820Ram},
    };
    uint8_t n = 0;
    for (const Range& r : ranges) {
      if (r.length == 0) continue;
      const size_t e = kE820Table + 20u * n++;
      std::memcpy(bp.data() + e, &r.base, 8);
      std::memcpy(bp.data() + e + 8, &r.length, 8);
      std::memcpy(bp.data() + e + 16, &r.type, 4);
    }
    bp[kE820Entries] = n;
    bus_.load(kBootParamsAddr, bp.data(), bp.size());
    img_.boot_params = kBootParamsAddr;
  }

  void set_entry_state() {
    enter_flat_protected_mode(bus_, s_, img_.kernel_addr);
    s_.gpr[cpu::ESI] = img_.boot_params;
    s_.gpr[cpu::ESP] = kStackTop;
  }

  bus::Bus& bus_;
  cpu::CpuState& s_;
  const MachineConfig& cfg_;
  const std::string what_;
  std::vector<uint8_t> data_;
  uint16_t protocol_ = 0;
  uint32_t header_end_ = 0;
  uint32_t pm_offset_ = 0;
  LinuxImage img_;
};

}  // namespace

bool is_linux_image(const std::vector<uint8_t>& image) {
  return image.size() >= kHeaderMagicOff + 4 && rd16(image, kBootFlag) == 0xAA55 &&
         std::memcmp(image.data() + kHeaderMagicOff, "HdrS", 4) == 0;
}

LinuxImage load_linux(bus::Bus& bus, cpu::CpuState& s, const MachineConfig& cfg) {
  return Loader(bus, s, cfg).run();
}

void load_kernel(bus::Bus& bus, cpu::CpuState& s, const MachineConfig& cfg) {
  if (is_linux_image(read_image("-kernel", cfg.kernel_path))) load_linux(bus, s, cfg);
  else load_multiboot(bus, s, cfg);
}

}  // namespace popek::frontend
