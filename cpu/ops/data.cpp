// Data movement, stack and conversion instructions (rows in cpu/ops/data.def).
#include "cpu/cpu.h"
#include "cpu/insn_table.h"
#include "cpu/ops/cc.h"
#include "cpu/ops/flags.h"

namespace popek::cpu::ops {

namespace {
uint32_t sext(uint32_t v, unsigned size) {
  if (size == 1) return static_cast<uint32_t>(static_cast<int32_t>(static_cast<int8_t>(v)));
  if (size == 2) return static_cast<uint32_t>(static_cast<int32_t>(static_cast<int16_t>(v)));
  return v;
}
uint32_t stack_mask(const Cpu& c) { return c.stack32() ? 0xFFFFFFFFu : 0xFFFFu; }
}  // namespace

// MOV r/m, r / MOV r, r/m / MOV r/m, imm / MOV moffs forms
// MOVZX r, r/m8 / MOVZX r, r/m16 (operands read zero-extended: the same function)
Status mov(Cpu& c, const Insn& in) {
  uint32_t v;
  TRY(c.read_op(in, 1, v));
  return c.write_op(in, 0, v);
}

// MOVSX r, r/m8 / MOVSX r, r/m16
Status movsx(Cpu& c, const Insn& in) {
  uint32_t v;
  TRY(c.read_op(in, 1, v));
  return c.write_op(in, 0, sext(v, in.ops[1].size));
}

// XCHG r/m, r / XCHG eAX, r
Status xchg(Cpu& c, const Insn& in) {
  uint32_t a, b;
  TRY(c.read_op_rmw(in, 0, a));
  TRY(c.read_op_rmw(in, 1, b));
  // A memory operand is written first: it is the only write that can fault.
  if (in.ops[1].kind == OpKind::Mem) {
    TRY(c.write_op(in, 1, a));
    return c.write_op(in, 0, b);
  }
  TRY(c.write_op(in, 0, b));
  return c.write_op(in, 1, a);
}

// BSWAP r32 (with a 16-bit operand the result is undefined; P6 parts clear the word)
Status bswap(Cpu& c, const Insn& in) {
  const unsigned r = in.ops[0].reg;
  if (in.ops[0].size == 2) {
    c.set_gpr(r, 2, 0);
    return Status::Ok;
  }
  c.s.gpr[r] = __builtin_bswap32(c.s.gpr[r]);
  return Status::Ok;
}

// XADD r/m, r
Status xadd(Cpu& c, const Insn& in) {
  const unsigned w = in.ops[0].size;
  uint32_t dst, src;
  TRY(c.read_op_rmw(in, 0, dst));
  TRY(c.read_op(in, 1, src));
  const uint32_t sum = (dst + src) & size_mask(w);
  // The register gets the old destination first, so `xadd r, r` on one register ends
  // with the sum, as on the processor.
  if (in.ops[0].kind == OpKind::Mem) {
    TRY(c.write_op(in, 0, sum));
    TRY(c.write_op(in, 1, dst));
  } else {
    TRY(c.write_op(in, 1, dst));
    TRY(c.write_op(in, 0, sum));
  }
  c.set_flags(flag::ARITH, add_flags(dst, src, 0, w));
  return Status::Ok;
}

// CMPXCHG r/m, r (compares with AL/AX/EAX; the destination is always written)
Status cmpxchg(Cpu& c, const Insn& in) {
  const unsigned w = in.ops[0].size;
  uint32_t dst, src;
  TRY(c.read_op_rmw(in, 0, dst));
  TRY(c.read_op(in, 1, src));
  const uint32_t acc = c.gpr(EAX, w);
  const uint32_t f = sub_flags(acc, dst, 0, w);
  if (acc == dst) {
    TRY(c.write_op(in, 0, src));
  } else {
    // The processor writes the destination back unchanged (a locked cycle always writes).
    if (in.ops[0].kind == OpKind::Mem) TRY(c.write_op(in, 0, dst));
    c.set_gpr(EAX, w, dst);
  }
  c.set_flags(flag::ARITH, f);
  return Status::Ok;
}

// CMPXCHG8B m64
Status cmpxchg8b(Cpu& c, const Insn& in) {
  const Operand& op = in.ops[0];
  if (op.kind != OpKind::Mem) return c.ud();
  const uint32_t off = c.ea(in, op);
  uint64_t old;
  uint32_t lin;
  TRY(c.check_seg(op.seg, off, 8, true, lin));
  TRY(c.read_mem64(op.seg, off, old));
  const uint64_t cmp = (static_cast<uint64_t>(c.s.gpr[EDX]) << 32) | c.s.gpr[EAX];
  if (old == cmp) {
    TRY(c.write_mem64(op.seg, off, (static_cast<uint64_t>(c.s.gpr[ECX]) << 32) | c.s.gpr[EBX]));
    c.set_flags(flag::ZF, flag::ZF);
  } else {
    // The processor writes the old value back (the locked cycle always writes).
    TRY(c.write_mem64(op.seg, off, old));
    c.s.gpr[EAX] = static_cast<uint32_t>(old);
    c.s.gpr[EDX] = static_cast<uint32_t>(old >> 32);
    c.set_flags(flag::ZF, 0);
  }
  return Status::Ok;
}

// CMOVcc r, r/m (the source is read, and may fault, even when the condition is false)
Status cmovcc(Cpu& c, const Insn& in) {
  uint32_t v;
  TRY(c.read_op(in, 1, v));
  if (c.condition(condition_code(in))) return c.write_op(in, 0, v);
  return Status::Ok;
}

// SETcc r/m8
Status setcc(Cpu& c, const Insn& in) {
  return c.write_op(in, 0, c.condition(condition_code(in)) ? 1 : 0);
}

// LEA r, m
Status lea(Cpu& c, const Insn& in) {
  if (in.ops[1].kind != OpKind::Mem) return c.ud();
  return c.write_op(in, 0, c.ea(in, in.ops[1]));
}

// PUSH r/m / PUSH r / PUSH imm
Status push(Cpu& c, const Insn& in) {
  uint32_t v;
  TRY(c.read_op(in, 0, v));
  return c.push(v, in.opsize);
}

// POP r/m / POP r  (a memory destination is addressed with ESP already incremented)
Status pop(Cpu& c, const Insn& in) {
  uint32_t v;
  TRY(c.stack_read(0, in.opsize, v));
  const uint32_t old_esp = c.s.gpr[ESP];
  c.add_sp(static_cast<int32_t>(in.opsize));
  const Status st = c.write_op(in, 0, v);
  if (st != Status::Ok) c.s.gpr[ESP] = old_esp;
  return st;
}

// PUSHA / PUSHAD
Status pusha(Cpu& c, const Insn& in) {
  const unsigned w = in.opsize;
  const uint32_t sp0 = c.s.gpr[ESP];
  for (unsigned i = 0; i < 8; ++i) {
    const uint32_t v = (i == ESP) ? sp0 : c.s.gpr[i];
    TRY(c.stack_write(-static_cast<int32_t>((i + 1) * w), w, v));
  }
  c.add_sp(-static_cast<int32_t>(8 * w));
  return Status::Ok;
}

// POPA / POPAD (the stored ESP is skipped)
Status popa(Cpu& c, const Insn& in) {
  const unsigned w = in.opsize;
  uint32_t v[8];
  for (unsigned i = 0; i < 8; ++i) TRY(c.stack_read((7 - i) * w, w, v[i]));
  for (unsigned i = 0; i < 8; ++i) {
    if (i != ESP) c.set_gpr(i, w, v[i]);
  }
  c.add_sp(static_cast<int32_t>(8 * w));
  return Status::Ok;
}

// ENTER imm16, imm8
Status enter(Cpu& c, const Insn& in) {
  const unsigned w = in.opsize;
  const uint32_t alloc = in.ops[0].disp & 0xFFFF;
  const unsigned level = in.ops[1].disp & 31;
  const uint32_t mask = stack_mask(c);
  const unsigned bpw = c.stack32() ? 4 : 2;  // EBP or BP, by stack size
  uint32_t sp = c.sp();
  uint32_t bp = c.gpr(EBP, bpw);
  sp = (sp - w) & mask;
  TRY(c.write_mem(SS, sp, w, c.gpr(EBP, w)));
  const uint32_t frame = sp;
  if (level > 0) {
    for (unsigned i = 1; i < level; ++i) {
      bp = (bp - w) & mask;
      uint32_t v;
      TRY(c.read_mem(SS, bp, w, v));
      sp = (sp - w) & mask;
      TRY(c.write_mem(SS, sp, w, v));
    }
    sp = (sp - w) & mask;
    TRY(c.write_mem(SS, sp, w, frame));
  }
  sp = (sp - alloc) & mask;
  // The final stack pointer must be addressable (the processor checks it).
  uint32_t lin;
  if (alloc != 0) TRY(c.check_seg(SS, sp, 1, true, lin));
  c.set_gpr(EBP, bpw, frame);
  c.set_sp(sp);
  return Status::Ok;
}

// LEAVE
Status leave(Cpu& c, const Insn& in) {
  const unsigned w = in.opsize;
  const unsigned bpw = c.stack32() ? 4 : 2;
  const uint32_t frame = c.gpr(EBP, bpw);
  uint32_t v;
  TRY(c.read_mem(SS, frame, w, v));
  c.set_sp((frame + w) & stack_mask(c));
  c.set_gpr(EBP, w, v);
  return Status::Ok;
}

// CBW / CWDE
Status cbw(Cpu& c, const Insn& in) {
  if (in.opsize == 2) c.set_gpr(EAX, 2, sext(c.gpr(EAX, 1), 1));
  else c.s.gpr[EAX] = sext(c.gpr(EAX, 2), 2);
  return Status::Ok;
}

// CWD / CDQ
Status cwd(Cpu& c, const Insn& in) {
  const unsigned w = in.opsize;
  const bool neg = c.gpr(EAX, w) >> (w * 8 - 1);
  c.set_gpr(EDX, w, neg ? 0xFFFFFFFFu : 0);
  return Status::Ok;
}

// LAHF
Status lahf(Cpu& c, const Insn&) {
  const uint32_t f = c.s.eflags & (flag::SF | flag::ZF | flag::AF | flag::PF | flag::CF);
  c.set_gpr(4 /* AH */, 1, f | flag::FIXED1);
  return Status::Ok;
}

// SAHF
Status sahf(Cpu& c, const Insn&) {
  c.set_flags(flag::SF | flag::ZF | flag::AF | flag::PF | flag::CF, c.gpr(4 /* AH */, 1));
  return Status::Ok;
}

// XLAT m8: AL = [seg:(E)BX + zero-extended AL]
Status xlat(Cpu& c, const Insn& in) {
  uint32_t off = c.gpr(EBX, in.addrsize) + c.gpr(EAX, 1);
  if (in.addrsize == 2) off &= 0xFFFF;
  uint32_t v;
  TRY(c.read_mem(in.seg, off, 1, v));
  c.set_gpr(EAX, 1, v);
  return Status::Ok;
}

// NOP / NOP r/m (the multi-byte form does not access memory)
Status nop(Cpu&, const Insn&) { return Status::Ok; }

// SALC (undocumented, present on every i686): AL = CF ? 0xFF : 0
Status salc(Cpu& c, const Insn&) {
  c.set_gpr(EAX, 1, c.cf() ? 0xFF : 0);
  return Status::Ok;
}

// CLC
Status clc(Cpu& c, const Insn&) {
  c.set_flags(flag::CF, 0);
  return Status::Ok;
}

// STC
Status stc(Cpu& c, const Insn&) {
  c.set_flags(flag::CF, flag::CF);
  return Status::Ok;
}

// CMC
Status cmc(Cpu& c, const Insn&) {
  c.s.eflags ^= flag::CF;
  return Status::Ok;
}

// CLD
Status cld(Cpu& c, const Insn&) {
  c.set_flags(flag::DF, 0);
  return Status::Ok;
}

// STD
Status std_(Cpu& c, const Insn&) {
  c.set_flags(flag::DF, flag::DF);
  return Status::Ok;
}

}  // namespace popek::cpu::ops
