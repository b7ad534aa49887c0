// String instructions with REP/REPE/REPNE in 16- and 32-bit address size (rows in
// cpu/ops/string.def). A repeated instruction runs at most kRepBudget iterations per
// execution and then restarts itself, so that interrupts and the virtual clock are
// serviced during long copies, exactly as the processor interrupts a REP string.
#include "cpu/cpu.h"
#include "cpu/ops/flags.h"

namespace popek::cpu::ops {

namespace {

constexpr unsigned kRepBudget = 4096;

enum class Kind { Movs, Cmps, Stos, Lods, Scas, Ins, Outs };

struct Regs {
  uint32_t mask;  // address-size mask
  unsigned asz;
};

void advance(Cpu& c, const Regs& r, unsigned reg, unsigned w) {
  const uint32_t v = c.gpr(reg, r.asz);
  c.set_gpr(reg, r.asz, (c.df() ? v - w : v + w) & r.mask);
}

// Probe that a write of `w` bytes at ES:off will succeed (segment and paging), so that
// INS reads its port only when the store cannot fault.
Status probe_write(Cpu& c, uint32_t off, unsigned w) {
  uint32_t lin;
  TRY(c.check_seg(ES, off, w, true, lin));
  mmu::PageFault f;
  uint32_t phys;
  if (!c.mmu().translate(lin, mmu::Access::Write, c.cpl() == 3, phys, f)) {
    c.s.cr[2] = f.linear;
    return c.raise_err(vec::PF, f.error);
  }
  return Status::Ok;
}

Status one(Cpu& c, const Insn& in, Kind k, const Regs& r, unsigned w) {
  const uint32_t si = c.gpr(ESI, r.asz), di = c.gpr(EDI, r.asz);
  uint32_t a, b;
  switch (k) {
    case Kind::Movs:
      TRY(c.read_mem(in.seg, si, w, a));
      TRY(c.write_mem(ES, di, w, a));
      advance(c, r, ESI, w);
      advance(c, r, EDI, w);
      break;
    case Kind::Cmps:
      TRY(c.read_mem(in.seg, si, w, a));
      TRY(c.read_mem(ES, di, w, b));
      c.set_flags(flag::ARITH, sub_flags(a, b, 0, w));
      advance(c, r, ESI, w);
      advance(c, r, EDI, w);
      break;
    case Kind::Stos:
      TRY(c.write_mem(ES, di, w, c.gpr(EAX, w)));
      advance(c, r, EDI, w);
      break;
    case Kind::Lods:
      TRY(c.read_mem(in.seg, si, w, a));
      c.set_gpr(EAX, w, a);
      advance(c, r, ESI, w);
      break;
    case Kind::Scas:
      TRY(c.read_mem(ES, di, w, b));
      c.set_flags(flag::ARITH, sub_flags(c.gpr(EAX, w), b, 0, w));
      advance(c, r, EDI, w);
      break;
    case Kind::Ins: {
      TRY(probe_write(c, di, w));
      const uint32_t v = c.io_in(static_cast<uint16_t>(c.gpr(EDX, 2)), w);
      TRY(c.write_mem(ES, di, w, v));
      advance(c, r, EDI, w);
      break;
    }
    case Kind::Outs:
      TRY(c.read_mem(in.seg, si, w, a));
      c.io_out(static_cast<uint16_t>(c.gpr(EDX, 2)), w, a);
      advance(c, r, ESI, w);
      break;
  }
  return Status::Ok;
}

Status run(Cpu& c, const Insn& in, Kind k) {
  const unsigned w = in.opsize;
  const Regs r{in.addrsize == 2 ? 0xFFFFu : 0xFFFFFFFFu, in.addrsize};
  if (k == Kind::Ins || k == Kind::Outs) TRY(c.io_permission(static_cast<uint16_t>(c.gpr(EDX, 2)), w));
  const bool rep = in.prefixes & (prefix::REP | prefix::REPNE);
  if (!rep) {
    TRY(one(c, in, k, r, w));
    return c.stop_requested() ? Status::Stop : Status::Ok;
  }
  const bool conditional = k == Kind::Cmps || k == Kind::Scas;
  const bool while_equal = in.prefixes & prefix::REP;  // REPE; REPNE otherwise
  for (unsigned n = 0; n < kRepBudget; ++n) {
    const uint32_t count = c.gpr(ECX, r.asz);
    if (count == 0) return Status::Ok;
    TRY(one(c, in, k, r, w));
    c.set_gpr(ECX, r.asz, (count - 1) & r.mask);
    if (c.stop_requested()) return count == 1 ? Status::Stop : Status::Restart;
    if (count == 1) return Status::Ok;
    if (conditional && (c.zf() != while_equal)) return Status::Ok;
  }
  return Status::Restart;
}

}  // namespace

// MOVS m8, m8 / MOVS m16, m16 / MOVS m32, m32
Status movs(Cpu& c, const Insn& in) { return run(c, in, Kind::Movs); }
// CMPS m8, m8 / CMPS m16, m16 / CMPS m32, m32
Status cmps(Cpu& c, const Insn& in) { return run(c, in, Kind::Cmps); }
// STOS m8 / STOS m16 / STOS m32
Status stos(Cpu& c, const Insn& in) { return run(c, in, Kind::Stos); }
// LODS m8 / LODS m16 / LODS m32
Status lods(Cpu& c, const Insn& in) { return run(c, in, Kind::Lods); }
// SCAS m8 / SCAS m16 / SCAS m32
Status scas(Cpu& c, const Insn& in) { return run(c, in, Kind::Scas); }
// INS m8, DX / INS m16, DX / INS m32, DX
Status ins(Cpu& c, const Insn& in) { return run(c, in, Kind::Ins); }
// OUTS DX, m8 / OUTS DX, m16 / OUTS DX, m32
Status outs(Cpu& c, const Insn& in) { return run(c, in, Kind::Outs); }

}  // namespace popek::cpu::ops
