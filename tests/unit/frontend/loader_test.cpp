// The multiboot and BIOS loaders on small images the tests build themselves.
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

void put16(Bytes& b, size_t off, uint16_t v) {
  if (b.size() < off + 2) b.resize(off + 2);
  std::memcpy(b.data() + off, &v, 2);
}
void put32(Bytes& b, size_t off, uint32_t v) {
  if (b.size() < off + 4) b.resize(off + 4);
  std::memcpy(b.data() + off, &v, 4);
}

// A multiboot header: magic, flags, checksum (12 bytes).
Bytes mb_header(uint32_t flags) {
  Bytes h;
  put32(h, 0, mb::kHeaderMagic);
  put32(h, 4, flags);
  put32(h, 8, 0u - mb::kHeaderMagic - flags);
  return h;
}

struct Seg {
  uint32_t paddr;
  uint32_t vaddr;
  Bytes bytes;     // file contents
  uint32_t memsz;  // >= bytes.size()
};

struct ElfOptions {
  uint8_t cls = 1;       // ELFCLASS32
  uint8_t data = 1;      // little-endian
  uint16_t type = 2;     // ET_EXEC
  uint16_t machine = 3;  // EM_386
};

// ELF32 executable: header, program headers, then each segment's bytes (16-aligned).
Bytes make_elf(const std::vector<Seg>& segs, uint32_t entry, ElfOptions o = {}) {
  Bytes f(52, 0);
  std::memcpy(f.data(), "\x7f" "ELF", 4);
  f[4] = o.cls;
  f[5] = o.data;
  f[6] = 1;
  put16(f, 16, o.type);
  put16(f, 18, o.machine);
  put32(f, 20, 1);
  put32(f, 24, entry);
  put32(f, 28, 52);
  put16(f, 40, 52);
  put16(f, 42, 32);
  put16(f, 44, static_cast<uint16_t>(segs.size()));
  size_t data_off = (52 + 32 * segs.size() + 15) & ~size_t{15};
  f.resize(data_off, 0);
  for (size_t i = 0; i < segs.size(); ++i) {
    const size_t ph = 52 + 32 * i;
    put32(f, ph + 0, 1);  // PT_LOAD
    put32(f, ph + 4, static_cast<uint32_t>(f.size()));
    put32(f, ph + 8, segs[i].vaddr);
    put32(f, ph + 12, segs[i].paddr);
    put32(f, ph + 16, static_cast<uint32_t>(segs[i].bytes.size()));
    put32(f, ph + 20, segs[i].memsz);
    put32(f, ph + 24, 7);
    put32(f, ph + 28, 16);
    f.insert(f.end(), segs[i].bytes.begin(), segs[i].bytes.end());
    f.resize((f.size() + 15) & ~size_t{15}, 0);
  }
  return f;
}

// Code for the first segment: a multiboot header, then a few recognisable bytes.
Bytes kernel_text(uint32_t flags = 0) {
  Bytes b = mb_header(flags);
  for (uint8_t x : {0xFA, 0xF4, 0xEB, 0xFD}) b.push_back(x);  // cli; hlt; jmp $-1
  return b;
}

class Multiboot : public ::testing::Test {
 protected:
  static constexpr uint64_t kRam = 32u << 20;

  MultibootImage load(const Bytes& image, const std::string& append = "",
                      const std::string& initrd = "") {
    cfg.kernel_path = files.write("kernel.elf", image);
    cfg.append = append;
    cfg.initrd_path = initrd;
    return load_multiboot(bus, s, cfg);
  }
  // The LoadError message of loading `image`.
  std::string error_of(const Bytes& image) {
    try {
      load(image);
    } catch (const LoadError& e) {
      const std::string msg = e.what();
      EXPECT_EQ(msg.rfind("-kernel " + cfg.kernel_path + ": ", 0), 0u) << msg;
      EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
      return msg.substr(std::string("-kernel " + cfg.kernel_path + ": ").size());
    }
    ADD_FAILURE() << "no error";
    return "";
  }
  uint32_t r32(uint32_t addr) { return bus.read_phys(addr, 4); }
  uint64_t r64(uint32_t addr) { return r32(addr) | static_cast<uint64_t>(r32(addr + 4)) << 32; }
  std::string cstr(uint32_t addr) {
    std::string out;
    for (uint8_t c; (c = static_cast<uint8_t>(bus.read_phys(addr, 1))) != 0; ++addr) out += char(c);
    return out;
  }

  TempFiles files;
  bus::Bus bus{kRam};
  cpu::CpuState s{};
  MachineConfig cfg;
};

TEST_F(Multiboot, LoadsSegmentsAndZeroesBss) {
  bus.fill(0x100000, 0xAA, 0x3000);
  const Bytes text = kernel_text();
  const MultibootImage img =
      load(make_elf({{0x100000, 0x100000, text, 0x2000}, {0x102000, 0x102000, {1, 2, 3}, 0x10}},
                    0x10000C));
  EXPECT_EQ(img.entry, 0x10000Cu);
  EXPECT_EQ(img.kernel_start, 0x100000u);
  EXPECT_EQ(img.kernel_end, 0x102010u);
  for (size_t i = 0; i < text.size(); ++i) EXPECT_EQ(bus.read_phys(0x100000 + i, 1), text[i]) << i;
  EXPECT_EQ(bus.read_phys(0x100000 + text.size(), 4), 0u);  // bss zeroed
  EXPECT_EQ(bus.read_phys(0x101FFC, 4), 0u);
  EXPECT_EQ(bus.read_phys(0x102000, 4), 0x00030201u);
  EXPECT_EQ(bus.read_phys(0x10200C, 4), 0u);
  EXPECT_EQ(bus.read_phys(0x102010, 1), 0xAAu);  // past memsz: untouched
}

TEST_F(Multiboot, EntryState) {
  bus.set_a20(false);
  load(make_elf({{0x100000, 0x100000, kernel_text(), 0x1000}}, 0x10000C));
  using namespace cpu;
  EXPECT_EQ(s.eip, 0x10000Cu);
  EXPECT_EQ(s.gpr[EAX], 0x2BADB002u);
  EXPECT_EQ(s.gpr[EBX], mb::kInfoAddr);
  EXPECT_EQ(s.cr[0], 0x11u);
  EXPECT_EQ(s.eflags, 0x2u);
  EXPECT_EQ(s.cpl, 0);
  EXPECT_TRUE(bus.a20());
  EXPECT_EQ(s.seg[CS].selector, 0x10);
  EXPECT_EQ(s.seg[CS].attr, 0xC09B);
  EXPECT_EQ(s.seg[CS].base, 0u);
  EXPECT_EQ(s.seg[CS].limit, 0xFFFFFFFFu);
  EXPECT_EQ(s.seg[CS].valid, 1u);
  for (unsigned r : {ES, SS, DS, FS, GS}) {
    EXPECT_EQ(s.seg[r].selector, 0x18) << r;
    EXPECT_EQ(s.seg[r].attr, 0xC093) << r;
    EXPECT_EQ(s.seg[r].base, 0u) << r;
    EXPECT_EQ(s.seg[r].limit, 0xFFFFFFFFu) << r;
    EXPECT_EQ(s.seg[r].valid, 1u) << r;
  }
  EXPECT_EQ(s.gdtr.base, 0x8000u);
  EXPECT_EQ(s.gdtr.limit, 31u);
  EXPECT_EQ(s.idtr.base, 0u);
  EXPECT_EQ(s.idtr.limit, 0x3FFu);
  // The GDT the selectors come from, so a guest reloading them gets the same segments.
  EXPECT_EQ(r64(0x8000), 0u);
  EXPECT_EQ(r64(0x8008), 0u);
  EXPECT_EQ(r64(0x8010), 0x00CF9B000000FFFFull);
  EXPECT_EQ(r64(0x8018), 0x00CF93000000FFFFull);
}

TEST_F(Multiboot, InfoStructure) {
  load(make_elf({{0x100000, 0x100000, kernel_text(), 0x1000}}, 0x10000C), "console=ttyS0 quiet");
  const uint32_t i = mb::kInfoAddr;
  EXPECT_EQ(r32(i + 0), (1u << 0) | (1u << 2) | (1u << 3) | (1u << 6) | (1u << 9));
  EXPECT_EQ(r32(i + 4), 639u);
  EXPECT_EQ(r32(i + 8), 31u * 1024);
  EXPECT_EQ(cstr(r32(i + 16)), cfg.kernel_path + " console=ttyS0 quiet");
  EXPECT_EQ(r32(i + 20), 0u);  // no modules
  EXPECT_EQ(cstr(r32(i + 64)), "popek");
  // Memory map.
  const uint32_t len = r32(i + 44), addr = r32(i + 48);
  ASSERT_EQ(len, 4u * 24);
  struct Want {
    uint64_t base, length;
    uint32_t type;
  };
  const Want want[] = {{0, 0x9FC00, 1}, {0x9FC00, 0x400, 2}, {0xF0000, 0x10000, 2},
                       {0x100000, kRam - 0x100000, 1}};
  for (unsigned e = 0; e < 4; ++e) {
    const uint32_t a = addr + e * 24;
    EXPECT_EQ(r32(a), 20u) << e;
    EXPECT_EQ(r64(a + 4), want[e].base) << e;
    EXPECT_EQ(r64(a + 12), want[e].length) << e;
    EXPECT_EQ(r32(a + 20), want[e].type) << e;
  }
}

TEST_F(Multiboot, CommandLineWithoutAppendIsThePathAndASpace) {
  load(make_elf({{0x100000, 0x100000, kernel_text(), 0x1000}}, 0x10000C));
  EXPECT_EQ(cstr(r32(mb::kInfoAddr + 16)), cfg.kernel_path + " ");
}

TEST_F(Multiboot, InitrdIsAPageAlignedModuleAfterTheKernel) {
  const std::string initrd = files.write("initrd.img", std::string("module contents"));
  const MultibootImage img =
      load(make_elf({{0x100000, 0x100000, kernel_text(), 0x1801}}, 0x10000C), "", initrd);
  EXPECT_EQ(img.module_start, 0x102000u);
  EXPECT_EQ(img.module_end, 0x102000u + 15);
  const uint32_t i = mb::kInfoAddr;
  EXPECT_EQ(r32(i + 20), 1u);
  const uint32_t mods = r32(i + 24);
  EXPECT_EQ(r32(mods + 0), 0x102000u);
  EXPECT_EQ(r32(mods + 4), 0x102000u + 15);
  EXPECT_EQ(cstr(r32(mods + 8)), initrd);
  EXPECT_EQ(cstr(0x102000), "module contents");
}

TEST_F(Multiboot, InitrdThatDoesNotFitIsAnError) {
  const std::string initrd = files.write("big.img", Bytes(kRam, 1));
  try {
    load(make_elf({{0x100000, 0x100000, kernel_text(), 0x1000}}, 0x10000C), "", initrd);
    FAIL() << "no error";
  } catch (const LoadError& e) {
    EXPECT_EQ(std::string(e.what()).rfind("-initrd " + initrd + ": ", 0), 0u) << e.what();
  }
}

TEST_F(Multiboot, HigherHalfEntryIsTranslatedToItsLoadAddress) {
  const MultibootImage img =
      load(make_elf({{0x100000, 0xC0100000u, kernel_text(), 0x1000}}, 0xC010000Cu));
  EXPECT_EQ(img.entry, 0x10000Cu);
  EXPECT_EQ(s.eip, 0x10000Cu);
}

TEST_F(Multiboot, AoutKludgeLoadsARawImage) {
  // Raw binary: header at file offset 0 says "load this file at 0x200000".
  Bytes raw = mb_header(mb::kFlagAoutKludge | mb::kFlagMemInfo);
  put32(raw, 12, 0x200000);    // header_addr
  put32(raw, 16, 0x200000);    // load_addr
  put32(raw, 20, 0x200040);    // load_end_addr
  put32(raw, 24, 0x201000);    // bss_end_addr
  put32(raw, 28, 0x200020);    // entry_addr
  raw.resize(0x40, 0x90);
  raw.resize(0x60, 0x77);      // past load_end_addr: not loaded
  bus.fill(0x200040, 0xAA, 0x1000);
  const MultibootImage img = load(raw);
  EXPECT_EQ(img.entry, 0x200020u);
  EXPECT_EQ(s.eip, 0x200020u);
  EXPECT_EQ(r32(0x200000), mb::kHeaderMagic);
  EXPECT_EQ(bus.read_phys(0x20003F, 1), 0x90u);
  EXPECT_EQ(bus.read_phys(0x200040, 4), 0u);  // bss
  EXPECT_EQ(bus.read_phys(0x200FFC, 4), 0u);
  EXPECT_EQ(bus.read_phys(0x201000, 1), 0xAAu);
  EXPECT_EQ(img.kernel_end, 0x201000u);
}

TEST_F(Multiboot, AoutKludgeWithHeaderInsideTheImage) {
  // 0x20 bytes of code, then the header: header_addr - load_addr = file offset of header.
  Bytes raw(0x20, 0xCC);
  Bytes h = mb_header(mb::kFlagAoutKludge);
  put32(h, 12, 0x300020);
  put32(h, 16, 0x300000);
  put32(h, 20, 0);  // load the whole file
  put32(h, 24, 0);  // no bss
  put32(h, 28, 0x300000);
  raw.insert(raw.end(), h.begin(), h.end());
  const MultibootImage img = load(raw);
  EXPECT_EQ(img.kernel_start, 0x300000u);
  EXPECT_EQ(img.kernel_end, 0x300000u + raw.size());
  EXPECT_EQ(bus.read_phys(0x300000, 1), 0xCCu);
  EXPECT_EQ(r32(0x300020), mb::kHeaderMagic);
}

TEST_F(Multiboot, HeaderMustBeInTheFirst8KiBAndAligned) {
  Bytes text(8192, 0x90);
  const Bytes h = mb_header(0);
  text.insert(text.end(), h.begin(), h.end());
  EXPECT_EQ(error_of(make_elf({{0x100000, 0x100000, text, 0x4000}}, 0x100000)),
            "neither a multiboot kernel nor a Linux bzImage");
  Bytes mis(2, 0x90);  // header at a 2-byte offset
  mis.insert(mis.end(), h.begin(), h.end());
  EXPECT_EQ(error_of(make_elf({{0x100000, 0x100000, mis, 0x1000}}, 0x100000)),
            "neither a multiboot kernel nor a Linux bzImage");
}

TEST_F(Multiboot, BadChecksumIsNotAHeader) {
  Bytes text = kernel_text();
  text[8] ^= 1;
  EXPECT_EQ(error_of(make_elf({{0x100000, 0x100000, text, 0x1000}}, 0x100000)),
            "neither a multiboot kernel nor a Linux bzImage");
}

TEST_F(Multiboot, BzImageIsRejectedClearly) {
  Bytes bz(0x400, 0);
  bz[0x1FE] = 0x55;
  bz[0x1FF] = 0xAA;
  std::memcpy(bz.data() + 0x202, "HdrS", 4);
  EXPECT_EQ(error_of(bz), "neither a multiboot kernel nor a Linux bzImage");
}

TEST_F(Multiboot, BadElfHeaders) {
  const std::vector<Seg> segs = {{0x100000, 0x100000, kernel_text(), 0x1000}};
  ElfOptions o;
  o.machine = 62;  // x86-64
  EXPECT_EQ(error_of(make_elf(segs, 0x100000, o)), "ELF machine 62 is not i386");
  o = {};
  o.cls = 2;
  EXPECT_EQ(error_of(make_elf(segs, 0x100000, o)), "not a 32-bit ELF file");
  o = {};
  o.data = 2;
  EXPECT_EQ(error_of(make_elf(segs, 0x100000, o)), "not a little-endian ELF file");
  o = {};
  o.type = 3;  // ET_DYN
  EXPECT_EQ(error_of(make_elf(segs, 0x100000, o)), "not an executable ELF file (e_type 3)");
}

TEST_F(Multiboot, MultibootHeaderInANonElfFileWithoutKludge) {
  EXPECT_EQ(error_of(kernel_text()),
            "has a multiboot header but is not an ELF file and does not set the a.out kludge flag");
}

TEST_F(Multiboot, TruncatedFiles) {
  // ELF magic, then a multiboot header, then nothing: the ELF header is cut short.
  Bytes tiny = {0x7F, 'E', 'L', 'F'};
  const Bytes h = mb_header(0);
  tiny.insert(tiny.end(), h.begin(), h.end());
  EXPECT_EQ(error_of(tiny), "truncated ELF header");
  // A segment whose file bytes run past the end of the file.
  Bytes text = kernel_text();
  text.resize(64, 0x90);
  Bytes elf = make_elf({{0x100000, 0x100000, text, 0x1000}}, 0x100000);
  elf.resize(elf.size() - 16);
  EXPECT_EQ(error_of(elf), "truncated: ELF segment 0 extends past the end of the file");
  // Program headers cut off.
  Bytes ph = make_elf({{0x100000, 0x100000, kernel_text(), 0x1000}}, 0x100000);
  put32(ph, 28, static_cast<uint32_t>(ph.size() - 8));
  EXPECT_EQ(error_of(ph), "truncated ELF program headers");
  // a.out kludge header without its address fields.
  Bytes k = mb_header(mb::kFlagAoutKludge);
  k.resize(20, 0);
  EXPECT_EQ(error_of(k), "truncated multiboot header (a.out kludge fields missing)");
}

TEST_F(Multiboot, SegmentsMustFitInRamAndAvoidTheHole) {
  EXPECT_EQ(error_of(make_elf({{0x1FFF000, 0x1FFF000, kernel_text(), 0x2000}}, 0x1FFF000)),
            "segment at 0x1fff000-0x2000fff lies outside guest RAM (32 MiB); try a larger -m");
  EXPECT_EQ(error_of(make_elf({{0xF0000, 0xF0000, kernel_text(), 0x1000}}, 0xF0000)),
            "segment at 0xf0000-0xf0fff overlaps the 0xa0000-0xfffff hole (video memory and ROM)");
  EXPECT_EQ(error_of(make_elf({{0x9F000, 0x9F000, kernel_text(), 0x1001}}, 0x9F000)),
            "segment at 0x9f000-0xa0000 overlaps the 0xa0000-0xfffff hole (video memory and ROM)");
  EXPECT_EQ(error_of(make_elf({{0x7000, 0x7000, kernel_text(), 0x1001}}, 0x7000)),
            "segment at 0x7000-0x8000 overlaps the boot information popek puts at 0x8000-0x9fff");
}

TEST_F(Multiboot, LowKernelBelowTheBootInformationLoads) {
  const MultibootImage img = load(make_elf({{0x1000, 0x1000, kernel_text(), 0x100}}, 0x100C));
  EXPECT_EQ(img.entry, 0x100Cu);
  EXPECT_EQ(r32(0x1000), mb::kHeaderMagic);
}

TEST_F(Multiboot, UnknownRequiredFlagsAreRejected) {
  EXPECT_EQ(error_of(make_elf({{0x100000, 0x100000, kernel_text(1u << 5), 0x1000}}, 0x100000)),
            "multiboot header requires unsupported features (flags 0x20)");
}

TEST_F(Multiboot, NoLoadableSegments) {
  Bytes elf = make_elf({{0x100000, 0x100000, kernel_text(), 0x1000}}, 0x100000);
  put32(elf, 52, 4);  // PT_NOTE
  EXPECT_EQ(error_of(elf), "ELF file has no loadable segments");
}

TEST_F(Multiboot, MissingAndEmptyFiles) {
  cfg.kernel_path = files.path_for("missing.elf");
  try {
    load_multiboot(bus, s, cfg);
    FAIL();
  } catch (const LoadError& e) {
    EXPECT_EQ(std::string(e.what()), "-kernel " + cfg.kernel_path + ": No such file or directory");
  }
  EXPECT_EQ(error_of({}), "file is empty");
}

TEST(BiosLoader, MapsAValidImage) {
  TempFiles files;
  Bytes rom(64 * 1024, 0);
  rom[0xFFF0] = 0xEA;
  rom[0] = 0x12;
  bus::Bus bus(2u << 20);
  load_bios(bus, files.write("bios.bin", rom));
  EXPECT_EQ(bus.read_phys(0xFFFF0, 1), 0xEAu);
  EXPECT_EQ(bus.read_phys(0xFFFFFFF0u, 1), 0xEAu);
  EXPECT_EQ(bus.read_phys(0xF0000, 1), 0x12u);
}

TEST(BiosLoader, SizeRule) {
  TempFiles files;
  bus::Bus bus(2u << 20);
  EXPECT_NO_THROW(load_bios(bus, files.write("4k.bin", Bytes(4096, 0))));
  EXPECT_NO_THROW(load_bios(bus, files.write("1m.bin", Bytes(1u << 20, 0))));
  for (size_t bad : {size_t{1000}, size_t{65536 + 1}, (size_t{1} << 20) + 4096}) {
    const std::string path = files.write("bad" + std::to_string(bad) + ".bin", Bytes(bad, 0));
    try {
      load_bios(bus, path);
      ADD_FAILURE() << bad;
    } catch (const LoadError& e) {
      EXPECT_EQ(std::string(e.what()),
                "-bios " + path + ": size " + std::to_string(bad) +
                    " bytes: a firmware image must be a multiple of 4 KiB, at most 1 MiB");
    }
  }
}

}  // namespace
}  // namespace popek::frontend
