#include "frontend/report.h"

#include <algorithm>
#include <cinttypes>
#include <cstdarg>
#include <cstdio>

#include "cpu/cpu.h"
#include "cpu/insn_table.h"

namespace popek::frontend {

namespace {

std::string line(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
std::string line(const char* fmt, ...) {
  char buf[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  return std::string(buf) + "\n";
}

}  // namespace

std::string format_pg_report(const std::vector<uint64_t>& retired,
                             const std::vector<uint64_t>& user,
                             const std::vector<uint64_t>& faulted, uint64_t instructions) {
  using cpu::InsnClass;
  constexpr InsnClass kOrder[] = {InsnClass::Privileged, InsnClass::Sensitive, InsnClass::Io};
  auto at = [](const std::vector<uint64_t>& v, size_t i) { return i < v.size() ? v[i] : 0; };
  std::string out = "popek: Popek-Goldberg census (non-innocuous instructions executed)\n";
  out += line("  %-20s %-11s %15s %12s %12s", "instruction", "class", "retired", "at CPL 3",
              "faulted");
  uint64_t all = 0, all_user = 0, all_faulted = 0;
  for (InsnClass cls : kOrder) {
    std::vector<size_t> rows;
    for (size_t i = 0; i < cpu::kInsnTableSize; ++i)
      if ((at(retired, i) || at(faulted, i)) && cpu::kInsnTable[i].cls == cls) rows.push_back(i);
    std::sort(rows.begin(), rows.end(), [&](size_t a, size_t b) {
      const uint64_t ca = at(retired, a) + at(faulted, a), cb = at(retired, b) + at(faulted, b);
      if (ca != cb) return ca > cb;
      return std::string(cpu::kInsnTable[a].name) < cpu::kInsnTable[b].name;
    });
    uint64_t total = 0, total_user = 0, total_faulted = 0;
    for (size_t r : rows) {
      out += line("  %-20s %-11s %15" PRIu64 " %12" PRIu64 " %12" PRIu64, cpu::kInsnTable[r].name,
                  cpu::class_name(cls), at(retired, r), at(user, r), at(faulted, r));
      total += at(retired, r);
      total_user += at(user, r);
      total_faulted += at(faulted, r);
    }
    out += line("  %-20s %-11s %15" PRIu64 " %12" PRIu64 " %12" PRIu64, "total",
                cpu::class_name(cls), total, total_user, total_faulted);
    all += total;
    all_user += total_user;
    all_faulted += total_faulted;
  }
  out += line("  %-32s %15" PRIu64 " %12" PRIu64 " %12" PRIu64, "non-innocuous instructions", all,
              all_user, all_faulted);
  out += line("  %-32s %15" PRIu64, "instructions retired", instructions);
  return out;
}

std::string pg_report(const cpu::Cpu& c) {
  return format_pg_report(c.census, c.census_user, c.census_faulted, c.s.icount);
}

std::string format_stats(uint64_t blocks_decoded, uint64_t instructions) {
  std::string out = "popek: statistics\n";
  out += line("  %-24s %15" PRIu64, "blocks decoded", blocks_decoded);
  out += line("  %-24s %15" PRIu64, "instructions retired", instructions);
  return out;
}

std::string format_mmu_stats(const mmu::Stats& m) {
  const uint64_t accesses = m.tlb_hits + m.tlb_misses;
  std::string out;
  out += line("  %-24s %15" PRIu64, "TLB hits", m.tlb_hits);
  out += line("  %-24s %15" PRIu64, "TLB misses", m.tlb_misses);
  out += line("  %-24s %14.3f%%", "TLB hit rate", accesses ? 100.0 * m.tlb_hits / accesses : 0.0);
  out += line("  %-24s %15" PRIu64, "shadow-table hits", m.shadow_hits);
  out += line("  %-24s %15" PRIu64, "page walks", m.walks);
  out += line("  %-24s %15" PRIu64, "CR3 switches", m.cr3_switches);
  out += line("  %-24s %15" PRIu64, "shadow-table reuses", m.shadow_reuses);
  out += line("  %-24s %15" PRIu64, "address spaces evicted", m.contexts_evicted);
  out += line("  %-24s %15" PRIu64, "inval: page-table write", m.inval_pt_write);
  out += line("  %-24s %15" PRIu64, "inval: INVLPG", m.inval_invlpg);
  out += line("  %-24s %15" PRIu64, "flush: paging mode", m.flush_mode);
  out += line("  %-24s %15" PRIu64, "flush: A20", m.flush_a20);
  out += line("  %-24s %15" PRIu64, "flush: reset/other", m.flush_other);
  return out;
}

std::string format_log_stats(const bus::Log::Counts& n) {
  return line("  %-24s %15" PRIu64, "log: guest_errors", n.guest_errors) +
         line("  %-24s %15" PRIu64, "log: unimp", n.unimp);
}

std::string stats_report(cpu::Cpu& c) {
  return format_stats(c.blocks_decoded, c.s.icount) + format_mmu_stats(c.mmu().stats) +
         format_log_stats(c.log().counts) +
         (c.runner ? c.runner->stats_report() : std::string());
}

}  // namespace popek::frontend
