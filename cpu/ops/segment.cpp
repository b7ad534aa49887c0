// Segment-register instructions and the descriptor-inspecting ones: MOV/PUSH/POP Sreg,
// LDS/LES/LFS/LGS/LSS, LAR, LSL, VERR, VERW, ARPL, and the table-register stores SGDT,
// SIDT, SLDT, STR, SMSW (rows in cpu/ops/system.def).
#include <Zydis/Zydis.h>

#include "cpu/cpu.h"

namespace popek::cpu::ops {

namespace {

bool protected_non_v86(const Cpu& c) { return c.protected_mode() && !c.v86(); }

// Read a descriptor for LAR/LSL/VERR/VERW: a selector past the table limit or a null
// selector is not a fault, just "not accessible".
Status probe_descriptor(Cpu& c, uint16_t sel, Descriptor& d, bool& ok) {
  ok = false;
  if ((sel & 0xFFFC) == 0) return Status::Ok;
  uint32_t base, limit;
  if (sel & 4) {
    if (!c.s.ldtr.valid || (c.s.ldtr.selector & 0xFFFC) == 0) return Status::Ok;
    base = c.s.ldtr.base;
    limit = c.s.ldtr.limit;
  } else {
    base = c.s.gdtr.base;
    limit = c.s.gdtr.limit;
  }
  const uint32_t idx = sel & 0xFFF8u;
  if (idx + 7 > limit) return Status::Ok;
  TRY(c.read_sys(base + idx, 4, d.lo));
  TRY(c.read_sys(base + idx + 4, 4, d.hi));
  ok = true;
  return Status::Ok;
}

// The privilege rule shared by LAR, LSL, VERR, VERW: conforming code is always
// visible; anything else needs DPL >= CPL and DPL >= RPL.
bool visible(const Cpu& c, uint16_t sel, const Descriptor& d) {
  if (d.is_code() && (d.type() & attr::CONFORMING)) return true;
  return d.dpl() >= c.cpl() && d.dpl() >= (sel & 3u);
}

}  // namespace

// MOV Sreg, r/m16
Status mov_to_seg(Cpu& c, const Insn& in) {
  const unsigned seg = in.ops[0].reg;
  if (seg == CS) return c.ud();
  uint32_t v;
  TRY(c.read_op(in, 1, v));
  TRY(c.load_seg(seg, static_cast<uint16_t>(v)));
  if (seg == SS) c.s.irq_shadow = 1;
  return Status::Ok;
}

// MOV r/m16, Sreg / MOV r32, Sreg (a register destination takes the operand size, the
// upper word zero-extended; a memory destination is always 16 bits: the decoder's sizes)
Status mov_from_seg(Cpu& c, const Insn& in) {
  return c.write_op(in, 0, c.s.seg[in.ops[1].reg].selector);
}

// PUSH Sreg (a 32-bit push moves 16 bits and leaves the upper word, as P6 parts do)
Status push_seg(Cpu& c, const Insn& in) {
  const unsigned w = in.opsize;
  const uint16_t sel = c.s.seg[in.ops[0].reg].selector;
  if (w == 2) return c.push(sel, 2);
  uint32_t lin;
  const uint32_t mask = c.stack32() ? 0xFFFFFFFFu : 0xFFFFu;
  TRY(c.check_seg(SS, (c.sp() - 4) & mask, 4, true, lin));
  TRY(c.stack_write(-4, 2, sel));
  c.add_sp(-4);
  return Status::Ok;
}

// POP Sreg
Status pop_seg(Cpu& c, const Insn& in) {
  const unsigned seg = in.ops[0].reg;
  if (seg == CS) return c.ud();
  uint32_t v;
  TRY(c.stack_read(0, in.opsize, v));
  // The stack pointer moves by the stack size in force before the load (POP SS).
  const bool big = c.stack32();
  const uint32_t esp = c.s.gpr[ESP];
  const uint32_t new_esp = big ? esp + in.opsize : (esp & 0xFFFF0000u) | ((esp + in.opsize) & 0xFFFF);
  TRY(c.load_seg(seg, static_cast<uint16_t>(v)));
  c.s.gpr[ESP] = new_esp;
  if (seg == SS) c.s.irq_shadow = 1;
  return Status::Ok;
}

// LDS/LES/LFS/LGS/LSS r, m16:16 / r, m16:32
Status lxs(Cpu& c, const Insn& in) {
  const Operand& m = in.ops[1];
  if (m.kind != OpKind::Mem) return c.ud();
  unsigned seg;
  switch (in.mnemonic) {
    case ZYDIS_MNEMONIC_LDS: seg = DS; break;
    case ZYDIS_MNEMONIC_LES: seg = ES; break;
    case ZYDIS_MNEMONIC_LFS: seg = FS; break;
    case ZYDIS_MNEMONIC_LGS: seg = GS; break;
    default: seg = SS; break;
  }
  const unsigned w = in.opsize;
  const uint32_t a = c.ea(in, m);
  uint32_t off, sel;
  TRY(c.read_mem(m.seg, a, w, off));
  TRY(c.read_mem(m.seg, (a + w) & (in.addrsize == 2 ? 0xFFFF : 0xFFFFFFFF), 2, sel));
  TRY(c.load_seg(seg, static_cast<uint16_t>(sel)));
  if (seg == SS) c.s.irq_shadow = 1;
  c.set_gpr(in.ops[0].reg, w, off);
  return Status::Ok;
}

// LAR r, r/m16
Status lar(Cpu& c, const Insn& in) {
  if (!protected_non_v86(c)) return c.ud();
  uint32_t v;
  TRY(c.read_op(in, 1, v));
  const uint16_t sel = static_cast<uint16_t>(v);
  Descriptor d;
  bool ok;
  TRY(probe_descriptor(c, sel, d, ok));
  if (ok && !d.s()) {
    switch (d.type()) {
      case sys::TSS16_AVAIL: case sys::LDT: case sys::TSS16_BUSY: case sys::CALL16:
      case sys::TASK: case sys::TSS32_AVAIL: case sys::TSS32_BUSY: case sys::CALL32:
        break;
      default: ok = false;
    }
  }
  if (!ok || !visible(c, sel, d)) {
    c.set_flags(flag::ZF, 0);
    return Status::Ok;
  }
  c.set_flags(flag::ZF, flag::ZF);
  return c.write_op(in, 0, in.opsize == 2 ? (d.hi & 0xFF00) : (d.hi & 0x00F0FF00));
}

// LSL r, r/m16
Status lsl(Cpu& c, const Insn& in) {
  if (!protected_non_v86(c)) return c.ud();
  uint32_t v;
  TRY(c.read_op(in, 1, v));
  const uint16_t sel = static_cast<uint16_t>(v);
  Descriptor d;
  bool ok;
  TRY(probe_descriptor(c, sel, d, ok));
  if (ok && !d.s()) {
    switch (d.type()) {
      case sys::TSS16_AVAIL: case sys::LDT: case sys::TSS16_BUSY: case sys::TSS32_AVAIL:
      case sys::TSS32_BUSY:
        break;
      default: ok = false;
    }
  }
  if (!ok || !visible(c, sel, d)) {
    c.set_flags(flag::ZF, 0);
    return Status::Ok;
  }
  c.set_flags(flag::ZF, flag::ZF);
  return c.write_op(in, 0, d.limit());
}

// VERR r/m16
Status verr(Cpu& c, const Insn& in) {
  if (!protected_non_v86(c)) return c.ud();
  uint32_t v;
  TRY(c.read_op(in, 0, v));
  const uint16_t sel = static_cast<uint16_t>(v);
  Descriptor d;
  bool ok;
  TRY(probe_descriptor(c, sel, d, ok));
  ok = ok && d.s() && (d.is_data() || (d.type() & attr::READABLE)) && visible(c, sel, d);
  c.set_flags(flag::ZF, ok ? flag::ZF : 0);
  return Status::Ok;
}

// VERW r/m16
Status verw(Cpu& c, const Insn& in) {
  if (!protected_non_v86(c)) return c.ud();
  uint32_t v;
  TRY(c.read_op(in, 0, v));
  const uint16_t sel = static_cast<uint16_t>(v);
  Descriptor d;
  bool ok;
  TRY(probe_descriptor(c, sel, d, ok));
  ok = ok && d.is_data() && (d.type() & attr::WRITABLE) && visible(c, sel, d);
  c.set_flags(flag::ZF, ok ? flag::ZF : 0);
  return Status::Ok;
}

// ARPL r/m16, r16
Status arpl(Cpu& c, const Insn& in) {
  if (!protected_non_v86(c)) return c.ud();
  uint32_t dst, src;
  TRY(c.read_op_rmw(in, 0, dst));
  TRY(c.read_op(in, 1, src));
  if ((dst & 3) < (src & 3)) {
    TRY(c.write_op(in, 0, (dst & ~3u) | (src & 3)));
    c.set_flags(flag::ZF, flag::ZF);
  } else {
    c.set_flags(flag::ZF, 0);
  }
  return Status::Ok;
}

namespace {
// SGDT/SIDT: limit (16 bits) then base (32 bits; with a 16-bit operand size the top
// byte is stored as zero).
Status store_table(Cpu& c, const Insn& in, const TableRegister& t) {
  const Operand& m = in.ops[0];
  if (m.kind != OpKind::Mem) return c.ud();
  const uint32_t a = c.ea(in, m);
  uint32_t lin;
  TRY(c.check_seg(m.seg, a, 6, true, lin));
  TRY(c.write_mem(m.seg, a, 2, t.limit));
  return c.write_mem(m.seg, a + 2, 4, in.opsize == 2 ? (t.base & 0x00FFFFFF) : t.base);
}
}  // namespace

// SGDT m
Status sgdt(Cpu& c, const Insn& in) { return store_table(c, in, c.s.gdtr); }

// SIDT m
Status sidt(Cpu& c, const Insn& in) { return store_table(c, in, c.s.idtr); }

// SLDT r/m16
Status sldt(Cpu& c, const Insn& in) {
  if (!protected_non_v86(c)) return c.ud();
  return c.write_op(in, 0, c.s.ldtr.selector);
}

// STR r/m16
Status str(Cpu& c, const Insn& in) {
  if (!protected_non_v86(c)) return c.ud();
  return c.write_op(in, 0, c.s.tr.selector);
}

// SMSW r/m16 / SMSW r32 (a register destination of 32 bits receives all of CR0)
Status smsw(Cpu& c, const Insn& in) {
  return c.write_op(in, 0, in.ops[0].kind == OpKind::Mem ? (c.s.cr[0] & 0xFFFF) : c.s.cr[0]);
}

}  // namespace popek::cpu::ops
