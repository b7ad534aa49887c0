// The x87 FPU against known answers from the SDM: reset and FNINIT state, FXAM classes,
// condition codes, stack faults, #NM / #MF / FERR#, the environment and state images,
// BCD, FPREM's partial remainder, precise faults on stores.
#include <gtest/gtest.h>

#include <cstring>
#include <set>
#include <string>
#include <vector>

#include "cpu/decoder.h"
#include "cpu/insn_table.h"
#include "cpu/ops/x87.h"
#include "tests/unit/cpu/one_insn.h"
#include "tests/unit/cpu/x87_samples.h"

namespace popek::cpu {
namespace {

constexpr uint32_t kData = 0x20000;  // scratch memory (flat, no paging)

// FLDPI under round-to-nearest.
long double st_pi() { return 3.14159265358979323851280895940618620443274267017841339111328125L; }

class X87 : public ::testing::Test {
 protected:
  X87() { exec({0xDB, 0xE3}); }  // FNINIT

  Status exec(std::initializer_list<uint8_t> bytes) { return t_.exec(bytes); }
  void ok(std::initializer_list<uint8_t> bytes) {
    const Status st = t_.exec(bytes);
    ASSERT_EQ(st, Status::Ok) << "vector " << int(cpu().s.exc.vector) << " at "
                              << std::hex << int(*bytes.begin()) << " "
                              << int(*(bytes.begin() + 1)) << " sw " << sw();
  }
  Cpu& cpu() { return t_.cpu(); }
  Fpu& fpu() { return t_.cpu().s.fpu; }
  uint8_t* mem() { return t_.ram() + kData; }
  uint16_t sw() { return fpu().sw; }
  uint16_t cc() { return sw() & (fsw::C0 | fsw::C1 | fsw::C2 | fsw::C3); }
  long double st(unsigned i) {
    long double v = 0;
    std::memcpy(&v, fpu().r[x87::phys(fpu(), i)], 10);
    return v;
  }
  void put_ld(uint32_t off, long double v) { std::memcpy(mem() + off, &v, 10); }
  void put_d(uint32_t off, double v) { std::memcpy(mem() + off, &v, 8); }
  // EAX = kData + off, for the [eax] forms below.
  void at(uint32_t off) { cpu().s.gpr[EAX] = kData + off; }
  uint16_t ax() { return cpu().s.gpr[EAX] & 0xFFFF; }

  test::OneInsn t_;
};

// --- state after reset and FNINIT

TEST(X87Reset, PowerOnStateIsTable9_1) {
  test::OneInsn t;
  const Fpu& f = t.cpu().s.fpu;
  EXPECT_EQ(f.cw, 0x0040);
  EXPECT_EQ(f.sw, 0);
  EXPECT_EQ(f.tw, 0x5555);
  for (const auto& r : f.r) {
    for (uint8_t b : r) EXPECT_EQ(b, 0);
  }
}

TEST_F(X87, FninitState) {
  fpu().fip = 5;
  fpu().fdp = 7;
  ok({0xDB, 0xE3});
  EXPECT_EQ(fpu().cw, 0x037F);
  EXPECT_EQ(fpu().sw, 0);
  EXPECT_EQ(fpu().tw, 0xFFFF);
  EXPECT_EQ(fpu().fip, 0u);
  EXPECT_EQ(fpu().fdp, 0u);
  EXPECT_EQ(fpu().fop, 0);
}

TEST_F(X87, FinitIsWaitThenFninit) {
  ok({0x9B});
  ok({0x9B, 0xDB, 0xE3});  // decodes as WAIT alone
  ok({0xDB, 0xE3});
  EXPECT_EQ(fpu().cw, 0x037F);
}

TEST_F(X87, ControlWordReservedBits) {
  at(0);
  mem()[0] = 0xFF;
  mem()[1] = 0xFF;
  ok({0xD9, 0x28});  // FLDCW [eax]
  ok({0xD9, 0x38});  // FNSTCW [eax]
  EXPECT_EQ(mem()[0] | mem()[1] << 8, 0x1F7F);
  mem()[0] = 0;
  mem()[1] = 0;
  ok({0xD9, 0x28});
  EXPECT_EQ(fpu().cw, 0x0040);
}

// --- arithmetic and the FDIV check Linux runs at boot

TEST_F(X87, LoadAddStore) {
  ok({0xD9, 0xE8});  // FLD1
  ok({0xD9, 0xE8});
  ok({0xDE, 0xC1});  // FADDP
  EXPECT_EQ(st(0), 2.0L);
  EXPECT_EQ((sw() & fsw::TOP_MASK) >> fsw::TOP_SHIFT, 7u);
  EXPECT_EQ(fpu().tw, 0x3FFF);
  at(0);
  ok({0xDD, 0x18});  // FSTP qword [eax]
  double d;
  std::memcpy(&d, mem(), 8);
  EXPECT_EQ(d, 2.0);
  EXPECT_EQ(fpu().tw, 0xFFFF);
}

TEST_F(X87, PentiumFdivCheck) {
  put_d(0, 4195835.0);
  put_d(8, 3145727.0);
  at(0);
  ok({0xDD, 0x00});        // FLD qword [eax]      x
  ok({0xDC, 0x70, 0x08});  // FDIV qword [eax+8]   x/y
  ok({0xDC, 0x48, 0x08});  // FMUL qword [eax+8]   (x/y)*y
  ok({0xDC, 0x28});        // FSUBR qword [eax]    x - (x/y)*y
  at(16);
  ok({0xDB, 0x18});        // FISTP dword [eax]
  uint32_t r;
  std::memcpy(&r, mem() + 16, 4);
  EXPECT_EQ(r, 0u);
}

TEST_F(X87, PrecisionControlRoundsTheSignificand) {
  // 1/3 at single precision (PC = 00).
  at(0);
  mem()[0] = 0x7F;
  mem()[1] = 0x00;
  ok({0xD9, 0x28});  // FLDCW: PC = single, all masked
  ok({0xD9, 0xE8});  // FLD1
  put_d(8, 3.0);
  ok({0xDC, 0x70, 0x08});  // FDIV qword [eax+8]
  EXPECT_EQ(st(0), static_cast<long double>(1.0f / 3.0f));
  EXPECT_TRUE(sw() & fsw::PE);
}

// --- classification and comparison

TEST_F(X87, FxamClasses) {
  const uint16_t C0 = fsw::C0, C1 = fsw::C1, C2 = fsw::C2, C3 = fsw::C3;
  ok({0xD9, 0xE5});  // FXAM on an empty ST(0)
  EXPECT_EQ(cc() & ~C1, C3 | C0);
  struct Case {
    uint64_t sig;
    uint16_t se;
    uint16_t want;
  } cases[] = {
      {0x8000000000000000ull, 0x3FFF, C2},             // +1.0 normal
      {0x8000000000000000ull, 0xBFFF, C2 | C1},        // -1.0
      {0, 0x0000, C3},                                 // +0
      {0, 0x8000, C3 | C1},                            // -0
      {0x8000000000000000ull, 0x7FFF, C2 | C0},        // +inf
      {0xC000000000000000ull, 0x7FFF, C0},             // QNaN
      {0x8000000000000001ull, 0x7FFF, C0},             // SNaN
      {0x0000000000000001ull, 0x0000, C3 | C2},        // denormal
      {0x8000000000000000ull, 0x0000, C3 | C2},        // pseudo-denormal
      {0x4000000000000000ull, 0x3FFF, 0},              // unnormal: unsupported
      {0x0000000000000000ull, 0x7FFF, 0},              // pseudo-infinity: unsupported
  };
  for (const Case& k : cases) {
    std::memcpy(mem(), &k.sig, 8);
    std::memcpy(mem() + 8, &k.se, 2);
    at(0);
    ok({0xDB, 0x28});  // FLD tword [eax]
    ok({0xD9, 0xE5});  // FXAM
    EXPECT_EQ(cc(), k.want) << std::hex << k.sig << " " << k.se;
    ok({0xDD, 0xD8});  // FSTP ST(0)
  }
}

TEST_F(X87, FcomConditionCodes) {
  const uint16_t C0 = fsw::C0, C2 = fsw::C2, C3 = fsw::C3;
  ok({0xD9, 0xE8});  // FLD1       ST1 = 1
  ok({0xD9, 0xEE});  // FLDZ       ST0 = 0
  ok({0xD8, 0xD1});  // FCOM ST1   0 < 1
  EXPECT_EQ(cc(), C0);
  ok({0xD9, 0xC9});  // FXCH       ST0 = 1, ST1 = 0
  ok({0xD8, 0xD1});  // 1 > 0
  EXPECT_EQ(cc(), 0);
  ok({0xD8, 0xD0});  // FCOM ST0   equal
  EXPECT_EQ(cc(), C3);
  ok({0xD9, 0xE4});  // FTST       1 > 0
  EXPECT_EQ(cc(), 0);
  // Unordered: FUCOM with a QNaN sets C3 C2 C0 without IE; FCOM raises IE.
  const uint64_t qnan = 0xC000000000000000ull;
  const uint16_t se = 0x7FFF;
  std::memcpy(mem(), &qnan, 8);
  std::memcpy(mem() + 8, &se, 2);
  at(0);
  ok({0xDB, 0x28});  // FLD tword: QNaN
  ok({0xDD, 0xE1});  // FUCOM ST1
  EXPECT_EQ(cc(), C3 | C2 | C0);
  EXPECT_FALSE(sw() & fsw::IE);
  ok({0xD8, 0xD1});  // FCOM ST1
  EXPECT_EQ(cc(), C3 | C2 | C0);
  EXPECT_TRUE(sw() & fsw::IE);
}

TEST_F(X87, FcomiSetsEflagsAndClearsOfSfAf) {
  cpu().s.eflags |= flag::OF | flag::SF | flag::AF;
  ok({0xD9, 0xE8});  // FLD1
  ok({0xD9, 0xEE});  // FLDZ
  ok({0xDB, 0xF1});  // FCOMI ST0, ST1: 0 < 1
  EXPECT_EQ(cpu().s.eflags & flag::ARITH, flag::CF);
  ok({0xDF, 0xF1});  // FCOMIP: pops
  EXPECT_EQ(x87::top(fpu()), 7u);
}

TEST_F(X87, FcmovReadsEflags) {
  ok({0xD9, 0xE8});  // FLD1
  ok({0xD9, 0xEE});  // FLDZ
  cpu().s.eflags &= ~flag::CF;
  ok({0xDA, 0xC1});  // FCMOVB ST0, ST1: not taken
  EXPECT_EQ(st(0), 0.0L);
  cpu().s.eflags |= flag::CF;
  ok({0xDA, 0xC1});  // taken
  EXPECT_EQ(st(0), 1.0L);
}

// --- stack faults (masked responses)

TEST_F(X87, StackOverflowSetsC1AndPushesIndefinite) {
  for (int i = 0; i < 8; ++i) ok({0xD9, 0xE8});
  EXPECT_EQ(sw() & (fsw::IE | fsw::SF), 0);
  ok({0xD9, 0xE8});  // the ninth push
  EXPECT_EQ(sw() & (fsw::IE | fsw::SF | fsw::C1), fsw::IE | fsw::SF | fsw::C1);
  uint8_t indefinite[10] = {0, 0, 0, 0, 0, 0, 0, 0xC0, 0xFF, 0xFF};
  EXPECT_EQ(std::memcmp(fpu().r[x87::phys(fpu(), 0)], indefinite, 10), 0);
}

TEST_F(X87, StackUnderflowClearsC1) {
  ok({0xD9, 0xE8});  // FLD1
  ok({0xD8, 0xC1});  // FADD ST0, ST1 (empty)
  EXPECT_EQ(sw() & (fsw::IE | fsw::SF | fsw::C1), fsw::IE | fsw::SF);
}

TEST_F(X87, UnmaskedStackFaultLeavesTheStack) {
  at(0);
  mem()[0] = 0x7E;  // IE unmasked
  mem()[1] = 0x03;
  ok({0xD9, 0x28});
  ok({0xD9, 0xE8});  // FLD1
  ok({0xD8, 0xC1});  // FADD ST0, ST1: underflow, unmasked
  EXPECT_EQ(st(0), 1.0L);
  EXPECT_EQ(sw() & (fsw::ES | fsw::B | fsw::IE | fsw::SF), fsw::ES | fsw::B | fsw::IE | fsw::SF);
}

// --- #NM, #MF, FERR#

TEST_F(X87, EmAndTsRaiseNm) {
  cpu().s.cr[0] |= cr0::EM;
  EXPECT_EQ(exec({0xD9, 0xE8}), Status::Fault);
  EXPECT_EQ(cpu().s.exc.vector, vec::NM);
  EXPECT_EQ(exec({0xDB, 0xE3}), Status::Fault);  // FNINIT too
  EXPECT_EQ(exec({0x9B}), Status::Ok);           // WAIT ignores EM
  cpu().s.cr[0] &= ~cr0::EM;
  cpu().s.cr[0] |= cr0::TS;
  EXPECT_EQ(exec({0xD9, 0xE8}), Status::Fault);
  EXPECT_EQ(cpu().s.exc.vector, vec::NM);
  EXPECT_EQ(exec({0x9B}), Status::Ok);  // WAIT: MP = 0
  cpu().s.cr[0] |= cr0::MP;
  EXPECT_EQ(exec({0x9B}), Status::Fault);
  EXPECT_EQ(cpu().s.exc.vector, vec::NM);
  EXPECT_EQ(x87::top(fpu()), 0u);  // nothing executed
}

class X87Error : public X87 {
 protected:
  // 1/0 with ZE unmasked: the FDIV completes with ES set.
  void divide_by_zero() {
    at(0);
    mem()[0] = 0x7B;  // ZE unmasked
    mem()[1] = 0x03;
    ok({0xD9, 0x28});
    ok({0xD9, 0xEE});  // FLDZ
    ok({0xD9, 0xE8});  // FLD1
    cpu().s.eip = 0x1000;
    ok({0xD8, 0xF1});  // FDIV ST0, ST1
    EXPECT_EQ(sw() & (fsw::ZE | fsw::ES | fsw::B), fsw::ZE | fsw::ES | fsw::B);
    EXPECT_EQ(st(0), 1.0L);  // unmasked: operands unchanged
    EXPECT_EQ(fpu().fop, 0x0F1);
  }
};

TEST_F(X87Error, PendingExceptionRaisesMfAtTheNextWaitingInsn) {
  cpu().s.cr[0] |= cr0::NE;
  divide_by_zero();
  EXPECT_EQ(exec({0x9B}), Status::Fault);
  EXPECT_EQ(cpu().s.exc.vector, vec::MF);
  EXPECT_EQ(exec({0xD9, 0xE8}), Status::Fault);
  EXPECT_EQ(cpu().s.exc.vector, vec::MF);
  // Non-waiting instructions run.
  ok({0xDF, 0xE0});  // FNSTSW AX
  EXPECT_TRUE(ax() & fsw::ES);
  ok({0xDB, 0xE2});  // FNCLEX
  EXPECT_EQ(sw() & (fsw::ZE | fsw::ES | fsw::B), 0);
  ok({0x9B});
}

struct IrqLog : bus::IrqSink {
  std::vector<std::pair<unsigned, bool>> events;
  void set_irq(unsigned irq, bool level) override { events.push_back({irq, level}); }
};

TEST_F(X87Error, LegacyFerrRaisesIrq13UntilIgnne) {
  IrqLog irqs;
  t_.bus().attach_irq_sink(&irqs);
  divide_by_zero();
  ASSERT_FALSE(cpu().s.cr[0] & cr0::NE);
  EXPECT_EQ(exec({0xD9, 0xE8}), Status::Restart);  // frozen at the waiting instruction
  ASSERT_EQ(irqs.events.size(), 1u);
  EXPECT_EQ(irqs.events[0], std::make_pair(13u, true));
  EXPECT_EQ(x87::top(fpu()), 6u);
  x87::ignne_write(cpu());  // OUT 0F0h from the IRQ 13 handler
  EXPECT_EQ(irqs.events.back(), std::make_pair(13u, false));
  ok({0xD9, 0xE8});  // IGNNE#: goes on despite ES
  EXPECT_EQ(x87::top(fpu()), 5u);
  ok({0xDB, 0xE2});  // FNCLEX drops FERR# and IGNNE#
  EXPECT_EQ(fpu().ferr, 0);
  EXPECT_EQ(fpu().ignne, 0);
  t_.bus().attach_irq_sink(nullptr);
}

TEST_F(X87, FldcwUnmaskingASetFlagMakesItPending) {
  ok({0xD9, 0xEE});  // FLDZ
  ok({0xD9, 0xE8});  // FLD1
  ok({0xD8, 0xF1});  // FDIV by zero, masked: +inf
  EXPECT_EQ(sw() & (fsw::ZE | fsw::ES), fsw::ZE);
  at(0);
  mem()[0] = 0x7B;
  mem()[1] = 0x03;
  ok({0xD9, 0x28});  // FLDCW: ZE unmasked
  EXPECT_TRUE(sw() & fsw::ES);
  ok({0xD9, 0x30});  // FNSTENV masks everything: no longer pending
  EXPECT_EQ(fpu().cw & 0x3F, 0x3F);
  EXPECT_FALSE(sw() & fsw::ES);
}

// --- stores: suppressed on unmasked exceptions, precise on faults

TEST_F(X87, UnmaskedOverflowSuppressesAMemoryStore) {
  put_ld(0, 1e4000L);
  at(0);
  ok({0xDB, 0x28});  // FLD tword: too large for a double
  std::memset(mem() + 16, 0x11, 8);
  at(16);
  ok({0xDD, 0x10});  // FST qword [eax], masked: +inf
  double d;
  std::memcpy(&d, mem() + 16, 8);
  EXPECT_TRUE(__builtin_isinf(d));
  ok({0xDB, 0xE2});  // FNCLEX, so that unmasking OE leaves nothing pending
  mem()[32] = 0x77;  // OE unmasked
  mem()[33] = 0x03;
  at(32);
  ok({0xD9, 0x28});
  std::memset(mem() + 16, 0x11, 8);
  at(16);
  ok({0xDD, 0x10});
  for (int i = 0; i < 8; ++i) EXPECT_EQ(mem()[16 + i], 0x11);
  EXPECT_TRUE(sw() & fsw::ES);
}

TEST_F(X87, StoreFaultLeavesTheFpuUnchanged) {
  ok({0xD9, 0xE8});  // FLD1
  const Fpu before = fpu();
  cpu().s.seg[DS].limit = kData + 4;  // the qword store crosses the limit
  at(0);
  EXPECT_EQ(exec({0xDD, 0x18}), Status::Fault);  // FSTP qword [eax]
  EXPECT_EQ(cpu().s.exc.vector, vec::GP);
  EXPECT_EQ(std::memcmp(&before, &fpu(), sizeof before), 0);
}

// --- pointers and the environment/state images

TEST_F(X87, PointersAndFnstenv32) {
  at(0x40);
  put_d(0x40, 2.5);
  cpu().s.seg[DS].selector = 0x10;
  ok({0xDD, 0x00});  // FLD qword [eax] at EIP 0x1000
  EXPECT_EQ(fpu().fip, test::OneInsn::kCodeAddr);
  EXPECT_EQ(fpu().fcs, 0x08);
  EXPECT_EQ(fpu().fdp, kData + 0x40);
  EXPECT_EQ(fpu().fds, 0x10);
  EXPECT_EQ(fpu().fop, 0x500);
  at(0);
  ok({0xD9, 0x30});  // FNSTENV [eax]
  uint32_t w[7];
  std::memcpy(w, mem(), 28);
  EXPECT_EQ(w[0], 0xFFFF037Fu);
  EXPECT_EQ(w[1], 0xFFFF0000u | (7u << 11));
  EXPECT_EQ(w[2], 0xFFFF3FFFu);
  EXPECT_EQ(w[3], test::OneInsn::kCodeAddr);
  EXPECT_EQ(w[4], 0x08u | (0x500u << 16));
  EXPECT_EQ(w[5], kData + 0x40);
  EXPECT_EQ(w[6], 0xFFFF0010u);
}

TEST_F(X87, FnsaveFrstorRoundTrip32And16) {
  for (bool o16 : {false, true}) {
    ok({0xDB, 0xE3});
    ok({0xD9, 0xE8});  // FLD1
    ok({0xD9, 0xEB});  // FLDPI
    ok({0xD9, 0xEE});  // FLDZ
    ok({0xD8, 0xF1});  // FDIV ST0, ST1: 0 / pi
    ok({0xD9, 0xC9});  // FXCH
    const Fpu before = fpu();
    at(0x100);
    if (o16) ok({0x66, 0xDD, 0x30}); else ok({0xDD, 0x30});  // FNSAVE
    EXPECT_EQ(fpu().tw, 0xFFFF);
    EXPECT_EQ(fpu().cw, 0x037F);
    const unsigned env = o16 ? 14 : 28;
    // ST(0) = pi, ST(1) = 0, ST(2) = 1 in stack order after the environment.
    long double s0, s1;
    std::memcpy(&s0, mem() + 0x100 + env, 10);
    std::memcpy(&s1, mem() + 0x100 + env + 10, 10);
    EXPECT_EQ(s0, st_pi());
    EXPECT_EQ(s1, 0.0L);
    const uint16_t tw = mem()[0x100 + (o16 ? 4 : 8)] | mem()[0x100 + (o16 ? 5 : 9)] << 8;
    // R0-R4 empty, R5 = pi valid, R6 = +0 zero, R7 = 1 valid.
    EXPECT_EQ(tw, 0x13FF) << std::hex << tw;
    if (o16) ok({0x66, 0xDD, 0x20}); else ok({0xDD, 0x20});  // FRSTOR
    EXPECT_EQ(before.sw, fpu().sw);
    EXPECT_EQ(before.tw, fpu().tw);
    EXPECT_EQ(before.fip, fpu().fip);
    if (!o16) {
      EXPECT_EQ(before.fop, fpu().fop);  // the 16-bit protected image has no FOP
    }
    EXPECT_EQ(before.fcs, fpu().fcs);
  }
}

// --- BCD, partial remainder, SSE3's FISTTP

TEST_F(X87, FbstpFbldRoundTrip) {
  const int32_t v = -12345678;
  std::memcpy(mem(), &v, 4);
  at(0);
  ok({0xDB, 0x00});  // FILD dword [eax]
  at(16);
  ok({0xDF, 0x30});  // FBSTP tbyte [eax]
  const uint8_t want[10] = {0x78, 0x56, 0x34, 0x12, 0, 0, 0, 0, 0, 0x80};
  EXPECT_EQ(std::memcmp(mem() + 16, want, 10), 0);
  EXPECT_EQ(fpu().tw, 0xFFFF);
  ok({0xDF, 0x20});  // FBLD tbyte [eax]
  EXPECT_EQ(st(0), -12345678.0L);
}

TEST_F(X87, FpremReportsAPartialRemainderInC2) {
  const uint64_t sig = 0x8000000000000000ull;
  const uint16_t se = 0x3FFF + 100;  // 2^100
  put_d(16, 3.0);
  at(16);
  ok({0xDD, 0x00});  // FLD qword: ST1 = 3
  std::memcpy(mem(), &sig, 8);
  std::memcpy(mem() + 8, &se, 2);
  at(0);
  ok({0xDB, 0x28});  // FLD tword: ST0 = 2^100
  ok({0xD9, 0xF8});  // FPREM
  EXPECT_TRUE(sw() & fsw::C2);  // exponent difference > 63: partial
  int rounds = 1;
  while ((sw() & fsw::C2) && rounds < 10) {
    ok({0xD9, 0xF8});
    ++rounds;
  }
  EXPECT_FALSE(sw() & fsw::C2);
  EXPECT_EQ(st(0), 1.0L);  // 2^100 mod 3 = 4^50 mod 3
  EXPECT_GT(rounds, 1);
}

TEST_F(X87, FisttpIsUndefinedOnTheP6) {
  at(0);
  EXPECT_EQ(exec({0xDB, 0x08}), Status::Fault);
  EXPECT_EQ(cpu().s.exc.vector, vec::UD);
  EXPECT_EQ(exec({0xDD, 0x08}), Status::Fault);
  EXPECT_EQ(exec({0xDF, 0x08}), Status::Fault);
}

// --- real-address-mode layouts

Status exec_real(Cpu& c, std::vector<uint8_t> bytes) {
  Decoder dec;
  Insn in;
  if (dec.decode(bytes.data(), bytes.size(), CodeMode::Real16, in) != DecodeResult::Ok || !in.fn) {
    return Status::Stop;
  }
  c.current = &in;
  c.set_next_eip(c.s.eip + in.len);
  const Status st = in.fn(c, in);
  c.current = nullptr;
  return st;
}

TEST_F(X87, RealModeEnvironmentHoldsLinearPointers) {
  cpu().s.cr[0] &= ~cr0::PE;
  cpu().s.seg[DS].base = kData;
  cpu().s.seg[DS].limit = 0xFFFF;
  cpu().s.gpr[EBX] = 0x100;
  Fpu& f = fpu();
  f.fcs = 0x1234;
  f.fip = 0x5678;
  f.fop = 0x123;
  f.fds = 0x2000;
  f.fdp = 0x0010;
  ASSERT_EQ(exec_real(cpu(), {0xD9, 0x37}), Status::Ok);  // FNSTENV [bx] (14 bytes)
  uint16_t w[7];
  std::memcpy(w, mem() + 0x100, 14);
  EXPECT_EQ(w[3], 0x79B8);  // 0x12340 + 0x5678 = 0x179B8
  EXPECT_EQ(w[4], 0x1123);
  EXPECT_EQ(w[5], 0x0010);  // 0x20000 + 0x10
  EXPECT_EQ(w[6], 0x2000);
  ASSERT_EQ(exec_real(cpu(), {0x66, 0xD9, 0x37}), Status::Ok);  // FNSTENV [bx] (28 bytes)
  uint32_t d[7];
  std::memcpy(d, mem() + 0x100, 28);
  EXPECT_EQ(d[3], 0xFFFF79B8u);
  EXPECT_EQ(d[4], 0x1123u);
  EXPECT_EQ(d[5], 0xFFFF0010u);
  EXPECT_EQ(d[6], 0x2000u);
  ASSERT_EQ(exec_real(cpu(), {0x66, 0xD9, 0x27}), Status::Ok);  // FLDENV [bx]
  EXPECT_EQ(f.fip, 0x179B8u);
  EXPECT_EQ(f.fcs, 0);
  EXPECT_EQ(f.fdp, 0x20010u);
  EXPECT_EQ(f.fop, 0x123);
}

// --- every x87 row of the table decodes from a sample (the same list belongs in
// tests/unit/cpu/insn_table_test.cpp's kSamples)

TEST(X87Table, EveryX87RowHasASample) {
  const auto& samples = kX87Samples;
  Decoder dec;
  std::set<std::string> covered;
  for (const auto& [name, bytes] : samples) {
    Insn in;
    ASSERT_EQ(dec.decode(bytes.data(), bytes.size(), CodeMode::Prot32, in), DecodeResult::Ok) << name;
    ASSERT_NE(in.fn, nullptr) << name;
    EXPECT_STREQ(kInsnTable[in.row].name, name);
    covered.insert(kInsnTable[in.row].name);
  }
  for (size_t i = 0; i < kInsnTableSize; ++i) {
    const std::string n = kInsnTable[i].name;
    const bool x87 = (n[0] == 'F' && n != "FAR") || n == "F2XM1";
    if (x87 && kInsnTable[i].fn != nullptr) {
      EXPECT_TRUE(covered.count(n)) << n;
    }
  }
}

}  // namespace
}  // namespace popek::cpu
