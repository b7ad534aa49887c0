// Entry checks, pointers, guest memory and the host-FPU path shared by the x87
// instructions (see cpu/ops/x87.h for how guest exceptions are delivered).
#include <cstring>

#include "cpu/ops/x87.h"

namespace popek::cpu::x87 {

namespace {

uint16_t rd16(const uint8_t* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }
void wr16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v);
  p[1] = static_cast<uint8_t>(v >> 8);
}

bool misaligned(const Cpu& c, uint32_t linear, unsigned align) {
  return (c.s.cr[0] & cr0::AM) && (c.s.eflags & flag::AC) && c.s.cpl == 3 && align > 1 &&
         (linear & (align - 1));
}

// Encodings the manuals do not list but the P6 executes as their documented twins. The
// host runs the documented one (other vendors need not decode the aliases).
void canonical(unsigned& esc, unsigned& modrm) {
  if (modrm < 0xC0) return;
  const unsigned reg = (modrm >> 3) & 7, i = modrm & 7;
  switch (esc) {
    case 1:  // D9 D8+i: FSTP ST(i)
      if (reg == 3) esc = 5;
      break;
    case 4:  // DC D0+i / D8+i: FCOM / FCOMP ST(i)
      if (reg == 2 || reg == 3) esc = 0;
      break;
    case 5:  // DD C8+i: FXCH
      if (reg == 1) esc = 1;
      break;
    case 6:  // DE D0+i: FCOMP
      if (reg == 2) {
        esc = 0;
        modrm = 0xD8 + i;
      }
      break;
    case 7:  // DF C8+i: FXCH; DF D0+i / D8+i: FSTP
      if (reg == 1) esc = 1;
      if (reg == 2 || reg == 3) {
        esc = 5;
        modrm = 0xD8 + i;
      }
      break;
    default:
      break;
  }
}

}  // namespace

unsigned tag_of(const uint8_t* reg) {
  const uint16_t se = rd16(reg + 8);
  const unsigned exp = se & 0x7FFF;
  uint64_t sig;
  std::memcpy(&sig, reg, 8);
  if (exp == 0x7FFF) return 2;
  if (exp == 0) return sig == 0 ? 1 : 2;
  return (sig >> 63) ? 0 : 2;  // integer bit clear: unnormal
}

uint16_t retag(const Fpu& f, uint16_t tw) {
  uint16_t out = 0;
  for (unsigned i = 0; i < 8; ++i) {
    const unsigned t = ((tw >> (2 * i)) & 3) == 3 ? 3 : tag_of(f.r[i]);
    out = static_cast<uint16_t>(out | (t << (2 * i)));
  }
  return out;
}

void update_es(Fpu& f) {
  if (f.sw & ~f.cw & fsw::EXC_MASK) {
    f.sw |= fsw::ES | fsw::B;
  } else {
    f.sw &= static_cast<uint16_t>(~(fsw::ES | fsw::B));
    f.ferr = 0;
    f.ignne = 0;
  }
}

void init(Fpu& f) {
  f.cw = 0x037F;
  f.sw = 0;
  f.tw = 0xFFFF;
  f.fip = f.fdp = 0;
  f.fcs = f.fds = 0;
  f.fop = 0;
  f.ferr = f.ignne = 0;
}

Status pending_error(Cpu& c) {
  Fpu& f = c.s.fpu;
  if (c.s.cr[0] & cr0::NE) return c.raise(vec::MF);
  if (f.ignne) return Status::Ok;
  // FERR#: the chipset raises IRQ 13; the processor waits at this instruction until the
  // interrupt is taken (its handler writes port F0h) or IGNNE# is asserted.
  if (!f.ferr) {
    f.ferr = 1;
    c.bus().set_irq(13, true);
  }
  return Status::Restart;
}

Status enter(Cpu& c, bool waiting) {
  if (c.s.cr[0] & (cr0::EM | cr0::TS)) return c.raise(vec::NM);
  if (waiting && (c.s.fpu.sw & fsw::ES)) return pending_error(c);
  return Status::Ok;
}

void ignne_write(Cpu& c) {
  Fpu& f = c.s.fpu;
  c.bus().set_irq(13, false);
  if (f.ferr) f.ignne = 1;
}

void opcode(const Insn& in, unsigned& esc, unsigned& modrm) {
  unsigned i = 0;
  while (i + 1 < in.len && (in.bytes[i] < 0xD8 || in.bytes[i] > 0xDF)) ++i;
  esc = in.bytes[i] & 7;
  modrm = in.bytes[i + 1];
}

const Operand* mem_operand(const Insn& in) {
  for (unsigned i = 0; i < in.nops; ++i) {
    if (in.ops[i].kind == OpKind::Mem) return &in.ops[i];
  }
  return nullptr;
}

void record_pointers(Cpu& c, const Insn& in, const Operand* mem) {
  Fpu& f = c.s.fpu;
  unsigned esc, modrm;
  opcode(in, esc, modrm);
  f.fip = c.s.eip;
  f.fcs = c.s.seg[CS].selector;
  f.fop = static_cast<uint16_t>((esc << 8) | modrm);
  if (mem) {
    f.fdp = c.ea(in, *mem);
    f.fds = c.s.seg[mem->seg].selector;
  }
}

Status read_bytes(Cpu& c, unsigned seg, uint32_t off, unsigned n, uint8_t* out, unsigned align) {
  uint32_t lin;
  TRY(c.check_seg(seg, off, n, false, lin));
  if (misaligned(c, lin, align)) return c.raise_err(vec::AC, 0);
  const bool user = c.s.cpl == 3;
  for (unsigned i = 0; i < n;) {
    const unsigned k = n - i >= 4 ? 4 : n - i >= 2 ? 2 : 1;
    uint32_t v;
    TRY(c.read_linear(lin + i, k, v, user));
    for (unsigned j = 0; j < k; ++j) out[i + j] = static_cast<uint8_t>(v >> (8 * j));
    i += k;
  }
  return Status::Ok;
}

Status write_bytes(Cpu& c, unsigned seg, uint32_t off, unsigned n, const uint8_t* in,
                   unsigned align) {
  uint32_t lin;
  TRY(c.check_seg(seg, off, n, true, lin));
  if (misaligned(c, lin, align)) return c.raise_err(vec::AC, 0);
  const bool user = c.s.cpl == 3;
  // Probe every page the store touches so that a fault leaves memory untouched.
  for (uint32_t page = lin & ~0xFFFu;; page += 0x1000) {
    const uint32_t a = page < lin ? lin : page;
    uint32_t phys;
    mmu::PageFault f;
    if (!c.mmu().translate(a, mmu::Access::Write, user, phys, f)) {
      c.s.cr[2] = f.linear;
      return c.raise_err(vec::PF, f.error);
    }
    if (((lin + n - 1) & ~0xFFFu) == page) break;
  }
  for (unsigned i = 0; i < n;) {
    const unsigned k = n - i >= 4 ? 4 : n - i >= 2 ? 2 : 1;
    uint32_t v = 0;
    for (unsigned j = 0; j < k; ++j) v |= static_cast<uint32_t>(in[i + j]) << (8 * j);
    TRY(c.write_linear(lin + i, k, v, user));
    i += k;
  }
  return Status::Ok;
}

void to_host(const Fpu& f, HostImage& img) {
  std::memset(img.b, 0, sizeof img.b);
  wr16(img.b + kImgCw, f.cw);
  // Without the sticky exception flags: nothing pending can arm a host trap, and the
  // flags the instruction raises come back alone (from_host ORs the old ones in).
  wr16(img.b + kImgSw, static_cast<uint16_t>(f.sw & ~(fsw::B | fsw::ES | fsw::SF | fsw::EXC_MASK)));
  wr16(img.b + kImgTw, f.tw);
  const unsigned t = top(f);
  for (unsigned i = 0; i < 8; ++i) std::memcpy(img.b + kImgRegs + 10 * i, f.r[(t + i) & 7], 10);
}

void from_host(Fpu& f, const HostImage& img) {
  const uint16_t sticky = f.sw & (fsw::SF | fsw::EXC_MASK);
  f.sw = static_cast<uint16_t>(rd16(img.b + kImgSw) | sticky);
  f.tw = rd16(img.b + kImgTw);
  const unsigned t = top(f);
  for (unsigned i = 0; i < 8; ++i) std::memcpy(f.r[(t + i) & 7], img.b + kImgRegs + 10 * i, 10);
  update_es(f);
}

Status run_on_host(Cpu& c, const Insn& in, MemUse use, bool eflags_out) {
  TRY(enter(c, true));
  unsigned esc, modrm;
  opcode(in, esc, modrm);
  const Operand* m = mem_operand(in);
  alignas(16) uint8_t buf[16] = {};
  uint32_t off = 0;
  unsigned host_modrm = modrm;
  unsigned host_esc = esc;
  if (m) {
    off = c.ea(in, *m);
    host_modrm = (modrm & 0x38) | 6;  // [rsi]
    if (use == MemUse::Load) TRY(read_bytes(c, m->seg, off, m->size, buf, m->size == 10 ? 8 : m->size));
  } else {
    canonical(host_esc, host_modrm);
  }
  HostImage img;
  to_host(c.s.fpu, img);
  uint32_t flags = c.s.eflags;
  if (m && use == MemUse::Store) {
    // The store may be suppressed (unmasked invalid operation, overflow, underflow): a
    // buffer the instruction left alone under two different fill patterns was not
    // written.
    const HostImage in_img = img;
    std::memset(buf, 0xA5, sizeof buf);
    host_run(host_esc, host_modrm, img, buf, flags);
    bool stored = false;
    for (unsigned i = 0; i < m->size; ++i) stored |= buf[i] != 0xA5;
    if (!stored) {
      HostImage again = in_img;
      uint8_t buf2[16];
      std::memset(buf2, 0x5A, sizeof buf2);
      uint32_t flags2 = c.s.eflags;
      host_run(host_esc, host_modrm, again, buf2, flags2);
      for (unsigned i = 0; i < m->size; ++i) stored |= buf2[i] != 0x5A;
    }
    if (stored) TRY(write_bytes(c, m->seg, off, m->size, buf, m->size == 10 ? 8 : m->size));
  } else {
    host_run(host_esc, host_modrm, img, buf, flags);
  }
  from_host(c.s.fpu, img);
  record_pointers(c, in, m);
  if (eflags_out) c.set_flags(flag::ARITH, flags);
  return Status::Ok;
}

}  // namespace popek::cpu::x87
