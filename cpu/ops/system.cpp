// System instructions: flags with IOPL rules, descriptor-table and control-register
// loads, MSRs, CPUID/RDTSC, port I/O, HLT (rows in cpu/ops/system.def).
#include "cpu/cpu.h"
#include "cpu/cpuid.h"

namespace popek::cpu::ops {

namespace {

// Privileged instructions fault with #GP(0) unless CPL is 0 (in real mode CPL is 0;
// virtual-8086 code runs at CPL 3).
bool privileged_ok(const Cpu& c) { return c.cpl() == 0; }

bool protected_non_v86(const Cpu& c) { return c.protected_mode() && !c.v86(); }

// MSR numbers popek implements.
constexpr uint32_t kMsrTsc = 0x10;
constexpr uint32_t kMsrSysenterCs = 0x174;
constexpr uint32_t kMsrSysenterEsp = 0x175;
constexpr uint32_t kMsrSysenterEip = 0x176;
constexpr uint32_t kMsrEfer = 0xC0000080;
constexpr uint32_t kMsrPat = 0x277;

// Each PAT entry must name a memory type that exists: UC, WC, WT, WP, WB or UC-.
bool valid_pat(uint64_t v) {
  for (int i = 0; i < 8; ++i) {
    const unsigned t = (v >> (i * 8)) & 0xFF;
    if (t != 0 && t != 1 && t != 4 && t != 5 && t != 6 && t != 7) return false;
  }
  return true;
}

// CR4 bits popek accepts: exactly those whose features CPUID advertises.
constexpr uint32_t kCr4Supported = cr4::TSD | cr4::PSE | cr4::PAE | cr4::PGE;

}  // namespace

// PUSHF / PUSHFD (the image has VM and RF clear)
Status pushf(Cpu& c, const Insn& in) {
  if (c.v86() && c.iopl() < 3) return c.gp(0);
  return c.push(c.s.eflags & ~(flag::VM | flag::RF), in.opsize);
}

// POPF / POPFD
Status popf(Cpu& c, const Insn& in) {
  if (c.v86() && c.iopl() < 3) return c.gp(0);
  uint32_t v;
  TRY(c.stack_read(0, in.opsize, v));
  uint32_t change = flag::CF | flag::PF | flag::AF | flag::ZF | flag::SF | flag::TF | flag::DF |
                    flag::OF | flag::NT | flag::AC | flag::ID;
  if (c.cpl() == 0) change |= flag::IOPL | flag::IF;
  else if (c.cpl() <= c.iopl()) change |= flag::IF;
  if (in.opsize == 2) change &= 0xFFFF;
  c.add_sp(static_cast<int32_t>(in.opsize));
  c.write_eflags(v, change | (in.opsize == 4 ? flag::RF : 0));
  if (in.opsize == 4) c.s.eflags &= ~flag::RF;
  return Status::Ok;
}

// CLI
Status cli(Cpu& c, const Insn&) {
  if (c.protected_mode() && c.cpl() > c.iopl()) return c.gp(0);
  c.set_flags(flag::IF, 0);
  return Status::Ok;
}

// STI (interrupts stay blocked until the next instruction retires)
Status sti(Cpu& c, const Insn&) {
  if (c.protected_mode() && c.cpl() > c.iopl()) return c.gp(0);
  if (!(c.s.eflags & flag::IF)) c.s.irq_shadow = 1;
  c.set_flags(flag::IF, flag::IF);
  return Status::Ok;
}

// IN AL/AX/EAX, imm8 / IN AL/AX/EAX, DX
Status in(Cpu& c, const Insn& in) {
  uint32_t port;
  TRY(c.read_op(in, 1, port));
  const unsigned size = in.ops[0].size;
  TRY(c.io_permission(static_cast<uint16_t>(port), size));
  const uint32_t v = c.io_in(static_cast<uint16_t>(port), size);
  c.set_gpr(EAX, size, v);
  return c.stop_requested() ? Status::Stop : Status::Ok;
}

// OUT imm8, AL/AX/EAX / OUT DX, AL/AX/EAX
Status out(Cpu& c, const Insn& in) {
  uint32_t port, v;
  TRY(c.read_op(in, 0, port));
  TRY(c.read_op(in, 1, v));
  const unsigned size = in.ops[1].size;
  TRY(c.io_permission(static_cast<uint16_t>(port), size));
  c.io_out(static_cast<uint16_t>(port), size, v);
  return c.stop_requested() ? Status::Stop : Status::Ok;
}

// HLT
Status hlt(Cpu& c, const Insn&) {
  if (!privileged_ok(c)) return c.gp(0);
  return Status::Halt;
}

namespace {
Status load_table(Cpu& c, const Insn& in, TableRegister& t) {
  if (!privileged_ok(c)) return c.gp(0);
  const Operand& m = in.ops[0];
  if (m.kind != OpKind::Mem) return c.ud();
  const uint32_t a = c.ea(in, m);
  uint32_t limit, base;
  TRY(c.read_mem(m.seg, a, 2, limit));
  TRY(c.read_mem(m.seg, a + 2, 4, base));
  t.limit = limit;
  t.base = in.opsize == 2 ? (base & 0x00FFFFFF) : base;
  return Status::Ok;
}
}  // namespace

// LGDT m16&32
Status lgdt(Cpu& c, const Insn& in) { return load_table(c, in, c.s.gdtr); }

// LIDT m16&32
Status lidt(Cpu& c, const Insn& in) { return load_table(c, in, c.s.idtr); }

// LLDT r/m16
Status lldt(Cpu& c, const Insn& in) {
  if (!protected_non_v86(c)) return c.ud();
  if (!privileged_ok(c)) return c.gp(0);
  uint32_t v;
  TRY(c.read_op(in, 0, v));
  const uint16_t sel = static_cast<uint16_t>(v);
  if ((sel & 0xFFFC) == 0) {
    c.s.ldtr = SegmentCache{sel, 0, 0, 0, 0};
    return Status::Ok;
  }
  if (sel & 4) return c.gp(sel & 0xFFFC);
  Descriptor d;
  TRY(c.read_descriptor(sel, d));
  if (d.s() || d.type() != sys::LDT) return c.gp(sel & 0xFFFC);
  if (!d.present()) return c.np(sel & 0xFFFC);
  c.s.ldtr = SegmentCache{sel, d.attr(), d.base(), d.limit(), 1};
  return Status::Ok;
}

// LTR r/m16 (marks the TSS descriptor busy)
Status ltr(Cpu& c, const Insn& in) {
  if (!protected_non_v86(c)) return c.ud();
  if (!privileged_ok(c)) return c.gp(0);
  uint32_t v;
  TRY(c.read_op(in, 0, v));
  const uint16_t sel = static_cast<uint16_t>(v);
  if ((sel & 0xFFFC) == 0) return c.gp(0);
  if (sel & 4) return c.gp(sel & 0xFFFC);
  Descriptor d;
  TRY(c.read_descriptor(sel, d));
  if (d.s() || (d.type() != sys::TSS16_AVAIL && d.type() != sys::TSS32_AVAIL)) {
    return c.gp(sel & 0xFFFC);
  }
  if (!d.present()) return c.np(sel & 0xFFFC);
  d.hi |= 2u << 8;  // busy
  TRY(c.write_descriptor_hi(sel, d.hi));
  c.s.tr = SegmentCache{sel, d.attr(), d.base(), d.limit(), 1};
  return Status::Ok;
}

// LMSW r/m16 (loads PE, MP, EM, TS; cannot clear PE)
Status lmsw(Cpu& c, const Insn& in) {
  if (!privileged_ok(c)) return c.gp(0);
  uint32_t v;
  TRY(c.read_op(in, 0, v));
  uint32_t cr0v = (c.s.cr[0] & ~0xEu) | (v & 0xF);
  cr0v |= c.s.cr[0] & cr0::PE;
  return c.set_cr0(cr0v);
}

// CLTS
Status clts(Cpu& c, const Insn&) {
  if (!privileged_ok(c)) return c.gp(0);
  c.s.cr[0] &= ~cr0::TS;
  return Status::Ok;
}

// MOV CRn, r32 / MOV r32, CRn
Status mov_cr(Cpu& c, const Insn& in) {
  const bool to_cr = in.ops[0].rclass == RegClass::Cr;
  const unsigned n = to_cr ? in.ops[0].reg : in.ops[1].reg;
  if (n == 1 || n > 4) return c.ud();
  if (!privileged_ok(c)) return c.gp(0);
  if (!to_cr) {
    c.s.gpr[in.ops[0].reg] = c.s.cr[n];
    return Status::Ok;
  }
  const uint32_t v = c.s.gpr[in.ops[1].reg];
  switch (n) {
    case 0:
      if ((v & cr0::PG) && !(v & cr0::PE)) return c.gp(0);
      if ((v & cr0::NW) && !(v & cr0::CD)) return c.gp(0);
      return c.set_cr0(v);
    case 2: c.s.cr[2] = v; return Status::Ok;
    case 3: return c.set_cr3(v);
    default:
      if (v & ~kCr4Supported) return c.gp(0);
      return c.set_cr4(v);
  }
}

// MOV DRn, r32 / MOV r32, DRn
Status mov_dr(Cpu& c, const Insn& in) {
  const bool to_dr = in.ops[0].rclass == RegClass::Dr;
  unsigned n = to_dr ? in.ops[0].reg : in.ops[1].reg;
  if (n > 7) return c.ud();
  if (!privileged_ok(c)) return c.gp(0);
  if (n == 4 || n == 5) {
    if (c.s.cr[4] & cr4::DE) return c.ud();
    n += 2;  // aliases of DR6/DR7
  }
  // DR7.GD (general detect): any debug-register access faults first, with DR6.BD set
  // and GD cleared so that the handler may use the registers.
  if (c.s.dr[7] & dr7::GD) {
    c.s.dr[7] &= ~dr7::GD;
    c.s.dr[6] |= dr6::BD;
    return c.raise(vec::DB);
  }
  if (!to_dr) {
    c.s.gpr[in.ops[0].reg] = c.s.dr[n];
    return Status::Ok;
  }
  uint32_t v = c.s.gpr[in.ops[1].reg];
  if (n == 6) v = (v & 0x0000E00Fu) | 0xFFFF0FF0u;
  if (n == 7) v = (v & 0xFFFF2BFFu) | 0x400;
  c.s.dr[n] = v;
  if (n != 6) c.update_watches();  // the instruction ends its block: the next one sees them
  return Status::Ok;
}

// INVD
Status invd(Cpu& c, const Insn&) {
  if (!privileged_ok(c)) return c.gp(0);
  return Status::Ok;  // popek models no caches: there is nothing to discard
}

// WBINVD
Status wbinvd(Cpu& c, const Insn&) {
  if (!privileged_ok(c)) return c.gp(0);
  return Status::Ok;  // popek models no caches: memory is always up to date
}

// INVLPG m
Status invlpg(Cpu& c, const Insn& in) {
  if (in.ops[0].kind != OpKind::Mem) return c.ud();
  if (!privileged_ok(c)) return c.gp(0);
  c.mmu().invlpg(c.s.seg[in.ops[0].seg].base + c.ea(in, in.ops[0]));
  return Status::Ok;
}

// RDMSR
Status rdmsr(Cpu& c, const Insn&) {
  if (!privileged_ok(c)) return c.gp(0);
  const uint32_t idx = c.s.gpr[ECX];
  uint64_t v;
  switch (idx) {
    case kMsrTsc: v = c.tsc(); break;
    case kMsrSysenterCs: v = c.s.msr.sysenter_cs; break;
    case kMsrSysenterEsp: v = c.s.msr.sysenter_esp; break;
    case kMsrSysenterEip: v = c.s.msr.sysenter_eip; break;
    case kMsrEfer: v = c.s.msr.efer; break;
    case kMsrPat: v = c.s.msr.pat; break;
    default:
      c.log().unimp("rdmsr-" + std::to_string(idx), "RDMSR of unimplemented MSR 0x%x raises #GP", idx);
      return c.gp(0);
  }
  c.s.gpr[EAX] = static_cast<uint32_t>(v);
  c.s.gpr[EDX] = static_cast<uint32_t>(v >> 32);
  return Status::Ok;
}

// WRMSR
Status wrmsr(Cpu& c, const Insn&) {
  if (!privileged_ok(c)) return c.gp(0);
  const uint32_t idx = c.s.gpr[ECX];
  const uint64_t v = (static_cast<uint64_t>(c.s.gpr[EDX]) << 32) | c.s.gpr[EAX];
  switch (idx) {
    case kMsrTsc: c.set_tsc(v); break;
    case kMsrSysenterCs: c.s.msr.sysenter_cs = static_cast<uint32_t>(v); break;
    case kMsrSysenterEsp: c.s.msr.sysenter_esp = static_cast<uint32_t>(v); break;
    case kMsrSysenterEip: c.s.msr.sysenter_eip = static_cast<uint32_t>(v); break;
    case kMsrPat:
      // popek models no caches: the memory types are stored and have no effect.
      if (!valid_pat(v)) return c.gp(0);
      c.s.msr.pat = v;
      break;
    case kMsrEfer:
      if (v & ~efer::NXE) return c.gp(0);  // LME and the rest do not exist on a 32-bit CPU
      return c.set_efer(v);
    default:
      c.log().unimp("wrmsr-" + std::to_string(idx), "WRMSR of unimplemented MSR 0x%x raises #GP", idx);
      return c.gp(0);
  }
  return Status::Ok;
}

// CPUID
Status cpuid(Cpu& c, const Insn&) {
  const CpuidResult r = popek::cpu::cpuid(c.s.gpr[EAX], c.s.gpr[ECX]);
  c.s.gpr[EAX] = r.eax;
  c.s.gpr[EBX] = r.ebx;
  c.s.gpr[ECX] = r.ecx;
  c.s.gpr[EDX] = r.edx;
  return Status::Ok;
}

// RDTSC (the time-stamp counter follows virtual time: deterministic)
Status rdtsc(Cpu& c, const Insn&) {
  if ((c.s.cr[4] & cr4::TSD) && c.protected_mode() && c.cpl() != 0) return c.gp(0);
  const uint64_t v = c.tsc();
  c.s.gpr[EAX] = static_cast<uint32_t>(v);
  c.s.gpr[EDX] = static_cast<uint32_t>(v >> 32);
  return Status::Ok;
}

// UD0 / UD1 / UD2
Status ud(Cpu& c, const Insn&) { return c.ud(); }

}  // namespace popek::cpu::ops
