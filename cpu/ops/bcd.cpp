// Decimal adjust: DAA DAS AAA AAS AAM AAD.
//
// These follow the pseudocode of the SDM pages; the flags the SDM leaves undefined are
// produced deterministically: DAA/DAS clear OF; AAA/AAS set SF/ZF/PF from AL and clear
// OF; AAM clears OF/AF/CF; AAD sets OF/AF/CF as the byte addition AL + AH * imm8 that
// it performs would.
#include "cpu/cpu.h"
#include "cpu/insn_table.h"
#include "cpu/ops/flags.h"

namespace popek::cpu::ops {

// DAA
Status daa(Cpu& c, const Insn& in) {
  const uint32_t old_al = c.gpr(EAX, 1);
  const bool old_cf = c.cf();
  uint32_t al = old_al;
  bool cf = false, af = false;
  if ((al & 0x0F) > 9 || (c.s.eflags & flag::AF)) {
    cf = old_cf || al + 6 > 0xFF;
    al = (al + 6) & 0xFF;
    af = true;
  }
  if (old_al > 0x99 || old_cf) {
    al = (al + 0x60) & 0xFF;
    cf = true;
  } else {
    cf = false;
  }
  c.set_gpr(EAX, 1, al);
  c.set_flags(flag::ARITH,
              szp_flags(al, 1) | (cf ? flag::CF : 0) | (af ? flag::AF : 0));
  return Status::Ok;
}

// DAS
Status das(Cpu& c, const Insn& in) {
  const uint32_t old_al = c.gpr(EAX, 1);
  const bool old_cf = c.cf();
  uint32_t al = old_al;
  bool cf = false, af = false;
  if ((al & 0x0F) > 9 || (c.s.eflags & flag::AF)) {
    cf = old_cf || al < 6;
    al = (al - 6) & 0xFF;
    af = true;
  }
  if (old_al > 0x99 || old_cf) {
    al = (al - 0x60) & 0xFF;
    cf = true;
  }
  c.set_gpr(EAX, 1, al);
  c.set_flags(flag::ARITH,
              szp_flags(al, 1) | (cf ? flag::CF : 0) | (af ? flag::AF : 0));
  return Status::Ok;
}

// AAA
Status aaa(Cpu& c, const Insn& in) {
  uint32_t ax = c.gpr(EAX, 2);
  const bool adjust = (ax & 0x0F) > 9 || (c.s.eflags & flag::AF);
  if (adjust) ax = (ax + 0x106) & 0xFFFF;
  ax &= 0xFF0F;
  c.set_gpr(EAX, 2, ax);
  c.set_flags(flag::ARITH, szp_flags(ax, 1) | (adjust ? flag::AF | flag::CF : 0));
  return Status::Ok;
}

// AAS
Status aas(Cpu& c, const Insn& in) {
  uint32_t ax = c.gpr(EAX, 2);
  const bool adjust = (ax & 0x0F) > 9 || (c.s.eflags & flag::AF);
  if (adjust) ax = (ax - 6 - 0x100) & 0xFFFF;  // AX - 6, then AH - 1
  ax &= 0xFF0F;
  c.set_gpr(EAX, 2, ax);
  c.set_flags(flag::ARITH, szp_flags(ax, 1) | (adjust ? flag::AF | flag::CF : 0));
  return Status::Ok;
}

// AAM imm8  (AAM is AAM 10)
Status aam(Cpu& c, const Insn& in) {
  const uint32_t base = in.nops > 0 ? in.ops[0].disp & 0xFF : 10;
  if (base == 0) return c.raise(vec::DE);
  const uint32_t al = c.gpr(EAX, 1);
  const uint32_t result = ((al / base) << 8) | (al % base);
  c.set_gpr(EAX, 2, result);
  c.set_flags(flag::ARITH, szp_flags(result, 1));
  return Status::Ok;
}

// AAD imm8  (AAD is AAD 10)
Status aad(Cpu& c, const Insn& in) {
  const uint32_t base = in.nops > 0 ? in.ops[0].disp & 0xFF : 10;
  const uint32_t al = c.gpr(EAX, 1);
  const uint32_t scaled = (c.gpr(EAX, 2) >> 8) * base & 0xFF;
  c.set_gpr(EAX, 2, (al + scaled) & 0xFF);
  c.set_flags(flag::ARITH, add_flags(al, scaled, 0, 1));
  return Status::Ok;
}

}  // namespace popek::cpu::ops
