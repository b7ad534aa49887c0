// x87 comparison and classification (rows in cpu/ops/x87.def): the condition codes
// C0 C2 C3 (FCOM family, FTST, FXAM also C1) or EFLAGS ZF PF CF with OF SF AF cleared
// (FCOMI family), as the host FPU sets them (cpu/ops/x87.h).
#include "cpu/ops/x87.h"

namespace popek::cpu::ops {

using x87::MemUse;

// FCOM / FCOMP / FCOMPP / FUCOM / FUCOMP / FUCOMPP / FICOM / FICOMP
Status fcom(Cpu& c, const Insn& in) { return x87::run_on_host(c, in, MemUse::Load); }

// FCOMI / FCOMIP / FUCOMI / FUCOMIP ST(0), ST(i)
Status fcomi(Cpu& c, const Insn& in) { return x87::run_on_host(c, in, MemUse::Load, true); }

// FTST
Status ftst(Cpu& c, const Insn& in) { return x87::run_on_host(c, in, MemUse::Load); }

// FXAM (classifies an empty register too: C3 C0 = 1 0 1)
Status fxam(Cpu& c, const Insn& in) { return x87::run_on_host(c, in, MemUse::Load); }

}  // namespace popek::cpu::ops
