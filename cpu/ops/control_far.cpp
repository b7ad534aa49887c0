// Far control transfers: JMP/CALL/RET far and IRET, in real mode and in protected mode
// with call gates, privilege changes and their stack switches (SDM vol. 2 JMP, CALL,
// RET, IRET pages; vol. 3 §5.8), IRET in and into virtual-8086 mode (vol. 3 §20.2-20.3).
// The task switches they start are in cpu/task.cpp.
#include "cpu/cpu.h"
#include "cpu/privilege.h"
#include "cpu/task.h"

namespace popek::cpu::ops {

namespace {

// The selector:offset of a far JMP/CALL operand (ptr16:16/32 or m16:16/32).
Status far_pointer(Cpu& c, const Insn& in, uint16_t& sel, uint32_t& off) {
  const Operand& op = in.ops[0];
  if (op.kind == OpKind::Ptr) {
    sel = op.ptr_seg;
    off = op.disp;
    return Status::Ok;
  }
  if (op.kind != OpKind::Mem) return c.ud();
  const uint32_t a = c.ea(in, op);
  uint32_t o, s;
  TRY(c.read_mem(op.seg, a, in.opsize, o));
  TRY(c.read_mem(op.seg, (a + in.opsize) & (in.addrsize == 2 ? 0xFFFF : 0xFFFFFFFF), 2, s));
  sel = static_cast<uint16_t>(s);
  off = o;
  return Status::Ok;
}

bool is_call_gate(const Descriptor& d) {
  return !d.s() && (d.type() == sys::CALL16 || d.type() == sys::CALL32);
}
bool is_task_or_tss(const Descriptor& d) {
  if (d.s()) return false;
  const uint8_t t = d.type();
  return t == sys::TASK || t == sys::TSS16_AVAIL || t == sys::TSS32_AVAIL || t == sys::TSS16_BUSY ||
         t == sys::TSS32_BUSY;
}

// Checks on the code segment reached directly by a far JMP/CALL (not through a gate).
Status check_direct_code(Cpu& c, uint16_t sel, const Descriptor& d) {
  const uint16_t err = sel & 0xFFFC;
  const unsigned cpl = c.cpl(), rpl = sel & 3;
  if (d.type() & attr::CONFORMING) {
    if (d.dpl() > cpl) return c.gp(err);
  } else if (rpl > cpl || d.dpl() != cpl) {
    return c.gp(err);
  }
  if (!d.present()) return c.np(err);
  return Status::Ok;
}

// The code segment named by a call gate: returns it with its checks done.
Status gate_target(Cpu& c, const Descriptor& gate, uint16_t gate_sel, uint16_t& tsel,
                   Descriptor& td) {
  const unsigned cpl = c.cpl();
  if (gate.dpl() < cpl || gate.dpl() < (gate_sel & 3u)) return c.gp(gate_sel & 0xFFFC);
  if (!gate.present()) return c.np(gate_sel & 0xFFFC);
  tsel = gate.gate_selector();
  if ((tsel & 0xFFFC) == 0) return c.gp(0);
  TRY(c.read_descriptor(tsel, td));
  if (!td.is_code() || td.dpl() > cpl) return c.gp(tsel & 0xFFFC);
  if (!td.present()) return c.np(tsel & 0xFFFC);
  return Status::Ok;
}

}  // namespace

// JMP ptr16:16/32 / JMP m16:16/32
Status jmp_far(Cpu& c, const Insn& in) {
  uint16_t sel;
  uint32_t off;
  TRY(far_pointer(c, in, sel, off));
  if (in.opsize == 2) off &= 0xFFFF;
  if (!c.protected_mode() || c.v86()) {
    if (off > c.s.seg[CS].limit) return c.gp(0);
    c.load_seg_real(CS, sel);
    c.set_next_eip(off);
    return Status::Ok;
  }
  if ((sel & 0xFFFC) == 0) return c.gp(0);
  Descriptor d;
  TRY(c.read_descriptor(sel, d));
  if (d.is_code()) {
    TRY(check_direct_code(c, sel, d));
    if (off > d.limit()) return c.gp(0);
    TRY(c.mark_accessed(sel, d));
    c.load_cs(sel, d, c.cpl());
    c.set_next_eip(off);
    return Status::Ok;
  }
  if (is_call_gate(d)) {
    uint16_t tsel;
    Descriptor td;
    TRY(gate_target(c, d, sel, tsel, td));
    // JMP through a call gate never changes privilege.
    if (!(td.type() & attr::CONFORMING) && td.dpl() != c.cpl()) return c.gp(tsel & 0xFFFC);
    const uint32_t target = d.type() == sys::CALL32 ? d.gate_offset() : (d.gate_offset() & 0xFFFF);
    if (target > td.limit()) return c.gp(0);
    TRY(c.mark_accessed(tsel, td));
    c.load_cs(tsel, td, c.cpl());
    c.set_next_eip(target);
    return Status::Ok;
  }
  if (is_task_or_tss(d)) return task_jmp_call(c, sel, d, TaskReason::Jmp, c.next_eip());
  return c.gp(sel & 0xFFFC);
}

// CALL ptr16:16/32 / CALL m16:16/32
Status call_far(Cpu& c, const Insn& in) {
  uint16_t sel;
  uint32_t off;
  TRY(far_pointer(c, in, sel, off));
  const unsigned w = in.opsize;
  if (w == 2) off &= 0xFFFF;
  const uint16_t old_cs = c.s.seg[CS].selector;
  const uint32_t ret_eip = c.next_eip();
  if (!c.protected_mode() || c.v86()) {
    if (off > c.s.seg[CS].limit) return c.gp(0);
    TRY(c.stack_write(-static_cast<int32_t>(w), w, old_cs));
    TRY(c.stack_write(-static_cast<int32_t>(2 * w), w, ret_eip));
    c.add_sp(-static_cast<int32_t>(2 * w));
    c.load_seg_real(CS, sel);
    c.set_next_eip(off);
    return Status::Ok;
  }
  if ((sel & 0xFFFC) == 0) return c.gp(0);
  Descriptor d;
  TRY(c.read_descriptor(sel, d));
  if (d.is_code()) {
    TRY(check_direct_code(c, sel, d));
    if (off > d.limit()) return c.gp(0);
    TRY(c.stack_write(-static_cast<int32_t>(w), w, old_cs));
    TRY(c.stack_write(-static_cast<int32_t>(2 * w), w, ret_eip));
    TRY(c.mark_accessed(sel, d));
    c.add_sp(-static_cast<int32_t>(2 * w));
    c.load_cs(sel, d, c.cpl());
    c.set_next_eip(off);
    return Status::Ok;
  }
  if (is_task_or_tss(d)) return task_jmp_call(c, sel, d, TaskReason::Call, ret_eip);
  if (!is_call_gate(d)) return c.gp(sel & 0xFFFC);

  uint16_t tsel;
  Descriptor td;
  TRY(gate_target(c, d, sel, tsel, td));
  const bool gate32 = d.type() == sys::CALL32;
  const unsigned gw = gate32 ? 4 : 2;
  const uint32_t target = gate32 ? d.gate_offset() : (d.gate_offset() & 0xFFFF);
  if (target > td.limit()) return c.gp(0);

  if (!(td.type() & attr::CONFORMING) && td.dpl() < c.cpl()) {
    // More privileged: new stack from the TSS, parameters copied from the old stack.
    const unsigned new_cpl = td.dpl();
    uint16_t ss_sel;
    uint32_t esp;
    Descriptor ssd;
    SegmentCache ss_cache;
    TRY(inner_stack(c, new_cpl, 0, ss_sel, esp, ssd, ss_cache));
    const unsigned params = d.gate_params();
    uint32_t p[32];
    for (unsigned i = 0; i < params; ++i) TRY(c.stack_read(i * gw, gw, p[i]));
    const uint32_t mask = (ss_cache.attr & attr::DB) ? 0xFFFFFFFFu : 0xFFFFu;
    const uint32_t new_sp = (esp - (4 + params) * gw) & mask;
    const bool user = new_cpl == 3;
    uint32_t o = new_sp;
    auto put = [&](uint32_t v) {
      const Status st = c.write_via(ss_cache, o, gw, v, user, ss_sel & 0xFFFC);
      o = (o + gw) & mask;
      return st;
    };
    TRY(put(ret_eip));
    TRY(put(old_cs));
    for (unsigned i = 0; i < params; ++i) TRY(put(p[i]));
    TRY(put(c.s.gpr[ESP]));
    TRY(put(c.s.seg[SS].selector));
    TRY(c.mark_accessed(ss_sel, ssd));
    TRY(c.mark_accessed(tsel, td));
    c.s.seg[SS] = SegmentCache{ss_sel, ssd.attr(), ssd.base(), ssd.limit(), 1};
    c.s.gpr[ESP] = mask == 0xFFFFFFFFu ? new_sp : ((esp & 0xFFFF0000u) | new_sp);
    c.load_cs(tsel, td, new_cpl);
    c.set_next_eip(target);
    return Status::Ok;
  }
  // Same privilege through the gate.
  TRY(c.stack_write(-static_cast<int32_t>(gw), gw, old_cs));
  TRY(c.stack_write(-static_cast<int32_t>(2 * gw), gw, ret_eip));
  TRY(c.mark_accessed(tsel, td));
  c.add_sp(-static_cast<int32_t>(2 * gw));
  c.load_cs(tsel, td, c.cpl());
  c.set_next_eip(target);
  return Status::Ok;
}

namespace {

// The checks of a far return or IRET on the CS it pops (SDM RET: "RETURN-FROM-...").
Status check_return_cs(Cpu& c, uint16_t sel, Descriptor& d) {
  const uint16_t err = sel & 0xFFFC;
  if (err == 0) return c.gp(0);
  TRY(c.read_descriptor(sel, d));
  if (!d.is_code()) return c.gp(err);
  const unsigned rpl = sel & 3;
  if (rpl < c.cpl()) return c.gp(err);
  if ((d.type() & attr::CONFORMING) ? d.dpl() > rpl : d.dpl() != rpl) return c.gp(err);
  if (!d.present()) return c.np(err);
  return Status::Ok;
}

// The checks on the outer SS popped by a return to a less privileged level.
Status check_return_ss(Cpu& c, uint16_t ss_sel, unsigned rpl, Descriptor& d) {
  const uint16_t err = ss_sel & 0xFFFC;
  if (err == 0) return c.gp(0);
  if ((ss_sel & 3u) != rpl) return c.gp(err);
  TRY(c.read_descriptor(ss_sel, d));
  if (!d.is_data() || !(d.type() & attr::WRITABLE) || d.dpl() != rpl) return c.gp(err);
  if (!d.present()) return c.ss_fault(err);
  return Status::Ok;
}

// Commit a return to an outer level: CS, SS:ESP, CPL, and null the data segments the
// new CPL may not use.
void return_outer(Cpu& c, uint16_t sel, Descriptor& d, uint16_t ss_sel, Descriptor& ssd,
                  uint32_t new_esp) {
  const unsigned rpl = sel & 3;
  c.load_cs(sel, d, rpl);
  c.s.seg[SS] = SegmentCache{ss_sel, ssd.attr(), ssd.base(), ssd.limit(), 1};
  if (ssd.attr() & attr::DB) c.s.gpr[ESP] = new_esp;
  else c.s.gpr[ESP] = (c.s.gpr[ESP] & 0xFFFF0000u) | (new_esp & 0xFFFF);
  c.invalidate_segments_for_cpl();
}

// IRETD at CPL 0 with VM set in the popped EFLAGS: the rest of the virtual-8086 frame
// (ESP, SS, ES, DS, FS, GS) comes off the stack too, every segment loads real-mode style
// and CPL becomes 3.
Status iret_to_v86(Cpu& c, uint32_t eip, uint32_t cs, uint32_t fl) {
  uint32_t v[6];  // ESP SS ES DS FS GS
  for (unsigned i = 0; i < 6; ++i) TRY(c.stack_read(12 + 4 * i, 4, v[i]));
  if (eip > 0xFFFF) return c.gp(0);  // beyond the virtual-8086 CS limit
  c.write_eflags(fl, flag::WRITABLE);
  c.s.gpr[ESP] = v[0];
  c.load_seg_real(CS, static_cast<uint16_t>(cs));
  c.load_seg_real(SS, static_cast<uint16_t>(v[1]));
  c.load_seg_real(ES, static_cast<uint16_t>(v[2]));
  c.load_seg_real(DS, static_cast<uint16_t>(v[3]));
  c.load_seg_real(FS, static_cast<uint16_t>(v[4]));
  c.load_seg_real(GS, static_cast<uint16_t>(v[5]));
  c.update_cpl();
  c.set_next_eip(eip);
  return Status::Ok;
}

}  // namespace

// RET far / RET far imm16
Status ret_far(Cpu& c, const Insn& in) {
  const unsigned w = in.opsize;
  const uint32_t imm = in.nops > 0 ? (in.ops[0].disp & 0xFFFF) : 0;
  uint32_t eip, cs;
  TRY(c.stack_read(0, w, eip));
  TRY(c.stack_read(w, w, cs));
  const uint16_t sel = static_cast<uint16_t>(cs);
  if (!c.protected_mode() || c.v86()) {
    if (eip > c.s.seg[CS].limit) return c.gp(0);
    c.add_sp(static_cast<int32_t>(2 * w + imm));
    c.load_seg_real(CS, sel);
    c.set_next_eip(eip);
    return Status::Ok;
  }
  Descriptor d;
  TRY(check_return_cs(c, sel, d));
  const unsigned rpl = sel & 3;
  if (rpl > c.cpl()) {
    uint32_t esp, ss;
    TRY(c.stack_read(2 * w + imm, w, esp));
    TRY(c.stack_read(3 * w + imm, w, ss));
    const uint16_t ss_sel = static_cast<uint16_t>(ss);
    Descriptor ssd;
    TRY(check_return_ss(c, ss_sel, rpl, ssd));
    if (eip > d.limit()) return c.gp(0);
    TRY(c.mark_accessed(sel, d));
    TRY(c.mark_accessed(ss_sel, ssd));
    return_outer(c, sel, d, ss_sel, ssd, esp + imm);
    c.set_next_eip(eip);
    return Status::Ok;
  }
  if (eip > d.limit()) return c.gp(0);
  TRY(c.mark_accessed(sel, d));
  c.add_sp(static_cast<int32_t>(2 * w + imm));
  c.load_cs(sel, d, c.cpl());
  c.set_next_eip(eip);
  return Status::Ok;
}

// IRET / IRETD
Status iret(Cpu& c, const Insn& in) {
  const unsigned w = in.opsize;
  uint32_t eip, cs, fl;
  if (c.v86()) {
    // Virtual-8086 mode: a real-mode IRET when IOPL is 3 (it cannot change IOPL, VM, VIP
    // or VIF), else #GP(0) for the monitor to emulate.
    if (c.iopl() < 3) return c.gp(0);
    TRY(c.stack_read(0, w, eip));
    TRY(c.stack_read(w, w, cs));
    TRY(c.stack_read(2 * w, w, fl));
    if (eip > c.s.seg[CS].limit) return c.gp(0);
    c.add_sp(static_cast<int32_t>(3 * w));
    c.load_seg_real(CS, static_cast<uint16_t>(cs));
    const uint32_t keep = flag::IOPL | flag::VM | flag::VIP | flag::VIF;
    c.write_eflags(fl, (w == 2 ? 0xFFFFu : 0xFFFFFFFFu) & ~keep);
    c.set_next_eip(eip);
    return Status::Ok;
  }
  // A nested task returns to the task in its back link (before any stack access).
  if (c.protected_mode() && (c.s.eflags & flag::NT)) return task_return(c, c.next_eip());
  TRY(c.stack_read(0, w, eip));
  TRY(c.stack_read(w, w, cs));
  TRY(c.stack_read(2 * w, w, fl));
  const uint16_t sel = static_cast<uint16_t>(cs);
  const uint32_t size_mask = w == 2 ? 0xFFFFu : 0xFFFFFFFFu;
  if (!c.protected_mode()) {
    if (eip > c.s.seg[CS].limit) return c.gp(0);
    c.add_sp(static_cast<int32_t>(3 * w));
    c.load_seg_real(CS, sel);
    // Real mode: every flag is writable (VM/VIF/VIP stay as they are).
    c.write_eflags(fl, size_mask & ~(flag::VM | flag::VIF | flag::VIP));
    c.set_next_eip(eip);
    return Status::Ok;
  }
  if (w == 4 && (fl & flag::VM) && c.cpl() == 0) return iret_to_v86(c, eip, cs, fl);
  Descriptor d;
  TRY(check_return_cs(c, sel, d));
  const unsigned rpl = sel & 3;
  // Which flags the return may change depends on the privilege before it.
  uint32_t change = flag::CF | flag::PF | flag::AF | flag::ZF | flag::SF | flag::TF | flag::DF |
                    flag::OF | flag::NT | flag::RF | flag::AC | flag::ID;
  if (c.cpl() <= c.iopl()) change |= flag::IF;
  if (c.cpl() == 0) change |= flag::IOPL | flag::VIF | flag::VIP;
  change &= size_mask;
  if (rpl > c.cpl()) {
    uint32_t esp, ss;
    TRY(c.stack_read(3 * w, w, esp));
    TRY(c.stack_read(4 * w, w, ss));
    const uint16_t ss_sel = static_cast<uint16_t>(ss);
    Descriptor ssd;
    TRY(check_return_ss(c, ss_sel, rpl, ssd));
    if (eip > d.limit()) return c.gp(0);
    TRY(c.mark_accessed(sel, d));
    TRY(c.mark_accessed(ss_sel, ssd));
    c.write_eflags(fl, change);
    return_outer(c, sel, d, ss_sel, ssd, esp);
    c.set_next_eip(eip & size_mask);
    return Status::Ok;
  }
  if (eip > d.limit()) return c.gp(0);
  TRY(c.mark_accessed(sel, d));
  c.write_eflags(fl, change);
  c.add_sp(static_cast<int32_t>(3 * w));
  c.load_cs(sel, d, c.cpl());
  c.set_next_eip(eip & size_mask);
  return Status::Ok;
}


namespace {

// The flat 4 GiB code or data segment SYSENTER and SYSEXIT load without reading the
// GDT: base 0, page-granular limit FFFFFh, 32-bit, accessed, at privilege `dpl`.
SegmentCache flat_segment(uint16_t selector, bool code, unsigned dpl) {
  const uint16_t type = code ? attr::CODE | attr::READABLE | attr::ACCESSED
                             : attr::WRITABLE | attr::ACCESSED;
  const uint16_t a = static_cast<uint16_t>(type | attr::S | attr::P | attr::DB | attr::G |
                                           (dpl << attr::DPL_SHIFT));
  return SegmentCache{selector, a, 0, 0xFFFFFFFFu, 1};
}

}  // namespace

// SYSENTER: to CPL 0 at IA32_SYSENTER_CS:IA32_SYSENTER_EIP with SS = CS + 8 and ESP =
// IA32_SYSENTER_ESP, all flat; VM, IF and RF are cleared (TF is kept). Nothing is pushed
// and the data segment registers are left as they are. #GP(0) in real mode or when the
// MSR holds a null selector; allowed at any CPL and from virtual-8086 mode.
Status sysenter(Cpu& c, const Insn&) {
  const uint16_t cs = static_cast<uint16_t>(c.s.msr.sysenter_cs & 0xFFFC);
  if (!c.protected_mode() || cs == 0) return c.gp(0);
  c.s.eflags &= ~(flag::VM | flag::IF | flag::RF);
  c.s.seg[CS] = flat_segment(cs, true, 0);
  c.s.seg[SS] = flat_segment(static_cast<uint16_t>(cs + 8), false, 0);
  c.s.cpl = 0;
  c.s.gpr[ESP] = c.s.msr.sysenter_esp;
  c.set_next_eip(c.s.msr.sysenter_eip);
  return Status::Ok;
}

// SYSEXIT: back to CPL 3 at (IA32_SYSENTER_CS + 16) | 3 : EDX with SS = (IA32_SYSENTER_CS
// + 24) | 3 and ESP = ECX, all flat; flags and data segment registers are unchanged.
// #GP(0) in real mode, at CPL > 0 (virtual-8086 mode included) or with a null MSR.
Status sysexit(Cpu& c, const Insn&) {
  const uint16_t base = static_cast<uint16_t>(c.s.msr.sysenter_cs & 0xFFFC);
  if (!c.protected_mode() || c.cpl() != 0 || base == 0) return c.gp(0);
  c.s.seg[CS] = flat_segment(static_cast<uint16_t>((base + 16) | 3), true, 3);
  c.s.seg[SS] = flat_segment(static_cast<uint16_t>((base + 24) | 3), false, 3);
  c.s.cpl = 3;
  c.s.gpr[ESP] = c.s.gpr[ECX];
  c.set_next_eip(c.s.gpr[EDX]);
  return Status::Ok;
}

}  // namespace popek::cpu::ops
