// Virtual-8086 mode (SDM vol. 3 chapter 20, vol. 2 IRET and INT n): entry by IRETD from
// CPL 0 and by a task switch, real-mode segment loads at CPL 3, the IOPL-sensitive
// instructions, the I/O bitmap whatever IOPL says, interrupts and exceptions to the
// ring-0 monitor with the virtual-8086 frame, IRET inside virtual-8086 mode.
#include <gtest/gtest.h>

#include "tests/unit/cpu/sys_machine.h"

namespace popek::cpu {
namespace {

using test::acc::dpl;
using test::Faulted;
using test::gate_desc;
using test::Retired;
using test::seg_desc;
using test::SysMachine;
namespace acc = test::acc;
namespace dflag = test::dflag;

constexpr uint32_t kHandler = 0x5000;
constexpr uint16_t kCs = 0x0100;  // CS:IP 0100:0000 is linear 0x1000 (SysMachine::kCode)

class V86 : public ::testing::Test {
 protected:
  void SetUp() override { m_.prot_mode(0); }
  CpuState& s() { return m_.s(); }
  // Virtual-8086 mode at 0100:0000 with SS:SP 0000:8000, DS 0x2000, IOPL `iopl`.
  void enter(unsigned iopl) {
    s().eflags = flag::FIXED1 | flag::VM | (iopl << flag::IOPL_SHIFT);
    for (unsigned i = 0; i < kNumSegRegs; ++i) m_.cpu().load_seg_real(i, 0);
    m_.cpu().load_seg_real(CS, kCs);
    m_.cpu().load_seg_real(DS, 0x2000);
    m_.cpu().update_cpl();
    s().eip = 0;
    s().gpr[ESP] = SysMachine::kStack3;
  }
  // An IDT gate of DPL 3 to a ring-0 handler (what a monitor installs for INT n).
  void gate(uint8_t vector, uint16_t cs = SysMachine::kCode0, unsigned gate_dpl = 3) {
    m_.set_idt(vector, gate_desc(cs, kHandler, sys::INT32, gate_dpl));
  }
  SysMachine m_;
};

TEST_F(V86, IretdFromCpl0EntersWithTheWholeFrame) {
  const uint32_t sp = s().gpr[ESP];
  const uint32_t frame[] = {0x0010, 0x1234, flag::VM | flag::FIXED1 | flag::IF | (3u << 12),
                            0x0000FFF0, 0x3000, 0x4000, 0x5000, 0x6000, 0x7000};
  for (unsigned i = 0; i < 9; ++i) m_.put32(sp + 4 * i, frame[i]);
  ASSERT_TRUE(Retired(m_, m_.exec({0xCF})));  // iretd
  EXPECT_TRUE(m_.cpu().v86()) << m_.where();
  EXPECT_EQ(s().cpl, 3);
  EXPECT_EQ(s().eip, 0x10u);
  EXPECT_EQ(s().gpr[ESP], 0xFFF0u);
  EXPECT_EQ(s().seg[CS].base, 0x12340u);
  EXPECT_EQ(s().seg[SS].base, 0x30000u);
  EXPECT_EQ(s().seg[ES].selector, 0x4000);
  EXPECT_EQ(s().seg[DS].base, 0x50000u);
  EXPECT_EQ(s().seg[FS].base, 0x60000u);
  EXPECT_EQ(s().seg[GS].base, 0x70000u);
  EXPECT_EQ(s().seg[SS].limit, 0xFFFFu);
  EXPECT_FALSE(s().seg[SS].attr & attr::DB) << "a 16-bit stack";
  EXPECT_EQ(s().eflags & flag::IOPL, 3u << 12);
}

TEST_F(V86, IretdToV86WithEipPast64KIsGp) {
  const uint32_t sp = s().gpr[ESP];
  const uint32_t frame[] = {0x10000, 0x1234, flag::VM | flag::FIXED1, 0xFFF0, 0x3000, 0, 0, 0, 0};
  for (unsigned i = 0; i < 9; ++i) m_.put32(sp + 4 * i, frame[i]);
  EXPECT_TRUE(Faulted(m_, m_.exec({0xCF}), vec::GP, 0));
  EXPECT_FALSE(m_.cpu().v86());
}

TEST_F(V86, IretdWithVmAboveCpl0DoesNotEnter) {
  m_.prot_mode(3);
  const uint32_t sp = s().gpr[ESP];
  const uint32_t frame[] = {0x10, SysMachine::kCode3, flag::VM | flag::FIXED1};
  for (unsigned i = 0; i < 3; ++i) m_.put32(sp + 4 * i, frame[i]);
  ASSERT_TRUE(Retired(m_, m_.exec({0xCF})));
  EXPECT_FALSE(m_.cpu().v86()) << "VM is not writable at CPL 3";
  EXPECT_EQ(s().eip, 0x10u);
}

TEST_F(V86, SegmentLoadsAreRealModeStyle) {
  enter(3);
  s().gpr[EAX] = 0x1234;
  ASSERT_TRUE(Retired(m_, m_.exec({0x8E, 0xC0})));  // mov es, ax
  EXPECT_EQ(s().seg[ES].base, 0x12340u);
  EXPECT_EQ(s().seg[ES].limit, 0xFFFFu);
  EXPECT_EQ((s().seg[ES].attr & attr::DPL_MASK) >> attr::DPL_SHIFT, 3);
}

TEST_F(V86, IoplSensitiveInstructionsFaultBelowIopl3) {
  const std::initializer_list<uint8_t> insns[] = {{0xFA}, {0xFB}, {0x9C}, {0x9D}, {0xCD, 0x21}, {0xCF}};
  for (const auto& in : insns) {
    enter(2);
    EXPECT_TRUE(Faulted(m_, m_.exec(in), vec::GP, 0));
  }
  // INT3 and INTO are not IOPL-sensitive: they go through the IDT (gate DPL checked).
  enter(0);
  gate(vec::BP);
  ASSERT_TRUE(Retired(m_, m_.exec({0xCC})));
  EXPECT_FALSE(m_.cpu().v86());
}

TEST_F(V86, IoplSensitiveInstructionsRunAtIopl3) {
  enter(3);
  ASSERT_TRUE(Retired(m_, m_.exec({0xFB})));  // sti
  EXPECT_TRUE(s().eflags & flag::IF);
  ASSERT_TRUE(Retired(m_, m_.exec({0xFA})));  // cli
  EXPECT_FALSE(s().eflags & flag::IF);
  ASSERT_TRUE(Retired(m_, m_.exec({0x9C})));  // pushf
  EXPECT_EQ(m_.rd16(SysMachine::kStack3 - 2), flag::FIXED1 | (3u << 12));
  m_.put16(SysMachine::kStack3 - 2, flag::CF | flag::IF);  // IOPL 0 in the image
  ASSERT_TRUE(Retired(m_, m_.exec({0x9D})));  // popf
  EXPECT_EQ(s().eflags, flag::FIXED1 | flag::VM | flag::CF | flag::IF | (3u << 12))
      << "POPF cannot change IOPL in virtual-8086 mode";
}

TEST_F(V86, IretInsideV86IsRealModeStyleAndKeepsIopl) {
  enter(3);
  const uint32_t sp = SysMachine::kStack3;
  m_.put16(sp, 0x0040);
  m_.put16(sp + 2, 0x0200);
  m_.put16(sp + 4, flag::CF);  // IOPL 0 in the image
  ASSERT_TRUE(Retired(m_, m_.exec({0xCF})));  // iret (16-bit)
  EXPECT_EQ(s().eip, 0x40u) << m_.where();
  EXPECT_EQ(s().seg[CS].base, 0x2000u);
  EXPECT_EQ(s().gpr[ESP], sp + 6);
  EXPECT_EQ(s().eflags, flag::FIXED1 | flag::VM | flag::CF | (3u << 12));
  // IRETD: VM stays set even when the image clears it.
  m_.put32(sp + 6, 0x0050);
  m_.put32(sp + 10, 0x0300);
  m_.put32(sp + 14, flag::ZF);
  ASSERT_TRUE(Retired(m_, m_.exec({0x66, 0xCF})));
  EXPECT_TRUE(m_.cpu().v86());
  EXPECT_EQ(s().eflags, flag::FIXED1 | flag::VM | flag::ZF | (3u << 12));
}

TEST_F(V86, IoBitmapDecidesWhateverIopl) {
  // A TSS with a bitmap that allows port 0x60 only.
  m_.set_gdt(5, seg_desc(SysMachine::kTss, 0x68 + 0x20, acc::P | sys::TSS32_BUSY, 0));
  s().tr.limit = 0x68 + 0x20;
  for (unsigned i = 0; i < 0x20; ++i) m_.put(SysMachine::kTss + 0x68 + i, {0xFF});
  m_.put(SysMachine::kTss + 0x68 + 0x60 / 8, {0xFE});
  enter(3);
  s().gpr[EDX] = 0x61;
  EXPECT_TRUE(Faulted(m_, m_.exec({0xE6, 0x61}), vec::GP, 0)) << "IOPL 3 does not open a port";
  EXPECT_TRUE(Faulted(m_, m_.exec({0xEC}), vec::GP, 0));
  EXPECT_TRUE(Faulted(m_, m_.exec({0x6E}), vec::GP, 0)) << "OUTSB";
  EXPECT_TRUE(Retired(m_, m_.exec({0xE4, 0x60})));
  enter(0);
  EXPECT_TRUE(Retired(m_, m_.exec({0xE4, 0x60}))) << "IOPL 0 does not close one";
  EXPECT_TRUE(Faulted(m_, m_.exec({0xE5, 0x60}), vec::GP, 0)) << "a word reaches port 0x61";
}

TEST_F(V86, IntGoesToTheRing0MonitorWithTheV86Frame) {
  enter(3);
  gate(0x21);
  s().seg[FS].selector = 0x1111;
  s().seg[GS].selector = 0x2222;
  s().seg[ES].selector = 0x3333;
  s().eflags |= flag::IF | flag::TF;
  const uint32_t flags = s().eflags;
  ASSERT_TRUE(Retired(m_, m_.exec({0xCD, 0x21})));
  EXPECT_FALSE(m_.cpu().v86()) << m_.where();
  EXPECT_EQ(s().cpl, 0);
  EXPECT_EQ(s().eip, kHandler);
  EXPECT_EQ(s().seg[CS].selector, SysMachine::kCode0);
  EXPECT_EQ(s().seg[SS].selector, SysMachine::kData0) << "the TSS's ring-0 stack";
  const uint32_t f = SysMachine::kStack0 - 36;
  ASSERT_EQ(s().gpr[ESP], f);
  EXPECT_EQ(m_.rd32(f + 0), 2u) << "EIP after the INT";
  EXPECT_EQ(m_.rd32(f + 4), kCs);
  EXPECT_EQ(m_.rd32(f + 8), flags);
  EXPECT_EQ(m_.rd32(f + 12), SysMachine::kStack3);
  EXPECT_EQ(m_.rd32(f + 16), 0u) << "SS";
  EXPECT_EQ(m_.rd32(f + 20), 0x3333u) << "ES";
  EXPECT_EQ(m_.rd32(f + 24), 0x2000u) << "DS";
  EXPECT_EQ(m_.rd32(f + 28), 0x1111u) << "FS";
  EXPECT_EQ(m_.rd32(f + 32), 0x2222u) << "GS";
  for (unsigned seg : {ES, DS, FS, GS}) {
    EXPECT_EQ(s().seg[seg].selector, 0) << "segment " << seg;
    EXPECT_FALSE(s().seg[seg].valid) << "segment " << seg;
  }
  EXPECT_EQ(s().eflags & (flag::VM | flag::IF | flag::TF), 0u);
}

TEST_F(V86, ExceptionGoesToTheMonitorWithErrorCode) {
  enter(0);
  m_.set_idt(vec::GP, gate_desc(SysMachine::kCode0, kHandler, sys::INT32, 0));
  EXPECT_FALSE(m_.step({0xFA}));  // cli at IOPL 0: #GP(0)
  EXPECT_EQ(s().eip, kHandler) << m_.where();
  const uint32_t f = SysMachine::kStack0 - 40;
  ASSERT_EQ(s().gpr[ESP], f);
  EXPECT_EQ(m_.rd32(f), 0u) << "error code";
  EXPECT_EQ(m_.rd32(f + 4), 0u) << "EIP of the CLI";
  EXPECT_EQ(m_.rd32(f + 8), kCs);
  EXPECT_TRUE(m_.rd32(f + 12) & flag::VM);
  EXPECT_EQ(m_.rd32(f + 28), 0x2000u) << "DS";
}

TEST_F(V86, HandlerMustBeRing0NonConforming) {
  enter(3);
  gate(0x21, SysMachine::kCode3);
  EXPECT_TRUE(Faulted(m_, m_.exec({0xCD, 0x21}), vec::GP, SysMachine::kCode3 & 0xFFFC));
  m_.set_gdt(9, seg_desc(0, 0xFFFFF, acc::CODE_XRC | dpl(0), dflag::G | dflag::DB));
  gate(0x21, 0x48);
  EXPECT_TRUE(Faulted(m_, m_.exec({0xCD, 0x21}), vec::GP, 0x48)) << "conforming";
  gate(0x21, SysMachine::kCode0, 0);
  EXPECT_TRUE(Faulted(m_, m_.exec({0xCD, 0x21}), vec::GP, 0x21 * 8 + 2)) << "gate DPL 0 < CPL 3";
  EXPECT_TRUE(m_.cpu().v86());
}

TEST_F(V86, MonitorIretdReturnsToV86) {
  enter(3);
  gate(0x21);
  ASSERT_TRUE(Retired(m_, m_.exec({0xCD, 0x21})));
  ASSERT_TRUE(Retired(m_, m_.exec({0xCF})));  // iretd in the monitor
  EXPECT_TRUE(m_.cpu().v86()) << m_.where();
  EXPECT_EQ(s().eip, 2u);
  EXPECT_EQ(s().seg[CS].base, kCs * 16u);
  EXPECT_EQ(s().seg[DS].base, 0x20000u);
  EXPECT_EQ(s().gpr[ESP], SysMachine::kStack3);
  EXPECT_EQ(s().cpl, 3);
}

TEST_F(V86, TaskSwitchIntoAndOutOfV86) {
  constexpr uint32_t b = 0x14000;
  m_.set_gdt(8, seg_desc(b, 0x67, acc::P | sys::TSS32_AVAIL, 0));
  m_.put32(b + 0x20, 0x0020);                              // EIP
  m_.put32(b + 0x24, flag::FIXED1 | flag::VM | (3u << 12));  // EFLAGS
  m_.put32(b + 0x38, 0xFFFE);                              // ESP
  for (unsigned i = 0; i < 6; ++i) m_.put16(b + 0x48 + 4 * i, static_cast<uint16_t>(0x1000 * (i + 1)));
  ASSERT_TRUE(Retired(m_, m_.exec({0xEA, 0, 0, 0, 0, 0x40, 0})));  // jmp 0x40:0
  EXPECT_TRUE(m_.cpu().v86()) << m_.where();
  EXPECT_EQ(s().cpl, 3);
  EXPECT_EQ(s().seg[CS].base, 0x20000u);
  EXPECT_EQ(s().seg[GS].base, 0x60000u);
  EXPECT_EQ(s().seg[SS].limit, 0xFFFFu);
  // An interrupt through a task gate from virtual-8086 mode saves the v86 state.
  m_.set_idt(0x30, gate_desc(SysMachine::kTssSel, 0, sys::TASK, 3));
  ASSERT_TRUE(Retired(m_, m_.exec({0xCD, 0x30})));
  EXPECT_FALSE(m_.cpu().v86());
  EXPECT_EQ(s().tr.selector, SysMachine::kTssSel);
  EXPECT_TRUE(m_.rd32(b + 0x24) & flag::VM) << "saved EFLAGS";
  EXPECT_EQ(m_.rd16(b + 0x4C), 0x2000) << "saved CS";
  EXPECT_EQ(m_.rd32(b + 0x20), 0x22u) << "saved EIP";
}

// SYSENTER (0F 34) is decoded in virtual-8086 code and leaves it for flat CPL 0 with VM and
// IF clear; SYSEXIT there is #GP(0) (CPL 3). In real mode both are #GP(0), not #UD.
TEST_F(V86, SysenterLeavesV86SysexitFaults) {
  s().msr.sysenter_cs = SysMachine::kCode0;
  s().msr.sysenter_esp = 0x9000;
  s().msr.sysenter_eip = kHandler;
  enter(3);
  ASSERT_TRUE(Faulted(m_, m_.exec({0x0F, 0x35}), vec::GP, 0));
  s().eflags |= flag::IF;
  ASSERT_TRUE(Retired(m_, m_.exec({0x0F, 0x34})));
  EXPECT_FALSE(m_.cpu().v86()) << m_.where();
  EXPECT_EQ(s().cpl, 0);
  EXPECT_EQ(s().eflags & (flag::VM | flag::IF), 0u);
  EXPECT_EQ(s().eip, kHandler);
  EXPECT_EQ(s().gpr[ESP], 0x9000u);
  EXPECT_EQ(s().seg[CS].selector, SysMachine::kCode0);
  EXPECT_EQ(s().seg[SS].selector, SysMachine::kCode0 + 8);
  EXPECT_EQ(s().seg[CS].limit, 0xFFFFFFFFu);
  EXPECT_EQ(s().seg[DS].base, 0x20000u) << "data segments are left as they were";
  m_.real_mode();
  ASSERT_TRUE(Faulted(m_, m_.exec({0x0F, 0x34}), vec::GP, 0));
  ASSERT_TRUE(Faulted(m_, m_.exec({0x0F, 0x35}), vec::GP, 0));
}

}  // namespace
}  // namespace popek::cpu
