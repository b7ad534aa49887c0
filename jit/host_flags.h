// Which flags the SDM leaves undefined come out of this host processor exactly as popek's
// interpreter computes them.
//
// The JIT runs shifts, multiplies and bit tests as the host's own instructions. Where the
// manual leaves a flag undefined (AF after SHL, SF/ZF/PF after IMUL, ...), the host's value
// may differ from the interpreter's, and the translator then keeps the instruction native
// only where that flag is dead. This probe runs each such form on the host and through
// the interpreter's semantic function on a few hundred inputs (edge values and a fixed
// pseudo-random sequence) and reports the undefined flags that always agreed: those the
// translator may treat as defined. The answer is per form class (mnemonic, operand size,
// kind of count) and computed once.
#pragma once

#include <asmjit/asmjit.h>

#include <cstdint>
#include <map>
#include <tuple>

#include "cpu/cpu.h"
#include "cpu/decoder.h"
#include "cpu/insn.h"

namespace popek::jit {

class HostFlagsProbe {
 public:
  HostFlagsProbe(cpu::Cpu& cpu, asmjit::JitRuntime& rt) : cpu_(cpu), rt_(rt) {}
  // The flags of `undef` that the host computes as the interpreter does for `in`'s class.
  uint32_t agreeing(const cpu::Insn& in, uint32_t undef);

 private:
  // Class of a form: mnemonic, operand size, count kind (0 none, 1 count 1, 2 imm > 1, 3 CL).
  using Key = std::tuple<uint16_t, uint8_t, uint8_t>;
  uint32_t probe(const Key& key, uint32_t undef);
  // Disagreeing undefined flags of one encoding over the inputs (~0u if it cannot be run).
  uint32_t run_form(const uint8_t* bytes, unsigned len, uint32_t undef, bool random_cl);

  cpu::Cpu& cpu_;
  asmjit::JitRuntime& rt_;
  cpu::Decoder decoder_;
  std::map<Key, uint32_t> known_;
};

}  // namespace popek::jit
