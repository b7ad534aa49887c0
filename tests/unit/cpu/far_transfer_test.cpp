// Far transfers in protected mode (SDM vol. 2 CALL, JMP, RET, IRET; vol. 3 §5.8): call
// gates with parameter copy to the inner stack, returns to an outer level that null the
// data segments the outer CPL may not use, conforming code segments, and the faults.
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

constexpr uint16_t kGate = 0x40;     // call gate (GDT index 8)
constexpr uint16_t kConf0 = 0x48;    // conforming readable code DPL0, flat 32-bit
constexpr uint16_t kCodeNc0 = 0x50;  // non-conforming readable code DPL0, flat 32-bit
constexpr uint16_t kConf3 = 0x58;    // conforming code DPL3
constexpr uint16_t kSmallSs = 0x60;  // data DPL0, limit 0xFFF
constexpr uint32_t kTarget = 0x5000;

class Far : public ::testing::Test {
 protected:
  void setup(unsigned cpl) {
    m_.prot_mode(cpl);
    m_.set_gdt(9, seg_desc(0, 0xFFFFF, acc::CODE_XRC | dpl(0), dflag::G | dflag::DB));
    m_.set_gdt(10, seg_desc(0, 0xFFFFF, acc::CODE_XR | dpl(0), dflag::G | dflag::DB));
    m_.set_gdt(11, seg_desc(0, 0xFFFFF, acc::CODE_XRC | dpl(3), dflag::G | dflag::DB));
    m_.set_gdt(12, seg_desc(0, 0xFFF, acc::DATA_RW | dpl(0), dflag::DB));
  }
  void SetUp() override { setup(0); }
  CpuState& s() { return m_.s(); }
  // call far sel:off / jmp far sel:off (ptr16:32)
  Status call_far(uint16_t sel, uint32_t off = 0) {
    return m_.exec({0x9A, static_cast<uint8_t>(off), static_cast<uint8_t>(off >> 8),
                    static_cast<uint8_t>(off >> 16), static_cast<uint8_t>(off >> 24),
                    static_cast<uint8_t>(sel), static_cast<uint8_t>(sel >> 8)});
  }
  Status jmp_far(uint16_t sel, uint32_t off = 0) {
    return m_.exec({0xEA, static_cast<uint8_t>(off), static_cast<uint8_t>(off >> 8),
                    static_cast<uint8_t>(off >> 16), static_cast<uint8_t>(off >> 24),
                    static_cast<uint8_t>(sel), static_cast<uint8_t>(sel >> 8)});
  }
  void push_frame(std::initializer_list<uint32_t> dwords) {
    uint32_t a = s().gpr[ESP];
    for (uint32_t v : dwords) {
      m_.put32(a, v);
      a += 4;
    }
  }
  SysMachine m_;
};

TEST_F(Far, CallGateToInnerLevelCopiesParameters) {
  setup(3);
  m_.set_gdt(8, gate_desc(SysMachine::kCode0, kTarget, sys::CALL32, 3, true, 2));
  push_frame({0x11111111, 0x22222222});
  ASSERT_TRUE(Retired(m_, call_far(kGate | 3)));
  EXPECT_EQ(s().cpl, 0) << m_.where();
  EXPECT_EQ(s().seg[CS].selector, SysMachine::kCode0);
  EXPECT_EQ(s().eip, kTarget);
  EXPECT_EQ(s().seg[SS].selector, SysMachine::kData0);
  const uint32_t esp = SysMachine::kStack0 - 24;
  ASSERT_EQ(s().gpr[ESP], esp);
  EXPECT_EQ(m_.rd32(esp + 0), SysMachine::kCode + 7) << "return EIP";
  EXPECT_EQ(m_.rd32(esp + 4), SysMachine::kCode3) << "return CS";
  EXPECT_EQ(m_.rd32(esp + 8), 0x11111111u) << "parameter at the caller's ESP";
  EXPECT_EQ(m_.rd32(esp + 12), 0x22222222u) << "parameter at the caller's ESP+4";
  EXPECT_EQ(m_.rd32(esp + 16), SysMachine::kStack3) << "caller ESP";
  EXPECT_EQ(m_.rd32(esp + 20), SysMachine::kData3) << "caller SS";
}

TEST_F(Far, CallGateSamePrivilegePushesOnlyCsEip) {
  m_.set_gdt(8, gate_desc(SysMachine::kCode0, kTarget, sys::CALL32, 0, true, 2));
  ASSERT_TRUE(Retired(m_, call_far(kGate)));
  EXPECT_EQ(s().eip, kTarget);
  EXPECT_EQ(s().seg[SS].selector, SysMachine::kData0);
  ASSERT_EQ(s().gpr[ESP], SysMachine::kStack3 - 8);
  EXPECT_EQ(m_.rd32(SysMachine::kStack3 - 8), SysMachine::kCode + 7);
  EXPECT_EQ(m_.rd32(SysMachine::kStack3 - 4), SysMachine::kCode0);
}

TEST_F(Far, CallGatePrivilegeAndPresenceFaults) {
  // Gate DPL < CPL.
  setup(3);
  m_.set_gdt(8, gate_desc(SysMachine::kCode0, kTarget, sys::CALL32, 0));
  EXPECT_TRUE(Faulted(m_, call_far(kGate | 3), vec::GP, kGate));
  EXPECT_EQ(s().gpr[ESP], SysMachine::kStack3);
  // Gate selector RPL > gate DPL.
  setup(0);
  m_.set_gdt(8, gate_desc(SysMachine::kCode0, kTarget, sys::CALL32, 2));
  EXPECT_TRUE(Faulted(m_, call_far(kGate | 3), vec::GP, kGate));
  // Not present.
  m_.set_gdt(8, gate_desc(SysMachine::kCode0, kTarget, sys::CALL32, 0, false));
  EXPECT_TRUE(Faulted(m_, call_far(kGate), vec::NP, kGate));
  // Target code less privileged than CPL.
  m_.set_gdt(8, gate_desc(SysMachine::kCode3, kTarget, sys::CALL32, 0));
  EXPECT_TRUE(Faulted(m_, call_far(kGate), vec::GP, SysMachine::kCode3 & 0xFFFC));
  EXPECT_EQ(s().cpl, 0);
}

TEST_F(Far, JmpThroughGateNeverChangesPrivilege) {
  setup(3);
  m_.set_gdt(8, gate_desc(SysMachine::kCode0, kTarget, sys::CALL32, 3));
  EXPECT_TRUE(Faulted(m_, jmp_far(kGate | 3), vec::GP, SysMachine::kCode0));
  EXPECT_EQ(s().cpl, 3);
}

TEST_F(Far, CallGateInnerStackWithoutRoomIsSsWithSelector) {
  setup(3);
  m_.set_gdt(8, gate_desc(SysMachine::kCode0, kTarget, sys::CALL32, 3, true, 2));
  m_.put32(SysMachine::kTss + 4, 0x8);  // ESP0: 24 bytes below wraps past limit 0xFFF
  m_.put32(SysMachine::kTss + 8, kSmallSs);
  EXPECT_TRUE(Faulted(m_, call_far(kGate | 3), vec::SS, kSmallSs));
  EXPECT_EQ(s().cpl, 3);
  EXPECT_EQ(s().gpr[ESP], SysMachine::kStack3);
}

TEST_F(Far, RetfImmToOuterLevelNullsInaccessibleSegments) {
  // DS: DPL0 data -> null; ES: DPL3 data -> kept; FS: conforming code DPL0 -> kept;
  // GS: non-conforming code DPL0 -> null.
  m_.load_cache(ES, SysMachine::kData3);
  m_.load_cache(FS, kConf0);
  m_.load_cache(GS, kCodeNc0);
  push_frame({0x2000, SysMachine::kCode3, 0xAAAAAAAA, 0xBBBBBBBB, 0x7000, SysMachine::kData3});
  ASSERT_TRUE(Retired(m_, m_.exec({0xCA, 0x08, 0x00})));  // retf 8
  EXPECT_EQ(s().cpl, 3) << m_.where();
  EXPECT_EQ(s().seg[CS].selector, SysMachine::kCode3);
  EXPECT_EQ(s().eip, 0x2000u);
  EXPECT_EQ(s().seg[SS].selector, SysMachine::kData3);
  EXPECT_EQ(s().gpr[ESP], 0x7008u) << "outer ESP + imm16";
  EXPECT_FALSE(s().seg[DS].valid) << "DS (DPL 0 data) nulled";
  EXPECT_EQ(s().seg[DS].selector, 0);
  EXPECT_TRUE(s().seg[ES].valid) << "ES (DPL 3 data) kept";
  EXPECT_EQ(s().seg[ES].selector, SysMachine::kData3);
  EXPECT_TRUE(s().seg[FS].valid) << "FS (conforming code) kept";
  EXPECT_FALSE(s().seg[GS].valid) << "GS (non-conforming DPL 0 code) nulled";
}

TEST_F(Far, RetfSameLevelWithImm) {
  push_frame({0x2345, SysMachine::kCode0});
  ASSERT_TRUE(Retired(m_, m_.exec({0xCA, 0x04, 0x00})));  // retf 4
  EXPECT_EQ(s().eip, 0x2345u);
  EXPECT_EQ(s().gpr[ESP], SysMachine::kStack3 + 12);
  EXPECT_EQ(s().seg[DS].selector, SysMachine::kData0) << "same level: DS untouched";
}

TEST_F(Far, RetfToInnerLevelIsGp) {
  setup(3);
  push_frame({0x2000, SysMachine::kCode0});
  EXPECT_TRUE(Faulted(m_, m_.exec({0xCB}), vec::GP, SysMachine::kCode0));
  EXPECT_EQ(s().gpr[ESP], SysMachine::kStack3);
  EXPECT_EQ(s().cpl, 3);
}

TEST_F(Far, RetfOuterWithBadSsIsGpAndChangesNothing) {
  // SS RPL (0) differs from the return CS RPL (3).
  push_frame({0x2000, SysMachine::kCode3, 0x7000, SysMachine::kData3 & 0xFFFC});
  EXPECT_TRUE(Faulted(m_, m_.exec({0xCB}), vec::GP, SysMachine::kData3 & 0xFFFC));
  EXPECT_EQ(s().cpl, 0);
  EXPECT_EQ(s().seg[CS].selector, SysMachine::kCode0);
  EXPECT_EQ(s().gpr[ESP], SysMachine::kStack3);
  EXPECT_TRUE(s().seg[DS].valid);
}

TEST_F(Far, IretToOuterLevel) {
  const uint32_t fl = flag::FIXED1 | flag::IF | flag::CF | (3u << flag::IOPL_SHIFT);
  push_frame({0x2000, SysMachine::kCode3, fl, 0x7000, SysMachine::kData3});
  ASSERT_TRUE(Retired(m_, m_.exec({0xCF})));  // iretd
  EXPECT_EQ(s().cpl, 3) << m_.where();
  EXPECT_EQ(s().eip, 0x2000u);
  EXPECT_EQ(s().gpr[ESP], 0x7000u);
  EXPECT_EQ(s().seg[SS].selector, SysMachine::kData3);
  EXPECT_EQ(s().eflags, fl) << "at CPL 0 IRET may set IF and IOPL";
  EXPECT_FALSE(s().seg[DS].valid) << "DS (DPL 0) nulled on return to CPL 3";
}

TEST_F(Far, IretAtCpl3KeepsIoplAndIf) {
  setup(3);
  s().eflags = flag::FIXED1;
  push_frame({0x2000, SysMachine::kCode3,
              flag::FIXED1 | flag::IF | flag::CF | (3u << flag::IOPL_SHIFT)});
  ASSERT_TRUE(Retired(m_, m_.exec({0xCF})));
  EXPECT_EQ(s().eflags, flag::FIXED1 | flag::CF) << "IOPL and IF unchanged (CPL 3 > IOPL 0)";
}

TEST_F(Far, ConformingCodeKeepsCpl) {
  setup(3);
  ASSERT_TRUE(Retired(m_, jmp_far(kConf0 | 3, 0x2000)));
  EXPECT_EQ(s().cpl, 3) << m_.where();
  EXPECT_EQ(s().seg[CS].selector, kConf0 | 3) << "CS.RPL = CPL";
  EXPECT_EQ(s().eip, 0x2000u);
  // A far call to conforming code also stays at CPL 3 and pushes on the same stack.
  setup(3);
  ASSERT_TRUE(Retired(m_, call_far(kConf0, 0x2000)));
  EXPECT_EQ(s().seg[CS].selector, kConf0 | 3);
  EXPECT_EQ(s().gpr[ESP], SysMachine::kStack3 - 8);
  EXPECT_EQ(m_.rd32(SysMachine::kStack3 - 4), SysMachine::kCode3);
}

TEST_F(Far, DirectTransferPrivilegeFaults) {
  setup(3);
  EXPECT_TRUE(Faulted(m_, call_far(kCodeNc0 | 3), vec::GP, kCodeNc0));
  EXPECT_EQ(s().gpr[ESP], SysMachine::kStack3);
  setup(0);
  EXPECT_TRUE(Faulted(m_, jmp_far(kConf3), vec::GP, kConf3)) << "conforming DPL 3 > CPL 0";
  EXPECT_TRUE(Faulted(m_, jmp_far(SysMachine::kCode3), vec::GP, SysMachine::kCode3 & 0xFFFC));
  EXPECT_TRUE(Faulted(m_, jmp_far(SysMachine::kData0), vec::GP, SysMachine::kData0));
  EXPECT_TRUE(Faulted(m_, jmp_far(0), vec::GP, 0));
}

TEST_F(Far, OffsetBeyondTargetLimitIsGp0) {
  m_.set_gdt(13, seg_desc(0, 0xFFF, acc::CODE_XR | dpl(0), dflag::DB));
  EXPECT_TRUE(Faulted(m_, jmp_far(0x68, 0x1000), vec::GP, 0));
  EXPECT_EQ(s().seg[CS].selector, SysMachine::kCode0);
  ASSERT_TRUE(Retired(m_, jmp_far(0x68, 0xFFF)));
}

}  // namespace
}  // namespace popek::cpu
