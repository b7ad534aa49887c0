// x87 transcendental instructions (rows in cpu/ops/x87.def). They run on the host FPU
// (cpu/ops/x87.h): the range checks (C2 = 1 for |x| >= 2^63), stack and special-operand
// behaviour are architectural and exact, but the last bit of a result is the host
// processor's, which may differ from a P6 (and between host vendors).
#include "cpu/ops/x87.h"

namespace popek::cpu::ops {

using x87::MemUse;

// FSIN
Status fsin(Cpu& c, const Insn& in) { return x87::run_on_host(c, in, MemUse::Load); }

// FCOS
Status fcos(Cpu& c, const Insn& in) { return x87::run_on_host(c, in, MemUse::Load); }

// FSINCOS
Status fsincos(Cpu& c, const Insn& in) { return x87::run_on_host(c, in, MemUse::Load); }

// FPTAN
Status fptan(Cpu& c, const Insn& in) { return x87::run_on_host(c, in, MemUse::Load); }

// FPATAN
Status fpatan(Cpu& c, const Insn& in) { return x87::run_on_host(c, in, MemUse::Load); }

// F2XM1
Status f2xm1(Cpu& c, const Insn& in) { return x87::run_on_host(c, in, MemUse::Load); }

// FYL2X
Status fyl2x(Cpu& c, const Insn& in) { return x87::run_on_host(c, in, MemUse::Load); }

// FYL2XP1
Status fyl2xp1(Cpu& c, const Insn& in) { return x87::run_on_host(c, in, MemUse::Load); }

}  // namespace popek::cpu::ops
