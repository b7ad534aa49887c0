// Services every semantic function uses: operands, segmented memory, the stack, flags,
// exceptions, port permission and control registers.
#include "cpu/cpu.h"

#include <cinttypes>
#include <cstdio>
#include <cstdlib>

#include "cpu/block_cache.h"
#include "cpu/cpuid.h"
#include "cpu/insn_table.h"

namespace popek::cpu {

Cpu::Cpu(bus::Bus& bus, mmu::Mmu& mmu)
    : bus_(bus), mmu_(mmu), blocks_(std::make_unique<BlockCache>(*this)) {
  census.assign(kInsnTableSize, 0);
  census_faulted.assign(kInsnTableSize, 0);
  census_user.assign(kInsnTableSize, 0);
  mmu_.on_code_write = [this](uint32_t page, unsigned offset, unsigned length) {
    blocks_->write_to_code(page, offset, length);
  };
  reset();
}

Cpu::~Cpu() = default;

void Cpu::reset() {
  s = CpuState{};
  s.eflags = flag::FIXED1;
  s.eip = 0xFFF0;
  for (unsigned i = 0; i < kNumSegRegs; ++i) {
    s.seg[i] = SegmentCache{0, static_cast<uint16_t>(attr::P | attr::S | attr::WRITABLE | attr::ACCESSED), 0, 0xFFFF, 1};
  }
  s.seg[CS].selector = 0xF000;
  s.seg[CS].base = 0xFFFF0000u;
  s.gdtr = {0, 0xFFFF};
  s.idtr = {0, 0xFFFF};
  s.ldtr = SegmentCache{0, static_cast<uint16_t>(attr::P | sys::LDT), 0, 0xFFFF, 1};
  s.tr = SegmentCache{0, static_cast<uint16_t>(attr::P | sys::TSS32_BUSY), 0, 0xFFFF, 1};
  s.cr[0] = cr0::ET | cr0::CD | cr0::NW;
  s.gpr[EDX] = kCpuidSignature;
  s.dr[6] = 0xFFFF0FF0u;
  s.dr[7] = 0x400;
  update_watches();
  s.msr.pat = 0x0007040600070406ull;
  s.cpl = 0;
  mmu_.set_control(s.cr[0], s.cr[3], s.cr[4], s.msr.efer);
  mmu_.flush_all(mmu::Mmu::FlushCause::Other);
  flush_code_cache();
}

// ---------------------------------------------------------------- operands

uint32_t Cpu::ea(const Insn& in, const Operand& op) const {
  uint32_t a = op.disp;
  if (op.base != kNoReg) a += gpr(op.base, in.addrsize);
  if (op.index != kNoReg) a += gpr(op.index, in.addrsize) * op.scale;
  return in.addrsize == 2 ? (a & 0xFFFF) : a;
}

Status Cpu::read_op(const Insn& in, int i, uint32_t& v) {
  const Operand& op = in.ops[i];
  switch (op.kind) {
    case OpKind::Reg:
      switch (op.rclass) {
        case RegClass::Gpr8: v = gpr(op.reg, 1); return Status::Ok;
        case RegClass::Gpr16: v = gpr(op.reg, 2); return Status::Ok;
        case RegClass::Gpr32: v = s.gpr[op.reg]; return Status::Ok;
        case RegClass::Seg: v = s.seg[op.reg].selector; return Status::Ok;
        case RegClass::Cr: v = s.cr[op.reg]; return Status::Ok;
        case RegClass::Dr: v = s.dr[op.reg]; return Status::Ok;
        case RegClass::Other: break;
      }
      return unimplemented(in, "operand register class");
    // Immediates arrive sign- or zero-extended to 32 bits as the encoding defines; the
    // operation cuts them to its own size.
    case OpKind::Imm: v = op.disp; return Status::Ok;
    case OpKind::Mem: return read_mem(op.seg, ea(in, op), op.size, v);
    case OpKind::Ptr:
    case OpKind::None: break;
  }
  return unimplemented(in, "operand kind");
}

Status Cpu::read_op_rmw(const Insn& in, int i, uint32_t& v) {
  const Operand& op = in.ops[i];
  if (op.kind != OpKind::Mem) return read_op(in, i, v);
  uint32_t lin;
  const uint32_t off = ea(in, op);
  TRY(check_seg(op.seg, off, op.size, true, lin));
  // Probe the write translation first so that a #PF reports a write access.
  mmu::PageFault f;
  uint32_t phys;
  const bool user = s.cpl == 3;
  if (!mmu_.translate(lin, mmu::Access::Write, user, phys, f)) return page_fault(f);
  if ((lin & 0xFFF) + op.size > 4096 &&
      !mmu_.translate((lin | 0xFFF) + 1, mmu::Access::Write, user, phys, f)) {
    return page_fault(f);
  }
  return read_linear(lin, op.size, v, user);
}

Status Cpu::write_op(const Insn& in, int i, uint32_t v) {
  const Operand& op = in.ops[i];
  switch (op.kind) {
    case OpKind::Reg:
      switch (op.rclass) {
        case RegClass::Gpr8: set_gpr(op.reg, 1, v); return Status::Ok;
        case RegClass::Gpr16: set_gpr(op.reg, 2, v); return Status::Ok;
        case RegClass::Gpr32: s.gpr[op.reg] = v; return Status::Ok;
        default: break;
      }
      return unimplemented(in, "write to operand register class");
    case OpKind::Mem: return write_mem(op.seg, ea(in, op), op.size, v);
    default: break;
  }
  return unimplemented(in, "write to operand kind");
}

Status Cpu::branch_near(const Insn& in, uint32_t target) {
  if (in.opsize == 2) target &= 0xFFFF;
  if (target > s.seg[CS].limit) return gp(0);
  next_eip_ = target;
  return Status::Ok;
}

// ---------------------------------------------------------------- memory

Status Cpu::check_seg(unsigned seg, uint32_t off, unsigned size, bool write, uint32_t& linear) {
  if (check_cache(s.seg[seg], off, size, write, linear, protected_mode())) return Status::Ok;
  return seg == SS ? ss_fault(0) : gp(0);
}

bool check_cache(const SegmentCache& sc, uint32_t off, unsigned size, bool write, uint32_t& linear,
                 bool types) {
  if (!sc.valid) return false;
  const uint16_t a = sc.attr;
  if (types) {
    if (write ? (a & attr::CODE) || !(a & attr::WRITABLE) : (a & attr::CODE) && !(a & attr::READABLE))
      return false;
  }
  const uint64_t last = static_cast<uint64_t>(off) + size - 1;
  if (!(a & attr::CODE) && (a & attr::EXPAND_DOWN)) {
    const uint64_t upper = (a & attr::DB) ? 0xFFFFFFFFull : 0xFFFFull;
    if (off <= sc.limit || last > upper) return false;
  } else if (last > sc.limit) {
    return false;
  }
  linear = sc.base + off;
  return true;
}

Status Cpu::page_fault(const mmu::PageFault& f) {
  s.cr[2] = f.linear;
  return raise_err(vec::PF, f.error);
}

Status Cpu::read_linear(uint32_t linear, unsigned size, uint32_t& v, bool user) {
  uint64_t v64;
  mmu::PageFault f;
  if (!mmu_.read(linear, size, mmu::Access::Read, user, v64, f)) return page_fault(f);
  v = static_cast<uint32_t>(v64);
  return Status::Ok;
}

Status Cpu::write_linear(uint32_t linear, unsigned size, uint32_t v, bool user) {
  mmu::PageFault f;
  if (!mmu_.write(linear, size, user, v, f)) return page_fault(f);
  return Status::Ok;
}

Status Cpu::probe_linear(uint32_t linear, mmu::Access acc, bool user) {
  uint32_t phys;
  mmu::PageFault f;
  if (!mmu_.translate(linear, acc, user, phys, f)) return page_fault(f);
  return Status::Ok;
}

static bool misaligned_user(const CpuState& s, uint32_t linear, unsigned size) {
  return (s.cr[0] & cr0::AM) && (s.eflags & flag::AC) && s.cpl == 3 && (linear & (size - 1));
}

Status Cpu::read_mem(unsigned seg, uint32_t off, unsigned size, uint32_t& v) {
  uint32_t lin;
  TRY(check_seg(seg, off, size, false, lin));
  if (misaligned_user(s, lin, size)) return raise_err(vec::AC, 0);
  return read_linear(lin, size, v, s.cpl == 3);
}

Status Cpu::write_mem(unsigned seg, uint32_t off, unsigned size, uint32_t v) {
  uint32_t lin;
  TRY(check_seg(seg, off, size, true, lin));
  if (misaligned_user(s, lin, size)) return raise_err(vec::AC, 0);
  return write_linear(lin, size, v, s.cpl == 3);
}

Status Cpu::read_mem64(unsigned seg, uint32_t off, uint64_t& v) {
  uint32_t lin;
  TRY(check_seg(seg, off, 8, false, lin));
  if (misaligned_user(s, lin, 8)) return raise_err(vec::AC, 0);
  mmu::PageFault f;
  if (!mmu_.read(lin, 8, mmu::Access::Read, s.cpl == 3, v, f)) return page_fault(f);
  return Status::Ok;
}

Status Cpu::write_mem64(unsigned seg, uint32_t off, uint64_t v) {
  uint32_t lin;
  TRY(check_seg(seg, off, 8, true, lin));
  if (misaligned_user(s, lin, 8)) return raise_err(vec::AC, 0);
  mmu::PageFault f;
  if (!mmu_.write(lin, 8, s.cpl == 3, v, f)) return page_fault(f);
  return Status::Ok;
}

// ---------------------------------------------------------------- stack

Status Cpu::push(uint32_t v, unsigned size) {
  const uint32_t mask = stack32() ? 0xFFFFFFFFu : 0xFFFFu;
  const uint32_t new_sp = (sp() - size) & mask;
  TRY(write_mem(SS, new_sp, size, v));
  set_sp(new_sp);
  return Status::Ok;
}

Status Cpu::pop(unsigned size, uint32_t& v) {
  TRY(read_mem(SS, sp(), size, v));
  add_sp(static_cast<int32_t>(size));
  return Status::Ok;
}

Status Cpu::stack_read(uint32_t offset_from_sp, unsigned size, uint32_t& v) {
  const uint32_t mask = stack32() ? 0xFFFFFFFFu : 0xFFFFu;
  return read_mem(SS, (sp() + offset_from_sp) & mask, size, v);
}

Status Cpu::stack_write(int32_t offset_from_sp, unsigned size, uint32_t v) {
  const uint32_t mask = stack32() ? 0xFFFFFFFFu : 0xFFFFu;
  return write_mem(SS, (sp() + static_cast<uint32_t>(offset_from_sp)) & mask, size, v);
}

// ---------------------------------------------------------------- flags

bool Cpu::condition(unsigned cc) const {
  bool r;
  switch (cc >> 1) {
    case 0: r = of(); break;                  // O
    case 1: r = cf(); break;                  // B
    case 2: r = zf(); break;                  // Z
    case 3: r = cf() || zf(); break;          // BE
    case 4: r = sf(); break;                  // S
    case 5: r = pf(); break;                  // P
    case 6: r = sf() != of(); break;          // L
    default: r = zf() || (sf() != of()); break;  // LE
  }
  return (cc & 1) ? !r : r;
}

void Cpu::write_eflags(uint32_t value, uint32_t change_mask) {
  change_mask &= flag::WRITABLE;
  if (change_mask & flag::RF) rf_loaded_ = true;
  s.eflags = ((s.eflags & ~change_mask) | (value & change_mask)) | flag::FIXED1;
}

// ---------------------------------------------------------------- exceptions

Status Cpu::raise(uint8_t vector) {
  s.exc = PendingException{vector, 0, 1, 0, 0};
  return Status::Fault;
}

Status Cpu::raise_err(uint8_t vector, uint32_t error) {
  s.exc = PendingException{vector, 1, 1, 0, error};
  return Status::Fault;
}

Status Cpu::unimplemented(const Insn& in, const char* what) {
  char key[96];
  snprintf(key, sizeof key, "unimpl-%u-%s", in.row, what);
  std::string bytes;
  for (unsigned i = 0; i < in.len; ++i) {
    char b[4];
    snprintf(b, sizeof b, "%02x ", in.bytes[i]);
    bytes += b;
  }
  log().warn(key, "unimplemented (%s): %s at %04x:%08x [%s] raises #UD", what,
             in.fn ? kInsnTable[in.row].name : "?", s.seg[CS].selector, s.eip, bytes.c_str());
  return ud();
}

Status Cpu::fatal(const std::string& message) {
  bus_.request_stop(bus::StopReason::Fatal, 1, message + " (" + describe() + ")");
  return Status::Stop;
}

// ---------------------------------------------------------------- I/O permission

Status Cpu::io_permission(uint16_t port, unsigned size) {
  if (!protected_mode() || (!v86() && s.cpl <= iopl())) return Status::Ok;
  // The TSS I/O permission bitmap (SDM vol. 1 §19.5.2): only a 32-bit TSS has one.
  const SegmentCache& tr = s.tr;
  const uint8_t type = tr.attr & attr::TYPE_MASK;
  if (!tr.valid || (type != sys::TSS32_BUSY && type != sys::TSS32_AVAIL) || tr.limit < 0x67) {
    return gp(0);
  }
  uint32_t base16;
  TRY(read_sys(tr.base + 0x66, 2, base16));
  const uint32_t byte = base16 + port / 8;
  if (byte + 1 > tr.limit) return gp(0);
  uint32_t bits;
  TRY(read_sys(tr.base + byte, 2, bits));
  const uint32_t mask = ((1u << size) - 1) << (port & 7);
  if (bits & mask) return gp(0);
  return Status::Ok;
}

// ---------------------------------------------------------------- control registers

Status Cpu::set_cr0(uint32_t v) {
  v |= cr0::ET;
  if (!mmu_.set_control(v, s.cr[3], s.cr[4], s.msr.efer)) return gp(0);
  const uint32_t old = s.cr[0];
  s.cr[0] = v;
  if ((old ^ v) & (cr0::PE | cr0::PG | cr0::WP)) flush_code_cache();
  return Status::Ok;
}

Status Cpu::set_cr3(uint32_t v) {
  if (!mmu_.set_control(s.cr[0], v, s.cr[4], s.msr.efer)) return gp(0);
  s.cr[3] = v;
  return Status::Ok;
}

Status Cpu::set_cr4(uint32_t v) {
  if (!mmu_.set_control(s.cr[0], s.cr[3], v, s.msr.efer)) return gp(0);
  s.cr[4] = v;
  return Status::Ok;
}

Status Cpu::set_efer(uint64_t v) {
  if (!mmu_.set_control(s.cr[0], s.cr[3], s.cr[4], v)) return gp(0);
  s.msr.efer = v;
  return Status::Ok;
}

void Cpu::update_cpl() {
  if (!protected_mode()) s.cpl = 0;
  else if (v86()) s.cpl = 3;
  else s.cpl = s.seg[CS].selector & 3;
}

// ---------------------------------------------------------------- diagnostics

std::string Cpu::describe() const {
  const char* mode = !protected_mode() ? "real" : v86() ? "v86" : code32() ? "prot32" : "prot16";
  char buf[256];
  int n = snprintf(buf, sizeof buf, "%s mode, CPL %u, CS:EIP %04x:%08x, icount %" PRIu64, mode,
                   s.cpl, s.seg[CS].selector, s.eip, s.icount);
  if (current && n > 0 && static_cast<size_t>(n) < sizeof buf) {
    std::string out(buf);
    out += ", bytes";
    for (unsigned i = 0; i < current->len; ++i) {
      char b[4];
      snprintf(b, sizeof b, " %02x", current->bytes[i]);
      out += b;
    }
    return out;
  }
  return buf;
}

void assert_fail(const Cpu& cpu, const char* cond, const char* file, int line) {
  fprintf(stderr, "popek: internal error: %s at %s:%d\n  guest: %s\n", cond, file, line,
          cpu.describe().c_str());
  std::abort();
}

}  // namespace popek::cpu
