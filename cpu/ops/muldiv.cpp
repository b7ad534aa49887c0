// Multiply and divide: MUL IMUL DIV IDIV.
//
// MUL and one-operand IMUL widen into AX, DX:AX or EDX:EAX; two- and three-operand IMUL
// truncate into the destination register. CF = OF = "the upper half is significant".
// SF/ZF/AF/PF are undefined: SF/ZF/PF are set from the low half of the product and AF
// is cleared, deterministically.
//
// DIV and IDIV raise #DE on a zero divisor and on a quotient that does not fit (for IDIV
// that includes the most negative dividend divided by -1), with every register
// unchanged. Their flags are undefined and left unchanged.
#include "cpu/cpu.h"
#include "cpu/insn_table.h"
#include "cpu/ops/flags.h"

namespace popek::cpu::ops {

namespace {

// Writes a double-width product or a dividend-sized pair: AX for bytes (hi in AH),
// DX:AX for words, EDX:EAX for dwords.
void write_pair(Cpu& c, unsigned size, uint32_t lo, uint32_t hi) {
  if (size == 1) {
    c.set_gpr(EAX, 2, (lo & 0xFF) | ((hi & 0xFF) << 8));
  } else {
    c.set_gpr(EAX, size, lo);
    c.set_gpr(EDX, size, hi);
  }
}

// The dividend of DIV/IDIV (AX, DX:AX or EDX:EAX), zero-extended.
uint64_t read_dividend(const Cpu& c, unsigned size) {
  if (size == 1) return c.gpr(EAX, 2);
  return (static_cast<uint64_t>(c.gpr(EDX, size)) << (size * 8)) | c.gpr(EAX, size);
}

void set_mul_flags(Cpu& c, uint32_t lo, unsigned size, bool significant_high) {
  c.set_flags(flag::ARITH,
              szp_flags(lo, size) | (significant_high ? flag::CF | flag::OF : 0));
}

}  // namespace

// MUL r/m8  |  MUL r/m16  |  MUL r/m32
Status mul(Cpu& c, const Insn& in) {
  const unsigned size = in.ops[0].size;
  uint32_t src;
  TRY(c.read_op(in, 0, src));
  const uint64_t product = static_cast<uint64_t>(c.gpr(EAX, size)) * src;
  const uint32_t lo = static_cast<uint32_t>(product) & size_mask(size);
  const uint32_t hi = static_cast<uint32_t>(product >> (size * 8)) & size_mask(size);
  write_pair(c, size, lo, hi);
  set_mul_flags(c, lo, size, hi != 0);
  return Status::Ok;
}

// IMUL r/m  |  IMUL r, r/m  |  IMUL r, r/m, imm
Status imul(Cpu& c, const Insn& in) {
  const unsigned size = in.ops[0].size;
  int64_t a, b;
  if (in.nops == 1) {
    uint32_t src;
    TRY(c.read_op(in, 0, src));
    a = sign_extend(c.gpr(EAX, size), size);
    b = sign_extend(src, size);
  } else {
    // Two operands multiply the destination by the source; three multiply the source
    // by the immediate.
    uint32_t x, y;
    TRY(read_src(c, in, in.nops == 2 ? 0 : 1, size, x));
    TRY(read_src(c, in, in.nops == 2 ? 1 : 2, size, y));
    a = sign_extend(x, size);
    b = sign_extend(y, size);
  }
  const int64_t product = a * b;
  const uint32_t lo = static_cast<uint32_t>(product) & size_mask(size);
  const bool significant_high = product != sign_extend(lo, size);
  if (in.nops == 1) {
    write_pair(c, size, lo, static_cast<uint32_t>(product >> (size * 8)) & size_mask(size));
  } else {
    TRY(c.write_op(in, 0, lo));
  }
  set_mul_flags(c, lo, size, significant_high);
  return Status::Ok;
}

// DIV r/m8  |  DIV r/m16  |  DIV r/m32
Status div(Cpu& c, const Insn& in) {
  const unsigned size = in.ops[0].size;
  uint32_t divisor;
  TRY(c.read_op(in, 0, divisor));
  if (divisor == 0) return c.raise(vec::DE);
  const uint64_t dividend = read_dividend(c, size);
  const uint64_t quotient = dividend / divisor;
  if (quotient > size_mask(size)) return c.raise(vec::DE);
  write_pair(c, size, static_cast<uint32_t>(quotient), static_cast<uint32_t>(dividend % divisor));
  return Status::Ok;
}

// IDIV r/m8  |  IDIV r/m16  |  IDIV r/m32
Status idiv(Cpu& c, const Insn& in) {
  const unsigned size = in.ops[0].size;
  const unsigned bits = size * 8;
  uint32_t src;
  TRY(c.read_op(in, 0, src));
  const int64_t divisor = sign_extend(src, size);
  if (divisor == 0) return c.raise(vec::DE);
  // The dividend is twice the operand width, sign-extended to 64 bits.
  const uint64_t raw = read_dividend(c, size);
  const int64_t dividend =
      size == 4 ? static_cast<int64_t>(raw)
                : static_cast<int64_t>(raw << (64 - 2 * bits)) >> (64 - 2 * bits);
  // INT64_MIN / -1 overflows in C++; it can only come from the 32-bit form, where its
  // quotient (2^63) is out of range anyway.
  if (dividend == INT64_MIN && divisor == -1) return c.raise(vec::DE);
  const int64_t quotient = dividend / divisor;  // truncates toward zero, as IDIV does
  const int64_t remainder = dividend % divisor;  // has the dividend's sign
  const int64_t lo = -(int64_t{1} << (bits - 1)), hi = (int64_t{1} << (bits - 1)) - 1;
  if (quotient < lo || quotient > hi) return c.raise(vec::DE);
  write_pair(c, size, static_cast<uint32_t>(quotient) & size_mask(size),
             static_cast<uint32_t>(remainder) & size_mask(size));
  return Status::Ok;
}

}  // namespace popek::cpu::ops
