// x87 data transfer: loads, stores, integer and BCD conversions, constants, exchange,
// conditional moves, stack-pointer and tag manipulation (rows in cpu/ops/x87.def).
// The arithmetic of the conversions (rounding, SNaN and denormal handling, stack
// faults) is the host FPU's (cpu/ops/x87.h).
#include "cpu/ops/x87.h"

namespace popek::cpu::ops {

using x87::MemUse;

// FLD m32fp / m64fp / m80fp; FLD ST(i)
Status fld(Cpu& c, const Insn& in) { return x87::run_on_host(c, in, MemUse::Load); }

// FST m32fp / m64fp; FST ST(i)
Status fst(Cpu& c, const Insn& in) { return x87::run_on_host(c, in, MemUse::Store); }

// FSTP m32fp / m64fp / m80fp; FSTP ST(i) (also the undocumented D9 D8+i, DF D0+i, DF D8+i)
Status fstp(Cpu& c, const Insn& in) { return x87::run_on_host(c, in, MemUse::Store); }

// FILD m16int / m32int / m64int
Status fild(Cpu& c, const Insn& in) { return x87::run_on_host(c, in, MemUse::Load); }

// FIST m16int / m32int
Status fist(Cpu& c, const Insn& in) { return x87::run_on_host(c, in, MemUse::Store); }

// FISTP m16int / m32int / m64int
Status fistp(Cpu& c, const Insn& in) { return x87::run_on_host(c, in, MemUse::Store); }

// FBLD m80bcd
Status fbld(Cpu& c, const Insn& in) { return x87::run_on_host(c, in, MemUse::Load); }

// FBSTP m80bcd
Status fbstp(Cpu& c, const Insn& in) { return x87::run_on_host(c, in, MemUse::Store); }

// FLDZ / FLD1 / FLDPI / FLDL2E / FLDL2T / FLDLG2 / FLDLN2 (the rounded constants
// follow RC as on the P6)
Status fld_const(Cpu& c, const Insn& in) { return x87::run_on_host(c, in, MemUse::Load); }

// FXCH ST(i) (also DD C8+i, DF C8+i)
Status fxch(Cpu& c, const Insn& in) { return x87::run_on_host(c, in, MemUse::Load); }

// FCMOVcc ST(0), ST(i): the host evaluates the condition on the guest's EFLAGS
Status fcmov(Cpu& c, const Insn& in) { return x87::run_on_host(c, in, MemUse::Load); }

// FINCSTP
Status fincstp(Cpu& c, const Insn& in) { return x87::run_on_host(c, in, MemUse::Load); }

// FDECSTP
Status fdecstp(Cpu& c, const Insn& in) { return x87::run_on_host(c, in, MemUse::Load); }

// FFREE ST(i)
Status ffree(Cpu& c, const Insn& in) { return x87::run_on_host(c, in, MemUse::Load); }

// FFREEP ST(i): FFREE ST(i), then pop, clearing C1 as FINCSTP does (DF C0+i: not
// every host documents it)
Status ffreep(Cpu& c, const Insn& in) {
  TRY(x87::enter(c, true));
  Fpu& f = c.s.fpu;
  unsigned esc, modrm;
  x87::opcode(in, esc, modrm);
  const unsigned ri = x87::phys(f, modrm & 7), r0 = x87::phys(f, 0);
  f.tw = static_cast<uint16_t>(f.tw | (3u << (2 * ri)) | (3u << (2 * r0)));
  x87::set_top(f, x87::top(f) + 1);
  f.sw &= static_cast<uint16_t>(~fsw::C1);
  x87::record_pointers(c, in, nullptr);
  return Status::Ok;
}

}  // namespace popek::cpu::ops
