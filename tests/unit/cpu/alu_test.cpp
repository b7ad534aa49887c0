// Known answers for the integer instructions (cpu/ops/arith.def): flag edge cases the
// SDM spells out, the SDM's DAA/DAS examples, #DE with registers unchanged, and the
// addressing corners (bit strings, sign-extended immediates) the host differential test
// covers only partly.
#include <gtest/gtest.h>

#include "cpu/cpu_state.h"
#include "tests/unit/cpu/one_insn.h"

namespace popek::cpu {
namespace {

using test::OneInsn;
constexpr uint32_t O = flag::OF, S = flag::SF, Z = flag::ZF, A = flag::AF, P = flag::PF,
                   C = flag::CF;

class Alu : public ::testing::Test {
 protected:
  CpuState& s() { return m_.cpu().s; }
  uint32_t arith() { return s().eflags & flag::ARITH; }
  void set_arith(uint32_t f) { s().eflags = flag::FIXED1 | f; }
  Status exec(std::initializer_list<uint8_t> bytes) { return m_.exec(bytes); }
  OneInsn m_;
};

TEST_F(Alu, AddByteSignedOverflowSetsOfAndAf) {
  s().gpr[EAX] = 0x7F;
  set_arith(C | Z);
  ASSERT_EQ(exec({0x04, 0x01}), Status::Ok);  // add al, 1
  EXPECT_EQ(s().gpr[EAX], 0x80u);
  EXPECT_EQ(arith(), O | S | A);  // 0x80 has odd parity: PF clear
  EXPECT_EQ(s().eip, OneInsn::kCodeAddr + 2);
}

TEST_F(Alu, AddByteCarryOutWrapsToZero) {
  s().gpr[EAX] = 0x123456FF;
  ASSERT_EQ(exec({0x04, 0x01}), Status::Ok);  // add al, 1
  EXPECT_EQ(s().gpr[EAX], 0x12345600u);
  EXPECT_EQ(arith(), C | Z | A | P);
}

TEST_F(Alu, AddSignExtendedImm8) {
  s().gpr[EAX] = 5;
  ASSERT_EQ(exec({0x83, 0xC0, 0xFF}), Status::Ok);  // add eax, -1
  EXPECT_EQ(s().gpr[EAX], 4u);
  EXPECT_EQ(arith(), C | A);
  s().gpr[EAX] = 0x12340005;
  ASSERT_EQ(exec({0x66, 0x83, 0xC0, 0xFF}), Status::Ok);  // add ax, -1
  EXPECT_EQ(s().gpr[EAX], 0x12340004u);
}

TEST_F(Alu, AdcUsesCarryIn) {
  s().gpr[EAX] = 0xFFFFFFFF;
  s().gpr[ECX] = 0;
  set_arith(C);
  ASSERT_EQ(exec({0x11, 0xC8}), Status::Ok);  // adc eax, ecx
  EXPECT_EQ(s().gpr[EAX], 0u);
  EXPECT_EQ(arith(), C | Z | A | P);
}

TEST_F(Alu, SubByteSignedOverflow) {
  s().gpr[EAX] = 0x80;
  ASSERT_EQ(exec({0x2C, 0x01}), Status::Ok);  // sub al, 1
  EXPECT_EQ(s().gpr[EAX], 0x7Fu);
  EXPECT_EQ(arith(), O | A);  // 0x7F: seven bits set, odd parity
}

TEST_F(Alu, SbbBorrowsThroughZero) {
  s().gpr[EAX] = 0;
  s().gpr[ECX] = 0xFFFFFFFF;
  set_arith(C);
  ASSERT_EQ(exec({0x19, 0xC8}), Status::Ok);  // sbb eax, ecx: 0 - (2^32 - 1) - 1
  EXPECT_EQ(s().gpr[EAX], 0u);
  EXPECT_EQ(arith(), C | Z | A | P);
}

TEST_F(Alu, CmpDoesNotWrite) {
  s().gpr[EAX] = 1;
  s().gpr[ECX] = 2;
  ASSERT_EQ(exec({0x39, 0xC8}), Status::Ok);  // cmp eax, ecx
  EXPECT_EQ(s().gpr[EAX], 1u);
  EXPECT_EQ(arith(), C | S | A | P);
}

TEST_F(Alu, IncDecPreserveCarry) {
  s().gpr[EAX] = 0x7FFFFFFF;
  set_arith(C);
  ASSERT_EQ(exec({0x40}), Status::Ok);  // inc eax
  EXPECT_EQ(s().gpr[EAX], 0x80000000u);
  EXPECT_EQ(arith(), C | O | S | A | P);
  set_arith(0);
  ASSERT_EQ(exec({0x48}), Status::Ok);  // dec eax
  EXPECT_EQ(s().gpr[EAX], 0x7FFFFFFFu);
  EXPECT_EQ(arith(), O | A | P);
}

TEST_F(Alu, NegCarryAndOverflow) {
  s().gpr[EAX] = 0;
  ASSERT_EQ(exec({0xF6, 0xD8}), Status::Ok);  // neg al
  EXPECT_EQ(arith(), Z | P);
  s().gpr[EAX] = 0x80;
  ASSERT_EQ(exec({0xF6, 0xD8}), Status::Ok);
  EXPECT_EQ(s().gpr[EAX], 0x80u);
  EXPECT_EQ(arith(), C | O | S);
}

TEST_F(Alu, LogicClearsCarryAndOverflow) {
  s().gpr[EAX] = 0xF0;
  set_arith(C | O | A);
  ASSERT_EQ(exec({0x24, 0x0F}), Status::Ok);  // and al, 0x0f
  EXPECT_EQ(s().gpr[EAX], 0u);
  EXPECT_EQ(arith(), Z | P);
  set_arith(C);
  ASSERT_EQ(exec({0xF7, 0xD0}), Status::Ok);  // not eax: no flags
  EXPECT_EQ(s().gpr[EAX], 0xFFFFFFFFu);
  EXPECT_EQ(arith(), C);
}

TEST_F(Alu, ShiftByZeroChangesNothing) {
  s().gpr[EAX] = 0x80;
  s().gpr[ECX] = 0x20;  // masked to 0
  set_arith(O | A | C);
  ASSERT_EQ(exec({0xD2, 0xE0}), Status::Ok);  // shl al, cl
  EXPECT_EQ(s().gpr[EAX], 0x80u);
  EXPECT_EQ(arith(), O | A | C);
}

TEST_F(Alu, ShlByOneSetsCarryAndOverflow) {
  s().gpr[EAX] = 0x80;
  ASSERT_EQ(exec({0xD0, 0xE0}), Status::Ok);  // shl al, 1
  EXPECT_EQ(s().gpr[EAX], 0u);
  EXPECT_EQ(arith() & ~A, C | O | Z | P);
}

TEST_F(Alu, SarKeepsSign) {
  s().gpr[EAX] = 0x80000001;
  ASSERT_EQ(exec({0xC1, 0xF8, 0x1F}), Status::Ok);  // sar eax, 31
  EXPECT_EQ(s().gpr[EAX], 0xFFFFFFFFu);
  EXPECT_FALSE(arith() & C);  // bit 30, the last one shifted out
}

TEST_F(Alu, RotateByWidthOnlySetsCarry) {
  s().gpr[EAX] = 0x81;
  set_arith(Z);
  ASSERT_EQ(exec({0xC0, 0xC0, 0x08}), Status::Ok);  // rol al, 8
  EXPECT_EQ(s().gpr[EAX], 0x81u);
  EXPECT_EQ(arith() & ~O, Z | C);  // SF/ZF/PF untouched, CF = LSB
}

TEST_F(Alu, RclByteCountIsModuloNine) {
  s().gpr[EAX] = 0x5A;
  set_arith(C);
  ASSERT_EQ(exec({0xC0, 0xD0, 0x09}), Status::Ok);  // rcl al, 9: a full turn
  EXPECT_EQ(s().gpr[EAX], 0x5Au);
  EXPECT_TRUE(arith() & C);
  ASSERT_EQ(exec({0xC0, 0xD0, 0x01}), Status::Ok);  // rcl al, 1
  EXPECT_EQ(s().gpr[EAX], 0xB5u);
  EXPECT_EQ(arith() & (C | O), O);  // MSB 1 XOR CF 0
}

TEST_F(Alu, RcrWordThroughCarry) {
  s().gpr[EAX] = 0x0001;
  set_arith(0);
  ASSERT_EQ(exec({0x66, 0xD1, 0xD8}), Status::Ok);  // rcr ax, 1
  EXPECT_EQ(s().gpr[EAX], 0u);
  EXPECT_EQ(arith() & C, C);
  ASSERT_EQ(exec({0x66, 0xD1, 0xD8}), Status::Ok);  // the carry comes back in at the top
  EXPECT_EQ(s().gpr[EAX], 0x8000u);
  EXPECT_EQ(arith() & (C | O), O);
}

TEST_F(Alu, ShldShrd) {
  s().gpr[EAX] = 0x12345678;
  s().gpr[EDX] = 0x9ABCDEF0;
  ASSERT_EQ(exec({0x0F, 0xA4, 0xD0, 0x08}), Status::Ok);  // shld eax, edx, 8
  EXPECT_EQ(s().gpr[EAX], 0x3456789Au);
  EXPECT_EQ(arith() & C, 0u);  // bit 24 of the old EAX
  ASSERT_EQ(exec({0x0F, 0xAC, 0xD0, 0x04}), Status::Ok);  // shrd eax, edx, 4
  EXPECT_EQ(s().gpr[EAX], 0x03456789u);
  EXPECT_EQ(arith() & C, C);  // bit 3 of 0x3456789A
}

TEST_F(Alu, BitTestRegisterOffsetIsModuloWidth) {
  s().gpr[EAX] = 0x00000002;
  s().gpr[ECX] = 33;  // bit 1
  ASSERT_EQ(exec({0x0F, 0xAB, 0xC8}), Status::Ok);  // bts eax, ecx
  EXPECT_EQ(s().gpr[EAX], 2u);
  EXPECT_TRUE(arith() & C);
}

TEST_F(Alu, BitStringNegativeOffsetReachesBelowOperand) {
  uint8_t* ram = m_.ram();
  std::memset(ram + 0x2000, 0, 16);
  s().gpr[ESI] = 0x2008;
  s().gpr[EAX] = static_cast<uint32_t>(-1);  // bit 31 of the dword at 0x2004
  set_arith(Z);
  ASSERT_EQ(exec({0x0F, 0xAB, 0x06}), Status::Ok);  // bts [esi], eax
  EXPECT_EQ(ram[0x2007], 0x80);
  EXPECT_EQ(arith(), Z);  // old bit 0, ZF preserved
  s().gpr[EAX] = 0x0000FFFF;  // -1 as a word offset: word at 0x2006, bit 15
  ASSERT_EQ(exec({0x66, 0x0F, 0xA3, 0x06}), Status::Ok);  // bt [esi], ax
  EXPECT_EQ(arith() & C, C);
  s().gpr[EAX] = 67;  // dword at 0x2010, bit 3
  ASSERT_EQ(exec({0x0F, 0xBB, 0x06}), Status::Ok);  // btc [esi], eax
  EXPECT_EQ(ram[0x2010], 0x08);
  EXPECT_EQ(arith() & C, 0u);
}

TEST_F(Alu, BitTestMemoryImmediateIsModuloWidth) {
  uint8_t* ram = m_.ram();
  std::memset(ram + 0x2000, 0, 16);
  s().gpr[ESI] = 0x2000;
  ASSERT_EQ(exec({0x0F, 0xBA, 0x2E, 0x21}), Status::Ok);  // bts dword [esi], 33
  EXPECT_EQ(ram[0x2000], 0x02);
  EXPECT_EQ(ram[0x2004], 0x00);
}

TEST_F(Alu, BitScanOfZeroLeavesDestination) {
  s().gpr[EAX] = 0x12345678;
  s().gpr[ECX] = 0;
  ASSERT_EQ(exec({0x0F, 0xBC, 0xC1}), Status::Ok);  // bsf eax, ecx
  EXPECT_EQ(s().gpr[EAX], 0x12345678u);
  EXPECT_TRUE(arith() & Z);
  s().gpr[ECX] = 0x00F00000;
  ASSERT_EQ(exec({0x0F, 0xBD, 0xC1}), Status::Ok);  // bsr eax, ecx
  EXPECT_EQ(s().gpr[EAX], 23u);
  EXPECT_FALSE(arith() & Z);
  ASSERT_EQ(exec({0x0F, 0xBC, 0xC1}), Status::Ok);  // bsf eax, ecx
  EXPECT_EQ(s().gpr[EAX], 20u);
}

TEST_F(Alu, MulSetsCarryWhenHighHalfUsed) {
  s().gpr[EAX] = 0x10;
  s().gpr[ECX] = 0x10;
  ASSERT_EQ(exec({0xF6, 0xE1}), Status::Ok);  // mul cl
  EXPECT_EQ(s().gpr[EAX], 0x100u);
  EXPECT_EQ(arith() & (C | O), C | O);
  s().gpr[EAX] = 0xFFFFFFFF;
  s().gpr[ECX] = 0xFFFFFFFF;
  ASSERT_EQ(exec({0xF7, 0xE1}), Status::Ok);  // mul ecx
  EXPECT_EQ(s().gpr[EAX], 1u);
  EXPECT_EQ(s().gpr[EDX], 0xFFFFFFFEu);
}

TEST_F(Alu, ImulForms) {
  s().gpr[EAX] = 0xFF;  // -1
  s().gpr[ECX] = 0x80;  // -128
  ASSERT_EQ(exec({0xF6, 0xE9}), Status::Ok);  // imul cl: AX = 128, does not fit AL
  EXPECT_EQ(s().gpr[EAX] & 0xFFFF, 0x0080u);
  EXPECT_EQ(arith() & (C | O), C | O);
  s().gpr[ECX] = 7;
  ASSERT_EQ(exec({0x6B, 0xC1, 0xFF}), Status::Ok);  // imul eax, ecx, -1
  EXPECT_EQ(s().gpr[EAX], static_cast<uint32_t>(-7));
  EXPECT_EQ(arith() & (C | O), 0u);
  s().gpr[EAX] = 0x10000;
  ASSERT_EQ(exec({0x0F, 0xAF, 0xC0}), Status::Ok);  // imul eax, eax
  EXPECT_EQ(s().gpr[EAX], 0u);
  EXPECT_EQ(arith() & (C | O), C | O);
}

TEST_F(Alu, DivideByZeroRaisesDeWithRegistersUnchanged) {
  s().gpr[EAX] = 0x1234;
  s().gpr[EDX] = 0x5678;
  s().gpr[ECX] = 0;
  set_arith(Z | C);
  const CpuState before = s();
  EXPECT_EQ(exec({0xF7, 0xF1}), Status::Fault);  // div ecx
  EXPECT_EQ(s().exc.vector, vec::DE);
  EXPECT_EQ(0, std::memcmp(s().gpr, before.gpr, sizeof before.gpr));
  EXPECT_EQ(s().eip, OneInsn::kCodeAddr);  // EIP stays at the faulting instruction
  EXPECT_EQ(s().eflags, before.eflags);
}

TEST_F(Alu, DivideOverflowRaisesDe) {
  s().gpr[EDX] = 1;
  s().gpr[EAX] = 0;
  s().gpr[ECX] = 1;  // quotient 2^32
  EXPECT_EQ(exec({0xF7, 0xF1}), Status::Fault);  // div ecx
  EXPECT_EQ(s().exc.vector, vec::DE);
  EXPECT_EQ(s().gpr[EDX], 1u);
  EXPECT_EQ(s().gpr[EAX], 0u);
  s().gpr[EAX] = 0x0100;
  s().gpr[ECX] = 1;  // quotient 256 does not fit AL
  EXPECT_EQ(exec({0xF6, 0xF1}), Status::Fault);  // div cl
  EXPECT_EQ(s().gpr[EAX], 0x0100u);
}

TEST_F(Alu, IdivMostNegativeByMinusOneRaisesDe) {
  s().gpr[EDX] = 0xFFFFFFFF;
  s().gpr[EAX] = 0x80000000;
  s().gpr[ECX] = 0xFFFFFFFF;
  EXPECT_EQ(exec({0xF7, 0xF9}), Status::Fault);  // idiv ecx
  EXPECT_EQ(s().exc.vector, vec::DE);
  EXPECT_EQ(s().gpr[EAX], 0x80000000u);
  s().gpr[EDX] = 0x80000000;
  s().gpr[EAX] = 0;  // -2^63 / -1
  EXPECT_EQ(exec({0xF7, 0xF9}), Status::Fault);
  s().gpr[EAX] = 0x8000;
  s().gpr[ECX] = 0xFF;
  EXPECT_EQ(exec({0xF6, 0xF9}), Status::Fault);  // idiv cl: -32768 / -1
}

TEST_F(Alu, IdivTruncatesTowardZero) {
  s().gpr[EDX] = 0xFFFFFFFF;
  s().gpr[EAX] = static_cast<uint32_t>(-7);
  s().gpr[ECX] = 2;
  ASSERT_EQ(exec({0xF7, 0xF9}), Status::Ok);  // idiv ecx
  EXPECT_EQ(s().gpr[EAX], static_cast<uint32_t>(-3));
  EXPECT_EQ(s().gpr[EDX], static_cast<uint32_t>(-1));
  s().gpr[EAX] = 0x1234FF80;  // AX = -128
  s().gpr[ECX] = 0x7F;
  ASSERT_EQ(exec({0xF6, 0xF9}), Status::Ok);  // idiv cl: -128 / 127
  EXPECT_EQ(s().gpr[EAX], 0x1234FFFFu);  // AL = -1, AH = -1
}

// The SDM's DAA example: ADD AL, BL with AL = 79H, BL = 35H, then DAA.
TEST_F(Alu, DaaSdmExample) {
  s().gpr[EAX] = 0x79;
  s().gpr[EBX] = 0x35;
  ASSERT_EQ(exec({0x00, 0xD8}), Status::Ok);  // add al, bl
  EXPECT_EQ(s().gpr[EAX], 0xAEu);
  EXPECT_EQ(arith(), O | S);
  ASSERT_EQ(exec({0x27}), Status::Ok);  // daa
  EXPECT_EQ(s().gpr[EAX], 0x14u);
  EXPECT_EQ(arith() & (S | Z | A | P | C), A | P | C);
}

// The SDM's DAS example: SUB AL, BL with AL = 35H, BL = 47H, then DAS.
TEST_F(Alu, DasSdmExample) {
  s().gpr[EAX] = 0x35;
  s().gpr[EBX] = 0x47;
  ASSERT_EQ(exec({0x28, 0xD8}), Status::Ok);  // sub al, bl
  EXPECT_EQ(s().gpr[EAX], 0xEEu);
  EXPECT_EQ(arith(), S | A | P | C);
  ASSERT_EQ(exec({0x2F}), Status::Ok);  // das
  EXPECT_EQ(s().gpr[EAX], 0x88u);
  EXPECT_EQ(arith() & (S | Z | A | P | C), S | A | P | C);
}

TEST_F(Alu, AaaAfterUnpackedAdd) {
  s().gpr[EAX] = 0x08;
  s().gpr[EBX] = 0x09;
  ASSERT_EQ(exec({0x00, 0xD8}), Status::Ok);  // add al, bl: 0x11 with AF
  ASSERT_EQ(exec({0x37}), Status::Ok);  // aaa
  EXPECT_EQ(s().gpr[EAX], 0x0107u);
  EXPECT_EQ(arith() & (A | C), A | C);
}

TEST_F(Alu, AasAfterUnpackedSubtract) {
  s().gpr[EAX] = 0x0103;  // 13
  s().gpr[EBX] = 0x05;
  ASSERT_EQ(exec({0x28, 0xD8}), Status::Ok);  // sub al, bl: 0xFE with AF
  ASSERT_EQ(exec({0x3F}), Status::Ok);  // aas
  EXPECT_EQ(s().gpr[EAX], 0x0008u);
  EXPECT_EQ(arith() & (A | C), A | C);
}

TEST_F(Alu, AamAad) {
  s().gpr[EAX] = 0xAB3F;  // AL = 63
  ASSERT_EQ(exec({0xD4, 0x0A}), Status::Ok);  // aam
  EXPECT_EQ(s().gpr[EAX], 0x0603u);
  ASSERT_EQ(exec({0xD5, 0x0A}), Status::Ok);  // aad
  EXPECT_EQ(s().gpr[EAX], 63u);
  EXPECT_EQ(arith() & (S | Z | P), P);  // 0x3F: six bits set
  s().gpr[EAX] = 0x0102;
  ASSERT_EQ(exec({0xD5, 0x10}), Status::Ok);  // aad 16
  EXPECT_EQ(s().gpr[EAX], 0x12u);
}

TEST_F(Alu, AamZeroRaisesDe) {
  s().gpr[EAX] = 0x1234;
  set_arith(C);
  EXPECT_EQ(exec({0xD4, 0x00}), Status::Fault);  // aam 0
  EXPECT_EQ(s().exc.vector, vec::DE);
  EXPECT_EQ(s().gpr[EAX], 0x1234u);
  EXPECT_EQ(arith(), C);
}

TEST_F(Alu, ReadOnlyDestinationFaultsBeforeWriting) {
  s().seg[DS].attr &= ~attr::WRITABLE;
  s().gpr[ESI] = 0x2000;
  s().gpr[EAX] = 5;
  set_arith(0);
  EXPECT_EQ(exec({0x01, 0x06}), Status::Fault);  // add [esi], eax
  EXPECT_EQ(s().exc.vector, vec::GP);
  EXPECT_EQ(arith(), 0u);
  EXPECT_EQ(exec({0x03, 0x06}), Status::Ok);  // add eax, [esi] only reads
}

}  // namespace
}  // namespace popek::cpu
