// The JIT's run-time side, shared by the translator (jit/native.cpp) and the stubs and
// helpers (jit/runtime.cpp): the context translated code runs with (r14), the jump cache,
// the records of chained branches, what a translation assumes (its guard), the packed
// arguments of helper calls, and the host-register conventions and state moves that both
// emit. See jit/native.cpp for the register assignment. Internal to jit/.
#pragma once

#include <asmjit/asmjit.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <utility>
#include <vector>

#include "cpu/block_cache.h"
#include "cpu/cpu.h"
#include "jit/native.h"
#include "mmu/mmu.h"

namespace popek::jit::rt {

using namespace asmjit;
namespace flag = cpu::flag;

constexpr uint32_t kArith = flag::ARITH;  // 0x8D5
constexpr uint32_t kSzap = flag::SF | flag::ZF | flag::AF | flag::PF;

struct Translation;

// The runtime context r14 points at while a block runs.
struct Ctx {
  cpu::Cpu* cpu;
  cpu::CpuState* state;
  mmu::TlbEntry (*const* tlb)[mmu::kTlbSize];
  // *tlb, copied: the current address space's TLB arrays. Kept up to date by update_stop,
  // which every helper that may switch address spaces calls before returning.
  mmu::TlbEntry (*tlb_now)[mmu::kTlbSize];
  const cpu::Block* block;  // the block run() entered (call-threaded blocks use it)
  Stats* stats;
  uint32_t entry_eip;  // EIP at block entry: instruction EIPs are entry_eip + offset
  // Accesses that cannot be made in place (MMIO, ROM, write-tracked pages, page-crossing)
  // go through this buffer; a store is then written back through the softmmu.
  uint32_t wb_linear;
  uint64_t bounce;
  uint32_t scratch;  // a value carried from one memory access of an instruction to the next
  uint8_t wb_size;
  uint8_t wb_user;
  uint8_t wb_pending;
  uint64_t wb_icount;  // the instruction count of the access that filled the buffer
  // Where a chain of blocks must stop and go back to the run loop (checked at each
  // block exit): the instruction budget (Cpu::run_until, which a timer armed during the
  // chain may lower), a raised interrupt line, a changed address space.
  const bool* intr;
  const uint64_t* mmu_generation;
  uint64_t generation;  // mmu->generation when the chain started
  // What translated code compares the instruction count with: Cpu::run_until, or 0 when the
  // chain must stop at the next block boundary (the interrupt line is raised, an interrupt
  // shadow is pending, or the address space changed), set by the helpers (only code
  // called from the chain can change these while it runs).
  uint64_t limit;
  uint64_t stamp;       // what a jump-cache entry must match (make_stamp)
  struct JumpEntry* jcache;
  // The current address space's TLB of instruction fetches at the current CPL (kept by
  // update_stop): a jump-cache entry holds while its code page is mapped there as it was.
  const mmu::TlbEntry* exec_tlb;
  const uint64_t* bp_pages;  // Cpu::breakpoint_pages
  // +1 or -1 by the second byte of EFLAGS (DF is its bit 2): the step of a string
  // instruction's index registers, looked up without touching the host flags.
  int64_t df_step[256];
};

// The jump cache: guest CS base and EIP -> translated block, for indirect branches,
// direct-mapped by jump_cache_index and probed by the indirect stub. An entry is
// valid while CPL and the FS/GS assumption are those of its stamp and the instruction
// fetch TLB still maps its linear code page to the same physical page (the TLB loses an
// entry whenever the mapping may have changed: page-table write, INVLPG, CR3 switch to
// another address space, flush); the whole cache is emptied when blocks are dropped.
struct JumpEntry {
  uint64_t key = ~0ull;  // CS base << 32 | EIP
  uint64_t stamp = 0;
  const void* chain = nullptr;  // the block's chain entry
  uint32_t linear_page = 1;  // (CS base + EIP) & ~0xFFF; 1 never matches a TLB tag
  uint32_t phys_page = 0;
};
static_assert(sizeof(JumpEntry) == 32);
constexpr unsigned kJumpCacheSize = 16384;
// The page offset alone would make every branch target at the same offset of another page
// collide; the page number is folded in (jump_cache_probe computes the same).
constexpr uint32_t jump_cache_index(uint32_t eip) { return (eip ^ (eip >> 12)) & (kJumpCacheSize - 1); }
static_assert(std::is_standard_layout_v<Ctx>);

// A direct branch to a block on the same physical page. Its host jump goes to the link
// stub until the target is first reached, and is then patched to jump to the target's
// chain entry: later traversals never leave host code. A write to the page may drop the
// target and not the source (only the blocks whose bytes were written are dropped): the
// target's release then restores the jump to the link stub (Translation::incoming).
struct ChainSlot {
  uint8_t* patch = nullptr;  // the rel32 field of the exit's JMP
  int32_t unlinked = 0;      // its value when it goes to the link stub
  uint32_t target_off = 0;   // target EIP - source entry EIP (= physical distance)
  const Translation* owner = nullptr;
  const cpu::Block* owner_block = nullptr;
  Translation* linked_to = nullptr;  // the translation the patched jump enters, or nullptr
};

// What run() needs to know about a translated block.
struct Translation {
  void (*fn)(Ctx*) = nullptr;  // nullptr: declined, the interpreter runs the block
  // Entry for chained jumps: guest registers in the host's, guest flags in r15, the
  // instructions before counted and Ctx::entry_eip this block's EIP. It checks that the
  // chain may go on (budget, Ctx::limit) before the block's first instruction.
  const void* chain = nullptr;
  std::vector<std::unique_ptr<ChainSlot>> slots;
  std::vector<ChainSlot*> incoming;  // other blocks' (or this one's) jumps patched into it
  uint8_t seg_mask = 0;        // segments native memory accesses use (bit per SegReg)
  bool user = false;           // translated for CPL 3 (TLB arrays of user accesses)
  bool threaded = false;       // 16-bit code: a call per instruction, no assumptions
  // Made while breakpoints were checked per block: the chain entry leaves when a page of
  // the block (at the linear address it is entered at) holds one (Cpu::breakpoint_pages).
  bool bp_guard = false;
  uint32_t span = 0;           // bytes of guest code: EIP must not wrap past 4 GiB inside
  size_t code_size = 0;
};

// The segments every translated block assumes flat (see Translator::translate).
constexpr uint8_t kStandardSegs = (1u << cpu::DS) | (1u << cpu::ES) | (1u << cpu::SS);

// Segment caches native memory accesses can use without per-access checks: present data
// segments, writable, expand-up, spanning 4 GiB. FS and GS may have any base (it is added
// at run time); DS, ES and SS must start at 0 (checked by guard_ok).
bool flat_data(const cpu::SegmentCache& sc);

// What a jump-cache entry must match besides its address: 32-bit protected mode, CPL and
// whether FS and GS are usable flat (DS, ES and SS are, all along a chain).
uint64_t make_stamp(const cpu::Cpu& c);

// Whether the current state satisfies what translation `t` assumes (see translate()):
// CPL, flat segments, a 32-bit stack, no alignment checking, no EIP wrap.
bool guard_ok(const cpu::Cpu& c, const Translation& t);

// Recomputes Ctx::limit (and the TLB pointers) after anything that may have changed the
// interrupt line, the interrupt shadow or the address space.
void update_stop(Ctx* ctx);

// Whether a block translated as `t` may follow `owner` in a chain without its own guard:
// it assumes nothing the chain's head did not check, or checks it at its chain entry
// (flat FS and GS).
bool compatible(const Translation& t, const Translation& owner);

// Arguments packed into one register by translated code.
namespace pack {
// A callout or a memory access: EIP offset of the instruction, native instructions
// retired before it and not yet counted, and the instruction's index in its block (a
// callout) or the access's segment, size and kind.
constexpr uint32_t site(uint32_t off, uint32_t pending, uint32_t extra) { return off | (pending << 13) | (extra << 20); }
constexpr uint32_t off(uint32_t v) { return v & 0x1FFF; }
constexpr uint32_t pending(uint32_t v) { return (v >> 13) & 0x7F; }
constexpr uint32_t extra(uint32_t v) { return v >> 20; }
// With a callout's site: raise #DE for the instruction instead of running it (a DIV whose
// quotient does not fit; its operand is not read again).
constexpr uint32_t kRaiseDe = 1u << 31;
// A way out to the run loop, in r8: EIP offset (32 bits, maybe "negative"), instructions
// to count, or EIP already set.
constexpr uint64_t kEipSet = 1ull << 63;
constexpr uint64_t exit(uint32_t off, uint32_t retired) { return off | (static_cast<uint64_t>(retired) << 32); }
}  // namespace pack

namespace desc {
// The access descriptor packed with the site: segment, size, kind.
constexpr uint32_t make(unsigned seg, unsigned size, unsigned kind) { return seg | (size << 3) | (kind << 6); }
}  // namespace desc
enum Kind : unsigned { kRead = 0, kWrite = 1, kRmw = 2 };

// Helpers translated code calls (jit/runtime.cpp).
extern "C" uint32_t popek_jit_step(Ctx* ctx, uint32_t i);

// ------------------------------------------------------------------ host registers

const x86::Gp kG32[8] = {x86::eax, x86::ecx, x86::edx, x86::ebx, x86::r12d, x86::ebp, x86::esi, x86::edi};
const x86::Gp kG16[8] = {x86::ax, x86::cx, x86::dx, x86::bx, x86::r12w, x86::bp, x86::si, x86::di};
const x86::Gp kG8[8] = {x86::al, x86::cl, x86::dl, x86::bl, x86::ah, x86::ch, x86::dh, x86::bh};
const x86::Gp kG64[8] = {x86::rax, x86::rcx, x86::rdx, x86::rbx, x86::r12, x86::rbp, x86::rsi, x86::rdi};

inline x86::Gp greg(unsigned idx, unsigned size) {
  if (size == 4) return kG32[idx];
  if (size == 2) return kG16[idx];
  return kG8[idx];
}

inline int32_t sext(uint32_t v, unsigned size) {
  if (size == 1) return static_cast<int8_t>(v);
  if (size == 2) return static_cast<int16_t>(v);
  return static_cast<int32_t>(v);
}

constexpr int kOffGpr = offsetof(cpu::CpuState, gpr);
constexpr int kOffEip = offsetof(cpu::CpuState, eip);
constexpr int kOffEflags = offsetof(cpu::CpuState, eflags);
constexpr int kOffIcount = offsetof(cpu::CpuState, icount);
constexpr int seg_base_off(unsigned seg) {
  return static_cast<int>(offsetof(cpu::CpuState, seg) + seg * sizeof(cpu::SegmentCache) +
                          offsetof(cpu::SegmentCache, base));
}

// Records the first assembler error so that the block is declined as a whole.
class ErrorRecorder : public ErrorHandler {
 public:
  void handleError(Error err, const char* message, BaseEmitter*) override {
    if (!failed) snprintf(text, sizeof text, "%s", message);
    failed = true;
    (void)err;
  }
  bool failed = false;
  char text[160] = {};
};

// ------------------------------------------------------------------ state moves

// The sequences that move guest state between host registers and CpuState, shared by the
// translator and the stubs.
class Moves {
 public:
  explicit Moves(x86::Assembler& a) : a_(a) {}

 protected:
  void spill_gprs() {
    for (int i = 0; i < 8; ++i) a_.mov(x86::dword_ptr(x86::r13, kOffGpr + 4 * i), kG32[i]);
  }
  void load_gprs() {
    for (int i = 0; i < 8; ++i) a_.mov(kG32[i], x86::dword_ptr(x86::r13, kOffGpr + 4 * i));
  }
  // Host flags -> CpuState (uses r9, r11).
  void spill_flags() {
    a_.pushfq();
    a_.pop(x86::r11);
    a_.and_(x86::r11d, kArith);
    a_.mov(x86::r9d, x86::dword_ptr(x86::r13, kOffEflags));
    a_.and_(x86::r9d, ~kArith);
    a_.or_(x86::r9d, x86::r11d);
    a_.mov(x86::dword_ptr(x86::r13, kOffEflags), x86::r9d);
  }
  // CpuState -> host flags (uses r11).
  void load_flags() {
    a_.mov(x86::r11d, x86::dword_ptr(x86::r13, kOffEflags));
    a_.and_(x86::r11d, kArith);
    a_.push(x86::r11);
    a_.popfq();
  }
  // LAHF/SETO form in r15d: AH = SF ZF AF PF CF, AL = OF (uses r11).
  void save_flags_r15() {
    a_.mov(x86::r11d, x86::eax);
    a_.lahf();
    a_.seto(x86::al);
    a_.mov(x86::r15d, x86::eax);
    a_.mov(x86::eax, x86::r11d);
  }
  void restore_flags_r15() {
    a_.mov(x86::r11d, x86::eax);
    a_.mov(x86::eax, x86::r15d);
    a_.add(x86::al, 0x7F);  // OF = (AL == 1)
    a_.sahf();
    a_.mov(x86::eax, x86::r11d);
  }
  void set_eip(uint32_t off) {
    a_.mov(x86::r11d, x86::dword_ptr(x86::r14, offsetof(Ctx, entry_eip)));
    a_.lea(x86::r11d, x86::ptr(x86::r11, static_cast<int32_t>(off)));
    a_.mov(x86::dword_ptr(x86::r13, kOffEip), x86::r11d);
  }
  // Clobbers the host flags.
  void add_icount(uint32_t n) {
    if (n) a_.add(x86::qword_ptr(x86::r13, kOffIcount), n);
  }
  // Undo a block's prologue and return to the run loop.
  void epilogue() {
    a_.add(x86::rsp, 8);
    a_.pop(x86::r15);
    a_.pop(x86::r14);
    a_.pop(x86::r13);
    a_.pop(x86::r12);
    a_.pop(x86::rbp);
    a_.pop(x86::rbx);
    a_.ret();
  }
  // r10 = the TLB entry of the linear page in `linear` (a register or a dword in memory),
  // in the arrays Ctx::`arrays` points at (tlb_now: add the access kind's array offset;
  // exec_tlb). Clobbers the host flags.
  void tlb_entry(const Operand_& linear, size_t arrays) {
    a_.emit(x86::Inst::kIdMov, x86::r10d, linear);  // index * 16 = ((linear >> 12) & 0xFF) << 4
    a_.shr(x86::r10d, 8);
    a_.and_(x86::r10d, (mmu::kTlbSize - 1) << 4);
    a_.add(x86::r10, x86::qword_ptr(x86::r14, static_cast<int32_t>(arrays)));
  }
  // Whether a chain of blocks may go on, else to `out`: the budget is not used up, no
  // interrupt line is raised, no interrupt shadow is pending and the address space is as
  // it was (Ctx::limit). Clobbers the host flags and r11.
  void chain_checks(Label out) {
    a_.mov(x86::r11, x86::qword_ptr(x86::r13, kOffIcount));
    a_.cmp(x86::r11, x86::qword_ptr(x86::r14, offsetof(Ctx, limit)));
    a_.jae(out);
  }
  // The jump cache's probe for the guest EIP in CpuState (flags in r15): on a hit, into the
  // block's chain entry; else to `miss`. Uses r9-r11. (Emitted at each indirect exit
  // instead, for a host indirect jump per site, it made no measurable difference on the
  // Linux benchmark and a sixteenth more host code.)
  void jump_cache_probe(Label miss) {
    a_.mov(x86::r9d, x86::dword_ptr(x86::r13, kOffEip));
    a_.mov(x86::r10d, x86::dword_ptr(x86::r13, seg_base_off(cpu::CS)));
    a_.shl(x86::r10, 32);
    a_.or_(x86::r10, x86::r9);
    a_.mov(x86::r11d, x86::r9d);  // jump_cache_index
    a_.shr(x86::r11d, 12);
    a_.xor_(x86::r11d, x86::r9d);
    a_.and_(x86::r11d, kJumpCacheSize - 1);
    a_.shl(x86::r11d, 5);
    a_.add(x86::r11, x86::qword_ptr(x86::r14, offsetof(Ctx, jcache)));
    a_.cmp(x86::r10, x86::qword_ptr(x86::r11, offsetof(JumpEntry, key)));
    a_.jne(miss);
    a_.mov(x86::r10, x86::qword_ptr(x86::r14, offsetof(Ctx, stamp)));
    a_.cmp(x86::r10, x86::qword_ptr(x86::r11, offsetof(JumpEntry, stamp)));
    a_.jne(miss);
    // The code page is still mapped as when the entry was made.
    tlb_entry(x86::dword_ptr(x86::r11, offsetof(JumpEntry, linear_page)), offsetof(Ctx, exec_tlb));
    a_.mov(x86::r9d, x86::dword_ptr(x86::r11, offsetof(JumpEntry, linear_page)));
    a_.cmp(x86::r9d, x86::dword_ptr(x86::r10, offsetof(mmu::TlbEntry, tag)));
    a_.jne(miss);
    a_.mov(x86::r9d, x86::dword_ptr(x86::r11, offsetof(JumpEntry, phys_page)));
    a_.cmp(x86::r9d, x86::dword_ptr(x86::r10, offsetof(mmu::TlbEntry, phys_page)));
    a_.jne(miss);
    a_.mov(x86::r9d, x86::dword_ptr(x86::r13, kOffEip));
    a_.mov(x86::dword_ptr(x86::r14, offsetof(Ctx, entry_eip)), x86::r9d);
    a_.jmp(x86::qword_ptr(x86::r11, offsetof(JumpEntry, chain)));
  }
  // C calls from a stub entered by a jump (rsp is 16-byte aligned) or by a call (8 mod 16).
  void call_c(const void* fn, bool called) {
    if (called) a_.sub(x86::rsp, 8);
    a_.call(reinterpret_cast<uint64_t>(fn));
    if (called) a_.add(x86::rsp, 8);
  }

  x86::Assembler& a_;
};

// ------------------------------------------------------------------ stubs

// Code every block shares, emitted once: the ways out to the run loop, the slow path of
// memory accesses, callouts, and the chaining of blocks. Blocks call or jump to them with
// their arguments packed into r8d/r11d (see namespace pack).
struct StubAddrs {
  const void* epilogue = nullptr;  // jump: restore the host's registers and return
  const void* exit_r15 = nullptr;  // jump, r8 = pack::exit, guest flags in r15
  const void* access = nullptr;    // call, r8d = ea, r11d = pack::site, flags in r15 -> r10
  const void* writeback = nullptr; // call, flags in r15 -> r11d = 1 when the block must end
  const void* callout = nullptr;   // call, r8d = pack::site, r9 = Block*
  const void* link = nullptr;      // jump, r10 = ChainSlot*, flags in r15, icount and EIP counted
  const void* indirect = nullptr;  // jump, EIP in CpuState, flags in r15, icount counted
};

// Emits the stubs; `labels` pairs each StubAddrs field with its label, to be resolved
// once the code is placed.
void build_stubs(x86::Assembler& a, StubAddrs& out, std::vector<std::pair<const void**, Label>>& labels);

}  // namespace popek::jit::rt
