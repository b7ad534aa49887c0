// Architectural state of the guest i686 CPU: one flat, plain struct.
//
// Generated code (the JIT) addresses these fields by offset, so every offset it may
// hard-code is pinned by a static_assert at the bottom of this file. Change the layout
// only together with those asserts.
#pragma once

#include <cstddef>
#include <cstdint>

namespace popek::cpu {

// General-purpose register numbers, in the encoding order of the ModRM reg field.
enum Gpr : uint8_t { EAX, ECX, EDX, EBX, ESP, EBP, ESI, EDI };

// Segment register numbers, in the encoding order of the ModRM reg field (MOV Sreg).
enum SegReg : uint8_t { ES, CS, SS, DS, FS, GS, kNumSegRegs };

// EFLAGS bits.
namespace flag {
constexpr uint32_t CF = 1u << 0;
constexpr uint32_t FIXED1 = 1u << 1;  // reads as 1
constexpr uint32_t PF = 1u << 2;
constexpr uint32_t AF = 1u << 4;
constexpr uint32_t ZF = 1u << 6;
constexpr uint32_t SF = 1u << 7;
constexpr uint32_t TF = 1u << 8;
constexpr uint32_t IF = 1u << 9;
constexpr uint32_t DF = 1u << 10;
constexpr uint32_t OF = 1u << 11;
constexpr uint32_t IOPL = 3u << 12;
constexpr uint32_t NT = 1u << 14;
constexpr uint32_t RF = 1u << 16;
constexpr uint32_t VM = 1u << 17;
constexpr uint32_t AC = 1u << 18;
constexpr uint32_t VIF = 1u << 19;
constexpr uint32_t VIP = 1u << 20;
constexpr uint32_t ID = 1u << 21;
constexpr uint32_t ARITH = CF | PF | AF | ZF | SF | OF;
// Bits an i686 lets software change (the rest read as their fixed values).
constexpr uint32_t WRITABLE = ARITH | TF | IF | DF | IOPL | NT | RF | VM | AC | VIF | VIP | ID;
constexpr int IOPL_SHIFT = 12;
}  // namespace flag

// CR0 bits.
namespace cr0 {
constexpr uint32_t PE = 1u << 0;
constexpr uint32_t MP = 1u << 1;
constexpr uint32_t EM = 1u << 2;
constexpr uint32_t TS = 1u << 3;
constexpr uint32_t ET = 1u << 4;
constexpr uint32_t NE = 1u << 5;
constexpr uint32_t WP = 1u << 16;
constexpr uint32_t AM = 1u << 18;
constexpr uint32_t NW = 1u << 29;
constexpr uint32_t CD = 1u << 30;
constexpr uint32_t PG = 1u << 31;
}  // namespace cr0

// CR4 bits.
namespace cr4 {
constexpr uint32_t VME = 1u << 0;
constexpr uint32_t PVI = 1u << 1;
constexpr uint32_t TSD = 1u << 2;
constexpr uint32_t DE = 1u << 3;
constexpr uint32_t PSE = 1u << 4;
constexpr uint32_t PAE = 1u << 5;
constexpr uint32_t MCE = 1u << 6;
constexpr uint32_t PGE = 1u << 7;
constexpr uint32_t PCE = 1u << 8;
constexpr uint32_t OSFXSR = 1u << 9;
}  // namespace cr4

// Descriptor attribute bits as kept in SegmentCache::attr: the access byte in bits 0-7
// (type 0-3, S 4, DPL 5-6, P 7) and the flags nibble of the descriptor in bits 12-15
// (AVL 12, L 13, D/B 14, G 15), i.e. bits 8-23 of the descriptor's high dword, shifted.
namespace attr {
constexpr uint16_t TYPE_MASK = 0x000F;
constexpr uint16_t ACCESSED = 0x0001;
constexpr uint16_t S = 0x0010;        // code/data (1) or system (0)
constexpr uint16_t DPL_MASK = 0x0060;
constexpr int DPL_SHIFT = 5;
constexpr uint16_t P = 0x0080;
constexpr uint16_t AVL = 0x1000;
constexpr uint16_t DB = 0x4000;       // default operation size / big
constexpr uint16_t G = 0x8000;
// Code/data type bits (valid when S is set).
constexpr uint16_t CODE = 0x0008;
constexpr uint16_t CONFORMING = 0x0004;  // code
constexpr uint16_t READABLE = 0x0002;    // code
constexpr uint16_t EXPAND_DOWN = 0x0004; // data
constexpr uint16_t WRITABLE = 0x0002;    // data
}  // namespace attr

// The hidden part of a segment register (the "descriptor cache").
struct SegmentCache {
  uint16_t selector;
  uint16_t attr;   // see namespace attr
  uint32_t base;
  uint32_t limit;  // byte-granular, already scaled by G
  uint32_t valid;  // 0 for a null selector loaded in protected mode: any use is #GP(0)
  template <class V>
  void visit(V& v) {
    v("selector", selector), v("attr", attr), v("base", base), v("limit", limit), v("valid", valid);
  }
};

struct TableRegister {
  uint32_t base;
  uint32_t limit;
  template <class V>
  void visit(V& v) {
    v("base", base), v("limit", limit);
  }
};

// Pending exception, recorded by helpers that fault (see DESIGN.md "Faults without C++
// exceptions across generated code").
struct PendingException {
  uint8_t vector;
  uint8_t has_error;
  uint8_t pending;
  uint8_t pad;
  uint32_t error;
  template <class V>
  void visit(V& v) {
    v("vector", vector), v("has_error", has_error), v("pending", pending), v("pad", pad), v("error", error);
  }
};

// Machine-specific registers popek implements (see cpu/system_ops.cpp for the list).
struct Msrs {
  uint64_t tsc_offset;      // IA32_TIME_STAMP_COUNTER = icount + tsc_offset
  uint32_t sysenter_cs;
  uint32_t sysenter_esp;
  uint32_t sysenter_eip;
  uint32_t pad;
  uint64_t mtrr_def_type;
  uint64_t pat;
  uint64_t efer;            // IA32_EFER: only NXE (bit 11) exists on a 32-bit CPU
  template <class V>
  void visit(V& v) {
    v("tsc_offset", tsc_offset), v("sysenter_cs", sysenter_cs), v("sysenter_esp", sysenter_esp);
    v("sysenter_eip", sysenter_eip), v("pad", pad), v("mtrr_def_type", mtrr_def_type), v("pat", pat);
    v("efer", efer);
  }
};

namespace efer {
constexpr uint64_t NXE = 1u << 11;
}

// DR6 and DR7 bits.
namespace dr6 {
constexpr uint32_t BD = 1u << 13;  // a debug-register access with DR7.GD set
constexpr uint32_t BS = 1u << 14;  // single step
constexpr uint32_t BT = 1u << 15;  // a task switch to a TSS with its T bit set
}  // namespace dr6
namespace dr7 {
constexpr uint32_t GD = 1u << 13;
}  // namespace dr7

// x87 FPU status-word, control-word and tag bits.
namespace fsw {
constexpr uint16_t IE = 1u << 0;
constexpr uint16_t DE = 1u << 1;
constexpr uint16_t ZE = 1u << 2;
constexpr uint16_t OE = 1u << 3;
constexpr uint16_t UE = 1u << 4;
constexpr uint16_t PE = 1u << 5;
constexpr uint16_t SF = 1u << 6;
constexpr uint16_t ES = 1u << 7;
constexpr uint16_t C0 = 1u << 8;
constexpr uint16_t C1 = 1u << 9;
constexpr uint16_t C2 = 1u << 10;
constexpr uint16_t TOP_MASK = 7u << 11;
constexpr int TOP_SHIFT = 11;
constexpr uint16_t C3 = 1u << 14;
constexpr uint16_t B = 1u << 15;
constexpr uint16_t EXC_MASK = 0x3F;  // IE..PE; the same bits are the masks in the CW
}  // namespace fsw

// x87 FPU state. Registers are kept by physical number (R0-R7); ST(i) is
// r[(TOP + i) & 7]. The tag word is the full 2-bit-per-register form FNSAVE stores
// (11 = empty); it is kept consistent with the register contents.
struct Fpu {
  uint8_t r[8][10];   // 80-bit images, little-endian (significand, then sign/exponent)
  uint16_t cw = 0x0040;  // power-on values (SDM table 9-1); FNINIT gives 037F/0/FFFF
  uint16_t sw = 0;
  uint16_t tw = 0x5555;
  uint16_t fop = 0;   // last non-control opcode: low 3 bits of the ESC byte, then ModRM
  uint32_t fip = 0;   // last non-control instruction: offset in FCS
  uint32_t fdp = 0;   // its memory operand: offset in FDS
  uint16_t fcs = 0;
  uint16_t fds = 0;
  uint8_t ferr = 0;   // FERR# asserted (CR0.NE = 0): IRQ 13 raised through the PIC
  uint8_t ignne = 0;  // IGNNE# asserted (port F0h written while FERR# was active)
  uint8_t pad[2] = {};
  template <class V>
  void visit(V& v) {
    v("r", r), v("cw", cw), v("sw", sw), v("tw", tw), v("fop", fop), v("fip", fip), v("fdp", fdp);
    v("fcs", fcs), v("fds", fds), v("ferr", ferr), v("ignne", ignne), v("pad", pad);
  }
};

struct CpuState {
  uint32_t gpr[8];
  uint32_t eip;
  uint32_t eflags;
  SegmentCache seg[kNumSegRegs];
  TableRegister gdtr;
  TableRegister idtr;
  SegmentCache ldtr;
  SegmentCache tr;
  uint32_t cr[5];     // CR0, (CR1 unused), CR2, CR3, CR4
  uint32_t dr[8];
  Msrs msr;
  uint64_t icount;    // retired instructions since power-on
  PendingException exc;
  // Set for one instruction after MOV SS/POP SS/STI: interrupts are not taken before the
  // next instruction retires.
  uint8_t irq_shadow;
  // Set when the CPU is in the HLT state (left by an interrupt, NMI or reset).
  uint8_t halted;
  uint8_t cpl;        // current privilege level (CS.RPL in protected mode, 0 in real mode)
  uint8_t pad;
  Fpu fpu;
  // Every field, in order (the state archive, bus/state_archive.h; CpuArchive checks
  // that nothing is left out).
  template <class V>
  void visit(V& v) {
    v("gpr", gpr), v("eip", eip), v("eflags", eflags), v("seg", seg), v("gdtr", gdtr), v("idtr", idtr);
    v("ldtr", ldtr), v("tr", tr), v("cr", cr), v("dr", dr), v("msr", msr), v("icount", icount), v("exc", exc);
    v("irq_shadow", irq_shadow), v("halted", halted), v("cpl", cpl), v("pad", pad), v("fpu", fpu);
  }
};

// Offsets generated code may hard-code.
static_assert(offsetof(CpuState, gpr) == 0);
static_assert(offsetof(CpuState, eip) == 32);
static_assert(offsetof(CpuState, eflags) == 36);
static_assert(offsetof(CpuState, seg) == 40);
static_assert(sizeof(SegmentCache) == 16);
static_assert(offsetof(CpuState, cr) == 40 + 16 * 6 + 8 + 8 + 16 + 16);
static_assert(sizeof(Fpu) == 104);
static_assert(offsetof(Fpu, cw) == 80);

}  // namespace popek::cpu
