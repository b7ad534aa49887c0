// Interrupt and exception delivery: the real-mode IVT, protected-mode IDT interrupt and
// trap gates with the stack switch through the TSS (SDM vol. 3 §6.12), from virtual-8086
// mode to the ring-0 monitor (§20.3.1.1: no IVT, no VME), and the double-
// and triple-fault rules (§6.15, table 6-5). Task gates lead to cpu/task.cpp.
#include <cinttypes>

#include "cpu/cpu.h"
#include "cpu/privilege.h"
#include "cpu/task.h"

namespace popek::cpu {

namespace {

bool contributory(uint8_t v) {
  return v == vec::DE || v == vec::TS || v == vec::NP || v == vec::SS || v == vec::GP;
}

// The exceptions of the fault class, after which the EFLAGS image the handler gets has
// RF set, so that returning to the instruction does not take an instruction breakpoint on
// it again (SDM vol. 3 §17.3.1.1). Not #DB: an instruction breakpoint pushes RF as it is
// (0), and popek raises #DB otherwise only as a trap (single step, data breakpoints) or
// for DR7.GD, whose fault keeps RF as it is too.
bool fault_class(uint8_t v) {
  return v == vec::DE || v == vec::BR || v == vec::UD || v == vec::NM || v == vec::TS ||
         v == vec::NP || v == vec::SS || v == vec::GP || v == vec::PF || v == vec::MF ||
         v == vec::AC;
}

const char* vector_name(uint8_t v) {
  static const char* const names[] = {"#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM",
                                      "#DF", "CSO", "#TS", "#NP", "#SS", "#GP", "#PF", "15",
                                      "#MF", "#AC", "#MC", "#XM"};
  return v < 20 ? names[v] : "INT";
}

}  // namespace

Status Cpu::deliver_pending_exception() {
  for (;;) {
    const PendingException e = s.exc;
    s.exc.pending = 0;
    if (log().on(bus::trace::INT)) {
      log().trace(bus::trace::INT, "exception %u %s err=%04x at %04x:%08x icount=%" PRIu64, e.vector,
                  vector_name(e.vector), e.has_error ? e.error : 0, s.seg[CS].selector, s.eip,
                  s.icount);
    }
    s.halted = 0;
    if (fault_class(e.vector)) s.eflags |= flag::RF;  // pushed (or saved in the TSS), then cleared
    const Status st = interrupt(e.vector, IntSource::Exception, e.has_error, e.error, s.eip);
    if (st == Status::Ok && task_trap_) {  // through a task gate into a TSS with T set
      task_trap_ = false;
      s.exc = PendingException{vec::DB, 0, 1, 0, 0};
      continue;
    }
    if (st != Status::Fault) return st;
    // Delivery itself faulted.
    const uint8_t second = s.exc.vector;
    if (e.vector == vec::DF) {
      triple_fault();
      return Status::Stop;
    }
    const bool df = (contributory(e.vector) && contributory(second)) ||
                    (e.vector == vec::PF && (contributory(second) || second == vec::PF));
    if (df) s.exc = PendingException{vec::DF, 1, 1, 0, 0};
    // else: benign combination, deliver the second exception serially. That can fault in
    // turn and bring back the first (an #AC whose gate is bad raises #GP, whose handler's
    // misaligned CPL-3 stack raises #AC...): a livelock the guest asked for, but one this
    // loop must not keep the host out of. The exception stays pending; run() stops.
    else if (host_attention && *host_attention) return Status::Stop;
  }
}

void Cpu::take_task_trap() {
  task_trap_ = false;
  raise(vec::DB);
  deliver_pending_exception();
}

void Cpu::triple_fault() {
  log().trace(bus::trace::INT, "triple fault at %04x:%08x", s.seg[CS].selector, s.eip);
  bus_.request_stop(bus::StopReason::Reset, 0, "triple fault (" + describe() + ")");
}

Status Cpu::interrupt(uint8_t vector, IntSource src, bool has_error, uint32_t error,
                      uint32_t return_eip) {
  if (src != IntSource::Exception && log().on(bus::trace::INT)) {
    log().trace(bus::trace::INT, "%s interrupt 0x%02x at %04x:%08x icount=%" PRIu64,
                src == IntSource::Software ? "software" : "external", vector, s.seg[CS].selector,
                s.eip, s.icount);
  }
  if (!protected_mode()) {
    // Real mode: the IVT entry is IP:CS at IDTR.base + 4 * vector.
    const uint32_t off = vector * 4u;
    if (off + 3 > s.idtr.limit) return gp(0);
    uint32_t ip, cs;
    TRY(read_sys(s.idtr.base + off, 2, ip));
    TRY(read_sys(s.idtr.base + off + 2, 2, cs));
    TRY(stack_write(-2, 2, s.eflags));
    TRY(stack_write(-4, 2, s.seg[CS].selector));
    TRY(stack_write(-6, 2, return_eip));
    add_sp(-6);
    s.eflags &= ~(flag::IF | flag::TF | flag::AC | flag::RF);
    load_seg_real(CS, static_cast<uint16_t>(cs));
    s.eip = next_eip_ = ip;
    return Status::Ok;
  }

  const uint32_t ext = src == IntSource::Software ? 0 : 1;
  const uint32_t idt_err = vector * 8u + 2 + ext;
  if (vector * 8u + 7 > s.idtr.limit) return gp(idt_err);
  Descriptor gate;
  TRY(read_sys(s.idtr.base + vector * 8u, 4, gate.lo));
  TRY(read_sys(s.idtr.base + vector * 8u + 4, 4, gate.hi));
  const uint8_t type = gate.type();
  if (gate.s() || (type != sys::INT16 && type != sys::TRAP16 && type != sys::INT32 &&
                   type != sys::TRAP32 && type != sys::TASK)) {
    return gp(idt_err);
  }
  if (src == IntSource::Software && gate.dpl() < s.cpl) return gp(vector * 8u + 2);
  if (!gate.present()) return np(idt_err);
  if (type == sys::TASK) return task_gate_interrupt(*this, gate, ext, has_error, error, return_eip);

  const uint16_t sel = gate.gate_selector();
  if ((sel & 0xFFFC) == 0) return gp(ext);
  Descriptor cs;
  if (read_descriptor(sel, cs) != Status::Ok) {
    // Beyond the table limit: #GP(selector + EXT); a #PF reading the table stays a #PF.
    return s.exc.vector == vec::GP ? gp((sel & 0xFFFC) + ext) : Status::Fault;
  }
  if (!cs.is_code() || cs.dpl() > s.cpl) return gp((sel & 0xFFFC) + ext);
  if (!cs.present()) return np((sel & 0xFFFC) + ext);
  const bool gate32 = type & 8;
  const unsigned w = gate32 ? 4 : 2;
  const uint32_t target = gate32 ? gate.gate_offset() : (gate.gate_offset() & 0xFFFF);
  if (target > cs.limit()) return gp(0);
  const bool conforming = cs.type() & attr::CONFORMING;
  const uint32_t old_flags = s.eflags;
  const uint16_t old_cs = s.seg[CS].selector;
  // From virtual-8086 mode only to a non-conforming ring-0 handler (SDM vol. 3 §20.3.1.1).
  const bool from_v86 = v86();
  if (from_v86 && (conforming || cs.dpl() != 0)) return gp((sel & 0xFFFC) + ext);

  if (!conforming && cs.dpl() < s.cpl) {
    // Inter-privilege: switch to the inner stack from the TSS.
    const unsigned new_cpl = cs.dpl();
    uint16_t ss_sel;
    uint32_t esp;
    SegmentCache ss_cache;
    Descriptor ssd;
    TRY(inner_stack(*this, new_cpl, ext, ss_sel, esp, ssd, ss_cache));
    // From virtual-8086 mode GS, FS, DS and ES go on the frame too.
    const uint32_t words = 5 + (from_v86 ? 4 : 0) + (has_error ? 1 : 0);
    const uint32_t mask = (ss_cache.attr & attr::DB) ? 0xFFFFFFFFu : 0xFFFFu;
    const uint32_t new_sp = (esp - words * w) & mask;
    const bool user = new_cpl == 3;
    const uint32_t ss_err = (ss_sel & 0xFFFC) + ext;
    uint32_t o = new_sp;
    if (has_error) {
      TRY(write_via(ss_cache, o, w, error, user, ss_err));
      o = (o + w) & mask;
    }
    TRY(write_via(ss_cache, o, w, return_eip, user, ss_err));
    TRY(write_via(ss_cache, (o + w) & mask, w, old_cs, user, ss_err));
    TRY(write_via(ss_cache, (o + 2 * w) & mask, w, old_flags, user, ss_err));
    TRY(write_via(ss_cache, (o + 3 * w) & mask, w, s.gpr[ESP], user, ss_err));
    TRY(write_via(ss_cache, (o + 4 * w) & mask, w, s.seg[SS].selector, user, ss_err));
    if (from_v86) {
      for (unsigned i = 0; i < 4; ++i) {
        const unsigned seg = i == 0 ? ES : i == 1 ? DS : i == 2 ? FS : GS;
        TRY(write_via(ss_cache, (o + (5 + i) * w) & mask, w, s.seg[seg].selector, user, ss_err));
      }
    }
    TRY(mark_accessed(ss_sel, ssd));
    TRY(mark_accessed(sel, cs));
    s.seg[SS] = ss_cache;
    s.seg[SS].attr = ssd.attr();
    s.gpr[ESP] = mask == 0xFFFFFFFFu ? new_sp : ((esp & 0xFFFF0000u) | new_sp);
    load_cs(sel, cs, new_cpl);
    if (from_v86) {
      for (unsigned seg : {ES, DS, FS, GS}) s.seg[seg] = SegmentCache{0, 0, 0, 0, 0};
    }
    invalidate_segments_for_cpl();
  } else if (conforming || cs.dpl() == s.cpl) {
    const uint32_t words = 3 + (has_error ? 1 : 0);
    int32_t o = -static_cast<int32_t>(words * w);
    if (has_error) {
      TRY(stack_write(o, w, error));
      o += w;
    }
    TRY(stack_write(o, w, return_eip));
    TRY(stack_write(o + w, w, old_cs));
    TRY(stack_write(o + 2 * w, w, old_flags));
    TRY(mark_accessed(sel, cs));
    add_sp(-static_cast<int32_t>(words * w));
    load_cs(sel, cs, s.cpl);
  } else {
    return gp((sel & 0xFFFC) + ext);
  }
  s.eflags &= ~(flag::TF | flag::NT | flag::RF | flag::VM);
  if (!(type & 1)) s.eflags &= ~flag::IF;  // interrupt gate (type 6/14), not trap gate
  s.eip = next_eip_ = target;
  return Status::Ok;
}

Status inner_stack(Cpu& c, unsigned new_cpl, uint32_t ext, uint16_t& ss_sel, uint32_t& esp,
                   Descriptor& ssd, SegmentCache& cache) {
  const SegmentCache& tr = c.s.tr;
  const uint8_t type = tr.attr & attr::TYPE_MASK;
  const bool tss32 = type == sys::TSS32_BUSY || type == sys::TSS32_AVAIL;
  const uint32_t tss_err = (tr.selector & 0xFFFC) + ext;
  if (!tr.valid || (tr.selector & 0xFFFC) == 0) return c.ts(tss_err);
  uint32_t ss_v, esp_v;
  if (tss32) {
    const uint32_t off = 4 + new_cpl * 8;
    if (off + 7 > tr.limit) return c.ts(tss_err);
    TRY(c.read_sys(tr.base + off, 4, esp_v));
    TRY(c.read_sys(tr.base + off + 4, 2, ss_v));
  } else {
    const uint32_t off = 2 + new_cpl * 4;
    if (off + 3 > tr.limit) return c.ts(tss_err);
    TRY(c.read_sys(tr.base + off, 2, esp_v));
    TRY(c.read_sys(tr.base + off + 2, 2, ss_v));
  }
  ss_sel = static_cast<uint16_t>(ss_v);
  esp = esp_v;
  const uint32_t ss_err = (ss_sel & 0xFFFC) + ext;
  if ((ss_sel & 0xFFFC) == 0) return c.ts(ext);
  if ((ss_sel & 3) != new_cpl) return c.ts(ss_err);
  if (c.read_descriptor(ss_sel, ssd, vec::TS) != Status::Ok) {
    return c.s.exc.vector == vec::TS ? c.ts(ss_err) : Status::Fault;
  }
  if (!ssd.is_data() || !(ssd.type() & attr::WRITABLE) || ssd.dpl() != new_cpl) return c.ts(ss_err);
  if (!ssd.present()) return c.ss_fault(ss_err);
  cache = SegmentCache{ss_sel, ssd.attr(), ssd.base(), ssd.limit(), 1};
  return Status::Ok;
}

}  // namespace popek::cpu
