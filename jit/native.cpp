// The JIT's native tier: a decoded block becomes one x86-64 host function.
//
// Register assignment inside translated code (fixed for the whole block):
//
//   guest EAX ECX EDX EBX  ->  host eax ecx edx ebx   (so AH..BH stay encodable)
//   guest ESP              ->  host r12d
//   guest EBP ESI EDI      ->  host ebp esi edi
//   r13  CpuState*          r14  Ctx* (this file's runtime context)
//   r15  the guest's arithmetic flags saved around an inline TLB lookup (LAHF/SETO form)
//   r8-r11  scratch: r8d effective address, r9d linear address, r10 host address, r11 temp
//
// The host's arithmetic flags are the guest's (CF PF AF ZF SF OF); every other EFLAGS bit
// stays in CpuState. Translated code keeps them in the host register from block entry
// (POPFQ) to exit (PUSHFQ) and around callouts. The softmmu lookup needs the flags
// register, so a memory access saves them with LAHF/SETO into r15 and restores them with
// ADD/SAHF: a fault in the slow path then reports the flags exactly as they were before
// the faulting instruction.
//
// Shape of a block: prologue (callee-saved registers, guest registers and flags in), one
// piece per guest instruction (host instructions, or a callout to Cpu::step for anything
// not emitted natively), an exit per way out (flags and registers back to CpuState,
// EIP, retired-instruction count), then the out-of-line slow paths of the memory accesses.
// Exceptions never unwind through this code: a helper that faults delivers the exception
// itself with the guest state already written back, and returns a status the code tests.
//
// Block boundaries are the interpreter's: the same instructions retire, and the run loop
// looks at interrupts and timers at the same instruction counts under both engines.
#include "jit/native.h"

#include "jit/host_flags.h"
#include "jit/runtime.h"

#include <Zydis/Zydis.h>
#include <asmjit/asmjit.h>

#include <algorithm>
#include <cinttypes>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <functional>
#include <optional>
#include <vector>

#include "cpu/insn_table.h"
#include "cpu/ops/cc.h"

namespace popek::jit {

using namespace asmjit;
using namespace rt;
using cpu::Insn;
using cpu::OpKind;
using cpu::RegClass;
using cpu::Status;
namespace flag = cpu::flag;

namespace {

// ------------------------------------------------------------------ flag effects

// Flags an instruction reads, always writes, and may leave undefined, as the translator
// sees them for the form at hand (e.g. a shift by an immediate count).
struct FlagFx {
  uint32_t read = 0, must = 0, undef = 0;
  // SHL/SHR/SAR by an immediate: the interpreter clears AF (undefined); where the host
  // sets it otherwise and AF is live, the translator clears it after the host instruction.
  bool clear_af = false;
  // MUL/IMUL: the interpreter sets SF ZF PF from the low half of the product and clears AF
  // (all undefined); where the host differs and they are live, the translator recomputes
  // them with TEST after the host instruction, keeping CF and OF.
  bool mul_szp = false;
  // SHR by an immediate > 1: the interpreter sets OF (undefined) to the operand's old top
  // bit, as for a count of 1; where the host differs and OF is live, the translator does
  // the same after the host instruction.
  bool shr_of = false;
  // SHLD/SHRD: the interpreter sets OF (undefined beyond a count of 1) when the operand's
  // top bit changed; where the host differs and OF is live, the translator does the same.
  bool sign_of = false;
};

// ------------------------------------------------------------------ the translator

class Translator : public Moves {
 public:
  Translator(x86::Assembler& a, const cpu::Block& b, Translation& t, bool user, const StubAddrs& stubs,
             HostFlagsProbe& probe)
      : Moves(a), b_(b), t_(t), user_(user), stubs_(stubs), probe_(probe) {}

  void translate(Stats& stats);
  void translate_threaded(Stats& stats);
  Label chain_entry() const { return chain_; }
  // Each same-page branch's slot and the label of its JMP (the patch address is known
  // once the code is placed).
  const std::vector<std::pair<ChainSlot*, Label>>& patch_sites() const { return patch_sites_; }

 private:
  using Emit = std::function<void()>;

  void jmp_stub(const void* stub) { a_.jmp(reinterpret_cast<uint64_t>(stub)); }
  // The guest flags into r15, unless r15 already holds them: it does from the block's
  // start (both entries leave them there) until an instruction that writes flags or a
  // callout (see translate()), which saves 5 host instructions at most memory accesses
  // and block exits.
  void save_flags_once() {
    if (!r15_valid_) save_flags_r15();
    r15_valid_ = true;
  }
  void call_stub(const void* stub) { a_.call(reinterpret_cast<uint64_t>(stub)); }
  // The callout stub for `site` of this block (host flags = the guest's).
  void call_callout(uint32_t site) {
    a_.mov(x86::r8d, site);
    a_.mov(x86::r9, reinterpret_cast<uint64_t>(&b_));
    call_stub(stubs_.callout);
  }

  // Leave the block for guest EIP entry+`off` (a direct branch or the fall-through), going
  // on in host code when the target is translated.
  // An exit ends its path: the code after it (the other side of a branch) is reached with
  // r15 as it was before the exit.
  void chain_exit(uint32_t off, uint32_t retired) {
    const bool r15_valid = r15_valid_;
    save_flags_once();
    r15_valid_ = r15_valid;
    add_icount(retired);
    const int64_t in_page = static_cast<int64_t>(b_.phys & 0xFFF) + static_cast<int32_t>(off);
    if (in_page >= 0 && in_page < 4096) {
      auto slot = std::make_unique<ChainSlot>();
      slot->target_off = off;
      slot->owner = &t_;
      slot->owner_block = &b_;
      if (off) a_.add(x86::dword_ptr(x86::r14, offsetof(Ctx, entry_eip)), off);
      // A JMP rel32 (forward, so asmjit emits the long form) to this exit's call of the
      // link stub, patched once the target is known.
      Label jmp = a_.newLabel(), to_link = a_.newLabel();
      a_.bind(jmp);
      a_.jmp(to_link);
      ChainSlot* sp = slot.get();
      patch_sites_.emplace_back(sp, jmp);
      t_.slots.push_back(std::move(slot));
      deferred_.push_back([this, sp, to_link] {
        a_.bind(to_link);
        a_.mov(x86::r10, reinterpret_cast<uint64_t>(sp));
        jmp_stub(stubs_.link);
      });
    } else {
      set_eip(off);
      jmp_stub(stubs_.indirect);
    }
  }
  // The same for an indirect branch: EIP is already in CpuState.
  void lookup_exit(uint32_t retired) {
    const bool r15_valid = r15_valid_;
    save_flags_once();
    r15_valid_ = r15_valid;
    add_icount(retired);
    jmp_stub(stubs_.indirect);
  }

  // The dword at [r10] into the context's scratch slot (flag-free).
  void load_scratch() {
    a_.mov(x86::r11d, x86::dword_ptr(x86::r10));
    a_.mov(x86::dword_ptr(x86::r14, offsetof(Ctx, scratch)), x86::r11d);
  }

  // SF ZF PF from the low half of a product, AF cleared, CF and OF kept (after MUL/IMUL).
  void fix_mul_flags(const x86::Gp& low) {
    a_.seto(x86::r9b);
    a_.test(low, low);
    save_flags_r15();
    a_.movzx(x86::r9d, x86::r9b);
    a_.imul(x86::r9d, x86::r9d, 0x101);  // CF (AH bit 0) and OF (AL)
    a_.or_(x86::r15d, x86::r9d);
    restore_flags_r15();
  }

  // --- pieces of instructions
  void emit_ea(const cpu::Operand& op) {
    const bool has_base = op.base != cpu::kNoReg, has_index = op.index != cpu::kNoReg;
    const uint32_t shift = op.scale == 8 ? 3 : op.scale == 4 ? 2 : op.scale == 2 ? 1 : 0;
    const int32_t disp = static_cast<int32_t>(op.disp);
    if (has_base && has_index) {
      a_.lea(x86::r8d, x86::ptr(kG64[op.base], kG64[op.index], shift, disp));
    } else if (has_base) {
      a_.lea(x86::r8d, x86::ptr(kG64[op.base], disp));
    } else if (has_index) {
      a_.mov(x86::r8d, op.disp);
      a_.lea(x86::r8d, x86::ptr(x86::r8, kG64[op.index], shift));
    } else {
      a_.mov(x86::r8d, op.disp);
    }
  }

  // A memory access of `size` bytes at r8d (the offset in segment `seg`): the inline TLB
  // lookup, then `op` on [r10]; `after` runs once the access succeeded (register updates,
  // flag-free); `finish` ends the block when the instruction is a branch. The slow path
  // runs `op` on whatever the softmmu returned and writes a bounced store back.
  // `smc_target` / `smc_eip_set`: where a branch goes when its store changed code.
  void access(unsigned i, unsigned seg, unsigned size, Kind kind, const Emit& op, const Emit& after,
              const Emit& finish, std::optional<uint32_t> smc_target = std::nullopt, bool smc_eip_set = false) {
    t_.seg_mask |= static_cast<uint8_t>(1u << seg);
    if (seg == cpu::FS || seg == cpu::GS) {
      a_.mov(x86::r9d, x86::dword_ptr(x86::r13, seg_base_off(seg)));
      a_.lea(x86::r9d, x86::ptr(x86::r9, x86::r8));
    } else {
      a_.mov(x86::r9d, x86::r8d);  // DS, ES, SS start at 0 (the guard)
    }
    save_flags_once();
    Label slow = a_.newLabel(), done = a_.newLabel();
    if ((seg == cpu::FS || seg == cpu::GS) && size > 1) {
      // An access past the 4 GiB limit faults; with a base that is not page-aligned the
      // wrapped linear address need not cross a page, so look at the offset itself.
      a_.cmp(x86::r8d, static_cast<uint32_t>(0u - size));
      a_.ja(slow);
    }
    tlb_entry(x86::r9d, offsetof(Ctx, tlb_now));
    // The tag of the access's last byte: a page-crossing access misses.
    a_.lea(x86::r11d, x86::ptr(x86::r9, static_cast<int32_t>(size - 1)));
    a_.and_(x86::r11d, 0xFFFFF000u);
    const int arr = static_cast<int>(((kind == kRead ? 0 : 1) * 2 + (user_ ? 1 : 0)) * mmu::kTlbSize *
                                     sizeof(mmu::TlbEntry));
    a_.cmp(x86::r11d, x86::dword_ptr(x86::r10, arr + offsetof(mmu::TlbEntry, tag)));
    a_.jne(slow);
    a_.mov(x86::r10, x86::qword_ptr(x86::r10, arr + offsetof(mmu::TlbEntry, addend)));
    a_.add(x86::r10, x86::r9);  // r9: the linear address, zero-extended
    const bool restore = restore_;
    restore_ = true;
    if (restore) restore_flags_r15();
    op();
    a_.bind(done);
    if (after) after();
    if (finish) finish();

    const uint32_t site = pack::site(off_, pending_, desc::make(seg, size, kind));
    const uint32_t pending = pending_, next = off_ + b_.insns[i].len;
    deferred_.push_back([=, this] {
      a_.bind(slow);
      a_.mov(x86::r11d, site);
      call_stub(stubs_.access);  // faults leave the block from the stub
      if (restore) restore_flags_r15();
      op();
      if (kind != kRead) {
        Label smc = a_.newLabel();
        save_flags_r15();
        call_stub(stubs_.writeback);
        a_.test(x86::r11d, x86::r11d);
        a_.jnz(smc);
        restore_flags_r15();
        a_.jmp(done);
        // The store changed code: finish the instruction and go back to the run loop, as
        // the interpreter does. (Flags are in r15.)
        a_.bind(smc);
        if (after) after();
        a_.mov(x86::r8, smc_eip_set ? pack::exit(0, pending + 1) | pack::kEipSet
                                    : pack::exit(smc_target ? *smc_target : next, pending + 1));
        jmp_stub(stubs_.exit_r15);
      } else {
        a_.jmp(done);
      }
    });
  }

  Operand_ host_operand(const Insn& in, int k) {
    const cpu::Operand& op = in.ops[k];
    switch (op.kind) {
      case OpKind::Reg: return greg(op.reg, op.size);
      case OpKind::Imm: return Imm(sext(op.disp, op.size));
      case OpKind::Mem: return x86::ptr(x86::r10, 0, op.size);
      default: return Operand_();
    }
  }

  FlagFx flag_fx(const Insn& in);
  bool native(const Insn& in, unsigned i, uint32_t live_after, bool dry);
  bool emit_generic(const Insn& in, unsigned i, InstId id, uint32_t live_after, bool dry);
  bool emit_string(const Insn& in, unsigned i, uint32_t live_after, bool dry);
  bool emit_rep_string(const Insn& in, unsigned i, uint32_t live_after, bool dry);
  // r_host = the host address of [r_lin] (flat, 32-bit) for a `kind` access when the TLB
  // has the page; else to `miss`. Uses r10, r11.
  void tlb_host(const x86::Gp& r_lin, Kind kind, const x86::Gp& r_host, Label miss) {
    tlb_entry(r_lin.r32(), offsetof(Ctx, tlb_now));
    a_.mov(x86::r11d, r_lin.r32());
    a_.and_(x86::r11d, 0xFFFFF000u);
    const int arr = static_cast<int>(((kind == kRead ? 0 : 1) * 2 + (user_ ? 1 : 0)) * mmu::kTlbSize *
                                     sizeof(mmu::TlbEntry));
    a_.cmp(x86::r11d, x86::dword_ptr(x86::r10, arr + offsetof(mmu::TlbEntry, tag)));
    a_.jne(miss);
    a_.mov(r_host, x86::qword_ptr(x86::r10, arr + offsetof(mmu::TlbEntry, addend)));
    a_.add(r_host, r_lin.r64());
  }
  // To `out` unless [r_lin, r_lin + ECX * w) lies in one page (uses r10, r11).
  void one_page(const x86::Gp& r_lin, unsigned shift, Label out) {
    a_.lea(x86::r11d, x86::ptr(r_lin.r64(), x86::rcx, shift, -1));
    a_.mov(x86::r10d, r_lin.r32());
    a_.xor_(x86::r10d, x86::r11d);
    a_.test(x86::r10d, 0xFFFFF000u);
    a_.jnz(out);
  }
  // ESI and/or EDI += DF ? -w : w, without touching the host flags (uses r11).
  void string_step(unsigned w, bool si, bool di) {
    a_.movzx(x86::r11d, x86::byte_ptr(x86::r13, kOffEflags + 1));
    a_.mov(x86::r11, x86::qword_ptr(x86::r14, x86::r11, 3, offsetof(Ctx, df_step)));
    const uint32_t shift = w == 4 ? 2 : w == 2 ? 1 : 0;
    if (si) a_.lea(x86::esi, x86::ptr(x86::rsi, x86::r11, shift));
    if (di) a_.lea(x86::edi, x86::ptr(x86::rdi, x86::r11, shift));
  }
  void callout(unsigned i, bool last);

  const cpu::Block& b_;
  Translation& t_;
  bool user_;
  Label exit_;
  Label chain_ = a_.newLabel();
  std::vector<std::pair<ChainSlot*, Label>> patch_sites_;
  uint32_t off_ = 0;      // EIP offset of the instruction being translated
  uint32_t pending_ = 0;  // native instructions retired since icount was last written
  bool ended_ = false;    // the block's exits are emitted
  const StubAddrs& stubs_;
  HostFlagsProbe& probe_;
  // Whether the next access() puts the guest flags back into the host's before its
  // operation: not when the operation needs none of them (it overwrites every live one).
  // The flags are saved all the same, for a fault to report them.
  bool restore_ = true;
  bool r15_valid_ = false;  // r15 holds the guest's current arithmetic flags (main path)
  std::vector<Emit> deferred_;
};

// Jcc, SETcc and CMOVcc rows (each family is 16 consecutive rows in condition order).
bool reads_condition(const Insn& in) {
  static const int jo = cpu::find_row(ZYDIS_MNEMONIC_JO, cpu::Form::Any);
  static const int seto = cpu::find_row(ZYDIS_MNEMONIC_SETO, cpu::Form::Any);
  static const int cmovo = cpu::find_row(ZYDIS_MNEMONIC_CMOVO, cpu::Form::Any);
  const int r = in.row;
  return (r >= jo && r < jo + 16) || (r >= seto && r < seto + 16) || (r >= cmovo && r < cmovo + 16) ||
         in.mnemonic == ZYDIS_MNEMONIC_LOOPE || in.mnemonic == ZYDIS_MNEMONIC_LOOPNE;
}

bool is_reg(const cpu::Operand& op) {
  return op.kind == OpKind::Reg &&
         (op.rclass == RegClass::Gpr8 || op.rclass == RegClass::Gpr16 || op.rclass == RegClass::Gpr32);
}

// The operand of a 32-bit PUSH or CALL the translator emits: an immediate (or a relative
// target), a 32-bit register or a memory operand.
bool imm_reg32_or_mem(const cpu::Operand& op) {
  return op.kind == OpKind::Imm || op.kind == OpKind::Mem || (is_reg(op) && op.size == 4);
}

// LODS, STOS, MOVS, SCAS and CMPS (Zydis shows no operands for them).
enum class Str { None, Lods, Stos, Movs, Scas, Cmps };
Str string_kind(const Insn& in) {
  switch (in.mnemonic) {
    case ZYDIS_MNEMONIC_LODSB: case ZYDIS_MNEMONIC_LODSW: case ZYDIS_MNEMONIC_LODSD: return Str::Lods;
    case ZYDIS_MNEMONIC_STOSB: case ZYDIS_MNEMONIC_STOSW: case ZYDIS_MNEMONIC_STOSD: return Str::Stos;
    case ZYDIS_MNEMONIC_MOVSB: case ZYDIS_MNEMONIC_MOVSW: case ZYDIS_MNEMONIC_MOVSD: return Str::Movs;
    case ZYDIS_MNEMONIC_SCASB: case ZYDIS_MNEMONIC_SCASW: case ZYDIS_MNEMONIC_SCASD: return Str::Scas;
    case ZYDIS_MNEMONIC_CMPSB: case ZYDIS_MNEMONIC_CMPSW: case ZYDIS_MNEMONIC_CMPSD: return Str::Cmps;
    default: return Str::None;
  }
}

// The table's columns (cpu/ops/*.def) give what a row may read, write and leave undefined
// over all its forms; a shift or rotate by an immediate count is refined here, since the
// count decides which flags it writes at all.
FlagFx Translator::flag_fx(const Insn& in) {
  using namespace cpu::flag;
  const auto m = static_cast<ZydisMnemonic>(in.mnemonic);
  const cpu::InsnRow& row = cpu::kInsnTable[in.row];
  FlagFx fx;
  fx.read = row.flags_read & kArith;
  fx.undef = row.flags_undef & kArith;
  fx.must = row.flags_written & ~row.flags_undef & ~row.flags_read & kArith;
  // The manual leaves every flag undefined after DIV; the interpreter leaves them as they
  // were, and so does the translation (it puts them back after the host's DIV).
  if (m == ZYDIS_MNEMONIC_DIV) fx = FlagFx{};
  // BSF/BSR: the same for every flag but ZF (the translation merges the host's ZF in).
  if (m == ZYDIS_MNEMONIC_BSF || m == ZYDIS_MNEMONIC_BSR) {
    fx = FlagFx{};
    fx.must = ZF;
  }
  // CMPS and SCAS read the flags only under REP (a count of 0 leaves them).
  const Str str = string_kind(in);
  if ((str == Str::Cmps || str == Str::Scas) && !(in.prefixes & (cpu::prefix::REP | cpu::prefix::REPNE))) {
    fx.read = 0;
    fx.must = row.flags_written & kArith;
  }
  const bool shift = m == ZYDIS_MNEMONIC_SHL || m == ZYDIS_MNEMONIC_SHR || m == ZYDIS_MNEMONIC_SAR;
  const bool dshift = m == ZYDIS_MNEMONIC_SHLD || m == ZYDIS_MNEMONIC_SHRD;
  const bool rotate = m == ZYDIS_MNEMONIC_ROL || m == ZYDIS_MNEMONIC_ROR;
  const bool rcx = m == ZYDIS_MNEMONIC_RCL || m == ZYDIS_MNEMONIC_RCR;
  if (shift || dshift || rotate || rcx) {
    const cpu::Operand& count = in.ops[dshift ? 2 : 1];
    if (count.kind == OpKind::Imm) {
      const unsigned c = count.disp & 31, width = in.ops[0].size * 8u;
      if (c == 0) return FlagFx{};  // flags unchanged
      const uint32_t of = c == 1 ? 0 : OF;
      if (shift || dshift) {
        // CF is undefined once the count reaches the operand's width (8- and 16-bit).
        fx.undef = AF | of | (c >= width ? CF : 0);
        fx.read = 0;
        fx.must = kArith & ~fx.undef;
      } else {
        fx.undef = of;
        fx.read = rcx ? CF : 0;
        fx.must = (CF | OF) & ~fx.undef & ~fx.read;
      }
    }
  }
  // Undefined flags that this host computes as the interpreter does are as good as defined.
  if (fx.undef) fx.undef &= ~probe_.agreeing(in, fx.undef);
  // SHL/SHR/SAR by an immediate (not 0) or by CL (the fix-ups then test CL: a count of 0
  // leaves every flag alone).
  const bool shift_imm = (m == ZYDIS_MNEMONIC_SHL || m == ZYDIS_MNEMONIC_SHR || m == ZYDIS_MNEMONIC_SAR) &&
                         ((in.ops[1].kind == OpKind::Imm && (in.ops[1].disp & 31) != 0) ||
                          in.ops[1].kind == OpKind::Reg);
  if (shift_imm && (fx.undef & AF)) {
    fx.undef &= ~AF;
    fx.clear_af = true;
  }
  if (shift_imm && m == ZYDIS_MNEMONIC_SHR && (fx.undef & OF)) {
    fx.undef &= ~OF;
    fx.shr_of = true;
  }
  // SHLD/SHRD (32-bit) by an immediate (not 0) or by CL: the interpreter clears AF and sets
  // OF when the sign changed, for any count.
  const bool dshift_fix = dshift && in.opsize == 4 &&
                          ((in.ops[2].kind == OpKind::Imm && (in.ops[2].disp & 31) != 0) ||
                           in.ops[2].kind == OpKind::Reg);
  if (dshift_fix && (fx.undef & AF)) {
    fx.undef &= ~AF;
    fx.clear_af = true;
  }
  if (dshift_fix && (fx.undef & OF)) {
    fx.undef &= ~OF;
    fx.sign_of = true;
  }
  if ((m == ZYDIS_MNEMONIC_MUL || m == ZYDIS_MNEMONIC_IMUL) && fx.undef) {
    Insn test;  // TEST's AF must come out cleared, as the interpreter's
    test.mnemonic = ZYDIS_MNEMONIC_TEST;
    test.ops[0].size = in.ops[0].size;
    if (probe_.agreeing(test, AF) == AF) {
      fx.undef &= ~(SF | ZF | AF | PF);
      fx.mul_szp = true;
    }
  }
  return fx;
}


bool may_fault_native(const Insn& in) {
  if (string_kind(in) != Str::None || in.mnemonic == ZYDIS_MNEMONIC_DIV) return true;
  switch (in.mnemonic) {
    case ZYDIS_MNEMONIC_LEA: case ZYDIS_MNEMONIC_NOP: case ZYDIS_MNEMONIC_PREFETCHNTA:
    case ZYDIS_MNEMONIC_PREFETCHT0: case ZYDIS_MNEMONIC_PREFETCHT1: case ZYDIS_MNEMONIC_PREFETCHT2:
      return false;
    case ZYDIS_MNEMONIC_PUSH: case ZYDIS_MNEMONIC_POP: case ZYDIS_MNEMONIC_CALL: case ZYDIS_MNEMONIC_RET:
    case ZYDIS_MNEMONIC_LEAVE:
      return true;
    default:
      break;
  }
  for (unsigned k = 0; k < in.nops; ++k) {
    if (in.ops[k].kind == OpKind::Mem) return true;
  }
  return false;
}

// Whether a native instruction stores to memory (and may so end its block: see access()).
bool writes_memory(const Insn& in) {
  switch (string_kind(in)) {
    case Str::None: break;
    case Str::Stos: case Str::Movs: return true;
    default: return false;
  }
  switch (in.mnemonic) {
    case ZYDIS_MNEMONIC_PUSH: case ZYDIS_MNEMONIC_CALL:
      return true;
    case ZYDIS_MNEMONIC_CMP: case ZYDIS_MNEMONIC_TEST: case ZYDIS_MNEMONIC_BT: case ZYDIS_MNEMONIC_LEA:
    case ZYDIS_MNEMONIC_NOP: case ZYDIS_MNEMONIC_PREFETCHNTA: case ZYDIS_MNEMONIC_PREFETCHT0:
    case ZYDIS_MNEMONIC_PREFETCHT1: case ZYDIS_MNEMONIC_PREFETCHT2:
      return false;
    case ZYDIS_MNEMONIC_XCHG: case ZYDIS_MNEMONIC_XADD:
      return in.ops[0].kind == OpKind::Mem || in.ops[1].kind == OpKind::Mem;
    default:
      return in.ops[0].kind == OpKind::Mem;
  }
}

// The host instruction for rows emitted one-to-one, or kIdNone.
InstId generic_inst(const Insn& in) {
  namespace Inst = x86::Inst;
  switch (in.mnemonic) {
    case ZYDIS_MNEMONIC_ADD: return Inst::kIdAdd;
    case ZYDIS_MNEMONIC_ADC: return Inst::kIdAdc;
    case ZYDIS_MNEMONIC_SUB: return Inst::kIdSub;
    case ZYDIS_MNEMONIC_SBB: return Inst::kIdSbb;
    case ZYDIS_MNEMONIC_CMP: return Inst::kIdCmp;
    case ZYDIS_MNEMONIC_AND: return Inst::kIdAnd;
    case ZYDIS_MNEMONIC_OR: return Inst::kIdOr;
    case ZYDIS_MNEMONIC_XOR: return Inst::kIdXor;
    case ZYDIS_MNEMONIC_TEST: return Inst::kIdTest;
    case ZYDIS_MNEMONIC_INC: return Inst::kIdInc;
    case ZYDIS_MNEMONIC_DEC: return Inst::kIdDec;
    case ZYDIS_MNEMONIC_NEG: return Inst::kIdNeg;
    case ZYDIS_MNEMONIC_NOT: return Inst::kIdNot;
    case ZYDIS_MNEMONIC_MOV: return Inst::kIdMov;
    case ZYDIS_MNEMONIC_MOVZX: return Inst::kIdMovzx;
    case ZYDIS_MNEMONIC_MOVSX: return Inst::kIdMovsx;
    case ZYDIS_MNEMONIC_XCHG: return Inst::kIdXchg;
    case ZYDIS_MNEMONIC_XADD: return Inst::kIdXadd;
    case ZYDIS_MNEMONIC_CMPXCHG: return Inst::kIdCmpxchg;
    case ZYDIS_MNEMONIC_SHL: return Inst::kIdShl;
    case ZYDIS_MNEMONIC_SHR: return Inst::kIdShr;
    case ZYDIS_MNEMONIC_SAR: return Inst::kIdSar;
    case ZYDIS_MNEMONIC_ROL: return Inst::kIdRol;
    case ZYDIS_MNEMONIC_ROR: return Inst::kIdRor;
    case ZYDIS_MNEMONIC_RCL: return Inst::kIdRcl;
    case ZYDIS_MNEMONIC_RCR: return Inst::kIdRcr;
    case ZYDIS_MNEMONIC_BT: return Inst::kIdBt;
    case ZYDIS_MNEMONIC_BTS: return Inst::kIdBts;
    case ZYDIS_MNEMONIC_BTR: return Inst::kIdBtr;
    case ZYDIS_MNEMONIC_BTC: return Inst::kIdBtc;
    case ZYDIS_MNEMONIC_LAHF: return Inst::kIdLahf;
    case ZYDIS_MNEMONIC_SAHF: return Inst::kIdSahf;
    case ZYDIS_MNEMONIC_CLC: return Inst::kIdClc;
    case ZYDIS_MNEMONIC_STC: return Inst::kIdStc;
    case ZYDIS_MNEMONIC_CMC: return Inst::kIdCmc;
    // BSWAP of a 16-bit register and SHLD/SHRD of 16-bit operands by more than 16 are
    // undefined: those forms stay with the interpreter.
    case ZYDIS_MNEMONIC_BSWAP: return in.opsize == 4 ? Inst::kIdBswap : Inst::kIdNone;
    case ZYDIS_MNEMONIC_SHLD: return in.opsize == 4 ? Inst::kIdShld : Inst::kIdNone;
    case ZYDIS_MNEMONIC_SHRD: return in.opsize == 4 ? Inst::kIdShrd : Inst::kIdNone;
    case ZYDIS_MNEMONIC_IMUL: return in.nops >= 2 ? Inst::kIdImul : Inst::kIdNone;
    default: break;
  }
  if (reads_condition(in) && in.mnemonic != ZYDIS_MNEMONIC_LOOPE && in.mnemonic != ZYDIS_MNEMONIC_LOOPNE) {
    const auto cc = static_cast<x86::CondCode>(cpu::ops::condition_code(in));
    const char* name = cpu::kInsnTable[in.row].name;
    if (name[0] == 'S') return Inst::setccFromCond(cc);
    if (name[0] == 'C') return Inst::cmovccFromCond(cc);
  }
  return Inst::kIdNone;
}

bool Translator::emit_generic(const Insn& in, unsigned i, InstId id, uint32_t live_after, bool dry) {
  int mem = -1;
  for (unsigned k = 0; k < in.nops; ++k) {
    const cpu::Operand& op = in.ops[k];
    if (op.kind == OpKind::Mem) mem = static_cast<int>(k);
    else if (op.kind != OpKind::Imm && !is_reg(op)) return false;
  }
  const auto m = in.mnemonic;
  const bool bt = m == ZYDIS_MNEMONIC_BT || m == ZYDIS_MNEMONIC_BTS || m == ZYDIS_MNEMONIC_BTR ||
                  m == ZYDIS_MNEMONIC_BTC;
  // BT* with a register bit offset addresses a bit string beyond the operand.
  if (bt && mem == 0 && in.ops[1].kind != OpKind::Imm) return false;
  // A shift or rotate of memory by a count that masks to 0 writes nothing, while a store
  // through the softmmu's slow path always writes: such forms (and counts in CL) stay
  // with the interpreter.
  const bool shift = m == ZYDIS_MNEMONIC_SHL || m == ZYDIS_MNEMONIC_SHR || m == ZYDIS_MNEMONIC_SAR ||
                     m == ZYDIS_MNEMONIC_ROL || m == ZYDIS_MNEMONIC_ROR || m == ZYDIS_MNEMONIC_RCL ||
                     m == ZYDIS_MNEMONIC_RCR || m == ZYDIS_MNEMONIC_SHLD || m == ZYDIS_MNEMONIC_SHRD;
  if (shift && mem == 0) {
    const cpu::Operand& count = in.ops[in.nops - 1];
    if (count.kind != OpKind::Imm || (count.disp & 31) == 0) return false;
  }
  Kind kind = kRead;
  if (mem == 0) {
    const bool setcc = id >= x86::Inst::kIdSeta && id <= x86::Inst::kIdSetz && reads_condition(in);
    if (m == ZYDIS_MNEMONIC_MOV || setcc) kind = kWrite;
    else if (m == ZYDIS_MNEMONIC_CMP || m == ZYDIS_MNEMONIC_TEST || m == ZYDIS_MNEMONIC_BT) kind = kRead;
    else kind = kRmw;
  } else if (mem > 0 && (m == ZYDIS_MNEMONIC_XCHG || m == ZYDIS_MNEMONIC_XADD || m == ZYDIS_MNEMONIC_CMPXCHG)) {
    kind = kRmw;
  }
  const FlagFx fx = flag_fx(in);
  // The SHR fix-up reads the old operand into r9d: not encodable for AH..BH.
  if (fx.shr_of && (live_after & cpu::flag::OF) && in.ops[0].kind == OpKind::Reg &&
      in.ops[0].rclass == RegClass::Gpr8 && in.ops[0].reg >= 4) {
    return false;
  }
  if (dry) return true;
  Operand_ o[3];
  for (unsigned k = 0; k < in.nops; ++k) o[k] = host_operand(in, static_cast<int>(k));
  unsigned n = in.nops;
  if (id == x86::Inst::kIdCmpxchg) o[n++] = greg(cpu::EAX, in.ops[0].size);  // asmjit names EAX
  const bool clear_af = fx.clear_af && (live_after & cpu::flag::AF);
  const bool mul_szp = fx.mul_szp && (live_after & kSzap);
  const bool shr_of = fx.shr_of && (live_after & cpu::flag::OF);
  const bool sign_of = fx.sign_of && (live_after & cpu::flag::OF);
  const x86::Gp low = is_reg(in.ops[0]) ? greg(in.ops[0].reg, in.ops[0].size) : x86::Gp();
  const unsigned size0 = in.ops[0].size;
  const Operand_ dst0 = o[0];
  const bool dshift = m == ZYDIS_MNEMONIC_SHLD || m == ZYDIS_MNEMONIC_SHRD;
  const bool by_cl = (clear_af || shr_of || sign_of) && in.ops[dshift ? 2 : 1].kind == OpKind::Reg;
  const Emit op = [this, id, o, n, clear_af, mul_szp, shr_of, sign_of, low, size0, dst0, by_cl] {
    if (by_cl) a_.movzx(x86::r8d, x86::cl);  // the count, before the shift may change CL
    if (shr_of || sign_of) {  // the old operand (its top bit matters), into r9d (flag-free)
      if (size0 == 4) a_.emit(x86::Inst::kIdMov, x86::r9d, dst0);
      else a_.emit(x86::Inst::kIdMovzx, x86::r9d, dst0);
    }
    a_.emitOpArray(id, o, n);
    if (clear_af || shr_of || sign_of) {
      Label skip = a_.newLabel();
      save_flags_r15();
      if (by_cl) {
        a_.test(x86::r8b, 31);
        a_.jz(skip);
      }
      if (clear_af) a_.and_(x86::r15d, ~(cpu::flag::AF << 8));
      if (sign_of) a_.emit(x86::Inst::kIdXor, x86::r9d, dst0);  // old ^ new (32-bit only)
      if (shr_of || sign_of) {
        a_.shr(x86::r9d, size0 * 8 - 1);
        a_.and_(x86::r15d, ~1u);  // OF is bit 0 (AL) of the saved form
        a_.or_(x86::r15d, x86::r9d);
      }
      a_.bind(skip);
      restore_flags_r15();
    }
    if (mul_szp) fix_mul_flags(low);
  };
  if (mem >= 0) {
    emit_ea(in.ops[mem]);
    restore_ = ((fx.read | (live_after & ~fx.must)) & kArith) != 0;
    access(i, in.ops[mem].seg, in.ops[mem].size, kind, op, nullptr, nullptr);
  } else {
    op();
  }
  ++pending_;
  return true;
}

bool Translator::native(const Insn& in, unsigned i, uint32_t live_after, bool dry) {
  if (in.bad || !in.fn || in.census) return false;
  if (in.addrsize != 4) return false;  // 16-bit addressing stays with the interpreter
  if (flag_fx(in).undef & live_after) return false;
  // AH..BH cannot be encoded next to an operand that needs a REX prefix (r10, r12).
  bool high = false, rex = false;
  for (unsigned k = 0; k < in.nops; ++k) {
    const cpu::Operand& op = in.ops[k];
    if (op.kind == OpKind::Reg && op.rclass == RegClass::Gpr8 && op.reg >= 4) high = true;
    if (op.kind == OpKind::Mem) rex = true;
    // A code segment is never assumed flat for data (guard_ok): such accesses are callouts.
    if (op.kind == OpKind::Mem && op.seg == cpu::CS) return false;
    if (op.kind == OpKind::Reg && op.rclass != RegClass::Gpr8 && op.reg == cpu::ESP) rex = true;
  }
  if (high && rex) return false;

  if (string_kind(in) != Str::None) return emit_string(in, i, live_after, dry);
  const uint32_t next = off_ + in.len;
  const cpu::Operand& o0 = in.ops[0];
  switch (in.mnemonic) {
    case ZYDIS_MNEMONIC_NOP: case ZYDIS_MNEMONIC_PAUSE: case ZYDIS_MNEMONIC_PREFETCHNTA:
    case ZYDIS_MNEMONIC_PREFETCHT0: case ZYDIS_MNEMONIC_PREFETCHT1: case ZYDIS_MNEMONIC_PREFETCHT2:
      if (!dry) ++pending_;
      return true;

    // LEA r, m
    case ZYDIS_MNEMONIC_LEA: {
      const cpu::Operand& m = in.ops[1];
      if (!is_reg(o0) || o0.size == 1 || m.kind != OpKind::Mem) return false;
      if (dry) return true;
      const x86::Gp dst = greg(o0.reg, o0.size);
      const uint32_t shift = m.scale == 8 ? 3 : m.scale == 4 ? 2 : m.scale == 2 ? 1 : 0;
      const int32_t disp = static_cast<int32_t>(m.disp);
      if (m.base != cpu::kNoReg && m.index != cpu::kNoReg) {
        a_.lea(dst, x86::ptr(kG64[m.base], kG64[m.index], shift, disp));
      } else if (m.base != cpu::kNoReg) {
        a_.lea(dst, x86::ptr(kG64[m.base], disp));
      } else if (m.index != cpu::kNoReg) {
        a_.mov(x86::r11d, m.disp);
        a_.lea(dst, x86::ptr(x86::r11, kG64[m.index], shift));
      } else {
        a_.mov(dst, Imm(sext(m.disp, o0.size)));
      }
      ++pending_;
      return true;
    }

    // CBW / CWDE / CWD / CDQ
    case ZYDIS_MNEMONIC_CBW: if (!dry) { a_.cbw(x86::ax); ++pending_; } return true;
    case ZYDIS_MNEMONIC_CWDE: if (!dry) { a_.cwde(x86::eax); ++pending_; } return true;
    case ZYDIS_MNEMONIC_CWD: if (!dry) { a_.cwd(x86::dx, x86::ax); ++pending_; } return true;
    case ZYDIS_MNEMONIC_CDQ: if (!dry) { a_.cdq(x86::edx, x86::eax); ++pending_; } return true;

    // MUL r/m / IMUL r/m (one operand: EDX:EAX <- EAX * r/m)
    case ZYDIS_MNEMONIC_MUL:
    case ZYDIS_MNEMONIC_IMUL: {
      if (in.mnemonic == ZYDIS_MNEMONIC_IMUL && in.nops >= 2) break;
      if (o0.kind != OpKind::Mem && !is_reg(o0)) return false;
      if (dry) return true;
      const InstId id = in.mnemonic == ZYDIS_MNEMONIC_MUL ? x86::Inst::kIdMul : x86::Inst::kIdImul;
      const unsigned size = o0.size;
      const Operand_ src = host_operand(in, 0);
      const bool mul_szp = flag_fx(in).mul_szp && (live_after & kSzap);
      const Emit op = [this, id, size, src, mul_szp] {
        if (size == 1) a_.emit(id, x86::ax, src);
        else a_.emit(id, greg(cpu::EDX, size), greg(cpu::EAX, size), src);
        if (mul_szp) fix_mul_flags(greg(cpu::EAX, size));  // AL, AX or EAX: the low half
      };
      if (o0.kind == OpKind::Mem) {
        emit_ea(o0);
        restore_ = false;  // MUL writes every flag (and reads none)
        access(i, o0.seg, size, kRead, op, nullptr, nullptr);
      } else {
        op();
      }
      ++pending_;
      return true;
    }

    // DIV r/m (unsigned: AX / r/m8, DX:AX / r/m16, EDX:EAX / r/m32). The quotient fits
    // exactly when the high half of the dividend is below the divisor (which also rules out
    // 0); else the callout stub raises #DE as the interpreter would. (IDIV stays a callout.)
    case ZYDIS_MNEMONIC_DIV: {
      if (o0.kind != OpKind::Mem && !is_reg(o0)) return false;
      if (o0.kind == OpKind::Mem && o0.size == 1) return false;  // no CMP AH, [r10] (REX)
      if (dry) return true;
      const unsigned size = o0.size;
      const Operand_ src = host_operand(in, 0);
      const x86::Gp high = size == 1 ? x86::Gp(x86::ah) : greg(cpu::EDX, size);
      const bool restore = (live_after & kArith) != 0;
      Label de = a_.newLabel();
      const Emit op = [this, size, src, high, de, restore] {
        a_.emit(x86::Inst::kIdCmp, high, src);
        a_.jae(de);
        if (size == 1) a_.emit(x86::Inst::kIdDiv, x86::ax, src);
        else a_.emit(x86::Inst::kIdDiv, greg(cpu::EDX, size), greg(cpu::EAX, size), src);
        if (restore) restore_flags_r15();  // DIV keeps the flags
      };
      save_flags_once();  // the flags as #DE must report them
      if (o0.kind == OpKind::Mem) {
        emit_ea(o0);
        restore_ = false;
        access(i, o0.seg, size, kRead, op, nullptr, nullptr);
      } else {
        op();
      }
      const uint32_t site = pack::site(off_, pending_, i) | pack::kRaiseDe;
      deferred_.push_back([this, de, site] {
        a_.bind(de);
        restore_flags_r15();
        call_callout(site);  // raises #DE and leaves the block
        a_.jmp(exit_);              // (never back here)
      });
      ++pending_;
      return true;
    }

    // BSF/BSR r, r/m (16/32-bit): the host's instruction leaves the destination alone for a
    // zero source, as the interpreter does; only its ZF is taken, the other flags stay.
    case ZYDIS_MNEMONIC_BSF:
    case ZYDIS_MNEMONIC_BSR: {
      const cpu::Operand& o1 = in.ops[1];
      if (!is_reg(o0) || (o1.kind != OpKind::Mem && !is_reg(o1))) return false;
      if (dry) return true;
      const InstId id = in.mnemonic == ZYDIS_MNEMONIC_BSF ? x86::Inst::kIdBsf : x86::Inst::kIdBsr;
      const x86::Gp dst = greg(o0.reg, o0.size);
      const Operand_ src = host_operand(in, 1);
      const Emit op = [this, id, dst, src] {
        a_.emit(id, dst, src);
        a_.setz(x86::r9b);
        a_.movzx(x86::r9d, x86::r9b);
        a_.shl(x86::r9d, 14);  // ZF's place in the saved form (bit 6 of AH)
        a_.and_(x86::r15d, ~(cpu::flag::ZF << 8));
        a_.or_(x86::r15d, x86::r9d);
        restore_flags_r15();
      };
      save_flags_once();  // the flags before, for the merge
      if (o1.kind == OpKind::Mem) {
        emit_ea(o1);
        restore_ = false;  // the merge puts every flag back
        access(i, o1.seg, o1.size, kRead, op, nullptr, nullptr);
      } else {
        op();
      }
      ++pending_;
      return true;
    }

    // PUSH r32 / PUSH imm32 / PUSH m32
    case ZYDIS_MNEMONIC_PUSH: {
      if (in.opsize != 4 || !imm_reg32_or_mem(o0)) return false;
      if (dry) return true;
      if (o0.kind == OpKind::Mem) {
        // Two accesses: the load (a fault there changes nothing), then the push.
        emit_ea(o0);
        access(i, o0.seg, 4, kRead, [this] { load_scratch(); }, nullptr, nullptr);
        a_.lea(x86::r8d, x86::ptr(x86::r12, -4));
        restore_ = (live_after & kArith) != 0;
        access(i, cpu::SS, 4, kWrite,
               [this] {
                 a_.mov(x86::r11d, x86::dword_ptr(x86::r14, offsetof(Ctx, scratch)));
                 a_.mov(x86::dword_ptr(x86::r10), x86::r11d);
               },
               [this] { a_.lea(x86::r12d, x86::ptr(x86::r12, -4)); }, nullptr);
        ++pending_;
        return true;
      }
      const Operand_ src = o0.kind == OpKind::Imm ? Operand_(Imm(static_cast<int32_t>(o0.disp))) : Operand_(kG32[o0.reg]);
      a_.lea(x86::r8d, x86::ptr(x86::r12, -4));
      restore_ = (live_after & kArith) != 0;
      access(i, cpu::SS, 4, kWrite, [this, src] { a_.emit(x86::Inst::kIdMov, x86::dword_ptr(x86::r10), src); },
             [this] { a_.lea(x86::r12d, x86::ptr(x86::r12, -4)); }, nullptr);
      ++pending_;
      return true;
    }

    // POP r32 (not ESP)
    case ZYDIS_MNEMONIC_POP: {
      if (in.opsize != 4 || !is_reg(o0) || o0.size != 4 || o0.reg == cpu::ESP) return false;
      if (dry) return true;
      const x86::Gp dst = kG32[o0.reg];
      a_.mov(x86::r8d, x86::r12d);
      restore_ = (live_after & kArith) != 0;
      access(i, cpu::SS, 4, kRead, [this, dst] { a_.mov(dst, x86::dword_ptr(x86::r10)); },
             [this] { a_.lea(x86::r12d, x86::ptr(x86::r12, 4)); }, nullptr);
      ++pending_;
      return true;
    }

    // CALL rel32 / CALL r32 / CALL m32
    case ZYDIS_MNEMONIC_CALL: {
      if (in.opsize != 4 || !imm_reg32_or_mem(o0)) return false;
      if (dry) return true;
      const uint32_t retired = pending_ + 1;
      const Emit push_ret = [this, next] {
        a_.mov(x86::r11d, x86::dword_ptr(x86::r14, offsetof(Ctx, entry_eip)));
        a_.lea(x86::r11d, x86::ptr(x86::r11, static_cast<int32_t>(next)));
        a_.mov(x86::dword_ptr(x86::r10), x86::r11d);
      };
      if (o0.kind == OpKind::Mem) {  // the target first: a fault there changes nothing
        emit_ea(o0);
        access(i, o0.seg, 4, kRead, [this] { load_scratch(); }, nullptr, nullptr);
      }
      a_.lea(x86::r8d, x86::ptr(x86::r12, -4));
      if (o0.kind == OpKind::Mem) {
        access(i, cpu::SS, 4, kWrite, push_ret,
               [this] {
                 a_.mov(x86::r11d, x86::dword_ptr(x86::r14, offsetof(Ctx, scratch)));
                 a_.mov(x86::dword_ptr(x86::r13, kOffEip), x86::r11d);
                 a_.lea(x86::r12d, x86::ptr(x86::r12, -4));
               },
               [this, retired] { lookup_exit(retired); }, std::nullopt, true);
      } else if (o0.kind == OpKind::Imm) {
        const uint32_t target = next + o0.disp;
        access(i, cpu::SS, 4, kWrite, push_ret, [this] { a_.lea(x86::r12d, x86::ptr(x86::r12, -4)); },
               [this, target, retired] { chain_exit(target, retired); }, target);
      } else {
        const x86::Gp r = kG32[o0.reg];
        access(i, cpu::SS, 4, kWrite, push_ret,
               [this, r] {
                 a_.mov(x86::dword_ptr(x86::r13, kOffEip), r);
                 a_.lea(x86::r12d, x86::ptr(x86::r12, -4));
               },
               [this, retired] { lookup_exit(retired); }, std::nullopt, true);
      }
      ended_ = true;
      return true;
    }

    // RET / RET imm16
    case ZYDIS_MNEMONIC_RET: {
      if (in.opsize != 4) return false;
      if (dry) return true;
      const int32_t pop = 4 + static_cast<int32_t>(in.nops ? (o0.disp & 0xFFFF) : 0);
      const uint32_t retired = pending_ + 1;
      a_.mov(x86::r8d, x86::r12d);
      access(i, cpu::SS, 4, kRead,
             [this] {
               a_.mov(x86::r11d, x86::dword_ptr(x86::r10));
               a_.mov(x86::dword_ptr(x86::r13, kOffEip), x86::r11d);
             },
             [this, pop] { a_.lea(x86::r12d, x86::ptr(x86::r12, pop)); },
             [this, retired] { lookup_exit(retired); });
      ended_ = true;
      return true;
    }

    // JMP rel / JMP r32 / JMP m32
    case ZYDIS_MNEMONIC_JMP: {
      if (in.opsize != 4) return false;
      if (!(o0.kind == OpKind::Imm || o0.kind == OpKind::Mem || (is_reg(o0) && o0.size == 4))) return false;
      if (dry) return true;
      const uint32_t retired = pending_ + 1;
      if (o0.kind == OpKind::Imm) {
        chain_exit(next + o0.disp, retired);
      } else if (o0.kind == OpKind::Reg) {
        a_.mov(x86::dword_ptr(x86::r13, kOffEip), kG32[o0.reg]);
        lookup_exit(retired);
      } else {
        emit_ea(o0);
        access(i, o0.seg, 4, kRead,
               [this] {
                 a_.mov(x86::r11d, x86::dword_ptr(x86::r10));
                 a_.mov(x86::dword_ptr(x86::r13, kOffEip), x86::r11d);
               },
               nullptr, [this, retired] { lookup_exit(retired); });
      }
      ended_ = true;
      return true;
    }

    // CLD / STD: DF lives in CpuState
    case ZYDIS_MNEMONIC_CLD:
    case ZYDIS_MNEMONIC_STD: {
      if (dry) return true;
      save_flags_once();
      if (in.mnemonic == ZYDIS_MNEMONIC_CLD) a_.and_(x86::dword_ptr(x86::r13, kOffEflags), ~cpu::flag::DF);
      else a_.or_(x86::dword_ptr(x86::r13, kOffEflags), cpu::flag::DF);
      restore_flags_r15();
      ++pending_;
      return true;
    }

    // LEAVE (32-bit): ESP = EBP, then POP EBP
    case ZYDIS_MNEMONIC_LEAVE: {
      if (in.opsize != 4) return false;
      if (dry) return true;
      a_.mov(x86::r8d, x86::ebp);
      restore_ = (live_after & kArith) != 0;
      access(i, cpu::SS, 4, kRead, [this] { a_.mov(x86::r11d, x86::dword_ptr(x86::r10)); },
             [this] {
               a_.lea(x86::r12d, x86::ptr(x86::rbp, 4));
               a_.mov(x86::ebp, x86::r11d);
             },
             nullptr);
      ++pending_;
      return true;
    }

    // LOOP rel8 / JECXZ rel8
    case ZYDIS_MNEMONIC_LOOP:
    case ZYDIS_MNEMONIC_JECXZ: {
      if (in.opsize != 4) return false;
      if (dry) return true;
      const uint32_t retired = pending_ + 1, target = next + o0.disp;
      // JECXZ reaches only 127 bytes: it jumps over a near jump to the nonzero side.
      Label zero = a_.newLabel(), nonzero = a_.newLabel();
      if (in.mnemonic == ZYDIS_MNEMONIC_LOOP) a_.lea(x86::ecx, x86::ptr(x86::rcx, -1));
      a_.jecxz(x86::ecx, zero);
      a_.jmp(nonzero);
      a_.bind(zero);
      const bool loop = in.mnemonic == ZYDIS_MNEMONIC_LOOP;
      chain_exit(loop ? next : target, retired);
      a_.bind(nonzero);
      chain_exit(loop ? target : next, retired);
      ended_ = true;
      return true;
    }

    default:
      break;
  }
  // Jcc rel
  if (reads_condition(in) && in.mnemonic >= ZYDIS_MNEMONIC_JB && in.mnemonic <= ZYDIS_MNEMONIC_JZ &&
      o0.kind == OpKind::Imm) {
    if (in.opsize != 4) return false;
    if (dry) return true;
    const uint32_t retired = pending_ + 1, target = next + o0.disp;
    Label taken = a_.newLabel();
    a_.j(static_cast<x86::CondCode>(cpu::ops::condition_code(in)), taken);
    chain_exit(next, retired);
    a_.bind(taken);
    chain_exit(target, retired);
    ended_ = true;
    return true;
  }
  const InstId id = generic_inst(in);
  if (id == x86::Inst::kIdNone) return false;
  return emit_generic(in, i, id, live_after, dry);
}

void Translator::callout(unsigned i, bool last) {
  call_callout(pack::site(off_, pending_, i));  // back here only to go on with the block
  pending_ = 0;
  if (last) {
    // The instruction ended the block (CLI, IN, INVLPG, IRET...): go on at the EIP it left
    // in CpuState through the jump cache, where the run loop would have looked at the
    // machine only to find nothing to do (else the chain entry's limit sends it there).
    save_flags_r15();
    jmp_stub(stubs_.indirect);
    ended_ = true;
  }
}

void Translator::translate(Stats& stats) {
  const size_t n = b_.insns.size();
  // Backward pass: which flags are live after each instruction, and which instructions are
  // emitted natively. A callout reads every flag (it writes them back to CpuState), and
  // so does an instruction that may fault (the exception sees the flags exactly).
  std::vector<uint8_t> is_native(n);
  std::vector<uint32_t> live_after(n);
  uint32_t live = kArith;
  for (size_t k = n; k-- > 0;) {
    const Insn& in = b_.insns[k];
    // A store into a page holding code ends the block right after it, with every flag as
    // the interpreter leaves it.
    if (writes_memory(in)) live = kArith;
    live_after[k] = live;
    is_native[k] = native(in, static_cast<unsigned>(k), live, true);
    if (!is_native[k] || may_fault_native(in)) {
      live = kArith;
    } else {
      const FlagFx fx = flag_fx(in);
      live = fx.read | (live & ~fx.must);
    }
  }

  // Every translated block assumes the usual flat DS, ES and SS and a 32-bit stack, whether
  // it uses them or not, so that blocks can chain to one another; FS and GS are assumed
  // only by the blocks that use them.
  t_.seg_mask = kStandardSegs;

  a_.push(x86::rbx);
  a_.push(x86::rbp);
  a_.push(x86::r12);
  a_.push(x86::r13);
  a_.push(x86::r14);
  a_.push(x86::r15);
  a_.sub(x86::rsp, 8);  // 16-byte alignment at calls
  a_.mov(x86::r14, x86::rdi);
  a_.mov(x86::r13, x86::qword_ptr(x86::r14, offsetof(Ctx, state)));
  load_gprs();
  load_flags();
  save_flags_r15();  // as at the chain entry
  Label body = a_.newLabel();
  exit_ = a_.newLabel();
  a_.bind(body);
  r15_valid_ = true;

  off_ = 0;
  for (size_t k = 0; k < n; ++k) {
    const Insn& in = b_.insns[k];
    if (is_native[k]) {
      native(in, static_cast<unsigned>(k), live_after[k], false);
      ++stats.insns_native;
      // (DIV leaves the flags as they were: see flag_fx.)
      const cpu::InsnRow& row = cpu::kInsnTable[in.row];
      if (((row.flags_written | row.flags_undef) & kArith) && in.mnemonic != ZYDIS_MNEMONIC_DIV) r15_valid_ = false;
    } else {
      callout(static_cast<unsigned>(k), k + 1 == n);
      ++stats.insns_callout;
      r15_valid_ = false;
    }
    off_ += in.len;
  }
  t_.span = off_;
  if (!ended_) chain_exit(off_, pending_);
  r15_valid_ = false;  // out-of-line code is reached from anywhere
  for (auto& d : deferred_) d();
  // The chain entry, emitted last because it depends on the segments the block uses:
  // chained blocks come in here (see Translation::chain).
  {
    Label leave = a_.newLabel();
    a_.bind(chain_);
    chain_checks(leave);
    if (t_.bp_guard) {
      // The first and last page of the block's bytes at its linear address: a breakpoint
      // there sends the run loop to look (Cpu::breakpoint_within).
      a_.mov(x86::r9d, x86::dword_ptr(x86::r14, offsetof(Ctx, entry_eip)));
      a_.add(x86::r9d, x86::dword_ptr(x86::r13, seg_base_off(cpu::CS)));
      a_.mov(x86::r11, x86::qword_ptr(x86::r14, offsetof(Ctx, bp_pages)));
      a_.mov(x86::r10d, x86::r9d);
      a_.shr(x86::r10d, 12);
      a_.bt(x86::qword_ptr(x86::r11), x86::r10);
      a_.jc(leave);
      a_.add(x86::r9d, std::max<uint32_t>(b_.length, 1) - 1);
      a_.shr(x86::r9d, 12);
      a_.bt(x86::qword_ptr(x86::r11), x86::r9);
      a_.jc(leave);
    }
    // FS and GS, when used, must still be flat (bits 1 and 0 of the stamp, kept by the
    // helpers after any instruction that may load them).
    const uint32_t fs_gs = ((t_.seg_mask >> cpu::FS) & 1 ? 2u : 0u) | ((t_.seg_mask >> cpu::GS) & 1 ? 1u : 0u);
    if (fs_gs) {
      a_.mov(x86::r11d, x86::dword_ptr(x86::r14, offsetof(Ctx, stamp)));
      a_.and_(x86::r11d, fs_gs);
      a_.cmp(x86::r11d, fs_gs);
      a_.jne(leave);
    }
    // A block whose last instruction reaches into the next page: that page must still be
    // mapped to the same physical page (the run loop checks the same before each run).
    if (b_.two_pages) {
      a_.mov(x86::r9d, x86::dword_ptr(x86::r14, offsetof(Ctx, entry_eip)));
      a_.add(x86::r9d, x86::dword_ptr(x86::r13, seg_base_off(cpu::CS)));
      a_.and_(x86::r9d, 0xFFFFF000u);
      a_.add(x86::r9d, 0x1000);
      tlb_entry(x86::r9d, offsetof(Ctx, exec_tlb));
      a_.cmp(x86::r9d, x86::dword_ptr(x86::r10, offsetof(mmu::TlbEntry, tag)));
      a_.jne(leave);
      a_.cmp(x86::dword_ptr(x86::r10, offsetof(mmu::TlbEntry, phys_page)), b_.phys_page2);
      a_.jne(leave);
    }
    restore_flags_r15();
    a_.jmp(body);
    a_.bind(leave);
    a_.mov(x86::r8, pack::exit(0, 0));
    jmp_stub(stubs_.exit_r15);
  }
  a_.bind(exit_);
  epilogue();
}

// LODS, STOS, MOVS, SCAS, CMPS without a REP prefix, 32-bit addressing: one element
// through the same memory accesses as any other instruction (DS:ESI, or its override, and
// ES:EDI), then the index registers step by DF. A fault in either access leaves every
// register as it was. (REP forms are callouts: the interpreter's bulk path moves whole
// pages at a time and keeps its iteration budget.)
bool Translator::emit_string(const Insn& in, unsigned i, uint32_t live_after, bool dry) {
  if (in.seg == cpu::CS) return false;
  if (in.prefixes & (cpu::prefix::REP | cpu::prefix::REPNE)) return emit_rep_string(in, i, live_after, dry);
  if (dry) return true;
  const Str k = string_kind(in);
  const unsigned w = in.opsize;
  const x86::Gp acc = greg(cpu::EAX, w);
  const x86::Gp tmp = w == 4 ? x86::Gp(x86::r11d) : w == 2 ? x86::Gp(x86::r11w) : x86::Gp(x86::r11b);
  const auto mem = [w] { return x86::ptr(x86::r10, 0, w); };
  // The first element of MOVS and CMPS: DS:[ESI] into the scratch slot.
  const auto load_source = [&] {
    a_.mov(x86::r8d, x86::esi);
    access(i, in.seg, w, kRead, [this, w, mem] {
      if (w == 4) a_.mov(x86::r11d, mem());
      else a_.movzx(x86::r11d, mem());
      a_.mov(x86::dword_ptr(x86::r14, offsetof(Ctx, scratch)), x86::r11d);
    }, nullptr, nullptr);
  };
  switch (k) {
    case Str::Lods:
      a_.mov(x86::r8d, x86::esi);
      restore_ = (live_after & kArith) != 0;
      access(i, in.seg, w, kRead, [this, acc, mem] { a_.mov(acc, mem()); },
             [this, w] { string_step(w, true, false); }, nullptr);
      break;
    case Str::Stos:
      a_.mov(x86::r8d, x86::edi);
      restore_ = (live_after & kArith) != 0;
      access(i, cpu::ES, w, kWrite, [this, acc, mem] { a_.mov(mem(), acc); },
             [this, w] { string_step(w, false, true); }, nullptr);
      break;
    case Str::Scas:
      a_.mov(x86::r8d, x86::edi);
      access(i, cpu::ES, w, kRead, [this, acc, mem] { a_.cmp(acc, mem()); },
             [this, w] { string_step(w, false, true); }, nullptr);
      break;
    case Str::Movs:
      load_source();
      a_.mov(x86::r8d, x86::edi);
      restore_ = (live_after & kArith) != 0;
      access(i, cpu::ES, w, kWrite,
             [this, tmp, mem] {
               a_.mov(x86::r11d, x86::dword_ptr(x86::r14, offsetof(Ctx, scratch)));
               a_.mov(mem(), tmp);
             },
             [this, w] { string_step(w, true, true); }, nullptr);
      break;
    case Str::Cmps:
      // CMP DS:[ESI], ES:[EDI]: the source element is the left operand.
      load_source();
      a_.mov(x86::r8d, x86::edi);
      access(i, cpu::ES, w, kRead,
             [this, tmp, mem] {
               a_.mov(x86::r11d, x86::dword_ptr(x86::r14, offsetof(Ctx, scratch)));
               a_.cmp(tmp, mem());
             },
             [this, w] { string_step(w, true, true); }, nullptr);
      break;
    case Str::None:
      return false;
  }
  ++pending_;
  return true;
}

// REP MOVS and REP STOS, forward, 32-bit addressing: when the whole run is at most the
// interpreter's iteration budget (so that it retires in one execution, as there) and lies
// in one page each way that the TLB maps as RAM for these accesses (so no fault, MMIO or
// store into code can happen), the host's own REP MOVS/STOS does it on host memory.
// Anything else — DF set, longer or page-crossing runs, TLB misses — is a callout, after
// which the block goes on through the jump cache. (The interpreter runs REP CMPS/SCAS/LODS.)
bool Translator::emit_rep_string(const Insn& in, unsigned i, uint32_t live_after, bool dry) {
  const Str k = string_kind(in);
  if (k != Str::Movs && k != Str::Stos) return false;
  if (k == Str::Movs && in.seg != cpu::DS && in.seg != cpu::ES && in.seg != cpu::SS) return false;
  if (dry) return true;
  const unsigned w = in.opsize, shift = w == 4 ? 2 : w == 2 ? 1 : 0;
  Label slow = a_.newLabel(), done = a_.newLabel();
  save_flags_once();  // the checks below clobber the host's
  a_.test(x86::byte_ptr(x86::r13, kOffEflags + 1), cpu::flag::DF >> 8);
  a_.jnz(slow);
  a_.test(x86::ecx, x86::ecx);
  a_.jz(done);  // nothing to do; it retires
  a_.cmp(x86::ecx, 4096);
  a_.ja(slow);
  one_page(x86::edi, shift, slow);
  tlb_host(x86::edi, kWrite, x86::r9, slow);
  if (k == Str::Movs) {
    one_page(x86::esi, shift, slow);
    tlb_host(x86::esi, kRead, x86::r8, slow);
    a_.lea(x86::r10d, x86::ptr(x86::rsi, x86::rcx, shift));  // ESI and EDI after the run
    a_.lea(x86::r11d, x86::ptr(x86::rdi, x86::rcx, shift));
    a_.mov(x86::rsi, x86::r8);
    a_.mov(x86::rdi, x86::r9);
    if (w == 2) a_.db(0x66);
    a_.db(0xF3);
    a_.db(w == 1 ? 0xA4 : 0xA5);  // REP MOVS (host DF is clear, as the ABI keeps it)
    a_.mov(x86::esi, x86::r10d);
    a_.mov(x86::edi, x86::r11d);
  } else {
    a_.lea(x86::r11d, x86::ptr(x86::rdi, x86::rcx, shift));
    a_.mov(x86::rdi, x86::r9);
    if (w == 2) a_.db(0x66);
    a_.db(0xF3);
    a_.db(w == 1 ? 0xAA : 0xAB);  // REP STOS from AL/AX/EAX
    a_.mov(x86::edi, x86::r11d);
  }
  a_.bind(done);
  if (live_after & kArith) restore_flags_r15();
  Label join = a_.newLabel();
  a_.bind(join);
  const uint32_t pending = pending_, site = pack::site(off_, pending_, i);
  deferred_.push_back([this, slow, join, site, pending] {
    a_.bind(slow);
    restore_flags_r15();
    call_callout(site);  // back here once the instruction retired
    // The callout counted the instructions before and this one, which the fast path
    // leaves pending: uncount them, and go on with the block (flags unchanged by it).
    save_flags_r15();
    a_.sub(x86::qword_ptr(x86::r13, kOffIcount), pending + 1);
    restore_flags_r15();
    a_.jmp(join);
  });
  ++pending_;
  return true;
}

// 16-bit code (real mode, v86, 16-bit protected mode) is not emitted natively yet: its
// blocks become a call of Cpu::step per instruction, which saves the interpreter's
// dispatch and shares every semantic function with it.
void Translator::translate_threaded(Stats& stats) {
  t_.threaded = true;
  a_.push(x86::rbx);
  a_.push(x86::r14);
  a_.sub(x86::rsp, 8);
  a_.mov(x86::r14, x86::rdi);
  exit_ = a_.newLabel();
  for (size_t k = 0; k < b_.insns.size(); ++k) {
    a_.mov(x86::rdi, x86::r14);
    a_.mov(x86::esi, static_cast<uint32_t>(k));
    a_.call(reinterpret_cast<uint64_t>(&popek_jit_step));
    a_.test(x86::eax, x86::eax);
    a_.jz(exit_);
    ++stats.insns_callout;
  }
  a_.bind(exit_);
  a_.add(x86::rsp, 8);
  a_.pop(x86::r14);
  a_.pop(x86::rbx);
  a_.ret();
}

}  // namespace

// ------------------------------------------------------------------ Native

struct Native::Impl {
  Impl(cpu::Cpu& c, unsigned hot, size_t max) : cpu(c), hot_threshold(hot), max_code(max), probe(c, rt) {}
  cpu::Cpu& cpu;
  unsigned hot_threshold;
  size_t max_code;
  JitRuntime rt;
  StubAddrs stubs;
  HostFlagsProbe probe;
  Ctx ctx{};
  std::vector<JumpEntry> jcache = std::vector<JumpEntry>(kJumpCacheSize);
  uint64_t code_generation = ~0ull;
  size_t live_code = 0;  // bytes of host code of blocks not yet released
  const void* stubs_base = nullptr;
  size_t stubs_size = 0;
  FILE* perf_map = nullptr;  // -perfmap
  ~Impl() {
    if (perf_map) fclose(perf_map);
  }
};

Native::Native(cpu::Cpu& cpu, unsigned hot_threshold, size_t max_code)
    : impl_(std::make_unique<Impl>(cpu, hot_threshold, max_code)) {
  Ctx& x = impl_->ctx;
  x.cpu = &cpu;
  x.state = &cpu.s;
  x.tlb = cpu.mmu().tlb_slot();
  x.stats = &stats;
  x.intr = cpu.intr_line();
  x.jcache = impl_->jcache.data();
  x.bp_pages = cpu.breakpoint_pages();
  for (unsigned v = 0; v < 256; ++v) x.df_step[v] = (v << 8) & cpu::flag::DF ? -1 : 1;
  // The shared stubs.
  CodeHolder code;
  code.init(impl_->rt.environment());
  ErrorRecorder errors;
  code.setErrorHandler(&errors);
  x86::Assembler a(&code);
  std::vector<std::pair<const void**, Label>> labels;
  build_stubs(a, impl_->stubs, labels);
  void* base = nullptr;
  POPEK_ASSERT(cpu, !errors.failed && impl_->rt.add(&base, &code) == kErrorOk);
  for (auto& [addr, label] : labels) *addr = static_cast<const uint8_t*>(base) + code.labelOffsetFromBase(label);
  impl_->stubs_base = base;
  impl_->stubs_size = code.codeSize();
  x.mmu_generation = &cpu.mmu().generation;
}

Native::~Native() = default;

void Native::set_hot_threshold(unsigned n) { impl_->hot_threshold = n; }

void Native::open_perf_map(const std::string& path) {
  if (impl_->perf_map) fclose(impl_->perf_map);
  impl_->perf_map = fopen(path.c_str(), "w");
  if (!impl_->perf_map) {
    impl_->cpu.log().warn("perf-map", "-perfmap: cannot write %s", path.c_str());
    return;
  }
  const StubAddrs& st = impl_->stubs;
  std::vector<std::pair<const void*, const char*>> stubs = {
      {st.epilogue, "epilogue"}, {st.exit_r15, "exit"},   {st.access, "access"},     {st.writeback, "writeback"},
      {st.callout, "callout"},   {st.link, "link"},       {st.indirect, "indirect"}};
  std::sort(stubs.begin(), stubs.end());
  const auto* end = static_cast<const uint8_t*>(impl_->stubs_base) + impl_->stubs_size;
  for (size_t k = 0; k < stubs.size(); ++k) {
    const auto* from = static_cast<const uint8_t*>(stubs[k].first);
    const auto* to = k + 1 < stubs.size() ? static_cast<const uint8_t*>(stubs[k + 1].first) : end;
    fprintf(impl_->perf_map, "%" PRIxPTR " %zx popek stub %s\n", reinterpret_cast<uintptr_t>(from),
            static_cast<size_t>(to - from), stubs[k].second);
  }
}

// A full code cache is emptied between blocks. Only the host code goes: the decoded
// blocks stay, and with them the write-tracking of code pages that decides where a
// store into code ends a block, so the interpreter and the JIT still end blocks alike.
void Native::maintain(cpu::Cpu& cpu) {
  if (impl_->live_code > impl_->max_code) {
    ++stats.cache_flushes;
    cpu.drop_translations();
  }
}

bool Native::run(cpu::Cpu& cpu, cpu::Block& block) {
  Impl& m = *impl_;
  if (!block.host_code) {
    if (++block.runs < m.hot_threshold) return false;
    auto t = std::make_unique<Translation>();
    {
      CodeHolder code;
      code.init(m.rt.environment());
      ErrorRecorder errors;
      code.setErrorHandler(&errors);
      x86::Assembler a(&code);
      t->user = cpu.s.cpl == 3;
      t->bp_guard = cpu.debug.coarse && !cpu.debug.breakpoints.empty();
      Translator tr(a, block, *t, t->user, m.stubs, m.probe);
      if (block.mode == cpu::CodeMode::Prot32) {
        tr.translate(stats);
      } else {
        tr.translate_threaded(stats);
        ++stats.threaded;
      }
      void (*fn)(Ctx*) = nullptr;
      if (!errors.failed && m.rt.add(&fn, &code) == kErrorOk) {
        t->fn = fn;
        auto* base = reinterpret_cast<uint8_t*>(fn);
        if (!t->threaded) t->chain = base + code.labelOffsetFromBase(tr.chain_entry());
        for (auto& [slot, label] : tr.patch_sites()) {
          slot->patch = base + code.labelOffsetFromBase(label) + 1;
          POPEK_ASSERT(cpu, slot->patch[-1] == 0xE9);  // JMP rel32
          std::memcpy(&slot->unlinked, slot->patch, 4);
        }
        t->code_size = code.codeSize();
        m.live_code += t->code_size;
        if (m.perf_map) {
          fprintf(m.perf_map, "%" PRIxPTR " %zx popek guest %04x:%08x phys %08x%s\n", reinterpret_cast<uintptr_t>(fn),
                  t->code_size, cpu.s.seg[cpu::CS].selector, cpu.s.eip, block.phys, t->user ? " cpl3" : "");
        }
        stats.host_code_bytes += t->code_size;
        ++stats.blocks_translated;
      } else {
        cpu.log().warn("jit-emit", "JIT: a block could not be assembled (%s); the interpreter runs it",
                       errors.failed ? errors.text : "no room for code");
        ++stats.blocks_declined;
      }
    }
    block.host_code = t.release();
  }
  const auto* t = static_cast<const Translation*>(block.host_code);
  if (!t->fn) return false;
  if (!t->threaded && !guard_ok(cpu, *t)) {
    ++stats.guard_misses;
    return false;
  }
  Ctx& x = m.ctx;
  x.block = &block;
  x.entry_eip = cpu.s.eip;
  x.generation = cpu.mmu().generation;
  x.stamp = make_stamp(cpu);
  update_stop(&x);
  if (cpu.code_generation() != m.code_generation) {
    m.code_generation = cpu.code_generation();
    std::fill(m.jcache.begin(), m.jcache.end(), JumpEntry{});
  }
  ++stats.block_runs;
  t->fn(&x);
  return true;
}

void Native::release(cpu::Block& block) {
  auto* t = static_cast<Translation*>(block.host_code);
  if (!t) return;
  // Unlink the chains: this block's patched jumps leave their targets' lists, and the
  // jumps patched into this block go back to the link stub.
  for (auto& slot : t->slots) {
    if (Translation* to = slot->linked_to) {
      to->incoming.erase(std::find(to->incoming.begin(), to->incoming.end(), slot.get()));
      slot->linked_to = nullptr;
    }
  }
  for (ChainSlot* in : t->incoming) {
    std::memcpy(in->patch, &in->unlinked, 4);
    in->linked_to = nullptr;
  }
  if (t->fn) {
    impl_->rt.release(t->fn);
    impl_->live_code -= t->code_size;
  }
  delete t;
  block.host_code = nullptr;
}

std::string Native::disassemble(const cpu::Block& block) const {
  const auto* t = static_cast<const Translation*>(block.host_code);
  if (!t || !t->fn) return "";
  ZydisDecoder dec;
  ZydisDecoderInit(&dec, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
  ZydisFormatter fmt;
  ZydisFormatterInit(&fmt, ZYDIS_FORMATTER_STYLE_INTEL);
  const auto* p = reinterpret_cast<const uint8_t*>(t->fn);
  std::string out;
  size_t off = 0;
  ZydisDecodedInstruction zi;
  ZydisDecodedOperand zo[ZYDIS_MAX_OPERAND_COUNT];
  while (off < t->code_size && ZYAN_SUCCESS(ZydisDecoderDecodeFull(&dec, p + off, t->code_size - off, &zi, zo))) {
    char text[128];
    ZydisFormatterFormatInstruction(&fmt, &zi, zo, zi.operand_count_visible, text, sizeof text,
                                    reinterpret_cast<uint64_t>(p + off), nullptr);
    char line[160];
    snprintf(line, sizeof line, "  +%04zx  %s\n", off, text);
    out += line;
    off += zi.length;
  }
  return out;
}

std::string Native::stats_report() const {
  char buf[1536];
  const Stats& s = stats;
  snprintf(buf, sizeof buf,
           "popek: jit: %" PRIu64 " blocks translated (%" PRIu64 " of 16-bit code call-threaded), %" PRIu64
           " declined by the assembler, %" PRIu64 " runs from the run loop, %" PRIu64 " guard misses\n"
           "popek: jit: %" PRIu64 " guest instructions emitted as host code, %" PRIu64
           " as callouts; %" PRIu64 " slow-path memory accesses; %" PRIu64 " KiB of host code, %" PRIu64
           " cache flushes\n"
           "popek: jit: %" PRIu64 " direct branches linked, %" PRIu64 " indirect or cross-page branches continued in host code\n",
           s.blocks_translated, s.threaded, s.blocks_declined, s.block_runs, s.guard_misses,
           s.insns_native, s.insns_callout, s.slow_accesses, s.host_code_bytes / 1024, s.cache_flushes,
           s.chain_links, s.lookup_hits);
  return buf;
}

}  // namespace popek::jit
