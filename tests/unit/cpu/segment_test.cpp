// Segment register loads and segment-limit/type checks of data accesses (SDM vol. 3 §5.3-
// 5.7; vol. 2 MOV, POP, LDS/LES/LFS/LGS/LSS): every fault with its error code, and that a
// faulting instruction changes neither registers nor memory nor EIP.
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

// Test descriptors (GDT index -> selector).
constexpr uint16_t kDataRw = 0x40;       // data RW DPL0, base 0x20000, limit 0xFFF
constexpr uint16_t kDataRo = 0x48;       // data RO DPL0
constexpr uint16_t kCodeX = 0x50;        // execute-only code DPL0
constexpr uint16_t kCodeXr = 0x58;       // readable code DPL0, base 0x20000, limit 0xFFF
constexpr uint16_t kDataNp = 0x60;       // data RW DPL0, not present
constexpr uint16_t kData3 = 0x68;        // data RW DPL3
constexpr uint16_t kConf0 = 0x70;        // conforming readable code DPL0
constexpr uint16_t kSystem = 0x78;       // an LDT descriptor (system segment)
constexpr uint16_t kDown16 = 0x80;       // expand-down RW, limit 0xFFF, B = 0
constexpr uint16_t kDown32 = 0x88;       // expand-down RW, limit 0xFFF, B = 1
constexpr uint16_t kNotAccessed = 0x90;  // data RW DPL0 with the accessed bit clear
constexpr uint16_t kNp3 = 0x98;          // data RW DPL0, not present (privilege vs presence)
constexpr uint16_t kPage = 0xA0;         // data RW DPL0, limit 0 with G = 1 (4 KiB)
constexpr uint16_t kBeyond = 0x103;      // index past the GDT limit, RPL 3
constexpr uint32_t kBase = 0x20000;

class Seg : public ::testing::Test {
 protected:
  void SetUp() override { setup(0); }
  void setup(unsigned cpl) {
    m_.prot_mode(cpl);
    m_.set_gdt(8, seg_desc(kBase, 0xFFF, acc::DATA_RW | dpl(0) | 1, dflag::DB));
    m_.set_gdt(9, seg_desc(kBase, 0xFFF, acc::DATA_RO | dpl(0) | 1, dflag::DB));
    m_.set_gdt(10, seg_desc(kBase, 0xFFF, acc::CODE_X | dpl(0) | 1, dflag::DB));
    m_.set_gdt(11, seg_desc(kBase, 0xFFF, acc::CODE_XR | dpl(0) | 1, dflag::DB));
    m_.set_gdt(12, seg_desc(kBase, 0xFFF, (acc::DATA_RW & ~acc::P) | dpl(0) | 1, dflag::DB));
    m_.set_gdt(13, seg_desc(kBase, 0xFFF, acc::DATA_RW | dpl(3) | 1, dflag::DB));
    m_.set_gdt(14, seg_desc(kBase, 0xFFF, acc::CODE_XRC | dpl(0) | 1, dflag::DB));
    m_.set_gdt(15, seg_desc(SysMachine::kLdt, 0xFF, acc::P | sys::LDT, 0));
    m_.set_gdt(16, seg_desc(kBase, 0xFFF, acc::DATA_RW_DOWN | dpl(0) | 1, 0));
    m_.set_gdt(17, seg_desc(0, 0xFFF, acc::DATA_RW_DOWN | dpl(0) | 1, dflag::DB));
    m_.set_gdt(18, seg_desc(kBase, 0xFFF, acc::DATA_RW | dpl(0), dflag::DB));
    m_.set_gdt(19, seg_desc(kBase, 0xFFF, (acc::DATA_RW & ~acc::P) | dpl(0) | 1, dflag::DB));
    m_.set_gdt(20, seg_desc(kBase, 0, acc::DATA_RW | dpl(0) | 1, dflag::DB | dflag::G));
  }
  CpuState& s() { return m_.s(); }
  // MOV <seg>, AX with AX = sel.
  Status mov_seg(uint8_t modrm, uint16_t sel) {
    s().gpr[EAX] = 0xABCD0000u | sel;
    return m_.exec({0x8E, modrm});
  }
  Status mov_ds(uint16_t sel) { return mov_seg(0xD8, sel); }
  Status mov_ss(uint16_t sel) { return mov_seg(0xD0, sel); }
  SysMachine m_;
};

// --- MOV Sreg

TEST_F(Seg, MovDsLoadsCacheAndSetsAccessedBit) {
  ASSERT_TRUE(Retired(m_, mov_ds(kNotAccessed)));
  EXPECT_EQ(s().seg[DS].selector, kNotAccessed);
  EXPECT_EQ(s().seg[DS].base, kBase);
  EXPECT_EQ(s().seg[DS].limit, 0xFFFu);
  EXPECT_TRUE(s().seg[DS].valid);
  EXPECT_EQ(m_.gdt_hi(kNotAccessed) & (1u << 8), 1u << 8) << "accessed bit in the GDT entry";
  EXPECT_EQ(s().eip, SysMachine::kCode + 2);
}

TEST_F(Seg, GranularityScalesLimit) {
  ASSERT_TRUE(Retired(m_, mov_ds(kPage)));
  EXPECT_EQ(s().seg[DS].limit, 0xFFFu) << "limit 0 with G=1 covers one 4 KiB page";
}

TEST_F(Seg, NullSelectorLoadsIntoDsButUseFaults) {
  ASSERT_TRUE(Retired(m_, mov_ds(0x0003)));  // null with RPL 3 is still null
  EXPECT_EQ(s().seg[DS].selector, 3);
  EXPECT_FALSE(s().seg[DS].valid);
  s().gpr[EBX] = 0x100;
  s().gpr[EAX] = 0x11111111;
  EXPECT_TRUE(Faulted(m_, m_.exec({0x8B, 0x03}), vec::GP, 0));  // mov eax, [ebx]
  EXPECT_EQ(s().gpr[EAX], 0x11111111u);
}

// Real mode checks limits only: a cache that says "execute-only code" (left there by
// protected mode) is written and read through without a fault; the limit still holds.
TEST_F(Seg, RealModeIgnoresTheCachedTypeButNotTheLimit) {
  m_.real_mode();
  s().seg[CS].attr = attr::P | attr::S | attr::CODE;  // execute-only code, from protected mode
  s().seg[CS].limit = 0xFFFF;
  s().gpr[EBX] = 0x100;
  s().gpr[EAX] = 0x12345678;
  ASSERT_TRUE(Retired(m_, m_.exec({0x2E, 0x66, 0x89, 0x07})));  // mov [cs:bx], eax
  s().gpr[EAX] = 0;
  ASSERT_TRUE(Retired(m_, m_.exec({0x2E, 0x66, 0x8B, 0x07})));  // mov eax, [cs:bx]
  EXPECT_EQ(s().gpr[EAX], 0x12345678u);
  s().gpr[EBX] = 0xFFFE;
  EXPECT_TRUE(Faulted(m_, m_.exec({0x2E, 0x66, 0x89, 0x07}), vec::GP, 0));  // past the limit
  // The same cache in protected mode: a write to code is #GP(0).
  m_.prot_mode();
  s().seg[DS].attr = attr::P | attr::S | attr::CODE | attr::READABLE;
  s().gpr[EBX] = 0x100;
  EXPECT_TRUE(Faulted(m_, m_.exec({0x89, 0x03}), vec::GP, 0));  // mov [ebx], eax
}

TEST_F(Seg, NullSelectorIntoSsIsGp0) {
  EXPECT_TRUE(Faulted(m_, mov_ss(0), vec::GP, 0));
  EXPECT_EQ(s().seg[SS].selector, SysMachine::kData0);
  EXPECT_TRUE(s().seg[SS].valid);
}

TEST_F(Seg, SelectorBeyondGdtLimitIsGpSelector) {
  EXPECT_TRUE(Faulted(m_, mov_ds(kBeyond), vec::GP, kBeyond & 0xFFFC));
  EXPECT_EQ(s().seg[DS].selector, SysMachine::kData0) << "DS unchanged";
}

TEST_F(Seg, LdtSelectorWithNullLdtrIsGpSelector) {
  EXPECT_TRUE(Faulted(m_, mov_ds(0x000C), vec::GP, 0x000C));
}

TEST_F(Seg, LdtSelectorLoadsFromTheLdt) {
  m_.set_ldt(1, seg_desc(0x30000, 0x1FF, acc::DATA_RW | dpl(0) | 1, dflag::DB));
  m_.use_ldt();
  ASSERT_TRUE(Retired(m_, mov_ds(0x000C)));
  EXPECT_EQ(s().seg[DS].base, 0x30000u);
  EXPECT_EQ(s().seg[DS].limit, 0x1FFu);
  // Past the LDT limit (0xFF): index 32.
  EXPECT_TRUE(Faulted(m_, mov_ds(0x0104), vec::GP, 0x0104));
}

TEST_F(Seg, SystemDescriptorIsGpSelector) {
  EXPECT_TRUE(Faulted(m_, mov_ds(kSystem), vec::GP, kSystem));
}

TEST_F(Seg, ExecuteOnlyCodeIsGpButReadableCodeLoads) {
  EXPECT_TRUE(Faulted(m_, mov_ds(kCodeX), vec::GP, kCodeX));
  ASSERT_TRUE(Retired(m_, mov_ds(kCodeXr)));
  EXPECT_EQ(s().seg[DS].selector, kCodeXr);
}

TEST_F(Seg, RplAboveDplIsGpSelector) {
  EXPECT_TRUE(Faulted(m_, mov_ds(kDataRw | 3), vec::GP, kDataRw));
}

TEST_F(Seg, CplAboveDplIsGpSelector) {
  setup(3);
  EXPECT_TRUE(Faulted(m_, mov_ds(kDataRw | 3), vec::GP, kDataRw));
  ASSERT_TRUE(Retired(m_, mov_ds(kData3 | 3)));
}

TEST_F(Seg, ConformingReadableCodeSkipsPrivilegeCheck) {
  setup(3);
  ASSERT_TRUE(Retired(m_, mov_seg(0xC0, kConf0 | 3)));  // mov es, ax
  EXPECT_EQ(s().seg[ES].selector, kConf0 | 3);
}

TEST_F(Seg, NotPresentIsNpSelector) {
  EXPECT_TRUE(Faulted(m_, mov_ds(kDataNp), vec::NP, kDataNp));
  EXPECT_EQ(s().seg[DS].selector, SysMachine::kData0);
}

TEST_F(Seg, PrivilegeIsCheckedBeforePresence) {
  setup(3);
  EXPECT_TRUE(Faulted(m_, mov_ds(kNp3 | 3), vec::GP, kNp3));
}

TEST_F(Seg, MovSsChecks) {
  // RPL != CPL
  EXPECT_TRUE(Faulted(m_, mov_ss(kDataRw | 1), vec::GP, kDataRw));
  // read-only data, code, DPL != CPL
  EXPECT_TRUE(Faulted(m_, mov_ss(kDataRo), vec::GP, kDataRo));
  EXPECT_TRUE(Faulted(m_, mov_ss(kCodeXr), vec::GP, kCodeXr));
  EXPECT_TRUE(Faulted(m_, mov_ss(kData3), vec::GP, kData3));
  EXPECT_TRUE(Faulted(m_, mov_ss(kBeyond & 0xFFFC), vec::GP, kBeyond & 0xFFFC));
  // not present: #SS(selector), not #NP
  EXPECT_TRUE(Faulted(m_, mov_ss(kDataNp), vec::SS, kDataNp));
  EXPECT_EQ(s().seg[SS].selector, SysMachine::kData0);
  ASSERT_TRUE(Retired(m_, mov_ss(kDataRw)));
  EXPECT_EQ(s().seg[SS].base, kBase);
  EXPECT_TRUE(s().irq_shadow) << "MOV SS blocks interrupts for one instruction";
}

// --- POP Sreg, LSS, LDS

TEST_F(Seg, PopDsFaultLeavesEspAndDs) {
  m_.put32(SysMachine::kStack3, kDataNp);
  EXPECT_TRUE(Faulted(m_, m_.exec({0x1F}), vec::NP, kDataNp));  // pop ds
  EXPECT_EQ(s().gpr[ESP], SysMachine::kStack3);
  EXPECT_EQ(s().seg[DS].selector, SysMachine::kData0);
}

TEST_F(Seg, PopSsLoadsAndMovesEsp) {
  m_.put32(SysMachine::kStack3, SysMachine::kData0);
  ASSERT_TRUE(Retired(m_, m_.exec({0x17})));  // pop ss
  EXPECT_EQ(s().gpr[ESP], SysMachine::kStack3 + 4);
  EXPECT_EQ(s().seg[SS].selector, SysMachine::kData0);
}

TEST_F(Seg, PopSsWithBadSelectorIsGp) {
  m_.put32(SysMachine::kStack3, kDataRo);
  EXPECT_TRUE(Faulted(m_, m_.exec({0x17}), vec::GP, kDataRo));
  EXPECT_EQ(s().gpr[ESP], SysMachine::kStack3);
}

TEST_F(Seg, LssLoadsSsAndEsp) {
  s().gpr[EBX] = 0x3000;
  m_.put32(0x3000, 0x00000800);
  m_.put16(0x3004, kDataRw);
  ASSERT_TRUE(Retired(m_, m_.exec({0x0F, 0xB2, 0x23})));  // lss esp, [ebx]
  EXPECT_EQ(s().gpr[ESP], 0x800u);
  EXPECT_EQ(s().seg[SS].selector, kDataRw);
  EXPECT_EQ(s().seg[SS].base, kBase);
}

TEST_F(Seg, LssFaultLeavesEspAndSs) {
  s().gpr[EBX] = 0x3000;
  m_.put32(0x3000, 0x00000800);
  m_.put16(0x3004, kDataNp);
  EXPECT_TRUE(Faulted(m_, m_.exec({0x0F, 0xB2, 0x23}), vec::SS, kDataNp));
  EXPECT_EQ(s().gpr[ESP], SysMachine::kStack3);
  EXPECT_EQ(s().seg[SS].selector, SysMachine::kData0);
}

TEST_F(Seg, LdsWithNullSelectorLoadsRegisterAndNullDs) {
  s().gpr[EBX] = 0x3000;
  m_.put32(0x3000, 0xCAFEBABE);
  m_.put16(0x3004, 0);
  ASSERT_TRUE(Retired(m_, m_.exec({0xC5, 0x03})));  // lds eax, [ebx]
  EXPECT_EQ(s().gpr[EAX], 0xCAFEBABEu);
  EXPECT_FALSE(s().seg[DS].valid);
}

TEST_F(Seg, LdsFaultLeavesRegister) {
  s().gpr[EBX] = 0x3000;
  s().gpr[EAX] = 0x12345678;
  m_.put32(0x3000, 0xCAFEBABE);
  m_.put16(0x3004, kCodeX);
  EXPECT_TRUE(Faulted(m_, m_.exec({0xC5, 0x03}), vec::GP, kCodeX));
  EXPECT_EQ(s().gpr[EAX], 0x12345678u);
  EXPECT_EQ(s().seg[DS].selector, SysMachine::kData0);
}

// --- limit checks of data accesses

class SegLimit : public Seg {
 protected:
  // Read `bytes` (a load from [ebx]) with DS = sel at offset off.
  Status load(uint16_t sel, uint32_t off, std::initializer_list<uint8_t> bytes) {
    m_.load_cache(DS, sel);
    s().gpr[EBX] = off;
    return m_.exec(bytes);
  }
};

TEST_F(SegLimit, ExpandUpStraddlingTheLimit) {
  m_.put32(kBase + 0xFFC, 0xA1B2C3D4);
  ASSERT_TRUE(Retired(m_, load(kDataRw, 0xFFC, {0x8B, 0x03})));  // dword ending at the limit
  EXPECT_EQ(s().gpr[EAX], 0xA1B2C3D4u);
  ASSERT_TRUE(Retired(m_, load(kDataRw, 0xFFF, {0x8A, 0x03})));  // byte at the limit
  EXPECT_TRUE(Faulted(m_, load(kDataRw, 0xFFD, {0x8B, 0x03}), vec::GP, 0));        // dword
  EXPECT_TRUE(Faulted(m_, load(kDataRw, 0xFFF, {0x66, 0x8B, 0x03}), vec::GP, 0));  // word
  EXPECT_TRUE(Faulted(m_, load(kDataRw, 0x1000, {0x8A, 0x03}), vec::GP, 0));       // byte
  EXPECT_TRUE(Faulted(m_, load(kDataRw, 0xFFFFFFFF, {0x8A, 0x03}), vec::GP, 0));
}

TEST_F(SegLimit, ExpandDownSixteenBit) {
  // Valid offsets are limit+1 .. 0xFFFF.
  EXPECT_TRUE(Faulted(m_, load(kDown16, 0xFFF, {0x8A, 0x03}), vec::GP, 0));
  EXPECT_TRUE(Faulted(m_, load(kDown16, 0xFFE, {0x66, 0x8B, 0x03}), vec::GP, 0));
  ASSERT_TRUE(Retired(m_, load(kDown16, 0x1000, {0x8B, 0x03})));
  ASSERT_TRUE(Retired(m_, load(kDown16, 0xFFFE, {0x66, 0x8B, 0x03})));
  EXPECT_TRUE(Faulted(m_, load(kDown16, 0xFFFD, {0x8B, 0x03}), vec::GP, 0));
  EXPECT_TRUE(Faulted(m_, load(kDown16, 0x10000, {0x8A, 0x03}), vec::GP, 0));
}

TEST_F(SegLimit, ExpandDownBigBit) {
  // B = 1: valid offsets are limit+1 .. 0xFFFFFFFF.
  ASSERT_TRUE(Retired(m_, load(kDown32, 0x10000, {0x8B, 0x03})));
  ASSERT_TRUE(Retired(m_, load(kDown32, 0x1000, {0x8A, 0x03})));
  EXPECT_TRUE(Faulted(m_, load(kDown32, 0xFFF, {0x8A, 0x03}), vec::GP, 0));
  EXPECT_TRUE(Faulted(m_, load(kDown32, 0xFFE, {0x66, 0x8B, 0x03}), vec::GP, 0));
  EXPECT_TRUE(Faulted(m_, load(kDown32, 0xFFFFFFFE, {0x8B, 0x03}), vec::GP, 0));
}

TEST_F(SegLimit, StackLimitIsSsFault) {
  m_.load_cache(SS, kDataRw);
  s().gpr[ESP] = 0x1002;  // a dword push at 0xFFE straddles the limit 0xFFF
  s().gpr[EAX] = 0x55555555;
  EXPECT_TRUE(Faulted(m_, m_.exec({0x50}), vec::SS, 0));  // push eax
  EXPECT_EQ(s().gpr[ESP], 0x1002u);
  s().gpr[ESP] = 0x1000;
  ASSERT_TRUE(Retired(m_, m_.exec({0x50})));
  EXPECT_EQ(m_.rd32(kBase + 0xFFC), 0x55555555u);
  // An explicit SS: operand past the limit is #SS(0) as well.
  s().gpr[EBX] = 0x1000;
  EXPECT_TRUE(Faulted(m_, m_.exec({0x36, 0x8B, 0x03}), vec::SS, 0));  // mov eax, ss:[ebx]
}

TEST_F(SegLimit, WriteToReadOnlyDataIsGp) {
  m_.load_cache(DS, kDataRo);
  s().gpr[EBX] = 0x10;
  s().gpr[EAX] = 0xDEADBEEF;
  m_.put32(kBase + 0x10, 0x01020304);
  EXPECT_TRUE(Faulted(m_, m_.exec({0x89, 0x03}), vec::GP, 0));  // mov [ebx], eax
  EXPECT_EQ(m_.rd32(kBase + 0x10), 0x01020304u);
  // A read-modify-write faults before touching flags or memory.
  s().eflags = flag::FIXED1 | flag::ZF;
  EXPECT_TRUE(Faulted(m_, m_.exec({0x01, 0x03}), vec::GP, 0));  // add [ebx], eax
  EXPECT_EQ(m_.rd32(kBase + 0x10), 0x01020304u);
  EXPECT_EQ(s().eflags, flag::FIXED1 | flag::ZF);
  ASSERT_TRUE(Retired(m_, m_.exec({0x8B, 0x03})));  // reading is fine
  EXPECT_EQ(s().gpr[EAX], 0x01020304u);
}

TEST_F(SegLimit, CodeSegmentsAreNeverWritableAndExecOnlyIsNotReadable) {
  s().gpr[EBX] = 0x10;
  m_.load_cache(CS, kCodeX);  // CS base 0x20000: the code goes there
  s().eip = 0x100;
  EXPECT_TRUE(Faulted(m_, m_.exec({0x2E, 0x8B, 0x03}), vec::GP, 0));  // mov eax, cs:[ebx]
  m_.load_cache(CS, kCodeXr);
  ASSERT_TRUE(Retired(m_, m_.exec({0x2E, 0x8B, 0x03})));
  EXPECT_TRUE(Faulted(m_, m_.exec({0x2E, 0x89, 0x03}), vec::GP, 0));  // mov cs:[ebx], eax
  m_.load_cache(DS, kCodeXr);
  EXPECT_TRUE(Faulted(m_, m_.exec({0x89, 0x03}), vec::GP, 0));        // mov [ebx], eax
}

}  // namespace
}  // namespace popek::cpu
