// The reference interpreter's run loop: find the block at CS:EIP, run its instructions
// one semantic function at a time, deliver exceptions and interrupts between them.
#include <algorithm>
#include <cinttypes>

#include "cpu/block_cache.h"
#include "cpu/cpu.h"
#include "cpu/insn_table.h"

namespace popek::cpu {

void Cpu::flush_code_cache() {
  if (blocks_) blocks_->flush();
}

void Cpu::drop_translations() {
  if (blocks_) blocks_->drop_translations();
}

static CodeMode code_mode(const Cpu& c) {
  if (!c.protected_mode() || c.v86()) return CodeMode::Real16;
  return c.code32() ? CodeMode::Prot32 : CodeMode::Prot16;
}

static void trace_insn(Cpu& c, const Insn& in) {
  std::string bytes;
  for (unsigned i = 0; i < in.len; ++i) {
    char b[4];
    snprintf(b, sizeof b, "%02x", in.bytes[i]);
    bytes += b;
  }
  const char* name = in.fn ? kInsnTable[in.row].name : ZydisMnemonicGetString(static_cast<ZydisMnemonic>(in.mnemonic));
  c.log().trace(bus::trace::IN_ASM, "  %04x:%08x  %-30s %s", c.s.seg[CS].selector, c.s.eip,
                bytes.c_str(), name ? name : "(invalid)");
}

static void trace_cpu(Cpu& c) {
  const CpuState& s = c.s;
  c.log().trace(bus::trace::CPU,
                "EAX=%08x EBX=%08x ECX=%08x EDX=%08x ESI=%08x EDI=%08x EBP=%08x ESP=%08x\n"
                "EIP=%08x EFL=%08x CPL=%u CR0=%08x CS=%04x SS=%04x DS=%04x ES=%04x icount=%" PRIu64,
                s.gpr[EAX], s.gpr[EBX], s.gpr[ECX], s.gpr[EDX], s.gpr[ESI], s.gpr[EDI], s.gpr[EBP],
                s.gpr[ESP], s.eip, s.eflags, s.cpl, s.cr[0], s.seg[CS].selector,
                s.seg[SS].selector, s.seg[DS].selector, s.seg[ES].selector, s.icount);
}

void Cpu::exec_block() {
  if (runner) runner->maintain(*this);
  const uint32_t linear = s.seg[CS].base + s.eip;
  uint32_t phys;
  mmu::PageFault f;
  current = nullptr;
  last_block = {nullptr, s.seg[CS].selector, s.eip, s.cpl, v86()};
  if (!mmu_.translate(linear, mmu::Access::Exec, s.cpl == 3, phys, f)) {
    page_fault(f);
    deliver_pending_exception();
    return;
  }
  const CodeMode mode = code_mode(*this);
  Block* b = blocks_->get(linear, phys, mode);
  if (!b) {
    deliver_pending_exception();
    return;
  }
  if (b->two_pages) {
    // The mapping of the second page may have changed since decoding.
    uint32_t ph2;
    const uint32_t lin2 = (linear | 0xFFF) + 1;
    if (!mmu_.translate(lin2, mmu::Access::Exec, s.cpl == 3, ph2, f) || (ph2 >> 12) != b->phys_page2) {
      blocks_->invalidate_page(phys >> 12);
      smc_hit_ = false;
      return;  // decode again on the next turn
    }
  }
  const bool tracing = log().mask & (bus::trace::EXEC | bus::trace::CPU | bus::trace::IN_ASM);
  if (tracing) {
    log().trace(bus::trace::EXEC, "Trace %04x:%08x [%08x] %zu insns", s.seg[CS].selector, s.eip,
                phys, b->insns.size());
    trace_cpu(*this);
  }
  smc_hit_ = false;
  tracing_ = tracing;
  eip_mask_ = mode == CodeMode::Prot32 ? 0xFFFFFFFFu : 0xFFFFu;
  const bool checks = debug_on() || (debug.coarse && (!debug.watches.empty() || !debug.breakpoints.empty()));
  const bool exact = debug_on() || (debug.coarse && breakpoint_within(linear, b->length));
  // With RF set (an IRET back to a faulted instruction, a REP string left between
  // iterations) the interpreter runs the block: Cpu::step clears RF when the first
  // instruction completes.
  if (runner && !tracing && !exact && !guest_debug_on() && !(s.eflags & flag::RF) &&
      runner->run(*this, *b)) {
    coarse_watch_stop();  // ran as host code
  } else {
    interpret(*b, 0, checks);
  }
  current = nullptr;
  if (!smc_hit_) last_block.block = b;  // else it may be in the graveyard, freed below
  blocks_->collect_garbage();
}

void Cpu::interpret(Block& b, size_t first, bool debugging) {
  const bool guest = guest_debug_on();
  const uint32_t mine = debugger_watch_bits();
  for (size_t i = first; i < b.insns.size(); ++i) {
    if (debugging && debug_stop_before()) {
      resume_ = {&b, i, blocks_->generation};
      return;
    }
    const Insn& in = b.insns[i];
    if (debugging) {
      prev_icount_ = s.icount;
      prev_linear_ = s.seg[CS].base + s.eip;
    }
    if (!guest) {
      if (!step(in)) break;
      continue;
    }
    if (guest_debug_before(in)) break;
    const bool tf = s.eflags & flag::TF;
    const uint64_t before = s.icount;
    const bool more = step(in);
    if (guest_debug_after(in, tf, before) || !more) break;
  }
  // A watched access by the block's last instruction (or by the exception it raised)
  // stops here, before any interrupt is taken.
  if (debugging && (mmu_.watch_hits & mine)) {
    debug.watch_hits = mmu_.watch_hits & mine;
    mmu_.watch_hits &= ~mine;
    debug.stop = Debug::Stop::Watch;
    debug.watch_coarse = false;
    debug.watch_icount = prev_icount_;
    debug.watch_linear = prev_linear_;
  }
}

bool Cpu::guest_debug_before(const Insn& in) {
  (void)in;
  const uint32_t dr7 = s.dr[7];
  uint32_t hit = 0;
  if (!(s.eflags & flag::RF)) {
    const uint32_t linear = s.seg[CS].base + s.eip;
    for (unsigned n = 0; n < 4; ++n) {
      const bool enabled = (dr7 >> (2 * n)) & 3;
      const unsigned rw = (dr7 >> (16 + 4 * n)) & 3;
      if (enabled && rw == 0 && s.dr[n] == linear) hit |= 1u << n;
    }
  }
  if (!hit) return false;
  s.dr[6] = (s.dr[6] & ~0xFu) | hit;
  raise(vec::DB);  // a fault: EIP stays at the instruction, RF is pushed as it is (0)
  deliver_pending_exception();
  return true;
}

bool Cpu::guest_debug_after(const Insn& in, bool tf, uint64_t icount_before) {
  const unsigned first = static_cast<unsigned>(debug.watches.size());
  uint32_t bits = 0;
  for (unsigned k = 0; k < guest_watches_; ++k) {
    if (mmu_.watch_hits & (1u << (first + k))) bits |= 1u << guest_watch_dr_[k];
  }
  if (guest_watches_) mmu_.watch_hits &= ~(((1u << guest_watches_) - 1) << first);
  const bool retired = s.icount != icount_before && !s.exc.pending && !s.halted;
  if (!retired) return false;  // a fault was delivered instead (it cleared TF)
  // INT n, INT3 and INTO clear TF when they call the handler: no single-step trap.
  const ZydisMnemonic m = static_cast<ZydisMnemonic>(in.mnemonic);
  const bool soft_int = m == ZYDIS_MNEMONIC_INT || m == ZYDIS_MNEMONIC_INT3 || m == ZYDIS_MNEMONIC_INTO ||
                        m == ZYDIS_MNEMONIC_INT1;
  const bool step_trap = tf && !soft_int;
  if (!bits && !step_trap) return false;
  s.dr[6] = (s.dr[6] & ~0xFu) | bits | (step_trap ? dr6::BS : 0);
  raise(vec::DB);  // a trap: EIP is the next instruction's
  deliver_pending_exception();
  return true;
}

void Cpu::update_watches() {
  std::vector<mmu::Mmu::Watch> w = debug.watches;
  guest_watches_ = 0;
  const uint32_t dr7 = s.dr[7];
  for (unsigned n = 0; n < 4; ++n) {
    if (!((dr7 >> (2 * n)) & 3)) continue;
    const unsigned rw = (dr7 >> (16 + 4 * n)) & 3;
    const unsigned len_bits = (dr7 >> (18 + 4 * n)) & 3;
    if (rw == 0) continue;  // an instruction breakpoint: checked before each instruction
    if (rw == 2) {
      log().unimp("dr7-io", "I/O breakpoints (DR7 R/W%u = 10b) are not implemented: they never trigger", n);
      continue;
    }
    const uint32_t len = len_bits == 0 ? 1 : len_bits == 1 ? 2 : len_bits == 3 ? 4 : 8;
    const uint8_t kind = rw == 1 ? mmu::Mmu::kWatchWrite : mmu::Mmu::kWatchAccess;
    w.push_back({s.dr[n] & ~(len - 1), len, kind});
    guest_watch_dr_[guest_watches_++] = static_cast<uint8_t>(n);
  }
  const auto& old = mmu_.watches();
  const bool same = old.size() == w.size() &&
                    std::equal(w.begin(), w.end(), old.begin(), [](const auto& a, const auto& b) {
                      return a.linear == b.linear && a.len == b.len && a.kind == b.kind;
                    });
  if (!same) mmu_.set_watches(std::move(w));
}

bool Cpu::debug_stop_before() {
  const uint32_t mine = debugger_watch_bits();
  if (mmu_.watch_hits & mine) {
    debug.watch_hits = mmu_.watch_hits & mine;
    mmu_.watch_hits &= ~mine;
    debug.stop = Debug::Stop::Watch;
    debug.watch_coarse = false;
    debug.watch_icount = prev_icount_;
    debug.watch_linear = prev_linear_;
    return true;
  }
  if (s.icount >= debug.stop_from && !(s.icount == skip_icount_ && s.seg[CS].base + s.eip == skip_linear_)) {
    debug.stop = Debug::Stop::Position;
    return true;
  }
  if (debug.single_step &&
      (s.icount != step_icount_ || s.eip != step_eip_ || s.seg[CS].selector != step_cs_)) {
    debug.stop = Debug::Stop::Step;
    return true;
  }
  if (!debug.breakpoints.empty()) {
    const uint32_t linear = s.seg[CS].base + s.eip;
    if (!(s.icount == skip_icount_ && linear == skip_linear_)) {
      for (uint32_t bp : debug.breakpoints) {
        if (bp == linear) {
          debug.stop = Debug::Stop::Breakpoint;
          return true;
        }
      }
    }
  }
  return false;
}

// With coarse checks, outside the interpreter's exact ones: a watched access since the
// last look (by host code, or by an interrupt's delivery) is a Watch stop per block.
bool Cpu::coarse_watch_stop() {
  const uint32_t mine = debugger_watch_bits();
  if (!debug.coarse || debug_on() || !(mmu_.watch_hits & mine)) return false;
  debug.watch_hits = mmu_.watch_hits & mine;
  mmu_.watch_hits &= ~mine;
  debug.stop = Debug::Stop::Watch;
  debug.watch_coarse = true;
  debug.watch_icount = std::min(debug.coarse_hit, s.icount);
  debug.watch_linear = 0;
  debug.coarse_hit = UINT64_MAX;
  return true;
}

void Cpu::debug_changed() {
  if (!debug.coarse || !blocks_) return;
  // Links made from now on respect the breakpoints set now, not those removed.
  const auto& now = debug.breakpoints;
  std::erase_if(checked_breaks_, [&](uint32_t bp) { return std::find(now.begin(), now.end(), bp) == now.end(); });
  for (uint32_t bp : now) {
    if (std::find(checked_breaks_.begin(), checked_breaks_.end(), bp) == checked_breaks_.end()) {
      blocks_->drop_translations();
      checked_breaks_ = debug.breakpoints;
      return;
    }
  }
}

void Cpu::debug_resume() {
  debug.stop = Debug::Stop::None;
  debug.watch_hits = 0;
  skip_icount_ = s.icount;
  skip_linear_ = s.seg[CS].base + s.eip;
  step_icount_ = s.icount;
  step_eip_ = s.eip;
  step_cs_ = s.seg[CS].selector;
}

bool Cpu::step(const Insn& in) {
  current = &in;
  if (tracing_) trace_insn(*this, in);
  Status st;
  const bool user = s.cpl == 3;  // the census counts CPL-3 executions separately
  // RF (which masks instruction breakpoints) is cleared when an instruction completes,
  // unless the instruction loaded it; a fault's delivery pushes it set.
  const bool rf = s.eflags & flag::RF;
  rf_loaded_ = false;
  if (static_cast<uint64_t>(s.eip) + in.len - 1 > s.seg[CS].limit) {
    st = gp(0);
  } else if (in.bad) {
    st = in.bad == vec::GP ? gp(0) : ud();
  } else if (!in.fn) {
    st = unimplemented(in, ZydisMnemonicGetString(static_cast<ZydisMnemonic>(in.mnemonic)));
  } else {
    next_eip_ = (s.eip + in.len) & eip_mask_;
    st = in.fn(*this, in);
  }
  if (st == Status::Ok) {
    if (rf && !rf_loaded_) s.eflags &= ~flag::RF;
    s.eip = next_eip_;
    ++s.icount;
    if (in.census) {
      ++census[in.row];
      if (user) ++census_user[in.row];
    }
    if (task_trap_) {
      take_task_trap();
      return false;
    }
    return !smc_hit_;
  }
  switch (st) {
    case Status::Fault:
      if (in.census) ++census_faulted[in.row];
      deliver_pending_exception();
      break;
    case Status::Halt:
      if (rf) s.eflags &= ~flag::RF;
      s.eip = next_eip_;
      ++s.icount;
      ++census[in.row];
      s.halted = 1;
      break;
    case Status::Stop:
      // The instruction retired if it asked to stop (OUT to the exit port); a fatal
      // stop leaves EIP at the instruction.
      if (bus_.stop_reason() == bus::StopReason::Exit) {
        s.eip = next_eip_;
        ++s.icount;
        if (in.census) ++census[in.row];
      }
      break;
    default:
      ++s.icount;  // Restart: progress of a long REP; run it again next turn
      break;
  }
  return false;
}

Block* Cpu::find_block(uint32_t phys, CodeMode mode) { return blocks_->find(phys, mode); }
uint64_t Cpu::code_generation() const { return blocks_->generation + blocks_->host_generation; }

void Cpu::sync_breakpoint_pages() {
  static const std::vector<uint32_t> kNone;
  const std::vector<uint32_t>& want = debug.coarse ? debug.breakpoints : kNone;
  if (want == bp_pages_set_) return;
  for (uint32_t bp : bp_pages_set_) bp_pages_[bp >> 18] = 0;
  for (uint32_t bp : want) bp_pages_[bp >> 18] |= 1ull << ((bp >> 12) & 63);
  bp_pages_set_ = want;
}

Cpu::RunExit Cpu::run(uint64_t until) {
  run_until = until;
  sync_breakpoint_pages();
  while (s.icount < run_until || resume_.block) {
    if (stop_requested() || (host_attention && host_attention->load(std::memory_order_relaxed)))
      return RunExit::Stopped;
    if (resume_.block) {  // the rest of a block the debugger stopped in
      const Resume r = resume_;
      resume_ = {};
      if (r.generation == blocks_->generation) {
        current = nullptr;
        interpret(*r.block, r.index, true);
        current = nullptr;
        if (!smc_hit_) last_block.block = r.block;
        blocks_->collect_garbage();
        if (debug.stop != Debug::Stop::None) return RunExit::Debug;
        continue;
      }
      // The code was written meanwhile: decode again from CS:EIP.
    }
    if (s.exc.pending) {  // a chain of deliveries the host interrupted: it goes on first
      deliver_pending_exception();
      if (coarse_watch_stop()) return RunExit::Debug;
      continue;
    }
    if (intr_ && !s.irq_shadow && (s.eflags & flag::IF)) {
      const int v = ack_interrupt ? ack_interrupt() : -1;
      if (v >= 0) {
        s.halted = 0;
        if (interrupt(static_cast<uint8_t>(v), IntSource::External, false, 0, s.eip) == Status::Fault) {
          deliver_pending_exception();
        } else if (task_trap_) {
          take_task_trap();
        }
        if (coarse_watch_stop()) return RunExit::Debug;
        continue;
      }
    }
    if (s.halted) return RunExit::Halted;
    s.irq_shadow = 0;
    exec_block();
    if (debug.stop != Debug::Stop::None) return RunExit::Debug;
  }
  return stop_requested() ? RunExit::Stopped : RunExit::Budget;
}

}  // namespace popek::cpu
