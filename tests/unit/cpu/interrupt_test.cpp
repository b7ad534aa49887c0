// Interrupt and exception delivery (SDM vol. 3 §6.12-6.15, vol. 2 INT n): the real-mode
// IVT, interrupt vs trap gates, same- and inner-privilege frames, error codes with the
// IDT and EXT bits, the gate-DPL check of software interrupts, double and triple faults.
#include <gtest/gtest.h>

#include <atomic>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <thread>

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
constexpr uint32_t kEflags = flag::FIXED1 | flag::IF | flag::TF | flag::CF;

// --- real mode

TEST(RealModeInt, IntPushesFlagsCsIpAndClearsIfTf) {
  SysMachine m;
  m.real_mode();
  m.cpu().load_seg_real(CS, 0x0080);
  m.s().eip = 0x0200;  // linear 0xA00
  m.put16(0x21 * 4, 0x0100);
  m.put16(0x21 * 4 + 2, 0x2000);
  m.s().eflags = kEflags;
  ASSERT_TRUE(Retired(m, m.exec({0xCD, 0x21})));  // int 0x21
  EXPECT_EQ(m.s().seg[CS].selector, 0x2000) << m.where();
  EXPECT_EQ(m.s().seg[CS].base, 0x20000u);
  EXPECT_EQ(m.s().eip, 0x0100u);
  EXPECT_EQ(m.s().gpr[ESP], SysMachine::kStack3 - 6);
  EXPECT_EQ(m.rd16(SysMachine::kStack3 - 6), 0x0202) << "return IP";
  EXPECT_EQ(m.rd16(SysMachine::kStack3 - 4), 0x0080) << "CS";
  EXPECT_EQ(m.rd16(SysMachine::kStack3 - 2), kEflags) << "FLAGS";
  EXPECT_EQ(m.s().eflags, flag::FIXED1 | flag::CF) << "IF and TF cleared";
}

TEST(RealModeInt, FaultPushesIpOfFaultingInstruction) {
  SysMachine m;
  m.real_mode();
  m.put16(0, 0x0010);
  m.put16(2, 0x3000);
  m.s().gpr[ECX] = 0;  // div cl: #DE
  EXPECT_FALSE(m.step({0xF6, 0xF1}));
  EXPECT_EQ(m.s().seg[CS].selector, 0x3000) << m.where();
  EXPECT_EQ(m.s().eip, 0x0010u);
  EXPECT_EQ(m.rd16(SysMachine::kStack3 - 6), SysMachine::kCode) << "IP of the DIV itself";
  EXPECT_EQ(m.rd16(SysMachine::kStack3 - 4), 0);
}

// --- protected mode

class PInt : public ::testing::Test {
 protected:
  void SetUp() override { m_.prot_mode(0); }
  CpuState& s() { return m_.s(); }
  uint32_t stack(uint32_t esp, unsigned i) { return m_.rd32(esp + 4 * i); }
  SysMachine m_;
};

TEST_F(PInt, InterruptGateSamePrivilege) {
  m_.set_idt(0x30, gate_desc(SysMachine::kCode0, kHandler, sys::INT32, 0));
  s().eflags = kEflags;
  ASSERT_TRUE(Retired(m_, m_.exec({0xCD, 0x30})));
  EXPECT_EQ(s().eip, kHandler) << m_.where();
  EXPECT_EQ(s().seg[CS].selector, SysMachine::kCode0);
  const uint32_t esp = SysMachine::kStack3 - 12;
  ASSERT_EQ(s().gpr[ESP], esp);
  EXPECT_EQ(stack(esp, 0), SysMachine::kCode + 2) << "EIP";
  EXPECT_EQ(stack(esp, 1), SysMachine::kCode0) << "CS";
  EXPECT_EQ(stack(esp, 2), kEflags) << "EFLAGS";
  EXPECT_EQ(s().eflags, flag::FIXED1 | flag::CF) << "interrupt gate clears IF and TF";
}

TEST_F(PInt, TrapGateLeavesIf) {
  m_.set_idt(0x30, gate_desc(SysMachine::kCode0, kHandler, sys::TRAP32, 0));
  s().eflags = kEflags | flag::NT;
  ASSERT_TRUE(Retired(m_, m_.exec({0xCD, 0x30})));
  EXPECT_EQ(s().eflags, flag::FIXED1 | flag::IF | flag::CF) << "trap gate: TF, NT cleared, IF kept";
  EXPECT_EQ(stack(s().gpr[ESP], 2), kEflags | flag::NT);
}

TEST_F(PInt, SixteenBitGatePushesWords) {
  m_.set_idt(0x30, gate_desc(SysMachine::kCode0, 0x12345678, sys::INT16, 0));
  s().eflags = kEflags;
  ASSERT_TRUE(Retired(m_, m_.exec({0xCD, 0x30})));
  EXPECT_EQ(s().eip, 0x5678u) << "a 16-bit gate uses the low offset word";
  ASSERT_EQ(s().gpr[ESP], SysMachine::kStack3 - 6);
  EXPECT_EQ(m_.rd16(SysMachine::kStack3 - 6), SysMachine::kCode + 2);
  EXPECT_EQ(m_.rd16(SysMachine::kStack3 - 4), SysMachine::kCode0);
  EXPECT_EQ(m_.rd16(SysMachine::kStack3 - 2), kEflags & 0xFFFF);
}

TEST_F(PInt, InnerPrivilegeSwitchesToTssStack) {
  m_.prot_mode(3);
  m_.set_idt(0x80, gate_desc(SysMachine::kCode0, kHandler, sys::INT32, 3));
  s().eflags = flag::FIXED1 | flag::IF;
  ASSERT_TRUE(Retired(m_, m_.exec({0xCD, 0x80})));
  EXPECT_EQ(s().cpl, 0) << m_.where();
  EXPECT_EQ(s().seg[CS].selector, SysMachine::kCode0);
  EXPECT_EQ(s().seg[SS].selector, SysMachine::kData0);
  const uint32_t esp = SysMachine::kStack0 - 20;
  ASSERT_EQ(s().gpr[ESP], esp);
  EXPECT_EQ(stack(esp, 0), SysMachine::kCode + 2) << "EIP";
  EXPECT_EQ(stack(esp, 1), SysMachine::kCode3) << "CS";
  EXPECT_EQ(stack(esp, 2), flag::FIXED1 | flag::IF) << "EFLAGS";
  EXPECT_EQ(stack(esp, 3), SysMachine::kStack3) << "ESP";
  EXPECT_EQ(stack(esp, 4), SysMachine::kData3) << "SS";
  EXPECT_EQ(s().seg[DS].selector, SysMachine::kData3) << "an inward transfer keeps DS";
  EXPECT_TRUE(s().seg[DS].valid);
}

TEST_F(PInt, FaultFromRing3PushesErrorCodeAndFaultingEip) {
  m_.prot_mode(3);
  m_.set_idt(vec::GP, gate_desc(SysMachine::kCode0, kHandler, sys::INT32, 0));
  EXPECT_FALSE(m_.step({0xFA}));  // cli at CPL 3, IOPL 0: #GP(0)
  EXPECT_EQ(s().eip, kHandler) << m_.where();
  const uint32_t esp = SysMachine::kStack0 - 24;
  ASSERT_EQ(s().gpr[ESP], esp);
  EXPECT_EQ(stack(esp, 0), 0u) << "error code";
  EXPECT_EQ(stack(esp, 1), SysMachine::kCode) << "EIP of CLI";
  EXPECT_EQ(stack(esp, 2), SysMachine::kCode3);
  EXPECT_EQ(stack(esp, 4), SysMachine::kStack3);
  EXPECT_EQ(stack(esp, 5), SysMachine::kData3);
}

// SDM vol. 3 §17.3.1.1: a fault-class exception pushes EFLAGS with RF set (the handler's
// IRET then returns to the instruction without taking an instruction breakpoint on it
// again); the handler itself runs with RF clear.
TEST_F(PInt, FaultPushesRfSetAndRunsTheHandlerWithRfClear) {
  m_.prot_mode(3);
  m_.set_idt(vec::GP, gate_desc(SysMachine::kCode0, kHandler, sys::INT32, 0));
  EXPECT_FALSE(m_.step({0xFA}));  // cli at CPL 3, IOPL 0: #GP(0)
  const uint32_t esp = SysMachine::kStack0 - 24;
  ASSERT_EQ(s().gpr[ESP], esp) << m_.where();
  EXPECT_EQ(stack(esp, 3) & flag::RF, flag::RF) << "EFLAGS image of the #GP";
  EXPECT_EQ(s().eflags & flag::RF, 0u);
}

// A REP string left between iterations (a long count) sets RF, so an interrupt taken
// before it goes on pushes RF set, as the processor does after an iteration.
TEST_F(PInt, InterruptBetweenRepIterationsPushesRf) {
  m_.set_idt(0x40, gate_desc(SysMachine::kCode0, kHandler, sys::INT32, 0));
  s().gpr[ECX] = 10000;
  s().gpr[EDI] = 0x20000;
  ASSERT_EQ(m_.exec({0xF3, 0xAA}), Status::Restart);  // rep stosb
  EXPECT_LT(s().gpr[ECX], 10000u);
  EXPECT_EQ(s().eflags & flag::RF, flag::RF);
  ASSERT_EQ(m_.cpu().interrupt(0x40, IntSource::External, false, 0, s().eip), Status::Ok);
  EXPECT_EQ(stack(s().gpr[ESP], 2) & flag::RF, flag::RF) << "EFLAGS image of the interrupt";
  EXPECT_EQ(s().eflags & flag::RF, 0u);
}

TEST_F(PInt, SoftwareInterruptChecksGateDpl) {
  m_.prot_mode(3);
  m_.set_idt(0x80, gate_desc(SysMachine::kCode0, kHandler, sys::INT32, 0));
  m_.set_idt(vec::BP, gate_desc(SysMachine::kCode0, kHandler, sys::INT32, 0));
  m_.set_idt(vec::OF, gate_desc(SysMachine::kCode0, kHandler, sys::INT32, 0));
  EXPECT_TRUE(Faulted(m_, m_.exec({0xCD, 0x80}), vec::GP, 0x80 * 8 + 2));
  EXPECT_EQ(s().gpr[ESP], SysMachine::kStack3);
  EXPECT_EQ(s().cpl, 3);
  EXPECT_TRUE(Faulted(m_, m_.exec({0xCC}), vec::GP, vec::BP * 8 + 2));  // int3
  s().eflags |= flag::OF;
  EXPECT_TRUE(Faulted(m_, m_.exec({0xCE}), vec::GP, vec::OF * 8 + 2));  // into
}

TEST_F(PInt, ExceptionIgnoresGateDpl) {
  m_.prot_mode(3);
  m_.set_idt(vec::UD, gate_desc(SysMachine::kCode0, kHandler, sys::INT32, 0));
  EXPECT_FALSE(m_.step({0x0F, 0x0B}));  // ud2
  EXPECT_EQ(s().eip, kHandler) << m_.where();
  EXPECT_EQ(s().cpl, 0);
  EXPECT_EQ(stack(s().gpr[ESP], 0), SysMachine::kCode) << "#UD has no error code: EIP first";
}

TEST_F(PInt, NotPresentGateIsNpWithIdtBit) {
  m_.set_idt(0x31, gate_desc(SysMachine::kCode0, kHandler, sys::INT32, 3, false));
  EXPECT_TRUE(Faulted(m_, m_.exec({0xCD, 0x31}), vec::NP, 0x31 * 8 + 2));
  EXPECT_EQ(s().gpr[ESP], SysMachine::kStack3);
}

TEST_F(PInt, VectorPastIdtLimitIsGp) {
  m_.set_idt(0x30, gate_desc(SysMachine::kCode0, kHandler, sys::INT32, 0));
  m_.set_idt(0x31, gate_desc(SysMachine::kCode0, kHandler, sys::INT32, 0));
  s().idtr.limit = 0x30 * 8 + 7;
  EXPECT_TRUE(Faulted(m_, m_.exec({0xCD, 0x31}), vec::GP, 0x31 * 8 + 2));
  ASSERT_TRUE(Retired(m_, m_.exec({0xCD, 0x30})));
}

TEST_F(PInt, NotACodeSegmentInGateIsGpSelector) {
  m_.set_idt(0x30, gate_desc(SysMachine::kData0, kHandler, sys::INT32, 0));
  EXPECT_TRUE(Faulted(m_, m_.exec({0xCD, 0x30}), vec::GP, SysMachine::kData0));
  m_.set_idt(0x30, gate_desc(0, kHandler, sys::INT32, 0));
  EXPECT_TRUE(Faulted(m_, m_.exec({0xCD, 0x30}), vec::GP, 0)) << "null selector: #GP(EXT=0)";
}

TEST_F(PInt, NpDuringExceptionDeliveryHasExtBit) {
  m_.set_idt(vec::UD, gate_desc(SysMachine::kCode0, kHandler, sys::INT32, 0, false));
  m_.set_idt(vec::NP, gate_desc(SysMachine::kCode0, 0x6000, sys::INT32, 0));
  EXPECT_FALSE(m_.step({0x0F, 0x0B}));  // ud2: #UD, its gate not present: #NP
  EXPECT_EQ(s().eip, 0x6000u) << m_.where();
  const uint32_t esp = SysMachine::kStack3 - 16;
  ASSERT_EQ(s().gpr[ESP], esp);
  EXPECT_EQ(stack(esp, 0), vec::UD * 8u + 2 + 1) << "error code: IDT bit and EXT bit";
  EXPECT_EQ(stack(esp, 1), SysMachine::kCode);
}

TEST_F(PInt, ExternalInterruptErrorsHaveExtBit) {
  m_.set_idt(0x40, gate_desc(SysMachine::kCode0, kHandler, sys::INT32, 0, false));
  const Status st = m_.cpu().interrupt(0x40, IntSource::External, false, 0, s().eip);
  ASSERT_EQ(st, Status::Fault);
  EXPECT_EQ(s().exc.vector, vec::NP);
  EXPECT_EQ(s().exc.error, 0x40u * 8 + 2 + 1);
  // An external interrupt ignores the gate DPL.
  m_.prot_mode(3);
  m_.set_idt(0x40, gate_desc(SysMachine::kCode0, kHandler, sys::INT32, 0));
  ASSERT_EQ(m_.cpu().interrupt(0x40, IntSource::External, false, 0, s().eip), Status::Ok);
  EXPECT_EQ(s().eip, kHandler);
}

TEST_F(PInt, ContributoryThenContributoryIsDoubleFault) {
  m_.set_idt(vec::GP, gate_desc(SysMachine::kCode0, kHandler, sys::INT32, 0, false));
  m_.set_idt(vec::NP, gate_desc(SysMachine::kCode0, 0x6000, sys::INT32, 0));
  m_.set_idt(vec::DF, gate_desc(SysMachine::kCode0, 0x7000, sys::INT32, 0));
  s().gpr[EAX] = 0;
  EXPECT_FALSE(m_.step({0x8E, 0xD0}));  // mov ss, ax (null): #GP(0), then #NP delivering it
  EXPECT_EQ(s().eip, 0x7000u) << m_.where() << ": #DF handler expected";
  const uint32_t esp = SysMachine::kStack3 - 16;
  ASSERT_EQ(s().gpr[ESP], esp);
  EXPECT_EQ(stack(esp, 0), 0u) << "#DF error code is 0";
}

// Serial deliveries that keep faulting: #AC (benign) whose gate is no gate raises
// #GP(IDT 17), whose CPL-3 handler's misaligned stack raises #AC again, for ever. The
// guest livelocks, but the host must get its attention: with the host's flag set, the
// delivery gives up (the exception stays pending) instead of looping inside the CPU.
// Found by the fuzzer (tests/fuzz/): before the fix this test never ends; it fails after
// a few seconds instead.
TEST(SerialFaults, LivelockOfSerialDeliveriesHearsTheHost) {
  SysMachine m;
  m.prot_mode(3);
  m.set_idt(vec::AC, 0);  // type 0: not a gate, #GP(17 * 8 + IDT + EXT)
  m.set_idt(vec::GP, gate_desc(SysMachine::kCode3, 0x6000, sys::TRAP32, 3));
  m.s().cr[0] |= cr0::AM;
  m.cpu().set_cr0(m.s().cr[0]);
  m.s().eflags |= flag::AC;
  m.s().gpr[ESP] = SysMachine::kStack3 + 1;  // misaligned
  std::atomic<uint32_t> host{1};
  m.cpu().host_attention = &host;
  std::promise<void> done;
  std::future<void> finished = done.get_future();
  std::thread t([&] {
    m.step({0x8B, 0x05, 0x01, 0x50, 0x00, 0x00});  // mov eax, [0x5001]: #AC(0)
    done.set_value();
  });
  if (finished.wait_for(std::chrono::seconds(5)) != std::future_status::ready) {
    ADD_FAILURE() << "the serial deliveries of #AC and #GP are still looping after 5 s";
    fflush(stdout);
    std::_Exit(1);  // the thread cannot be stopped
  }
  t.join();
  EXPECT_TRUE(m.s().exc.pending) << "the exception that could not be delivered stays pending";
  EXPECT_EQ(m.s().eip, SysMachine::kCode) << "no handler ran";
}

// The next run goes on with a delivery the host interrupted before it runs any
// instruction: the guest cannot tell that the host looked in between.
TEST(SerialFaults, ARunFirstDeliversTheExceptionLeftPending) {
  SysMachine m;
  m.prot_mode(0);
  m.set_idt(vec::GP, gate_desc(SysMachine::kCode0, SysMachine::kCode + 0x100, sys::INT32, 0));
  m.put(SysMachine::kCode, {0x90});          // nop: must not run before the handler
  m.put(SysMachine::kCode + 0x100, {0xF4});  // the handler: hlt
  m.s().exc = cpu::PendingException{vec::GP, 1, 1, 0, 0x18};
  EXPECT_EQ(m.cpu().run(m.s().icount + 10), cpu::Cpu::RunExit::Halted);
  EXPECT_FALSE(m.s().exc.pending);
  EXPECT_EQ(m.s().eip, SysMachine::kCode + 0x101);
  EXPECT_EQ(m.s().icount, 1u) << "only the handler's HLT retired";
}

TEST_F(PInt, ContributoryThenPageFaultIsSerial) {
  // The IDT straddles a page boundary: entries 0-13 on a not-present page, 14 and up on
  // a present one. #GP cannot read its gate (#PF), the #PF is delivered normally.
  m_.identity_paging();
  const uint32_t idt = 0x14000 - 14 * 8;
  s().idtr = {idt, 256 * 8 - 1};
  m_.put64(idt + 14 * 8, gate_desc(SysMachine::kCode0, 0x6000, sys::INT32, 0));
  m_.set_pte(0x13000, 0);
  s().gpr[EAX] = 0;
  EXPECT_FALSE(m_.step({0x8E, 0xD0}));  // mov ss, ax (null): #GP(0)
  EXPECT_EQ(s().eip, 0x6000u) << m_.where() << ": #PF handler expected";
  EXPECT_EQ(s().cr[2], idt + vec::GP * 8) << "CR2: the IDT entry of #GP";
  const uint32_t esp = SysMachine::kStack3 - 16;
  ASSERT_EQ(s().gpr[ESP], esp);
  EXPECT_EQ(stack(esp, 0), 0u) << "#PF error code: supervisor read, not present";
  EXPECT_EQ(stack(esp, 1), SysMachine::kCode);
}

TEST_F(PInt, PageFaultThenPageFaultIsDoubleFault) {
  // Entries 0-8 on a present page, 9 and up (so #PF's gate) on a not-present one.
  m_.identity_paging();
  const uint32_t idt = 0x14000 - 9 * 8;
  s().idtr = {idt, 256 * 8 - 1};
  m_.put64(idt + vec::DF * 8, gate_desc(SysMachine::kCode0, 0x7000, sys::INT32, 0));
  m_.set_pte(0x14000, 0);
  s().gpr[EBX] = 0x14100;
  EXPECT_FALSE(m_.step({0x8B, 0x03}));  // mov eax, [ebx]: #PF, then #PF reading the IDT
  EXPECT_EQ(s().eip, 0x7000u) << m_.where() << ": #DF handler expected";
  const uint32_t esp = SysMachine::kStack3 - 16;
  ASSERT_EQ(s().gpr[ESP], esp);
  EXPECT_EQ(stack(esp, 0), 0u);
  EXPECT_EQ(stack(esp, 1), SysMachine::kCode);
}

TEST_F(PInt, PageFaultThenGpIsDoubleFault) {
  m_.identity_paging();
  m_.set_idt(vec::PF, gate_desc(SysMachine::kData0, kHandler, sys::INT32, 0));  // not code: #GP
  m_.set_idt(vec::DF, gate_desc(SysMachine::kCode0, 0x7000, sys::INT32, 0));
  m_.set_pte(0x14000, 0);
  s().gpr[EBX] = 0x14100;
  EXPECT_FALSE(m_.step({0x8B, 0x03}));
  EXPECT_EQ(s().eip, 0x7000u) << m_.where() << ": #DF handler expected";
}

TEST_F(PInt, BenignThenContributoryIsSerial) {
  m_.set_idt(vec::UD, gate_desc(SysMachine::kData0, kHandler, sys::INT32, 0));  // #GP(0x10+1)
  m_.set_idt(vec::GP, gate_desc(SysMachine::kCode0, 0x6000, sys::INT32, 0));
  m_.set_idt(vec::DF, gate_desc(SysMachine::kCode0, 0x7000, sys::INT32, 0));
  EXPECT_FALSE(m_.step({0x0F, 0x0B}));
  EXPECT_EQ(s().eip, 0x6000u) << m_.where() << ": #GP handler expected";
  EXPECT_EQ(stack(s().gpr[ESP], 0), SysMachine::kData0 + 1u) << "selector + EXT";
}

TEST_F(PInt, TripleFaultStopsTheMachineWithReset) {
  s().idtr.limit = 7;  // only vector 0: #UD -> #GP -> #GP (#DF) -> #GP: triple fault
  EXPECT_FALSE(m_.step({0x0F, 0x0B}));
  EXPECT_EQ(m_.bus().stop_reason(), bus::StopReason::Reset) << m_.where();
}

TEST_F(PInt, InnerStackWithoutRoomIsSsWithSelector) {
  m_.prot_mode(3);
  m_.set_gdt(8, seg_desc(0, 0xFFF, acc::DATA_RW | dpl(0) | 1, dflag::DB));
  m_.put32(SysMachine::kTss + 4, 0x10);  // ESP0: 20 bytes below wraps past the limit
  m_.put32(SysMachine::kTss + 8, 0x40);
  m_.set_idt(0x80, gate_desc(SysMachine::kCode0, kHandler, sys::INT32, 3));
  EXPECT_TRUE(Faulted(m_, m_.exec({0xCD, 0x80}), vec::SS, 0x40));
  EXPECT_EQ(s().cpl, 3);
  EXPECT_EQ(s().gpr[ESP], SysMachine::kStack3);
}

TEST_F(PInt, BadTssStackSelectorIsTs) {
  m_.prot_mode(3);
  m_.set_idt(0x80, gate_desc(SysMachine::kCode0, kHandler, sys::INT32, 3));
  m_.put32(SysMachine::kTss + 8, SysMachine::kData3);  // SS0 with RPL 3
  EXPECT_TRUE(Faulted(m_, m_.exec({0xCD, 0x80}), vec::TS, SysMachine::kData3 & 0xFFFC));
  m_.put32(SysMachine::kTss + 8, 0);  // null SS0: #TS(EXT)
  EXPECT_TRUE(Faulted(m_, m_.exec({0xCD, 0x80}), vec::TS, 0));
  EXPECT_EQ(s().cpl, 3);
}

TEST_F(PInt, IretSameLevel) {
  const uint32_t esp = SysMachine::kStack3;
  m_.put32(esp, 0x2345);
  m_.put32(esp + 4, SysMachine::kCode0);
  m_.put32(esp + 8, flag::FIXED1 | flag::IF | flag::CF | (3u << flag::IOPL_SHIFT));
  ASSERT_TRUE(Retired(m_, m_.exec({0xCF})));  // iretd
  EXPECT_EQ(s().eip, 0x2345u);
  EXPECT_EQ(s().gpr[ESP], esp + 12);
  EXPECT_EQ(s().eflags, flag::FIXED1 | flag::IF | flag::CF | (3u << flag::IOPL_SHIFT))
      << "CPL 0 may change IF and IOPL";
}

}  // namespace
}  // namespace popek::cpu
