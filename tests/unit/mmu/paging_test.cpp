// Two-level paging (SDM vol. 3 §4.3, §4.6-4.8): 4 KiB and 4 MiB pages, U/S and R/W with
// CR0.WP, #PF error codes (P, W, U, RSVD), accessed and dirty bits, accesses straddling
// a page boundary; and through the CPU, CR2 and a precise fault.
#include <gtest/gtest.h>

#include <cstring>

#include "bus/bus.h"
#include "mmu/mmu.h"
#include "tests/unit/cpu/sys_machine.h"

namespace popek::mmu {
namespace {

constexpr uint32_t P = 1, RW = 2, US = 4, A = 0x20, D = 0x40, PS = 0x80;
constexpr uint32_t kCr0Pg = 1u << 31, kCr0Pe = 1, kCr0Wp = 1u << 16, kCr4Pse = 1u << 4;
constexpr uint32_t kPd = 0x10000, kPt = 0x11000;
constexpr uint32_t kLin = 0x00400000;  // PDE 1, PTE 0

class Paging : public ::testing::Test {
 protected:
  void enable(bool wp = false, bool pse = false) {
    mmu_.set_control(kCr0Pg | kCr0Pe | (wp ? kCr0Wp : 0), kPd, pse ? kCr4Pse : 0);
  }
  void put32(uint32_t a, uint32_t v) { std::memcpy(bus_.ram() + a, &v, 4); }
  uint32_t rd32(uint32_t a) {
    uint32_t v;
    std::memcpy(&v, bus_.ram() + a, 4);
    return v;
  }
  uint32_t pde(unsigned i) { return rd32(kPd + i * 4); }
  uint32_t pte(unsigned i) { return rd32(kPt + i * 4); }
  // Maps kLin + i * 4 KiB to `phys` with the PDE flags and PTE flags given.
  void map(unsigned i, uint32_t phys, uint32_t pde_flags, uint32_t pte_flags) {
    put32(kPd + 4, kPt | pde_flags);
    put32(kPt + i * 4, phys | pte_flags);
  }
  // One access; returns the error code (or -1 when it succeeded).
  int64_t access(uint32_t lin, Access acc, bool user, unsigned size = 4, uint32_t wval = 0) {
    PageFault f{};
    bool ok;
    if (acc == Access::Write) {
      ok = mmu_.write(lin, size, user, wval, f);
    } else {
      uint64_t v;
      ok = mmu_.read(lin, size, acc, user, v, f);
      last_ = static_cast<uint32_t>(v);
    }
    fault_linear_ = f.linear;
    return ok ? -1 : static_cast<int64_t>(f.error);
  }
  bus::Bus bus_{2u << 20};
  Mmu mmu_{bus_};
  uint32_t last_ = 0;
  uint32_t fault_linear_ = 0;
};

TEST_F(Paging, FourKilobyteTranslation) {
  map(0, 0x5000, P | RW | US, P | RW | US);
  map(1, 0x7000, P | RW | US, P | RW | US);
  put32(0x5123, 0xCAFEF00D);
  enable();
  uint32_t phys;
  PageFault f;
  ASSERT_TRUE(mmu_.translate(kLin + 0x123, Access::Read, false, phys, f));
  EXPECT_EQ(phys, 0x5123u);
  ASSERT_TRUE(mmu_.translate(kLin + 0x1FFF, Access::Read, false, phys, f));
  EXPECT_EQ(phys, 0x7FFFu);
  EXPECT_EQ(access(kLin + 0x123, Access::Read, true), -1);
  EXPECT_EQ(last_, 0xCAFEF00Du);
  // CR3's low 12 bits are not part of the directory address.
  mmu_.set_control(kCr0Pg | kCr0Pe, kPd | 0x18, 0);
  ASSERT_TRUE(mmu_.translate(kLin + 0x123, Access::Read, false, phys, f));
  EXPECT_EQ(phys, 0x5123u);
}

TEST_F(Paging, NotPresentErrorCodes) {
  map(0, 0x5000, P | RW | US, 0);
  enable();
  EXPECT_EQ(access(kLin + 8, Access::Read, false), 0);
  EXPECT_EQ(fault_linear_, kLin + 8);
  EXPECT_EQ(access(kLin + 8, Access::Write, false), pf::W);
  EXPECT_EQ(access(kLin + 8, Access::Read, true), pf::U);
  EXPECT_EQ(access(kLin + 8, Access::Write, true), pf::W | pf::U);
  EXPECT_EQ(access(0x00800000, Access::Read, true), pf::U) << "PDE 2 not present";
  EXPECT_EQ(fault_linear_, 0x00800000u);
}

TEST_F(Paging, UserAccessToSupervisorPage) {
  map(0, 0x5000, P | RW | US, P | RW);
  enable();
  EXPECT_EQ(access(kLin, Access::Read, true), pf::P | pf::U);
  EXPECT_EQ(access(kLin, Access::Write, true), pf::P | pf::W | pf::U);
  EXPECT_EQ(access(kLin, Access::Read, false), -1);
  // U/S of the PDE and the PTE combine: both must allow user access.
  map(0, 0x5000, P | RW, P | RW | US);
  EXPECT_EQ(access(kLin, Access::Read, true), pf::P | pf::U);
}

TEST_F(Paging, ReadOnlyPagesAndWriteProtect) {
  map(0, 0x5000, P | RW | US, P | US);
  enable(false);
  EXPECT_EQ(access(kLin, Access::Write, true), pf::P | pf::W | pf::U);
  EXPECT_EQ(access(kLin, Access::Write, false), -1) << "supervisor writes ignore R/W when WP=0";
  enable(true);
  EXPECT_EQ(access(kLin, Access::Write, false), pf::P | pf::W) << "WP=1";
  EXPECT_EQ(access(kLin, Access::Read, true), -1);
  // R/W of the PDE and the PTE combine.
  map(0, 0x5000, P | US, P | RW | US);
  EXPECT_EQ(access(kLin, Access::Write, true), pf::P | pf::W | pf::U);
}

TEST_F(Paging, AccessedAndDirtyBits) {
  map(0, 0x5000, P | RW | US, P | RW | US);
  enable();
  ASSERT_EQ(access(kLin, Access::Read, false), -1);
  EXPECT_EQ(pde(1) & (A | D), A);
  EXPECT_EQ(pte(0) & (A | D), A) << "a read sets A only";
  ASSERT_EQ(access(kLin, Access::Write, false), -1);
  EXPECT_EQ(pte(0) & (A | D), A | D);
  EXPECT_EQ(pde(1) & D, 0u) << "no dirty bit in a PDE that points to a table";
}

TEST_F(Paging, NoAccessedOrDirtyBitsOnAFault) {
  map(0, 0x5000, P | RW | US, P);  // supervisor, read-only
  enable(true);
  EXPECT_EQ(access(kLin, Access::Read, true), pf::P | pf::U);
  EXPECT_EQ(pte(0) & (A | D), 0u) << "user access denied: PTE untouched";
  EXPECT_EQ(access(kLin, Access::Write, false), pf::P | pf::W);
  EXPECT_EQ(pte(0) & D, 0u) << "denied write: no dirty bit";
}

TEST_F(Paging, FourMegabytePages) {
  put32(kPd + 4, 0x00000000 | P | RW | US | PS);  // linear 4 MiB -> physical 0
  put32(0x1234, 0x600DF00D);
  enable(false, true);
  EXPECT_EQ(access(kLin + 0x1234, Access::Read, true), -1);
  EXPECT_EQ(last_, 0x600DF00Du);
  EXPECT_EQ(pde(1) & (A | D), A);
  EXPECT_EQ(access(kLin + 0x1234, Access::Write, true, 4, 0x12345678), -1);
  EXPECT_EQ(pde(1) & D, D) << "a 4 MiB page has its dirty bit in the PDE";
  EXPECT_EQ(rd32(0x1234), 0x12345678u);
  put32(kPd + 4, P | US | PS);
  EXPECT_EQ(access(kLin, Access::Write, true), pf::P | pf::W | pf::U);
  put32(kPd + 4, P | RW | PS);
  EXPECT_EQ(access(kLin, Access::Read, true), pf::P | pf::U);
}

TEST_F(Paging, PsBitMeansReservedBitsOnlyWithPse) {
  // A PDE with PS set whose bits 13-21 are not zero: with CR4.PSE it is a 4 MiB page with
  // reserved bits set (#PF with P and RSVD); without PSE, PS is ignored and the PDE
  // points to a page table.
  put32(kPd + 4, kPt | P | RW | US | PS);  // kPt = 0x11000 has bit 16 set
  put32(kPt, 0x6000 | P | RW | US);
  put32(0x6010, 0xABCDABCD);
  enable(false, false);
  EXPECT_EQ(access(kLin + 0x10, Access::Read, true), -1);
  EXPECT_EQ(last_, 0xABCDABCDu);
  enable(false, true);
  EXPECT_EQ(access(kLin + 0x10, Access::Read, false), pf::P | pf::RSVD);
  EXPECT_EQ(access(kLin + 0x10, Access::Write, true), pf::P | pf::RSVD | pf::W | pf::U);
  EXPECT_EQ(fault_linear_, kLin + 0x10);
}

TEST_F(Paging, StraddlingWriteFaultsOnSecondPageWithoutWritingFirst) {
  map(0, 0x5000, P | RW | US, P | RW | US);
  map(1, 0x6000, P | RW | US, 0);
  put32(0x5FFC, 0x11111111);
  enable();
  EXPECT_EQ(access(kLin + 0xFFE, Access::Write, false, 4, 0xAABBCCDD), pf::W);
  EXPECT_EQ(fault_linear_, kLin + 0x1000) << "the fault names the second page";
  EXPECT_EQ(rd32(0x5FFC), 0x11111111u) << "first page not written";
  EXPECT_EQ(access(kLin + 0xFFE, Access::Read, true, 4), pf::U);
  EXPECT_EQ(fault_linear_, kLin + 0x1000);
}

TEST_F(Paging, StraddlingAccessJoinsTwoFrames) {
  map(0, 0x5000, P | RW | US, P | RW | US);
  map(1, 0x9000, P | RW | US, P | RW | US);
  enable();
  ASSERT_EQ(access(kLin + 0xFFD, Access::Write, false, 4, 0x44332211), -1);
  EXPECT_EQ(bus_.ram()[0x5FFD], 0x11);
  EXPECT_EQ(bus_.ram()[0x5FFF], 0x33);
  EXPECT_EQ(bus_.ram()[0x9000], 0x44);
  ASSERT_EQ(access(kLin + 0xFFD, Access::Read, false, 4), -1);
  EXPECT_EQ(last_, 0x44332211u);
}

// --- through the CPU: CR2 and a precise fault

TEST(PagingCpu, UserWriteToReadOnlyPageSetsCr2AndChangesNothing) {
  test::SysMachine m;
  m.prot_mode(3);
  m.identity_paging();
  m.set_pte(0x6000, 0x6000 | P | US);  // user, read-only
  m.put32(0x6010, 0x01020304);
  m.s().gpr[cpu::EBX] = 0x6010;
  m.s().gpr[cpu::EAX] = 0xFFFFFFFF;
  const cpu::Status st = m.exec({0x01, 0x03});  // add [ebx], eax
  EXPECT_TRUE(test::Faulted(m, st, cpu::vec::PF, pf::P | pf::W | pf::U));
  EXPECT_EQ(m.s().cr[2], 0x6010u);
  EXPECT_EQ(m.rd32(0x6010), 0x01020304u);
  EXPECT_EQ(m.s().eflags, cpu::flag::FIXED1) << "flags untouched";
  // The same access at CPL 0 with WP = 0 succeeds.
  m.prot_mode(0);
  m.identity_paging();
  m.set_pte(0x6000, 0x6000 | P | US);
  m.s().gpr[cpu::EBX] = 0x6010;
  m.s().gpr[cpu::EAX] = 1;
  EXPECT_TRUE(test::Retired(m, m.exec({0x01, 0x03})));
  EXPECT_EQ(m.rd32(0x6010), 0x01020305u);
}

}  // namespace
}  // namespace popek::mmu
