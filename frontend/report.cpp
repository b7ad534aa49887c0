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

std::string format_pg_report(const std::vector<uint64_t>& census, uint64_t instructions) {
  using cpu::InsnClass;
  constexpr InsnClass kOrder[] = {InsnClass::Privileged, InsnClass::Sensitive, InsnClass::Io};
  std::string out = "popek: Popek-Goldberg census (non-innocuous instructions executed)\n";
  out += line("  %-20s %-11s %15s", "instruction", "class", "count");
  uint64_t all = 0;
  for (InsnClass cls : kOrder) {
    std::vector<size_t> rows;
    for (size_t i = 0; i < census.size() && i < cpu::kInsnTableSize; ++i)
      if (census[i] && cpu::kInsnTable[i].cls == cls) rows.push_back(i);
    std::sort(rows.begin(), rows.end(), [&](size_t a, size_t b) {
      if (census[a] != census[b]) return census[a] > census[b];
      return std::string(cpu::kInsnTable[a].name) < cpu::kInsnTable[b].name;
    });
    uint64_t total = 0;
    for (size_t r : rows) {
      out += line("  %-20s %-11s %15" PRIu64, cpu::kInsnTable[r].name, cpu::class_name(cls),
                  census[r]);
      total += census[r];
    }
    out += line("  %-20s %-11s %15" PRIu64, "total", cpu::class_name(cls), total);
    all += total;
  }
  out += line("  %-32s %15" PRIu64, "non-innocuous instructions", all);
  out += line("  %-32s %15" PRIu64, "instructions retired", instructions);
  return out;
}

std::string pg_report(const cpu::Cpu& c) { return format_pg_report(c.census, c.s.icount); }

std::string format_stats(uint64_t blocks_decoded, uint64_t instructions) {
  std::string out = "popek: statistics\n";
  out += line("  %-24s %15" PRIu64, "blocks decoded", blocks_decoded);
  out += line("  %-24s %15" PRIu64, "instructions retired", instructions);
  return out;
}

std::string stats_report(const cpu::Cpu& c) { return format_stats(c.blocks_decoded, c.s.icount); }

}  // namespace popek::frontend
