// Hardware task switches (SDM vol. 3 §7.3 "Task Switching" and its table of checks;
// §7.2 for the 32- and 16-bit TSS layouts; the JMP, CALL, INT n and IRET pages of vol. 2
// for the checks before the switch).
//
// A switch first does every check and every access that can fault while the old task is
// still current (the new TSS's limit and contents, the pages of the old TSS it writes,
// the descriptors whose busy bits change), then commits: the old task's state goes to its
// TSS, TR, CR3, EFLAGS, EIP and the general registers take the new task's values. The
// new LDT and segment descriptors are checked after that, as the SDM says: their faults
// are delivered in the context of the new task, at its first instruction.
#include "cpu/task.h"

namespace popek::cpu {

namespace {

// Field offsets in a 32-bit TSS.
namespace tss32 {
constexpr uint32_t CR3 = 0x1C, EIP = 0x20, EFLAGS = 0x24, GPR = 0x28, SEG = 0x48, LDT = 0x60,
                   TRAP = 0x64, MIN_LIMIT = 0x67;
}
// Field offsets in a 16-bit TSS (no FS, GS, CR3 or I/O map).
namespace tss16 {
constexpr uint32_t IP = 0x0E, FLAGS = 0x10, GPR = 0x12, SEG = 0x22, LDT = 0x2A, MIN_LIMIT = 0x2B;
}
// Both: the back link (previous task link) at offset 0.
constexpr uint32_t kLink = 0;
constexpr uint32_t kBusy = 2u << 8;  // in the descriptor's high dword (type bit 1)

bool is_tss(const Descriptor& d) {
  const uint8_t t = d.type();
  return !d.s() && (t == sys::TSS16_AVAIL || t == sys::TSS16_BUSY || t == sys::TSS32_AVAIL ||
                    t == sys::TSS32_BUSY);
}
bool busy(const Descriptor& d) { return d.hi & kBusy; }
bool tss_is_32(uint8_t type) { return type & 8; }

// The new task's state as its TSS holds it.
struct TaskImage {
  uint32_t cr3 = 0, eip = 0, eflags = 0;
  uint32_t gpr[8] = {};
  uint16_t seg[kNumSegRegs] = {};  // ES CS SS DS FS GS, the TSS's order
  uint16_t ldt = 0;
  bool trap = false;
};

Status read_image(Cpu& c, uint32_t base, bool t32, TaskImage& t) {
  uint32_t v;
  if (t32) {
    TRY(c.read_sys(base + tss32::CR3, 4, t.cr3));
    TRY(c.read_sys(base + tss32::EIP, 4, t.eip));
    TRY(c.read_sys(base + tss32::EFLAGS, 4, t.eflags));
    for (unsigned i = 0; i < 8; ++i) TRY(c.read_sys(base + tss32::GPR + 4 * i, 4, t.gpr[i]));
    for (unsigned i = 0; i < kNumSegRegs; ++i) {
      TRY(c.read_sys(base + tss32::SEG + 4 * i, 2, v));
      t.seg[i] = static_cast<uint16_t>(v);
    }
    TRY(c.read_sys(base + tss32::LDT, 2, v));
    t.ldt = static_cast<uint16_t>(v);
    TRY(c.read_sys(base + tss32::TRAP, 2, v));
    t.trap = v & 1;
    return Status::Ok;
  }
  TRY(c.read_sys(base + tss16::IP, 2, t.eip));
  TRY(c.read_sys(base + tss16::FLAGS, 2, t.eflags));
  for (unsigned i = 0; i < 8; ++i) {
    TRY(c.read_sys(base + tss16::GPR + 2 * i, 2, v));
    // The SDM leaves the upper halves undefined after a 16-bit TSS; ones, as QEMU and
    // Bochs give.
    t.gpr[i] = 0xFFFF0000u | v;
  }
  for (unsigned i = 0; i < 4; ++i) {  // ES CS SS DS; FS and GS become null
    TRY(c.read_sys(base + tss16::SEG + 2 * i, 2, v));
    t.seg[i] = static_cast<uint16_t>(v);
  }
  TRY(c.read_sys(base + tss16::LDT, 2, v));
  t.ldt = static_cast<uint16_t>(v);
  return Status::Ok;
}

// The old task's dynamic fields into its TSS (the pages were probed before the commit).
Status save_image(Cpu& c, bool t32, uint32_t eip, uint32_t eflags) {
  const CpuState& s = c.s;
  const uint32_t base = s.tr.base;
  if (t32) {
    TRY(c.write_sys(base + tss32::EIP, 4, eip));
    TRY(c.write_sys(base + tss32::EFLAGS, 4, eflags));
    for (unsigned i = 0; i < 8; ++i) TRY(c.write_sys(base + tss32::GPR + 4 * i, 4, s.gpr[i]));
    for (unsigned i = 0; i < kNumSegRegs; ++i) {
      TRY(c.write_sys(base + tss32::SEG + 4 * i, 2, s.seg[i].selector));
    }
    return Status::Ok;
  }
  TRY(c.write_sys(base + tss16::IP, 2, eip));
  TRY(c.write_sys(base + tss16::FLAGS, 2, eflags));
  for (unsigned i = 0; i < 8; ++i) TRY(c.write_sys(base + tss16::GPR + 2 * i, 2, s.gpr[i]));
  for (unsigned i = 0; i < 4; ++i) TRY(c.write_sys(base + tss16::SEG + 2 * i, 2, s.seg[i].selector));
  return Status::Ok;
}

// The descriptor of a TSS selector, which must lie in the GDT: a selector with TI set or
// past the GDT limit raises `vector` with `err`.
Status read_gdt(Cpu& c, uint16_t sel, Descriptor& d, uint8_t vector, uint32_t err) {
  if ((sel & 4) || (sel & 0xFFF8u) + 7 > c.s.gdtr.limit) return c.raise_err(vector, err);
  TRY(c.read_sys(c.s.gdtr.base + (sel & 0xFFF8u), 4, d.lo));
  return c.read_sys(c.s.gdtr.base + (sel & 0xFFF8u) + 4, 4, d.hi);
}

// LDTR of the new task: #TS(selector) unless null or a present LDT descriptor in the GDT.
Status load_task_ldt(Cpu& c, uint16_t sel, uint32_t ext) {
  CpuState& s = c.s;
  s.ldtr = SegmentCache{sel, 0, 0, 0, 0};
  if ((sel & 0xFFFC) == 0) return Status::Ok;
  const uint32_t err = (sel & 0xFFFCu) | ext;
  Descriptor d;
  TRY(read_gdt(c, sel, d, vec::TS, err));
  if (d.s() || d.type() != sys::LDT || !d.present()) return c.ts(err);
  s.ldtr = SegmentCache{sel, d.attr(), d.base(), d.limit(), 1};
  return Status::Ok;
}

// One segment register of the new task, with the checks of SDM table 7-1 (CPL is
// already the new CS's RPL). Faults carry the selector (+EXT).
Status load_task_seg(Cpu& c, unsigned seg, uint16_t sel, uint32_t ext) {
  const uint32_t err = (sel & 0xFFFCu) | ext;
  if ((sel & 0xFFFC) == 0) {
    if (seg == CS || seg == SS) return c.ts(err);
    return Status::Ok;  // a null data selector loads (the cache is already invalid)
  }
  Descriptor d;
  if (c.read_descriptor(sel, d, vec::TS) != Status::Ok) {
    return c.s.exc.vector == vec::TS ? c.ts(err) : Status::Fault;
  }
  const unsigned rpl = sel & 3, dpl = d.dpl(), cpl = c.s.cpl;
  const bool conforming = d.is_code() && (d.type() & attr::CONFORMING);
  if (seg == CS) {
    if (!d.is_code() || (conforming ? dpl > rpl : dpl != rpl)) return c.ts(err);
    if (!d.present()) return c.np(err);
  } else if (seg == SS) {
    if (!d.is_data() || !(d.type() & attr::WRITABLE) || dpl != cpl || rpl != cpl) return c.ts(err);
    if (!d.present()) return c.ss_fault(err);
  } else {
    if (!d.is_data() && !(d.is_code() && (d.type() & attr::READABLE))) return c.ts(err);
    if (!conforming && (dpl < cpl || dpl < rpl)) return c.ts(err);
    if (!d.present()) return c.np(err);
  }
  TRY(c.mark_accessed(sel, d));
  c.load_cache(seg, sel, d);
  return Status::Ok;
}

// SWITCH-TASKS of the SDM to the TSS `sel` (descriptor `nd`, checked present and busy or
// not as `why` wants). For an interrupt, `ext` is the EXT bit of error codes and an
// exception's error code is pushed on the new task's stack.
Status switch_tasks(Cpu& c, uint16_t sel, Descriptor nd, TaskReason why, uint32_t return_eip,
                    uint32_t ext, bool has_error, uint32_t error) {
  CpuState& s = c.s;
  const bool new32 = tss_is_32(nd.type());
  if (nd.limit() < (new32 ? tss32::MIN_LIMIT : tss16::MIN_LIMIT)) return c.ts((sel & 0xFFFCu) | ext);

  // --- everything that can fault, before anything changes
  TaskImage t;
  TRY(read_image(c, nd.base(), new32, t));
  const bool old32 = tss_is_32(s.tr.attr & attr::TYPE_MASK);
  const uint32_t first = old32 ? tss32::EIP : tss16::IP;
  const uint32_t last = old32 ? tss32::SEG + 4 * kNumSegRegs - 1 : tss16::LDT - 1;
  TRY(c.probe_linear(s.tr.base + first, mmu::Access::Write, false));
  TRY(c.probe_linear(s.tr.base + last, mmu::Access::Write, false));
  const bool nest = why == TaskReason::Call || why == TaskReason::Interrupt;
  if (nest) TRY(c.probe_linear(nd.base() + kLink, mmu::Access::Write, false));
  const bool leave_old = why == TaskReason::Jmp || why == TaskReason::Iret;
  const uint32_t old_desc_hi = s.gdtr.base + (s.tr.selector & 0xFFF8u) + 4;
  uint32_t old_hi = 0;
  if (leave_old) TRY(c.read_sys(old_desc_hi, 4, old_hi));

  // --- commit: the old task
  if (leave_old) TRY(c.write_sys(old_desc_hi, 4, old_hi & ~kBusy));
  uint32_t old_flags = s.eflags;
  if (why == TaskReason::Iret) old_flags &= ~flag::NT;
  TRY(save_image(c, old32, return_eip, old_flags));
  if (nest) {
    TRY(c.write_sys(nd.base() + kLink, 2, s.tr.selector));
    t.eflags |= flag::NT;
  }
  if (why != TaskReason::Iret) {
    nd.hi |= kBusy;
    TRY(c.write_sys(s.gdtr.base + (sel & 0xFFF8u) + 4, 4, nd.hi));
  }

  // --- the new task
  s.tr = SegmentCache{sel, nd.attr(), nd.base(), nd.limit(), 1};
  s.cr[0] |= cr0::TS;
  if (new32 && (s.cr[0] & cr0::PG)) TRY(c.set_cr3(t.cr3));
  // A 16-bit TSS holds FLAGS only: the upper half stays, but never VM.
  const uint32_t eflags = new32 ? t.eflags : ((s.eflags & 0xFFFF0000u & ~flag::VM) | t.eflags);
  s.eflags = (eflags & flag::WRITABLE) | flag::FIXED1;
  c.note_rf_loaded();
  s.eip = t.eip;
  c.set_next_eip(t.eip);
  for (unsigned i = 0; i < 8; ++i) s.gpr[i] = t.gpr[i];
  // Selectors first, with caches no access can use: a fault below leaves the rest so.
  if (c.v86()) {
    for (unsigned i = 0; i < kNumSegRegs; ++i) c.load_seg_real(i, t.seg[i]);
    s.cpl = 3;
  } else {
    for (unsigned i = 0; i < kNumSegRegs; ++i) s.seg[i] = SegmentCache{t.seg[i], 0, 0, 0, 0};
    s.cpl = t.seg[CS] & 3;
  }
  TRY(load_task_ldt(c, t.ldt, ext));
  if (!c.v86()) {
    for (unsigned seg : {CS, SS, ES, DS, FS, GS}) TRY(load_task_seg(c, seg, t.seg[seg], ext));
  }
  if (why == TaskReason::Interrupt && has_error) {
    const unsigned w = new32 ? 4 : 2;
    const uint32_t mask = c.stack32() ? 0xFFFFFFFFu : 0xFFFFu;
    const uint32_t new_sp = (c.sp() - w) & mask;
    uint32_t lin;
    if (!check_cache(s.seg[SS], new_sp, w, true, lin)) return c.ss_fault(ext);
    TRY(c.write_linear(lin, w, error, s.cpl == 3));
    c.set_sp(new_sp);
  }
  if (s.eip > s.seg[CS].limit) return c.gp(why == TaskReason::Interrupt ? ext : 0);
  // The new TSS's T bit: a #DB trap once the switch is done, before the task's first
  // instruction (DR6.BT; the debug handler runs in the new task).
  if (t.trap) {
    s.dr[6] |= dr6::BT;
    c.note_task_trap();
  }
  return Status::Ok;
}

}  // namespace

Status task_jmp_call(Cpu& c, uint16_t sel, const Descriptor& d, TaskReason why, uint32_t return_eip) {
  const unsigned cpl = c.cpl(), rpl = sel & 3;
  const uint16_t err = sel & 0xFFFC;
  uint16_t tss_sel = sel;
  Descriptor tss = d;
  if (d.type() == sys::TASK) {
    if (d.dpl() < cpl || d.dpl() < rpl) return c.gp(err);
    if (!d.present()) return c.np(err);
    tss_sel = d.gate_selector();
    TRY(read_gdt(c, tss_sel, tss, vec::GP, tss_sel & 0xFFFC));
    if (!is_tss(tss) || busy(tss)) return c.gp(tss_sel & 0xFFFC);
  } else {
    // TSS descriptors live in the GDT only.
    if ((sel & 4) || d.dpl() < cpl || d.dpl() < rpl || busy(d)) return c.gp(err);
  }
  if (!tss.present()) return c.np(tss_sel & 0xFFFC);
  return switch_tasks(c, tss_sel, tss, why, return_eip, 0, false, 0);
}

Status task_return(Cpu& c, uint32_t return_eip) {
  uint32_t link;
  TRY(c.read_sys(c.s.tr.base + kLink, 2, link));
  const uint16_t sel = static_cast<uint16_t>(link);
  const uint16_t err = sel & 0xFFFC;
  Descriptor d;
  TRY(read_gdt(c, sel, d, vec::TS, err));
  if (!is_tss(d) || !busy(d)) return c.ts(err);
  if (!d.present()) return c.np(err);
  return switch_tasks(c, sel, d, TaskReason::Iret, return_eip, 0, false, 0);
}

Status task_gate_interrupt(Cpu& c, const Descriptor& gate, uint32_t ext, bool has_error,
                           uint32_t error, uint32_t return_eip) {
  const uint16_t sel = gate.gate_selector();
  const uint32_t err = (sel & 0xFFFCu) | ext;
  Descriptor d;
  TRY(read_gdt(c, sel, d, vec::GP, err));
  if (!is_tss(d) || busy(d)) return c.gp(err);
  if (!d.present()) return c.np(err);
  return switch_tasks(c, sel, d, TaskReason::Interrupt, return_eip, ext, has_error, error);
}

}  // namespace popek::cpu
