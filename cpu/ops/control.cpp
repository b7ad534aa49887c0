// Near control transfers, loops and software interrupts (rows in cpu/ops/control.def).
#include <Zydis/Zydis.h>

#include "cpu/cpu.h"
#include "cpu/ops/cc.h"

namespace popek::cpu::ops {

namespace {
// Target of a near branch: relative immediate or absolute r/m.
Status near_target(Cpu& c, const Insn& in, uint32_t& target) {
  if (in.ops[0].kind == OpKind::Imm) {
    target = c.next_eip() + in.ops[0].disp;
    return Status::Ok;
  }
  return c.read_op(in, 0, target);
}
}  // namespace

// JMP rel8/rel16/rel32 / JMP r/m16/r/m32
Status jmp(Cpu& c, const Insn& in) {
  uint32_t t;
  TRY(near_target(c, in, t));
  return c.branch_near(in, t);
}

// CALL rel16/rel32 / CALL r/m16/r/m32
Status call(Cpu& c, const Insn& in) {
  uint32_t t;
  TRY(near_target(c, in, t));
  if (in.opsize == 2) t &= 0xFFFF;
  if (t > c.s.seg[CS].limit) return c.gp(0);
  TRY(c.push(c.next_eip(), in.opsize));
  c.set_next_eip(t);
  return Status::Ok;
}

// RET / RET imm16
Status ret(Cpu& c, const Insn& in) {
  const unsigned w = in.opsize;
  uint32_t t;
  TRY(c.stack_read(0, w, t));
  if (t > c.s.seg[CS].limit) return c.gp(0);
  const uint32_t imm = in.nops > 0 ? (in.ops[0].disp & 0xFFFF) : 0;
  c.add_sp(static_cast<int32_t>(w + imm));
  c.set_next_eip(t);
  return Status::Ok;
}

// Jcc rel8/rel16/rel32
Status jcc(Cpu& c, const Insn& in) {
  if (!c.condition(condition_code(in))) return Status::Ok;
  return c.branch_near(in, c.next_eip() + in.ops[0].disp);
}

// JCXZ rel8 / JECXZ rel8 (the count register follows the address size)
Status jcxz(Cpu& c, const Insn& in) {
  if (c.gpr(ECX, in.addrsize) != 0) return Status::Ok;
  return c.branch_near(in, c.next_eip() + in.ops[0].disp);
}

// LOOP rel8 / LOOPE rel8 / LOOPNE rel8
Status loop(Cpu& c, const Insn& in) {
  const uint32_t count = (c.gpr(ECX, in.addrsize) - 1) & (in.addrsize == 2 ? 0xFFFF : 0xFFFFFFFF);
  bool take = count != 0;
  if (in.mnemonic == ZYDIS_MNEMONIC_LOOPE) take = take && c.zf();
  if (in.mnemonic == ZYDIS_MNEMONIC_LOOPNE) take = take && !c.zf();
  if (take) TRY(c.branch_near(in, c.next_eip() + in.ops[0].disp));
  c.set_gpr(ECX, in.addrsize, count);
  return Status::Ok;
}

// INT imm8
Status int_n(Cpu& c, const Insn& in) {
  if (c.v86() && c.iopl() < 3) return c.gp(0);
  return c.interrupt(static_cast<uint8_t>(in.ops[0].disp), IntSource::Software, false, 0, c.next_eip());
}

// INT3
Status int3(Cpu& c, const Insn&) {
  return c.interrupt(vec::BP, IntSource::Software, false, 0, c.next_eip());
}

// INTO
Status into(Cpu& c, const Insn&) {
  if (!c.of()) return Status::Ok;
  return c.interrupt(vec::OF, IntSource::Software, false, 0, c.next_eip());
}

// INT1 (ICEBP): a #DB trap delivered without the gate-DPL check of INT n.
Status int1(Cpu& c, const Insn&) {
  return c.interrupt(vec::DB, IntSource::Exception, false, 0, c.next_eip());
}

// BOUND r16, m16&16 / BOUND r32, m32&32
Status bound(Cpu& c, const Insn& in) {
  const Operand& m = in.ops[1];
  if (m.kind != OpKind::Mem) return c.ud();
  const unsigned w = in.opsize;
  const uint32_t off = c.ea(in, m);
  uint32_t lo, hi;
  TRY(c.read_mem(m.seg, off, w, lo));
  TRY(c.read_mem(m.seg, (off + w) & (in.addrsize == 2 ? 0xFFFF : 0xFFFFFFFF), w, hi));
  int32_t idx = static_cast<int32_t>(c.gpr(in.ops[0].reg, w));
  int32_t l = static_cast<int32_t>(lo), h = static_cast<int32_t>(hi);
  if (w == 2) {
    idx = static_cast<int16_t>(idx);
    l = static_cast<int16_t>(l);
    h = static_cast<int16_t>(h);
  }
  if (idx < l || idx > h) return c.raise(vec::BR);
  return Status::Ok;
}

}  // namespace popek::cpu::ops
