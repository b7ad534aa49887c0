// The condition code (0 = O ... 15 = NLE, the low nibble of the opcode) of a Jcc, SETcc
// or CMOVcc row. The .def files list each family in condition-code order.
#pragma once

#include "cpu/insn.h"
#include "cpu/insn_table.h"

namespace popek::cpu::ops {

inline unsigned condition_code(const Insn& in) {
  static const int jo = find_row(ZYDIS_MNEMONIC_JO, Form::Any);
  static const int seto = find_row(ZYDIS_MNEMONIC_SETO, Form::Any);
  static const int cmovo = find_row(ZYDIS_MNEMONIC_CMOVO, Form::Any);
  const int r = in.row;
  if (r >= jo && r < jo + 16) return static_cast<unsigned>(r - jo);
  if (r >= seto && r < seto + 16) return static_cast<unsigned>(r - seto);
  return static_cast<unsigned>(r - cmovo);
}

}  // namespace popek::cpu::ops
