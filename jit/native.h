// The JIT's native tier: decoded guest blocks translated by asmjit into x86-64 host code.
//
// Innocuous instructions in the translatable subset run as host instructions on host
// registers; everything else (sensitive and privileged rows, and forms the translator does
// not emit yet) becomes a callout to Cpu::step, the interpreter's own path. See
// jit/native.cpp for the register assignment and the shape of a translated block.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "cpu/block_cache.h"
#include "cpu/cpu.h"

namespace popek::jit {

// Counters for --stats.
struct Stats {
  uint64_t blocks_translated = 0;
  uint64_t threaded = 0;             // of which 16-bit code, translated call-threaded
  uint64_t blocks_declined = 0;      // not translated: the assembler failed (logged once)
  uint64_t guard_misses = 0;         // translated block run by the interpreter: segments
                                     // or privilege differ from the translation's assumptions
  uint64_t insns_native = 0;         // guest instructions emitted as host code (static)
  uint64_t insns_callout = 0;        // guest instructions emitted as callouts (static)
  uint64_t block_runs = 0;           // translated block executions
  uint64_t chain_links = 0;          // direct branches linked to their target's host code
  uint64_t lookup_hits = 0;          // indirect or cross-page branches continued in host code
  uint64_t slow_accesses = 0;        // memory accesses that missed the inline TLB path
  uint64_t cache_flushes = 0;        // the code cache filled up and was emptied
  uint64_t host_code_bytes = 0;      // host code emitted in all
};

class Native final : public cpu::BlockRunner {
 public:
  // Blocks are translated on their `hot_threshold`-th execution; beyond `max_code` bytes of
  // host code, all of it is dropped (between blocks) and translation starts again.
  explicit Native(cpu::Cpu& cpu, unsigned hot_threshold = 2, size_t max_code = 64u << 20);
  // Change `hot_threshold` for the blocks not translated yet (the fuzzer varies it).
  void set_hot_threshold(unsigned n);
  ~Native() override;
  bool run(cpu::Cpu& cpu, cpu::Block& block) override;
  void release(cpu::Block& block) override;
  void maintain(cpu::Cpu& cpu) override;
  std::string stats_report() const override;

  // From now on, name every piece of host code in `path` (perf's /tmp/perf-PID.map format:
  // address, size, name), so that profiles show guest blocks and stubs. A file that cannot
  // be opened is reported once and ignored.
  void open_perf_map(const std::string& path);

  // The host code of a translated block, disassembled (for failure reports), or "".
  std::string disassemble(const cpu::Block& block) const;

  Stats stats;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace popek::jit
