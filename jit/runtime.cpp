// The JIT's stubs (code every translated block shares, emitted once) and the helpers they
// call into C++: callouts to Cpu::step, the slow path of memory accesses, the lookup and
// linking of chained blocks; and the checks of what a translation assumes.
#include "jit/runtime.h"

#include <cstring>

#include "cpu/insn_table.h"

namespace popek::jit::rt {

using cpu::Status;

bool flat_data(const cpu::SegmentCache& sc) {
  constexpr uint16_t kMask = cpu::attr::S | cpu::attr::CODE | cpu::attr::WRITABLE | cpu::attr::EXPAND_DOWN;
  return sc.valid && sc.limit == 0xFFFFFFFFu && (sc.attr & kMask) == (cpu::attr::S | cpu::attr::WRITABLE);
}

bool guard_ok(const cpu::Cpu& c, const Translation& t) {
  const cpu::CpuState& s = c.s;
  if ((s.cpl == 3) != t.user) return false;
  if (s.seg[cpu::CS].limit != 0xFFFFFFFFu) return false;
  if (static_cast<uint64_t>(s.eip) + t.span > 0x100000000ull) return false;
  if (!(s.seg[cpu::SS].attr & cpu::attr::DB)) return false;  // native stack accesses are 32-bit
  for (unsigned i = 0; i < cpu::kNumSegRegs; ++i) {
    if ((t.seg_mask & (1u << i)) && !flat_data(s.seg[i])) return false;
    if ((kStandardSegs & (1u << i)) && s.seg[i].base != 0) return false;
  }
  // Alignment checking at CPL 3 is the slow path's business.
  if ((s.cr[0] & cpu::cr0::AM) && (s.eflags & flag::AC) && s.cpl == 3) return false;
  return true;
}

// A watched access by host code (coarse debug checks, cpu/cpu.h) at instruction count
// `icount`: the first since the last Watch stop is remembered, and the chain stops at
// the end of the block.
static void note_watch_hit(cpu::Cpu& c, uint64_t icount) {
  if (c.mmu().watch_hits && c.debug.coarse_hit == UINT64_MAX) c.debug.coarse_hit = icount;
}

void update_stop(Ctx* ctx) {
  ctx->tlb_now = *ctx->tlb;
  ctx->exec_tlb = ctx->tlb_now[static_cast<unsigned>(mmu::Access::Exec) * 2 + (ctx->state->cpl == 3 ? 1 : 0)];
  // A raised interrupt line matters only with IF set: IF changes only in callouts, which
  // call this again.
  const bool intr = *ctx->intr && (ctx->state->eflags & cpu::flag::IF);
  // The guest's single step and debug registers (set by POPF, IRET, MOV DR7, task
  // switches: callouts) make the run loop interpret the next blocks.
  // RF set (IRET, a task switch) lasts one instruction, which the run loop interprets.
  const bool guest_debug =
      (ctx->state->eflags & (cpu::flag::TF | cpu::flag::RF)) || (ctx->state->dr[7] & 0xFF);
  // A debugger's watch was hit (coarse checks): the run loop reports it after this block.
  const bool watch = ctx->cpu->mmu().watch_hits != 0;
  const bool stop = intr || ctx->state->irq_shadow || guest_debug || watch || *ctx->mmu_generation != ctx->generation;
  ctx->limit = stop ? 0 : ctx->cpu->run_until;
}

uint64_t make_stamp(const cpu::Cpu& c) {
  // Only 32-bit protected-mode code is chained: after a callout that changed the mode (a
  // far transfer to 16-bit code, say) no entry matches.
  const bool prot32 = c.protected_mode() && !c.v86() && c.code32();
  return (prot32 ? 16 : 0) | (static_cast<uint64_t>(c.s.cpl) << 2) | (flat_data(c.s.seg[cpu::FS]) ? 2 : 0) |
         (flat_data(c.s.seg[cpu::GS]) ? 1 : 0);
}

bool compatible(const Translation& t, const Translation& owner) {
  constexpr uint8_t kChecked = kStandardSegs | (1u << cpu::FS) | (1u << cpu::GS);
  return t.user == owner.user && (t.seg_mask & ~kChecked) == 0;
}

// ------------------------------------------------------------------ helpers (called from host code)


// Runs one instruction of the current block through the interpreter's Cpu::step. Returns
// 1 to go on with the block in host code, 0 to leave it (the state is in CpuState).
extern "C" uint32_t popek_jit_callout(Ctx* ctx, uint32_t site, const cpu::Block* block) {
  cpu::Cpu& c = *ctx->cpu;
  const cpu::Block& b = *block;
  const auto& tr = *static_cast<const Translation*>(b.host_code);
  const uint32_t i = pack::extra(site & ~pack::kRaiseDe);
  c.s.icount += pack::pending(site);
  c.s.eip = ctx->entry_eip + pack::off(site);
  const uint64_t at = c.s.icount;
  if (site & pack::kRaiseDe) {  // as Cpu::step's fault path (DIV is not in the census)
    (void)c.raise(cpu::vec::DE);
    c.deliver_pending_exception();
    note_watch_hit(c, at);
    return 0;
  }
  const bool more = c.step(b.insns[i]);
  note_watch_hit(c, at);
  if (!more) return 0;
  // A sensitive or privileged instruction may have changed what the translation assumed
  // (segment registers, privilege, CR0.AM/EFLAGS.AC): then the interpreter finishes the
  // block, instruction by instruction, exactly where it would have.
  if (b.insns[i].census && !guard_ok(c, tr)) {
    ++ctx->stats->guard_misses;
    for (size_t j = i + 1; j < b.insns.size(); ++j) {
      if (!c.step(b.insns[j])) break;
    }
    return 0;
  }
  if (b.insns[i].census) ctx->stamp = make_stamp(c);  // MOV FS, ... (say)
  update_stop(ctx);
  return 1;
}

// One instruction of a call-threaded (16-bit) block.
extern "C" uint32_t popek_jit_step(Ctx* ctx, uint32_t i) {
  const uint64_t at = ctx->cpu->s.icount;
  const bool more = ctx->cpu->step(ctx->block->insns[i]);
  note_watch_hit(*ctx->cpu, at);
  return more ? 1 : 0;
}


// The slow path of a memory access: the segment check, the page walk, and either the host
// address of the bytes (the TLB now has the entry) or the bounce buffer. On a fault the
// exception is delivered (the guest state was written back by the caller; `flags` holds
// the guest's arithmetic flags in LAHF/SETO form) and the result is nullptr.
extern "C" uint8_t* popek_jit_access(Ctx* ctx, uint32_t ea, uint32_t flags, uint32_t site) {
  cpu::Cpu& c = *ctx->cpu;
  cpu::CpuState& s = c.s;
  ++ctx->stats->slow_accesses;
  s.eip = ctx->entry_eip + pack::off(site);
  const uint32_t d = pack::extra(site);
  const uint32_t ah = (flags >> 8) & 0xFF;
  s.eflags = (s.eflags & ~kArith) | (ah & (flag::SF | flag::ZF | flag::AF | flag::PF | flag::CF)) |
             ((flags & 1) ? flag::OF : 0);
  const unsigned seg = d & 7, size = (d >> 3) & 7, kind = d >> 6;
  const uint64_t at = s.icount + pack::pending(site);  // this instruction's count
  const bool user = s.cpl == 3;
  const mmu::Access acc = kind == kRead ? mmu::Access::Read : mmu::Access::Write;
  uint32_t lin;
  Status st = c.check_seg(seg, ea, size, kind != kRead, lin);
  const bool crosses = (lin & 0xFFF) + size > 4096;
  if (st == Status::Ok) st = c.probe_linear(lin, acc, user);
  if (st == Status::Ok && crosses) st = c.probe_linear((lin | 0xFFF) + 1, acc, user);
  if (st == Status::Ok) {
    update_stop(ctx);  // the walk may have changed the address space's translations
    if (!crosses) {
      if (uint8_t* h = c.mmu().host_for(lin, acc, user)) return h;
    }
    ctx->bounce = 0;
    uint32_t v = 0;
    if (kind != kWrite) st = c.read_linear(lin, size, v, user);
    note_watch_hit(c, at);
    update_stop(ctx);  // an MMIO read may raise an interrupt line
    if (st == Status::Ok) {
      ctx->bounce = v;
      ctx->wb_icount = at;
      ctx->wb_pending = kind != kRead;
      ctx->wb_linear = lin;
      ctx->wb_size = static_cast<uint8_t>(size);
      ctx->wb_user = user;
      return reinterpret_cast<uint8_t*>(&ctx->bounce);
    }
  }
  s.icount += pack::pending(site);
  c.deliver_pending_exception();
  note_watch_hit(c, at);
  return nullptr;
}

// Writes the bounce buffer back through the softmmu when the access went through it.
// Returns 1 when the block must end after this instruction (it wrote the block's code).
extern "C" uint32_t popek_jit_writeback(Ctx* ctx) {
  if (!ctx->wb_pending) return 0;
  ctx->wb_pending = 0;
  cpu::Cpu& c = *ctx->cpu;
  const Status st = c.write_linear(ctx->wb_linear, ctx->wb_size, static_cast<uint32_t>(ctx->bounce),
                                   ctx->wb_user);
  POPEK_ASSERT(c, st == Status::Ok);  // both pages were probed for writing
  note_watch_hit(c, ctx->wb_icount);
  update_stop(ctx);
  return c.smc_hit() ? 1 : 0;
}


// Next block of a chain at guest EIP s.eip, for indirect branches and branches to
// another page: the run loop's lookup (fetch translation, cached block, guard) without
// the run loop. Returns its chain entry, or nullptr to go back to the run loop.
extern "C" const void* popek_jit_lookup(Ctx* ctx) {
  cpu::Cpu& c = *ctx->cpu;
  const cpu::CpuState& s = c.s;
  // Only 32-bit protected-mode code is chained (a block-ending callout may change CS).
  if (!c.protected_mode() || c.v86() || !c.code32()) return nullptr;
  uint32_t phys;
  mmu::PageFault f;
  if (!c.mmu().translate(s.seg[cpu::CS].base + s.eip, mmu::Access::Exec, s.cpl == 3, phys, f)) return nullptr;
  JumpEntry& e = ctx->jcache[jump_cache_index(s.eip)];
  const uint64_t key = (static_cast<uint64_t>(s.seg[cpu::CS].base) << 32) | s.eip;
  const void* chain = nullptr;
  if (e.key == key && e.stamp == ctx->stamp && e.phys_page == phys >> 12) {
    // Only the fetch TLB had lost the page (another address space, a page-table write
    // elsewhere in its table): the mapping is as it was, and so is the entry.
    chain = e.chain;
  } else {
    cpu::Block* b = c.find_block(phys, cpu::CodeMode::Prot32);
    if (!b || !b->host_code) return nullptr;
    const auto* t = static_cast<const Translation*>(b->host_code);
    if (!t->chain || !guard_ok(c, *t)) return nullptr;
    // A block holding a debugger's breakpoint runs on the interpreter (coarse checks).
    if (c.debug.coarse && c.breakpoint_within(s.seg[cpu::CS].base + s.eip, b->length)) return nullptr;
    if (!c.debug.coarse || c.debug.breakpoints.empty()) c.links_unchecked();
    chain = t->chain;
    e.key = key;
    e.stamp = ctx->stamp;
    e.chain = chain;
    e.linear_page = (s.seg[cpu::CS].base + s.eip) & 0xFFFFF000u;
    e.phys_page = phys >> 12;
  }
  ++ctx->stats->lookup_hits;
  ctx->entry_eip = s.eip;
  update_stop(ctx);
  return chain;
}

// A same-page direct branch whose jump is not patched (entry_eip is already the target's):
// finds the target and, the first time, patches the branch to go there directly.
extern "C" const void* popek_jit_link(Ctx* ctx, ChainSlot* slot) {
  cpu::Cpu& c = *ctx->cpu;
  cpu::Block* b = c.find_block(slot->owner_block->phys + slot->target_off, cpu::CodeMode::Prot32);
  if (!b || !b->host_code) return nullptr;
  auto* t = static_cast<Translation*>(b->host_code);
  if (!t->chain) return nullptr;
  const bool breaks = c.debug.coarse && !c.debug.breakpoints.empty();
  if (breaks) {
    // Breakpoints are set (coarse checks): a block holding one runs on the interpreter. A
    // jump is patched only into a block whose chain entry looks for them (the same code
    // may run at another linear address, where one is): Translation::bp_guard.
    if (c.breakpoint_within(c.s.seg[cpu::CS].base + ctx->entry_eip, b->length)) return nullptr;
    if (!t->bp_guard) return compatible(*t, *slot->owner) || guard_ok(c, *t) ? t->chain : nullptr;
  }
  if (compatible(*t, *slot->owner)) {
    // A block that reaches into the next page may be dropped with that page while the
    // branch's block stays: no patched jump into it (this stub finds it each time).
    if (b->two_pages) return t->chain;
    const int64_t rel = reinterpret_cast<intptr_t>(t->chain) - reinterpret_cast<intptr_t>(slot->patch + 4);
    if (rel == static_cast<int32_t>(rel) && !slot->linked_to) {
      if (!t->bp_guard) c.links_unchecked();
      const int32_t rel32 = static_cast<int32_t>(rel);
      std::memcpy(slot->patch, &rel32, 4);
      slot->linked_to = t;
      t->incoming.push_back(slot);
      ++ctx->stats->chain_links;
    }
  } else if (!guard_ok(c, *t)) {
    return nullptr;
  }
  return t->chain;
}

// ------------------------------------------------------------------ stubs

namespace {

class StubBuilder : public Moves {
 public:
  using Moves::Moves;

  void build(StubAddrs& out, std::vector<std::pair<const void**, Label>>& labels) {
    Label epilogue = a_.newLabel(), exit_r15 = a_.newLabel(),
          access = a_.newLabel(), writeback = a_.newLabel(), callout = a_.newLabel(), link = a_.newLabel(),
          indirect = a_.newLabel(), lookup = a_.newLabel();

    a_.bind(epilogue);
    Moves::epilogue();

    a_.bind(exit_r15);
    {
      Label eip_set = a_.newLabel();
      restore_flags_r15();
      spill_flags();
      spill_gprs();
      a_.mov(x86::r11, x86::r8);
      a_.shr(x86::r11, 32);
      a_.movzx(x86::r11d, x86::r11b);
      a_.add(x86::qword_ptr(x86::r13, kOffIcount), x86::r11);
      a_.test(x86::r8, x86::r8);
      a_.js(eip_set);
      a_.mov(x86::r11d, x86::r8d);
      a_.add(x86::r11d, x86::dword_ptr(x86::r14, offsetof(Ctx, entry_eip)));
      a_.mov(x86::dword_ptr(x86::r13, kOffEip), x86::r11d);
      a_.bind(eip_set);
      a_.jmp(epilogue);
    }

    a_.bind(access);
    {
      Label fault = a_.newLabel();
      spill_gprs();
      a_.mov(x86::rdi, x86::r14);
      a_.mov(x86::esi, x86::r8d);
      a_.mov(x86::edx, x86::r15d);
      a_.mov(x86::ecx, x86::r11d);
      call_c(reinterpret_cast<const void*>(&popek_jit_access), true);
      a_.test(x86::rax, x86::rax);
      a_.jz(fault);
      a_.mov(x86::r10, x86::rax);
      load_gprs();
      a_.ret();
      a_.bind(fault);  // delivered; leave the block
      a_.add(x86::rsp, 8);
      a_.jmp(epilogue);
    }

    a_.bind(writeback);
    spill_gprs();
    a_.mov(x86::rdi, x86::r14);
    call_c(reinterpret_cast<const void*>(&popek_jit_writeback), true);
    a_.mov(x86::r11d, x86::eax);
    load_gprs();
    a_.ret();

    a_.bind(callout);
    {
      Label leave = a_.newLabel();
      a_.mov(x86::r10, x86::r9);  // spill_flags uses r9
      spill_flags();
      spill_gprs();
      a_.mov(x86::rdi, x86::r14);
      a_.mov(x86::esi, x86::r8d);
      a_.mov(x86::rdx, x86::r10);
      call_c(reinterpret_cast<const void*>(&popek_jit_callout), true);
      a_.test(x86::eax, x86::eax);
      a_.jz(leave);
      load_gprs();
      load_flags();
      a_.ret();
      a_.bind(leave);  // the state is in CpuState
      a_.add(x86::rsp, 8);
      a_.jmp(epilogue);
    }

    a_.bind(link);
    {
      Label out = a_.newLabel();
      spill_gprs();
      a_.push(x86::r10);
      a_.mov(x86::rdi, x86::r14);
      a_.mov(x86::rsi, x86::r10);
      call_c(reinterpret_cast<const void*>(&popek_jit_link), true);
      a_.pop(x86::r10);
      a_.mov(x86::r11, x86::rax);
      load_gprs();
      a_.test(x86::r11, x86::r11);
      a_.jz(out);
      a_.jmp(x86::r11);
      a_.bind(out);
      a_.mov(x86::r8, pack::exit(0, 0));
      a_.jmp(exit_r15);
    }

    a_.bind(indirect);
    jump_cache_probe(lookup);
    // The run loop's lookup, in C++, only when the chain may go on: its page walk sets
    // accessed bits, which must not happen before the interpreter would fetch there.
    a_.bind(lookup);
    {
      Label out = a_.newLabel();
      chain_checks(out);
      spill_gprs();
      a_.mov(x86::rdi, x86::r14);
      call_c(reinterpret_cast<const void*>(&popek_jit_lookup), false);
      a_.mov(x86::r11, x86::rax);
      load_gprs();
      a_.test(x86::r11, x86::r11);
      a_.jz(out);
      a_.jmp(x86::r11);
      a_.bind(out);
      a_.mov(x86::r8, pack::kEipSet);
      a_.jmp(exit_r15);
    }

    labels = {{&out.epilogue, epilogue}, {&out.exit_r15, exit_r15},
              {&out.access, access},     {&out.writeback, writeback}, {&out.callout, callout},
              {&out.link, link},         {&out.indirect, indirect}};
  }
};

}  // namespace

void build_stubs(x86::Assembler& a, StubAddrs& out, std::vector<std::pair<const void**, Label>>& labels) {
  StubBuilder builder(a);
  builder.build(out, labels);
}

}  // namespace popek::jit::rt
