// String instructions (SDM vol. 2 MOVS, STOS, CMPS, SCAS, REP/REPE/REPNE): a zero count,
// the REPE/REPNE termination conditions, DF = 1, 16-bit address wrap, and that a fault in
// the middle of a repeated string leaves ECX/ESI/EDI at the faulting iteration.
#include <gtest/gtest.h>

#include "tests/unit/cpu/sys_machine.h"

namespace popek::cpu {
namespace {

using test::acc::dpl;
using test::Faulted;
using test::Retired;
using test::seg_desc;
using test::SysMachine;
namespace acc = test::acc;
namespace dflag = test::dflag;

class Str : public ::testing::Test {
 protected:
  void SetUp() override { m_.prot_mode(0); }
  CpuState& s() { return m_.s(); }
  void put_str(uint32_t a, const char* p) { std::memcpy(m_.ram() + a, p, std::strlen(p)); }
  SysMachine m_;
};

TEST_F(Str, RepWithZeroCountDoesNothing) {
  s().gpr[ECX] = 0;
  s().gpr[ESI] = 0x3000;
  s().gpr[EDI] = 0x4000;
  m_.put32(0x3000, 0x11223344);
  s().eflags = flag::FIXED1 | flag::ZF | flag::CF;
  ASSERT_TRUE(Retired(m_, m_.exec({0xF3, 0xA4})));  // rep movsb
  EXPECT_EQ(s().gpr[ESI], 0x3000u);
  EXPECT_EQ(s().gpr[EDI], 0x4000u);
  EXPECT_EQ(m_.rd32(0x4000), 0u);
  EXPECT_EQ(s().eip, SysMachine::kCode + 2);
  ASSERT_TRUE(Retired(m_, m_.exec({0xF3, 0xA6})));  // repe cmpsb: flags untouched
  EXPECT_EQ(s().eflags, flag::FIXED1 | flag::ZF | flag::CF);
}

TEST_F(Str, RepStosd) {
  s().gpr[ECX] = 3;
  s().gpr[EDI] = 0x4000;
  s().gpr[EAX] = 0xA5A5F00D;
  ASSERT_TRUE(Retired(m_, m_.exec({0xF3, 0xAB})));  // rep stosd
  EXPECT_EQ(s().gpr[ECX], 0u);
  EXPECT_EQ(s().gpr[EDI], 0x400Cu);
  EXPECT_EQ(m_.rd32(0x4000), 0xA5A5F00Du);
  EXPECT_EQ(m_.rd32(0x4008), 0xA5A5F00Du);
  EXPECT_EQ(m_.rd32(0x400C), 0u);
}

TEST_F(Str, DirectionFlagCopiesDownward) {
  s().eflags |= flag::DF;
  s().gpr[ECX] = 2;
  s().gpr[ESI] = 0x3004;
  s().gpr[EDI] = 0x4004;
  m_.put32(0x3000, 0xAAAA0000);
  m_.put32(0x3004, 0xBBBB1111);
  ASSERT_TRUE(Retired(m_, m_.exec({0xF3, 0xA5})));  // rep movsd
  EXPECT_EQ(m_.rd32(0x4004), 0xBBBB1111u);
  EXPECT_EQ(m_.rd32(0x4000), 0xAAAA0000u);
  EXPECT_EQ(s().gpr[ESI], 0x2FFCu);
  EXPECT_EQ(s().gpr[EDI], 0x3FFCu);
}

TEST_F(Str, RepeCmpsStopsAtFirstDifference) {
  put_str(0x3000, "abcXefgh");
  put_str(0x4000, "abcYefgh");
  s().gpr[ECX] = 8;
  s().gpr[ESI] = 0x3000;
  s().gpr[EDI] = 0x4000;
  ASSERT_TRUE(Retired(m_, m_.exec({0xF3, 0xA6})));  // repe cmpsb
  EXPECT_EQ(s().gpr[ECX], 4u) << "four comparisons";
  EXPECT_EQ(s().gpr[ESI], 0x3004u);
  EXPECT_EQ(s().gpr[EDI], 0x4004u);
  EXPECT_FALSE(s().eflags & flag::ZF);
  EXPECT_TRUE(s().eflags & flag::CF) << "'X' < 'Y'";
}

TEST_F(Str, RepeCmpsRunsOutWithAllEqual) {
  put_str(0x3000, "abc");
  put_str(0x4000, "abc");
  s().gpr[ECX] = 3;
  s().gpr[ESI] = 0x3000;
  s().gpr[EDI] = 0x4000;
  ASSERT_TRUE(Retired(m_, m_.exec({0xF3, 0xA6})));
  EXPECT_EQ(s().gpr[ECX], 0u);
  EXPECT_TRUE(s().eflags & flag::ZF);
}

TEST_F(Str, RepneScasStopsAtMatch) {
  put_str(0x4000, "hello, world");
  s().gpr[ECX] = 12;
  s().gpr[EDI] = 0x4000;
  s().gpr[EAX] = 'l';
  ASSERT_TRUE(Retired(m_, m_.exec({0xF2, 0xAE})));  // repne scasb
  EXPECT_EQ(s().gpr[ECX], 9u);
  EXPECT_EQ(s().gpr[EDI], 0x4003u) << "one past the first 'l'";
  EXPECT_TRUE(s().eflags & flag::ZF);
}

TEST_F(Str, AddressSize16WrapsSiAndDiAndUsesCx) {
  s().gpr[ECX] = 0xABCD0002;
  s().gpr[ESI] = 0x1234FFFF;
  s().gpr[EDI] = 0x5678FFFF;
  m_.ram()[0xFFFF] = 0x11;
  m_.ram()[0x0000] = 0x22;
  ASSERT_TRUE(Retired(m_, m_.exec({0x67, 0xF3, 0xA4})));  // a16 rep movsb
  EXPECT_EQ(s().gpr[ECX], 0xABCD0000u) << "only CX counts";
  EXPECT_EQ(s().gpr[ESI], 0x12340001u) << "SI wraps, upper half kept";
  EXPECT_EQ(s().gpr[EDI], 0x56780001u);
  EXPECT_EQ(m_.ram()[0x0000], 0x22) << "DS:0xFFFF -> ES:0xFFFF, then DS:0 -> ES:0";
  EXPECT_EQ(m_.ram()[0xFFFF], 0x11);
}

TEST_F(Str, PageFaultMidRepIsRestartable) {
  m_.identity_paging();
  m_.set_pte(0x5000, 0);
  s().gpr[ECX] = 4;
  s().gpr[ESI] = 0x3000;
  s().gpr[EDI] = 0x4FF8;
  m_.put32(0x3000, 0x10);
  m_.put32(0x3004, 0x20);
  EXPECT_TRUE(Faulted(m_, m_.exec({0xF3, 0xA5}), vec::PF, 0x2));  // rep movsd: supervisor write
  EXPECT_EQ(s().cr[2], 0x5000u);
  EXPECT_EQ(s().gpr[ECX], 2u) << "two iterations done";
  EXPECT_EQ(s().gpr[ESI], 0x3008u);
  EXPECT_EQ(s().gpr[EDI], 0x5000u);
  EXPECT_EQ(m_.rd32(0x4FF8), 0x10u);
  EXPECT_EQ(m_.rd32(0x4FFC), 0x20u);
}

TEST_F(Str, StraddlingStoreFaultsBeforeWritingTheFirstPage) {
  m_.identity_paging();
  m_.set_pte(0x5000, 0);
  m_.put32(0x4FFC, 0x99999999);
  s().gpr[ECX] = 1;
  s().gpr[EDI] = 0x4FFE;
  s().gpr[EAX] = 0x12345678;
  EXPECT_TRUE(Faulted(m_, m_.exec({0xF3, 0xAB}), vec::PF, 0x2));
  EXPECT_EQ(s().cr[2], 0x5000u);
  EXPECT_EQ(s().gpr[ECX], 1u);
  EXPECT_EQ(s().gpr[EDI], 0x4FFEu);
  EXPECT_EQ(m_.rd32(0x4FFC), 0x99999999u) << "nothing written on the first page";
}

TEST_F(Str, SegmentLimitMidRepIsRestartable) {
  m_.set_gdt(8, seg_desc(0x20000, 0xFFF, acc::DATA_RW | dpl(0), dflag::DB));
  m_.load_cache(ES, 0x40);
  s().gpr[ECX] = 5;
  s().gpr[EDI] = 0xFFE;
  s().gpr[EAX] = 0x77;
  EXPECT_TRUE(Faulted(m_, m_.exec({0xF3, 0xAA}), vec::GP, 0));  // rep stosb
  EXPECT_EQ(s().gpr[ECX], 3u);
  EXPECT_EQ(s().gpr[EDI], 0x1000u);
  EXPECT_EQ(m_.rd8(0x20FFE), 0x77);
  EXPECT_EQ(m_.rd8(0x20FFF), 0x77);
}

TEST_F(Str, SourceFaultMidRepLeavesDestinationIteration) {
  m_.set_gdt(8, seg_desc(0x20000, 0xFFF, acc::DATA_RW | dpl(0), dflag::DB));
  m_.load_cache(DS, 0x40);
  s().gpr[ECX] = 4;
  s().gpr[ESI] = 0xFFC;
  s().gpr[EDI] = 0x4000;
  EXPECT_TRUE(Faulted(m_, m_.exec({0xF3, 0x66, 0xA5}), vec::GP, 0));  // rep movsw
  EXPECT_EQ(s().gpr[ECX], 2u);
  EXPECT_EQ(s().gpr[ESI], 0x1000u);
  EXPECT_EQ(s().gpr[EDI], 0x4004u);
}

}  // namespace
}  // namespace popek::cpu
