// x87 arithmetic: the four operations in every form (ST(0) with m32fp/m64fp/m16int/
// m32int or ST(i), ST(i) with ST(0), and the popping forms), partial remainders, and
// the one-operand operations on ST(0) (rows in cpu/ops/x87.def). The host FPU computes
// them under the guest's control word (cpu/ops/x87.h).
#include "cpu/ops/x87.h"

namespace popek::cpu::ops {

using x87::MemUse;

// FADD / FADDP / FIADD
Status fadd(Cpu& c, const Insn& in) { return x87::run_on_host(c, in, MemUse::Load); }

// FSUB / FSUBP / FISUB
Status fsub(Cpu& c, const Insn& in) { return x87::run_on_host(c, in, MemUse::Load); }

// FSUBR / FSUBRP / FISUBR
Status fsubr(Cpu& c, const Insn& in) { return x87::run_on_host(c, in, MemUse::Load); }

// FMUL / FMULP / FIMUL
Status fmul(Cpu& c, const Insn& in) { return x87::run_on_host(c, in, MemUse::Load); }

// FDIV / FDIVP / FIDIV
Status fdiv(Cpu& c, const Insn& in) { return x87::run_on_host(c, in, MemUse::Load); }

// FDIVR / FDIVRP / FIDIVR
Status fdivr(Cpu& c, const Insn& in) { return x87::run_on_host(c, in, MemUse::Load); }

// FPREM / FPREM1 (C2 = 1: partial remainder, run it again; C0 C3 C1 = quotient bits)
Status fprem(Cpu& c, const Insn& in) { return x87::run_on_host(c, in, MemUse::Load); }

// FABS
Status fabs_st0(Cpu& c, const Insn& in) { return x87::run_on_host(c, in, MemUse::Load); }

// FCHS
Status fchs(Cpu& c, const Insn& in) { return x87::run_on_host(c, in, MemUse::Load); }

// FRNDINT
Status frndint(Cpu& c, const Insn& in) { return x87::run_on_host(c, in, MemUse::Load); }

// FSCALE
Status fscale(Cpu& c, const Insn& in) { return x87::run_on_host(c, in, MemUse::Load); }

// FSQRT
Status fsqrt(Cpu& c, const Insn& in) { return x87::run_on_host(c, in, MemUse::Load); }

// FXTRACT
Status fxtract(Cpu& c, const Insn& in) { return x87::run_on_host(c, in, MemUse::Load); }

}  // namespace popek::cpu::ops
