// End-of-run reports: the Popek-Goldberg census (--pg-report) and statistics (--stats).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace popek::cpu {
class Cpu;
}

namespace popek::frontend {

// The census table: every instruction-table row of class privileged, sensitive or io
// with a non-zero count in `census` (indexed like cpu::kInsnTable), sorted by class in
// that order and by count (highest first, then name), a total per class and the total
// number of retired instructions.
std::string format_pg_report(const std::vector<uint64_t>& census, uint64_t instructions);
std::string pg_report(const cpu::Cpu& cpu);

// Blocks decoded and instructions retired.
std::string format_stats(uint64_t blocks_decoded, uint64_t instructions);
std::string stats_report(const cpu::Cpu& cpu);

}  // namespace popek::frontend
