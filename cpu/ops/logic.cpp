// Bitwise logic: AND OR XOR NOT TEST.
//
// AND/OR/XOR/TEST clear CF and OF and set SF/ZF/PF from the result; AF is undefined and
// cleared, as Intel processors do. NOT changes no flag.
#include "cpu/cpu.h"
#include "cpu/insn_table.h"
#include "cpu/ops/flags.h"

namespace popek::cpu::ops {

namespace {

enum class Logic : uint8_t { And, Or, Xor, Test };

Status logic(Cpu& c, const Insn& in, Logic kind) {
  const unsigned size = in.ops[0].size;
  uint32_t a, b;
  if (kind == Logic::Test) {
    TRY(c.read_op(in, 0, a));
  } else {
    TRY(c.read_op_rmw(in, 0, a));
  }
  TRY(read_src(c, in, 1, size, b));
  uint32_t result;
  switch (kind) {
    case Logic::Or: result = a | b; break;
    case Logic::Xor: result = a ^ b; break;
    default: result = a & b; break;
  }
  if (kind != Logic::Test) TRY(c.write_op(in, 0, result));
  c.set_flags(flag::ARITH, logic_flags(result, size));
  return Status::Ok;
}

}  // namespace

// AND r/m, r/m/imm
Status and_(Cpu& c, const Insn& in) { return logic(c, in, Logic::And); }

// OR r/m, r/m/imm
Status or_(Cpu& c, const Insn& in) { return logic(c, in, Logic::Or); }

// XOR r/m, r/m/imm
Status xor_(Cpu& c, const Insn& in) { return logic(c, in, Logic::Xor); }

// TEST r/m, r/imm
Status test(Cpu& c, const Insn& in) { return logic(c, in, Logic::Test); }

// NOT r/m
Status not_(Cpu& c, const Insn& in) {
  uint32_t a;
  TRY(c.read_op_rmw(in, 0, a));
  return c.write_op(in, 0, ~a & size_mask(in.ops[0].size));
}

}  // namespace popek::cpu::ops
