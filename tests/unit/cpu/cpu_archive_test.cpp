// The CPU's state through the state archive: every byte of CpuState that is a field is
// named by its visit() (only the compiler's alignment padding is not), and the state
// saves, loads and saves again to the same bytes.
#include <gtest/gtest.h>

#include <cstddef>
#include <cstring>
#include <random>
#include <vector>

#include "bus/state_archive.h"
#include "cpu/cpu_state.h"

namespace popek::cpu {
namespace {

TEST(CpuArchive, VisitNamesEveryField) {
  // A holds random bytes; B their complement. Loading A's saved state into B makes every
  // byte a field covers equal to A's; a byte left out keeps B's value and differs.
  CpuState a, b;
  std::mt19937 rng(7);
  auto* pa = reinterpret_cast<uint8_t*>(&a);
  auto* pb = reinterpret_cast<uint8_t*>(&b);
  for (size_t i = 0; i < sizeof a; ++i) pa[i] = static_cast<uint8_t>(rng()), pb[i] = static_cast<uint8_t>(~pa[i]);
  bus::StateWriter w;
  a.visit(w);
  bus::StateReader r(w.bytes());
  b.visit(r);
  EXPECT_TRUE(r.done());
  // Alignment padding is all no field has: the gap before the 8-byte-aligned MSRs and the
  // tail after the FPU.
  const size_t gap_begin = offsetof(CpuState, dr) + sizeof a.dr, gap_end = offsetof(CpuState, msr);
  const size_t tail = offsetof(CpuState, fpu) + sizeof a.fpu;
  for (size_t i = 0; i < sizeof a; ++i) {
    if ((i >= gap_begin && i < gap_end) || i >= tail) continue;
    ASSERT_EQ(pb[i], pa[i]) << "byte " << i << " of CpuState is not saved: a field missing from visit()";
  }
  EXPECT_EQ(w.bytes().size(), tail - (gap_end - gap_begin));
  bus::StateWriter w2;
  b.visit(w2);
  EXPECT_EQ(w2.bytes(), w.bytes());
}

}  // namespace
}  // namespace popek::cpu
