// The guest CPU: architectural state plus the services every semantic function uses
// (operand access, segmented memory, the stack, flags, exceptions, port I/O).
//
// Semantic functions (cpu/ops/*.cpp) see the CPU only through this class. They follow one
// rule that keeps exceptions precise: do every check and every read that can fault
// before the first write to architectural state, and return the Status of the first
// failing step unchanged (`if (st != Status::Ok) return st;`, spelled TRY below).
#pragma once

#include <array>
#include <functional>
#include <vector>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "bus/bus.h"
#include "cpu/cpu_state.h"
#include "cpu/insn.h"
#include "mmu/mmu.h"

#define TRY(expr)                                          \
  do {                                                     \
    ::popek::cpu::Status try_st_ = (expr);                 \
    if (try_st_ != ::popek::cpu::Status::Ok) return try_st_; \
  } while (0)

namespace popek::cpu {

class BlockCache;
struct Block;
enum class CodeMode : uint8_t;

// Something that can run a whole decoded block faster than instruction-by-instruction
// interpretation (the JIT). run() returns false when it declines the block; it must then
// leave the CPU untouched so the interpreter runs it. release() frees what run() built.
class BlockRunner {
 public:
  virtual ~BlockRunner() = default;
  virtual bool run(Cpu& cpu, Block& block) = 0;
  virtual void release(Block& block) = 0;
  // Called between blocks, when no block is running: housekeeping such as emptying a full
  // code cache.
  virtual void maintain(Cpu& cpu) {}
  // Lines for --stats (what ran as host code, what did not and why).
  virtual std::string stats_report() const { return ""; }
};
struct SegmentCache;

// Limit, type and null checks of an access through a segment cache; on success sets the
// linear address. (The caller picks the exception: #SS for stack accesses, else #GP.)
// `types` is false in real mode: a processor checks only limits there, whatever type the
// cache holds from protected mode (a write through CS after a return from protected
// mode works, as GRUB does around its BIOS calls).
bool check_cache(const SegmentCache& sc, uint32_t off, unsigned size, bool write,
                 uint32_t& linear, bool types = true);

// Exception vectors.
namespace vec {
constexpr uint8_t DE = 0, DB = 1, NMI = 2, BP = 3, OF = 4, BR = 5, UD = 6, NM = 7, DF = 8,
                  TS = 10, NP = 11, SS = 12, GP = 13, PF = 14, MF = 16, AC = 17, MC = 18;
}

// Where an interrupt comes from; decides privilege checks and the pushed EIP.
enum class IntSource : uint8_t {
  Exception,  // fault/trap raised by an instruction (EIP as recorded by the raiser)
  Software,   // INT n, INT3, INTO: gate DPL is checked against CPL
  External,   // hardware interrupt via the interrupt controller
};

// A decoded segment descriptor.
struct Descriptor {
  uint32_t lo = 0, hi = 0;
  uint32_t base() const { return (lo >> 16) | ((hi & 0xFF) << 16) | (hi & 0xFF000000u); }
  uint32_t raw_limit() const { return (lo & 0xFFFF) | (hi & 0x000F0000u); }
  uint32_t limit() const {
    const uint32_t l = raw_limit();
    return (hi & (1u << 23)) ? (l << 12) | 0xFFF : l;
  }
  uint16_t attr() const { return static_cast<uint16_t>((hi >> 8) & 0xF0FF); }
  uint8_t type() const { return (hi >> 8) & 0xF; }
  bool s() const { return hi & (1u << 12); }
  uint8_t dpl() const { return (hi >> 13) & 3; }
  bool present() const { return hi & (1u << 15); }
  bool is_code() const { return s() && (type() & 8); }
  bool is_data() const { return s() && !(type() & 8); }
  // Gate fields.
  uint16_t gate_selector() const { return static_cast<uint16_t>(lo >> 16); }
  uint32_t gate_offset() const { return (lo & 0xFFFF) | (hi & 0xFFFF0000u); }
  uint8_t gate_params() const { return hi & 0x1F; }
};

// System descriptor types (S = 0).
namespace sys {
constexpr uint8_t TSS16_AVAIL = 1, LDT = 2, TSS16_BUSY = 3, CALL16 = 4, TASK = 5, INT16 = 6,
                  TRAP16 = 7, TSS32_AVAIL = 9, TSS32_BUSY = 11, CALL32 = 12, INT32 = 14,
                  TRAP32 = 15;
}

class Cpu {
 public:
  Cpu(bus::Bus& bus, mmu::Mmu& mmu);
  ~Cpu();
  Cpu(const Cpu&) = delete;
  Cpu& operator=(const Cpu&) = delete;

  CpuState s{};

  // --- power-on / reset: real mode at F000:FFF0.
  void reset();

  // --- mode
  bool protected_mode() const { return s.cr[0] & cr0::PE; }
  bool v86() const { return s.eflags & flag::VM; }
  unsigned cpl() const { return s.cpl; }
  unsigned iopl() const { return (s.eflags >> flag::IOPL_SHIFT) & 3; }
  bool code32() const { return s.seg[CS].attr & attr::DB; }
  bool stack32() const { return s.seg[SS].attr & attr::DB; }

  // --- general-purpose registers by size (1: AL..BH numbering, 2, 4)
  uint32_t gpr(unsigned idx, unsigned size) const {
    if (size == 4) return s.gpr[idx];
    if (size == 2) return s.gpr[idx] & 0xFFFF;
    return idx < 4 ? s.gpr[idx] & 0xFF : (s.gpr[idx - 4] >> 8) & 0xFF;
  }
  void set_gpr(unsigned idx, unsigned size, uint32_t v) {
    if (size == 4) {
      s.gpr[idx] = v;
    } else if (size == 2) {
      s.gpr[idx] = (s.gpr[idx] & 0xFFFF0000u) | (v & 0xFFFF);
    } else if (idx < 4) {
      s.gpr[idx] = (s.gpr[idx] & 0xFFFFFF00u) | (v & 0xFF);
    } else {
      s.gpr[idx - 4] = (s.gpr[idx - 4] & 0xFFFF00FFu) | ((v & 0xFF) << 8);
    }
  }

  // --- operands of the current instruction
  // Effective address (offset within the segment) of a memory operand.
  uint32_t ea(const Insn& in, const Operand& op) const;
  Status read_op(const Insn& in, int i, uint32_t& v);
  // Read of a read-modify-write destination: checks write access up front, so the
  // fault (and a #PF's W bit) is the one the processor reports.
  Status read_op_rmw(const Insn& in, int i, uint32_t& v);
  Status write_op(const Insn& in, int i, uint32_t v);
  // The instruction's next EIP and a near branch to `target` (masked to operand size).
  // EIP of the following instruction (what the loop commits when the handler returns Ok).
  // Control transfers replace it with set_next_eip.
  uint32_t next_eip() const { return next_eip_; }
  void set_next_eip(uint32_t v) { next_eip_ = v; }
  // A near branch to `target` (masked to the operand size); #GP(0) past the CS limit.
  Status branch_near(const Insn& in, uint32_t target);

  // --- segmented memory (data accesses: segment checks, then paging)
  Status read_mem(unsigned seg, uint32_t off, unsigned size, uint32_t& v);
  Status write_mem(unsigned seg, uint32_t off, unsigned size, uint32_t v);
  Status read_mem64(unsigned seg, uint32_t off, uint64_t& v);
  Status write_mem64(unsigned seg, uint32_t off, uint64_t v);
  // Segment limit/type/null checks for an access of `size` bytes at `off`; on success
  // `linear` is the linear address. Exception: #SS(0) for SS, #GP(0) otherwise.
  Status check_seg(unsigned seg, uint32_t off, unsigned size, bool write, uint32_t& linear);
  // Linear accesses at the current privilege (user = CPL 3) after segmentation.
  Status read_linear(uint32_t linear, unsigned size, uint32_t& v, bool user);
  Status write_linear(uint32_t linear, unsigned size, uint32_t v, bool user);
  // Translate `linear` for an access of kind `acc` (filling the TLB) without touching
  // memory; a failure raises #PF as the access would.
  Status probe_linear(uint32_t linear, mmu::Access acc, bool user);
  // Implicit supervisor accesses to system structures (GDT, LDT, IDT, TSS).
  Status read_sys(uint32_t linear, unsigned size, uint32_t& v) {
    return read_linear(linear, size, v, false);
  }
  Status write_sys(uint32_t linear, unsigned size, uint32_t v) {
    return write_linear(linear, size, v, false);
  }

  // --- stack (size 2 or 4; ESP or SP by SS.B)
  Status push(uint32_t v, unsigned size);
  Status pop(unsigned size, uint32_t& v);
  // Read/write relative to the current stack pointer without moving it (for instructions
  // that must check every access before committing, e.g. PUSHA, RET far, IRET).
  Status stack_read(uint32_t offset_from_sp, unsigned size, uint32_t& v);
  Status stack_write(int32_t offset_from_sp, unsigned size, uint32_t v);
  uint32_t sp() const { return stack32() ? s.gpr[ESP] : (s.gpr[ESP] & 0xFFFF); }
  void set_sp(uint32_t v) {
    if (stack32()) s.gpr[ESP] = v;
    else s.gpr[ESP] = (s.gpr[ESP] & 0xFFFF0000u) | (v & 0xFFFF);
  }
  void add_sp(int32_t delta) { set_sp(sp() + static_cast<uint32_t>(delta)); }

  // --- flags
  bool cf() const { return s.eflags & flag::CF; }
  bool zf() const { return s.eflags & flag::ZF; }
  bool sf() const { return s.eflags & flag::SF; }
  bool of() const { return s.eflags & flag::OF; }
  bool pf() const { return s.eflags & flag::PF; }
  bool df() const { return s.eflags & flag::DF; }
  void set_flags(uint32_t mask, uint32_t values) {
    s.eflags = (s.eflags & ~mask) | (values & mask);
  }
  // Condition code tt­tn of Jcc/SETcc/CMOVcc (0 = O ... 15 = NLE).
  bool condition(unsigned cc) const;
  // Write EFLAGS as POPF/IRET do, honouring which bits the current privilege may change.
  void write_eflags(uint32_t value, uint32_t change_mask);
  // The running instruction loaded EFLAGS.RF (IRET, a task switch): it is not cleared
  // when the instruction completes, as RF otherwise is (SDM vol. 3 §17.3.1.1).
  void note_rf_loaded() { rf_loaded_ = true; }
  // A task switch into a TSS whose T bit is set: #DB is raised as a trap once the
  // instruction or the delivery that switched is complete (take_task_trap).
  void note_task_trap() { task_trap_ = true; }

  // --- exceptions
  Status raise(uint8_t vector);
  Status raise_err(uint8_t vector, uint32_t error);
  Status gp(uint32_t error = 0) { return raise_err(vec::GP, error); }
  Status ss_fault(uint32_t error = 0) { return raise_err(vec::SS, error); }
  Status np(uint32_t error) { return raise_err(vec::NP, error); }
  Status ts(uint32_t error) { return raise_err(vec::TS, error); }
  Status ud() { return raise(vec::UD); }
  // Logs once per key, then raises #UD: the answer to anything popek does not implement.
  Status unimplemented(const Insn& in, const char* what);
  // A clean machine stop for guest states popek cannot continue from yet.
  Status fatal(const std::string& message);

  // --- interrupts (cpu/interrupts.cpp)
  // Deliver s.exc (set by raise*) through the IDT/IVT, with double/triple-fault handling.
  Status deliver_pending_exception();
  // Deliver one interrupt. `next_eip` is the return address pushed for software
  // interrupts and traps; for faults it is the faulting instruction's EIP.
  Status interrupt(uint8_t vector, IntSource src, bool has_error, uint32_t error,
                   uint32_t return_eip);

  // --- segments (cpu/segment.cpp)
  // Load a data/stack segment register (MOV, POP, LDS..., far transfers for SS) with the
  // protected-mode checks of the SDM; in real mode just base = selector << 4.
  Status load_seg(unsigned seg, uint16_t selector);
  void load_seg_real(unsigned seg, uint16_t selector);
  // Fetch the descriptor for `selector` from the GDT or LDT. On a selector beyond the
  // table limit returns the exception #GP(selector & ~3) (or `vector_on_limit`).
  Status read_descriptor(uint16_t selector, Descriptor& d, uint8_t vector_on_limit = vec::GP);
  Status write_descriptor_hi(uint16_t selector, uint32_t hi);
  // Set the accessed bit in memory if clear.
  Status mark_accessed(uint16_t selector, Descriptor& d);
  void load_cache(unsigned seg, uint16_t selector, const Descriptor& d);
  // Load CS for a far transfer to `selector` at `cpl_new` (checks done by the caller).
  void load_cs(uint16_t selector, const Descriptor& d, unsigned cpl_new);
  // Far JMP/CALL/RET/IRET are in cpu/ops/control_far.cpp.
  // After an outward privilege change: data segment registers the new CPL may not use
  // become null.
  void invalidate_segments_for_cpl();

  // --- port I/O with the IOPL / TSS I/O-bitmap check
  Status io_permission(uint16_t port, unsigned size);
  uint32_t io_in(uint16_t port, unsigned size) { return bus_.io_read(port, size); }
  void io_out(uint16_t port, unsigned size, uint32_t v) { bus_.io_write(port, size, v); }
  bool stop_requested() const { return bus_.stop_reason() != bus::StopReason::None; }

  // The time-stamp counter: one tick per instruction slot of virtual time (retired
  // instructions plus the slots skipped while halted), plus the offset WRMSR sets.
  uint64_t tsc() const { return s.icount + bus_.clock().idle_instructions() + s.msr.tsc_offset; }
  void set_tsc(uint64_t v) { s.msr.tsc_offset = v - s.icount - bus_.clock().idle_instructions(); }

  // --- control registers (cpu/ops/system_ops.cpp uses these)
  // Control-register writes (checks of reserved bits are the MOV CR handler's). They fail
  // with #GP(0), changing nothing, when PAE paging would load a bad PDPTE.
  Status set_cr0(uint32_t v);
  Status set_cr3(uint32_t v);
  Status set_cr4(uint32_t v);
  Status set_efer(uint64_t v);
  void update_cpl();

  // --- debugging (the gdb stub, frontend/gdb_stub.h)
  // While debugging is on (a breakpoint, a debugger's watchpoint or single-stepping),
  // blocks run on the interpreter and the CPU looks, before each instruction, for a
  // reason to stop: run() then returns RunExit::Debug with `debug.stop` set, in the middle
  // of a block if need be. The next run() goes on with the rest of that block before
  // anything else (no interrupt is taken inside a block, stopped or not), so a debugged
  // guest executes exactly what it executes undebugged, at the same counts.
  //
  // With `debug.coarse`, breakpoints and watches are checked per block instead, and blocks
  // run as translated code: a block holding a breakpoint runs on the interpreter with the
  // checks (so breakpoint stops are exact), any other block as host code, and a watched
  // access made by host code stops the CPU at the end of its block (a Watch stop with
  // `watch_coarse`: `watch_icount` is the count of the first instruction that made such
  // an access, and the stop's own count is no earlier than the last one's). Reverse
  // execution scans history this way and looks closer where a watch was hit.
  struct Debug {
    // Linear addresses: stop before executing an instruction that starts there (gdb's
    // Z0/Z1; checked against EIP, no byte of guest memory is changed).
    std::vector<uint32_t> breakpoints;
    // Stop at the first instruction boundary after one instruction retired, or after an
    // exception or interrupt moved CS:EIP.
    bool single_step = false;
    // Watchpoints (gdb's Z2-Z4): a data access that overlaps one stops right after the
    // instruction (or the interrupt delivery) that made it. Call update_watches() after
    // changing them.
    std::vector<mmu::Mmu::Watch> watches;
    // Reverse debugging's travels (frontend/gdb_stub.cpp): stop at every instruction
    // boundary from this instruction count on.
    uint64_t stop_from = UINT64_MAX;
    enum class Stop : uint8_t { None, Step, Breakpoint, Watch, Position };
    Stop stop = Stop::None;
    uint32_t watch_hits = 0;  // at a Watch stop, bit i: watches[i] was hit
    // At a Watch stop: the instruction count and linear EIP before the last instruction
    // run, the one that made the access (or whose exception did).
    uint64_t watch_icount = 0;
    uint32_t watch_linear = 0;
    bool coarse = false;        // checks per block (above); call debug_changed() after setting
    bool watch_coarse = false;  // at a Watch stop: watch_icount is per block, watch_linear 0
    // While coarse: the count of the first watched access made by host code since the
    // last Watch stop (the JIT's helpers set it), or UINT64_MAX.
    uint64_t coarse_hit = UINT64_MAX;
  };
  Debug debug;
  // A travel runs at full speed (the JIT) until this close to its stop_from, then on the
  // interpreter with the checks: more than any block retires.
  static constexpr uint64_t kDebugNear = 1u << 16;
  bool debug_on() const {
    return debug.single_step || (!debug.coarse && (!debug.watches.empty() || !debug.breakpoints.empty())) ||
           (debug.stop_from != UINT64_MAX && s.icount + kDebugNear >= debug.stop_from);
  }
  // The guest's own debugging (SDM vol. 3 ch. 17): EFLAGS.TF single-steps (a #DB trap
  // after each instruction), DR7 enables instruction breakpoints (a #DB fault before an
  // instruction at DR0-DR3, unless EFLAGS.RF) and data breakpoints (a #DB trap after the
  // instruction that wrote, or read or wrote, the watched bytes; through the softmmu's
  // watches). While it is on, blocks run on the interpreter; TF and DR7 change only in
  // instructions that end their block.
  bool guest_debug_on() const { return (s.eflags & flag::TF) || (s.dr[7] & 0xFF); }
  // The softmmu's watches: the debugger's, then the guest's DR7 data breakpoints.
  void update_watches();
  // Before run() after a debug stop (or when a debugger starts the guest): clears
  // `debug.stop`, lets the instruction at CS:EIP run even if a breakpoint is set on it,
  // and makes CS:EIP and the instruction count the origin of a single step.
  void debug_resume();
  // A debugger changed CS:EIP or the mode: the block stopped in the middle is left
  // (the next run() starts a block at the new CS:EIP).
  void debug_leave_block() { resume_ = {}; }
  // With debug.coarse: whether a breakpoint lies in the `length` bytes from `linear` (the
  // block there then runs on the interpreter, and no chain of translated code enters it).
  bool breakpoint_within(uint32_t linear, uint32_t length) const {
    for (uint32_t bp : debug.breakpoints) {
      if (bp - linear < length) return true;
    }
    return false;
  }
  // After debug.breakpoints or debug.coarse changed: with coarse checks, translated code
  // is dropped when a breakpoint is new, so that no jump patched between two blocks (or
  // jump-cache entry) enters one that now holds it (while breakpoints are set, jumps are
  // patched only into blocks whose chain entry tests breakpoint_pages, and entries are
  // made only for blocks without one).
  void debug_changed();
  // The JIT made a link or jump-cache entry without looking at breakpoints.
  void links_unchecked() {
    if (!checked_breaks_.empty()) checked_breaks_.clear();
  }
  // Bit p: linear page p holds a breakpoint checked per block (debug.coarse). Translated
  // code made while such breakpoints are set tests its pages here at its chain entry and
  // leaves for the run loop when one is set, so jumps into it may be patched: the same
  // code at another linear address meets the test there. Kept by the run loop
  // (sync_breakpoint_pages, at each run()).
  const uint64_t* breakpoint_pages() const { return bp_pages_.get(); }
  void sync_breakpoint_pages();
  // A travel through history starts at a checkpoint: no boundary is passed as already seen.
  void debug_forget_resume_point() { skip_icount_ = ~0ull; }
  // Stopped in the middle of a block (run() goes on with it first).
  bool in_block() const { return resume_.block != nullptr; }

  // --- the run loop (cpu/exec.cpp)
  // Run until `icount` reaches `until` or the machine stops or halts, or a debug stop.
  enum class RunExit : uint8_t { Budget, Halted, Stopped, Debug };
  RunExit run(uint64_t until);
  // The INTR line from the interrupt controller, which drives it with set_intr; the
  // CPU runs ack_interrupt (the INTA cycle: the vector to deliver, or -1 for none) when
  // it takes the interrupt.
  void set_intr(bool level) { intr_ = level; }
  bool intr() const { return intr_; }
  const bool* intr_line() const { return &intr_; }
  // The `until` of the run() in progress: translated code that goes on from block to
  // block without returning to run() stops where run() would.
  uint64_t run_until = 0;
  // End the run() in progress at the first block boundary at or past `icount` instead
  // (a device armed a timer before its end). Translated code sees it at its next callout.
  void cut_run(uint64_t icount) {
    if (icount < run_until) run_until = icount;
  }
  // Set (to nonzero, from another thread or a signal handler) when the host wants the run
  // loop to look at it (frontend/host_attention.h): run() returns Stopped at the next
  // block boundary, however few instructions the blocks retire (a REP string of 4 G
  // iterations counts one per 4,096). Nothing the guest sees depends on it.
  const std::atomic<uint32_t>* host_attention = nullptr;
  // The cached block at a physical address in a decoding mode, or nullptr.
  Block* find_block(uint32_t phys, CodeMode mode);
  // Changes whenever cached blocks may have been dropped.
  uint64_t code_generation() const;
  std::function<int()> ack_interrupt;
  // A write to the stack through a segment cache that is not loaded yet: the new stack
  // of a privilege change. A limit violation raises #SS(ss_error), the error code the
  // SDM gives for the inner stack (its selector, plus EXT for an external event).
  Status write_via(const SegmentCache& sc, uint32_t off, unsigned size, uint32_t v, bool user,
                   uint32_t ss_error);
  // Execute one decoded instruction of the current block with all the bookkeeping
  // (limit check, EIP, instruction count, census, exception delivery). Returns true
  // when the block may go on with its next instruction.
  bool step(const Insn& in);
  // The JIT, when --engine=jit; nullptr for the reference interpreter.
  BlockRunner* runner = nullptr;
  // Drop every cached block (mode change that is not keyed, A20 toggle, reset).
  void flush_code_cache();
  // Release the runner's host code of every block, keeping the blocks (a full code cache).
  void drop_translations();
  // The current block's code was written (or the code cache flushed): the block must
  // end after the instruction that did it.
  bool smc_hit() const { return smc_hit_; }

  // --- census and statistics
  std::vector<uint64_t> census;          // retirements per table row (non-innocuous rows)
  std::vector<uint64_t> census_faulted;  // faults per table row (non-innocuous rows)
  std::vector<uint64_t> census_user;     // retirements at CPL 3 per table row
  uint64_t blocks_decoded = 0;

  bus::Bus& bus() { return bus_; }
  const bus::Bus& bus() const { return bus_; }
  mmu::Mmu& mmu() { return mmu_; }
  bus::Log& log() { return bus_.log(); }

  // The instruction executing now (for error messages and the -d trace).
  const Insn* current = nullptr;
  // The block exec_block ran last and where it started (--lockstep's failure report).
  // `block` is nullptr when none was found (fetch fault) or it was dropped while it ran
  // (its code was written); otherwise it stays valid until the next block runs.
  struct LastBlock {
    const Block* block = nullptr;
    uint16_t cs = 0;
    uint32_t eip = 0;
    uint8_t cpl = 0;
    bool v86 = false;
  };
  LastBlock last_block;
  // Describe the current state for assertions and error messages: mode, CS:EIP, bytes.
  std::string describe() const;

 private:
  Status page_fault(const mmu::PageFault& f);
  void exec_block();
  // Interpret b's instructions from `first` on (debug checks included when debugging).
  void interpret(Block& b, size_t first, bool checks);
  bool debug_stop_before();
  bool coarse_watch_stop();
  // The bits of Mmu::watch_hits that are the debugger's watches (the guest's follow).
  uint32_t debugger_watch_bits() const { return static_cast<uint32_t>((1ull << debug.watches.size()) - 1); }
  // A block stopped in the middle by the debugger: where it goes on.
  struct Resume {
    Block* block = nullptr;
    size_t index = 0;
    uint64_t generation = 0;  // the code cache's; another value means the block may be gone
  };
  Resume resume_;
  uint64_t skip_icount_ = ~0ull;  // a breakpoint at skip_linear_ is passed at this count
  // Breakpoints every link and jump-cache entry of translated code respects (debug_changed).
  std::vector<uint32_t> checked_breaks_;
  std::unique_ptr<uint64_t[]> bp_pages_ = std::make_unique<uint64_t[]>(1u << 14);  // 2^20 bits
  std::vector<uint32_t> bp_pages_set_;  // the breakpoints whose pages are set there
  uint32_t skip_linear_ = 0;
  uint8_t guest_watch_dr_[4] = {};  // the DR number of each guest watch (after the debugger's)
  unsigned guest_watches_ = 0;
  // Guest debugging around one instruction: a #DB fault before it (false: it may run), a
  // #DB trap after it (true when one was delivered: the block ends).
  bool guest_debug_before(const Insn& in);
  bool guest_debug_after(const Insn& in, bool tf, uint64_t icount_before);
  uint64_t prev_icount_ = 0;      // before the last instruction interpreted while debugging
  uint32_t prev_linear_ = 0;
  uint64_t step_icount_ = 0;      // single step origin
  uint32_t step_eip_ = 0;
  uint16_t step_cs_ = 0;
  void triple_fault();
  bus::Bus& bus_;
  mmu::Mmu& mmu_;
  std::unique_ptr<BlockCache> blocks_;
  uint32_t next_eip_ = 0;
  bool rf_loaded_ = false;  // see note_rf_loaded
  bool task_trap_ = false;  // see note_task_trap
  void take_task_trap();
  bool intr_ = false;
  uint32_t eip_mask_ = 0xFFFFFFFFu;
  bool tracing_ = false;
  bool smc_hit_ = false;  // the current block's code was written: leave it
  friend class BlockCache;
};

// Assert an internal invariant; prints guest state before aborting.
#define POPEK_ASSERT(cpu_obj, cond)                                                   \
  do {                                                                                \
    if (!(cond)) ::popek::cpu::assert_fail((cpu_obj), #cond, __FILE__, __LINE__);      \
  } while (0)
[[noreturn]] void assert_fail(const Cpu& cpu, const char* cond, const char* file, int line);

}  // namespace popek::cpu
