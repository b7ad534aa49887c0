// Task switches (SDM vol. 3 §7.3, table 7-1; vol. 2 JMP, CALL, INT n, IRET): far JMP and
// CALL to a TSS or a task gate, INT n and exceptions through an IDT task gate, IRET with
// NT back through the link; busy bits, NT, CR0.TS, CR3 and LDTR; the checks before the
// switch (faults in the old task) and after it (faults in the new task).
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

constexpr uint16_t kTss2 = 0x40;     // 32-bit TSS, available (GDT index 8)
constexpr uint16_t kGate = 0x48;     // task gate -> kTss2 (GDT index 9)
constexpr uint16_t kTss16 = 0x50;    // 16-bit TSS (GDT index 10)
constexpr uint16_t kLdt2 = 0x58;     // an LDT for the new task (GDT index 11)
constexpr uint16_t kNotLdt = 0x60;   // a data segment (GDT index 12)
constexpr uint32_t kTss2Base = 0x14000, kTss16Base = 0x15000, kLdt2Base = 0x16000;
constexpr uint32_t kTaskEip = 0x3000, kTaskEsp = 0x7000;
constexpr uint32_t kTaskFlags = flag::FIXED1 | flag::CF | flag::ZF;

class Task : public ::testing::Test {
 protected:
  void setup(unsigned cpl) {
    m_.prot_mode(cpl);
    m_.set_gdt(8, seg_desc(kTss2Base, 0x67, acc::P | sys::TSS32_AVAIL | dpl(3), 0));
    m_.set_gdt(9, gate_desc(kTss2, 0, sys::TASK, 3));
    m_.set_gdt(10, seg_desc(kTss16Base, 0x2B, acc::P | sys::TSS16_AVAIL | dpl(3), 0));
    m_.set_gdt(11, seg_desc(kLdt2Base, 0x0F, acc::P | sys::LDT, 0));
    m_.set_gdt(12, seg_desc(0, 0xFFFFF, acc::DATA_RW | dpl(0), dflag::G | dflag::DB));
    // The new task: CPL 0, flat, its own registers.
    put_tss32(kTss2Base, SysMachine::kCode0, SysMachine::kData0);
    s().gpr[EAX] = 0xAAAA0001;
    s().gpr[EBX] = 0xBBBB0002;
    s().eflags = flag::FIXED1 | flag::SF;
  }
  void SetUp() override { setup(0); }
  CpuState& s() { return m_.s(); }

  void put_tss32(uint32_t b, uint16_t cs, uint16_t ds) {
    m_.put32(b + 0x20, kTaskEip);
    m_.put32(b + 0x24, kTaskFlags);
    for (unsigned i = 0; i < 8; ++i) m_.put32(b + 0x28 + 4 * i, 0x1000 * (i + 1) + i);
    m_.put32(b + 0x38, kTaskEsp);
    for (unsigned i = 0; i < 6; ++i) m_.put16(b + 0x48 + 4 * i, ds);
    m_.put16(b + 0x4C, cs);
    m_.put16(b + 0x60, 0);
  }
  Status far(uint8_t op, uint16_t sel) {
    return m_.exec({op, 0x78, 0x56, 0x34, 0x12, static_cast<uint8_t>(sel), static_cast<uint8_t>(sel >> 8)});
  }
  Status jmp_far(uint16_t sel) { return far(0xEA, sel); }
  Status call_far(uint16_t sel) { return far(0x9A, sel); }
  uint8_t type_of(uint16_t sel) { return (m_.gdt_hi(sel) >> 8) & 0xF; }
  SysMachine m_;
};

TEST_F(Task, JmpToTssSavesOldTaskAndLoadsNew) {
  ASSERT_TRUE(Retired(m_, jmp_far(kTss2)));
  EXPECT_EQ(s().tr.selector, kTss2) << m_.where();
  EXPECT_EQ(s().eip, kTaskEip);
  EXPECT_EQ(s().gpr[EAX], 0x1000u);
  EXPECT_EQ(s().gpr[EDI], 0x8007u);
  EXPECT_EQ(s().gpr[ESP], kTaskEsp);
  EXPECT_EQ(s().eflags, kTaskFlags) << "JMP does not nest: NT stays clear";
  EXPECT_EQ(s().seg[CS].selector, SysMachine::kCode0);
  EXPECT_EQ(s().seg[DS].selector, SysMachine::kData0);
  EXPECT_TRUE(s().seg[DS].valid);
  EXPECT_TRUE(s().cr[0] & cr0::TS) << "every task switch sets CR0.TS";
  // The old task, as its TSS now holds it.
  EXPECT_EQ(m_.rd32(SysMachine::kTss + 0x20), SysMachine::kCode + 7) << "EIP after the JMP";
  EXPECT_EQ(m_.rd32(SysMachine::kTss + 0x24), flag::FIXED1 | flag::SF);
  EXPECT_EQ(m_.rd32(SysMachine::kTss + 0x28), 0xAAAA0001u);
  EXPECT_EQ(m_.rd32(SysMachine::kTss + 0x34), 0xBBBB0002u);
  EXPECT_EQ(m_.rd16(SysMachine::kTss + 0x4C), SysMachine::kCode0);
  // Busy bits: the old task is left, the new one runs.
  EXPECT_EQ(type_of(SysMachine::kTssSel), sys::TSS32_AVAIL);
  EXPECT_EQ(type_of(kTss2), sys::TSS32_BUSY);
  EXPECT_EQ((s().tr.attr & attr::TYPE_MASK), sys::TSS32_BUSY);
  EXPECT_EQ(m_.rd16(kTss2Base), 0) << "no back link";
}

TEST_F(Task, CallThroughTaskGateNestsAndIretReturns) {
  ASSERT_TRUE(Retired(m_, call_far(kGate)));
  EXPECT_EQ(s().tr.selector, kTss2) << m_.where();
  EXPECT_EQ(s().eflags, kTaskFlags | flag::NT) << "CALL nests: NT set";
  EXPECT_EQ(m_.rd16(kTss2Base), SysMachine::kTssSel) << "back link to the caller";
  EXPECT_EQ(type_of(SysMachine::kTssSel), sys::TSS32_BUSY) << "the caller stays busy";
  EXPECT_EQ(type_of(kTss2), sys::TSS32_BUSY);
  s().gpr[ECX] = 0xC0C0;
  ASSERT_TRUE(Retired(m_, m_.exec({0xCF})));  // iretd
  EXPECT_EQ(s().tr.selector, SysMachine::kTssSel) << m_.where();
  EXPECT_EQ(s().eip, SysMachine::kCode + 7) << "after the CALL";
  EXPECT_EQ(s().gpr[EAX], 0xAAAA0001u);
  EXPECT_EQ(s().eflags, flag::FIXED1 | flag::SF);
  EXPECT_EQ(type_of(kTss2), sys::TSS32_AVAIL) << "IRET leaves the nested task";
  EXPECT_EQ(type_of(SysMachine::kTssSel), sys::TSS32_BUSY);
  EXPECT_EQ(m_.rd32(kTss2Base + 0x24), kTaskFlags) << "saved with NT clear";
  EXPECT_EQ(m_.rd32(kTss2Base + 0x2C), 0xC0C0u) << "the nested task's ECX saved";
  EXPECT_EQ(m_.rd32(kTss2Base + 0x20), kTaskEip + 1) << "it resumes after its IRET";
}

TEST_F(Task, IntThroughIdtTaskGateNests) {
  m_.set_idt(0x40, gate_desc(kTss2, 0, sys::TASK, 0));
  ASSERT_TRUE(Retired(m_, m_.exec({0xCD, 0x40})));
  EXPECT_EQ(s().tr.selector, kTss2) << m_.where();
  EXPECT_EQ(s().eip, kTaskEip);
  EXPECT_EQ(s().gpr[ESP], kTaskEsp) << "nothing pushed for INT n";
  EXPECT_TRUE(s().eflags & flag::NT);
  EXPECT_EQ(m_.rd16(kTss2Base), SysMachine::kTssSel);
  EXPECT_EQ(m_.rd32(SysMachine::kTss + 0x20), SysMachine::kCode + 2) << "after the INT";
}

TEST_F(Task, ExceptionThroughTaskGatePushesErrorCodeOnNewStack) {
  m_.set_idt(vec::GP, gate_desc(kTss2, 0, sys::TASK, 0));
  m_.step({0x66, 0xB8, 0x34, 0x12});  // mov ax, 0x1234
  EXPECT_FALSE(m_.step({0x8E, 0xD8}));  // mov ds, ax: #GP(0x1234)
  EXPECT_EQ(s().tr.selector, kTss2) << m_.where();
  EXPECT_EQ(s().eip, kTaskEip);
  EXPECT_EQ(s().gpr[ESP], kTaskEsp - 4);
  EXPECT_EQ(m_.rd32(kTaskEsp - 4), 0x1234u) << "error code";
  EXPECT_EQ(m_.rd32(SysMachine::kTss + 0x20), m_.at_eip()) << "the faulting instruction";
  EXPECT_TRUE(s().eflags & flag::NT);
}

// The new TSS's T bit (byte 0x64, bit 0): once an exception's switch through a task gate
// is done, a #DB trap with DR6.BT in the new task, before its first instruction (the
// pushed EIP is the task's entry, the first exception's error code under the frame).
TEST_F(Task, TBitRaisesDebugTrapInTheNewTask) {
  constexpr uint32_t kDbHandler = 0x6000;
  m_.set_idt(vec::GP, gate_desc(kTss2, 0, sys::TASK, 0));
  m_.set_idt(vec::DB, gate_desc(SysMachine::kCode0, kDbHandler, sys::INT32, 0));
  m_.put16(kTss2Base + 0x64, 1);
  m_.step({0x66, 0xB8, 0x34, 0x12});  // mov ax, 0x1234
  EXPECT_FALSE(m_.step({0x8E, 0xD8}));  // mov ds, ax: #GP(0x1234) into the new task
  EXPECT_EQ(s().tr.selector, kTss2) << m_.where();
  EXPECT_EQ(s().eip, kDbHandler);
  EXPECT_EQ(s().dr[6] & dr6::BT, dr6::BT);
  ASSERT_EQ(s().gpr[ESP], kTaskEsp - 16);
  EXPECT_EQ(m_.rd32(kTaskEsp - 16), kTaskEip) << "the #DB returns to the task's first instruction";
  EXPECT_EQ(m_.rd32(kTaskEsp - 4), 0x1234u) << "the #GP's error code";
}

TEST_F(Task, SixteenBitTss) {
  const uint32_t b = kTss16Base;
  m_.put16(b + 0x0E, 0x0400);                // IP
  m_.put16(b + 0x10, flag::FIXED1 | flag::CF);
  for (unsigned i = 0; i < 8; ++i) m_.put16(b + 0x12 + 2 * i, 0x100 + i);
  for (unsigned i = 0; i < 4; ++i) m_.put16(b + 0x22 + 2 * i, SysMachine::kData0);
  m_.put16(b + 0x24, SysMachine::kCode0);
  ASSERT_TRUE(Retired(m_, call_far(kTss16)));
  EXPECT_EQ(s().eip, 0x400u) << m_.where();
  EXPECT_EQ(s().gpr[EAX] & 0xFFFF, 0x100u);
  EXPECT_EQ(s().gpr[EDI] & 0xFFFF, 0x107u);
  EXPECT_EQ(s().seg[SS].selector, SysMachine::kData0);
  EXPECT_EQ(s().seg[FS].selector, 0) << "a 16-bit TSS has no FS";
  EXPECT_FALSE(s().seg[GS].valid);
  EXPECT_EQ(m_.rd16(b), SysMachine::kTssSel);
  EXPECT_EQ(type_of(kTss16), sys::TSS16_BUSY);
  ASSERT_TRUE(Retired(m_, m_.exec({0xCF})));  // iretd back to the 32-bit task
  EXPECT_EQ(s().tr.selector, SysMachine::kTssSel);
  EXPECT_EQ(m_.rd16(b + 0x0E), 0x401u) << "IP saved in the 16-bit TSS";
  EXPECT_EQ(type_of(kTss16), sys::TSS16_AVAIL);
}

TEST_F(Task, Cr3AndLdtOfTheNewTask) {
  m_.identity_paging();
  const uint32_t pd2 = 0x102000;
  m_.put32(pd2, SysMachine::kPt | 7);
  m_.put32(kTss2Base + 0x1C, pd2);
  m_.put16(kTss2Base + 0x60, kLdt2);
  m_.put64(kLdt2Base + 8, seg_desc(0x200000 - 0x1000, 0xFFF, acc::DATA_RW | dpl(0), dflag::DB));
  m_.put16(kTss2Base + 0x48 + 4 * ES, 0x0C);  // ES from the new LDT, index 1
  ASSERT_TRUE(Retired(m_, jmp_far(kTss2)));
  EXPECT_EQ(s().cr[3], pd2) << m_.where();
  EXPECT_EQ(s().ldtr.selector, kLdt2);
  EXPECT_EQ(s().ldtr.base, kLdt2Base);
  EXPECT_EQ(s().seg[ES].base, 0x1FF000u) << "ES described by the new LDT";
}

// --- checks before the switch: faults in the old task

TEST_F(Task, BusyTssIsGp) {
  m_.set_gdt(8, seg_desc(kTss2Base, 0x67, acc::P | sys::TSS32_BUSY | dpl(3), 0));
  EXPECT_TRUE(Faulted(m_, jmp_far(kTss2), vec::GP, kTss2));
  EXPECT_TRUE(Faulted(m_, call_far(kGate), vec::GP, kTss2));
  EXPECT_EQ(s().tr.selector, SysMachine::kTssSel);
}

TEST_F(Task, NotPresentTssIsNp) {
  m_.set_gdt(8, seg_desc(kTss2Base, 0x67, sys::TSS32_AVAIL | dpl(3), 0));
  EXPECT_TRUE(Faulted(m_, jmp_far(kTss2), vec::NP, kTss2));
  EXPECT_TRUE(Faulted(m_, call_far(kGate), vec::NP, kTss2));
}

TEST_F(Task, ShortTssIsTs) {
  m_.set_gdt(8, seg_desc(kTss2Base, 0x66, acc::P | sys::TSS32_AVAIL | dpl(3), 0));
  EXPECT_TRUE(Faulted(m_, jmp_far(kTss2), vec::TS, kTss2));
  m_.set_gdt(10, seg_desc(kTss16Base, 0x2A, acc::P | sys::TSS16_AVAIL | dpl(3), 0));
  EXPECT_TRUE(Faulted(m_, jmp_far(kTss16), vec::TS, kTss16));
  EXPECT_EQ(type_of(SysMachine::kTssSel), sys::TSS32_BUSY) << "nothing changed";
}

TEST_F(Task, TssDplBelowCplOrRplIsGp) {
  m_.set_gdt(8, seg_desc(kTss2Base, 0x67, acc::P | sys::TSS32_AVAIL | dpl(0), 0));
  EXPECT_TRUE(Faulted(m_, jmp_far(kTss2 | 3), vec::GP, kTss2)) << "RPL 3 > DPL 0";
  setup(3);
  m_.set_gdt(8, seg_desc(kTss2Base, 0x67, acc::P | sys::TSS32_AVAIL | dpl(0), 0));
  EXPECT_TRUE(Faulted(m_, jmp_far(kTss2), vec::GP, kTss2)) << "CPL 3 > DPL 0";
  // Through a gate of DPL 3 the TSS's DPL does not matter.
  ASSERT_TRUE(Retired(m_, jmp_far(kGate | 3)));
  EXPECT_EQ(s().cpl, 0);
}

TEST_F(Task, TaskGateChecks) {
  m_.set_gdt(9, gate_desc(kTss2, 0, sys::TASK, 3, false));
  EXPECT_TRUE(Faulted(m_, jmp_far(kGate), vec::NP, kGate));
  setup(3);
  m_.set_gdt(9, gate_desc(kTss2, 0, sys::TASK, 2));
  EXPECT_TRUE(Faulted(m_, jmp_far(kGate), vec::GP, kGate)) << "gate DPL < CPL";
  setup(0);
  m_.set_gdt(9, gate_desc(kNotLdt, 0, sys::TASK, 3));
  EXPECT_TRUE(Faulted(m_, jmp_far(kGate), vec::GP, kNotLdt)) << "not a TSS";
  m_.set_gdt(9, gate_desc(0x0C, 0, sys::TASK, 3));
  EXPECT_TRUE(Faulted(m_, jmp_far(kGate), vec::GP, 0x0C)) << "TSS selector in the LDT";
  m_.set_gdt(9, gate_desc(0x1F8, 0, sys::TASK, 3));
  EXPECT_TRUE(Faulted(m_, jmp_far(kGate), vec::GP, 0x1F8)) << "past the GDT limit";
}

TEST_F(Task, TssDescriptorInLdtIsGp) {
  m_.use_ldt();
  m_.set_ldt(1, seg_desc(kTss2Base, 0x67, acc::P | sys::TSS32_AVAIL | dpl(3), 0));
  EXPECT_TRUE(Faulted(m_, jmp_far(0x0C), vec::GP, 0x0C));
}

TEST_F(Task, TaskGateInLdtWorks) {
  m_.use_ldt();
  m_.set_ldt(1, gate_desc(kTss2, 0, sys::TASK, 3));
  ASSERT_TRUE(Retired(m_, call_far(0x0C)));
  EXPECT_EQ(s().tr.selector, kTss2);
}

TEST_F(Task, IretToANonBusyTaskIsTs) {
  s().eflags |= flag::NT;
  m_.put16(SysMachine::kTss, kTss2);  // back link to an available TSS
  EXPECT_TRUE(Faulted(m_, m_.exec({0xCF}), vec::TS, kTss2));
  m_.put16(SysMachine::kTss, 0x0C);
  EXPECT_TRUE(Faulted(m_, m_.exec({0xCF}), vec::TS, 0x0C)) << "link in the LDT";
  m_.put16(SysMachine::kTss, kNotLdt);
  EXPECT_TRUE(Faulted(m_, m_.exec({0xCF}), vec::TS, kNotLdt)) << "link not a TSS";
  m_.set_gdt(8, seg_desc(kTss2Base, 0x67, sys::TSS32_BUSY | dpl(3), 0));
  m_.put16(SysMachine::kTss, kTss2);
  EXPECT_TRUE(Faulted(m_, m_.exec({0xCF}), vec::NP, kTss2)) << "not present";
}

TEST_F(Task, IntThroughTaskGateToBusyTaskIsGpWithIdtErrorLater) {
  m_.set_idt(0x40, gate_desc(SysMachine::kTssSel, 0, sys::TASK, 0));  // the current task
  EXPECT_TRUE(Faulted(m_, m_.exec({0xCD, 0x40}), vec::GP, SysMachine::kTssSel));
  m_.set_idt(0x40, gate_desc(kTss2, 0, sys::TASK, 0, false));
  EXPECT_TRUE(Faulted(m_, m_.exec({0xCD, 0x40}), vec::NP, 0x40 * 8 + 2)) << "gate not present";
}

TEST_F(Task, PageFaultReadingTheNewTssChangesNothing) {
  m_.identity_paging();
  m_.set_pte(kTss2Base, 0);
  EXPECT_TRUE(Faulted(m_, jmp_far(kTss2), vec::PF, 0));
  EXPECT_EQ(s().cr[2], kTss2Base + 0x1C);
  EXPECT_EQ(type_of(SysMachine::kTssSel), sys::TSS32_BUSY);
  EXPECT_EQ(s().tr.selector, SysMachine::kTssSel);
}

// --- checks after the switch: faults in the new task, at its first instruction

class TaskLate : public Task {
 protected:
  // The switch commits, then `vector`(error) is pending in the new task.
  ::testing::AssertionResult FaultsInNewTask(uint8_t vector, uint32_t error) {
    const Status st = jmp_far(kTss2);
    const PendingException& e = s().exc;
    if (st != Status::Fault || !e.pending || e.vector != vector || e.error != error) {
      return ::testing::AssertionFailure()
             << m_.where() << ": expected " << test::vector_name(vector) << "(" << test::hex(error)
             << ") in the new task, got status " << static_cast<int>(st) << " "
             << test::vector_name(e.vector) << "(" << test::hex(e.error) << ")";
    }
    if (s().tr.selector != kTss2 || s().eip != kTaskEip) {
      return ::testing::AssertionFailure() << "the switch did not commit: TR " << test::hex(s().tr.selector)
                                           << ", EIP " << test::hex(s().eip);
    }
    return ::testing::AssertionSuccess();
  }
  void seg(unsigned r, uint16_t sel) { m_.put16(kTss2Base + 0x48 + 4 * r, sel); }
};

TEST_F(TaskLate, BadLdtIsTs) {
  m_.put16(kTss2Base + 0x60, kNotLdt);
  EXPECT_TRUE(FaultsInNewTask(vec::TS, kNotLdt));
  setup(0);
  m_.put16(kTss2Base + 0x60, 0x5C);  // TI set
  EXPECT_TRUE(FaultsInNewTask(vec::TS, 0x5C));
}

TEST_F(TaskLate, NotPresentLdtIsTs) {
  m_.set_gdt(11, seg_desc(kLdt2Base, 0x0F, sys::LDT, 0));
  m_.put16(kTss2Base + 0x60, kLdt2);
  EXPECT_TRUE(FaultsInNewTask(vec::TS, kLdt2));
}

TEST_F(TaskLate, CodeSegmentChecks) {
  seg(CS, SysMachine::kData0);
  EXPECT_TRUE(FaultsInNewTask(vec::TS, SysMachine::kData0)) << "not code";
  setup(0);
  seg(CS, SysMachine::kCode0 | 3);
  EXPECT_TRUE(FaultsInNewTask(vec::TS, SysMachine::kCode0)) << "DPL != RPL";
  setup(0);
  seg(CS, 0);
  EXPECT_TRUE(FaultsInNewTask(vec::TS, 0)) << "null";
  setup(0);
  m_.set_gdt(13, seg_desc(0, 0xFFFFF, (acc::CODE_XR & ~acc::P) | dpl(0), dflag::G | dflag::DB));
  seg(CS, 0x68);
  EXPECT_TRUE(FaultsInNewTask(vec::NP, 0x68)) << "not present";
}

TEST_F(TaskLate, StackSegmentChecks) {
  seg(SS, SysMachine::kData3);
  EXPECT_TRUE(FaultsInNewTask(vec::TS, SysMachine::kData3 & 0xFFFC)) << "DPL != CPL";
  setup(0);
  seg(SS, SysMachine::kCode0);
  EXPECT_TRUE(FaultsInNewTask(vec::TS, SysMachine::kCode0)) << "not writable data";
  setup(0);
  m_.set_gdt(13, seg_desc(0, 0xFFFFF, (acc::DATA_RW & ~acc::P) | dpl(0), dflag::G | dflag::DB));
  seg(SS, 0x68);
  EXPECT_TRUE(FaultsInNewTask(vec::SS, 0x68)) << "not present";
}

TEST_F(TaskLate, DataSegmentChecks) {
  m_.set_gdt(13, seg_desc(0, 0xFFFFF, acc::CODE_X | dpl(0), dflag::G | dflag::DB));
  seg(DS, 0x68);
  EXPECT_TRUE(FaultsInNewTask(vec::TS, 0x68)) << "execute-only code";
  setup(0);
  m_.set_gdt(13, seg_desc(0, 0xFFFFF, (acc::DATA_RW & ~acc::P) | dpl(0), dflag::G | dflag::DB));
  seg(DS, 0);
  seg(GS, 0x68);
  EXPECT_TRUE(FaultsInNewTask(vec::NP, 0x68)) << "not present";
  EXPECT_TRUE(s().seg[SS].valid && s().seg[ES].valid && !s().seg[DS].valid)
      << "segments before GS loaded, DS null";
}

TEST_F(TaskLate, EipPastCodeLimitIsGp) {
  m_.set_gdt(13, seg_desc(0, 0x2FFF, acc::CODE_XR | dpl(0), dflag::DB));
  seg(CS, 0x68);
  EXPECT_TRUE(FaultsInNewTask(vec::GP, 0));
}

}  // namespace
}  // namespace popek::cpu
