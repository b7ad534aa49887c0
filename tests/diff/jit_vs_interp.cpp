// The JIT (jit/native.h) against the reference interpreter: random guest programs run on
// two identical machines, one with the JIT installed, and every bit of state compared.
//
// A case is one random program of 1-40 instructions drawn from the integer forms compiled
// code uses (kForms below: one row per family, with where it may appear and the registers
// it writes implicitly), in 8/16/32-bit operand sizes, register/immediate/memory operands,
// 32-bit and sometimes 16-bit addressing, segment overrides. A small table-driven encoder
// (ModRM/SIB by hand) assembles it; every encoding is checked against Zydis and popek's
// decoder by a test of its own. The program ends with HLT, at CPL 3 with INT 80h (a DPL-3
// gate to a handler that halts). Memory operands get their base and index registers from
// MOV r32, imm32 "setup" instructions placed just before them, so that addresses land
// where the generator chose: mostly in the data pages, sometimes straddling a page
// boundary, on the read-only or the not-present page, on the stack, past the limit of GS,
// through FS (base 1000h), on the program's own code page (self-modifying code), or on a
// page-table entry. Forward branches, calls to short local subroutines and short counted
// loops give multi-block programs that always end.
//
// Each case runs four times from the same initial state in each machine (random
// registers, arithmetic flags, DF, data and stack contents); the JIT translates a block on
// its second execution, so runs 2-4 exercise host code. One case in four runs in slices,
// run(until = icount + n), so that translated code must stop at the interpreter's block
// boundaries. After every run (or slice) the machines are compared: GPRs, EIP, EFLAGS (all
// bits), icount, CR2, the pending exception, segment caches, CPL, the run's exit, the
// record/data/stack area (the IDT handlers write the vector, error code and a count
// there), and with paging the page-table entries (A/D bits). Nothing is masked: the JIT
// promises identical state. A difference confined to flags the SDM leaves undefined still
// fails, labelled "undefined-flag difference".
//
// A failure prints the seed and case, every instruction (bytes, Zydis disassembly), the
// shortest program prefix that already differs (the suspected instruction), both states
// side by side with the differences marked, differing memory, and the JIT's host code for
// the program's blocks. The JitVsInterpHarness tests show that the harness can fail.
//
// Environment: POPEK_FUZZ_SEED=n replaces every test's seed; POPEK_FUZZ_CASES=n the number
// of cases per test; POPEK_FUZZ_CASE=i runs case i only; POPEK_FUZZ_MAX_REPORTS=n how many
// failing cases a test reports before it stops (3); POPEK_FUZZ_SHOW=1 prints a sample
// report from the harness tests.
#include <gtest/gtest.h>
#include <Zydis/Zydis.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tests/diff/random_values.h"
#include "cpu/block_cache.h"
#include "cpu/cpu.h"
#include "cpu/decoder.h"
#include "jit/native.h"
#include "tests/unit/cpu/sys_machine.h"

namespace popek::diff {
namespace {

using test::splitmix;
using test::count_value;
using test::kEdgeCount;
using test::mixed_value;
using test::Rng;
using cpu::EAX;
using cpu::EBP;
using cpu::EBX;
using cpu::ECX;
using cpu::EDI;
using cpu::EDX;
using cpu::ESI;
using cpu::ESP;
namespace flag = cpu::flag;
using test::SysMachine;

// ---------------------------------------------------------------- guest memory layout
//
// Everything the programs touch is below 64 KiB so that 16-bit addressing reaches it.
// SysMachine keeps its GDT, IDT and TSS at 10000h-12FFFh and the page tables at 100000h.
constexpr uint32_t kCodeLo = 0x1000, kCodeHi = 0x3000;  // the program (two pages)
constexpr uint32_t kStubs = 0x3000;                     // exception handlers, 32 bytes each
constexpr uint32_t kRec = 0x4000;                       // handlers write: vector, error, count
constexpr uint32_t kRw0 = 0x5000, kRw1 = 0x6000;        // data pages, read/write
constexpr uint32_t kRo = 0x7000;                        // read-only when paging is on
constexpr uint32_t kNp = 0x8000;                        // not present when paging is on
constexpr uint32_t kStackLo = 0x9000, kStackHi = 0xB000;
constexpr uint32_t kStack0Top = 0xC000;                 // TSS ESP0 (CPL 3 cases)
constexpr uint32_t kAreaLo = 0x4000, kAreaHi = 0xC000;  // restored before, compared after each run
constexpr uint32_t kFsBase = 0x1000;
constexpr uint32_t kGsLimit = 0x7FFF;             // accesses to kNp and up via GS: #GP
constexpr uint16_t kSelGs = 0x43, kSelFs = 0x4B;  // GDT entries 8 and 9, RPL 3
constexpr uint8_t kEndVector = 0x80;              // INT 80h ends a CPL 3 program
constexpr unsigned kRuns = 4;
constexpr uint64_t kBudget = 200000;  // instructions per run
constexpr unsigned kMaxReports = 3;   // failures printed per test

constexpr bool has_error_code(unsigned v) { return v == 8 || (v >= 10 && v <= 14) || v == 17; }

// ---------------------------------------------------------------- random numbers

constexpr uint32_t kEdge8[] = {0, 1, 2, 0x7F, 0x80, 0x81, 0xFE, 0xFF, 0x0F, 0x10, 0x1F, 0x20};
constexpr uint32_t kEdge16[] = {0,      1,      0x7F,   0x80,   0xFF,  0x100,
                                0x7FFF, 0x8000, 0x8001, 0xFFFF, 0xFFFE};
constexpr uint32_t kEdge32[] = {0,          1,          0x7F,      0x80,       0xFF,
                                0x7FFF,     0x8000,     0xFFFF,    0x7FFFFFFF, 0x80000000,
                                0x80000001, 0xFFFFFFFF, 0xFFFFFFFE};

// A register or immediate value: random, or an edge value in one of its parts.
uint32_t value(Rng& r) { return mixed_value(r, kEdge8, kEdge16, kEdge32); }

bool fits8(uint32_t v) {
  const int32_t s = static_cast<int32_t>(v);
  return s >= -128 && s <= 127;
}

// ---------------------------------------------------------------- programs

// One generated instruction. Branches carry a reference that layout() resolves.
struct GInsn {
  enum class Ref : uint8_t { None, Unit, Sub, Local };
  std::vector<uint8_t> bytes;
  Ref ref = Ref::None;
  uint8_t rel_size = 0;  // bytes of the rel field, which ends the instruction
  int target = 0;        // Unit: main unit index; Sub: subroutine; Local: insn in this unit
  uint32_t undef = 0;    // EFLAGS bits the SDM may leave undefined after it
  bool setup = false;    // put there by the generator to set up an operand (for reports)
};

// A unit is what one table row generated: the instruction plus its setup. Branches only
// target unit starts, so a setup and its instruction are never separated.
struct Unit {
  std::vector<GInsn> insns;
};

struct Program {
  std::vector<Unit> main;  // ends with `terminator`
  std::vector<Unit> subs;  // CALL targets, each ending with RET, placed after the terminator
  std::vector<uint8_t> terminator;
};

// The program laid out at an address.
struct Placed {
  uint32_t addr;
  const GInsn* in;
  int unit;  // main unit index; the terminator is main.size() (or the truncation); subs -1-n
};
struct Image {
  uint32_t base = 0;
  std::vector<uint8_t> bytes;
  std::vector<Placed> insns;
};

// Lays out main units [0, n_main), the terminator, then the subroutines. Forward branches
// to units past n_main go to the terminator; a rel8 branch whose unit is out of reach
// goes to the farthest unit it reaches (the next unit always is: branches end their unit).
Image layout(const Program& p, uint32_t base, size_t n_main) {
  static const GInsn kTerm{};
  Image img;
  img.base = base;
  std::vector<uint32_t> unit_addr(n_main + 1), sub_addr(p.subs.size());
  std::vector<std::vector<uint32_t>> main_addr(n_main), subs_addr(p.subs.size());
  uint32_t a = base;
  for (size_t u = 0; u < n_main; ++u) {
    unit_addr[u] = a;
    for (const GInsn& in : p.main[u].insns) {
      main_addr[u].push_back(a);
      a += in.bytes.size();
    }
  }
  unit_addr[n_main] = a;
  a += p.terminator.size();
  for (size_t s = 0; s < p.subs.size(); ++s) {
    sub_addr[s] = a;
    for (const GInsn& in : p.subs[s].insns) {
      subs_addr[s].push_back(a);
      a += in.bytes.size();
    }
  }
  auto place = [&](const GInsn& in, uint32_t at, int unit, const std::vector<uint32_t>& local) {
    std::vector<uint8_t> b = in.bytes;
    if (in.ref != GInsn::Ref::None) {
      const uint32_t next = at + b.size();
      uint32_t t = 0;
      switch (in.ref) {
        case GInsn::Ref::Unit: {
          size_t u = std::min<size_t>(in.target, n_main);
          if (in.rel_size == 1) {
            while (u > static_cast<size_t>(unit) + 1 && !fits8(unit_addr[u] - next)) --u;
          }
          t = unit_addr[u];
          break;
        }
        case GInsn::Ref::Sub: t = sub_addr[in.target]; break;
        case GInsn::Ref::Local: t = local[in.target]; break;
        case GInsn::Ref::None: break;
      }
      const uint32_t rel = t - next;
      if (in.rel_size == 1 && !fits8(rel)) {
        fprintf(stderr, "jit_vs_interp: rel8 out of range at %08x\n", at);
        abort();
      }
      for (unsigned i = 0; i < in.rel_size; ++i)
        b[b.size() - in.rel_size + i] = static_cast<uint8_t>(rel >> (8 * i));
    }
    img.bytes.insert(img.bytes.end(), b.begin(), b.end());
    img.insns.push_back({at, &in, unit});
  };
  for (size_t u = 0; u < n_main; ++u) {
    for (size_t i = 0; i < p.main[u].insns.size(); ++i)
      place(p.main[u].insns[i], main_addr[u][i], static_cast<int>(u), main_addr[u]);
  }
  img.bytes.insert(img.bytes.end(), p.terminator.begin(), p.terminator.end());
  img.insns.push_back({unit_addr[n_main], &kTerm, static_cast<int>(n_main)});
  for (size_t s = 0; s < p.subs.size(); ++s) {
    for (size_t i = 0; i < p.subs[s].insns.size(); ++i)
      place(p.subs[s].insns[i], subs_addr[s][i], -1 - static_cast<int>(s), subs_addr[s]);
  }
  return img;
}

// ---------------------------------------------------------------- the encoder

// A ModRM operand: a register, or a memory reference (32- or 16-bit addressing).
struct Rm {
  bool mem = false;
  uint8_t reg = 0;
  bool a16 = false;
  int8_t base = -1, index = -1;  // 32-bit addressing
  uint8_t scale = 0;             // log2
  uint8_t rm16 = 0, mod16 = 0;   // 16-bit addressing
  uint32_t disp = 0;
  uint8_t disp_size = 0;  // 32-bit: 0, 1 or 4
  int8_t seg = -1;        // segment override, or -1
  uint8_t used = 0;       // GPRs the address depends on
};

Rm reg_rm(unsigned r) {
  Rm m;
  m.reg = static_cast<uint8_t>(r);
  return m;
}

struct Bytes {
  std::vector<uint8_t> v;
  Bytes& b(unsigned x) {
    v.push_back(static_cast<uint8_t>(x));
    return *this;
  }
  Bytes& imm(uint32_t x, unsigned n) {
    for (unsigned i = 0; i < n; ++i) v.push_back(static_cast<uint8_t>(x >> (8 * i)));
    return *this;
  }
};

void put_modrm(Bytes& o, unsigned regf, const Rm& m) {
  regf &= 7;
  if (!m.mem) {
    o.b(0xC0 | regf << 3 | m.reg);
    return;
  }
  if (m.a16) {
    o.b(m.mod16 << 6 | regf << 3 | m.rm16);
    if (m.mod16 == 1) o.imm(m.disp, 1);
    if (m.mod16 == 2 || (m.mod16 == 0 && m.rm16 == 6)) o.imm(m.disp, 2);
    return;
  }
  if (m.base < 0 && m.index < 0) {
    o.b(regf << 3 | 5).imm(m.disp, 4);
    return;
  }
  if (m.base < 0) {
    o.b(regf << 3 | 4).b(m.scale << 6 | m.index << 3 | 5).imm(m.disp, 4);
    return;
  }
  const unsigned mod = m.disp_size == 0 ? 0 : m.disp_size == 1 ? 1 : 2;
  const bool sib = m.index >= 0 || m.base == ESP;
  o.b(mod << 6 | regf << 3 | (sib ? 4 : m.base));
  if (sib) o.b(m.scale << 6 | (m.index >= 0 ? m.index : 4) << 3 | m.base);
  if (mod == 1) o.imm(m.disp, 1);
  if (mod == 2) o.imm(m.disp, 4);
}

struct Pfx {
  bool o16 = false, a16 = false, lock = false;
  uint8_t rep = 0;  // 0, 0xF3 or 0xF2
  int8_t seg = -1;
};

void put_prefixes(Bytes& o, const Pfx& p) {
  static constexpr uint8_t kSegPrefix[] = {0x26, 0x2E, 0x36, 0x3E, 0x64, 0x65};
  if (p.lock) o.b(0xF0);
  if (p.rep) o.b(p.rep);
  if (p.seg >= 0) o.b(kSegPrefix[p.seg]);
  if (p.o16) o.b(0x66);
  if (p.a16) o.b(0x67);
}

// ---------------------------------------------------------------- the generator

// Machine configuration of one case.
enum class Mode : uint8_t { FlatCpl0, PagedCpl0, PagedCpl3, Wide16 };

const char* mode_name(Mode m) {
  switch (m) {
    case Mode::FlatCpl0: return "flat-cpl0";
    case Mode::PagedCpl0: return "paged-cpl0";
    case Mode::PagedCpl3: return "paged-cpl3";
    case Mode::Wide16: return "wide16";
  }
  return "?";
}

struct CaseCfg {
  unsigned cpl = 0;
  bool paging = false;
  bool wp = false;        // CR0.WP: supervisor writes to the read-only page fault
  bool am = false;        // CR0.AM: with EFLAGS.AC at CPL 3, misaligned accesses raise #AC
  unsigned a16_pct = 5;   // memory operands with 16-bit addressing
  unsigned o16_pct = 15;  // instructions with 16-bit operand size
};

// Where a table row may be used.
constexpr uint8_t kMain = 1, kLoop = 2, kSub = 4, kAll = kMain | kLoop | kSub;

constexpr uint8_t bit(unsigned r) { return static_cast<uint8_t>(1u << r); }

class Gen;
using GenFn = void (*)(Gen&);

// One family of instruction forms.
struct FormRow {
  const char* name;
  unsigned weight;
  uint8_t where;     // kMain | kLoop | kSub
  uint8_t implicit;  // GPRs written that the generator does not choose (bit per GPR)
  GenFn gen;
};

class Gen {
 public:
  Gen(Rng& r, const CaseCfg& cfg, Program& p) : r(r), cfg(cfg), prog(p) {}

  Rng& r;
  const CaseCfg& cfg;
  Program& prog;
  std::vector<GInsn>* out = nullptr;
  uint8_t avoid = 0;  // GPRs that must keep their value (the loop counter)
  uint8_t ctx = kMain;
  int unit = 0;      // index of the main unit being generated
  uint32_t smc = 0;  // 256 bytes of a code page the program does not occupy

  // One row of kForms allowed here, by weight.
  void form(uint8_t where);

  // --- operand choice
  bool writable(unsigned r8, unsigned s) const {
    if (s != 1 && r8 == ESP) return false;
    return !(avoid & bit(s == 1 ? (r8 & 3) : r8));
  }
  // A register of size s the instruction may write (8-bit numbering for s = 1).
  unsigned wreg(unsigned s, uint8_t exclude = 0) {
    for (int tries = 0; tries < 64; ++tries) {
      const unsigned x = r.below(8);
      if (writable(x, s) && !(exclude & bit(s == 1 ? (x & 3) : x))) return x;
    }
    return s == 1 ? 3 : EBX;  // not reached with the masks in use; BL/EBX is never avoided
  }
  unsigned anyreg() { return r.below(8); }
  unsigned size(uint8_t allowed) {  // bit 0: 8-bit, 1: 16-bit, 2: 32-bit
    if ((allowed & 2) && r.chance(cfg.o16_pct)) return 2;
    if ((allowed & 1) && r.chance(22)) return 1;
    if (allowed & 4) return 4;
    return (allowed & 2) ? 2 : 1;
  }
  uint32_t imm(unsigned s) {
    const uint32_t v = value(r);
    return s == 4 ? v : v & ((1u << (8 * s)) - 1);
  }
  Rm rm_w(unsigned s, unsigned mem_pct) { return r.chance(mem_pct) ? mem(s) : reg_rm(wreg(s)); }
  Rm rm_r(unsigned s, unsigned mem_pct) { return r.chance(mem_pct) ? mem(s) : reg_rm(anyreg()); }

  // A memory operand of `size` bytes, its setup instructions emitted now.
  Rm mem(unsigned size, bool abs_only = false, uint8_t exclude = 0);
  // A random address for LEA (never accessed): any registers, no setup.
  Rm lea_mem();
  uint32_t target(unsigned size);

  // --- emitting
  GInsn& emit(Bytes b, uint32_t undef = 0) {
    out->push_back(GInsn{std::move(b.v), GInsn::Ref::None, 0, 0, undef, false});
    return out->back();
  }
  void setup_mov(unsigned reg32, uint32_t v) {
    emit(Bytes().b(0xB8 + reg32).imm(v, 4)).setup = true;
  }
  Pfx pfx(unsigned s, const Rm& rm) const {
    Pfx p;
    p.o16 = s == 2;
    if (rm.mem) {
      p.a16 = rm.a16;
      p.seg = rm.seg;
    }
    return p;
  }
  // prefixes, opcode bytes, ModRM (with `regf`), immediate
  GInsn& op(Pfx p, std::initializer_list<uint8_t> opc, unsigned regf, const Rm& rm,
            uint32_t immv = 0, unsigned isz = 0, uint32_t undef = 0) {
    Bytes b;
    put_prefixes(b, p);
    for (uint8_t x : opc) b.b(x);
    put_modrm(b, regf, rm);
    b.imm(immv, isz);
    return emit(std::move(b), undef);
  }
  GInsn& raw(Pfx p, std::initializer_list<uint8_t> opc, uint32_t immv = 0, unsigned isz = 0,
             uint32_t undef = 0) {
    Bytes b;
    put_prefixes(b, p);
    for (uint8_t x : opc) b.b(x);
    b.imm(immv, isz);
    return emit(std::move(b), undef);
  }
  bool lock(const Rm& rm) { return rm.mem && r.chance(4); }

  // A new subroutine (1-4 rows, then RET); returns its index.
  int make_sub();
};

// Where a memory operand points, as a linear address.
uint32_t Gen::target(unsigned size) {
  const unsigned k = r.below(100);
  uint32_t t;
  if (k < 74) {
    t = kRw0 + r.below(0x2000 - size + 1);
    if (r.chance(50)) t &= ~(size - 1);
  } else if (k < 80) {  // straddling RW/RW, RW/RO, RO/NP, NP/stack
    const uint32_t edge = kRw1 + 0x1000 * r.below(4);
    t = size > 1 ? edge - 1 - r.below(size - 1) : edge - r.below(2);
  } else if (k < 84) {
    t = kRo + r.below(0x1000 - size + 1);
  } else if (k < 86) {
    t = kNp + r.below(0x1000 - size + 1);
  } else if (k < 95) {
    t = kStackLo + r.below(0x2000 - size + 1);
  } else if (k < 96) {  // the program's code page: its blocks are dropped (self-modifying code)
    t = smc + r.below(0x100 - size + 1);
  } else {
    const uint32_t edges[] = {kRw0, kRw1 - size, kRw1, kRo - size, kRo, kNp - size};
    t = edges[r.below(6)];
  }
  return t;
}

Rm Gen::mem(unsigned size, bool abs_only, uint8_t exclude) {
  static constexpr uint8_t kRm16Regs[8][2] = {{EBX, ESI},  {EBX, EDI},  {EBP, ESI},  {EBP, EDI},
                                              {ESI, 0xFF}, {EDI, 0xFF}, {EBP, 0xFF}, {EBX, 0xFF}};
  Rm m;
  m.mem = true;
  if (r.chance(10)) m.seg = static_cast<int8_t>(r.below(6));
  const uint32_t segbase = m.seg == cpu::FS ? kFsBase : 0;
  const uint32_t off = target(size) - segbase;
  auto free_reg = [&](unsigned x) { return writable(x, 4) && !(exclude & bit(x)); };
  if (r.chance(cfg.a16_pct) && off <= 0xFFFF) {
    m.a16 = true;
    m.rm16 = static_cast<uint8_t>(r.below(8));
    const uint8_t* regs = kRm16Regs[m.rm16];
    const bool ok = free_reg(regs[0]) && (regs[1] == 0xFF || free_reg(regs[1]));
    if (abs_only || !ok || (m.rm16 == 6 && r.chance(30))) {
      m.rm16 = 6;
      m.mod16 = 0;
      m.disp = off;
      return m;
    }
    m.mod16 = static_cast<uint8_t>(r.below(3));
    if (m.mod16 == 0 && m.rm16 == 6) m.mod16 = 1;
    m.disp = m.mod16 == 0   ? 0
             : m.mod16 == 1 ? static_cast<uint32_t>(r.range(-128, 127))
                            : r.below(0x10000);
    const uint32_t vi = regs[1] == 0xFF ? 0 : r.below(0x10000);
    const uint32_t vb = (off - vi - m.disp) & 0xFFFF;
    if (regs[1] != 0xFF) setup_mov(regs[1], (r.u32() & 0xFFFF0000u) | vi);
    setup_mov(regs[0], (r.u32() & 0xFFFF0000u) | vb);
    m.used = bit(regs[0]) | (regs[1] == 0xFF ? 0 : bit(regs[1]));
    if (m.mod16 == 1) m.disp &= 0xFF;
    return m;
  }
  const unsigned k = r.below(100);
  if (abs_only || k < 15) {
    m.disp = off;
    m.disp_size = 4;
    return m;
  }
  if (k < 25) {  // [esp + disp8]: somewhere in the stack (in a subroutine, not its return address)
    m.base = ESP;
    m.disp = static_cast<uint32_t>(ctx == kSub ? r.range(4, 96) : r.range(-32, 96));
    m.disp_size = 1;
    m.used = bit(ESP);
    return m;
  }
  unsigned b = wreg(4, exclude);
  if (!free_reg(b)) {
    m.disp = off;
    m.disp_size = 4;
    return m;
  }
  const bool with_index = r.chance(55);
  const bool no_base = with_index && r.chance(8);
  unsigned i = r.chance(15) ? b : wreg(4, exclude);
  m.scale = static_cast<uint8_t>(r.below(4));
  const uint32_t vi = r.chance(80) ? static_cast<uint32_t>(r.range(-64, 64)) : r.u32();
  if (no_base) {
    m.index = static_cast<int8_t>(i);
    m.disp = off - (vi << m.scale);
    m.disp_size = 4;
    setup_mov(i, vi);
    m.used = bit(i);
    return m;
  }
  m.base = static_cast<int8_t>(b);
  const unsigned dc = r.below(3);
  uint32_t disp = dc == 0 ? 0 : dc == 1 ? static_cast<uint32_t>(r.range(-128, 127)) : r.u32();
  if (with_index && i == b) {
    const uint32_t v = r.chance(50) ? static_cast<uint32_t>(r.range(-64, 64)) : r.u32();
    disp = off - v * (1 + (1u << m.scale));
    m.index = static_cast<int8_t>(i);
    setup_mov(b, v);
  } else {
    uint32_t vb;
    if (with_index) {
      m.index = static_cast<int8_t>(i);
      vb = off - (vi << m.scale) - disp;
      setup_mov(i, vi);
    } else {
      vb = off - disp;
    }
    setup_mov(b, vb);
  }
  m.disp = disp;
  m.disp_size = disp == 0 ? 0 : fits8(disp) ? 1 : 4;
  if (m.disp_size == 0 && b == EBP) m.disp_size = 1;
  m.used = bit(b) | (m.index >= 0 ? bit(m.index) : 0);
  return m;
}

Rm Gen::lea_mem() {
  Rm m;
  m.mem = true;
  if (r.chance(cfg.a16_pct)) {
    m.a16 = true;
    m.rm16 = static_cast<uint8_t>(r.below(8));
    m.mod16 = static_cast<uint8_t>(r.below(3));
    m.disp = m.mod16 == 1 ? r.below(256) : r.below(0x10000);
    return m;
  }
  if (r.chance(10)) {
    m.disp = r.u32();
    m.disp_size = 4;
    return m;
  }
  m.base = static_cast<int8_t>(anyreg());
  if (r.chance(50)) {
    m.index = static_cast<int8_t>(r.below(7));
    if (m.index == ESP) m.index = EDI;
    m.scale = static_cast<uint8_t>(r.below(4));
  }
  const unsigned dc = r.below(3);
  m.disp = dc == 0 ? 0 : dc == 1 ? static_cast<uint32_t>(r.range(-128, 127)) : r.u32();
  m.disp_size = m.disp == 0 ? 0 : fits8(m.disp) ? 1 : 4;
  if (m.disp_size == 0 && m.base == EBP) m.disp_size = 1;
  return m;
}

// ---------------------------------------------------------------- the forms

constexpr uint32_t kUndefLogic = flag::AF;

// Flags the SDM leaves undefined after a shift or rotate (ModRM /ext) of `s` bytes by
// `count` (-1: by CL, not known here).
uint32_t shift_undef(unsigned ext, unsigned s, int count) {
  const bool rotate = ext < 4, shl_shr = ext == 4 || ext == 5;
  if (count < 0) return rotate ? flag::OF : flag::OF | flag::AF | (shl_shr ? flag::CF : 0);
  const unsigned c = count & 0x1F;
  if (c == 0) return 0;
  if (rotate) return c > 1 ? flag::OF : 0;
  return flag::AF | (c != 1 ? flag::OF : 0) | (shl_shr && c >= 8 * s ? flag::CF : 0);
}

// The same for SHLD/SHRD: a count above the operand width leaves result and flags undefined.
uint32_t dshift_undef(unsigned s, int count) {
  if (count < 0) return flag::ARITH;
  const unsigned c = count & 0x1F;
  if (c == 0) return 0;
  if (c > 8 * s) return flag::ARITH;
  return flag::AF | (c != 1 ? flag::OF : 0);
}
constexpr uint32_t kUndefMul = flag::SF | flag::ZF | flag::AF | flag::PF;
constexpr uint32_t kUndefBt = flag::OF | flag::SF | flag::AF | flag::PF;
constexpr uint32_t kUndefScan = flag::CF | flag::OF | flag::SF | flag::AF | flag::PF;

// ADD OR ADC SBB AND SUB XOR CMP: op*8 + {Eb,Gb Ev,Gv Gb,Eb Gv,Ev AL,Ib eAX,Iz}; 80/81/83 /op
void gen_alu(Gen& g) {
  const unsigned opn = g.r.below(8);
  const bool cmp = opn == 7;
  const unsigned s = g.size(7), w = s > 1;
  const uint32_t undef = (opn == 1 || opn == 4 || opn == 6) ? kUndefLogic : 0;
  const uint8_t base = static_cast<uint8_t>(opn * 8);
  unsigned v = g.r.below(5);
  if (v == 3 && !cmp && !g.writable(EAX, s)) v = 4;
  switch (v) {
    case 0:
    case 1: {  // r/m, reg
      const Rm rm = cmp ? g.rm_r(s, 45) : g.rm_w(s, 45);
      Pfx p = g.pfx(s, rm);
      p.lock = !cmp && g.lock(rm);
      g.op(p, {static_cast<uint8_t>(base + w)}, g.anyreg(), rm, 0, 0, undef);
      break;
    }
    case 2: {  // reg, r/m
      const unsigned reg = cmp ? g.anyreg() : g.wreg(s);
      const Rm rm = g.rm_r(s, 45);
      g.op(g.pfx(s, rm), {static_cast<uint8_t>(base + 2 + w)}, reg, rm, 0, 0, undef);
      break;
    }
    case 3: g.raw(g.pfx(s, Rm{}), {static_cast<uint8_t>(base + 4 + w)}, g.imm(s), s, undef); break;
    default: {  // r/m, imm
      const Rm rm = cmp ? g.rm_r(s, 40) : g.rm_w(s, 40);
      Pfx p = g.pfx(s, rm);
      p.lock = !cmp && g.lock(rm);
      if (s > 1 && g.r.chance(40)) {
        g.op(p, {0x83}, opn, rm, g.imm(1), 1, undef);
      } else {
        g.op(p, {static_cast<uint8_t>(0x80 + w)}, opn, rm, g.imm(s), s, undef);
      }
    }
  }
}

// TEST r/m, reg (84/85); TEST acc, imm (A8/A9); TEST r/m, imm (F6/F7 /0)
void gen_test(Gen& g) {
  const unsigned s = g.size(7), w = s > 1;
  switch (g.r.below(3)) {
    case 0: {
      const Rm rm = g.rm_r(s, 40);
      g.op(g.pfx(s, rm), {static_cast<uint8_t>(0x84 + w)}, g.anyreg(), rm, 0, 0, kUndefLogic);
      break;
    }
    case 1:
      g.raw(g.pfx(s, Rm{}), {static_cast<uint8_t>(0xA8 + w)}, g.imm(s), s, kUndefLogic);
      break;
    default: {
      const Rm rm = g.rm_r(s, 40);
      g.op(g.pfx(s, rm), {static_cast<uint8_t>(0xF6 + w)}, 0, rm, g.imm(s), s, kUndefLogic);
    }
  }
}

// INC/DEC r16/32 (40+r, 48+r); INC/DEC r/m (FE/FF /0 /1)
void gen_incdec(Gen& g) {
  const unsigned s = g.size(7), dec = g.r.below(2);
  if (s > 1 && g.r.chance(40)) {
    g.raw(g.pfx(s, Rm{}), {static_cast<uint8_t>(0x40 + dec * 8 + g.wreg(s))});
    return;
  }
  const Rm rm = g.rm_w(s, 40);
  Pfx p = g.pfx(s, rm);
  p.lock = g.lock(rm);
  g.op(p, {static_cast<uint8_t>(s > 1 ? 0xFF : 0xFE)}, dec, rm);
}

// NOT r/m (F6/F7 /2); NEG r/m (F6/F7 /3)
void gen_notneg(Gen& g) {
  const unsigned s = g.size(7);
  const Rm rm = g.rm_w(s, 40);
  Pfx p = g.pfx(s, rm);
  p.lock = g.lock(rm);
  g.op(p, {static_cast<uint8_t>(s > 1 ? 0xF7 : 0xF6)}, 2 + g.r.below(2), rm);
}

// MUL IMUL DIV IDIV r/m (F6/F7 /4-/7); divides are often preceded by a dividend that fits
void gen_muldiv(Gen& g) {
  const unsigned ext = 4 + g.r.below(4);
  const unsigned s = g.size(7);
  const bool div = ext >= 6;
  if (div && g.r.chance(60)) {  // CDQ / CWD / CBW, or XOR EDX, EDX / XOR DX, DX / MOV AH, 0
    GInsn* in;
    if (ext == 7) {
      in = &g.raw(Pfx{.o16 = s < 4}, {static_cast<uint8_t>(s == 1 ? 0x98 : 0x99)});
    } else if (s > 1) {
      in = &g.raw(Pfx{.o16 = s == 2}, {0x31, 0xD2});
    } else {
      in = &g.raw(Pfx{}, {0xB4, 0x00});
    }
    in->setup = true;
  }
  const Rm rm = g.rm_r(s, 40);
  g.op(g.pfx(s, rm), {static_cast<uint8_t>(s > 1 ? 0xF7 : 0xF6)}, ext, rm, 0, 0,
       div ? flag::ARITH : kUndefMul);
}

// IMUL r, r/m (0F AF); IMUL r, r/m, imm (69, 6B)
void gen_imul(Gen& g) {
  const unsigned s = g.size(6);
  const unsigned reg = g.wreg(s);
  const Rm rm = g.rm_r(s, 40);
  switch (g.r.below(3)) {
    case 0: g.op(g.pfx(s, rm), {0x0F, 0xAF}, reg, rm, 0, 0, kUndefMul); break;
    case 1: g.op(g.pfx(s, rm), {0x69}, reg, rm, g.imm(s), s, kUndefMul); break;
    default: g.op(g.pfx(s, rm), {0x6B}, reg, rm, g.imm(1), 1, kUndefMul); break;
  }
}

// ROL ROR RCL RCR SHL SHR SAR r/m by imm8 (C0/C1), by 1 (D0/D1), by CL (D2/D3)
void gen_shift(Gen& g) {
  static constexpr uint8_t kExt[] = {0, 1, 2, 3, 4, 5, 7};
  const unsigned ext = kExt[g.r.below(7)];
  const unsigned s = g.size(7), w = s > 1;
  const unsigned v = g.r.below(3);
  if (v == 2 && g.writable(ECX, 1) && g.r.chance(30)) {
    g.raw(Pfx{}, {0xB1}, count_value(g.r), 1).setup = true;  // MOV CL, imm8
  }
  const Rm rm = g.rm_w(s, 35);
  switch (v) {
    case 0: {
      const uint32_t n = count_value(g.r);
      g.op(g.pfx(s, rm), {static_cast<uint8_t>(0xC0 + w)}, ext, rm, n, 1, shift_undef(ext, s, n));
      break;
    }
    case 1:
      g.op(g.pfx(s, rm), {static_cast<uint8_t>(0xD0 + w)}, ext, rm, 0, 0, shift_undef(ext, s, 1));
      break;
    default:
      g.op(g.pfx(s, rm), {static_cast<uint8_t>(0xD2 + w)}, ext, rm, 0, 0, shift_undef(ext, s, -1));
      break;
  }
}

// SHLD/SHRD r/m, reg, imm8 (0F A4/AC) or CL (0F A5/AD)
void gen_dshift(Gen& g) {
  const unsigned s = g.size(6);
  const uint8_t opc = g.r.below(2) ? 0xA4 : 0xAC;
  const bool cl = g.r.below(2);
  const Rm rm = g.rm_w(s, 35);
  if (cl) {
    g.op(g.pfx(s, rm), {0x0F, static_cast<uint8_t>(opc + 1)}, g.anyreg(), rm, 0, 0,
         dshift_undef(s, -1));
  } else {
    const uint32_t n = count_value(g.r);
    g.op(g.pfx(s, rm), {0x0F, opc}, g.anyreg(), rm, n, 1, dshift_undef(s, n));
  }
}

// BT BTS BTR BTC r/m, reg (0F A3/AB/B3/BB) or imm8 (0F BA /4-/7)
void gen_bt(Gen& g) {
  static constexpr uint8_t kOpc[] = {0xA3, 0xAB, 0xB3, 0xBB};
  const unsigned s = g.size(6), opn = g.r.below(4);
  const bool imm_form = g.r.below(2);
  const bool use_mem = g.r.chance(40);
  if (imm_form) {
    const Rm rm = use_mem ? g.mem(s) : reg_rm(opn == 0 ? g.anyreg() : g.wreg(s));
    Pfx p = g.pfx(s, rm);
    p.lock = opn != 0 && g.lock(rm);
    g.op(p, {0x0F, 0xBA}, 4 + opn, rm, g.r.below(256), 1, kUndefBt);
    return;
  }
  if (!use_mem) {
    const Rm rm = reg_rm(opn == 0 ? g.anyreg() : g.wreg(s));
    g.op(g.pfx(s, rm), {0x0F, kOpc[opn]}, g.anyreg(), rm, 0, 0, kUndefBt);
    return;
  }
  // The bit offset in a register moves the access: keep it small.
  const Rm rm = g.mem(s);
  const unsigned off = g.wreg(4, rm.used);
  g.setup_mov(off, static_cast<uint32_t>(g.r.range(-200, 400)));
  Pfx p = g.pfx(s, rm);
  p.lock = opn != 0 && g.lock(rm);
  g.op(p, {0x0F, kOpc[opn]}, off, rm, 0, 0, kUndefBt);
}

// BSF/BSR r, r/m (0F BC/BD)
void gen_bitscan(Gen& g) {
  const unsigned s = g.size(6);
  const unsigned reg = g.wreg(s);
  const Rm rm = g.rm_r(s, 40);
  g.op(g.pfx(s, rm), {0x0F, static_cast<uint8_t>(0xBC + g.r.below(2))}, reg, rm, 0, 0, kUndefScan);
}

// BSWAP r32 (0F C8+r)
void gen_bswap(Gen& g) { g.raw(Pfx{}, {0x0F, static_cast<uint8_t>(0xC8 + g.wreg(4))}); }

// SETcc r/m8 (0F 90+cc)
void gen_setcc(Gen& g) {
  const Rm rm = g.rm_w(1, 35);
  g.op(g.pfx(1, rm), {0x0F, static_cast<uint8_t>(0x90 + g.r.below(16))}, 0, rm);
}

// CMOVcc r, r/m (0F 40+cc)
void gen_cmov(Gen& g) {
  const unsigned s = g.size(6);
  const unsigned reg = g.wreg(s);
  const Rm rm = g.rm_r(s, 40);
  g.op(g.pfx(s, rm), {0x0F, static_cast<uint8_t>(0x40 + g.r.below(16))}, reg, rm);
}

// MOV r/m, reg (88/89); reg, r/m (8A/8B); reg, imm (B0+r, B8+r); r/m, imm (C6/C7 /0);
// acc <-> moffs (A0-A3)
void gen_mov(Gen& g) {
  const unsigned s = g.size(7), w = s > 1;
  switch (g.r.below(6)) {
    case 0: {
      const Rm rm = g.rm_w(s, 50);
      g.op(g.pfx(s, rm), {static_cast<uint8_t>(0x88 + w)}, g.anyreg(), rm);
      break;
    }
    case 1:
    case 2: {
      const unsigned reg = g.wreg(s);
      const Rm rm = g.rm_r(s, 50);
      g.op(g.pfx(s, rm), {static_cast<uint8_t>(0x8A + w)}, reg, rm);
      break;
    }
    case 3:
      g.raw(g.pfx(s, Rm{}), {static_cast<uint8_t>((w ? 0xB8 : 0xB0) + g.wreg(s))}, g.imm(s), s);
      break;
    case 4: {
      const Rm rm = g.rm_w(s, 50);
      g.op(g.pfx(s, rm), {static_cast<uint8_t>(0xC6 + w)}, 0, rm, g.imm(s), s);
      break;
    }
    default: {
      const bool load = g.writable(EAX, s) && g.r.below(2);
      const Rm m = g.mem(s, true);
      g.raw(g.pfx(s, m), {static_cast<uint8_t>((load ? 0xA0 : 0xA2) + w)}, m.disp, m.a16 ? 2 : 4);
    }
  }
}

// MOVZX/MOVSX r, r/m8 (0F B6/BE); r, r/m16 (0F B7/BF)
void gen_movx(Gen& g) {
  const unsigned s = g.size(6);
  const unsigned src = g.r.below(3) ? 1 : 2;
  const bool sign = g.r.below(2);
  const unsigned reg = g.wreg(s);
  const Rm rm = g.rm_r(src, 45);
  Pfx p = g.pfx(s, rm);
  g.op(p, {0x0F, static_cast<uint8_t>(0xB6 + (src == 2) + (sign ? 8 : 0))}, reg, rm);
}

// LEA r, m (8D)
void gen_lea(Gen& g) {
  const unsigned s = g.size(6);
  const Rm rm = g.lea_mem();
  g.op(g.pfx(s, rm), {0x8D}, g.wreg(s), rm);
}

// XCHG r/m, reg (86/87); XCHG eAX, r (90+r)
void gen_xchg(Gen& g) {
  const unsigned s = g.size(7), w = s > 1;
  if (s > 1 && g.writable(EAX, s) && g.r.chance(30)) {
    g.raw(g.pfx(s, Rm{}), {static_cast<uint8_t>(0x90 + g.wreg(s))});
    return;
  }
  const Rm rm = g.rm_w(s, 40);
  g.op(g.pfx(s, rm), {static_cast<uint8_t>(0x86 + w)}, g.wreg(s), rm);
}

// XADD r/m, reg (0F C0/C1)
void gen_xadd(Gen& g) {
  const unsigned s = g.size(7);
  const Rm rm = g.rm_w(s, 40);
  Pfx p = g.pfx(s, rm);
  p.lock = g.lock(rm);
  g.op(p, {0x0F, static_cast<uint8_t>(0xC0 + (s > 1))}, g.wreg(s), rm);
}

// CMPXCHG r/m, reg (0F B0/B1)
void gen_cmpxchg(Gen& g) {
  const unsigned s = g.size(7);
  const Rm rm = g.rm_w(s, 45);
  Pfx p = g.pfx(s, rm);
  p.lock = g.lock(rm);
  g.op(p, {0x0F, static_cast<uint8_t>(0xB0 + (s > 1))}, g.anyreg(), rm);
}

// CMPXCHG8B m64 (0F C7 /1)
void gen_cmpxchg8b(Gen& g) {
  const Rm rm = g.mem(8);
  Pfx p = g.pfx(4, rm);
  p.lock = g.r.chance(20);
  g.op(p, {0x0F, 0xC7}, 1, rm);
}

// PUSH r (50+r), imm8 (6A), imm (68), r/m (FF /6)
void gen_push(Gen& g) {
  const unsigned s = g.r.chance(15) ? 2 : 4;
  switch (g.r.below(4)) {
    case 0: g.raw(g.pfx(s, Rm{}), {static_cast<uint8_t>(0x50 + g.anyreg())}); break;
    case 1: g.raw(g.pfx(s, Rm{}), {0x6A}, g.imm(1), 1); break;
    case 2: g.raw(g.pfx(s, Rm{}), {0x68}, g.imm(s), s); break;
    default: {
      const Rm rm = g.rm_r(s, 80);
      g.op(g.pfx(s, rm), {0xFF}, 6, rm);
    }
  }
}

// POP r (58+r); POP r/m (8F /0)
void gen_pop(Gen& g) {
  const unsigned s = g.r.chance(15) ? 2 : 4;
  if (g.r.below(2)) {
    g.raw(g.pfx(s, Rm{}), {static_cast<uint8_t>(0x58 + g.wreg(s))});
  } else {
    const Rm rm = g.rm_w(s, 80);
    g.op(g.pfx(s, rm), {0x8F}, 0, rm);
  }
}

uint32_t flags_value(Rng& r) {
  uint32_t v = flag::FIXED1 | (r.u32() & flag::ARITH);
  if (r.chance(30)) v |= flag::DF;
  if (r.chance(50)) v |= flag::IF;
  if (r.chance(10)) {
    v |= r.u32() & (flag::TF | flag::NT | flag::AC | flag::ID | flag::IOPL | flag::RF | flag::VM);
  }
  return v;
}

// PUSHF (9C) / POPF (9D): PUSH imm + POPF, PUSHF + POPF, or either alone
void gen_pushf_popf(Gen& g) {
  const bool o16 = g.r.chance(10);
  const Pfx p{.o16 = o16};
  switch (g.r.below(6)) {
    case 0:
    case 1:
    case 2:
      g.raw(p, {0x68}, flags_value(g.r), o16 ? 2 : 4).setup = true;
      g.raw(p, {0x9D});
      break;
    case 3:
      g.raw(p, {0x9C});
      g.raw(p, {0x9D});
      break;
    case 4: g.raw(p, {0x9C}); break;
    default: g.raw(p, {0x9D}); break;
  }
}

// CALL rel32 (E8) to a local subroutine; CALL $+5 / POP r
void gen_call(Gen& g) {
  if (g.r.chance(25)) {
    g.raw(Pfx{}, {0xE8}, 0, 4);
    g.raw(Pfx{}, {static_cast<uint8_t>(0x58 + g.wreg(4))});
    return;
  }
  const int sub = (!g.prog.subs.empty() && g.r.chance(30))
                      ? static_cast<int>(g.r.below(g.prog.subs.size()))
                      : g.make_sub();
  GInsn& in = g.raw(Pfx{}, {0xE8}, 0, 4);
  in.ref = GInsn::Ref::Sub;
  in.rel_size = 4;
  in.target = sub;
}

// Jcc rel8/rel32 (70+cc, 0F 80+cc), JMP rel8/rel32 (EB, E9), JECXZ (E3), LOOP/LOOPE/LOOPNE
// (E2/E1/E0): forward, over the next 0-2 units
void gen_jump(Gen& g) {
  const unsigned cc = g.r.below(16);
  GInsn* in;
  unsigned rel = 1;
  switch (g.r.below(8)) {
    case 0:
    case 1: in = &g.raw(Pfx{}, {static_cast<uint8_t>(0x70 + cc)}, 0, 1); break;
    case 2:
    case 3: {
      const bool o16 = g.r.chance(8);
      rel = o16 ? 2 : 4;
      in = &g.raw(Pfx{.o16 = o16}, {0x0F, static_cast<uint8_t>(0x80 + cc)}, 0, rel);
      break;
    }
    case 4: in = &g.raw(Pfx{}, {0xEB}, 0, 1); break;
    case 5: {
      const bool o16 = g.r.chance(8);
      rel = o16 ? 2 : 4;
      in = &g.raw(Pfx{.o16 = o16}, {0xE9}, 0, rel);
      break;
    }
    case 6: in = &g.raw(Pfx{.a16 = g.r.chance(15)}, {0xE3}, 0, 1); break;
    default:
      in = &g.raw(Pfx{.a16 = g.r.chance(15)}, {static_cast<uint8_t>(0xE0 + g.r.below(3))}, 0, 1);
      break;
  }
  in->ref = GInsn::Ref::Unit;
  in->rel_size = static_cast<uint8_t>(rel);
  in->target = g.unit + 1 + static_cast<int>(g.r.below(3));
}

// MOV ECX, n / body / LOOP(E/NE) back to the body, or DEC ECX / JNZ: a short counted loop
void gen_loop(Gen& g) {
  const bool dec_jnz = g.r.chance(25);
  const bool a16 = !dec_jnz && g.r.chance(10);  // LOOP on CX: ECX's upper half is junk
  const uint32_t n = 1 + g.r.below(4);
  g.setup_mov(ECX, a16 ? (g.r.u32() & 0xFFFF0000u) | n : n);
  const uint8_t saved_avoid = g.avoid, saved_ctx = g.ctx;
  g.avoid |= bit(ECX);
  g.ctx = kLoop;
  const unsigned forms = 1 + g.r.below(3);
  for (unsigned i = 0; i < forms; ++i) {
    const size_t before = g.out->size();
    g.form(kLoop);
    size_t bytes = 0;
    for (const GInsn& in : *g.out) bytes += in.bytes.size();
    if (bytes > 100) {  // keep the backward rel8 in range
      g.out->resize(before);
      break;
    }
  }
  g.avoid = saved_avoid;
  g.ctx = saved_ctx;
  GInsn* in;
  if (dec_jnz) {
    g.raw(Pfx{}, {0x49});  // DEC ECX
    in = &g.raw(Pfx{}, {0x75}, 0, 1);
  } else {
    in = &g.raw(Pfx{.a16 = a16}, {static_cast<uint8_t>(0xE0 + g.r.below(3))}, 0, 1);
  }
  in->ref = GInsn::Ref::Local;
  in->rel_size = 1;
  in->target = 1;
}

// CLC STC CMC CLD STD (F8 F9 F5 FC FD)
void gen_flagop(Gen& g) {
  static constexpr uint8_t kOps[] = {0xF8, 0xF9, 0xF5, 0xFC, 0xFD};
  g.raw(Pfx{}, {kOps[g.r.below(5)]});
}

// CBW/CWDE (98), CWD/CDQ (99)
void gen_cbw(Gen& g) {
  g.raw(Pfx{.o16 = g.r.chance(30)}, {static_cast<uint8_t>(0x98 + g.r.below(2))});
}

// LAHF (9F), SAHF (9E)
void gen_lahf(Gen& g) { g.raw(Pfx{}, {static_cast<uint8_t>(0x9E + g.r.below(2))}); }

// MOVS CMPS STOS LODS SCAS (A4-AF), with or without REP/REPE/REPNE
void gen_string(Gen& g) {
  enum { Movs, Cmps, Stos, Lods, Scas };
  static constexpr uint8_t kOpc[] = {0xA4, 0xA6, 0xAA, 0xAC, 0xAE};
  const unsigned k = g.r.below(5);
  const unsigned s = g.size(7);
  Pfx p;
  p.o16 = s == 2;
  p.a16 = g.r.chance(g.cfg.a16_pct);
  const bool src = k == Movs || k == Cmps || k == Lods;
  const bool dst = k != Lods;
  if (src && g.r.chance(10)) p.seg = static_cast<int8_t>(g.r.below(6));
  const bool rep = g.r.chance(60);
  if (rep) p.rep = (k == Cmps || k == Scas) && g.r.below(2) ? 0xF2 : 0xF3;
  auto addr = [&](uint32_t linear) {
    return p.a16 ? (g.r.u32() & 0xFFFF0000u) | (linear & 0xFFFF) : linear;
  };
  // Mostly mid-page; sometimes near an edge, so a REP runs into the next page.
  auto where = [&]() {
    if (g.r.chance(70)) return kRw0 + 0x100 + g.r.below(0x1E00);
    return g.target(s);
  };
  if (src) g.setup_mov(ESI, addr(where() - (p.seg == cpu::FS ? kFsBase : 0)));
  if (dst) g.setup_mov(EDI, addr(where()));
  if (rep) g.setup_mov(ECX, p.a16 ? (g.r.u32() & 0xFFFF0000u) | g.r.below(18) : g.r.below(18));
  g.raw(p, {static_cast<uint8_t>(kOpc[k] + (s > 1))});
}

// ENTER imm16, imm8 (C8); LEAVE (C9); EBP first pointed into the stack
void gen_enter_leave(Gen& g) {
  const bool o16 = g.r.chance(10);
  const Rm m{
      .mem = true, .base = ESP, .disp = static_cast<uint32_t>(g.r.range(0, 64)), .disp_size = 1};
  g.op(Pfx{}, {0x8D}, EBP, m).setup = true;  // LEA EBP, [ESP + n]
  if (g.r.below(2)) {
    g.raw(Pfx{.o16 = o16}, {0xC9});
  } else {
    const uint32_t level = g.r.chance(70) ? 0 : g.r.below(4);
    g.raw(Pfx{.o16 = o16}, {0xC8}, g.r.below(64) | level << 16, 3);
  }
}

// PUSHAD/POPAD (60/61)
void gen_pusha(Gen& g) {
  g.raw(Pfx{.o16 = g.r.chance(15)}, {static_cast<uint8_t>(0x60 + g.r.below(2))});
}

// XLAT (D7), EBX first pointed at the table
void gen_xlat(Gen& g) {
  Pfx p;
  p.a16 = g.r.chance(g.cfg.a16_pct);
  if (g.r.chance(10)) p.seg = static_cast<int8_t>(g.r.below(6));
  const uint32_t t = kRw0 + g.r.below(0x2000 - 256) - (p.seg == cpu::FS ? kFsBase : 0);
  g.setup_mov(EBX, p.a16 ? (g.r.u32() & 0xFFFF0000u) | t : t);
  g.raw(p, {0xD7});
}

void gen_nop(Gen& g) { g.raw(Pfx{}, {0x90}); }

// ADD/SUB ESP, imm8 (83 /0, 83 /5): small, the stack stays in its pages
void gen_adjust_esp(Gen& g) {
  g.raw(Pfx{}, {0x83, static_cast<uint8_t>(g.r.below(2) ? 0xC4 : 0xEC)}, 4 * g.r.below(9), 1);
}

// With paging: BTS/BTR/BTC m32, imm8 (0F BA /5-/7) or XOR m32, imm8 (83 /6) on the page-table
// entry of a data page, flipping P, R/W or U: the next access to that page must see it.
void gen_pte(Gen& g) {
  if (!g.cfg.paging) return gen_alu(g);
  static constexpr uint32_t kPages[] = {kRw0, kRw1, kRo, kNp};
  const uint32_t pte = SysMachine::kPt + (kPages[g.r.below(4)] >> 12) * 4;
  const unsigned bitn = g.r.below(3);
  if (g.r.below(2)) {
    g.raw(Pfx{}, {0x83, 0x35}, pte, 4).bytes.push_back(static_cast<uint8_t>(1u << bitn));
  } else {
    const unsigned reg = g.wreg(4);
    g.setup_mov(reg, pte);
    const Rm m{.mem = true,
               .base = static_cast<int8_t>(reg),
               .disp_size = static_cast<uint8_t>(reg == EBP)};
    g.op(Pfx{}, {0x0F, 0xBA}, 5 + g.r.below(3), m, bitn, 1, kUndefBt);
  }
}

constexpr uint8_t kAx = bit(EAX), kCx = bit(ECX), kDx = bit(EDX), kBx = bit(EBX);
constexpr uint8_t kSi = bit(ESI), kDi = bit(EDI), kBp = bit(EBP);

const FormRow kForms[] = {
    {"alu", 22, kAll, 0, gen_alu},
    {"test", 4, kAll, 0, gen_test},
    {"inc/dec", 5, kAll, 0, gen_incdec},
    {"not/neg", 3, kAll, 0, gen_notneg},
    {"mul/div", 4, kAll, kAx | kDx, gen_muldiv},
    {"imul", 3, kAll, 0, gen_imul},
    {"shift/rotate", 8, kAll, 0, gen_shift},
    {"shld/shrd", 3, kAll, 0, gen_dshift},
    {"bt*", 4, kAll, 0, gen_bt},
    {"bsf/bsr", 2, kAll, 0, gen_bitscan},
    {"bswap", 1, kAll, 0, gen_bswap},
    {"setcc", 3, kAll, 0, gen_setcc},
    {"cmovcc", 3, kAll, 0, gen_cmov},
    {"mov", 14, kAll, 0, gen_mov},
    {"movzx/movsx", 4, kAll, 0, gen_movx},
    {"lea", 4, kAll, 0, gen_lea},
    {"xchg", 2, kAll, 0, gen_xchg},
    {"xadd", 1, kAll, 0, gen_xadd},
    {"cmpxchg", 2, kAll, kAx, gen_cmpxchg},
    {"cmpxchg8b", 1, kAll, kAx | kDx, gen_cmpxchg8b},
    {"push", 4, kMain | kLoop, 0, gen_push},
    {"pop", 3, kMain | kLoop, 0, gen_pop},
    {"pushf/popf", 2, kMain | kLoop, 0, gen_pushf_popf},
    {"call", 3, kMain, 0, gen_call},
    {"jcc/jmp/loop", 6, kMain, kCx, gen_jump},
    {"counted loop", 2, kMain, kCx, gen_loop},
    {"flag ops", 3, kAll, 0, gen_flagop},
    {"cbw/cdq", 2, kAll, kAx | kDx, gen_cbw},
    {"lahf/sahf", 2, kAll, kAx, gen_lahf},
    {"string", 5, kMain | kSub, kAx | kCx | kSi | kDi, gen_string},
    {"enter/leave", 2, kMain, kBp, gen_enter_leave},
    {"pushad/popad", 1, kMain, 0xFF, gen_pusha},
    {"xlat", 1, kAll, kAx | kBx, gen_xlat},
    {"nop", 1, kAll, 0, gen_nop},
    {"add/sub esp", 1, kMain, 0, gen_adjust_esp},
    {"page-table write", 1, kAll, 0, gen_pte},
};

void Gen::form(uint8_t where) {
  unsigned total = 0;
  for (const FormRow& f : kForms) {
    if ((f.where & where) && !(f.implicit & avoid)) total += f.weight;
  }
  unsigned x = r.below(total);
  for (const FormRow& f : kForms) {
    if (!(f.where & where) || (f.implicit & avoid)) continue;
    if (x < f.weight) {
      f.gen(*this);
      return;
    }
    x -= f.weight;
  }
}

int Gen::make_sub() {
  Unit u;
  std::vector<GInsn>* saved_out = out;
  const uint8_t saved_avoid = avoid, saved_ctx = ctx;
  out = &u.insns;
  avoid = 0;
  ctx = kSub;
  const unsigned n = 1 + r.below(4);
  for (unsigned i = 0; i < n; ++i) form(kSub);
  if (r.chance(20)) {
    raw(Pfx{}, {0xC2}, 2 * r.below(9), 2);  // RET imm16
  } else {
    raw(Pfx{}, {0xC3});
  }
  out = saved_out;
  avoid = saved_avoid;
  ctx = saved_ctx;
  prog.subs.push_back(std::move(u));
  return static_cast<int>(prog.subs.size() - 1);
}

// ---------------------------------------------------------------- cases

struct Case {
  uint64_t seed = 0;
  unsigned index = 0;
  Mode mode = Mode::FlatCpl0;
  CaseCfg cfg;
  Program prog;
  uint32_t code = kCodeLo;  // where the program starts
  uint32_t gpr[8] = {};
  uint32_t eflags = flag::FIXED1;
  std::vector<uint8_t> area;  // initial contents of [kAreaLo, kAreaHi)
  unsigned slice = 0;         // run(until) this many instructions at a time; 0: to the end
};

CaseCfg make_cfg(Mode m, Rng& r) {
  CaseCfg c;
  switch (m) {
    case Mode::FlatCpl0: break;
    case Mode::PagedCpl0:
      c.paging = true;
      c.wp = r.chance(75);
      break;
    case Mode::PagedCpl3:
      c.paging = true;
      c.cpl = 3;
      c.am = r.chance(30);
      break;
    case Mode::Wide16:
      c.paging = r.chance(50);
      c.cpl = r.chance(30) ? 3 : 0;
      c.wp = c.paging && r.chance(75);
      c.am = c.cpl == 3 && r.chance(30);
      c.a16_pct = 60;
      c.o16_pct = 50;
      break;
  }
  return c;
}

Case make_case(uint64_t seed, Mode mode, unsigned index) {
  Case c;
  c.seed = seed;
  c.index = index;
  c.mode = mode;
  Rng r(seed ^ splitmix(static_cast<uint64_t>(mode) << 32 | index));
  c.cfg = make_cfg(mode, r);
  c.code = r.chance(15) ? 0x2000 - 16 - r.below(240) : kCodeLo + r.below(64);
  Gen g(r, c.cfg, c.prog);
  g.smc = c.code < 0x1800 ? 0x1F00 : 0x2F00;
  const unsigned want = 1 + r.below(40);
  unsigned count = 0;
  while (count < want) {
    Unit u;
    g.out = &u.insns;
    g.unit = static_cast<int>(c.prog.main.size());
    g.form(kMain);
    count += static_cast<unsigned>(u.insns.size());
    c.prog.main.push_back(std::move(u));
  }
  c.prog.terminator =
      c.cfg.cpl == 3 ? std::vector<uint8_t>{0xCD, kEndVector} : std::vector<uint8_t>{0xF4};
  for (unsigned i = 0; i < 8; ++i) c.gpr[i] = value(r);
  c.gpr[ESP] = kStackLo + 0x800 + r.below(0x1000);
  if (r.chance(90)) c.gpr[ESP] &= ~3u;
  if (r.chance(50)) c.gpr[EBP] = c.gpr[ESP] + r.below(128);
  c.eflags = flag::FIXED1 | (r.u32() & flag::ARITH);
  if (r.chance(30)) c.eflags |= flag::DF;
  if (r.chance(50)) c.eflags |= flag::IF;
  if (c.cfg.cpl == 3 && r.chance(50)) c.eflags |= flag::AC;
  c.area.resize(kAreaHi - kAreaLo);
  for (size_t i = 0; i < c.area.size(); i += 4) {
    const uint32_t v = r.chance(10) ? value(r) : r.u32();
    std::memcpy(&c.area[i], &v, 4);
  }
  std::memset(c.area.data(), 0, 0x1000);  // the record page: no exception yet
  std::memset(c.area.data(), 0xFF, 8);
  if (r.chance(25)) c.slice = 1 + r.below(8);
  return c;
}

// ---------------------------------------------------------------- machines

// A deliberately broken engine: the interpreter, then EFLAGS bits flipped after every block.
class FlipRunner final : public cpu::BlockRunner {
 public:
  explicit FlipRunner(uint32_t mask) : mask_(mask) {}
  bool run(cpu::Cpu& c, cpu::Block& b) override {
    for (const cpu::Insn& in : b.insns) {
      if (!c.step(in)) break;
    }
    c.s.eflags ^= mask_;
    return true;
  }
  void release(cpu::Block&) override {}

 private:
  uint32_t mask_;
};

// Another: the interpreter, counting one retired instruction less per block.
class MiscountRunner final : public cpu::BlockRunner {
 public:
  bool run(cpu::Cpu& c, cpu::Block& b) override {
    for (const cpu::Insn& in : b.insns) {
      if (!c.step(in)) break;
    }
    --c.s.icount;
    return true;
  }
  void release(cpu::Block&) override {}
};

// The real JIT with a bug injected: CF flipped after every block it ran as host code.
class CorruptedJit final : public cpu::BlockRunner {
 public:
  explicit CorruptedJit(jit::Native& n) : n_(n) {}
  bool run(cpu::Cpu& c, cpu::Block& b) override {
    if (!n_.run(c, b)) return false;
    c.s.eflags ^= flag::CF;
    return true;
  }
  void release(cpu::Block& b) override { n_.release(b); }
  void maintain(cpu::Cpu& c) override { n_.maintain(c); }
  std::string stats_report() const override { return n_.stats_report(); }

 private:
  jit::Native& n_;
};

enum class Engine : uint8_t { Interp, Jit, CorruptedJit, Custom };

// The exception handler of each vector: record the vector and error code, count, halt.
struct Stubs {
  std::vector<uint8_t> code;
  std::vector<uint32_t> entry;  // per vector
};

const Stubs& stubs() {
  static const Stubs s = [] {
    Stubs st;
    st.entry.resize(256);
    auto stub = [&](unsigned v) {
      const uint32_t at = kStubs + static_cast<uint32_t>(st.code.size());
      Bytes b;
      b.b(0xC7).b(0x05).imm(kRec, 4).imm(v, 4);                   // mov dword [kRec], v
      if (has_error_code(v)) b.b(0x8F).b(0x05).imm(kRec + 4, 4);  // pop dword [kRec+4]
      b.b(0xFF).b(0x05).imm(kRec + 8, 4);                         // inc dword [kRec+8]
      b.b(0xF4);                                                  // hlt
      b.v.resize(32, 0xCC);
      st.code.insert(st.code.end(), b.v.begin(), b.v.end());
      return at;
    };
    for (unsigned v = 0; v < 32; ++v) st.entry[v] = stub(v);
    const uint32_t end = stub(kEndVector);
    const uint32_t other = stub(0xFF);
    for (unsigned v = 32; v < 256; ++v) st.entry[v] = v == kEndVector ? end : other;
    return st;
  }();
  return s;
}

class Machine {
 public:
  explicit Machine(Engine e, cpu::BlockRunner* custom = nullptr) : engine_(e) {
    if (e == Engine::Jit || e == Engine::CorruptedJit) {
      native_ = std::make_unique<jit::Native>(sys_.cpu(), 2);
      sys_.cpu().runner = native_.get();
      if (e == Engine::CorruptedJit) {
        corrupted_ = std::make_unique<CorruptedJit>(*native_);
        sys_.cpu().runner = corrupted_.get();
      }
    } else if (e == Engine::Custom) {
      sys_.cpu().runner = custom;
    }
  }
  ~Machine() { sys_.cpu().runner = nullptr; }

  // Builds the machine for case `c` with the program truncated to `n_main` units.
  void load(const Case& c, const Image& img) {
    cpu::Cpu& cpu = sys_.cpu();
    sys_.prot_mode(c.cfg.cpl);  // resets the CPU: code cache and TLB flushed
    using test::acc::DATA_RW;
    using test::acc::dpl;
    namespace dflag = test::dflag;
    sys_.set_gdt(8, test::seg_desc(0, kGsLimit, DATA_RW | dpl(3) | 1, dflag::DB));
    sys_.set_gdt(9, test::seg_desc(kFsBase, 0xFFFFF, DATA_RW | dpl(3) | 1, dflag::G | dflag::DB));
    sys_.load_cache(cpu::FS, kSelFs);
    sys_.load_cache(cpu::GS, kSelGs);
    sys_.put32(SysMachine::kTss + 4, kStack0Top);
    const Stubs& st = stubs();
    std::memcpy(sys_.ram() + kStubs, st.code.data(), st.code.size());
    for (unsigned v = 0; v < 256; ++v) {
      sys_.set_idt(v, test::gate_desc(SysMachine::kCode0, st.entry[v], cpu::sys::INT32,
                                      v == kEndVector ? 3 : 0));
    }
    if (c.cfg.paging) {
      sys_.identity_paging();
      sys_.set_pte(0, 0);
      sys_.set_pte(kRo, kRo | 5);
      sys_.set_pte(kNp, kNp | 6);
      if (c.cfg.wp) cpu.s.cr[0] |= cpu::cr0::WP;
    }
    paging_ = c.cfg.paging;
    for (unsigned i = 0; i < kPtes; ++i) pt_init_[i] = sys_.rd32(SysMachine::kPt + 4 * i);
    if (c.cfg.am) cpu.s.cr[0] |= cpu::cr0::AM;
    cpu.set_cr0(cpu.s.cr[0]);
    cpu.mmu().flush_all(mmu::Mmu::FlushCause::Other);
    std::memset(sys_.ram() + kCodeLo, 0xCC, kCodeHi - kCodeLo);
    if (img.base < kCodeLo || img.base + img.bytes.size() > kCodeHi) {
      fprintf(stderr, "jit_vs_interp: program of %zu bytes at %08x does not fit\n",
              img.bytes.size(), img.base);
      abort();
    }
    std::memcpy(sys_.ram() + img.base, img.bytes.data(), img.bytes.size());
    area_ = c.area.data();
    std::memcpy(cpu.s.gpr, c.gpr, sizeof c.gpr);
    cpu.s.eflags = c.eflags;
    cpu.s.eip = img.base;
    init_ = cpu.s;
  }

  // Back to the initial state for the next run.
  void restore() {
    if (paging_) {  // a run that changed a PTE (beyond A/D) gets the original table back
      bool changed = false;
      for (unsigned i = 0; i < kPtes; ++i)
        changed |= ((sys_.rd32(SysMachine::kPt + 4 * i) ^ pt_init_[i]) & ~0x60u) != 0;
      if (changed) {
        for (unsigned i = 0; i < kPtes; ++i) sys_.put32(SysMachine::kPt + 4 * i, pt_init_[i]);
        sys_.cpu().mmu().flush_all(mmu::Mmu::FlushCause::Other);
      }
    }
    sys_.cpu().s = init_;
    std::memcpy(sys_.ram() + kAreaLo, area_, kAreaHi - kAreaLo);
    sys_.bus().clear_stop();
  }
  cpu::Cpu::RunExit run(uint64_t until) {
    exit_ = sys_.cpu().run(until);
    return exit_;
  }

  // The JIT's host code for the blocks of the program (found at its instruction addresses,
  // the program start first).
  std::string host_listing(const Image& img) {
    if (!native_) return "";
    std::string out;
    unsigned shown = 0;
    for (const Placed& p : img.insns) {
      const cpu::Block* b = sys_.cpu().find_block(p.addr, cpu::CodeMode::Prot32);
      if (!b) continue;
      if (++shown > 8) {
        out += "  (more blocks not shown)\n";
        break;
      }
      char h[96];
      snprintf(h, sizeof h, "  block at %08x (%zu guest insns, %s):\n", p.addr, b->insns.size(),
               b->host_code ? "translated" : "not translated");
      out += h;
      const std::string d = native_->disassemble(*b);
      out += d.empty() ? "    (no host code)\n" : d + (d.back() == '\n' ? "" : "\n");
    }
    if (out.empty()) out = "  (no block of the program is in the code cache)\n";
    return out;
  }

  SysMachine& sys() { return sys_; }
  cpu::CpuState& s() { return sys_.s(); }
  const cpu::CpuState& init() const { return init_; }
  cpu::CpuState& init() { return init_; }
  cpu::Cpu::RunExit exit() const { return exit_; }
  const jit::Native* native() const { return native_.get(); }
  Engine engine() const { return engine_; }

 private:
  SysMachine sys_;
  Engine engine_;
  std::unique_ptr<jit::Native> native_;
  std::unique_ptr<CorruptedJit> corrupted_;
  static constexpr unsigned kPtes = 16;  // the entries of the pages below 10000h
  uint32_t pt_init_[kPtes] = {};
  bool paging_ = false;
  cpu::CpuState init_{};
  const uint8_t* area_ = nullptr;
  cpu::Cpu::RunExit exit_ = cpu::Cpu::RunExit::Budget;
};

// ---------------------------------------------------------------- comparing

const char* exit_name(cpu::Cpu::RunExit e) {
  switch (e) {
    case cpu::Cpu::RunExit::Budget: return "budget";
    case cpu::Cpu::RunExit::Halted: return "halted";
    case cpu::Cpu::RunExit::Stopped: return "stopped";
    case cpu::Cpu::RunExit::Debug: return "debug stop";
  }
  return "?";
}

std::string flag_names(uint32_t f) {
  static const std::pair<uint32_t, const char*> kNames[] = {
      {flag::CF, "CF"}, {flag::PF, "PF"},     {flag::AF, "AF"},   {flag::ZF, "ZF"},
      {flag::SF, "SF"}, {flag::TF, "TF"},     {flag::IF, "IF"},   {flag::DF, "DF"},
      {flag::OF, "OF"}, {flag::IOPL, "IOPL"}, {flag::NT, "NT"},   {flag::RF, "RF"},
      {flag::VM, "VM"}, {flag::AC, "AC"},     {flag::VIF, "VIF"}, {flag::VIP, "VIP"},
      {flag::ID, "ID"}};
  std::string s;
  for (const auto& [m, n] : kNames) {
    if (f & m) {
      s += s.empty() ? "" : " ";
      s += n;
      f &= ~m;
    }
  }
  if (f) {
    char b[16];
    snprintf(b, sizeof b, "%s%#x", s.empty() ? "" : " ", f);
    s += b;
  }
  return s;
}

struct Field {
  std::string name;
  uint64_t a, b;
  unsigned width;  // hex digits
  bool always;     // shown even when equal
};

struct Diff {
  std::vector<Field> fields;
  std::vector<std::string> mem;    // differing memory, one line per run of bytes
  std::vector<std::string> other;  // other CpuState members that differ
  bool differs = false;
  bool only_flags = false;  // EFLAGS is the only difference
  uint32_t flags_xor = 0;
  unsigned run = 0;    // 1-based run the difference appeared in
  unsigned slice = 0;  // and the 1-based slice of that run (sliced cases)
};

uint32_t rd32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

void diff_memory(Diff& d, const char* what, const uint8_t* a, const uint8_t* b, uint32_t base,
                 uint32_t len) {
  if (std::memcmp(a, b, len) == 0) return;
  for (uint32_t i = 0; i < len && d.mem.size() < 16;) {
    if (a[i] == b[i]) {
      ++i;
      continue;
    }
    uint32_t j = i;
    while (j < len && j - i < 16 && a[j] != b[j]) ++j;
    std::string l;
    char h[64];
    snprintf(h, sizeof h, "  %s %08x:", what, base + i);
    l = h;
    for (uint32_t k = i; k < j; ++k) {
      snprintf(h, sizeof h, " %02x", a[k]);
      l += h;
    }
    l += "  vs";
    for (uint32_t k = i; k < j; ++k) {
      snprintf(h, sizeof h, " %02x", b[k]);
      l += h;
    }
    d.mem.push_back(l);
    i = j;
  }
  if (d.mem.empty()) d.mem.push_back(std::string("  ") + what + ": differs");
}

// Compares machine `a` (the interpreter) with `b` after a run.
Diff compare(Machine& a, Machine& b, bool paging) {
  Diff d;
  const cpu::CpuState& x = a.s();
  const cpu::CpuState& y = b.s();
  static const char* const kGpr[] = {"EAX", "ECX", "EDX", "EBX", "ESP", "EBP", "ESI", "EDI"};
  for (unsigned i = 0; i < 8; ++i) d.fields.push_back({kGpr[i], x.gpr[i], y.gpr[i], 8, true});
  d.fields.push_back({"EIP", x.eip, y.eip, 8, true});
  d.fields.push_back({"EFLAGS", x.eflags, y.eflags, 8, true});
  d.fields.push_back({"icount", x.icount, y.icount, 8, true});
  d.fields.push_back({"CR2", x.cr[2], y.cr[2], 8, true});
  d.fields.push_back(
      {"exit", static_cast<uint64_t>(a.exit()), static_cast<uint64_t>(b.exit()), 1, true});
  const uint8_t* ra = a.sys().ram();
  const uint8_t* rb = b.sys().ram();
  d.fields.push_back({"rec.vector", rd32(ra + kRec), rd32(rb + kRec), 8, true});
  d.fields.push_back({"rec.error", rd32(ra + kRec + 4), rd32(rb + kRec + 4), 8, true});
  d.fields.push_back({"rec.count", rd32(ra + kRec + 8), rd32(rb + kRec + 8), 8, true});
  d.fields.push_back({"exc.pending", x.exc.pending, y.exc.pending, 2, false});
  d.fields.push_back({"exc.vector", x.exc.vector, y.exc.vector, 2, false});
  d.fields.push_back({"exc.has_error", x.exc.has_error, y.exc.has_error, 2, false});
  d.fields.push_back({"exc.error", x.exc.error, y.exc.error, 8, false});
  d.fields.push_back({"halted", x.halted, y.halted, 2, false});
  d.fields.push_back({"irq_shadow", x.irq_shadow, y.irq_shadow, 2, false});
  d.fields.push_back({"CPL", x.cpl, y.cpl, 1, false});
  static const char* const kSeg[] = {"ES", "CS", "SS", "DS", "FS", "GS"};
  for (unsigned i = 0; i < cpu::kNumSegRegs; ++i) {
    const cpu::SegmentCache &p = x.seg[i], &q = y.seg[i];
    const std::string n = kSeg[i];
    d.fields.push_back({n + ".sel", p.selector, q.selector, 4, i == cpu::CS || i == cpu::SS});
    d.fields.push_back({n + ".base", p.base, q.base, 8, false});
    d.fields.push_back({n + ".limit", p.limit, q.limit, 8, false});
    d.fields.push_back({n + ".attr", p.attr, q.attr, 4, false});
    d.fields.push_back({n + ".valid", p.valid, q.valid, 1, false});
  }
  unsigned n_diff = 0;
  for (const Field& f : d.fields) n_diff += f.a != f.b;
  auto other = [&](const char* name, const void* p, const void* q, size_t n) {
    if (std::memcmp(p, q, n) != 0) d.other.push_back(name);
  };
  other("gdtr", &x.gdtr, &y.gdtr, sizeof x.gdtr);
  other("idtr", &x.idtr, &y.idtr, sizeof x.idtr);
  other("ldtr", &x.ldtr, &y.ldtr, sizeof x.ldtr);
  other("tr", &x.tr, &y.tr, sizeof x.tr);
  other("cr", x.cr, y.cr, sizeof x.cr);
  other("dr", x.dr, y.dr, sizeof x.dr);
  other("msr", &x.msr, &y.msr, sizeof x.msr);
  other("fpu", &x.fpu, &y.fpu, sizeof x.fpu);
  diff_memory(d, "mem", ra + kAreaLo, rb + kAreaLo, kAreaLo, kAreaHi - kAreaLo);
  if (paging) {
    diff_memory(d, "pte", ra + SysMachine::kPt, rb + SysMachine::kPt, SysMachine::kPt, 64);
    diff_memory(d, "pde", ra + SysMachine::kPd, rb + SysMachine::kPd, SysMachine::kPd, 4);
  }
  d.flags_xor = x.eflags ^ y.eflags;
  d.differs = n_diff || !d.other.empty() || !d.mem.empty();
  d.only_flags = n_diff == 1 && d.flags_xor && d.other.empty() && d.mem.empty();
  return d;
}

// "run 2", or "run 2, slice 3" for a sliced case.
std::string when(const Diff& d) {
  std::string w = "run " + std::to_string(d.run);
  if (d.slice) w += ", slice " + std::to_string(d.slice);
  return w;
}

std::string render_state(const Diff& d, const char* name_a, const char* name_b) {
  std::string out;
  char line[160];
  snprintf(line, sizeof line, "    %-14s %-18s %-18s\n", "", name_a, name_b);
  out += line;
  for (const Field& f : d.fields) {
    const bool differs = f.a != f.b;
    if (!differs && !f.always) continue;
    std::string va, vb;
    if (f.name == "exit") {
      va = exit_name(static_cast<cpu::Cpu::RunExit>(f.a));
      vb = exit_name(static_cast<cpu::Cpu::RunExit>(f.b));
    } else {
      char h[32];
      snprintf(h, sizeof h, "%0*" PRIx64, static_cast<int>(f.width), f.a);
      va = h;
      snprintf(h, sizeof h, "%0*" PRIx64, static_cast<int>(f.width), f.b);
      vb = h;
    }
    snprintf(line, sizeof line, "  %s %-14s %-18s %-18s", differs ? "*" : " ", f.name.c_str(),
             va.c_str(), vb.c_str());
    out += line;
    if (f.name == "EFLAGS") {
      out += "  " + flag_names(static_cast<uint32_t>(f.a) & ~flag::FIXED1);
      if (differs) out += "  [differ: " + flag_names(static_cast<uint32_t>(f.a ^ f.b)) + "]";
    }
    out += "\n";
  }
  for (const std::string& o : d.other) out += "  * " + o + " differs\n";
  if (!d.mem.empty()) {
    out += "  memory (" + std::string(name_a) + " vs " + name_b + "):\n";
    for (const std::string& m : d.mem) out += m + "\n";
  }
  return out;
}

// ---------------------------------------------------------------- reports

std::string disasm32(const uint8_t* p, size_t n, uint32_t addr) {
  ZydisDisassembledInstruction d;
  if (ZYAN_SUCCESS(ZydisDisassembleIntel(ZYDIS_MACHINE_MODE_LEGACY_32, addr, p, n, &d)))
    return d.text;
  return "(does not decode)";
}

std::string hex_bytes(const uint8_t* p, size_t n) {
  std::string s;
  char b[4];
  for (size_t i = 0; i < n; ++i) {
    snprintf(b, sizeof b, "%02x ", p[i]);
    s += b;
  }
  if (!s.empty()) s.pop_back();
  return s;
}

// Flags the SDM may leave undefined after main unit `u` (including a subroutine it calls).
uint32_t undef_of_unit(const Program& p, size_t u) {
  uint32_t f = 0;
  for (const GInsn& in : p.main[u].insns) {
    f |= in.undef;
    if (in.ref == GInsn::Ref::Sub) {
      for (const GInsn& s : p.subs[in.target].insns) f |= s.undef;
    }
  }
  return f;
}

uint32_t undef_of_program(const Program& p) {
  uint32_t f = 0;
  for (size_t u = 0; u < p.main.size(); ++u) f |= undef_of_unit(p, u);
  return f;
}

// The listing of the program: unit, address, bytes, disassembly; `mark` flags a unit.
std::string listing(const Image& img, int mark) {
  std::string out;
  for (size_t i = 0; i < img.insns.size(); ++i) {
    const Placed& pl = img.insns[i];
    const size_t off = pl.addr - img.base;
    const size_t len =
        (i + 1 < img.insns.size() ? img.insns[i + 1].addr : img.base + img.bytes.size()) - pl.addr;
    std::string unit = pl.unit >= 0 ? std::to_string(pl.unit) : "s" + std::to_string(-1 - pl.unit);
    char line[256];
    snprintf(line, sizeof line, "  %s %4s  %08x  %-32s %s%s\n", pl.unit == mark ? ">>" : "  ",
             unit.c_str(), pl.addr, hex_bytes(img.bytes.data() + off, len).c_str(),
             disasm32(img.bytes.data() + off, len, pl.addr).c_str(),
             pl.in->setup ? "   ; setup" : "");
    out += line;
  }
  return out;
}

// ---------------------------------------------------------------- the fuzzer

struct Totals {
  uint64_t cases = 0, runs = 0, halted = 0, budget = 0, stopped = 0;
  std::map<uint32_t, uint64_t> vectors;  // recorded by the handlers (interpreter side)
};

class Fuzzer {
 public:
  explicit Fuzzer(Engine eb = Engine::Jit, cpu::BlockRunner* custom = nullptr)
      : a_(Engine::Interp), b_(eb, custom) {}

  // Runs the case's program (truncated to n_main units) kRuns times in both machines;
  // the first difference, if any.
  std::optional<Diff> run(const Case& c, size_t n_main, Totals* t = nullptr) {
    const Image img = layout(c.prog, c.code, n_main);
    a_.load(c, img);
    b_.load(c, img);
    if (tweak_b) tweak_b(b_);
    for (unsigned r = 1; r <= kRuns; ++r) {
      a_.restore();
      b_.restore();
      // Whole runs, or (c.slice) run(until) in slices of a few instructions, compared after
      // each: translated code must stop at the same block boundary as the interpreter.
      for (unsigned slice = 1;; ++slice) {
        const uint64_t until = c.slice ? a_.s().icount + c.slice : kBudget;
        const cpu::Cpu::RunExit ea = a_.run(until);
        b_.run(until);
        Diff d = compare(a_, b_, c.cfg.paging);
        if (d.differs) {
          d.run = r;
          d.slice = c.slice ? slice : 0;
          if (host_listing_.empty()) host_listing_ = b_.host_listing(img);
          return d;
        }
        if (ea == cpu::Cpu::RunExit::Budget && a_.s().icount < kBudget) continue;
        if (t) {
          ++t->runs;
          if (r == 1) {
            ++(ea == cpu::Cpu::RunExit::Halted   ? t->halted
               : ea == cpu::Cpu::RunExit::Budget ? t->budget
                                                 : t->stopped);
            ++t->vectors[rd32(a_.sys().ram() + kRec)];
          }
        }
        break;
      }
    }
    return std::nullopt;
  }

  // The failure report for case `c`, or "" when the machines agree.
  std::string check(const Case& c, Totals* t = nullptr) {
    host_listing_.clear();
    const std::optional<Diff> d = run(c, c.prog.main.size(), t);
    if (t) ++t->cases;
    if (!d) return "";
    return report(c, *d);
  }

  Machine& b() { return b_; }
  // Changes machine b after loading (the harness self-test).
  std::function<void(Machine&)> tweak_b;

 private:
  std::string report(const Case& c, const Diff& full) {
    const std::string host = host_listing_;
    const char* name_b = b_.engine() == Engine::Interp   ? "interp-2"
                         : b_.engine() == Engine::Custom ? "engine-under-test"
                                                         : "jit";
    char head[512];
    snprintf(head, sizeof head,
             "JIT and interpreter disagree: seed %#" PRIx64
             " case %u (%s, CPL %u, paging %s, CR0.WP %d, CR0.AM %d)\n"
             "  rerun: POPEK_FUZZ_SEED=%#" PRIx64
             " POPEK_FUZZ_CASE=%u\n"
             "  the difference appeared after run %u of %u (blocks are translated on their 2nd "
             "execution)\n",
             c.seed, c.index, mode_name(c.mode), c.cfg.cpl, c.cfg.paging ? "on" : "off", c.cfg.wp,
             c.cfg.am, c.seed, c.index, full.run, kRuns);
    std::string out = head;
    if (full.slice) {
      out += "  the machines run(until = icount + " + std::to_string(c.slice) +
             ") at a time; the difference appeared after slice " + std::to_string(full.slice) +
             " of that run\n";
    }
    // The shortest prefix that differs points at the instruction that goes wrong.
    int suspect = -1;
    std::optional<Diff> first;
    for (size_t k = 1; k <= c.prog.main.size(); ++k) {
      host_listing_ = "-";
      if ((first = run(c, k))) {
        suspect = static_cast<int>(k) - 1;
        break;
      }
    }
    const Image img = layout(c.prog, c.code, c.prog.main.size());
    out += "  program (unit, address, bytes, disassembly; s<n> are subroutines):\n";
    out += listing(img, suspect);
    if (suspect >= 0) {
      out += "  first mismatch suspected in unit " + std::to_string(suspect) +
             " (marked >>): the program cut after it already differs\n";
      const uint32_t undef = undef_of_unit(c.prog, suspect);
      if (first->only_flags && (first->flags_xor & ~undef) == 0) {
        out += "  undefined-flag difference: only EFLAGS " + flag_names(first->flags_xor) +
               " differ, which the SDM leaves undefined after that unit's instruction\n";
      }
      if (static_cast<size_t>(suspect) + 1 < c.prog.main.size()) {
        out += "  state after the cut program (" + when(*first) + "):\n";
        out += render_state(*first, "interp", name_b);
      }
    } else {
      out += "  no shorter prefix of the program differs: the difference comes from the whole\n";
    }
    if (suspect < 0 && full.only_flags && (full.flags_xor & ~undef_of_program(c.prog)) == 0) {
      out += "  possibly an undefined-flag difference: only EFLAGS " + flag_names(full.flags_xor) +
             " differ, which instructions of this program leave undefined\n";
    }
    out += "  state after the whole program (" + when(full) + "):\n";
    out += render_state(full, "interp", name_b);
    out += "  initial state: ";
    static const char* const kGpr[] = {"EAX", "ECX", "EDX", "EBX", "ESP", "EBP", "ESI", "EDI"};
    for (unsigned i = 0; i < 8; ++i) {
      char h[24];
      snprintf(h, sizeof h, "%s=%08x ", kGpr[i], c.gpr[i]);
      out += h;
    }
    out += "EFLAGS=" + flag_names(c.eflags & ~flag::FIXED1) + "\n";
    if (b_.native()) out += "  host code (" + std::string(name_b) + "):\n" + host;
    host_listing_.clear();
    return out;
  }

  Machine a_, b_;
  std::string host_listing_;  // captured at the first difference, before narrowing
};

// ---------------------------------------------------------------- configuration

uint64_t env_u64(const char* name, uint64_t fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::strtoull(v, nullptr, 0) : fallback;
}

// Runs `cases` cases of `mode` (or POPEK_FUZZ_CASE only); at most kMaxReports printed.
void fuzz(Mode mode, uint64_t default_seed, unsigned default_cases) {
  const uint64_t seed = env_u64("POPEK_FUZZ_SEED", default_seed);
  const unsigned cases = static_cast<unsigned>(env_u64("POPEK_FUZZ_CASES", default_cases));
  const char* only = std::getenv("POPEK_FUZZ_CASE");
  Fuzzer fz;
  Totals t;
  unsigned failures = 0;
  const auto t0 = std::chrono::steady_clock::now();
  const unsigned first = only ? static_cast<unsigned>(std::strtoul(only, nullptr, 0)) : 0;
  const unsigned last = only ? first + 1 : cases;
  for (unsigned i = first; i < last; ++i) {
    const std::string rep = fz.check(make_case(seed, mode, i), &t);
    if (rep.empty()) continue;
    ++failures;
    ADD_FAILURE() << rep;
    if (failures >= env_u64("POPEK_FUZZ_MAX_REPORTS", kMaxReports)) {
      ADD_FAILURE() << "stopping " << mode_name(mode) << " after " << failures
                    << " failing cases (of " << t.cases << " run)";
      break;
    }
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::string vec;
  for (const auto& [v, n] : t.vectors) {
    char h[48];
    if (v == 0xFFFFFFFFu)
      snprintf(h, sizeof h, " none:%" PRIu64, n);
    else
      snprintf(h, sizeof h, " %u:%" PRIu64, v, n);
    vec += h;
  }
  printf("[ %-10s ] seed %#" PRIx64 ": %" PRIu64 " cases, %" PRIu64
         " runs each side, %.1f s; first runs ended: "
         "halted %" PRIu64 ", budget %" PRIu64 ", stopped %" PRIu64 "; handler vectors:%s\n",
         mode_name(mode), seed, t.cases, t.runs, secs, t.halted, t.budget, t.stopped, vec.c_str());
  if (const jit::Native* n = fz.b().native()) {
    const jit::Stats& js = n->stats;
    printf("[ %-10s ] jit: %" PRIu64 " blocks translated, %" PRIu64 " declined, %" PRIu64
           " translated runs, %" PRIu64 " guest insns as host code, %" PRIu64 " as callouts\n",
           mode_name(mode), js.blocks_translated, js.blocks_declined, js.block_runs,
           js.insns_native, js.insns_callout);
    // A block the assembler rejects is a translator bug (an unencodable form), even though
    // the interpreter then runs it correctly.
    EXPECT_EQ(js.blocks_declined, 0u) << "the assembler rejected blocks: see the JIT's warning above";
  }
}

constexpr unsigned kCasesPerMode = 10000;

// ---------------------------------------------------------------- tests

TEST(JitVsInterp, FlatCpl0) { fuzz(Mode::FlatCpl0, 0x6a17f1a70001ull, kCasesPerMode); }
TEST(JitVsInterp, PagedCpl0) { fuzz(Mode::PagedCpl0, 0x6a17f1a70002ull, kCasesPerMode); }
TEST(JitVsInterp, PagedCpl3) { fuzz(Mode::PagedCpl3, 0x6a17f1a70003ull, kCasesPerMode); }
TEST(JitVsInterp, OperandAndAddressSize16) { fuzz(Mode::Wide16, 0x6a17f1a70004ull, kCasesPerMode); }

// Every generated instruction decodes (Zydis, 32-bit) to the length the encoder meant,
// and popek's decoder finds a semantic function for it: the fuzzer tests instructions,
// not #UD.
TEST(JitVsInterpHarness, EncoderEmitsValidInstructions) {
  cpu::Decoder dec;
  for (Mode mode : {Mode::FlatCpl0, Mode::PagedCpl3, Mode::Wide16}) {
    for (unsigned i = 0; i < 1500; ++i) {
      const Case c = make_case(0x5eed, mode, i);
      const Image img = layout(c.prog, c.code, c.prog.main.size());
      for (size_t k = 0; k < img.insns.size(); ++k) {
        const size_t off = img.insns[k].addr - img.base;
        const size_t len =
            (k + 1 < img.insns.size() ? img.insns[k + 1].addr : img.base + img.bytes.size()) -
            img.insns[k].addr;
        ZydisDisassembledInstruction z;
        const bool ok = ZYAN_SUCCESS(ZydisDisassembleIntel(
            ZYDIS_MACHINE_MODE_LEGACY_32, img.insns[k].addr, img.bytes.data() + off, len, &z));
        cpu::Insn in;
        const cpu::DecodeResult r =
            dec.decode(img.bytes.data() + off, len, cpu::CodeMode::Prot32, in);
        ASSERT_TRUE(ok && z.info.length == len && r == cpu::DecodeResult::Ok && in.fn && !in.bad)
            << mode_name(mode) << " case " << i << ": " << hex_bytes(img.bytes.data() + off, len)
            << " (" << (ok ? z.text : "Zydis: invalid") << ", Zydis length "
            << (ok ? z.info.length : 0) << ", popek decode " << static_cast<int>(r)
            << (in.fn ? "" : ", no semantic function") << ")";
      }
    }
  }
}

// Two interpreters agree with each other: the harness itself is deterministic (no state
// leaks from one case into the next, nothing uninitialised is compared).
TEST(JitVsInterpHarness, InterpreterAgreesWithItself) {
  Fuzzer fz(Engine::Interp);
  for (Mode mode : {Mode::FlatCpl0, Mode::PagedCpl0, Mode::PagedCpl3, Mode::Wide16}) {
    for (unsigned i = 0; i < 100; ++i) {
      const std::string rep = fz.check(make_case(0x5eed, mode, i));
      ASSERT_EQ(rep, "") << rep;
    }
  }
}

// The comparison sees a difference in the initial state: the fuzzer can fail.
TEST(JitVsInterpHarness, ReportsDifferentInitialEax) {
  Case c = make_case(0x5eed, Mode::FlatCpl0, 0);
  c.prog.main.clear();
  c.prog.subs.clear();
  c.prog.main.push_back(Unit{{GInsn{{0x90}}}});  // NOP, then HLT
  Fuzzer fz(Engine::Interp);
  fz.tweak_b = [](Machine& m) { m.init().gpr[EAX] ^= 0x100; };
  const std::string rep = fz.check(c);
  EXPECT_NE(rep.find("* EAX"), std::string::npos) << rep;
  EXPECT_NE(rep.find("after run 1"), std::string::npos) << rep;
}

// A difference confined to flags the SDM leaves undefined is a failure, labelled as such.
TEST(JitVsInterpHarness, LabelsUndefinedFlagDifference) {
  FlipRunner broken(flag::AF);
  Fuzzer fz(Engine::Custom, &broken);
  Case c = make_case(0x5eed, Mode::FlatCpl0, 0);
  c.prog.subs.clear();
  c.prog.main.assign(
      1, Unit{{GInsn{{0x21, 0xD8}, GInsn::Ref::None, 0, 0, flag::AF}}});  // AND EAX, EBX
  std::string rep = fz.check(c);
  EXPECT_NE(rep.find("undefined-flag difference"), std::string::npos) << rep;
  c.prog.main.assign(1, Unit{{GInsn{{0x01, 0xD8}}}});  // ADD EAX, EBX: AF is defined
  rep = fz.check(c);
  EXPECT_NE(rep, "");
  EXPECT_EQ(rep.find("undefined-flag"), std::string::npos) << rep;
}

// How many of `n` cases a broken engine is caught on; prints the first report with
// POPEK_FUZZ_SHOW set.
unsigned caught(Fuzzer& fz, unsigned n, uint64_t seed, std::string* first_report) {
  unsigned k = 0;
  for (unsigned i = 0; i < n; ++i) {
    const std::string rep = fz.check(make_case(seed, static_cast<Mode>(i % 4), i));
    if (rep.empty()) continue;
    if (k++ == 0) {
      *first_report = rep;
      if (std::getenv("POPEK_FUZZ_SHOW")) printf("%s\n", rep.c_str());
    }
  }
  return k;
}

// An engine that flips CF after every block is caught. Not on every case: when an even
// number of blocks ran and nothing read CF in between, the flips cancel out.
TEST(JitVsInterpHarness, CatchesCfFlippingEngine) {
  FlipRunner broken(flag::CF);
  Fuzzer fz(Engine::Custom, &broken);
  std::string rep;
  const unsigned k = caught(fz, 100, 0xbad, &rep);
  printf("[ harness    ] a CF-flipping engine was caught in %u of 100 cases\n", k);
  EXPECT_GE(k, 40u) << "a CF-flipping engine went unnoticed in " << 100 - k << " of 100 cases";
  EXPECT_NE(rep.find("[differ: CF"), std::string::npos) << rep;
}

// An engine that miscounts retired instructions is caught on every case.
TEST(JitVsInterpHarness, CatchesMiscountingEngine) {
  MiscountRunner broken;
  Fuzzer fz(Engine::Custom, &broken);
  std::string rep;
  EXPECT_EQ(caught(fz, 40, 0xbad, &rep), 40u);
  EXPECT_NE(rep.find("* icount"), std::string::npos) << rep;
}

// The JIT with CF flipped after each block it runs as host code is caught, and the report
// carries the host code listing.
TEST(JitVsInterpHarness, CatchesCorruptedJit) {
  Fuzzer fz(Engine::CorruptedJit);
  std::string rep;
  const unsigned k = caught(fz, 100, 0xbad, &rep);
  printf("[ harness    ] the corrupted JIT was caught in %u of 100 cases\n", k);
  EXPECT_GE(k, 30u) << "a corrupted JIT went unnoticed in " << 100 - k << " of 100 cases";
  EXPECT_NE(rep.find("host code (jit):"), std::string::npos) << rep;
}

}  // namespace
}  // namespace popek::diff
