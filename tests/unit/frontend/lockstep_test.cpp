// --lockstep (frontend/lockstep.h): two identical runs of a small guest agree to the end
// and retire exactly what a plain run retires; a primary perturbed through the test hook
// (a register, a flag, RAM, a port access) is reported with the field that differs.
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "frontend/loader.h"
#include "frontend/lockstep.h"
#include "frontend/machine.h"
#include "temp_files.h"
#include "tiny_kernel.h"

namespace popek::frontend {
namespace {

using Bytes = std::vector<uint8_t>;

// The guest, a multiboot kernel entered at 0x100020 in flat protected mode (nasm -f bin):
// PIC and PIT programmed for a tick every ~10,500 instructions, a busy loop the ticks
// interrupt, x87 work, HLT waits with idle skips, debugcon output ("T" per tick, "." after
// the loop, "K" at the end) and exit 33. It never touches EBP, DF or RAM at 2 MiB.
//
//   bits 32
//   org 0x100020
//   IDT   equ 0x300000
//   TICKS equ 0x310000
//   ARR   equ 0x320000
//   start:
//     mov esp, 0x3F0000
//     mov eax, irq0
//     mov edx, eax
//     and eax, 0xFFFF
//     xor ecx, ecx
//     mov cx, cs
//     shl ecx, 16
//     or eax, ecx
//     mov [IDT + 0x20*8], eax
//     and edx, 0xFFFF0000
//     or edx, 0x8E00
//     mov [IDT + 0x20*8 + 4], edx
//     lidt [idtr]
//     mov dword [TICKS], 0
//     ; PICs: vectors 0x20 and 0x28, only IRQ 0 unmasked
//     mov al, 0x11
//     out 0x20, al
//     out 0xA0, al
//     mov al, 0x20
//     out 0x21, al
//     mov al, 0x28
//     out 0xA1, al
//     mov al, 4
//     out 0x21, al
//     mov al, 2
//     out 0xA1, al
//     mov al, 1
//     out 0x21, al
//     out 0xA1, al
//     mov al, 0xFE
//     out 0x21, al
//     mov al, 0xFF
//     out 0xA1, al
//     ; PIT channel 0, mode 2, divisor 100
//     mov al, 0x34
//     out 0x43, al
//     mov al, 100
//     out 0x40, al
//     xor al, al
//     out 0x40, al
//     sti
//     hlt                ; the first tick (raised by the OUT above, taken in the same turn)
//     hlt                ; the second, at a turn's start: from here on each turn ends at a tick
//     ; busy loop: fill and sum an array while ticks arrive
//     xor ebx, ebx
//     xor ecx, ecx
//   .fill:
//     mov [ARR + ecx*4], ecx
//     add ebx, ecx
//     rol ebx, 3
//     inc ecx
//     cmp ecx, 20000
//     jb .fill
//     mov al, '.'
//     out 0xE9, al
//     ; x87
//     finit
//     fld1
//     fldpi
//     fmulp st1, st0
//     fsqrt
//     fstp qword [ARR]
//     ; wait for 40 ticks in HLT
//   .wait:
//     hlt
//     cmp dword [TICKS], 40
//     jb .wait
//     cli
//     mov al, 'K'
//     out 0xE9, al
//     mov al, 10
//     out 0xE9, al
//     mov al, 0x10
//     out 0xF4, al
//     hlt
//   irq0:
//     push eax
//     inc dword [TICKS]
//     mov al, 'T'
//     out 0xE9, al
//     mov al, 0x20
//     out 0x20, al
//     pop eax
//     iret
//   idtr:
//     dw 0x20*8 + 7
//     dd IDT
const Bytes kGuest = {
      0xbc, 0x00, 0x00, 0x3f, 0x00, 0xb8, 0xdc, 0x00, 0x10, 0x00, 0x89, 0xc2,
      0x25, 0xff, 0xff, 0x00, 0x00, 0x31, 0xc9, 0x66, 0x8c, 0xc9, 0xc1, 0xe1,
      0x10, 0x09, 0xc8, 0xa3, 0x00, 0x01, 0x30, 0x00, 0x81, 0xe2, 0x00, 0x00,
      0xff, 0xff, 0x81, 0xca, 0x00, 0x8e, 0x00, 0x00, 0x89, 0x15, 0x04, 0x01,
      0x30, 0x00, 0x0f, 0x01, 0x1d, 0xed, 0x00, 0x10, 0x00, 0xc7, 0x05, 0x00,
      0x00, 0x31, 0x00, 0x00, 0x00, 0x00, 0x00, 0xb0, 0x11, 0xe6, 0x20, 0xe6,
      0xa0, 0xb0, 0x20, 0xe6, 0x21, 0xb0, 0x28, 0xe6, 0xa1, 0xb0, 0x04, 0xe6,
      0x21, 0xb0, 0x02, 0xe6, 0xa1, 0xb0, 0x01, 0xe6, 0x21, 0xe6, 0xa1, 0xb0,
      0xfe, 0xe6, 0x21, 0xb0, 0xff, 0xe6, 0xa1, 0xb0, 0x34, 0xe6, 0x43, 0xb0,
      0x64, 0xe6, 0x40, 0x30, 0xc0, 0xe6, 0x40, 0xfb, 0xf4, 0xf4, 0x31, 0xdb,
      0x31, 0xc9, 0x89, 0x0c, 0x8d, 0x00, 0x00, 0x32, 0x00, 0x01, 0xcb, 0xc1,
      0xc3, 0x03, 0x41, 0x81, 0xf9, 0x20, 0x4e, 0x00, 0x00, 0x72, 0xeb, 0xb0,
      0x2e, 0xe6, 0xe9, 0x9b, 0xdb, 0xe3, 0xd9, 0xe8, 0xd9, 0xeb, 0xde, 0xc9,
      0xd9, 0xfa, 0xdd, 0x1d, 0x00, 0x00, 0x32, 0x00, 0xf4, 0x83, 0x3d, 0x00,
      0x00, 0x31, 0x00, 0x28, 0x72, 0xf6, 0xfa, 0xb0, 0x4b, 0xe6, 0xe9, 0xb0,
      0x0a, 0xe6, 0xe9, 0xb0, 0x10, 0xe6, 0xf4, 0xf4, 0x50, 0xff, 0x05, 0x00,
      0x00, 0x31, 0x00, 0xb0, 0x54, 0xe6, 0xe9, 0xb0, 0x20, 0xe6, 0x20, 0x58,
      0xcf, 0x07, 0x01, 0x00, 0x00, 0x30, 0x00
};

// Expected debugcon output: 13 ticks before the end of the busy loop, 40 in all.
const std::string kOutput = "TTTTTTTTTTTTT." + std::string(27, 'T') + "K\n";

// The report's row for `field`: "* " when marked (else two spaces), the name, both values.
std::string row_of(const std::string& report, const std::string& field) {
  std::istringstream in(report);
  std::string line;
  while (std::getline(in, line)) {
    if (line.size() > 2 && line.compare(2, field.size() + 1, field + " ") == 0) return line;
  }
  return {};
}

bool marked(const std::string& row) { return row.rfind("* ", 0) == 0; }

class LockstepRun : public ::testing::Test {
 protected:
  MachineConfig config() {
    MachineConfig c;
    c.ram_size = 4u << 20;
    c.kernel_path = files.write("kernel.bin", kludge_kernel(kGuest));
    debugcon_path = files.path_for("debugcon.txt");
    c.debugcon = "file:" + debugcon_path;
    c.serial = "none";
    return c;
  }

  TempFiles files;
  std::string debugcon_path;
};

TEST_F(LockstepRun, IdenticalRunsAgreeToTheEndAndRetireWhatAPlainRunRetires) {
  uint64_t plain_icount = 0;
  {
    Machine m(config());
    EXPECT_EQ(m.run(), 33);
    plain_icount = m.cpu().s.icount;
  }
  ASSERT_EQ(slurp(debugcon_path), kOutput);
  {
    Lockstep l(config());
    l.report_to = nullptr;
    l.ram_interval = 4096;
    EXPECT_EQ(l.run(), 33);
    EXPECT_EQ(l.difference(), "");
    EXPECT_EQ(l.primary().cpu().s.icount, plain_icount);
    EXPECT_EQ(l.shadow().cpu().s.icount, plain_icount);
    EXPECT_GT(l.blocks(), 20000u);  // the busy loop alone is 20,000 blocks
    EXPECT_EQ(l.primary().bus().clock().now_ns(), l.shadow().bus().clock().now_ns());
  }
  EXPECT_EQ(slurp(debugcon_path), kOutput);  // the primary's, once: the shadow's goes nowhere
}

TEST_F(LockstepRun, APerturbedRegisterIsReportedByName) {
  Lockstep l(config());
  l.report_to = nullptr;
  l.after_primary_block = [](Machine& m, uint64_t block) {
    if (block == 5000) m.cpu().s.gpr[cpu::EBP] ^= 0x10;
  };
  EXPECT_EQ(l.run(), Lockstep::kDiffer);
  EXPECT_EQ(l.blocks(), 5000u);
  const std::string& r = l.difference();
  EXPECT_EQ(r.rfind("popek: lockstep: engines differ after block at 0010:", 0), 0u) << r;
  EXPECT_NE(r.find("(prot32, CPL 0), block 5000 of the run"), std::string::npos) << r;
  EXPECT_NE(r.find("  differs: state: EBP\n"), std::string::npos) << r;
  EXPECT_TRUE(marked(row_of(r, "EBP"))) << r;
  EXPECT_NE(row_of(r, "EBP").find("00000010"), std::string::npos) << r;
  EXPECT_FALSE(marked(row_of(r, "EAX"))) << r;
  EXPECT_FALSE(marked(row_of(r, "EIP"))) << r;
  EXPECT_NE(r.find("  guest code:\n"), std::string::npos) << r;
  EXPECT_NE(r.find("  host code"), std::string::npos) << r;
}

TEST_F(LockstepRun, APerturbedFlagIsReportedByName) {
  Lockstep l(config());
  l.report_to = nullptr;
  l.after_primary_block = [](Machine& m, uint64_t block) {
    if (block == 12345) m.cpu().s.eflags ^= cpu::flag::DF;
  };
  EXPECT_EQ(l.run(), Lockstep::kDiffer);
  EXPECT_EQ(l.blocks(), 12345u);
  const std::string& r = l.difference();
  EXPECT_NE(r.find("  differs: state: EFLAGS\n"), std::string::npos) << r;
  EXPECT_TRUE(marked(row_of(r, "EFLAGS"))) << r;
}

TEST_F(LockstepRun, ADifferenceInRamIsFoundAtTheNextComparison) {
  Lockstep l(config());
  l.report_to = nullptr;
  l.ram_interval = 1000;
  l.after_primary_block = [](Machine& m, uint64_t block) {
    if (block == 2500) m.bus().ram()[0x200001] ^= 0x80;
  };
  EXPECT_EQ(l.run(), Lockstep::kDiffer);
  EXPECT_EQ(l.blocks(), 3000u);
  EXPECT_NE(l.difference().find("differs: guest RAM at physical 0x00200001"), std::string::npos)
      << l.difference();
}

TEST_F(LockstepRun, ADifferenceInRamIsFoundAtTheEnd) {
  Lockstep l(config());
  l.report_to = nullptr;
  l.ram_interval = uint64_t{1} << 40;
  l.after_primary_block = [](Machine& m, uint64_t block) {
    if (block == 10) m.bus().ram()[0x200000] = 1;
  };
  EXPECT_EQ(l.run(), Lockstep::kDiffer);
  EXPECT_NE(l.difference().find("differs: guest RAM at physical 0x00200000"), std::string::npos)
      << l.difference();
  EXPECT_EQ(slurp(debugcon_path), kOutput);  // the guest ran to its end
}

TEST_F(LockstepRun, AnExtraPortAccessIsReported) {
  Lockstep l(config());
  l.report_to = nullptr;
  l.after_primary_block = [](Machine& m, uint64_t block) {
    if (block == 777) m.bus().io_write(0x80, 1, 0x55);  // a POST code only the primary sends
  };
  EXPECT_EQ(l.run(), Lockstep::kDiffer);
  const std::string& r = l.difference();
  EXPECT_NE(r.find("  differs: port I/O or interrupts\n"), std::string::npos) << r;
  EXPECT_NE(r.find(": out port 0x0080 size 1 value 0x55"), std::string::npos) << r;
}

}  // namespace
}  // namespace popek::frontend
