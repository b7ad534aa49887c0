// Shared machinery of the x87 semantic functions (cpu/ops/x87_*.cpp): the entry checks
// (#NM, the deferred error as #MF or FERR#), the instruction and data pointers, guest
// memory of any length, tag computation, and running an instruction on the host FPU
// with the guest's state (cpu/ops/x87_host.h).
//
// How guest exceptions work: the host runs each arithmetic instruction under the
// guest's control word, masks included, so the host FPU itself produces the masked
// response (QNaN indefinite, denormals, C1 on stack faults) or, for an unmasked
// exception, the unmasked one (operands left alone, or the exponent-wrapped result of
// an unmasked overflow/underflow) and sets ES. The guest keeps ES = B = "some exception
// flag is set whose mask is clear"; the next waiting x87 instruction (or WAIT) then
// raises #MF when CR0.NE = 1, or with CR0.NE = 0 asserts FERR# (IRQ 13 through the
// interrupt controller) and waits until IGNNE# is asserted (port F0h, see ignne_write).
#pragma once

#include <cstdint>

#include "cpu/cpu.h"
#include "cpu/ops/x87_host.h"

namespace popek::cpu::x87 {

inline unsigned top(const Fpu& f) { return (f.sw >> fsw::TOP_SHIFT) & 7; }
inline void set_top(Fpu& f, unsigned t) {
  f.sw = static_cast<uint16_t>((f.sw & ~fsw::TOP_MASK) | ((t & 7) << fsw::TOP_SHIFT));
}
inline unsigned phys(const Fpu& f, unsigned i) { return (top(f) + i) & 7; }
inline bool empty(const Fpu& f, unsigned physreg) { return ((f.tw >> (2 * physreg)) & 3) == 3; }

// Tag of a non-empty register from its contents: 0 valid, 1 zero, 2 special (NaN,
// infinity, denormal, pseudo-denormal, unnormal and the other unsupported encodings).
unsigned tag_of(const uint8_t* reg);
// Recompute every non-empty tag from the register contents (what FNSAVE stores).
uint16_t retag(const Fpu& f, uint16_t tw);

// ES and B from the exception flags and masks; when ES clears, FERR# and IGNNE# drop.
void update_es(Fpu& f);

// Entry checks: #NM (CR0.EM or CR0.TS), then for a waiting instruction a pending
// unmasked exception.
Status enter(Cpu& c, bool waiting);
// The pending-exception response at a waiting instruction (#MF, or FERR#/IGNNE#).
Status pending_error(Cpu& c);

// ESC byte (0-7 for D8-DF) and ModRM of the instruction.
void opcode(const Insn& in, unsigned& esc, unsigned& modrm);
// The instruction's memory operand, or nullptr.
const Operand* mem_operand(const Insn& in);
// FIP/FCS/FOP, and FDP/FDS when `mem` is not null: done by every non-control
// instruction that executes.
void record_pointers(Cpu& c, const Insn& in, const Operand* mem);

// Guest memory of any length, all-or-nothing: segment checks for the whole range, the
// alignment check (CR0.AM, EFLAGS.AC, CPL 3) against `align`, and for writes every
// page probed before the first byte is written.
Status read_bytes(Cpu& c, unsigned seg, uint32_t off, unsigned n, uint8_t* out, unsigned align);
Status write_bytes(Cpu& c, unsigned seg, uint32_t off, unsigned n, const uint8_t* in,
                   unsigned align);

// Guest state to and from a host FNSAVE image.
void to_host(const Fpu& f, HostImage& img);
void from_host(Fpu& f, const HostImage& img);

// What the memory operand of an instruction run on the host is.
enum class MemUse : uint8_t { Load, Store };
// Run the current instruction on the host FPU with the guest's state: the entry checks,
// the memory operand (read before, written after, only if the host stored it), then
// the commit of the new state and the pointers. With `eflags_out`, EFLAGS' arithmetic
// flags take the host's (FCOMI and friends).
Status run_on_host(Cpu& c, const Insn& in, MemUse use, bool eflags_out = false);

// FNINIT's state (also the tail of FNSAVE).
void init(Fpu& f);

// A write to port F0h: the chipset clears its IRQ 13 latch and, while FERR# is active,
// asserts IGNNE# so that the waiting instruction goes on (the PC/AT convention).
void ignne_write(Cpu& c);

}  // namespace popek::cpu::x87
