// The first JIT tier: call-threaded translation with asmjit.
//
// A hot block becomes one host function that calls Cpu::step for each of its
// instructions in turn and leaves at the first one that ends the block early (a fault,
// a taken branch is always last anyway). It removes the interpreter's dispatch loop and
// shares every semantic function with it, so the two engines cannot disagree on what an
// instruction means; later tiers inline the innocuous instructions as host code.
#pragma once

#include <asmjit/asmjit.h>

#include <cstdint>

#include "cpu/block_cache.h"
#include "cpu/cpu.h"

namespace popek::jit {

class CallThreaded final : public cpu::BlockRunner {
 public:
  // Blocks are translated on their `hot_threshold`-th execution.
  explicit CallThreaded(unsigned hot_threshold = 2) : hot_threshold_(hot_threshold) {}
  bool run(cpu::Cpu& cpu, cpu::Block& block) override;
  void release(cpu::Block& block) override;

  uint64_t blocks_translated = 0;
  uint64_t translation_failures = 0;

 private:
  using BlockFn = void (*)(cpu::Cpu*);
  bool translate(cpu::Block& block);

  asmjit::JitRuntime rt_;
  unsigned hot_threshold_;
};

}  // namespace popek::jit
