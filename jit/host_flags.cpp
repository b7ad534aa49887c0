#include "jit/host_flags.h"

#include <Zydis/Zydis.h>

#include <vector>

namespace popek::jit {

using namespace asmjit;

namespace {

constexpr uint32_t kArith = cpu::flag::ARITH;

// What a probe function reads and writes: the arithmetic flags and EAX, ECX, EDX.
struct Regs {
  uint64_t flags;
  uint32_t eax, ecx, edx, pad;
};

// Inputs: edge values, then a fixed xorshift sequence.
struct Inputs {
  uint64_t x = 0x9E3779B97F4A7C15ull;
  unsigned i = 0;
  uint32_t next() {
    static const uint32_t edges[] = {0, 1, 2, 0x7F, 0x80, 0xFF, 0x7FFF, 0x8000, 0xFFFF, 0x7FFFFFFF,
                                     0x80000000u, 0xFFFFFFFFu, 0x10, 0x0F, 0x55555555, 0xAAAAAAAAu};
    if (i < sizeof edges / sizeof edges[0]) return edges[i++];
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return static_cast<uint32_t>(x >> 11);
  }
};

uint8_t modrm(unsigned reg, unsigned rm) { return static_cast<uint8_t>(0xC0 | (reg << 3) | rm); }

}  // namespace

uint32_t HostFlagsProbe::agreeing(const cpu::Insn& in, uint32_t undef) {
  if (!undef) return 0;
  const auto m = static_cast<ZydisMnemonic>(in.mnemonic);
  uint8_t kind = 0;
  auto count_kind = [](const cpu::Operand& c) -> uint8_t {
    if (c.kind != cpu::OpKind::Imm) return 3;
    return (c.disp & 31) == 1 ? 1 : 2;
  };
  switch (m) {
    case ZYDIS_MNEMONIC_SHL: case ZYDIS_MNEMONIC_SHR: case ZYDIS_MNEMONIC_SAR: case ZYDIS_MNEMONIC_ROL:
    case ZYDIS_MNEMONIC_ROR: case ZYDIS_MNEMONIC_RCL: case ZYDIS_MNEMONIC_RCR:
      kind = count_kind(in.ops[1]);
      break;
    case ZYDIS_MNEMONIC_SHLD: case ZYDIS_MNEMONIC_SHRD:
      kind = count_kind(in.ops[2]);
      break;
    case ZYDIS_MNEMONIC_MUL:
      kind = 4;
      break;
    case ZYDIS_MNEMONIC_IMUL:
      kind = in.nops == 1 ? 4 : 0;
      break;
    case ZYDIS_MNEMONIC_BT: case ZYDIS_MNEMONIC_BTS: case ZYDIS_MNEMONIC_BTR: case ZYDIS_MNEMONIC_BTC:
      kind = in.ops[1].kind == cpu::OpKind::Imm ? 2 : 0;
      break;
    case ZYDIS_MNEMONIC_AND: case ZYDIS_MNEMONIC_OR: case ZYDIS_MNEMONIC_XOR: case ZYDIS_MNEMONIC_TEST:
      break;
    default:
      return 0;
  }
  const Key key{in.mnemonic, in.ops[0].size, kind};
  auto it = known_.find(key);
  if (it == known_.end()) it = known_.emplace(key, probe(key, undef)).first;
  return undef & it->second;
}

uint32_t HostFlagsProbe::probe(const Key& key, uint32_t undef) {
  const auto [mn, size, kind] = key;
  const auto m = static_cast<ZydisMnemonic>(mn);
  std::vector<std::vector<uint8_t>> forms;
  std::vector<uint8_t> pre;
  if (size == 2) pre.push_back(0x66);
  auto form = [&](std::initializer_list<uint8_t> b) {
    std::vector<uint8_t> v = pre;
    v.insert(v.end(), b);
    forms.push_back(v);
  };
  static const uint8_t counts[] = {2, 3, 4, 5, 7, 8, 9, 13, 15, 16, 17, 24, 31};
  bool random_cl = false;
  unsigned r = 0;
  switch (m) {
    case ZYDIS_MNEMONIC_ROL: r = 0; break;
    case ZYDIS_MNEMONIC_ROR: r = 1; break;
    case ZYDIS_MNEMONIC_RCL: r = 2; break;
    case ZYDIS_MNEMONIC_RCR: r = 3; break;
    case ZYDIS_MNEMONIC_SHL: r = 4; break;
    case ZYDIS_MNEMONIC_SHR: r = 5; break;
    case ZYDIS_MNEMONIC_SAR: r = 7; break;
    default: break;
  }
  const uint8_t w = size == 1 ? 0 : 1;  // opcode's width bit
  switch (m) {
    case ZYDIS_MNEMONIC_SHL: case ZYDIS_MNEMONIC_SHR: case ZYDIS_MNEMONIC_SAR: case ZYDIS_MNEMONIC_ROL:
    case ZYDIS_MNEMONIC_ROR: case ZYDIS_MNEMONIC_RCL: case ZYDIS_MNEMONIC_RCR:
      if (kind == 1) form({static_cast<uint8_t>(0xD0 | w), modrm(r, 0)});
      if (kind == 2) for (uint8_t c : counts) form({static_cast<uint8_t>(0xC0 | w), modrm(r, 0), c});
      if (kind == 3) { form({static_cast<uint8_t>(0xD2 | w), modrm(r, 0)}); random_cl = true; }
      break;
    case ZYDIS_MNEMONIC_SHLD: case ZYDIS_MNEMONIC_SHRD: {
      const uint8_t op = m == ZYDIS_MNEMONIC_SHLD ? 0xA4 : 0xAC;
      if (kind == 1) form({0x0F, op, modrm(1, 0), 1});
      if (kind == 2) for (uint8_t c : counts) form({0x0F, op, modrm(1, 0), c});
      if (kind == 3) { form({0x0F, static_cast<uint8_t>(op | 1), modrm(1, 0)}); random_cl = true; }
      break;
    }
    case ZYDIS_MNEMONIC_MUL: form({static_cast<uint8_t>(0xF6 | w), modrm(4, 1)}); break;
    case ZYDIS_MNEMONIC_IMUL:
      if (kind == 4) form({static_cast<uint8_t>(0xF6 | w), modrm(5, 1)});
      else form({0x0F, 0xAF, modrm(0, 1)});
      break;
    case ZYDIS_MNEMONIC_BT: case ZYDIS_MNEMONIC_BTS: case ZYDIS_MNEMONIC_BTR: case ZYDIS_MNEMONIC_BTC: {
      const unsigned sub = m == ZYDIS_MNEMONIC_BT ? 0 : m == ZYDIS_MNEMONIC_BTS ? 1 : m == ZYDIS_MNEMONIC_BTR ? 2 : 3;
      if (kind == 2) for (uint8_t c : counts) form({0x0F, 0xBA, modrm(4 + sub, 0), c});
      else form({0x0F, static_cast<uint8_t>(0xA3 + 8 * sub), modrm(1, 0)});
      break;
    }
    case ZYDIS_MNEMONIC_AND: form({static_cast<uint8_t>(0x20 | w), modrm(1, 0)}); break;
    case ZYDIS_MNEMONIC_OR: form({static_cast<uint8_t>(0x08 | w), modrm(1, 0)}); break;
    case ZYDIS_MNEMONIC_XOR: form({static_cast<uint8_t>(0x30 | w), modrm(1, 0)}); break;
    case ZYDIS_MNEMONIC_TEST: form({static_cast<uint8_t>(0x84 | w), modrm(1, 0)}); break;
    default: break;
  }
  if (forms.empty()) return 0;
  uint32_t disagree = 0;
  for (const auto& f : forms) disagree |= run_form(f.data(), static_cast<unsigned>(f.size()), undef, random_cl);
  return ~disagree;
}

uint32_t HostFlagsProbe::run_form(const uint8_t* bytes, unsigned len, uint32_t undef, bool random_cl) {
  cpu::Insn in;
  if (decoder_.decode(bytes, len, cpu::CodeMode::Prot32, in) != cpu::DecodeResult::Ok || !in.fn || in.len != len) {
    return ~0u;
  }
  // The host side: the same bytes mean the same in 64-bit mode for these register forms.
  CodeHolder code;
  code.init(rt_.environment());
  x86::Assembler a(&code);
  a.mov(x86::r8, x86::rdi);
  a.mov(x86::eax, x86::dword_ptr(x86::r8, offsetof(Regs, eax)));
  a.mov(x86::ecx, x86::dword_ptr(x86::r8, offsetof(Regs, ecx)));
  a.mov(x86::edx, x86::dword_ptr(x86::r8, offsetof(Regs, edx)));
  a.push(x86::qword_ptr(x86::r8, offsetof(Regs, flags)));
  a.popfq();
  a.embed(bytes, len);
  a.pushfq();
  a.pop(x86::qword_ptr(x86::r8, offsetof(Regs, flags)));
  a.mov(x86::dword_ptr(x86::r8, offsetof(Regs, eax)), x86::eax);
  a.mov(x86::dword_ptr(x86::r8, offsetof(Regs, ecx)), x86::ecx);
  a.mov(x86::dword_ptr(x86::r8, offsetof(Regs, edx)), x86::edx);
  a.ret();
  void (*fn)(Regs*) = nullptr;
  if (rt_.add(&fn, &code) != kErrorOk) return ~0u;

  uint32_t disagree = 0;
  Inputs gen;
  const cpu::CpuState saved = cpu_.s;
  for (int k = 0; k < 320 && disagree != ~0u; ++k) {
    Regs in_regs{};
    in_regs.flags = gen.next() & kArith;
    in_regs.eax = gen.next();
    in_regs.ecx = gen.next();
    in_regs.edx = gen.next();
    if (random_cl && (k & 7) == 0) in_regs.ecx &= ~31u;  // a zero count now and then
    Regs host = in_regs;
    fn(&host);
    cpu_.s.gpr[cpu::EAX] = in_regs.eax;
    cpu_.s.gpr[cpu::ECX] = in_regs.ecx;
    cpu_.s.gpr[cpu::EDX] = in_regs.edx;
    cpu_.s.eflags = cpu::flag::FIXED1 | static_cast<uint32_t>(in_regs.flags);
    const cpu::Status st = in.fn(cpu_, in);
    const uint32_t interp_flags = cpu_.s.eflags & kArith;
    const bool regs_equal = cpu_.s.gpr[cpu::EAX] == host.eax && cpu_.s.gpr[cpu::ECX] == host.ecx &&
                            cpu_.s.gpr[cpu::EDX] == host.edx;
    const uint32_t diff = (interp_flags ^ static_cast<uint32_t>(host.flags)) & kArith;
    // A difference outside the undefined flags is not the host's choice: trust nothing.
    if (st != cpu::Status::Ok || !regs_equal || (diff & ~undef)) disagree = ~0u;
    else disagree |= diff;
  }
  cpu_.s = saved;
  rt_.release(fn);
  return disagree;
}

}  // namespace popek::jit
