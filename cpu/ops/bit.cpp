// Bit test and scan: BT BTS BTR BTC BSF BSR.
//
// BT*: CF receives the selected bit; ZF is preserved; OF/SF/AF/PF are undefined and
// preserved. With a register operand as the bit base the offset is taken modulo the
// operand width. With a memory base, an immediate offset is taken modulo the width too,
// but a register offset is signed and selects a bit anywhere in the bit string that
// starts at the operand: the access moves by (offset >> 4) words or (offset >> 5)
// dwords (arithmetic shift) from the effective address.
//
// BSF/BSR: ZF = (source == 0); a zero source leaves the destination unchanged (as Intel
// and AMD processors do). CF/OF/SF/AF/PF are undefined and preserved.
#include "cpu/cpu.h"
#include "cpu/insn_table.h"
#include "cpu/ops/flags.h"

namespace popek::cpu::ops {

namespace {

enum class BitOp : uint8_t { Test, Set, Reset, Complement };

Status bit_test(Cpu& c, const Insn& in, BitOp kind) {
  const unsigned size = in.ops[0].size;
  const unsigned bits = size * 8;
  uint32_t offset;
  TRY(read_src(c, in, 1, size, offset));
  Insn at = in;  // the instruction with operand 0 moved to the addressed word/dword
  unsigned bit;
  if (in.ops[0].kind == OpKind::Mem && in.ops[1].kind == OpKind::Reg) {
    const int32_t soff = sign_extend(offset, size);
    const int32_t units = soff >> (size == 2 ? 4 : 5);  // arithmetic: rounds down
    at.ops[0].disp += static_cast<uint32_t>(units) * size;
    bit = static_cast<uint32_t>(soff) & (bits - 1);
  } else {
    bit = offset & (bits - 1);
  }
  uint32_t v;
  if (kind == BitOp::Test) {
    TRY(c.read_op(at, 0, v));
  } else {
    TRY(c.read_op_rmw(at, 0, v));
  }
  const uint32_t m = 1u << bit;
  const bool old = v & m;
  switch (kind) {
    case BitOp::Test: break;
    case BitOp::Set: TRY(c.write_op(at, 0, v | m)); break;
    case BitOp::Reset: TRY(c.write_op(at, 0, v & ~m)); break;
    case BitOp::Complement: TRY(c.write_op(at, 0, v ^ m)); break;
  }
  c.set_flags(flag::CF, old ? flag::CF : 0);
  return Status::Ok;
}

Status bit_scan(Cpu& c, const Insn& in, bool forward) {
  const unsigned size = in.ops[0].size;
  uint32_t src;
  TRY(read_src(c, in, 1, size, src));
  if (src == 0) {
    c.set_flags(flag::ZF, flag::ZF);
    return Status::Ok;
  }
  const uint32_t index = forward ? __builtin_ctz(src) : 31 - __builtin_clz(src);
  TRY(c.write_op(in, 0, index));
  c.set_flags(flag::ZF, 0);
  return Status::Ok;
}

}  // namespace

// BT r/m, r  |  BT r/m, imm8
Status bt(Cpu& c, const Insn& in) { return bit_test(c, in, BitOp::Test); }

// BTS r/m, r  |  BTS r/m, imm8
Status bts(Cpu& c, const Insn& in) { return bit_test(c, in, BitOp::Set); }

// BTR r/m, r  |  BTR r/m, imm8
Status btr(Cpu& c, const Insn& in) { return bit_test(c, in, BitOp::Reset); }

// BTC r/m, r  |  BTC r/m, imm8
Status btc(Cpu& c, const Insn& in) { return bit_test(c, in, BitOp::Complement); }

// BSF r, r/m
Status bsf(Cpu& c, const Insn& in) { return bit_scan(c, in, true); }

// BSR r, r/m
Status bsr(Cpu& c, const Insn& in) { return bit_scan(c, in, false); }

}  // namespace popek::cpu::ops
