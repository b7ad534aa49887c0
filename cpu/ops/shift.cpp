// Shifts and rotates: SHL SHR SAR ROL ROR RCL RCR SHLD SHRD.
//
// The count (imm8, CL or the implicit 1, which the decoder presents as an immediate) is
// masked to 5 bits. A masked count of 0 changes nothing, not even flags. OF is defined
// only for a count of 1; for larger counts the formula of count 1 is applied to the
// result, as Intel processors do. AF is undefined for shifts and cleared. CF of SHL/SHR
// with a count at least the operand width is undefined; the shifter here behaves as a
// 64-bit one (the last bit out, 0 once the count passes the width).
#include "cpu/cpu.h"
#include "cpu/insn_table.h"
#include "cpu/ops/flags.h"

namespace popek::cpu::ops {

namespace {

Status read_count(Cpu& c, const Insn& in, int i, unsigned& count) {
  uint32_t v = 1;
  if (i < in.nops) TRY(read_src(c, in, i, 1, v));
  count = v & 0x1F;
  return Status::Ok;
}

enum class Shift : uint8_t { Shl, Shr, Sar };

Status shift(Cpu& c, const Insn& in, Shift kind) {
  const unsigned size = in.ops[0].size;
  const unsigned bits = size * 8;
  const uint32_t msb = sign_bit(size);
  uint32_t v;
  unsigned count;
  TRY(c.read_op_rmw(in, 0, v));
  TRY(read_count(c, in, 1, count));
  if (count == 0) return Status::Ok;
  uint32_t result, cf, of;
  switch (kind) {
    case Shift::Shl: {
      const uint64_t wide = static_cast<uint64_t>(v) << count;
      result = static_cast<uint32_t>(wide) & size_mask(size);
      cf = (wide >> bits) & 1;
      of = ((result & msb) != 0) != (cf != 0);
      break;
    }
    case Shift::Shr:
      result = static_cast<uint32_t>(static_cast<uint64_t>(v) >> count);
      cf = (static_cast<uint64_t>(v) >> (count - 1)) & 1;
      of = (v & msb) != 0;
      break;
    default: {
      const int64_t sv = sign_extend(v, size);
      result = static_cast<uint32_t>(sv >> count) & size_mask(size);
      cf = (sv >> (count - 1)) & 1;
      of = 0;
      break;
    }
  }
  TRY(c.write_op(in, 0, result));
  c.set_flags(flag::ARITH,
              szp_flags(result, size) | (cf ? flag::CF : 0) | (of ? flag::OF : 0));
  return Status::Ok;
}

enum class Rotate : uint8_t { Rol, Ror, Rcl, Rcr };

// Rotates v, `width` bits wide (at most 33), left by n (0 <= n < width).
uint64_t rotl_width(uint64_t v, unsigned n, unsigned width) {
  if (n == 0) return v;
  const uint64_t mask = (uint64_t{1} << width) - 1;
  return ((v << n) | (v >> (width - n))) & mask;
}

Status rotate(Cpu& c, const Insn& in, Rotate kind) {
  const unsigned size = in.ops[0].size;
  const unsigned bits = size * 8;
  const uint32_t msb = sign_bit(size);
  uint32_t v;
  unsigned count;
  TRY(c.read_op_rmw(in, 0, v));
  TRY(read_count(c, in, 1, count));
  if (count == 0) return Status::Ok;
  uint32_t result;
  bool cf;
  switch (kind) {
    case Rotate::Rol:
      result = static_cast<uint32_t>(rotl_width(v, count % bits, bits));
      cf = result & 1;
      break;
    case Rotate::Ror:
      result = static_cast<uint32_t>(rotl_width(v, (bits - count % bits) % bits, bits));
      cf = result & msb;
      break;
    default: {
      // RCL/RCR rotate the operand and CF together, bits + 1 wide: the count is taken
      // modulo 9 (byte) or 17 (word) after the 5-bit mask.
      const unsigned width = bits + 1;
      const unsigned n = count % width;
      const uint64_t x = (static_cast<uint64_t>(c.cf()) << bits) | v;
      const uint64_t y = rotl_width(x, kind == Rotate::Rcl ? n : (width - n) % width, width);
      result = static_cast<uint32_t>(y) & size_mask(size);
      cf = (y >> bits) & 1;
      break;
    }
  }
  bool of;
  if (kind == Rotate::Rol || kind == Rotate::Rcl) {
    of = ((result & msb) != 0) != cf;  // MSB(result) XOR CF
  } else {
    of = ((result & msb) != 0) != ((result & (msb >> 1)) != 0);  // two top bits differ
  }
  TRY(c.write_op(in, 0, result));
  c.set_flags(flag::CF | flag::OF, (cf ? flag::CF : 0) | (of ? flag::OF : 0));
  return Status::Ok;
}

// SHLD/SHRD. Operand 0 is shifted, operand 1 supplies the bits shifted in, operand 2 is
// the count. A 16-bit form with a count above 16 is undefined; it is computed on the
// 48-bit pattern dest:src:dest, which continues into the destination's own bits.
Status double_shift(Cpu& c, const Insn& in, bool left) {
  const unsigned size = in.ops[0].size;
  const uint32_t msb = sign_bit(size);
  uint32_t dest, src;
  unsigned count;
  TRY(c.read_op_rmw(in, 0, dest));
  TRY(read_src(c, in, 1, size, src));
  TRY(read_count(c, in, 2, count));
  if (count == 0) return Status::Ok;
  uint32_t result;
  bool cf;
  if (size == 2) {
    const uint64_t x = (static_cast<uint64_t>(dest) << 32) | (static_cast<uint64_t>(src) << 16) | dest;
    if (left) {
      result = static_cast<uint32_t>((x << count) >> 32) & 0xFFFF;
      cf = (x >> (48 - count)) & 1;
    } else {
      result = static_cast<uint32_t>(x >> count) & 0xFFFF;
      cf = (x >> (count - 1)) & 1;
    }
  } else if (left) {
    const uint64_t x = (static_cast<uint64_t>(dest) << 32) | src;
    result = static_cast<uint32_t>((x << count) >> 32);
    cf = (x >> (64 - count)) & 1;
  } else {
    const uint64_t x = (static_cast<uint64_t>(src) << 32) | dest;
    result = static_cast<uint32_t>(x >> count);
    cf = (x >> (count - 1)) & 1;
  }
  const bool of = ((result ^ dest) & msb) != 0;  // the sign changed
  TRY(c.write_op(in, 0, result));
  c.set_flags(flag::ARITH,
              szp_flags(result, size) | (cf ? flag::CF : 0) | (of ? flag::OF : 0));
  return Status::Ok;
}

}  // namespace

// SHL r/m, 1/CL/imm8  (SAL is the same instruction)
Status shl(Cpu& c, const Insn& in) { return shift(c, in, Shift::Shl); }

// SHR r/m, 1/CL/imm8
Status shr(Cpu& c, const Insn& in) { return shift(c, in, Shift::Shr); }

// SAR r/m, 1/CL/imm8
Status sar(Cpu& c, const Insn& in) { return shift(c, in, Shift::Sar); }

// ROL r/m, 1/CL/imm8
Status rol(Cpu& c, const Insn& in) { return rotate(c, in, Rotate::Rol); }

// ROR r/m, 1/CL/imm8
Status ror(Cpu& c, const Insn& in) { return rotate(c, in, Rotate::Ror); }

// RCL r/m, 1/CL/imm8
Status rcl(Cpu& c, const Insn& in) { return rotate(c, in, Rotate::Rcl); }

// RCR r/m, 1/CL/imm8
Status rcr(Cpu& c, const Insn& in) { return rotate(c, in, Rotate::Rcr); }

// SHLD r/m16, r16, imm8/CL  |  SHLD r/m32, r32, imm8/CL
Status shld(Cpu& c, const Insn& in) { return double_shift(c, in, true); }

// SHRD r/m16, r16, imm8/CL  |  SHRD r/m32, r32, imm8/CL
Status shrd(Cpu& c, const Insn& in) { return double_shift(c, in, false); }

}  // namespace popek::cpu::ops
