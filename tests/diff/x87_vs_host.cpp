// The host CPU as the oracle for popek's x87 instructions (cpu/ops/x87.def).
//
// Every form below is one x87 encoding: a memory form addressing [esi] (the same bytes
// address [rsi] on the 64-bit host) or a register form with its ST(i). For each form
// the test draws random FPU states (TOP, tags with empty registers for stack faults,
// C0-C3, masked sticky flags, every precision and rounding control, sometimes unmasked
// exceptions), registers and memory operands of every class (normals near the
// exponent limits, denormals, pseudo-denormals, unnormals, zeros, infinities, pseudo-
// infinities and pseudo-NaNs, QNaNs, SNaNs, integers, packed BCD with bad digits), and
// runs the instruction
//   (a) natively: the instruction bytes in a tiny Xbyak function between FRSTOR and
//       FNSAVE of the same state, with the guest's EFLAGS (SF ZF AF PF CF, OF) loaded;
//   (b) on popek: decoded by the real decoder and executed by the table's semantic
//       function in 32-bit flat protected mode (tests/unit/cpu/one_insn.h).
// It compares, bit for bit, the control, status and tag words, ST(0)..ST(7), the
// memory operand's bytes, EFLAGS for FCOMI and friends, and checks FIP/FOP/FDP.
//
// The implementation runs arithmetic on the host FPU too, so this test checks what
// popek adds around it: state mapping (physical registers, TOP, tags), memory operand
// access, store suppression, the undocumented aliases, EFLAGS plumbing and FFREEP.
//
// POPEK_DIFF_CASES=n in the environment changes the number of random cases per form.
#include <gtest/gtest.h>
#include <xbyak/xbyak.h>

#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "cpu/decoder.h"
#include "cpu/insn_table.h"
#include "cpu/ops/x87.h"
#include "tests/unit/cpu/one_insn.h"

namespace popek::diff {
namespace {

using cpu::Fpu;
namespace fsw = cpu::fsw;

constexpr uint32_t kGuestMem = 0x10000;  // the memory operand's guest address (ESI)
constexpr unsigned kDefaultCases = 10000;
constexpr unsigned kMaxReports = 4;

unsigned cases_per_form() {
  const char* e = std::getenv("POPEK_DIFF_CASES");
  return e ? static_cast<unsigned>(std::strtoul(e, nullptr, 0)) : kDefaultCases;
}

struct Rng {
  uint64_t s;
  uint64_t next() {  // xorshift64*
    s ^= s >> 12;
    s ^= s << 25;
    s ^= s >> 27;
    return s * 0x2545F4914F6CDD1DULL;
  }
  uint32_t below(uint32_t n) { return static_cast<uint32_t>((next() >> 32) % n); }
  bool chance(unsigned one_in) { return below(one_in) == 0; }
};

// ---------------------------------------------------------------- random operands

struct F80 {
  uint64_t sig;
  uint16_t se;
};

void put80(uint8_t* p, F80 v) {
  std::memcpy(p, &v.sig, 8);
  std::memcpy(p + 8, &v.se, 2);
}

// An 80-bit value of a random class; exponents cluster where conversions and results
// overflow, underflow or become integers.
F80 random80(Rng& r) {
  const uint16_t sign = r.chance(2) ? 0x8000 : 0;
  uint64_t sig = r.next();
  static const int kExpCentres[] = {0x3FFF, 0x3FFF + 63, 0x3FFF + 31, 0x3FFF + 15,
                                    0x3FFF - 126, 0x3FFF + 127, 0x3FFF - 1022,
                                    0x3FFF + 1023, 0x3FFF - 16382 + 64, 0x7FFE - 64};
  const unsigned k = r.below(20);
  switch (k) {
    case 0: return {0, sign};                                       // zero
    case 1: return {sig & 0x7FFFFFFFFFFFFFFFull, sign};             // denormal
    case 2: return {sig | 0x8000000000000000ull, sign};             // pseudo-denormal
    case 3: return {0x8000000000000000ull, static_cast<uint16_t>(sign | 0x7FFF)};  // inf
    case 4: return {sig | 0xC000000000000000ull, static_cast<uint16_t>(sign | 0x7FFF)};  // QNaN
    case 5: {                                                         // SNaN
      uint64_t m = (sig & 0x3FFFFFFFFFFFFFFFull) | 0x8000000000000000ull;
      if (m == 0x8000000000000000ull) m |= 1;
      return {m, static_cast<uint16_t>(sign | 0x7FFF)};
    }
    case 6: return {sig & 0x7FFFFFFFFFFFFFFFull, static_cast<uint16_t>(sign | 0x7FFF)};  // pseudo-NaN/inf
    case 7: return {sig & 0x7FFFFFFFFFFFFFFFull,                     // unnormal
                    static_cast<uint16_t>(sign | (1 + r.below(0x7FFE)))};
    case 8: {                                                         // small integer
      const uint64_t n = 1 + r.below(100000);
      const int lz = __builtin_clzll(n);
      return {n << lz, static_cast<uint16_t>(sign | (0x3FFF + 63 - lz))};
    }
    case 9: return {0xC000000000000000ull, 0xFFFF};                  // indefinite
    default: {
      const int e = kExpCentres[r.below(10)] + static_cast<int>(r.below(9)) - 4;
      if (r.chance(4)) sig = (sig & ~0xFFFFFull) | (r.chance(2) ? 0xFFFFFull : 0);  // near ties
      return {sig | 0x8000000000000000ull, static_cast<uint16_t>(sign | (e & 0x7FFF))};
    }
  }
}

uint64_t random_bits(Rng& r, unsigned bits, unsigned exp_bits) {
  // IEEE single/double: special exponents often.
  const unsigned frac = bits - 1 - exp_bits;
  const uint64_t emax = (1ull << exp_bits) - 1;
  uint64_t e;
  switch (r.below(6)) {
    case 0: e = 0; break;
    case 1: e = emax; break;
    case 2: e = 1 + r.below(3); break;
    default: e = (emax >> 1) + r.below(64) - 32; break;
  }
  uint64_t m = r.next() & ((1ull << frac) - 1);
  if (r.chance(4)) m = r.chance(2) ? 0 : (1ull << frac) - 1;
  const uint64_t s = r.chance(2);
  return (s << (bits - 1)) | (e << frac) | m;
}

void random_operand(Rng& r, uint8_t* p, unsigned size, bool integer, bool bcd) {
  if (bcd) {
    for (unsigned i = 0; i < 9; ++i) {
      const unsigned lo = r.chance(20) ? 10 + r.below(6) : r.below(10);
      const unsigned hi = r.chance(20) ? 10 + r.below(6) : r.below(10);
      p[i] = static_cast<uint8_t>(lo | hi << 4);
    }
    p[9] = static_cast<uint8_t>((r.chance(2) ? 0x80 : 0) | (r.chance(10) ? r.below(128) : 0));
    return;
  }
  if (integer) {
    uint64_t v = r.next();
    static const int64_t kEdge[] = {0, 1, -1, 0x7FFF, -0x8000, 0x7FFFFFFF, INT32_MIN,
                                    INT64_MAX, INT64_MIN, 12345, -99};
    if (r.chance(3)) v = static_cast<uint64_t>(kEdge[r.below(11)]);
    else if (r.chance(2)) v = static_cast<uint64_t>(static_cast<int64_t>(r.below(2000)) - 1000);
    std::memcpy(p, &v, size);
    return;
  }
  if (size == 4) {
    const uint32_t v = static_cast<uint32_t>(random_bits(r, 32, 8));
    std::memcpy(p, &v, 4);
  } else if (size == 8) {
    const uint64_t v = random_bits(r, 64, 11);
    std::memcpy(p, &v, 8);
  } else {
    put80(p, random80(r));
  }
}

// ---------------------------------------------------------------- forms

enum class Mem : uint8_t { None, Load, Store };

struct Form {
  std::string name;
  std::vector<uint8_t> bytes;   // what popek decodes
  std::vector<uint8_t> native;  // what the host runs (the documented twin of an alias)
  Mem mem = Mem::None;
  unsigned size = 0;            // memory operand bytes
  bool integer = false, bcd = false;
  bool eflags_out = false;
};

std::string hex(const std::vector<uint8_t>& b) {
  std::string s;
  char buf[4];
  for (uint8_t x : b) {
    std::snprintf(buf, sizeof buf, "%02X", x);
    if (!s.empty()) s += ' ';
    s += buf;
  }
  return s;
}

// Memory forms: (ESC, /reg, size, integer, bcd, load or store).
std::vector<Form> memory_forms() {
  struct M {
    uint8_t esc, reg;
    unsigned size;
    bool integer, bcd;
    Mem mem;
  };
  std::vector<M> ms;
  for (uint8_t reg = 0; reg < 8; ++reg) {
    ms.push_back({0xD8, reg, 4, false, false, Mem::Load});  // FADD..FDIVR m32fp
    ms.push_back({0xDC, reg, 8, false, false, Mem::Load});  // m64fp
    ms.push_back({0xDA, reg, 4, true, false, Mem::Load});   // m32int
    ms.push_back({0xDE, reg, 2, true, false, Mem::Load});   // m16int
  }
  const M more[] = {
      {0xD9, 0, 4, false, false, Mem::Load},  {0xDD, 0, 8, false, false, Mem::Load},
      {0xDB, 5, 10, false, false, Mem::Load}, {0xDF, 0, 2, true, false, Mem::Load},
      {0xDB, 0, 4, true, false, Mem::Load},   {0xDF, 5, 8, true, false, Mem::Load},
      {0xDF, 4, 10, false, true, Mem::Load},  {0xD9, 2, 4, false, false, Mem::Store},
      {0xD9, 3, 4, false, false, Mem::Store}, {0xDD, 2, 8, false, false, Mem::Store},
      {0xDD, 3, 8, false, false, Mem::Store}, {0xDB, 7, 10, false, false, Mem::Store},
      {0xDF, 2, 2, true, false, Mem::Store},  {0xDF, 3, 2, true, false, Mem::Store},
      {0xDB, 2, 4, true, false, Mem::Store},  {0xDB, 3, 4, true, false, Mem::Store},
      {0xDF, 7, 8, true, false, Mem::Store},  {0xDF, 6, 10, false, true, Mem::Store},
  };
  for (const M& m : more) ms.push_back(m);
  std::vector<Form> v;
  for (const M& m : ms) {
    Form f;
    f.bytes = {m.esc, static_cast<uint8_t>((m.reg << 3) | 6)};  // [esi] / [rsi]
    f.native = f.bytes;
    f.mem = m.mem;
    f.size = m.size;
    f.integer = m.integer;
    f.bcd = m.bcd;
    v.push_back(f);
  }
  return v;
}

// Register forms: every ESC byte x ModRM C0-FF that decodes to an implemented x87 row,
// except the control ones (FNSTSW AX, FNCLEX, FNINIT, FENI/FDISI/FSETPM) which the
// unit tests cover.
std::vector<Form> register_forms() {
  cpu::Decoder dec;
  std::vector<Form> v;
  for (unsigned esc = 0xD8; esc <= 0xDF; ++esc) {
    for (unsigned modrm = 0xC0; modrm <= 0xFF; ++modrm) {
      const uint8_t b[2] = {static_cast<uint8_t>(esc), static_cast<uint8_t>(modrm)};
      cpu::Insn in;
      if (dec.decode(b, 2, cpu::CodeMode::Prot32, in) != cpu::DecodeResult::Ok || !in.fn) continue;
      const std::string name = cpu::kInsnTable[in.row].name;
      if (name == "FNSTSW" || name == "FNCLEX" || name == "FNINIT" || name == "FENI" ||
          name == "FDISI" || name == "FSETPM") {
        continue;
      }
      Form f;
      f.bytes = {b[0], b[1]};
      // The documented twins of the aliases (other vendors need not decode them).
      unsigned ne = esc, nm = modrm;
      const unsigned reg = (modrm >> 3) & 7, i = modrm & 7;
      if (esc == 0xD9 && reg == 3) ne = 0xDD;
      if (esc == 0xDC && (reg == 2 || reg == 3)) ne = 0xD8;
      if (esc == 0xDD && reg == 1) ne = 0xD9;
      if (esc == 0xDE && reg == 2) { ne = 0xD8; nm = 0xD8 + i; }
      if (esc == 0xDF && reg == 1) ne = 0xD9;
      if (esc == 0xDF && (reg == 2 || reg == 3)) { ne = 0xDD; nm = 0xD8 + i; }
      f.native = {static_cast<uint8_t>(ne), static_cast<uint8_t>(nm)};
      f.eflags_out = name.rfind("FCOMI", 0) == 0 || name.rfind("FUCOMI", 0) == 0;
      v.push_back(f);
    }
  }
  return v;
}

// ---------------------------------------------------------------- the native side

// void fn(uint8_t* image /* rdi */, uint8_t* mem /* rsi */, uint16_t* ax /* rdx */)
class Native : public Xbyak::CodeGenerator {
 public:
  explicit Native(const std::vector<uint8_t>& bytes) {
    using namespace Xbyak::util;
    mov(ax, word[rdx]);
    db(0xDD); db(0x27);  // frstor [rdi]
    add(al, 1);          // OF from AL = 0x7F
    sahf();
    for (uint8_t b : bytes) db(b);
    lahf();
    seto(al);
    db(0xDD); db(0x37);  // fnsave [rdi]
    mov(word[rdx], ax);
    ret();
    ready();
  }
  void run(uint8_t* img, uint8_t* mem, uint16_t* ax) {
    getCode<void (*)(uint8_t*, uint8_t*, uint16_t*)>()(img, mem, ax);
  }
};

// ---------------------------------------------------------------- the comparison

struct Input {
  Fpu fpu;
  uint32_t eflags;
  uint8_t mem[16];
};

Input random_input(Rng& r, const Form& f) {
  Input in{};
  Fpu& p = in.fpu;
  for (auto& reg : p.r) put80(reg, random80(r));
  uint16_t empties = 0;
  for (unsigned i = 0; i < 8; ++i) {
    if (r.chance(8)) empties = static_cast<uint16_t>(empties | (3u << (2 * i)));
  }
  if (r.chance(50)) empties = 0xFFFF;
  if (r.chance(50)) empties = 0;
  p.tw = cpu::x87::retag(p, empties);
  const unsigned pc = r.below(4), rc = r.below(4);
  uint16_t masks = 0x3F;
  if (r.chance(5)) masks = static_cast<uint16_t>(r.below(64));
  p.cw = static_cast<uint16_t>(0x40 | masks | pc << 8 | rc << 10 | (r.chance(2) ? 0x1000 : 0));
  const uint16_t sticky = static_cast<uint16_t>(r.below(128) & (masks | fsw::SF));
  const uint16_t ccodes = static_cast<uint16_t>(r.below(16));
  p.sw = static_cast<uint16_t>(sticky | (ccodes & 7) << 8 | (ccodes >> 3) << 14 |
                               r.below(8) << fsw::TOP_SHIFT);
  if (!(sticky & fsw::IE)) p.sw &= static_cast<uint16_t>(~fsw::SF);
  in.eflags = 0x2 | (r.below(256) & cpu::flag::ARITH) | (r.chance(2) ? cpu::flag::OF : 0);
  for (auto& b : in.mem) b = static_cast<uint8_t>(r.next());
  if (f.mem == Mem::Load) random_operand(r, in.mem, f.size, f.integer, f.bcd);
  return in;
}

void to_image(const Fpu& p, uint8_t* img) {
  std::memset(img, 0, 108);
  std::memcpy(img + 0, &p.cw, 2);
  std::memcpy(img + 4, &p.sw, 2);
  std::memcpy(img + 8, &p.tw, 2);
  const unsigned top = cpu::x87::top(p);
  for (unsigned i = 0; i < 8; ++i) std::memcpy(img + 28 + 10 * i, p.r[(top + i) & 7], 10);
}

std::string describe(const uint8_t* img, const uint8_t* mem, unsigned size) {
  std::string s;
  char b[96];
  uint16_t cw, sw, tw;
  std::memcpy(&cw, img, 2);
  std::memcpy(&sw, img + 4, 2);
  std::memcpy(&tw, img + 8, 2);
  std::snprintf(b, sizeof b, "CW=%04X SW=%04X TW=%04X", cw, sw, tw);
  s += b;
  for (unsigned i = 0; i < 8; ++i) {
    uint64_t sig;
    uint16_t se;
    std::memcpy(&sig, img + 28 + 10 * i, 8);
    std::memcpy(&se, img + 36 + 10 * i, 2);
    std::snprintf(b, sizeof b, "%s ST%u=%04X:%016" PRIX64, i % 4 ? "" : "\n   ", i, se, sig);
    s += b;
  }
  if (size) {
    s += "\n    mem=";
    for (unsigned i = 0; i < size; ++i) {
      std::snprintf(b, sizeof b, "%02X", mem[i]);
      s += b;
    }
  }
  return s;
}

void run_form(const Form& f, uint64_t seed, unsigned cases) {
  test::OneInsn t;
  Native native(f.native);
  Rng rng{seed * 0x9E3779B97F4A7C15ull + 1};
  unsigned reports = 0, failures = 0;
  for (unsigned k = 0; k < cases; ++k) {
    const Input in = random_input(rng, f);
    // Native.
    alignas(16) uint8_t img[108];
    alignas(16) uint8_t nmem[16];
    to_image(in.fpu, img);
    std::memcpy(nmem, in.mem, 16);
    uint16_t ax = static_cast<uint16_t>(((in.eflags & 0xFF) << 8) |
                                        ((in.eflags & cpu::flag::OF) ? 0x7F : 0));
    native.run(img, nmem, &ax);
    // popek.
    cpu::Cpu& c = t.cpu();
    c.s.fpu = in.fpu;
    c.s.eflags = in.eflags;
    c.s.gpr[cpu::ESI] = kGuestMem;
    std::memcpy(t.ram() + kGuestMem, in.mem, 16);
    const cpu::Status st = t.exec(f.bytes.data(), f.bytes.size());
    alignas(16) uint8_t got[108];
    to_image(c.s.fpu, got);
    uint16_t gflags = static_cast<uint16_t>(((c.s.eflags & 0xFF) << 8) |
                                            ((c.s.eflags & cpu::flag::OF) ? 1 : 0));
    bool ok = st == cpu::Status::Ok &&
              std::memcmp(img + 28, got + 28, 80) == 0 &&
              std::memcmp(nmem, t.ram() + kGuestMem, 16) == 0;
    // CW, SW, TW are the first 12 bytes' low halves; compare them field by field.
    uint16_t a, b;
    for (unsigned off : {0u, 4u, 8u}) {
      std::memcpy(&a, img + off, 2);
      std::memcpy(&b, got + off, 2);
      ok = ok && a == b;
    }
    const uint16_t flag_mask = 0xD501;  // SF ZF AF PF CF in AH, OF in AL bit 0
    if (f.eflags_out) ok = ok && ((ax & flag_mask) == (gflags & flag_mask));
    else ok = ok && ((c.s.eflags ^ in.eflags) & 0xFFF) == 0;
    // The pointers of a non-control instruction.
    ok = ok && c.s.fpu.fip == test::OneInsn::kCodeAddr && c.s.fpu.fcs == 0x08 &&
         c.s.fpu.fop == (((f.bytes[0] & 7) << 8) | f.bytes[1]);
    if (f.mem != Mem::None) ok = ok && c.s.fpu.fdp == kGuestMem;
    if (!ok) {
      ++failures;
      if (reports++ < kMaxReports) {
        uint8_t before[108];
        to_image(in.fpu, before);
        ADD_FAILURE() << f.name << " [" << hex(f.bytes) << "] case " << k
                      << " status " << int(st) << "\n  input:  "
                      << describe(before, in.mem, f.size) << "\n  host:   "
                      << describe(img, nmem, f.mem == Mem::Store ? f.size : 0)
                      << "\n  popek:  "
                      << describe(got, t.ram() + kGuestMem, f.mem == Mem::Store ? f.size : 0)
                      << "\n  flags host " << std::hex << ax << " popek " << gflags;
      }
    }
  }
  EXPECT_EQ(failures, 0u) << f.name << " [" << hex(f.bytes) << "]";
}

void name_forms(std::vector<Form>& forms) {
  cpu::Decoder dec;
  for (Form& f : forms) {
    cpu::Insn in;
    if (dec.decode(f.bytes.data(), f.bytes.size(), cpu::CodeMode::Prot32, in) == cpu::DecodeResult::Ok && in.fn) {
      f.name = cpu::kInsnTable[in.row].name;
    } else {
      f.name = "?";
    }
  }
}

TEST(X87VsHost, MemoryForms) {
  std::vector<Form> forms = memory_forms();
  name_forms(forms);
  const unsigned n = cases_per_form();
  uint64_t seed = 1;
  for (const Form& f : forms) {
    ASSERT_NE(f.name, "?") << hex(f.bytes);
    run_form(f, seed++, n);
  }
}

TEST(X87VsHost, RegisterForms) {
  std::vector<Form> forms = register_forms();
  name_forms(forms);
  ASSERT_GT(forms.size(), 300u);
  const unsigned n = cases_per_form();
  uint64_t seed = 1000;
  for (const Form& f : forms) run_form(f, seed++, n);
}

}  // namespace
}  // namespace popek::diff
