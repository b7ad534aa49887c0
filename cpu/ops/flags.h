// Arithmetic-flag computation shared by the integer instruction groups (arith, logic,
// shift, bit, muldiv, bcd), plus the one operand helper they all need.
//
// Every function here returns a set of EFLAGS bits; the caller decides which of them the
// instruction changes (Cpu::set_flags with a mask). Values are always kept zero-extended
// to 32 bits and `size` is the operand size in bytes (1, 2 or 4).
#pragma once

#include <cstdint>

#include "cpu/cpu.h"
#include "cpu/cpu_state.h"
#include "cpu/insn.h"

namespace popek::cpu::ops {

constexpr uint32_t size_mask(unsigned size) {
  return size >= 4 ? 0xFFFFFFFFu : (1u << (size * 8)) - 1;
}

constexpr uint32_t sign_bit(unsigned size) { return 1u << (size * 8 - 1); }

// Sign-extends the low `size` bytes of v.
constexpr int32_t sign_extend(uint32_t v, unsigned size) {
  if (size == 1) return static_cast<int8_t>(v);
  if (size == 2) return static_cast<int16_t>(v);
  return static_cast<int32_t>(v);
}

// PF: set when the low byte of the result has an even number of 1 bits.
constexpr uint32_t parity_flag(uint32_t result) {
  return (__builtin_popcount(result & 0xFF) & 1) ? 0 : flag::PF;
}

// SF, ZF and PF of a result of `size` bytes.
constexpr uint32_t szp_flags(uint32_t result, unsigned size) {
  result &= size_mask(size);
  uint32_t f = parity_flag(result);
  if (result == 0) f |= flag::ZF;
  if (result & sign_bit(size)) f |= flag::SF;
  return f;
}

// All six arithmetic flags of a + b + carry_in.
constexpr uint32_t add_flags(uint32_t a, uint32_t b, uint32_t carry_in, unsigned size) {
  const uint64_t wide = static_cast<uint64_t>(a) + b + carry_in;
  const uint32_t r = static_cast<uint32_t>(wide) & size_mask(size);
  uint32_t f = szp_flags(r, size);
  if (wide > size_mask(size)) f |= flag::CF;
  if ((a ^ r) & (b ^ r) & sign_bit(size)) f |= flag::OF;
  if ((a ^ b ^ r) & 0x10) f |= flag::AF;
  return f;
}

// All six arithmetic flags of a - b - borrow_in (CF is the borrow).
constexpr uint32_t sub_flags(uint32_t a, uint32_t b, uint32_t borrow_in, unsigned size) {
  const uint32_t r = (a - b - borrow_in) & size_mask(size);
  uint32_t f = szp_flags(r, size);
  if (static_cast<uint64_t>(a) < static_cast<uint64_t>(b) + borrow_in) f |= flag::CF;
  if ((a ^ b) & (a ^ r) & sign_bit(size)) f |= flag::OF;
  if ((a ^ b ^ r) & 0x10) f |= flag::AF;
  return f;
}

// AND/OR/XOR/TEST: CF = OF = 0, SF/ZF/PF from the result. AF is undefined; Intel
// processors clear it.
constexpr uint32_t logic_flags(uint32_t result, unsigned size) { return szp_flags(result, size); }

// Reads source operand i for an operation of `size` bytes. Immediates are sign-extended
// by the decoder to 32 bits (imm8 forms such as `add r/m32, imm8`), so they are cut to
// the operation's size here rather than to the immediate's encoded size.
inline Status read_src(Cpu& c, const Insn& in, int i, unsigned size, uint32_t& v) {
  if (in.ops[i].kind == OpKind::Imm) {
    v = in.ops[i].disp & size_mask(size);
    return Status::Ok;
  }
  return c.read_op(in, i, v);
}

}  // namespace popek::cpu::ops
