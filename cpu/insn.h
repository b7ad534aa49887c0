// A decoded guest instruction in the compact form the interpreter (and the JIT's
// callouts) execute. The decoder (cpu/decoder.cpp) builds it once from Zydis's output;
// blocks of them are cached by physical address and mode (cpu/block_cache.h).
#pragma once

#include <cstdint>

namespace popek::cpu {

class Cpu;
struct Insn;

// What a semantic function reports back to the execution loop.
enum class Status : uint8_t {
  Ok,        // retired; EIP already points at the next instruction
  Fault,     // an exception is pending in CpuState::exc; EIP is the instruction's
  Halt,      // HLT retired: the CPU waits for an interrupt
  Stop,      // the machine asked to stop (exit device, reset, fatal guest state)
  Restart,   // not retired; re-execute at the same EIP (REP iteration budget, SMC)
};

using Handler = Status (*)(Cpu&, const Insn&);

enum class OpKind : uint8_t { None, Reg, Mem, Imm, Ptr };

// Register classes for OpKind::Reg.
enum class RegClass : uint8_t {
  Gpr8,   // index 0-3 = AL CL DL BL, 4-7 = AH CH DH BH
  Gpr16,
  Gpr32,
  Seg,    // SegReg
  Cr,
  Dr,
  Other,  // something popek does not model as an operand (x87, MMX, SSE...)
};

constexpr uint8_t kNoReg = 0xFF;

struct Operand {
  OpKind kind = OpKind::None;
  uint8_t size = 0;          // bytes
  RegClass rclass = RegClass::Other;
  uint8_t reg = kNoReg;      // Reg: register index within rclass
  uint8_t seg = 0;           // Mem: effective segment (override or default)
  uint8_t base = kNoReg;     // Mem: GPR index or kNoReg
  uint8_t index = kNoReg;    // Mem: GPR index or kNoReg
  uint8_t scale = 0;         // Mem: 1, 2, 4, 8 (0 without index)
  uint16_t ptr_seg = 0;      // Ptr: selector of a far pointer
  uint32_t disp = 0;         // Mem: displacement; Imm: value (sign-extended to 32 bits); Ptr: offset
};

namespace prefix {
constexpr uint8_t LOCK = 1;
constexpr uint8_t REP = 2;     // F3 on an instruction that takes REP/REPE
constexpr uint8_t REPNE = 4;   // F2 on an instruction that takes REPNE
constexpr uint8_t SEGOVR = 8;  // a segment override prefix is present
}  // namespace prefix

struct Insn {
  Handler fn = nullptr;
  uint16_t row = 0;         // index into the instruction table (cpu/insn_table.h)
  uint16_t mnemonic = 0;    // ZydisMnemonic, for diagnostics
  uint8_t len = 0;          // bytes
  uint8_t opsize = 0;       // effective operand width in bytes (1, 2, 4)
  uint8_t addrsize = 0;     // effective address width in bytes (2, 4)
  uint8_t stacksize = 0;    // stack width in bytes (SS.B)
  uint8_t prefixes = 0;     // see namespace prefix
  uint8_t seg = 3;          // segment for implicit DS-relative operands (strings, XLAT)
  uint8_t nops = 0;
  uint8_t far = 0;          // far branch (JMP/CALL/RET far)
  uint8_t bad = 0;          // 0, or the vector raised instead of executing (#UD, #GP)
  uint8_t census = 0;       // the row is not innocuous: the census counts it
  Operand ops[3];
  uint8_t bytes[15] = {};
};

}  // namespace popek::cpu
