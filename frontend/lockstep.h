// --lockstep, the JIT's main test: one guest on two machines built from the same config.
//
// The primary runs the JIT and is what the user sees (its serial and debugcon outputs,
// its exit status); the shadow runs the reference interpreter and its guest outputs go
// nowhere. Both run the machine's own run loop (Machine::run_step: clock events, halts
// with idle skips, resets) one block at a time; splitting the loop's turns into blocks
// changes nothing that runs, so the primary retires exactly what a plain --engine=jit run
// retires, at the same counts. After each block, and so after the
// interrupts delivered before it, the driver compares the architectural state (GPRs, EIP,
// EFLAGS, segment registers with their caches, descriptor tables, CR0-CR4, DR0-DR7,
// MSRs, icount, x87, the pending exception, the halt and interrupt-shadow bits), the
// virtual time and the A20 gate, and what each machine did on the device side during the
// block: every port access (port, size, value, icount) and every interrupt acknowledged
// (vector, icount). Guest RAM is compared every `ram_interval` blocks and at the end.
//
// The first difference stops the run with status kDiffer (3) and a report on stderr:
// where the block started (CS:EIP, mode, CPL), its instructions' bytes, both states side
// by side with the differing fields marked `*`, the device-side events if they differ, and
// the JIT's host code for the block.
//
// Inputs are made equal, so that any difference is the engines': the RTC of both starts
// at one instant read once; the shadow's serial ports take no host input but replay what
// the primary's ports took, answer for answer (devices::InputLog); the shadow's disks are
// opened as with -snapshot (writes stay in memory), so nothing is written twice. Disk
// reads stay equal since OUT ends a block: a sector reaches the primary's file at the last
// instruction of a block, and the shadow, which runs that block next, writes the sector to
// its own memory at the same point (a block that reads a sector and then writes it with
// its final OUT would see the primary's write: no IDE command sequence does that). The
// shadow's -d trace, log lines and run-loop messages are silenced, and building it never
// touches the terminal (all its character backends are "none").
#pragma once

#include <array>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "frontend/machine.h"
#include "frontend/machine_config.h"

namespace popek::frontend {

class Lockstep {
 public:
  // Exit status at the first difference.
  static constexpr int kDiffer = 3;

  // Builds the primary (the JIT, whatever cfg.engine says) and its shadow. Throws as
  // Machine's constructor does.
  explicit Lockstep(const MachineConfig& cfg);
  ~Lockstep();
  Lockstep(const Lockstep&) = delete;
  Lockstep& operator=(const Lockstep&) = delete;

  // Run until the primary stops; returns its exit status (Machine::run's), or kDiffer at
  // the first difference, whose report went to `report_to` and stays in difference().
  int run();

  Machine& primary() { return *primary_; }
  Machine& shadow() { return *shadow_; }
  // Blocks run and compared so far.
  uint64_t blocks() const { return blocks_; }
  // The report of the first difference, or empty.
  const std::string& difference() const { return difference_; }

  // Blocks between two comparisons of guest RAM (0: only when the run ends, which it
  // always is). A comparison reads both RAMs whole: at the default, with 128 MiB and short
  // blocks, it is about half the time lockstep takes beyond running the two engines.
  uint64_t ram_interval = 65536;
  // Where the report goes (nullptr: only difference()).
  FILE* report_to = stderr;
  // Test hook: called after each block of the primary, before the comparison; `block`
  // counts from 1. A test perturbs the primary here to see the checker catch it.
  std::function<void(Machine& primary, uint64_t block)> after_primary_block;

  // One port access or interrupt acknowledge, as the device side saw it.
  struct Event {
    uint64_t icount;
    char kind;       // 'i' port read, 'o' port write, 'x' interrupt acknowledge
    uint8_t size;    // bytes (port accesses)
    uint16_t port;
    uint32_t value;  // read or written; the vector for 'x' (0xFFFFFFFF: none)
    bool operator==(const Event&) const = default;
  };

 private:
  void watch(Machine& m, std::vector<Event>& events);
  // The differences after one block of each ("" when none), then the whole report.
  std::string compare(const Machine::RunStep& p, const Machine::RunStep& s);
  std::string compare_ram();
  std::string report(const std::string& what);
  int differ(const std::string& what);

  std::array<devices::InputLog, 4> input_logs_;
  std::unique_ptr<Machine> primary_;
  std::unique_ptr<Machine> shadow_;
  std::vector<Event> events_[2];  // this block's, primary then shadow
  std::array<uint64_t, 4> input_mismatches_{};
  uint64_t blocks_ = 0;
  std::string difference_;
};

}  // namespace popek::frontend
