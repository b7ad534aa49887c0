// Microbenchmark of the softmmu's paths: a TLB hit, a TLB miss answered by the shadow
// page table, a full page walk, and accesses that alternate between two address spaces.
// Prints nanoseconds per access and the hit rates the counters saw.
//   usage: popek_mmu_bench [ACCESSES]
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>

#include "bus/bus.h"
#include "mmu/mmu.h"

namespace {

using popek::mmu::Access;
constexpr uint32_t kPg = 1u << 31, kPe = 1;

struct Machine {
  popek::bus::Bus bus{64u << 20};
  popek::mmu::Mmu mmu{bus};

  void put32(uint32_t a, uint32_t v) { std::memcpy(bus.ram() + a, &v, 4); }

  // Page directory at `pd` identity-mapping 0-8 MiB with 4 KiB pages and mapping the
  // 4096 pages at 0x40000000 to physical frames from `frames`.
  void build(uint32_t pd, uint32_t pts, uint32_t frames) {
    for (uint32_t t = 0; t < 2; ++t) {
      put32(pd + t * 4, (pts + t * 4096) | 7);
      for (uint32_t i = 0; i < 1024; ++i) put32(pts + t * 4096 + i * 4, ((t * 1024 + i) << 12) | 7);
    }
    for (uint32_t t = 0; t < 4; ++t) {
      const uint32_t pt = pts + (2 + t) * 4096;
      put32(pd + (0x100 + t) * 4, pt | 7);
      for (uint32_t i = 0; i < 1024; ++i) put32(pt + i * 4, (frames + (t * 1024 + i) * 4096) | 7);
    }
  }
};

double ns_per(uint64_t n, const std::function<void(uint64_t)>& body) {
  const auto t0 = std::chrono::steady_clock::now();
  body(n);
  const auto t1 = std::chrono::steady_clock::now();
  return std::chrono::duration<double, std::nano>(t1 - t0).count() / static_cast<double>(n);
}

void report(const char* what, double ns, const popek::mmu::Stats& before,
            const popek::mmu::Stats& after) {
  const uint64_t hits = after.tlb_hits - before.tlb_hits;
  const uint64_t misses = after.tlb_misses - before.tlb_misses;
  const uint64_t shadow = after.shadow_hits - before.shadow_hits;
  const uint64_t walks = after.walks - before.walks;
  const double total = static_cast<double>(hits + misses);
  printf("%-34s %8.2f ns/access   TLB hit %6.2f%%   shadow hit %6.2f%%   walks %6.2f%%\n", what,
         ns, total ? 100.0 * hits / total : 0.0, total ? 100.0 * shadow / total : 0.0,
         total ? 100.0 * walks / total : 0.0);
}

}  // namespace

int main(int argc, char** argv) {
  const uint64_t n = argc > 1 ? strtoull(argv[1], nullptr, 10) : 20'000'000;
  Machine m;
  m.build(0x100000, 0x101000, 0x1000000);
  m.build(0x200000, 0x201000, 0x2000000);
  if (!m.mmu.set_control(kPg | kPe, 0x100000, 0)) return 1;
  popek::mmu::PageFault f;
  uint64_t sink = 0;

  auto run = [&](const char* what, uint64_t count, const std::function<void(uint64_t)>& body) {
    const popek::mmu::Stats before = m.mmu.stats;
    const double ns = ns_per(count, body);
    report(what, ns, before, m.mmu.stats);
  };

  printf("popek softmmu microbenchmark: %" PRIu64 " accesses per case, 32-bit paging\n", n);
  run("TLB hit (64-page working set)", n, [&](uint64_t k) {
    for (uint64_t i = 0; i < k; ++i) {
      uint64_t v;
      m.mmu.read(0x40000000u + ((i & 63) << 12) + (i & 0xFF) * 4, 4, Access::Read, false, v, f);
      sink += v;
    }
  });
  run("shadow hit (4096-page working set)", n / 4, [&](uint64_t k) {
    for (uint64_t i = 0; i < k; ++i) {
      uint64_t v;
      // A stride of 257 pages visits all 4096 pages and keeps missing the 256-entry TLB.
      m.mmu.read(0x40000000u + (((i * 257) & 4095) << 12), 4, Access::Read, false, v, f);
      sink += v;
    }
  });
  run("page walk (INVLPG before each)", n / 20, [&](uint64_t k) {
    for (uint64_t i = 0; i < k; ++i) {
      const uint32_t a = 0x40000000u + ((i & 4095) << 12);
      m.mmu.invlpg(a);
      uint64_t v;
      m.mmu.read(a, 4, Access::Read, false, v, f);
      sink += v;
    }
  });
  run("CR3 switch every 16 accesses", n / 4, [&](uint64_t k) {
    for (uint64_t i = 0; i < k; ++i) {
      if ((i & 15) == 0) m.mmu.set_control(kPg | kPe, (i & 16) ? 0x200000 : 0x100000, 0);
      uint64_t v;
      m.mmu.read(0x40000000u + ((i & 63) << 12), 4, Access::Read, false, v, f);
      sink += v;
    }
  });
  printf("(shadow-table reuses on CR3 switches: %" PRIu64 " of %" PRIu64 ")\n", m.mmu.stats.shadow_reuses,
         m.mmu.stats.cr3_switches);
  return sink == 42 ? 2 : 0;  // keeps the loads alive
}
