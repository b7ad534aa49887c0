// The Linux bzImage loader (32-bit boot protocol) on small images the tests build.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "bus/bus.h"
#include "cpu/cpu_state.h"
#include "frontend/loader.h"
#include "temp_files.h"

namespace popek::frontend {
namespace {

using Bytes = std::vector<uint8_t>;

void put16(Bytes& b, size_t off, uint16_t v) { std::memcpy(b.data() + off, &v, 2); }
void put32(Bytes& b, size_t off, uint32_t v) { std::memcpy(b.data() + off, &v, 4); }

struct BzOptions {
  uint16_t version = 0x020F;
  uint8_t setup_sects = 4;
  uint8_t loadflags = lx::kLoadedHigh;
  uint8_t relocatable = 0;
  uint32_t kernel_alignment = 0x200000;
  uint32_t pref_address = 0x100000;
  uint32_t init_size = 0x10000;
  uint32_t initrd_addr_max = 0x7FFFFFFF;
  uint32_t cmdline_size = 2047;
  size_t pm_size = 0x1000;  // protected-mode kernel bytes
};

// A bzImage: setup sectors with the header, then a protected-mode part whose bytes are
// (offset * 7) & 0xFF so that a test can recognise where each landed.
Bytes make_bzimage(const BzOptions& o = {}) {
  const size_t sects = o.setup_sects ? o.setup_sects : 4;
  Bytes f((sects + 1) * 512, 0);
  f[lx::kSetupSects] = o.setup_sects;
  put32(f, lx::kSysSize, static_cast<uint32_t>((o.pm_size + 15) / 16));
  put16(f, lx::kBootFlag, 0xAA55);
  f[lx::kJump] = 0xEB;
  f[lx::kJump + 1] = 0x6A;  // the header ends at 0x26C (protocol 2.15)
  std::memcpy(f.data() + lx::kHeaderMagicOff, "HdrS", 4);
  put16(f, lx::kVersion, o.version);
  f[lx::kLoadFlags] = o.loadflags;
  put32(f, lx::kCode32Start, 0x100000);
  put32(f, lx::kInitrdAddrMax, o.initrd_addr_max);
  put32(f, lx::kKernelAlignment, o.kernel_alignment);
  f[lx::kRelocatable] = o.relocatable;
  put32(f, lx::kCmdlineSize, o.cmdline_size);
  put32(f, lx::kPrefAddress, o.pref_address);
  put32(f, lx::kInitSize, o.init_size);
  f[0x26B] = 0x5A;  // the header's last byte, which must be copied
  f[0x26C] = 0xA5;  // the setup code's first byte, which must not
  for (size_t i = 0; i < o.pm_size; ++i) f.push_back(static_cast<uint8_t>(i * 7));
  return f;
}

class LinuxLoader : public ::testing::Test {
 protected:
  static constexpr uint64_t kRam = 64u << 20;

  LinuxImage load(const Bytes& image, const std::string& append = "", const Bytes* initrd = nullptr) {
    cfg.kernel_path = files.write("bzImage", image);
    cfg.append = append;
    cfg.initrd_path = initrd ? files.write("initrd", *initrd) : "";
    return load_linux(bus, s, cfg);
  }
  // The LoadError message of loading `image`, with the "-kernel PATH: " prefix checked.
  std::string error_of(const Bytes& image, const std::string& append = "",
                       const Bytes* initrd = nullptr) {
    try {
      load(image, append, initrd);
    } catch (const LoadError& e) {
      const std::string msg = e.what();
      EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
      const std::string prefix = "-kernel " + cfg.kernel_path + ": ";
      if (msg.rfind(prefix, 0) == 0) return msg.substr(prefix.size());
      return msg;
    }
    ADD_FAILURE() << "no error";
    return "";
  }
  uint8_t r8(uint32_t addr) { return static_cast<uint8_t>(bus.read_phys(addr, 1)); }
  uint16_t r16(uint32_t addr) { return static_cast<uint16_t>(bus.read_phys(addr, 2)); }
  uint32_t r32(uint32_t addr) { return bus.read_phys(addr, 4); }
  uint64_t r64(uint32_t addr) { return r32(addr) | static_cast<uint64_t>(r32(addr + 4)) << 32; }
  std::string cstr(uint32_t addr) {
    std::string out;
    for (uint8_t c; (c = r8(addr)) != 0; ++addr) out += char(c);
    return out;
  }
  uint32_t bp(uint32_t off) { return lx::kBootParamsAddr + off; }

  TempFiles files;
  bus::Bus bus{kRam};
  cpu::CpuState s{};
  MachineConfig cfg;
};

TEST_F(LinuxLoader, RecognisesBzImages) {
  EXPECT_TRUE(is_linux_image(make_bzimage()));
  Bytes no_flag = make_bzimage();
  put16(no_flag, lx::kBootFlag, 0);
  EXPECT_FALSE(is_linux_image(no_flag));
  Bytes no_magic = make_bzimage();
  no_magic[lx::kHeaderMagicOff] = 'h';
  EXPECT_FALSE(is_linux_image(no_magic));
  EXPECT_FALSE(is_linux_image(Bytes(0x100, 0)));
}

TEST_F(LinuxLoader, LoadsTheProtectedModeKernelAtOneMiB) {
  const Bytes image = make_bzimage();
  const LinuxImage img = load(image);
  EXPECT_EQ(img.protocol, 0x020F);
  EXPECT_EQ(img.kernel_addr, 0x100000u);
  EXPECT_EQ(img.kernel_size, 0x1000u);
  EXPECT_EQ(img.kernel_end, 0x110000u);  // pref_address + init_size
  for (uint32_t i : {0u, 1u, 0x7FFu, 0xFFFu}) EXPECT_EQ(r8(0x100000 + i), uint8_t(i * 7)) << i;
}

TEST_F(LinuxLoader, SetupSectsZeroMeansFour) {
  BzOptions o;
  o.setup_sects = 0;
  load(make_bzimage(o));
  EXPECT_EQ(r8(0x100001), 7);
  EXPECT_EQ(r8(bp(lx::kSetupSects)), 0);
}

TEST_F(LinuxLoader, OtherSetupSizes) {
  BzOptions o;
  o.setup_sects = 39;
  const LinuxImage img = load(make_bzimage(o));
  EXPECT_EQ(img.kernel_size, 0x1000u);
  EXPECT_EQ(r8(0x100003), 21);
}

TEST_F(LinuxLoader, RelocatableKernelGoesToItsPreferredAddress) {
  BzOptions o;
  o.relocatable = 1;
  o.pref_address = 0x1000000;
  o.kernel_alignment = 0x1000000;
  o.init_size = 0x800000;
  const LinuxImage img = load(make_bzimage(o));
  EXPECT_EQ(img.kernel_addr, 0x1000000u);
  EXPECT_EQ(img.kernel_end, 0x1800000u);
  EXPECT_EQ(r8(0x1000001), 7);
  EXPECT_EQ(r32(bp(lx::kCode32Start)), 0x1000000u);
  EXPECT_EQ(s.eip, 0x1000000u);
}

TEST_F(LinuxLoader, NonRelocatableKernelStaysAtOneMiBButReservesItsDecompression) {
  BzOptions o;
  o.pref_address = 0x1000000;
  o.init_size = 0x800000;
  const LinuxImage img = load(make_bzimage(o));
  EXPECT_EQ(img.kernel_addr, 0x100000u);
  EXPECT_EQ(img.kernel_end, 0x1800000u);
  EXPECT_EQ(s.eip, 0x100000u);
}

TEST_F(LinuxLoader, SetupHeaderIsCopiedAndTheRestOfTheZeroPageCleared) {
  bus.fill(lx::kBootParamsAddr, 0xCC, 4096);
  const Bytes image = make_bzimage();
  load(image);
  EXPECT_EQ(r32(bp(lx::kHeaderMagicOff)), 0x53726448u);  // "HdrS"
  EXPECT_EQ(r16(bp(lx::kVersion)), 0x020F);
  EXPECT_EQ(r16(bp(lx::kBootFlag)), 0xAA55);
  EXPECT_EQ(r8(bp(lx::kSetupSects)), 4);
  EXPECT_EQ(r32(bp(lx::kSysSize)), 0x100u);
  EXPECT_EQ(r8(bp(0x26B)), 0x5A);
  EXPECT_EQ(r8(bp(0x26C)), 0);  // past the header
  EXPECT_EQ(r8(bp(0x1EF)), 0);  // the sentinel
  for (uint32_t off = 0; off < 0x1E0; ++off) {
    if (off == lx::kExtMemK || off == lx::kExtMemK + 1) continue;
    ASSERT_EQ(r8(bp(off)), 0) << "zero page offset " << off;  // screen_info: no video
  }
  for (uint32_t off = 0x2D0 + 4 * 20; off < 4096; ++off) ASSERT_EQ(r8(bp(off)), 0) << off;
}

TEST_F(LinuxLoader, LoaderFields) {
  load(make_bzimage(), "console=ttyS0");
  EXPECT_EQ(r8(bp(lx::kTypeOfLoaderOff)), 0xFF);
  EXPECT_EQ(r8(bp(lx::kLoadFlags)), lx::kLoadedHigh | lx::kCanUseHeap);
  EXPECT_EQ(r16(bp(lx::kHeapEndPtr)), 0xFE00);
  EXPECT_EQ(r32(bp(lx::kCode32Start)), 0x100000u);
  EXPECT_EQ(r32(bp(lx::kCmdLinePtr)), lx::kCmdlineAddr);
  EXPECT_EQ(cstr(lx::kCmdlineAddr), "console=ttyS0");
  EXPECT_EQ(r32(bp(lx::kRamdiskImage)), 0u);
  EXPECT_EQ(r32(bp(lx::kRamdiskSize)), 0u);
}

TEST_F(LinuxLoader, EmptyCommandLineIsAnEmptyString) {
  bus.fill(lx::kCmdlineAddr, 'x', 16);
  load(make_bzimage());
  EXPECT_EQ(r32(bp(lx::kCmdLinePtr)), lx::kCmdlineAddr);
  EXPECT_EQ(cstr(lx::kCmdlineAddr), "");
}

TEST_F(LinuxLoader, MemorySizesAndE820Map) {
  load(make_bzimage());
  EXPECT_EQ(r16(bp(lx::kExtMemK)), 63u * 1024);
  EXPECT_EQ(r32(bp(lx::kAltMemK)), 63u * 1024);
  ASSERT_EQ(r8(bp(lx::kE820Entries)), 4);
  struct E {
    uint64_t addr, size;
    uint32_t type;
  };
  const E want[] = {{0, 0x9FC00, 1}, {0x9FC00, 0x400, 2}, {0xF0000, 0x10000, 2},
                    {0x100000, kRam - 0x100000, 1}};
  for (unsigned i = 0; i < 4; ++i) {
    const uint32_t e = bp(lx::kE820Table + 20 * i);
    EXPECT_EQ(r64(e), want[i].addr) << i;
    EXPECT_EQ(r64(e + 8), want[i].size) << i;
    EXPECT_EQ(r32(e + 16), want[i].type) << i;
  }
}

TEST(LinuxLoaderBigRam, ExtMemKIsCappedLikeTheBios) {
  TempFiles files;
  bus::Bus bus{256u << 20};
  cpu::CpuState s{};
  MachineConfig cfg;
  cfg.kernel_path = files.write("bzImage", make_bzimage());
  load_linux(bus, s, cfg);
  EXPECT_EQ(bus.read_phys(lx::kBootParamsAddr + lx::kExtMemK, 2), 0xFC00u);
  EXPECT_EQ(bus.read_phys(lx::kBootParamsAddr + lx::kAltMemK, 4), 255u * 1024);
}

TEST_F(LinuxLoader, EntryState) {
  s.gpr[cpu::EBX] = s.gpr[cpu::EBP] = s.gpr[cpu::EDI] = 0x12345678;
  s.eflags = 0x202;
  load(make_bzimage());
  EXPECT_EQ(s.eip, 0x100000u);
  EXPECT_EQ(s.gpr[cpu::ESI], lx::kBootParamsAddr);
  EXPECT_EQ(s.gpr[cpu::EBX], 0u);
  EXPECT_EQ(s.gpr[cpu::EBP], 0u);
  EXPECT_EQ(s.gpr[cpu::EDI], 0u);
  EXPECT_EQ(s.eflags, 0x2u);  // interrupts off
  EXPECT_EQ(s.cr[0] & (cpu::cr0::PE | cpu::cr0::PG), cpu::cr0::PE);
  EXPECT_EQ(s.seg[cpu::CS].selector, 0x10);
  for (unsigned r : {cpu::DS, cpu::ES, cpu::SS}) {
    EXPECT_EQ(s.seg[r].selector, 0x18) << r;
    EXPECT_EQ(s.seg[r].base, 0u);
    EXPECT_EQ(s.seg[r].limit, 0xFFFFFFFFu);
    EXPECT_TRUE(s.seg[r].attr & cpu::attr::WRITABLE);
  }
  EXPECT_EQ(s.seg[cpu::CS].base, 0u);
  EXPECT_EQ(s.seg[cpu::CS].limit, 0xFFFFFFFFu);
  EXPECT_TRUE(s.seg[cpu::CS].attr & cpu::attr::CODE);
  EXPECT_TRUE(s.seg[cpu::CS].attr & cpu::attr::DB);
  EXPECT_EQ(s.cpl, 0u);
  // The GDT in memory holds the same flat descriptors, so a reload keeps them.
  EXPECT_EQ(s.gdtr.base, lx::kGdtAddr);
  EXPECT_EQ(s.gdtr.limit, 31u);
  EXPECT_EQ(r64(lx::kGdtAddr + 0x10), 0x00CF9B000000FFFFull);
  EXPECT_EQ(r64(lx::kGdtAddr + 0x18), 0x00CF93000000FFFFull);
  EXPECT_TRUE(bus.a20_mask() & (1u << 20));
}

TEST_F(LinuxLoader, InitrdGoesPageAlignedToTheTopOfRam) {
  const Bytes rd(0x1234, 0x5E);
  const LinuxImage img = load(make_bzimage(), "", &rd);
  EXPECT_EQ(img.initrd_addr, (kRam - 0x1234) & ~0xFFFull);
  EXPECT_EQ(img.initrd_size, 0x1234u);
  EXPECT_EQ(r32(bp(lx::kRamdiskImage)), img.initrd_addr);
  EXPECT_EQ(r32(bp(lx::kRamdiskSize)), 0x1234u);
  EXPECT_EQ(r8(img.initrd_addr), 0x5E);
  EXPECT_EQ(r8(img.initrd_addr + 0x1233), 0x5E);
}

TEST_F(LinuxLoader, InitrdRespectsInitrdAddrMax) {
  BzOptions o;
  o.initrd_addr_max = 0x1FFFFFF;  // 32 MiB
  const Bytes rd(0x3000, 1);
  const LinuxImage img = load(make_bzimage(o), "", &rd);
  EXPECT_EQ(img.initrd_addr, 0x2000000u - 0x3000);
}

TEST_F(LinuxLoader, InitrdAddrMaxDefaultsBeforeProtocol203) {
  BzOptions o;
  o.version = 0x0202;
  o.initrd_addr_max = 0x1FFFFF;  // ignored: the field does not exist in 2.02
  const Bytes rd(0x3000, 1);
  const LinuxImage img = load(make_bzimage(o), "", &rd);
  EXPECT_EQ(img.initrd_addr, kRam - 0x3000);
}

TEST(LinuxLoaderBigRam, InitrdStaysInLowMemory) {
  TempFiles files;
  bus::Bus bus{lx::kLowmemLimit + (16u << 20)};
  cpu::CpuState s{};
  MachineConfig cfg;
  cfg.kernel_path = files.write("bzImage", make_bzimage());
  cfg.initrd_path = files.write("initrd", Bytes(0x2800, 3));
  const LinuxImage img = load_linux(bus, s, cfg);
  EXPECT_EQ(img.initrd_addr, lx::kLowmemLimit - 0x3000);
}

TEST_F(LinuxLoader, InitrdThatDoesNotFitAboveTheKernelIsAnError) {
  BzOptions o;
  o.init_size = 0x3000000;  // the kernel takes 1 MiB..49 MiB
  const Bytes rd(16u << 20, 0);
  const std::string msg = error_of(make_bzimage(o), "", &rd);
  EXPECT_EQ(msg, "-initrd " + cfg.initrd_path +
                     ": 16777216 bytes do not fit between the kernel (up to 0x3100000) and "
                     "0x4000000; try a larger -m");
}

TEST_F(LinuxLoader, KernelThatDoesNotFitIsAnError) {
  BzOptions o;
  o.relocatable = 1;
  o.pref_address = 0x1000000;
  o.kernel_alignment = 0x1000000;
  o.init_size = 0x3800000;
  EXPECT_EQ(error_of(make_bzimage(o)),
            "the kernel needs memory up to 0x4800000 (72 MiB) but the guest has 64 MiB; try a larger -m");
}

// A file that ends inside the setup header (after "HdrS", before loadflags) is refused
// before any field past its end is read (the version at 0x206, loadflags at 0x211).
TEST_F(LinuxLoader, FileEndingInsideTheSetupHeaderIsRefused) {
  for (uint32_t size = lx::kHeaderMagicOff + 4; size <= lx::kLoadFlags; ++size) {
    Bytes f = make_bzimage(BzOptions{});
    f.resize(size);
    EXPECT_EQ(error_of(f), "truncated: the file ends inside the setup header (" + std::to_string(size) + " bytes)")
        << "size " << size;
  }
}

TEST_F(LinuxLoader, OldProtocolsAreRejected) {
  BzOptions o;
  o.version = 0x0201;
  EXPECT_EQ(error_of(make_bzimage(o)),
            "Linux boot protocol 2.01 is too old (popek needs 2.02 or later)");
}

TEST_F(LinuxLoader, ZImageIsRejected) {
  BzOptions o;
  o.loadflags = 0;
  EXPECT_EQ(error_of(make_bzimage(o)), "a zImage (loaded below 1 MiB) is not supported; use a bzImage");
}

TEST_F(LinuxLoader, CommandLineLimits) {
  BzOptions o;
  o.cmdline_size = 10;
  EXPECT_EQ(error_of(make_bzimage(o), std::string(11, 'a')),
            "-append: the command line is 11 bytes; the kernel accepts at most 10");
  load(make_bzimage(o), std::string(10, 'a'));
  EXPECT_EQ(cstr(lx::kCmdlineAddr), std::string(10, 'a'));
  o.version = 0x0205;  // no cmdline_size: 255
  EXPECT_EQ(error_of(make_bzimage(o), std::string(256, 'a')),
            "-append: the command line is 256 bytes; the kernel accepts at most 255");
}

TEST_F(LinuxLoader, TruncatedImages) {
  Bytes image = make_bzimage();
  image.resize(5 * 512);
  EXPECT_EQ(error_of(image), "truncated: no protected-mode kernel after the 4 setup sectors");
  image = make_bzimage();
  image.resize(image.size() - 32);
  EXPECT_EQ(error_of(image),
            "truncated: the header says 4096 bytes of protected-mode kernel, the file has 4064");
}

TEST_F(LinuxLoader, NotALinuxImage) {
  EXPECT_EQ(error_of(Bytes(0x1000, 0x90)), "not a Linux kernel image (no \"HdrS\" setup header)");
}

TEST_F(LinuxLoader, MissingFiles) {
  cfg.kernel_path = files.path_for("missing");
  EXPECT_THROW(load_linux(bus, s, cfg), LoadError);
  cfg.kernel_path = files.write("bzImage", make_bzimage());
  cfg.initrd_path = files.path_for("missing-initrd");
  try {
    load_linux(bus, s, cfg);
    ADD_FAILURE() << "no error";
  } catch (const LoadError& e) {
    EXPECT_EQ(std::string(e.what()).rfind("-initrd " + cfg.initrd_path, 0), 0u) << e.what();
  }
}

TEST_F(LinuxLoader, LoadKernelDispatchesByFormat) {
  cfg.kernel_path = files.write("bzImage", make_bzimage());
  load_kernel(bus, s, cfg);
  EXPECT_EQ(s.gpr[cpu::ESI], lx::kBootParamsAddr);
  EXPECT_EQ(s.eip, 0x100000u);
  // Anything else goes to the multiboot loader, which names both formats.
  cfg.kernel_path = files.write("other", Bytes(0x1000, 0x90));
  try {
    load_kernel(bus, s, cfg);
    ADD_FAILURE() << "no error";
  } catch (const LoadError& e) {
    EXPECT_EQ(std::string(e.what()),
              "-kernel " + cfg.kernel_path + ": neither a multiboot kernel nor a Linux bzImage");
  }
}

}  // namespace
}  // namespace popek::frontend
