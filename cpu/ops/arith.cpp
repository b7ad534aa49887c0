// Integer addition and subtraction: ADD ADC SUB SBB CMP INC DEC NEG.
//
// Operand 0 is the destination (register or memory), operand 1 the source (register,
// memory or immediate). Memory destinations are read with read_op_rmw so that a fault
// reports a write access, and nothing is written before every read has succeeded.
#include "cpu/cpu.h"
#include "cpu/insn_table.h"
#include "cpu/ops/flags.h"

namespace popek::cpu::ops {

namespace {

enum class AddSub : uint8_t { Add, Adc, Sub, Sbb, Cmp };

Status add_sub(Cpu& c, const Insn& in, AddSub kind) {
  const unsigned size = in.ops[0].size;
  uint32_t a, b;
  if (kind == AddSub::Cmp) {
    TRY(c.read_op(in, 0, a));
  } else {
    TRY(c.read_op_rmw(in, 0, a));
  }
  TRY(read_src(c, in, 1, size, b));
  uint32_t result, flags;
  switch (kind) {
    case AddSub::Add:
    case AddSub::Adc: {
      const uint32_t carry = kind == AddSub::Adc && c.cf();
      result = (a + b + carry) & size_mask(size);
      flags = add_flags(a, b, carry, size);
      break;
    }
    default: {
      const uint32_t borrow = kind == AddSub::Sbb && c.cf();
      result = (a - b - borrow) & size_mask(size);
      flags = sub_flags(a, b, borrow, size);
      break;
    }
  }
  if (kind != AddSub::Cmp) TRY(c.write_op(in, 0, result));
  c.set_flags(flag::ARITH, flags);
  return Status::Ok;
}

}  // namespace

// ADD r/m, r/m/imm
Status add(Cpu& c, const Insn& in) { return add_sub(c, in, AddSub::Add); }

// ADC r/m, r/m/imm
Status adc(Cpu& c, const Insn& in) { return add_sub(c, in, AddSub::Adc); }

// SUB r/m, r/m/imm
Status sub(Cpu& c, const Insn& in) { return add_sub(c, in, AddSub::Sub); }

// SBB r/m, r/m/imm
Status sbb(Cpu& c, const Insn& in) { return add_sub(c, in, AddSub::Sbb); }

// CMP r/m, r/m/imm
Status cmp(Cpu& c, const Insn& in) { return add_sub(c, in, AddSub::Cmp); }

// INC r/m
Status inc(Cpu& c, const Insn& in) {
  const unsigned size = in.ops[0].size;
  uint32_t a;
  TRY(c.read_op_rmw(in, 0, a));
  TRY(c.write_op(in, 0, (a + 1) & size_mask(size)));
  c.set_flags(flag::ARITH & ~flag::CF, add_flags(a, 1, 0, size));  // CF is preserved
  return Status::Ok;
}

// DEC r/m
Status dec(Cpu& c, const Insn& in) {
  const unsigned size = in.ops[0].size;
  uint32_t a;
  TRY(c.read_op_rmw(in, 0, a));
  TRY(c.write_op(in, 0, (a - 1) & size_mask(size)));
  c.set_flags(flag::ARITH & ~flag::CF, sub_flags(a, 1, 0, size));  // CF is preserved
  return Status::Ok;
}

// NEG r/m
Status neg(Cpu& c, const Insn& in) {
  const unsigned size = in.ops[0].size;
  uint32_t a;
  TRY(c.read_op_rmw(in, 0, a));
  TRY(c.write_op(in, 0, (0 - a) & size_mask(size)));
  c.set_flags(flag::ARITH, sub_flags(0, a, 0, size));  // CF = (source != 0)
  return Status::Ok;
}

}  // namespace popek::cpu::ops
