// Random operand values shared by the differential tests: an xorshift64* generator with a
// reproducible seed, and values that are random or hold an edge value in one of their
// parts (low byte, high byte, word, dword), where flags and carries change.
#pragma once

#include <cstddef>
#include <cstdint>

namespace popek::test {

inline uint64_t splitmix(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

struct Rng {
  uint64_t s;
  explicit Rng(uint64_t seed) : s(splitmix(seed) | 1) {}
  uint64_t next() {  // xorshift64*
    s ^= s >> 12;
    s ^= s << 25;
    s ^= s >> 27;
    return s * 0x2545F4914F6CDD1DULL;
  }
  uint32_t u32() { return static_cast<uint32_t>(next() >> 32); }
  uint32_t below(uint32_t n) { return static_cast<uint32_t>((next() >> 32) % n); }
  bool chance(unsigned pct) { return below(100) < pct; }
  int32_t range(int32_t lo, int32_t hi) { return lo + static_cast<int32_t>(below(hi - lo + 1)); }
  template <size_t N>
  uint32_t pick(const uint32_t (&a)[N]) {
    return a[below(N)];
  }
};

// Shift and rotate counts worth trying: around 0, 1, the operand widths and the mask.
constexpr uint32_t kEdgeCount[] = {0, 1, 2, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 255};

inline uint32_t count_value(Rng& r) { return r.below(2) ? r.pick(kEdgeCount) : r.below(256); }

// A random value, or one with an edge value in its low byte, high byte, word or dword.
template <size_t N8, size_t N16, size_t N32>
uint32_t mixed_value(Rng& r, const uint32_t (&e8)[N8], const uint32_t (&e16)[N16], const uint32_t (&e32)[N32]) {
  const uint32_t v = r.u32();
  switch (r.below(8)) {
    case 0: return r.pick(e32);
    case 1: return (v & ~0xFFu) | r.pick(e8);
    case 2: return (v & ~0xFF00u) | r.pick(e8) << 8;
    case 3: return (v & ~0xFFFFu) | r.pick(e16);
    case 4: return r.below(2) ? r.below(64) : 0u - r.below(64);
    default: return v;
  }
}

}  // namespace popek::test
