// Zydis-based decoding of one guest instruction into the compact Insn form.
#pragma once

#include <Zydis/Zydis.h>

#include <cstddef>
#include <cstdint>

#include "cpu/insn.h"

namespace popek::cpu {

// The decoding mode: what changes the meaning of the same bytes.
enum class CodeMode : uint8_t { Real16, Prot16, Prot32 };

enum class DecodeResult : uint8_t {
  Ok,
  Invalid,    // not an instruction (#UD)
  TooLong,    // more than 15 bytes (#GP(0))
  NeedMore,   // the bytes given end inside the instruction
};

class Decoder {
 public:
  Decoder();
  DecodeResult decode(const uint8_t* bytes, size_t avail, CodeMode mode, Insn& out) const;

 private:
  ZydisDecoder real_, prot16_, prot32_;
};

}  // namespace popek::cpu
