// The one table of instructions popek implements (rows in cpu/ops/*.def).
//
// Each row: the Zydis mnemonic it decodes from, the operand form that selects it when one
// mnemonic has several meanings (MOV to a control register is not MOV), the semantic
// function that implements it, its Popek-Goldberg class and its attributes, then its
// data flow for the JIT: the EFLAGS bits it may read, may write and may leave undefined,
// the general registers it reads and writes implicitly, and whether it may fault. The
// interpreter, the decoder, the census (--pg-report), the JIT and the tests all read it.
#pragma once

#include <Zydis/Zydis.h>

#include <cstddef>
#include <cstdint>

#include "cpu/cpu_state.h"
#include "cpu/insn.h"

namespace popek::cpu {

// Popek & Goldberg classification of an instruction on a virtualizable i686.
enum class InsnClass : uint8_t {
  Innocuous,   // neither privileged nor sensitive: runs as native code
  Sensitive,   // sensitive but unprivileged (Robin & Irvine list), plus CPUID/RDTSC/SYSENTER
  Privileged,  // traps (#GP) at CPL > 0
  Io,          // IOPL-sensitive: I/O and interrupt-flag instructions
};

const char* class_name(InsnClass c);

// Operand form that distinguishes rows sharing a mnemonic.
enum class Form : uint8_t {
  Any,
  Far,      // far branch (ptr16:xx or m16:xx, or RET far)
  Cr,       // MOV to/from a control register
  Dr,       // MOV to/from a debug register
  SegDst,   // MOV Sreg, r/m
  SegSrc,   // MOV r/m, Sreg
  SegOp,    // PUSH/POP Sreg
};

namespace iattr {
constexpr uint8_t ENDS_BLOCK = 1;  // control transfer or state change that ends a block
constexpr uint8_t LOCKABLE = 2;    // accepts a LOCK prefix with a memory destination
}  // namespace iattr

// The spellings of the data-flow columns (a .def expansion site brings them in with
// `using namespace dataflow`).
//
// flags_read: EFLAGS bits the row may read. A flag the row leaves unchanged for some
//   operands or state counts as read (a shift by a masked count of 0, REP CMPS with
//   ECX = 0), so flags_written & ~flags_read are the flags every execution overwrites.
//   System flags count when they change the outcome (IOPL for the IOPL-sensitive rows;
//   PUSHF, INT and IRET read them all). Not listed: AC (alignment checks of any memory
//   access), TF and RF (single-step and resume belong to the execution loop).
// flags_written: EFLAGS bits the row may change, with defined or undefined results.
// flags_undef: the subset of flags_written the SDM leaves undefined for some operands.
//   The interpreter produces them deterministically, sometimes by keeping the old value
//   (BT*, BSF/BSR, DIV/IDIV, MOV CR/DR): a JIT may differ from it only in these bits.
// gprs_read / gprs_written: implicit general registers only (bit i = cpu::Gpr i); the
//   explicit ModRM and opcode-register operands are in the decoded Insn. A write of AL,
//   AH or AX counts as a write of EAX. Rows that cover several forms list the union.
// may_fault: executing the row can raise an exception in some mode, state or form (a
//   memory operand, #DE, #GP for privilege, #NM for x87...). Not counted: the single-step
//   trap, and the #UD the decoder raises for an encoding it rejects (LOCK misuse).
namespace dataflow {
constexpr uint32_t F_NONE = 0;
constexpr uint32_t F_CF = flag::CF;
constexpr uint32_t F_PF = flag::PF;
constexpr uint32_t F_AF = flag::AF;
constexpr uint32_t F_ZF = flag::ZF;
constexpr uint32_t F_SF = flag::SF;
constexpr uint32_t F_OF = flag::OF;
constexpr uint32_t F_DF = flag::DF;
constexpr uint32_t F_IF = flag::IF;
constexpr uint32_t F_IOPL = flag::IOPL;
// Sets of arithmetic flags are spelled by their letters, in the order OSZAPC.
constexpr uint32_t F_OSZAPC = flag::ARITH;
constexpr uint32_t F_OSZAP = F_OF | F_SF | F_ZF | F_AF | F_PF;
constexpr uint32_t F_SZAPC = F_SF | F_ZF | F_AF | F_PF | F_CF;
constexpr uint32_t F_OSAPC = F_OF | F_SF | F_AF | F_PF | F_CF;
constexpr uint32_t F_OSAP = F_OF | F_SF | F_AF | F_PF;
constexpr uint32_t F_OSZP = F_OF | F_SF | F_ZF | F_PF;
constexpr uint32_t F_SZAP = F_SF | F_ZF | F_AF | F_PF;
constexpr uint32_t F_ALL = flag::WRITABLE;  // every flag software can change
// The flags each condition code tests (Jcc, SETcc, CMOVcc, FCMOVcc, LOOPcc).
constexpr uint32_t CC_O = F_OF;
constexpr uint32_t CC_B = F_CF;
constexpr uint32_t CC_Z = F_ZF;
constexpr uint32_t CC_BE = F_CF | F_ZF;
constexpr uint32_t CC_S = F_SF;
constexpr uint32_t CC_P = F_PF;
constexpr uint32_t CC_L = F_SF | F_OF;
constexpr uint32_t CC_LE = F_ZF | F_SF | F_OF;
constexpr uint8_t R_NONE = 0;
constexpr uint8_t R_EAX = 1u << EAX;
constexpr uint8_t R_ECX = 1u << ECX;
constexpr uint8_t R_EDX = 1u << EDX;
constexpr uint8_t R_EBX = 1u << EBX;
constexpr uint8_t R_ESP = 1u << ESP;
constexpr uint8_t R_EBP = 1u << EBP;
constexpr uint8_t R_ESI = 1u << ESI;
constexpr uint8_t R_EDI = 1u << EDI;
constexpr uint8_t R_ALL = 0xFF;
constexpr bool FAULTS = true;
constexpr bool NOFAULT = false;
}  // namespace dataflow

struct InsnRow {
  const char* name;
  ZydisMnemonic mnemonic;
  Form form;
  Handler fn;
  InsnClass cls;
  uint8_t attrs;
  uint32_t flags_read;
  uint32_t flags_written;
  uint32_t flags_undef;
  uint8_t gprs_read;
  uint8_t gprs_written;
  bool may_fault;
};

// Declarations of every semantic function named in the table.
namespace ops {
#define INSN(name, mnemonic, form, fn, cls, attrs, flags_read, flags_written, flags_undef, \
             gprs_read, gprs_written, may_fault)                                         \
  Status fn(Cpu&, const Insn&);
#include "cpu/ops/all.def"
#undef INSN
}  // namespace ops

extern const InsnRow kInsnTable[];
extern const size_t kInsnTableSize;

// Row index for a Zydis mnemonic and form, or -1.
int find_row(ZydisMnemonic m, Form f);

}  // namespace popek::cpu
