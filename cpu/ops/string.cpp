// String instructions with REP/REPE/REPNE in 16- and 32-bit address size (rows in
// cpu/ops/string.def). A repeated instruction runs at most kRepBudget iterations per
// execution and then restarts itself, so that interrupts and the virtual clock are
// serviced during long copies, exactly as the processor interrupts a REP string.
#include <algorithm>
#include <cstring>

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

// REP MOVS and REP STOS, forward, 32-bit addressing: the elements that lie in RAM pages
// the TLB already maps for these very accesses (so no segment limit, page fault, write
// tracking or MMIO is involved: flat segments, no alignment check) are moved on host
// memory directly, element by element as `one` would, at most `max` of them and never
// past a page boundary. Returns how many were done (0: take the element-wise path).
uint32_t bulk(Cpu& c, const Insn& in, Kind k, unsigned w, uint32_t max) {
  const CpuState& s = c.s;
  if (c.df() || ((s.cr[0] & cr0::AM) && (s.eflags & flag::AC) && s.cpl == 3)) return 0;
  auto flat = [](const SegmentCache& sc, bool write) {
    const uint16_t a = sc.attr;
    if (!sc.valid || sc.limit != 0xFFFFFFFFu || (a & attr::CODE) || (a & attr::EXPAND_DOWN)) return false;
    return !write || (a & attr::WRITABLE);
  };
  if (!flat(s.seg[ES], true) || (k == Kind::Movs && !flat(s.seg[in.seg], false))) return 0;
  const bool user = s.cpl == 3;
  const uint32_t di = s.gpr[EDI], dst = s.seg[ES].base + di;
  if (di > 0xFFFFFFFFu - 4096) return 0;  // near the end of the segment: element by element
  uint32_t n = std::min<uint32_t>(max, (4096 - (dst & 0xFFF)) / w);
  uint8_t* d = c.mmu().host_for(dst, mmu::Access::Write, user);
  if (!d) return 0;
  if (k == Kind::Stos) {
    const uint32_t v = c.gpr(EAX, w);
    for (uint32_t i = 0; i < n; ++i) std::memcpy(d + i * w, &v, w);
  } else {
    const uint32_t si = s.gpr[ESI], src = s.seg[in.seg].base + si;
    if (si > 0xFFFFFFFFu - 4096) return 0;
    n = std::min<uint32_t>(n, (4096 - (src & 0xFFF)) / w);
    const uint8_t* p = c.mmu().host_for(src, mmu::Access::Read, user);
    if (!p) return 0;
    for (uint32_t i = 0; i < n; ++i) std::memmove(d + i * w, p + i * w, w);  // overlap as the CPU does
    c.s.gpr[ESI] = si + n * w;
  }
  c.s.gpr[EDI] = di + n * w;
  return n;
}

// A REP string left between two iterations (its budget spent): it runs on at the next
// turn, and an interrupt taken meanwhile pushes RF set, as after an iteration on the
// processor (SDM vol. 3 §17.3.1.1), so that an instruction breakpoint on it is not taken
// again. The interpreter clears RF when the instruction runs on.
Status restart(Cpu& c) {
  c.s.eflags |= flag::RF;
  return Status::Restart;
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
  const bool can_bulk = (k == Kind::Movs || k == Kind::Stos) && r.asz == 4;
  for (unsigned n = 0; n < kRepBudget; ++n) {
    const uint32_t count = c.gpr(ECX, r.asz);
    if (count == 0) return Status::Ok;
    if (can_bulk) {
      // Counts against the iteration budget exactly as the elements one by one would.
      if (const uint32_t m = bulk(c, in, k, w, std::min<uint32_t>(count, kRepBudget - n))) {
        c.s.gpr[ECX] = count - m;
        if (count == m) return Status::Ok;
        n += m - 1;
        continue;
      }
    }
    TRY(one(c, in, k, r, w));
    c.set_gpr(ECX, r.asz, (count - 1) & r.mask);
    if (c.stop_requested()) return count == 1 ? Status::Stop : restart(c);
    if (count == 1) return Status::Ok;
    if (conditional && (c.zf() != while_equal)) return Status::Ok;
  }
  return restart(c);
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
