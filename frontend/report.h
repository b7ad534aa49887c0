// End-of-run reports: the Popek-Goldberg census (--pg-report) and statistics (--stats).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "bus/log.h"
#include "mmu/mmu.h"

namespace popek::cpu {
class Cpu;
}

namespace popek::frontend {

// The census table: every instruction-table row of class privileged, sensitive or io
// that retired or faulted at least once, sorted by class in that order and by attempts
// (highest first, then name), with totals per class and the retired-instruction count.
// The vectors are indexed like cpu::kInsnTable: `retired` counts retirements, `user`
// those at CPL 3 (a sensitive instruction that retires at CPL 3 is a virtualization
// hole: it never traps), `faulted` the executions that raised an exception (a
// privileged instruction at CPL 3 is the trap a virtual-machine monitor relies on).
std::string format_pg_report(const std::vector<uint64_t>& retired,
                             const std::vector<uint64_t>& user,
                             const std::vector<uint64_t>& faulted, uint64_t instructions);
std::string pg_report(const cpu::Cpu& cpu);

// Blocks decoded and instructions retired; the softmmu's counters.
std::string format_stats(uint64_t blocks_decoded, uint64_t instructions);
std::string format_mmu_stats(const mmu::Stats& stats);
// Events of the -d guest_errors and unimp channels, counted whether the channel is on or not.
std::string format_log_stats(const bus::Log::Counts& counts);
std::string stats_report(cpu::Cpu& cpu);

}  // namespace popek::frontend
