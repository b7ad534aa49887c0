// x87 control and environment instructions (rows in cpu/ops/x87.def): control and
// status words, FNINIT/FNCLEX, the environment and full-state images in their four
// layouts (16- or 32-bit operand size; protected mode, or real-address and
// virtual-8086 mode), WAIT and the no-operations. None of them records FIP/FDP/FOP.
#include <cstring>

#include "cpu/ops/x87.h"

namespace popek::cpu::ops {

namespace {

void put16(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v);
  p[1] = static_cast<uint8_t>(v >> 8);
}
void put32(uint8_t* p, uint32_t v) {
  put16(p, v);
  put16(p + 2, v >> 16);
}
uint32_t get16(const uint8_t* p) { return p[0] | (p[1] << 8); }
uint32_t get32(const uint8_t* p) { return get16(p) | (get16(p + 2) << 16); }

// The control word as stored: bit 6 reads as 1, bits 13-15 as 0.
uint16_t cw_value(uint32_t v) { return static_cast<uint16_t>((v & 0x1F3F) | 0x40); }

bool real_layout(const Cpu& c) { return !c.protected_mode() || c.v86(); }

unsigned env_size(const Insn& in) { return in.opsize == 4 ? 28 : 14; }

// FNSTENV's image (the first 14 or 28 bytes of FNSAVE's).
void store_env(const Cpu& c, const Insn& in, uint8_t* p) {
  const Fpu& f = c.s.fpu;
  const uint16_t tw = x87::retag(f, f.tw);
  if (in.opsize == 4) {
    put32(p + 0, 0xFFFF0000u | f.cw);
    put32(p + 4, 0xFFFF0000u | f.sw);
    put32(p + 8, 0xFFFF0000u | tw);
    if (real_layout(c)) {
      const uint32_t ip = (static_cast<uint32_t>(f.fcs) << 4) + f.fip;
      const uint32_t dp = (static_cast<uint32_t>(f.fds) << 4) + f.fdp;
      put32(p + 12, 0xFFFF0000u | (ip & 0xFFFF));
      put32(p + 16, ((ip >> 16) << 12) | (f.fop & 0x7FF));
      put32(p + 20, 0xFFFF0000u | (dp & 0xFFFF));
      put32(p + 24, (dp >> 16) << 12);
    } else {
      put32(p + 12, f.fip);
      put32(p + 16, f.fcs | ((f.fop & 0x7FFu) << 16));
      put32(p + 20, f.fdp);
      put32(p + 24, 0xFFFF0000u | f.fds);
    }
  } else {
    put16(p + 0, f.cw);
    put16(p + 2, f.sw);
    put16(p + 4, tw);
    if (real_layout(c)) {
      const uint32_t ip = (static_cast<uint32_t>(f.fcs) << 4) + f.fip;
      const uint32_t dp = (static_cast<uint32_t>(f.fds) << 4) + f.fdp;
      put16(p + 6, ip);
      put16(p + 8, (((ip >> 16) & 0xF) << 12) | (f.fop & 0x7FF));
      put16(p + 10, dp);
      put16(p + 12, ((dp >> 16) & 0xF) << 12);
    } else {
      put16(p + 6, f.fip);
      put16(p + 8, f.fcs);
      put16(p + 10, f.fdp);
      put16(p + 12, f.fds);
    }
  }
}

// FLDENV's parse of the same image. Tags other than "empty" are recomputed from the
// register contents, as the processor does; ES and B follow the loaded flags and masks.
void load_env(Cpu& c, const Insn& in, const uint8_t* p) {
  Fpu& f = c.s.fpu;
  uint16_t tw;
  if (in.opsize == 4) {
    f.cw = cw_value(get16(p + 0));
    f.sw = static_cast<uint16_t>(get16(p + 4));
    tw = static_cast<uint16_t>(get16(p + 8));
    if (real_layout(c)) {
      f.fip = get16(p + 12) | (((get32(p + 16) >> 12) & 0xFFFF) << 16);
      f.fop = static_cast<uint16_t>(get32(p + 16) & 0x7FF);
      f.fdp = get16(p + 20) | (((get32(p + 24) >> 12) & 0xFFFF) << 16);
      f.fcs = f.fds = 0;
    } else {
      f.fip = get32(p + 12);
      f.fcs = static_cast<uint16_t>(get16(p + 16));
      f.fop = static_cast<uint16_t>((get32(p + 16) >> 16) & 0x7FF);
      f.fdp = get32(p + 20);
      f.fds = static_cast<uint16_t>(get16(p + 24));
    }
  } else {
    f.cw = cw_value(get16(p + 0));
    f.sw = static_cast<uint16_t>(get16(p + 2));
    tw = static_cast<uint16_t>(get16(p + 4));
    if (real_layout(c)) {
      f.fip = get16(p + 6) | ((get16(p + 8) >> 12) << 16);
      f.fop = static_cast<uint16_t>(get16(p + 8) & 0x7FF);
      f.fdp = get16(p + 10) | ((get16(p + 12) >> 12) << 16);
      f.fcs = f.fds = 0;
    } else {
      f.fip = get16(p + 6);
      f.fcs = static_cast<uint16_t>(get16(p + 8));
      f.fdp = get16(p + 10);
      f.fds = static_cast<uint16_t>(get16(p + 12));
    }
  }
  f.tw = x87::retag(f, tw);
  x87::update_es(f);
}

}  // namespace

// FLDCW m2byte
Status fldcw(Cpu& c, const Insn& in) {
  TRY(x87::enter(c, true));
  const Operand& m = in.ops[0];
  uint8_t b[2];
  TRY(x87::read_bytes(c, m.seg, c.ea(in, m), 2, b, 2));
  c.s.fpu.cw = cw_value(get16(b));
  x87::update_es(c.s.fpu);  // unmasking a set flag makes it pending
  return Status::Ok;
}

// FNSTCW m2byte
Status fnstcw(Cpu& c, const Insn& in) {
  TRY(x87::enter(c, false));
  const Operand& m = in.ops[0];
  uint8_t b[2];
  put16(b, c.s.fpu.cw);
  return x87::write_bytes(c, m.seg, c.ea(in, m), 2, b, 2);
}

// FNSTSW m2byte; FNSTSW AX
Status fnstsw(Cpu& c, const Insn& in) {
  TRY(x87::enter(c, false));
  const Operand& m = in.ops[0];
  if (m.kind == OpKind::Reg) {
    c.set_gpr(EAX, 2, c.s.fpu.sw);
    return Status::Ok;
  }
  uint8_t b[2];
  put16(b, c.s.fpu.sw);
  return x87::write_bytes(c, m.seg, c.ea(in, m), 2, b, 2);
}

// FNCLEX
Status fnclex(Cpu& c, const Insn&) {
  TRY(x87::enter(c, false));
  Fpu& f = c.s.fpu;
  f.sw &= static_cast<uint16_t>(~(fsw::B | fsw::ES | fsw::SF | fsw::EXC_MASK));
  x87::update_es(f);
  return Status::Ok;
}

// FNINIT (and FINIT, which arrives as WAIT + FNINIT)
Status fninit(Cpu& c, const Insn&) {
  TRY(x87::enter(c, false));
  x87::init(c.s.fpu);
  return Status::Ok;
}

// FNSTENV m14/28byte: store the environment, then mask every exception
Status fnstenv(Cpu& c, const Insn& in) {
  TRY(x87::enter(c, false));
  const Operand& m = in.ops[0];
  uint8_t b[28];
  store_env(c, in, b);
  TRY(x87::write_bytes(c, m.seg, c.ea(in, m), env_size(in), b, in.opsize));
  c.s.fpu.cw |= fsw::EXC_MASK;
  x87::update_es(c.s.fpu);
  return Status::Ok;
}

// FLDENV m14/28byte
Status fldenv(Cpu& c, const Insn& in) {
  TRY(x87::enter(c, true));
  const Operand& m = in.ops[0];
  uint8_t b[28];
  TRY(x87::read_bytes(c, m.seg, c.ea(in, m), env_size(in), b, in.opsize));
  load_env(c, in, b);
  return Status::Ok;
}

// FNSAVE m94/108byte: the environment, ST(0)..ST(7), then FNINIT
Status fnsave(Cpu& c, const Insn& in) {
  TRY(x87::enter(c, false));
  const Operand& m = in.ops[0];
  uint8_t b[108];
  const unsigned env = env_size(in);
  store_env(c, in, b);
  const Fpu& f = c.s.fpu;
  for (unsigned i = 0; i < 8; ++i) std::memcpy(b + env + 10 * i, f.r[x87::phys(f, i)], 10);
  TRY(x87::write_bytes(c, m.seg, c.ea(in, m), env + 80, b, in.opsize));
  x87::init(c.s.fpu);
  return Status::Ok;
}

// FRSTOR m94/108byte
Status frstor(Cpu& c, const Insn& in) {
  TRY(x87::enter(c, true));
  const Operand& m = in.ops[0];
  uint8_t b[108];
  const unsigned env = env_size(in);
  TRY(x87::read_bytes(c, m.seg, c.ea(in, m), env + 80, b, in.opsize));
  Fpu& f = c.s.fpu;
  const unsigned t = (get16(b + (in.opsize == 4 ? 4 : 2)) >> fsw::TOP_SHIFT) & 7;
  for (unsigned i = 0; i < 8; ++i) std::memcpy(f.r[(t + i) & 7], b + env + 10 * i, 10);
  load_env(c, in, b);
  return Status::Ok;
}

// WAIT/FWAIT: #NM only when CR0.MP and CR0.TS are both set; then the pending error
Status fwait(Cpu& c, const Insn&) {
  if ((c.s.cr[0] & (cr0::MP | cr0::TS)) == (cr0::MP | cr0::TS)) return c.raise(vec::NM);
  if (c.s.fpu.sw & fsw::ES) return x87::pending_error(c);
  return Status::Ok;
}

// FNOP
Status fnop(Cpu& c, const Insn& in) {
  TRY(x87::enter(c, true));
  x87::record_pointers(c, in, nullptr);
  return Status::Ok;
}

// FENI / FDISI / FSETPM (DB E0, DB E1, DB E4): 8087/287 controls the P6 ignores
Status fnop_legacy(Cpu& c, const Insn&) { return x87::enter(c, false); }

}  // namespace popek::cpu::ops
