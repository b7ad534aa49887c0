// The softmmu's services for debuggers: a side-effect-free translation (no accessed or
// dirty bit, no TLB fill, no permission check), a debugger's store (RAM changes, cached
// translations built from it are dropped), and watches that see every data access to
// their bytes even when the page was in the TLB before.
#include <gtest/gtest.h>

#include "bus/bus.h"
#include "mmu/mmu.h"

namespace popek::mmu {
namespace {

constexpr uint32_t kPd = 0x10000, kPt = 0x11000;
constexpr uint32_t kP = 1, kRW = 2, kUS = 4, kA = 0x20, kD = 0x40;
constexpr uint32_t kCr0Pe = 1, kCr0Pg = 1u << 31;

class DebugAccess : public ::testing::Test {
 protected:
  DebugAccess() : bus(4u << 20), mmu(bus) {
    // Linear 0x00400000 + n pages -> physical 0x200000 + n pages, supervisor only for n = 1.
    bus.write_phys(kPd + 4, 4, kPt | kP | kRW | kUS);
    bus.write_phys(kPt + 0, 4, 0x200000 | kP | kRW | kUS);
    bus.write_phys(kPt + 4, 4, 0x201000 | kP | kRW);
    // The tables themselves, identity-mapped through PDE 0 (a 4 MiB-free layout: PT 0).
    bus.write_phys(kPd + 0, 4, 0x12000 | kP | kRW | kUS);
    for (uint32_t i = 0; i < 0x20; ++i) bus.write_phys(0x12000 + 4 * i, 4, (i << 12) | kP | kRW | kUS);
    mmu.set_control(kCr0Pe | kCr0Pg, kPd, 0);
  }
  uint32_t pte(unsigned n) { return bus.read_phys(kPt + 4 * n, 4); }

  bus::Bus bus;
  Mmu mmu;
};

TEST_F(DebugAccess, PeekTranslatesWithoutSideEffects) {
  uint32_t phys = 0;
  ASSERT_TRUE(mmu.peek_translate(0x00401234, phys));
  EXPECT_EQ(phys, 0x201234u);  // a supervisor page: the debugger sees it anyway
  EXPECT_EQ(pte(1) & (kA | kD), 0u) << "peek_translate set an accessed or dirty bit";
  EXPECT_EQ(bus.read_phys(kPd + 4, 4) & kA, 0u) << "peek_translate set the PDE's accessed bit";
  EXPECT_FALSE(mmu.peek_translate(0x00402000, phys)) << "PTE 2 is not present";
  EXPECT_FALSE(mmu.peek_translate(0x00800000, phys)) << "PDE 2 is not present";
  // A real access sets the bits; the peek did not prime the TLB for it.
  const uint64_t misses = mmu.stats.tlb_misses;
  uint64_t v;
  PageFault f;
  ASSERT_TRUE(mmu.read(0x00400010, 4, Access::Read, false, v, f));
  EXPECT_EQ(mmu.stats.tlb_misses, misses + 1);
  EXPECT_EQ(pte(0) & kA, kA);
}

TEST_F(DebugAccess, DebuggerStoresDropTranslationsBuiltFromTheTable) {
  uint64_t v;
  PageFault f;
  ASSERT_TRUE(mmu.read(0x00400000, 4, Access::Read, false, v, f));  // cached: linear -> 0x200000
  bus.write_phys(0x202000, 4, 0xCAFEF00D);
  // gdb rewrites PTE 0 to point at 0x202000, byte by byte.
  const uint32_t new_pte = 0x202000 | kP | kRW | kUS;
  for (unsigned i = 0; i < 4; ++i) ASSERT_TRUE(mmu.debug_write_phys(kPt + i, static_cast<uint8_t>(new_pte >> (8 * i))));
  ASSERT_TRUE(mmu.read(0x00400000, 4, Access::Read, false, v, f));
  EXPECT_EQ(v, 0xCAFEF00Du) << "a translation survived the debugger's store into its page table";
  EXPECT_FALSE(mmu.debug_write_phys(0xFFFFFFF0u, 1)) << "not RAM";
}

TEST_F(DebugAccess, WatchesSeeAccessesToPagesAlreadyInTheTlb) {
  uint64_t v;
  PageFault f;
  ASSERT_TRUE(mmu.write(0x00400100, 4, false, 1, f));  // the page's entries are in the TLB now
  ASSERT_TRUE(mmu.read(0x00400100, 4, Access::Read, false, v, f));
  mmu.set_watches({{0x00400102, 2, Mmu::kWatchWrite}, {0x00400200, 4, Mmu::kWatchRead}});
  ASSERT_TRUE(mmu.read(0x00400100, 4, Access::Read, false, v, f));
  EXPECT_EQ(mmu.watch_hits, 0u) << "a read is not a write";
  ASSERT_TRUE(mmu.write(0x00400104, 4, false, 2, f));
  EXPECT_EQ(mmu.watch_hits, 0u) << "bytes 0x104.. do not overlap 0x102..0x103";
  ASSERT_TRUE(mmu.write(0x00400101, 2, false, 3, f));
  EXPECT_EQ(mmu.watch_hits, 1u) << "bytes 0x101..0x102 overlap the write watch";
  mmu.watch_hits = 0;
  ASSERT_TRUE(mmu.read(0x004001FE, 4, Access::Read, false, v, f));
  EXPECT_EQ(mmu.watch_hits, 2u) << "a read straddling into the read watch";
  mmu.watch_hits = 0;
  ASSERT_TRUE(mmu.read(0x00400200, 4, Access::Exec, false, v, f));
  EXPECT_EQ(mmu.watch_hits, 0u) << "instruction fetches are not data accesses";
  mmu.set_watches({});
  ASSERT_TRUE(mmu.write(0x00400102, 2, false, 4, f));
  EXPECT_EQ(mmu.watch_hits, 0u);
}

}  // namespace
}  // namespace popek::mmu
