// The host CPU as the oracle for popek's integer instructions (cpu/ops/arith.def).
//
// Every form below is one instruction encoding (mnemonic, operand size, register /
// immediate / memory operands). For each form the test draws random inputs (registers,
// the arithmetic flags, immediates, a memory window), biased toward edge values, and
// runs the same instruction bytes
//   (a) natively: in a tiny Xbyak function in this 64-bit process (the encodings chosen
//       mean the same in 64-bit mode: no 0x40-0x4F bytes, memory only through [rsi]),
//       or, for the forms 64-bit mode lacks (DAA DAS AAA AAS AAM AAD, one-byte INC/DEC),
//       in the 32-bit helper host32_runner, a batch at a time;
//   (b) on popek: decoded by the real decoder and executed by the table's semantic
//       function in 32-bit flat protected mode (tests/unit/cpu/one_insn.h).
// It compares the registers, the memory window and the flags the SDM defines for that
// form and those inputs (per-form masks; undefined flags and results are not compared).
// Divides whose inputs fault (#DE) are not run on the host: popek must raise #DE and
// leave every register unchanged.
//
// POPEK_DIFF_CASES=n in the environment changes the number of random cases per form.
#include <gtest/gtest.h>
#include <unistd.h>
#include <xbyak/xbyak.h>

#include <algorithm>
#include <cctype>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "cpu/cpu_state.h"
#include "tests/diff/random_values.h"
#include "tests/unit/cpu/one_insn.h"

namespace popek::diff {
namespace {

using cpu::EAX;
using cpu::EBP;
using cpu::EBX;
using cpu::ECX;
using cpu::EDI;
using cpu::EDX;
using cpu::ESI;
using cpu::ESP;
namespace flag = cpu::flag;
using test::count_value;
using test::kEdgeCount;
using test::mixed_value;
using test::Rng;

constexpr unsigned kMemWindow = 512;      // bytes around [esi] for memory forms
constexpr unsigned kMemCenter = 256;      // ESI points here within the window
constexpr uint32_t kGuestMem = 0x10000;   // the window's guest physical (= linear) address
constexpr unsigned kDefaultCases = 100000;
constexpr unsigned kMaxReports = 4;       // mismatches printed per form

struct State {
  uint32_t gpr[8];   // EAX..EDI; ESP is neither loaded nor compared
  uint32_t eflags;
  uint8_t mem[kMemWindow];
};

// ---------------------------------------------------------------- random inputs


constexpr uint32_t kEdge8[] = {0, 1, 2, 0x7F, 0x80, 0x81, 0xFE, 0xFF, 0x0F, 0x10,
                               0x09, 0x0A, 0x99, 0x9A, 0x60, 0xF9};
constexpr uint32_t kEdge16[] = {0, 1, 0x7F, 0x80, 0xFF, 0x100, 0x7FFF, 0x8000, 0x8001,
                                0xFFFF, 0xFFFE};
constexpr uint32_t kEdge32[] = {0, 1, 0x7F, 0x80, 0xFF, 0x7FFF, 0x8000, 0xFFFF,
                                0x7FFFFFFF, 0x80000000, 0x80000001, 0xFFFFFFFF, 0xFFFFFFFE};

// A register value: random, or an edge value in its low byte, high byte, word or dword.
uint32_t reg_value(Rng& r) { return mixed_value(r, kEdge8, kEdge16, kEdge32); }

uint32_t size_mask(unsigned size) { return size >= 4 ? 0xFFFFFFFFu : (1u << (size * 8)) - 1; }

int64_t sext(uint64_t v, unsigned bits) {
  return static_cast<int64_t>(v << (64 - bits)) >> (64 - bits);
}

// ---------------------------------------------------------------- forms

// What the SDM defines for the result, by instruction family.
enum class Kind : uint8_t {
  All,      // every arithmetic flag (ADD ... NEG, NOT)
  Logic,    // AF undefined (AND OR XOR TEST)
  Shift,    // SHL/SAL/SHR: count 0 changes nothing; AF, OF (count != 1), CF (count >= width)
  Sar,      // SAR: as Shift, but CF stays defined
  Rotate,   // ROL ROR RCL RCR: count 0 changes nothing; OF only for count 1
  DShift,   // SHLD SHRD: also result and flags undefined for count > width
  BitTest,  // BT*: OF SF AF PF undefined
  BitScan,  // BSF BSR: only ZF
  Mul,      // MUL IMUL: CF OF
  Div,      // DIV IDIV: no flags
  Daa,      // DAA DAS: OF undefined
  Aaa,      // AAA AAS: only AF CF
  Aam,      // AAM AAD: SF ZF PF
};

enum class Count : uint8_t { None, One, Cl, Imm };
enum class Host : uint8_t { X64, X32 };

struct Form {
  std::string name;
  std::vector<uint8_t> bytes;  // the immediate, if any, is the last imm_size bytes
  unsigned imm_size = 0;
  Kind kind = Kind::All;
  unsigned size = 4;           // operand size in bytes
  Count count = Count::None;
  Host host = Host::X64;
  bool mem = false;            // has a memory operand at [esi + small displacement]
  uint8_t dest = 0xFF;         // DShift: destination register (result undefined if count > width)
  unsigned cases = kDefaultCases;
  // Shapes the random inputs (BCD enumeration, non-faulting divides, bit offsets).
  std::function<void(State&, uint32_t& imm, Rng&, uint64_t index)> fixup;
  // Whether these inputs make the instruction fault (#DE); such cases run on popek only.
  std::function<bool(const State&, uint32_t imm)> faults;
};

struct Defined {
  uint32_t flags = flag::ARITH;
  uint32_t gpr[8] = {~0u, ~0u, ~0u, ~0u, 0, ~0u, ~0u, ~0u};
};

Defined defined_for(const Form& f, const State& in, uint32_t imm) {
  Defined d;
  unsigned count = 0;
  switch (f.count) {
    case Count::None: break;
    case Count::One: count = 1; break;
    case Count::Cl: count = in.gpr[ECX] & 0x1F; break;
    case Count::Imm: count = imm & 0x1F; break;
  }
  const unsigned bits = f.size * 8;
  switch (f.kind) {
    case Kind::All: break;
    case Kind::Logic: d.flags &= ~flag::AF; break;
    case Kind::Shift:
    case Kind::Sar:
      if (count == 0) break;
      d.flags &= ~flag::AF;
      if (count != 1) d.flags &= ~flag::OF;
      if (f.kind == Kind::Shift && count >= bits) d.flags &= ~flag::CF;
      break;
    case Kind::Rotate:
      if (count != 1 && count != 0) d.flags &= ~flag::OF;
      break;
    case Kind::DShift:
      if (count == 0) break;
      d.flags &= ~flag::AF;
      if (count != 1) d.flags &= ~flag::OF;
      if (count > bits) {
        d.flags = 0;
        d.gpr[f.dest] &= ~size_mask(f.size);
      }
      break;
    case Kind::BitTest: d.flags = flag::CF | flag::ZF; break;
    case Kind::BitScan: d.flags = flag::ZF; break;
    case Kind::Mul: d.flags = flag::CF | flag::OF; break;
    case Kind::Div: d.flags = 0; break;
    case Kind::Daa: d.flags &= ~flag::OF; break;
    case Kind::Aaa: d.flags = flag::AF | flag::CF; break;
    case Kind::Aam: d.flags = flag::SF | flag::ZF | flag::PF; break;
  }
  return d;
}

// Divides: the divisor's location and a generator of mostly non-faulting dividends.
struct DivSpec {
  unsigned size;
  bool sign;
  std::function<uint32_t(const State&)> divisor;
};

void set_dividend(State& s, unsigned size, uint64_t v) {
  if (size == 1) {
    s.gpr[EAX] = (s.gpr[EAX] & ~0xFFFFu) | (v & 0xFFFF);
  } else {
    const unsigned bits = size * 8;
    const uint32_t m = size_mask(size);
    s.gpr[EAX] = (s.gpr[EAX] & ~m) | (static_cast<uint32_t>(v) & m);
    s.gpr[EDX] = (s.gpr[EDX] & ~m) | (static_cast<uint32_t>(v >> bits) & m);
  }
}

uint64_t get_dividend(const State& s, unsigned size) {
  if (size == 1) return s.gpr[EAX] & 0xFFFF;
  const uint32_t m = size_mask(size);
  return (static_cast<uint64_t>(s.gpr[EDX] & m) << (size * 8)) | (s.gpr[EAX] & m);
}

bool div_faults(const DivSpec& d, const State& s) {
  const unsigned bits = d.size * 8;
  const uint64_t dividend = get_dividend(s, d.size);
  const uint32_t divisor = d.divisor(s) & size_mask(d.size);
  if (divisor == 0) return true;
  if (!d.sign) return dividend / divisor > size_mask(d.size);
  const __int128 n = sext(dividend, 2 * bits), m = sext(divisor, bits);
  const __int128 q = n / m;
  return q < -(static_cast<__int128>(1) << (bits - 1)) || q >= (static_cast<__int128>(1) << (bits - 1));
}

// Three cases in four get a dividend built from a quotient that fits (edge-biased) and
// a remainder below the divisor; the rest stay random (mostly #DE).
void shape_dividend(const DivSpec& d, State& s, Rng& r) {
  if (r.below(4) == 0) return;
  const unsigned bits = d.size * 8;
  const uint32_t divisor = d.divisor(s) & size_mask(d.size);
  if (divisor == 0) return;
  if (!d.sign) {
    uint64_t q;
    switch (r.below(4)) {
      case 0: q = size_mask(d.size) - r.below(2); break;
      case 1: q = r.below(4); break;
      default: q = r.u32() & size_mask(d.size); break;
    }
    set_dividend(s, d.size, q * divisor + r.u32() % divisor);
    return;
  }
  const int64_t m = sext(divisor, bits);
  const int64_t qmax = (int64_t{1} << (bits - 1)) - 1, qmin = -qmax - 1;
  int64_t q;
  switch (r.below(4)) {
    case 0: q = r.below(2) ? qmax - r.below(2) : qmin + r.below(2); break;
    case 1: q = static_cast<int64_t>(r.below(7)) - 3; break;
    default: q = sext(r.u32(), bits); break;
  }
  const int64_t product = q * m;
  const int64_t mag = m < 0 ? -m : m;
  int64_t rem = static_cast<int64_t>(r.next() % static_cast<uint64_t>(mag));
  if (product < 0 || (product == 0 && r.below(2))) rem = -rem;
  set_dividend(s, d.size, static_cast<uint64_t>(product + rem));
}

std::string hex_bytes(const std::vector<uint8_t>& b) {
  std::string s;
  char buf[4];
  for (uint8_t x : b) {
    snprintf(buf, sizeof buf, "%02x ", x);
    s += buf;
  }
  if (!s.empty()) s.pop_back();
  return s;
}

std::vector<Form> build_forms() {
  std::vector<Form> v;
  auto add = [&](std::string name, std::vector<uint8_t> bytes, Kind kind, unsigned size,
                 unsigned imm_size = 0) -> Form& {
    Form f;
    f.name = std::move(name);
    f.bytes = std::move(bytes);
    f.kind = kind;
    f.size = size;
    f.imm_size = imm_size;
    v.push_back(std::move(f));
    return v.back();
  };
  auto mem = [](Form& f) -> Form& {
    f.mem = true;
    return f;
  };
  auto u8 = [](unsigned x) { return static_cast<uint8_t>(x); };

  // ADD OR ADC SBB AND SUB XOR CMP: opcode row op*8, ModRM /op for the immediate groups.
  const char* alu[] = {"add", "or", "adc", "sbb", "and", "sub", "xor", "cmp"};
  for (unsigned op = 0; op < 8; ++op) {
    const std::string n = alu[op];
    const uint8_t b = u8(op * 8);
    const Kind k = (op == 1 || op == 4 || op == 6) ? Kind::Logic : Kind::All;
    add(n + " bh, dl", {b, 0xD7}, k, 1);
    add(n + " ax, cx", {0x66, u8(b + 1), 0xC8}, k, 2);
    add(n + " eax, ecx", {u8(b + 1), 0xC8}, k, 4);
    add(n + " esi, ebp", {u8(b + 3), 0xF5}, k, 4);
    add(n + " al, imm8", {u8(b + 4), 0}, k, 1, 1);
    add(n + " ax, imm16", {0x66, u8(b + 5), 0, 0}, k, 2, 2);
    add(n + " eax, imm32", {u8(b + 5), 0, 0, 0, 0}, k, 4, 4);
    add(n + " dl, imm8", {0x80, u8(0xC0 | op << 3 | 2), 0}, k, 1, 1);
    add(n + " bp, imm16", {0x66, 0x81, u8(0xC0 | op << 3 | 5), 0, 0}, k, 2, 2);
    add(n + " ebx, imm32", {0x81, u8(0xC0 | op << 3 | 3), 0, 0, 0, 0}, k, 4, 4);
    add(n + " cx, simm8", {0x66, 0x83, u8(0xC0 | op << 3 | 1), 0}, k, 2, 1);
    add(n + " edi, simm8", {0x83, u8(0xC0 | op << 3 | 7), 0}, k, 4, 1);
    mem(add(n + " dword [esi], ecx", {u8(b + 1), 0x0E}, k, 4));
    mem(add(n + " dx, word [esi]", {0x66, u8(b + 3), 0x16}, k, 2));
    mem(add(n + " ch, byte [esi+1]", {u8(b + 2), 0x6E, 0x01}, k, 1));
  }

  // INC DEC NOT NEG.
  add("inc ah", {0xFE, 0xC4}, Kind::All, 1);
  add("dec bl", {0xFE, 0xCB}, Kind::All, 1);
  add("inc si", {0x66, 0xFF, 0xC6}, Kind::All, 2);
  add("dec di", {0x66, 0xFF, 0xCF}, Kind::All, 2);
  add("inc edx", {0xFF, 0xC2}, Kind::All, 4);
  add("dec ebp", {0xFF, 0xCD}, Kind::All, 4);
  add("inc eax (40)", {0x40}, Kind::All, 4).host = Host::X32;
  add("dec ebx (4b)", {0x4B}, Kind::All, 4).host = Host::X32;
  add("inc cx (66 41)", {0x66, 0x41}, Kind::All, 2).host = Host::X32;
  add("dec di (66 4f)", {0x66, 0x4F}, Kind::All, 2).host = Host::X32;
  mem(add("inc dword [esi]", {0xFF, 0x06}, Kind::All, 4));
  mem(add("dec byte [esi-1]", {0xFE, 0x4E, 0xFF}, Kind::All, 1));
  add("not dh", {0xF6, 0xD6}, Kind::All, 1);
  add("not ax", {0x66, 0xF7, 0xD0}, Kind::All, 2);
  add("not ecx", {0xF7, 0xD1}, Kind::All, 4);
  mem(add("not word [esi]", {0x66, 0xF7, 0x16}, Kind::All, 2));
  add("neg bh", {0xF6, 0xDF}, Kind::All, 1);
  add("neg ax", {0x66, 0xF7, 0xD8}, Kind::All, 2);
  add("neg edx", {0xF7, 0xDA}, Kind::All, 4);
  mem(add("neg byte [esi]", {0xF6, 0x1E}, Kind::All, 1));

  // TEST.
  add("test bl, ah", {0x84, 0xE3}, Kind::Logic, 1);
  add("test ax, dx", {0x66, 0x85, 0xD0}, Kind::Logic, 2);
  add("test esi, edi", {0x85, 0xFE}, Kind::Logic, 4);
  add("test al, imm8", {0xA8, 0}, Kind::Logic, 1, 1);
  add("test ax, imm16", {0x66, 0xA9, 0, 0}, Kind::Logic, 2, 2);
  add("test eax, imm32", {0xA9, 0, 0, 0, 0}, Kind::Logic, 4, 4);
  add("test ch, imm8", {0xF6, 0xC5, 0}, Kind::Logic, 1, 1);
  add("test bx, imm16", {0x66, 0xF7, 0xC3, 0, 0}, Kind::Logic, 2, 2);
  add("test edx, imm32", {0xF7, 0xC2, 0, 0, 0, 0}, Kind::Logic, 4, 4);
  mem(add("test dword [esi], ecx", {0x85, 0x0E}, Kind::Logic, 4));

  // Shifts and rotates: group 2, /0 ROL /1 ROR /2 RCL /3 RCR /4 SHL /5 SHR /6 SAL /7 SAR.
  const char* grp2[] = {"rol", "ror", "rcl", "rcr", "shl", "shr", "sal", "sar"};
  for (unsigned op = 0; op < 8; ++op) {
    const std::string n = grp2[op];
    const Kind k = op < 4 ? Kind::Rotate : op == 7 ? Kind::Sar : Kind::Shift;
    const uint8_t dh = u8(0xC0 | op << 3 | 6), dx = u8(0xC0 | op << 3 | 2), ebx = u8(0xC0 | op << 3 | 3);
    add(n + " dh, 1", {0xD0, dh}, k, 1).count = Count::One;
    add(n + " dh, cl", {0xD2, dh}, k, 1).count = Count::Cl;
    add(n + " dh, imm8", {0xC0, dh, 0}, k, 1, 1).count = Count::Imm;
    add(n + " dx, 1", {0x66, 0xD1, dx}, k, 2).count = Count::One;
    add(n + " dx, cl", {0x66, 0xD3, dx}, k, 2).count = Count::Cl;
    add(n + " dx, imm8", {0x66, 0xC1, dx, 0}, k, 2, 1).count = Count::Imm;
    add(n + " ebx, 1", {0xD1, ebx}, k, 4).count = Count::One;
    add(n + " ebx, cl", {0xD3, ebx}, k, 4).count = Count::Cl;
    add(n + " ebx, imm8", {0xC1, ebx, 0}, k, 4, 1).count = Count::Imm;
    mem(add(n + " dword [esi], cl", {0xD3, u8(op << 3 | 6)}, k, 4)).count = Count::Cl;
  }

  // SHLD SHRD.
  for (int right = 0; right < 2; ++right) {
    const std::string n = right ? "shrd" : "shld";
    const uint8_t imm = right ? 0xAC : 0xA4, cl = right ? 0xAD : 0xA5;
    Form* f = &add(n + " ax, dx, imm8", {0x66, 0x0F, imm, 0xD0, 0}, Kind::DShift, 2, 1);
    f->count = Count::Imm, f->dest = EAX;
    f = &add(n + " ax, dx, cl", {0x66, 0x0F, cl, 0xD0}, Kind::DShift, 2);
    f->count = Count::Cl, f->dest = EAX;
    f = &add(n + " eax, edx, imm8", {0x0F, imm, 0xD0, 0}, Kind::DShift, 4, 1);
    f->count = Count::Imm, f->dest = EAX;
    f = &add(n + " eax, edx, cl", {0x0F, cl, 0xD0}, Kind::DShift, 4);
    f->count = Count::Cl, f->dest = EAX;
    mem(add(n + " dword [esi], ebx, cl", {0x0F, cl, 0x1E}, Kind::DShift, 4)).count = Count::Cl;
  }

  // BT BTS BTR BTC: register forms, immediate forms (0F BA /4../7), bit strings in memory.
  const char* bts[] = {"bt", "bts", "btr", "btc"};
  const uint8_t bt_op[] = {0xA3, 0xAB, 0xB3, 0xBB};
  for (unsigned i = 0; i < 4; ++i) {
    const std::string n = bts[i];
    const unsigned digit = 4 + i;
    add(n + " ax, dx", {0x66, 0x0F, bt_op[i], 0xD0}, Kind::BitTest, 2);
    add(n + " eax, edx", {0x0F, bt_op[i], 0xD0}, Kind::BitTest, 4);
    add(n + " cx, imm8", {0x66, 0x0F, 0xBA, u8(0xC0 | digit << 3 | 1), 0}, Kind::BitTest, 2, 1);
    add(n + " ecx, imm8", {0x0F, 0xBA, u8(0xC0 | digit << 3 | 1), 0}, Kind::BitTest, 4, 1);
    mem(add(n + " dword [esi], imm8", {0x0F, 0xBA, u8(digit << 3 | 6), 0}, Kind::BitTest, 4, 1));
    for (unsigned size : {2u, 4u}) {
      std::vector<uint8_t> b = {0x0F, bt_op[i], 0x06};
      if (size == 2) b.insert(b.begin(), 0x66);
      Form& f = mem(add(n + (size == 2 ? " word [esi], ax" : " dword [esi], eax"), b,
                        Kind::BitTest, size));
      // A signed bit offset that stays within the window (+-128 bytes).
      f.fixup = [size](State& s, uint32_t&, Rng& r, uint64_t) {
        const uint32_t off = static_cast<uint32_t>(static_cast<int32_t>(r.below(2048)) - 1024);
        s.gpr[EAX] = size == 2 ? (s.gpr[EAX] & 0xFFFF0000u) | (off & 0xFFFF) : off;
      };
    }
  }

  // BSF BSR; a zero source one time in eight.
  for (int reverse = 0; reverse < 2; ++reverse) {
    const std::string n = reverse ? "bsr" : "bsf";
    const uint8_t opc = reverse ? 0xBD : 0xBC;
    auto zero_edx = [](State& s, uint32_t&, Rng& r, uint64_t) {
      if (r.below(8) == 0) s.gpr[EDX] &= r.below(2) ? 0xFFFF0000u : 0;
    };
    add(n + " ax, dx", {0x66, 0x0F, opc, 0xC2}, Kind::BitScan, 2).fixup = zero_edx;
    add(n + " eax, edx", {0x0F, opc, 0xC2}, Kind::BitScan, 4).fixup = zero_edx;
    mem(add(n + " ecx, dword [esi]", {0x0F, opc, 0x0E}, Kind::BitScan, 4)).fixup =
        [](State& s, uint32_t&, Rng& r, uint64_t) {
          if (r.below(8) == 0) std::memset(s.mem + kMemCenter, 0, 4);
        };
  }

  // MUL IMUL.
  add("mul bl", {0xF6, 0xE3}, Kind::Mul, 1);
  add("mul cx", {0x66, 0xF7, 0xE1}, Kind::Mul, 2);
  add("mul ecx", {0xF7, 0xE1}, Kind::Mul, 4);
  mem(add("mul dword [esi]", {0xF7, 0x26}, Kind::Mul, 4));
  add("imul bl", {0xF6, 0xEB}, Kind::Mul, 1);
  add("imul cx", {0x66, 0xF7, 0xE9}, Kind::Mul, 2);
  add("imul ecx", {0xF7, 0xE9}, Kind::Mul, 4);
  add("imul dx, bx", {0x66, 0x0F, 0xAF, 0xD3}, Kind::Mul, 2);
  add("imul edx, ebx", {0x0F, 0xAF, 0xD3}, Kind::Mul, 4);
  mem(add("imul edi, dword [esi]", {0x0F, 0xAF, 0x3E}, Kind::Mul, 4));
  add("imul cx, si, imm16", {0x66, 0x69, 0xCE, 0, 0}, Kind::Mul, 2, 2);
  add("imul ecx, esi, imm32", {0x69, 0xCE, 0, 0, 0, 0}, Kind::Mul, 4, 4);
  add("imul cx, si, simm8", {0x66, 0x6B, 0xCE, 0}, Kind::Mul, 2, 1);
  add("imul ecx, esi, simm8", {0x6B, 0xCE, 0}, Kind::Mul, 4, 1);

  // DIV IDIV.
  auto divide = [&](std::string name, std::vector<uint8_t> bytes, DivSpec spec, bool is_mem) {
    Form& f = add(std::move(name), std::move(bytes), Kind::Div, spec.size);
    f.mem = is_mem;
    f.fixup = [spec](State& s, uint32_t&, Rng& r, uint64_t) { shape_dividend(spec, s, r); };
    f.faults = [spec](const State& s, uint32_t) { return div_faults(spec, s); };
  };
  auto bl = [](const State& s) { return s.gpr[EBX] & 0xFF; };
  auto cx = [](const State& s) { return s.gpr[ECX] & 0xFFFF; };
  auto ecx = [](const State& s) { return s.gpr[ECX]; };
  auto m32 = [](const State& s) {
    uint32_t v;
    std::memcpy(&v, s.mem + kMemCenter, 4);
    return v;
  };
  divide("div bl", {0xF6, 0xF3}, {1, false, bl}, false);
  divide("div cx", {0x66, 0xF7, 0xF1}, {2, false, cx}, false);
  divide("div ecx", {0xF7, 0xF1}, {4, false, ecx}, false);
  divide("div dword [esi]", {0xF7, 0x36}, {4, false, m32}, true);
  divide("idiv bl", {0xF6, 0xFB}, {1, true, bl}, false);
  divide("idiv cx", {0x66, 0xF7, 0xF9}, {2, true, cx}, false);
  divide("idiv ecx", {0xF7, 0xF9}, {4, true, ecx}, false);
  divide("idiv dword [esi]", {0xF7, 0x3E}, {4, true, m32}, true);

  // BCD adjusts, on the 32-bit helper. DAA/DAS/AAA/AAS enumerate AL x AH x CF x AF.
  auto enumerate_ax = [](State& s, uint32_t&, Rng&, uint64_t i) {
    s.gpr[EAX] = (s.gpr[EAX] & ~0xFFFFu) | (i & 0xFFFF);
    s.eflags &= ~(flag::CF | flag::AF);
    if (i & 0x10000) s.eflags |= flag::CF;
    if (i & 0x20000) s.eflags |= flag::AF;
  };
  for (auto [name, opc, kind] : {std::tuple{"daa", 0x27, Kind::Daa}, {"das", 0x2F, Kind::Daa},
                                 {"aaa", 0x37, Kind::Aaa}, {"aas", 0x3F, Kind::Aaa}}) {
    Form& f = add(name, {u8(opc)}, kind, 1);
    f.host = Host::X32;
    f.cases = 1u << 18;
    f.fixup = enumerate_ax;
  }
  // AAM: every AL with every non-zero base, twice (random AH and flags).
  Form& aam = add("aam imm8", {0xD4, 0}, Kind::Aam, 1, 1);
  aam.host = Host::X32;
  aam.cases = 2 * 256 * 255;
  aam.fixup = [](State& s, uint32_t& imm, Rng&, uint64_t i) {
    s.gpr[EAX] = (s.gpr[EAX] & ~0xFFu) | (i & 0xFF);
    imm = 1 + (i >> 8) % 255;
  };
  Form& aad = add("aad imm8", {0xD5, 0}, Kind::Aam, 1, 1);
  aad.host = Host::X32;
  aad.cases = 2 * kDefaultCases;
  aad.fixup = [](State&, uint32_t& imm, Rng& r, uint64_t) {
    if (r.below(2)) imm = r.pick(kEdge8);
  };
  return v;
}

const std::vector<Form>& forms() {
  static const std::vector<Form> f = build_forms();
  return f;
}

// ---------------------------------------------------------------- the host side

// A function that loads EAX..EDI (ESI = the memory window for memory forms) and the
// arithmetic flags from a State, executes the form's bytes and stores them back.
class HostStub : public Xbyak::CodeGenerator {
 public:
  explicit HostStub(const Form& f) {
    using namespace Xbyak::util;
    push(rbx);
    push(rbp);
    push(r12);
    mov(r12, rdi);  // State*; rsi = host address of the memory window's centre
    mov(r11d, dword[r12 + offsetof(State, eflags)]);
    push(r11);
    mov(ecx, dword[r12 + 4 * ECX]);
    mov(edx, dword[r12 + 4 * EDX]);
    mov(ebx, dword[r12 + 4 * EBX]);
    mov(ebp, dword[r12 + 4 * EBP]);
    if (!f.mem) mov(esi, dword[r12 + 4 * ESI]);
    mov(edi, dword[r12 + 4 * EDI]);
    mov(eax, dword[r12 + 4 * EAX]);
    popf();
    insn_ = getSize();
    for (uint8_t b : f.bytes) db(b);
    pushf();
    pop(r11);
    mov(dword[r12 + offsetof(State, eflags)], r11d);
    mov(dword[r12 + 4 * EAX], eax);
    mov(dword[r12 + 4 * ECX], ecx);
    mov(dword[r12 + 4 * EDX], edx);
    mov(dword[r12 + 4 * EBX], ebx);
    mov(dword[r12 + 4 * EBP], ebp);
    if (!f.mem) mov(dword[r12 + 4 * ESI], esi);
    mov(dword[r12 + 4 * EDI], edi);
    pop(r12);
    pop(rbp);
    pop(rbx);
    ret();
    imm_at_ = insn_ + f.bytes.size() - f.imm_size;
    imm_size_ = f.imm_size;
  }

  void run(State& s, uint32_t imm) {
    // Xbyak's buffer is read-write-execute: patch the immediate in place.
    if (imm_size_) std::memcpy(const_cast<uint8_t*>(getCode()) + imm_at_, &imm, imm_size_);
    getCode<void (*)(State*, uint8_t*)>()(&s, s.mem + kMemCenter);
  }

 private:
  size_t insn_ = 0, imm_at_ = 0;
  unsigned imm_size_ = 0;
};

// One batch through the 32-bit helper: records in a file, the helper's results back.
struct Record {
  uint32_t gpr[8];
  uint32_t eflags;
  uint8_t len;
  uint8_t bytes[15];
};
static_assert(sizeof(Record) == 52);

bool run_host32(const std::vector<std::vector<uint8_t>>& bytes, std::vector<State>& states,
                std::string& error) {
  std::string tmpl = (std::filesystem::temp_directory_path() / "popek-diff-XXXXXX").string();
  char* dir = mkdtemp(tmpl.data());
  if (!dir) {
    error = "mkdtemp failed";
    return false;
  }
  const std::string in = std::string(dir) + "/in", out = std::string(dir) + "/out";
  std::vector<Record> recs(states.size());
  for (size_t i = 0; i < states.size(); ++i) {
    Record& r = recs[i];
    std::memcpy(r.gpr, states[i].gpr, sizeof r.gpr);
    r.eflags = states[i].eflags;
    r.len = static_cast<uint8_t>(bytes[i].size());
    std::memset(r.bytes, 0, sizeof r.bytes);
    std::memcpy(r.bytes, bytes[i].data(), bytes[i].size());
  }
  bool ok = false;
  if (FILE* f = fopen(in.c_str(), "wb")) {
    ok = fwrite(recs.data(), sizeof(Record), recs.size(), f) == recs.size();
    fclose(f);
  }
  const std::string cmd = std::string(POPEK_HOST32_RUNNER) + " " + in + " " + out;
  if (ok && std::system(cmd.c_str()) != 0) {
    error = "host32_runner failed: " + cmd;
    ok = false;
  }
  if (ok) {
    ok = false;
    if (FILE* f = fopen(out.c_str(), "rb")) {
      ok = fread(recs.data(), sizeof(Record), recs.size(), f) == recs.size();
      fclose(f);
    }
    if (!ok) error = "short output from host32_runner";
  }
  for (size_t i = 0; ok && i < states.size(); ++i) {
    std::memcpy(states[i].gpr, recs[i].gpr, sizeof recs[i].gpr);
    states[i].eflags = recs[i].eflags;
  }
  unlink(in.c_str());
  unlink(out.c_str());
  rmdir(dir);
  return ok;
}

// ---------------------------------------------------------------- comparison

std::string flag_names(uint32_t f) {
  std::string s;
  const std::pair<uint32_t, char> names[] = {{flag::OF, 'O'}, {flag::SF, 'S'}, {flag::ZF, 'Z'},
                                             {flag::AF, 'A'}, {flag::PF, 'P'}, {flag::CF, 'C'}};
  for (auto [bit, c] : names) s += (f & bit) ? c : '-';
  return s;
}

const char* const kRegNames[8] = {"EAX", "ECX", "EDX", "EBX", "ESP", "EBP", "ESI", "EDI"};

bool agree(const Form& f, const State& host, const State& popek, const Defined& d) {
  for (int i = 0; i < 8; ++i) {
    if ((host.gpr[i] ^ popek.gpr[i]) & d.gpr[i]) return false;
  }
  if ((host.eflags ^ popek.eflags) & flag::ARITH & d.flags) return false;
  return !f.mem || std::memcmp(host.mem, popek.mem, kMemWindow) == 0;
}

// Side-by-side dump of input, host and popek with the differing fields marked.
std::string report(const Form& f, const State& in, const State& host, const State& popek,
                   const Defined& d) {
  std::string rows = "         input      host       popek\n";
  char line[160];
  for (int i = 0; i < 8; ++i) {
    if (i == ESP) continue;
    const bool diff = (host.gpr[i] ^ popek.gpr[i]) & d.gpr[i];
    snprintf(line, sizeof line, "  %s  %08x   %08x   %08x%s%s\n", kRegNames[i], in.gpr[i],
             host.gpr[i], popek.gpr[i], d.gpr[i] == ~0u ? "" : " (partly undefined)",
             diff ? "   <-- differs" : "");
    rows += line;
  }
  const uint32_t hf = host.eflags & flag::ARITH, pf = popek.eflags & flag::ARITH;
  snprintf(line, sizeof line, "  FLG  %s     %s     %s     defined %s%s\n",
           flag_names(in.eflags).c_str(), flag_names(hf).c_str(), flag_names(pf).c_str(),
           flag_names(d.flags).c_str(), ((hf ^ pf) & d.flags) ? "   <-- differs" : "");
  rows += line;
  for (unsigned i = 0; f.mem && i < kMemWindow; ++i) {
    if (host.mem[i] == popek.mem[i]) continue;
    snprintf(line, sizeof line, "  [esi%+4d]  %02x   %02x   %02x   <-- differs\n",
             static_cast<int>(i) - static_cast<int>(kMemCenter), in.mem[i], host.mem[i],
             popek.mem[i]);
    rows += line;
  }
  return rows;
}

// ---------------------------------------------------------------- the test

unsigned cases_for(const Form& f) {
  if (const char* e = std::getenv("POPEK_DIFF_CASES")) {
    const unsigned n = static_cast<unsigned>(std::strtoul(e, nullptr, 0));
    if (n) return f.cases == kDefaultCases ? n : std::min(f.cases, std::max(n, 1u << 12));
  }
  return f.cases;
}

class AluVsHost : public ::testing::TestWithParam<size_t> {};

TEST_P(AluVsHost, Matches) {
  const Form& f = forms()[GetParam()];
  if (f.host == Host::X32 && std::string(POPEK_HOST32_RUNNER).empty()) {
    GTEST_SKIP() << "no 32-bit host runner (needs gcc -m32)";
  }
  const unsigned total = cases_for(f);
  // The 32-bit helper is a process per batch: larger batches there.
  const unsigned batch_size = f.host == Host::X32 ? 1u << 16 : 4096;
  std::unique_ptr<HostStub> stub;
  if (f.host == Host::X64) stub = std::make_unique<HostStub>(f);
  test::OneInsn m;
  cpu::Cpu& c = m.cpu();
  Rng rng{0x9E3779B97F4A7C15ull ^ (GetParam() * 0x100000001B3ull + 1)};

  unsigned reports = 0, compared = 0, faulted = 0;
  std::vector<State> in, host;
  std::vector<std::vector<uint8_t>> bytes;
  std::vector<uint32_t> imms;
  std::vector<uint8_t> host_ran;
  for (unsigned base = 0; base < total && reports < kMaxReports; base += batch_size) {
    const unsigned n = std::min(batch_size, total - base);
    in.resize(n);
    host.resize(n);
    if (bytes.size() != n) bytes.assign(n, f.bytes);
    imms.resize(n);
    host_ran.assign(n, 0);
    // Inputs.
    for (unsigned k = 0; k < n; ++k) {
      State& s = in[k];
      for (int i = 0; i < 8; ++i) s.gpr[i] = reg_value(rng);
      s.gpr[ESP] = 0;
      s.eflags = flag::FIXED1 | flag::IF | (rng.u32() & flag::ARITH);
      if (f.count == Count::Cl) s.gpr[ECX] = (s.gpr[ECX] & ~0xFFu) | count_value(rng);
      uint32_t imm = f.count == Count::Imm ? count_value(rng) : reg_value(rng);
      if (f.mem) {
        for (unsigned i = 0; i < kMemWindow; i += 8) {
          const uint64_t x = rng.next();
          std::memcpy(s.mem + i, &x, 8);
        }
        uint32_t edge = reg_value(rng);  // an edge value at [esi] now and then
        std::memcpy(s.mem + kMemCenter, &edge, 4);
        s.gpr[ESI] = kGuestMem + kMemCenter;
      } else {
        std::memset(s.mem, 0, sizeof s.mem);
      }
      if (f.fixup) f.fixup(s, imm, rng, base + k);
      imms[k] = imm;
      for (unsigned i = 0; i < f.imm_size; ++i) {
        bytes[k][f.bytes.size() - f.imm_size + i] = static_cast<uint8_t>(imm >> (8 * i));
      }
    }
    // The host.
    for (unsigned k = 0; k < n; ++k) {
      host[k] = in[k];
      if (f.faults && f.faults(in[k], imms[k])) continue;
      host_ran[k] = 1;
      if (stub) {
        stub->run(host[k], imms[k]);
        if (f.mem) host[k].gpr[ESI] = in[k].gpr[ESI];
      }
    }
    if (!stub) {
      std::string error;
      ASSERT_TRUE(run_host32(bytes, host, error)) << error;
    }
    // popek, and the comparison.
    for (unsigned k = 0; k < n && reports < kMaxReports; ++k) {
      const State& s = in[k];
      std::memcpy(c.s.gpr, s.gpr, sizeof s.gpr);
      c.s.gpr[ESP] = 0x8000;
      c.s.eflags = s.eflags;
      if (f.mem) std::memcpy(m.ram() + kGuestMem, s.mem, kMemWindow);
      const cpu::Status st = m.exec(bytes[k].data(), bytes[k].size());
      State out;
      std::memcpy(out.gpr, c.s.gpr, sizeof out.gpr);
      out.gpr[ESP] = 0;
      out.eflags = c.s.eflags;
      std::memcpy(out.mem, f.mem ? m.ram() + kGuestMem : s.mem, kMemWindow);
      std::string problem;
      if (!host_ran[k]) {
        ++faulted;
        if (st != cpu::Status::Fault || c.s.exc.vector != cpu::vec::DE) {
          problem = "expected #DE, popek returned status " + std::to_string(static_cast<int>(st)) + "\n";
        } else if (std::memcmp(out.gpr, s.gpr, sizeof s.gpr) != 0 || out.eflags != s.eflags ||
                   c.s.eip != test::OneInsn::kCodeAddr) {
          problem = "#DE changed the state\n";
        }
      } else {
        ++compared;
        if (st != cpu::Status::Ok) {
          problem = "popek returned status " + std::to_string(static_cast<int>(st)) +
                    " (vector " + std::to_string(c.s.exc.vector) + ")\n";
        } else if (c.s.eip != test::OneInsn::kCodeAddr + bytes[k].size()) {
          problem = "EIP not advanced past the instruction\n";
        } else {
          const Defined d = defined_for(f, s, imms[k]);
          if (!agree(f, host[k], out, d)) problem = report(f, s, host[k], out, d);
        }
      }
      if (!problem.empty()) {
        ++reports;
        ADD_FAILURE() << f.name << "   [" << hex_bytes(bytes[k]) << "]   case " << base + k
                      << "\n" << problem;
      }
    }
  }
  if (reports >= kMaxReports) ADD_FAILURE() << f.name << ": stopped after " << reports << " mismatches";
  RecordProperty("compared", static_cast<int>(compared));
  RecordProperty("de_cases", static_cast<int>(faulted));
}

std::string form_test_name(const ::testing::TestParamInfo<size_t>& info) {
  std::string s;
  for (char ch : forms()[info.param].name) {
    s += std::isalnum(static_cast<unsigned char>(ch)) ? ch : '_';
  }
  while (s.find("__") != std::string::npos) s.erase(s.find("__"), 1);
  if (!s.empty() && s.back() == '_') s.pop_back();
  return std::to_string(info.param) + "_" + s;
}

INSTANTIATE_TEST_SUITE_P(Forms, AluVsHost, ::testing::Range<size_t>(0, forms().size()),
                         form_test_name);

}  // namespace
}  // namespace popek::diff
