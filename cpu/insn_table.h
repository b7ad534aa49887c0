// The one table of instructions popek implements (rows in cpu/ops/*.def).
//
// Each row: the Zydis mnemonic it decodes from, the operand form that selects it when one
// mnemonic has several meanings (MOV to a control register is not MOV), the semantic
// function that implements it, its Popek-Goldberg class and its attributes. The
// interpreter, the decoder, the census (--pg-report) and the tests all read this table.
#pragma once

#include <Zydis/Zydis.h>

#include <cstddef>
#include <cstdint>

#include "cpu/insn.h"

namespace popek::cpu {

// Popek & Goldberg classification of an instruction on a virtualizable i686.
enum class InsnClass : uint8_t {
  Innocuous,   // neither privileged nor sensitive: runs as native code
  Sensitive,   // sensitive but unprivileged (Robin & Irvine list), plus CPUID/RDTSC
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

struct InsnRow {
  const char* name;
  ZydisMnemonic mnemonic;
  Form form;
  Handler fn;
  InsnClass cls;
  uint8_t attrs;
};

// Declarations of every semantic function named in the table.
namespace ops {
#define INSN(name, mnemonic, form, fn, cls, attrs) Status fn(Cpu&, const Insn&);
#include "cpu/ops/all.def"
#undef INSN
}  // namespace ops

extern const InsnRow kInsnTable[];
extern const size_t kInsnTableSize;

// Row index for a Zydis mnemonic and form, or -1.
int find_row(ZydisMnemonic m, Form f);

}  // namespace popek::cpu
