// Random instruction streams on the whole machine, both engines.
//
// An input describes a guest from scratch: the mode (real mode, 16- or 32-bit protected
// mode at CPL 0 or 3, or virtual-8086 mode under a 32-bit protected-mode system), EFLAGS, CR0/CR4 bits, paging,
// the general registers, and the contents of the guest's system structures: the real-mode
// IVT, a GDT, an IDT, a TSS with an I/O bitmap, an LDT, a page directory with four page
// tables, a data area and up to 12 KiB of code. The generator makes the tables mostly
// sane (so that execution gets somewhere) with random entries and mutations among them,
// and the code a mix of random bytes and random instructions biased toward the system
// ones (descriptor-table loads, MOV CRn/DRn, far transfers, INT/IRET, port I/O aimed at
// the PC's devices, HLT, x87, REP strings...). Interrupt and exception vectors lead back
// into the random code, so a stream keeps going after a fault and the JIT sees blocks
// run again.
//
// The same input runs on two machines (frontend::Machine, all devices, -no-reboot),
// one with the reference interpreter and one with the JIT, each reused from input to
// input (booted again, RAM cleared), for a budget of instructions. The oracle:
//   - the run ends within the budget (a halt, a triple fault, a clean stop), and a stop
//     is never the run loop's internal error;
//   - invariants of the state the SDM guarantees (see check_state);
//   - both engines retire the same number of instructions and end in the same state,
//     RAM included (the JIT promises bit-identical state, tests/diff/jit_vs_interp.cpp).
#include <cinttypes>
#include <cstdlib>
#include <initializer_list>
#include <cstdio>
#include <memory>
#include <string>

#include "cpu/cpu.h"
#include "frontend/machine.h"
#include "tests/fuzz/fuzz.h"
#include "tests/unit/cpu/descriptors.h"

namespace popek::fuzz {
namespace {

using cpu::CpuState;
using frontend::Machine;
using frontend::MachineConfig;
namespace flag = cpu::flag;
using test::acc::dpl;
using test::gate_desc;
using test::seg_desc;

// ---------------------------------------------------------------- guest layout
//
// Physical addresses of what an input fills; everything else is zero RAM (2 MiB).
constexpr uint32_t kRam = 2u << 20;
struct Region {
  const char* name;
  uint32_t at, size;
};
enum RegionId { kIvt, kCode, kData, kGdt, kIdt, kTss, kLdt, kPd, kPt, kNumRegions };
constexpr Region kRegions[kNumRegions] = {
    {"ivt", 0x0000, 0x400},   {"code", 0x1000, 0x3000}, {"data", 0x4000, 0x4000},
    {"gdt", 0x10000, 0x400},  {"idt", 0x11000, 0x800},  {"tss", 0x12000, 0x2068},
    {"ldt", 0x15000, 0x400},  {"pd", 0x18000, 0x1000},  {"pt", 0x19000, 0x4000},
};
constexpr uint32_t kCodeAt = 0x1000;
constexpr uint32_t kRealCs = kCodeAt >> 4;  // real mode: the code at CS:0
constexpr uint32_t kStackTop = 0x9F00, kStack0Top = 0xBF00;

// GDT entries the generator keeps sane (their selectors at RPL 0).
enum : uint16_t {
  kCode32 = 0x08, kData32 = 0x10, kCode32u = 0x18, kData32u = 0x20, kTssSel = 0x28,
  kLdtSel = 0x30, kCode16 = 0x38, kData16 = 0x40, kCode16u = 0x48, kData16u = 0x50,
  kCodeConf = 0x58, kFirstRandom = 12,
};
constexpr unsigned kGdtEntries = 0x400 / 8;

// Header bits.
enum : uint8_t { kPaging = 1, kPse = 2, kWp = 4, kPge = 8, kAm = 16, kNe = 32, kTs = 64, kEm = 128 };
// LDTR loaded at the start; the JIT translates every block at its first execution (else
// at its second, as popek does: random code seldom runs twice, so this is where most of
// the JIT's translations come from, at a price in speed).
enum : uint8_t { kLdtLoaded = 1, kJitEager = 2 };

// Ports of the PC's devices, for I/O instructions worth aiming.
constexpr uint16_t kPorts[] = {0x20,  0x21,  0xA0,  0xA1,  0x40,  0x41,  0x42,  0x43,  0x61,
                               0x60,  0x64,  0x70,  0x71,  0x80,  0x92,  0xE9,  0xF0,  0xF4,
                               0x1F0, 0x1F1, 0x1F2, 0x1F3, 0x1F4, 0x1F5, 0x1F6, 0x1F7, 0x3F6,
                               0x170, 0x177, 0x376, 0x3F8, 0x3F9, 0x3FA, 0x3FB, 0x3FC, 0x3FD,
                               0x2F8, 0x2FD, 0x3E8, 0x2E8, 0xCF9, 0x4D0};

// ---------------------------------------------------------------- the generator

// One of a few values, uniformly.
template <class T>
T one_of(Rng& r, std::initializer_list<T> values) {
  return values.begin()[r.below(static_cast<uint32_t>(values.size()))];
}

uint16_t port(Rng& r) { return r.chance(85) ? kPorts[r.below(std::size(kPorts))] : r.u32() & 0xFFFF; }

// A selector worth loading: one of the sane GDT entries, a random GDT or LDT one, null.
uint16_t selector(Rng& r) {
  const unsigned k = r.below(10);
  if (k < 5) return static_cast<uint16_t>(8 * (1 + r.below(kFirstRandom - 1)) | r.below(4));
  if (k < 8) return static_cast<uint16_t>(8 * r.below(kGdtEntries + 4) | r.below(8));
  if (k < 9) return static_cast<uint16_t>(r.below(4));
  return static_cast<uint16_t>(r.u32());
}

constexpr uint32_t kEdges[] = {0, 1, 0xFFFF, 0x10000, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 0xFFFFFFFE};

// Register values: small addresses (the system structures, the code) or edge values.
uint32_t reg_value(Rng& r) {
  switch (r.below(12)) {
    case 0: case 1: return r.u32();
    case 2: case 3: return r.below(0x20000);
    case 4: return kCodeAt + r.below(0x3000);  // self-modifying code (and slow: kept rarer)
    case 5: case 6: return r.pick(kEdges);
    case 7: case 8: return r.below(0x100);
    default: return 0x4000 + r.below(0x4000);
  }
}

// Values for MOV CRn: the bits that matter, in plausible combinations.
uint32_t cr_value(Rng& r, unsigned cr) {
  using namespace cpu;
  switch (cr) {
    case 0: {
      uint32_t v = cr0::ET | (r.chance(85) ? cr0::PE : 0);
      if (r.chance(40)) v |= cr0::PG;
      if (r.chance(30)) v |= cr0::WP;
      if (r.chance(20)) v |= cr0::NE;
      if (r.chance(10)) v |= cr0::TS | cr0::MP;
      if (r.chance(5)) v |= cr0::EM;
      if (r.chance(5)) v |= cr0::AM;
      if (r.chance(5)) v = r.u32();
      return v;
    }
    case 3: return r.chance(80) ? kRegions[kPd].at | (r.below(4) << 3) : r.u32() & ~0xFFFu;
    case 4: {
      uint32_t v = 0;
      if (r.chance(50)) v |= cr4::PSE;
      if (r.chance(30)) v |= cr4::PGE;
      if (r.chance(10)) v |= cr4::PAE;
      if (r.chance(10)) v |= cr4::TSD;
      if (r.chance(10)) v |= cr4::DE;
      if (r.chance(10)) v |= cr4::VME | cr4::PVI;
      if (r.chance(10)) v |= cr4::PCE | cr4::OSFXSR;
      if (r.chance(5)) v = r.u32();
      return v;
    }
    default: return r.u32();
  }
}

class CodeGen {
 public:
  CodeGen(Rng& r, bool code32) : r(r), code32(code32) {}
  Rng& r;
  bool code32;
  std::vector<uint8_t> out;

  void b(uint32_t x) { out.push_back(static_cast<uint8_t>(x)); }
  void imm(uint32_t x, unsigned n) {
    for (unsigned i = 0; i < n; ++i) b(x >> (8 * i));
  }
  unsigned osize() const { return code32 ? 4 : 2; }
  // A ModRM byte with `reg` (or random), its SIB and displacement, random.
  void modrm(int reg = -1) {
    const uint8_t m = static_cast<uint8_t>(r.u32());
    const uint8_t mm = reg < 0 ? m : static_cast<uint8_t>((m & 0xC7) | (reg & 7) << 3);
    b(mm);
    const unsigned mod = mm >> 6, rm = mm & 7;
    if (mod == 3) return;
    if (code32) {
      if (rm == 4) b(r.u32());
      if (mod == 1) b(r.u32());
      if (mod == 2 || (mod == 0 && rm == 5)) imm(r.chance(70) ? r.below(0x20000) : r.u32(), 4);
    } else {
      if (mod == 1) b(r.u32());
      if (mod == 2 || (mod == 0 && rm == 6)) imm(r.below(0x10000), 2);
    }
  }
  void prefixes() {
    static constexpr uint8_t kPrefixes[] = {0x66, 0x67, 0xF3, 0xF2, 0xF0, 0x26, 0x2E, 0x36, 0x3E, 0x64, 0x65};
    while (r.chance(15)) b(kPrefixes[r.below(std::size(kPrefixes))]);
  }
  // MOV r32, imm (or r16 in 16-bit code): the register a following instruction reads.
  void mov_reg(unsigned reg, uint32_t v) {
    b(0xB8 + reg);
    imm(v, osize());
  }
  void far_ptr(uint16_t sel, uint32_t off) {
    imm(off, osize());
    imm(sel, 2);
  }
  uint32_t code_target() { return kCodeAt + r.below(0x3000); }

  void insn();
  void system_insn();
};

// One instruction biased toward the system and sensitive ones, with an operand set up
// just before it where the instruction is pointless without one.
void CodeGen::system_insn() {
  switch (r.below(30)) {
    case 0:  // LGDT/LIDT [abs]: a pseudo-descriptor built in the data area by the input
      b(0x0F), b(0x01), modrm(r.chance(50) ? 2 : 3);
      break;
    case 1:  // LLDT/LTR/VERR/VERW/SLDT/STR r16
      mov_reg(0, selector(r));
      b(0x0F), b(0x00), b(0xC0 | r.below(6) << 3);
      break;
    case 2:  // LAR/LSL
      mov_reg(1, selector(r));
      b(0x0F), b(r.chance(50) ? 0x02 : 0x03), b(0xC1 | r.below(8) << 3);
      break;
    case 3: {  // MOV CRn, reg
      const unsigned cr = one_of<unsigned>(r, {0, 0, 3, 4, 2});
      mov_reg(0, cr_value(r, cr));
      b(0x0F), b(0x22), b(0xC0 | cr << 3);
      if (cr == 0 && r.chance(60)) {  // the far JMP that follows a mode switch
        b(0xEA), far_ptr(selector(r), code_target());
      }
      break;
    }
    case 4:  // MOV reg, CRn / DRn, MOV DRn, reg
      if (r.chance(50)) mov_reg(0, r.chance(50) ? r.u32() : code_target());
      b(0x0F), b(0x20 + r.below(4)), b(0xC0 | r.below(8) << 3 | r.below(8));
      break;
    case 5:  // far JMP/CALL ptr
      b(r.chance(50) ? 0xEA : 0x9A), far_ptr(selector(r), r.chance(80) ? code_target() : r.u32());
      break;
    case 6:  // far JMP/CALL/RET through memory or the stack
      if (r.chance(50)) {
        b(0x68), imm(selector(r), osize());  // PUSH sel; PUSH off; RETF
        b(0x68), imm(code_target(), osize());
        b(0xCB);
      } else {
        b(0xFF), modrm(r.chance(50) ? 3 : 5);
      }
      break;
    case 7:  // IRET with a frame pushed just before
      if (r.chance(70)) {
        if (r.chance(30)) b(0x68), imm(selector(r), osize()), b(0x68), imm(reg_value(r), osize());
        b(0x68), imm(r.chance(70) ? (r.u32() & ~flag::VM) | flag::FIXED1 : r.u32(), osize());
        b(0x68), imm(selector(r), osize());
        b(0x68), imm(code_target(), osize());
      }
      b(0xCF);
      break;
    case 8:  // INT n, INT3, INTO, ICEBP
      switch (r.below(4)) {
        case 0: b(0xCC); break;
        case 1: b(0xCE); break;
        case 2: b(0xF1); break;
        default: b(0xCD), b(r.u32()); break;
      }
      break;
    case 9: case 10: {  // IN/OUT with DX or imm8, INS/OUTS, REP
      const uint16_t p = port(r);
      b(0xBA), imm(p, osize());  // MOV (E)DX, port
      if (r.chance(50)) b(0xB8), imm(reg_value(r), osize());
      static constexpr uint8_t kIo[] = {0xEC, 0xED, 0xEE, 0xEF, 0x6C, 0x6D, 0x6E, 0x6F};
      const uint8_t op = kIo[r.below(8)];
      if (op < 0xEC && r.chance(50)) {
        b(0xB9), imm(r.below(40), osize());  // MOV (E)CX, count
        b(0xF3);
      }
      if (r.chance(15)) b(0x66);
      if (r.chance(20) && p < 0x100) b(0xE4 + r.below(4)), b(p);
      else b(op);
      break;
    }
    case 11: b(0xF4); break;                                  // HLT
    case 12: b(r.chance(50) ? 0xFA : 0xFB); break;            // CLI/STI
    case 13: b(r.chance(50) ? 0x9C : 0x9D); break;            // PUSHF/POPF
    case 14: b(0x8E), b(0xC0 | r.below(6) << 3 | r.below(8)); break;  // MOV Sreg, r16
    case 15:  // MOV Sreg after loading a selector; POP Sreg; LDS/LES/LSS...
      mov_reg(0, selector(r));
      if (r.chance(60)) b(0x8E), b(0xC0 | r.below(6) << 3);
      else b(0x50), b(one_of<uint8_t>(r, {0x07, 0x17, 0x1F}));
      break;
    case 16: {  // x87
      b(0xD8 + r.below(8)), modrm();
      break;
    }
    case 17: {  // string instructions with REP
      if (r.chance(60)) b(0xB9), imm(r.chance(80) ? r.below(64) : r.u32(), osize());
      if (r.chance(60)) b(r.chance(70) ? 0xF3 : 0xF2);
      prefixes();
      b(0xA4 + r.below(12));
      break;
    }
    case 18:  // CPUID, RDTSC, RDMSR, WRMSR, RDPMC, SYSENTER, SYSEXIT, CLTS, INVD, WBINVD, UD2
      mov_reg(1, r.chance(70) ? one_of<uint32_t>(r, {0x10, 0x174, 0x175, 0x176, 0x1B, 0x2FF, 0x277, 0xC0000080}) : r.u32());
      b(0x0F), b(one_of<uint8_t>(r, {0xA2, 0x31, 0x32, 0x30, 0x33, 0x34, 0x35, 0x06, 0x08, 0x09, 0x0B}));
      break;
    case 19:  // INVLPG, SGDT/SIDT/SMSW/LMSW
      b(0x0F), b(0x01), modrm(one_of<int>(r, {0, 1, 4, 6, 7}));
      break;
    case 20:  // ENTER/LEAVE, BOUND, ARPL
      if (r.chance(40)) b(0xC8), imm(r.below(0x10000), 2), b(r.u32());
      else if (r.chance(50)) b(0x62), modrm();
      else b(0x63), modrm();
      break;
    case 21:  // PUSHA/POPA, near CALL/RET, LOOP/JCXZ
      b(one_of<uint8_t>(r, {0x60, 0x61, 0xC3, 0xC2, 0xE2, 0xE3, 0xE8, 0xE9}));
      imm(r.u32(), 4);
      break;
    case 22:  // CMPXCHG8B, CMPXCHG, XADD, BSWAP, BT*
      b(0x0F), b(one_of<uint8_t>(r, {0xC7, 0xB0, 0xB1, 0xC0, 0xC1, 0xC8, 0xA3, 0xAB, 0xB3, 0xBB, 0xBA}));
      modrm();
      if (r.chance(30)) b(r.u32());
      break;
    case 23:  // jump back into the code (loops: the JIT translates what runs again)
      if (r.chance(50)) b(0xEB), b(static_cast<uint8_t>(-static_cast<int>(2 + r.below(100))));
      else b(0x70 + r.below(16)), b(r.u32());
      break;
    case 24:  // DIV/IDIV (divide errors), AAM 0
      if (r.chance(30)) b(0xD4), b(0);
      else b(0xF6 + r.below(2)), b(0xF0 | r.below(16));
      break;
    case 25:  // MOV to or from a control register with a random ModRM (#UD, #GP forms)
      b(0x0F), b(0x20 + r.below(8)), b(r.u32());
      break;
    case 26:  // a write into the system structures (self-modifying GDT/IDT/page tables/code)
      b(0xBB), imm(one_of<uint32_t>(r, {0x10000, 0x11000, 0x12000, 0x18000, 0x19000, kCodeAt}) + r.below(0x400), osize());
      if (!code32) b(0x67);
      b(0x89 + r.below(2) * 0x7E), b(0x03 | r.below(8) << 3);  // MOV [EBX], reg / MOV [EBX], imm
      if (out.back() >> 3 == 0 && out[out.size() - 2] == 0xC7) imm(r.u32(), osize());
      break;
    case 27:  // far CALL through a call gate or a task gate selector
      b(0x9A), far_ptr(static_cast<uint16_t>(8 * (kFirstRandom + r.below(kGdtEntries - kFirstRandom)) | r.below(4)), r.u32());
      break;
    case 28:  // FNSAVE/FRSTOR/FLDENV/FNSTENV/FXSAVE/FXRSTOR
      if (r.chance(50)) b(0xDD), modrm(r.chance(50) ? 4 : 6);
      else if (r.chance(50)) b(0xD9), modrm(r.chance(50) ? 4 : 6);
      else b(0x0F), b(0xAE), modrm(r.below(2));
      break;
    default:  // POP SS / MOV SS then an instruction in its shadow
      b(0x17 + r.below(2) * (0x8E - 0x17));
      if (out.back() == 0x8E) b(0xD0 | r.below(8));
      break;
  }
}

void CodeGen::insn() {
  const unsigned k = r.below(100);
  if (k < 20) {  // raw bytes
    for (unsigned n = 1 + r.below(6); n; --n) b(r.u32());
  } else if (k < 55) {  // any one- or two-byte opcode with a ModRM and random bytes after
    prefixes();
    if (r.chance(20)) b(0x0F);
    b(r.u32());
    modrm();
    for (unsigned n = r.below(4); n; --n) b(r.u32());
  } else {
    prefixes();
    system_insn();
  }
}

// A segment descriptor with random fields, mostly present code or data.
uint64_t random_descriptor(Rng& r) {
  const unsigned k = r.below(100);
  if (k < 10) return (static_cast<uint64_t>(r.u32()) << 32) | r.u32();
  uint32_t base = r.chance(60) ? 0 : r.chance(50) ? r.below(0x20000) : r.u32();
  uint32_t limit = r.chance(50) ? 0xFFFFF : r.below(0x100000);
  uint8_t access;
  if (k < 30) {  // gates and system descriptors
    static constexpr uint8_t kTypes[] = {cpu::sys::CALL32, cpu::sys::CALL16, cpu::sys::TASK,
                                         cpu::sys::INT32,  cpu::sys::TSS32_AVAIL, cpu::sys::TSS16_AVAIL,
                                         cpu::sys::LDT,    cpu::sys::TSS32_BUSY};
    const uint8_t type = kTypes[r.below(std::size(kTypes))];
    if (type == cpu::sys::CALL32 || type == cpu::sys::CALL16 || type == cpu::sys::TASK || type == cpu::sys::INT32) {
      const uint16_t sel = static_cast<uint16_t>(one_of<uint16_t>(r, {kCode32, kCode16, kCode32u | 3, kCodeConf, kTssSel}));
      return gate_desc(sel, kCodeAt + r.below(0x3000), type, r.below(4), r.chance(90), r.below(32));
    }
    if (type == cpu::sys::LDT) base = kRegions[kLdt].at, limit = r.below(0x400);
    else base = kRegions[kTss].at, limit = r.chance(70) ? 0x67 + r.below(0x2000) : r.below(0x100);
    return seg_desc(base, limit, static_cast<uint8_t>(test::acc::P | type | dpl(r.below(4))), r.below(16));
  }
  access = static_cast<uint8_t>(test::acc::S | (r.chance(95) ? test::acc::P : 0) | dpl(r.below(4)) | r.below(16));
  return seg_desc(base, limit, access, static_cast<uint8_t>(r.below(16)));
}

void put64(std::vector<uint8_t>& v, size_t off, uint64_t x) { std::memcpy(v.data() + off, &x, 8); }
void put32(std::vector<uint8_t>& v, size_t off, uint32_t x) { std::memcpy(v.data() + off, &x, 4); }
void put16(std::vector<uint8_t>& v, size_t off, uint16_t x) { std::memcpy(v.data() + off, &x, 2); }

// Flip a few random bits of a region: the tables are mostly sane, never quite.
void mutate(Rng& r, std::vector<uint8_t>& v, unsigned pct) {
  if (v.empty()) return;
  while (r.chance(pct)) v[r.below(v.size())] ^= static_cast<uint8_t>(1u << r.below(8));
}

struct Header {
  uint8_t mode = 0;  // 0 real, 1 prot16, 2 prot32
  uint8_t cpl = 0;
  uint8_t bits = 0;  // kPaging...
  uint8_t misc = 0;  // kLdtLoaded, kJitEager
  uint32_t eflags = 0, cr4 = 0, dr7 = 0, cr3_low = 0;
  uint32_t gpr[8] = {};
  uint16_t ds = 0;  // real mode: DS, ES, FS, GS; protected mode: ignored (the data selector)
  uint8_t cs_down = 0;  // real mode: CS = kRealCs - cs_down, the code still at kCodeAt
};

class InsnFuzzer final : public Fuzzer {
 public:
  InsnFuzzer(uint64_t budget, double soft_limit, bool plant) : budget_(budget), soft_limit_(soft_limit), plant_(plant) {
    MachineConfig cfg;
    cfg.ram_size = kRam;
    cfg.serial = "none";
    cfg.debugcon = "none";
    cfg.no_reboot = true;
    cfg.rtc_base = frontend::RtcBase::Fixed;
    cfg.rtc_fixed_epoch = 1'000'000'000;
    // Small: a long campaign also exercises the JIT's cache flushes (POPEK_FUZZ_JIT_CACHE
    // sets the bytes, to make them frequent).
    cfg.jit_cache_bytes = 4u << 20;
    if (const char* e = getenv("POPEK_FUZZ_JIT_CACHE")) cfg.jit_cache_bytes = strtoull(e, nullptr, 0);
    cfg.engine = frontend::Engine::Interp;
    m_[0] = std::make_unique<Machine>(cfg);
    cfg.engine = frontend::Engine::Jit;
    m_[1] = std::make_unique<Machine>(cfg);
    for (auto& m : m_) m->bus().log().quiet = true;
    rtc_ = m_[0]->rtc().state;
  }

  const char* name() const override { return "insn"; }

  std::vector<uint8_t> generate(Rng& r) override {
    Output o;
    Header h;
    h.mode = static_cast<uint8_t>(r.below(4));  // real, 16-bit, 32-bit protected, virtual-8086
    h.cpl = (h.mode == 1 || h.mode == 2) && r.chance(40) ? 3 : 0;
    if (h.mode) {
      if (r.chance(50)) h.bits |= kPaging | (r.chance(50) ? kPse : 0) | (r.chance(30) ? kWp : 0) | (r.chance(20) ? kPge : 0);
      if (r.chance(10)) h.bits |= kAm;
    }
    if (r.chance(30)) h.bits |= kNe;
    if (r.chance(5)) h.bits |= kTs;
    if (r.chance(3)) h.bits |= kEm;
    h.misc = (r.chance(70) ? kLdtLoaded : 0) | (r.chance(20) ? kJitEager : 0);
    h.eflags = flag::FIXED1 | (r.chance(50) ? flag::IF : 0) | (r.u32() & flag::ARITH) | (r.chance(10) ? flag::DF : 0) |
               (r.chance(30) ? r.below(4) << flag::IOPL_SHIFT : 0) | (r.chance(5) ? flag::TF : 0) |
               (r.chance(5) ? flag::AC : 0) | (r.chance(3) ? flag::NT : 0);
    h.cr4 = r.chance(50) ? cr_value(r, 4) & ~cpu::cr4::PAE : 0;
    h.dr7 = r.chance(10) ? r.u32() : 0x400;
    h.cr3_low = r.below(4) << 3;
    for (uint32_t& g : h.gpr) g = reg_value(r);
    h.gpr[cpu::ESP] = r.chance(90) ? kStackTop - r.below(0x100) * 4 : reg_value(r);
    h.ds = static_cast<uint16_t>(r.chance(80) ? 0 : r.u32());
    o.u8(h.mode), o.u8(h.cpl), o.u8(h.bits), o.u8(h.misc);
    o.u32(h.eflags), o.u32(h.cr4), o.u32(h.dr7), o.u32(h.cr3_low);
    for (uint32_t g : h.gpr) o.u32(g);
    o.u16(h.ds);
    h.cs_down = static_cast<uint8_t>(r.chance(50) ? r.below(256) : 0);
    o.u8(h.cs_down);

    const bool raw = r.chance(10);  // every region random bytes
    for (unsigned i = 0; i < kNumRegions; ++i) {
      std::vector<uint8_t> v = raw ? random_bytes(r, kRegions[i].size) : region(r, static_cast<RegionId>(i), h);
      o.blob(v);
    }
    return o.v;
  }

  std::string run(const std::vector<uint8_t>& input, Counters& c) override {
    Machine& jit = *m_[1];
    jit.jit()->set_hot_threshold(input.size() > 3 && (input[3] & kJitEager) ? 1 : 2);
    const jit::Stats before = jit.jit()->stats;
    Outcome out[2];
    for (int e = 0; e < 2; ++e) {
      setup(*m_[e], input);
      out[e] = run_machine(*m_[e]);
      c.guest_insns += m_[e]->cpu().s.icount;
    }
    if (plant_) jit.cpu().s.gpr[cpu::EAX] ^= 1;
    c.jit_blocks += jit.jit()->stats.blocks_translated - before.blocks_translated;
    c.jit_block_runs += jit.jit()->stats.block_runs - before.block_runs;
    const cpu::CpuState& s = m_[0]->cpu().s;
    if (!(s.cr[0] & cpu::cr0::PE)) ++c.end_real;
    if (s.cpl == 3) ++c.end_cpl3;
    if (s.cr[0] & cpu::cr0::PG) ++c.end_paging;
    ++c.streams;
    if (out[0].reset) ++c.resets;
    if (out[0].fatal) ++c.fatal_stops;
    if (out[0].idle) ++c.idle;
    if (out[0].cut || out[1].cut) ++c.cut;
    for (int e = 0; e < 2; ++e) {
      const char* engine = e ? "jit" : "interp";
      if (!out[e].problem.empty()) return std::string(engine) + ": " + out[e].problem;
      if (!out[e].reset) {
        // A run cut short inside a livelock of exception deliveries leaves the exception
        // that could not be delivered pending (Cpu::deliver_pending_exception).
        const std::string bad = check_state(m_[e]->cpu(), out[e].cut);
        if (!bad.empty()) return std::string(engine) + ": " + bad + " (" + m_[e]->cpu().describe() + ")";
      }
    }
    if (out[0].cut || out[1].cut) return "";
    return compare(out);
  }

 private:
  struct Outcome {
    bool done = false;
    int status = 0;
    std::string message;
    bool reset = false;  // stopped by a triple fault or a reset request (-no-reboot)
    bool fatal = false;  // a clean stop for something popek does not implement
    bool cut = false;    // stopped by the SoftLimit: where depends on host timing
    bool idle = false;   // halted, only timer events that wake nothing ahead
    std::string problem;
  };

  static std::vector<uint8_t> random_bytes(Rng& r, size_t max) {
    std::vector<uint8_t> v(r.below(static_cast<uint32_t>(max) + 1));
    for (uint8_t& x : v) x = static_cast<uint8_t>(r.u32());
    return v;
  }

  std::vector<uint8_t> region(Rng& r, RegionId id, const Header& h) {
    std::vector<uint8_t> v;
    switch (id) {
      case kIvt:  // every vector into the code at CS = kRealCs
        v.resize(0x400);
        for (unsigned i = 0; i < 256; ++i) put32(v, i * 4, kRealCs << 16 | r.below(0x3000));
        mutate(r, v, 30);
        break;
      case kCode: {
        CodeGen g(r, h.mode == 2);
        const unsigned n = r.chance(20) ? 4 + r.below(40) : 40 + r.below(600);
        for (unsigned i = 0; i < n && g.out.size() < 0x2F00; ++i) g.insn();
        v = std::move(g.out);
        break;
      }
      case kData: {  // pseudo-descriptors for LGDT/LIDT, far pointers, values
        v.resize(0x100 + r.below(0x300));
        for (size_t i = 0; i + 4 <= v.size(); i += 4) put32(v, i, reg_value(r));
        for (unsigned i = 0; i < 8; ++i) {
          const size_t at = r.below(static_cast<uint32_t>(v.size() - 6));
          put16(v, at, static_cast<uint16_t>(r.chance(70) ? 0x3FF + 0x400 * r.below(2) : r.u32()));
          put32(v, at + 2, r.chance(70) ? one_of<uint32_t>(r, {0x10000, 0x11000, 0x15000, 0}) : r.u32());
        }
        break;
      }
      case kGdt:
        v.resize(0x400);
        put64(v, 1 * 8, seg_desc(0, 0xFFFFF, test::acc::CODE_XR | dpl(0), test::dflag::G | test::dflag::DB));
        put64(v, 2 * 8, seg_desc(0, 0xFFFFF, test::acc::DATA_RW | dpl(0), test::dflag::G | test::dflag::DB));
        put64(v, 3 * 8, seg_desc(0, 0xFFFFF, test::acc::CODE_XR | dpl(3), test::dflag::G | test::dflag::DB));
        put64(v, 4 * 8, seg_desc(0, 0xFFFFF, test::acc::DATA_RW | dpl(3), test::dflag::G | test::dflag::DB));
        put64(v, 5 * 8, seg_desc(kRegions[kTss].at, 0x67 + 0x81, test::acc::P | cpu::sys::TSS32_BUSY, 0));
        put64(v, 6 * 8, seg_desc(kRegions[kLdt].at, 0x3FF, test::acc::P | cpu::sys::LDT, 0));
        put64(v, 7 * 8, seg_desc(0, 0xFFFF, test::acc::CODE_XR | dpl(0), 0));
        put64(v, 8 * 8, seg_desc(0, 0xFFFF, test::acc::DATA_RW | dpl(0), 0));
        put64(v, 9 * 8, seg_desc(0, 0xFFFF, test::acc::CODE_XR | dpl(3), 0));
        put64(v, 10 * 8, seg_desc(0, 0xFFFF, test::acc::DATA_RW | dpl(3), 0));
        put64(v, 11 * 8, seg_desc(0, 0xFFFFF, test::acc::CODE_XRC | dpl(0), test::dflag::G | test::dflag::DB));
        for (unsigned i = kFirstRandom; i < kGdtEntries; ++i) put64(v, i * 8, random_descriptor(r));
        mutate(r, v, 40);
        break;
      case kIdt:
        v.resize(0x800);
        for (unsigned i = 0; i < 256; ++i) {
          uint64_t d;
          if (r.chance(90)) {
            const bool user = h.cpl == 3 && r.chance(20);  // an inward gate to CPL 3 code is a #GP
            const uint16_t sel = user ? kCode32u | 3 : r.chance(h.mode == 1 ? 60 : 10) ? kCode16 : kCode32;
            const uint8_t type = r.chance(80) ? (r.chance(50) ? cpu::sys::INT32 : cpu::sys::TRAP32)
                                              : (r.chance(50) ? cpu::sys::INT16 : cpu::sys::TRAP16);
            d = gate_desc(sel, kCodeAt + r.below(0x3000), type, r.chance(60) ? 3 : r.below(4), r.chance(95));
          } else {
            d = random_descriptor(r);
          }
          put64(v, i * 8, d);
        }
        mutate(r, v, 30);
        break;
      case kTss:  // 32-bit TSS, an I/O bitmap for ports 0-3FFh
        v.resize(0x68 + 0x81);
        put32(v, 4, r.chance(90) ? kStack0Top : r.u32());  // ESP0
        put32(v, 8, r.chance(90) ? uint16_t{kData32} : selector(r));  // SS0
        put32(v, 12, kStack0Top - 0x800), put32(v, 16, selector(r));
        put32(v, 20, kStack0Top - 0x1000), put32(v, 24, selector(r));
        put32(v, 28, kRegions[kPd].at);
        put16(v, 0x66, static_cast<uint16_t>(r.chance(80) ? 0x68 : r.u32()));
        for (unsigned i = 0; i < 0x80; ++i) v[0x68 + i] = r.chance(70) ? 0 : static_cast<uint8_t>(r.u32());
        v[0x68 + 0x80] = 0xFF;
        mutate(r, v, 20);
        break;
      case kLdt:
        v.resize(0x400);
        for (unsigned i = 0; i < 0x80; ++i) put64(v, i * 8, random_descriptor(r));
        break;
      case kPd: {  // PDE 0: the identity table; others: the other tables, 4 MiB pages, absent
        v.resize(0x1000);
        put32(v, 0, kRegions[kPt].at | 0x7);
        for (unsigned i = 0; i < 24; ++i) {
          const unsigned pde = r.chance(50) ? r.below(8) : r.below(1024);
          const unsigned k = r.below(10);
          uint32_t e;
          if (k < 5) e = (kRegions[kPt].at + 0x1000 * r.below(4)) | (r.u32() & 0x7F & ~0x80u);
          else if (k < 8) e = (r.chance(70) ? 0 : r.u32() & 0xFFC00000u) | 0x80 | (r.u32() & 0x17F);
          else e = r.u32();
          put32(v, pde * 4, e);
        }
        if (r.chance(80)) put32(v, 0, kRegions[kPt].at | 0x7);
        mutate(r, v, 20);
        break;
      }
      case kPt:  // table 0: identity for the 2 MiB of RAM (user, writable), others random
        v.resize(0x4000);
        for (uint32_t i = 0; i < 1024; ++i) {
          uint32_t e = i < 512 ? (i << 12) | 0x7 : 0;
          if (r.chance(3)) e = (r.below(600) << 12) | (r.u32() & 0x1FF);
          put32(v, i * 4, e);
        }
        for (uint32_t i = 1024; i < 4096; ++i) {
          if (r.chance(10)) put32(v, i * 4, (r.chance(80) ? r.below(600) << 12 : r.u32() & ~0xFFFu) | (r.u32() & 0x1FF));
        }
        mutate(r, v, 30);
        break;
      default:
        break;
    }
    return v;
  }

  // Load a segment cache from the descriptor the input put in the GDT/LDT, without the
  // checks of a real load: the starting state is the input's to choose.
  static void load_cache(Machine& m, unsigned seg, uint16_t sel) {
    const uint32_t table = (sel & 4) ? kRegions[kLdt].at : kRegions[kGdt].at;
    cpu::Descriptor d;
    std::memcpy(&d.lo, m.bus().ram() + table + (sel & 0x3F8), 4);
    std::memcpy(&d.hi, m.bus().ram() + table + (sel & 0x3F8) + 4, 4);
    m.cpu().s.seg[seg] = cpu::SegmentCache{sel, d.attr(), d.base(), d.limit(), 1};
  }

  void setup(Machine& m, const std::vector<uint8_t>& input) {
    Input in(input);
    m.boot();
    m.end_run();
    std::memset(m.bus().ram(), 0, kRam);
    // A reset leaves the CMOS memory and the RTC's time as the last guest set them (as on
    // a PC); every input starts from the machine as built, so that a reproducer replays
    // alone as it ran in a campaign.
    m.rtc().state = rtc_;
    m.rtc().post_load();
    Header h;
    h.mode = in.u8() % 4;
    h.cpl = in.u8() & 3;
    if (h.mode == 3) h.cpl = 0;  // the system around virtual-8086 mode is set up at CPL 0
    h.bits = in.u8();
    h.misc = in.u8();
    h.eflags = in.u32(), h.cr4 = in.u32(), h.dr7 = in.u32(), h.cr3_low = in.u32();
    for (uint32_t& g : h.gpr) g = in.u32();
    h.ds = in.u16();
    h.cs_down = in.u8();
    for (const Region& reg : kRegions) {
      const std::vector<uint8_t> v = in.blob(reg.size);
      if (!v.empty()) std::memcpy(m.bus().ram() + reg.at, v.data(), v.size());
    }

    cpu::Cpu& c = m.cpu();
    CpuState& s = c.s;
    using namespace cpu;
    for (unsigned i = 0; i < 8; ++i) s.gpr[i] = h.gpr[i];
    // Virtual-8086 mode is entered below, once the protected-mode system around it is set.
    s.eflags = (h.eflags & flag::WRITABLE & ~(flag::VM | flag::VIF | flag::VIP)) | flag::FIXED1;
    s.dr[7] = h.dr7;
    s.idtr = {0, 0x3FF};
    if (h.mode == 0) {
      // CS with any low bits: they are no privilege level in real mode.
      c.load_seg_real(CS, static_cast<uint16_t>(kRealCs - h.cs_down));
      for (unsigned seg : {ES, SS, DS, FS, GS}) c.load_seg_real(seg, seg == SS ? 0 : h.ds);
      s.eip = h.cs_down * 16u;
      s.gpr[ESP] &= 0xFFFF;
      c.set_cr0(cr0::ET | ((h.bits & kNe) ? cr0::NE : 0) | ((h.bits & kTs) ? cr0::TS : 0) | ((h.bits & kEm) ? cr0::EM : 0));
      c.update_cpl();
      return;
    }
    s.gdtr = {kRegions[kGdt].at, kRegions[kGdt].size - 1};
    s.idtr = {kRegions[kIdt].at, kRegions[kIdt].size - 1};
    const bool wide = h.mode >= 2;
    const uint16_t cs = (wide ? (h.cpl == 3 ? kCode32u : kCode32) : (h.cpl == 3 ? kCode16u : kCode16)) | h.cpl;
    const uint16_t ds = (wide ? (h.cpl == 3 ? kData32u : kData32) : (h.cpl == 3 ? kData16u : kData16)) | h.cpl;
    uint32_t cr0 = cr0::PE | cr0::ET;
    if (h.bits & kPaging) cr0 |= cr0::PG;
    if (h.bits & kWp) cr0 |= cr0::WP;
    if (h.bits & kAm) cr0 |= cr0::AM;
    if (h.bits & kNe) cr0 |= cr0::NE;
    if (h.bits & kTs) cr0 |= cr0::TS | cr0::MP;
    if (h.bits & kEm) cr0 |= cr0::EM;
    uint32_t cr4 = h.cr4 & (cr4::VME | cr4::PVI | cr4::TSD | cr4::DE | cr4::PCE | cr4::OSFXSR);
    if (h.bits & kPse) cr4 |= cr4::PSE;
    if (h.bits & kPge) cr4 |= cr4::PGE;
    c.set_cr4(cr4);
    c.set_cr3(kRegions[kPd].at | (h.cr3_low & 0x18));
    c.set_cr0(cr0);
    load_cache(m, CS, cs);
    for (unsigned seg : {ES, SS, DS, FS, GS}) load_cache(m, seg, ds);
    // The input may have mutated the entries the caches come from; the starting state
    // keeps what the SDM requires of CS and SS (a present code segment, a present
    // writable data segment of DPL = CPL) whatever the table in memory says.
    s.seg[CS].attr = static_cast<uint16_t>((s.seg[CS].attr & ~(attr::DPL_MASK | attr::CONFORMING)) | attr::P | attr::S | attr::CODE | h.cpl << attr::DPL_SHIFT);
    s.seg[SS].attr = static_cast<uint16_t>((s.seg[SS].attr & ~(attr::DPL_MASK | attr::CODE | attr::EXPAND_DOWN)) | attr::P | attr::S | attr::WRITABLE | h.cpl << attr::DPL_SHIFT);
    s.eip = kCodeAt;
    if (s.seg[CS].limit < s.eip) s.seg[CS].limit = 0xFFFFF;
    if (h.cpl == 3 && !(h.bits & kAm)) s.eflags &= ~flag::AC;
    const uint32_t tss = kRegions[kTss].at;
    s.tr = SegmentCache{kTssSel, static_cast<uint16_t>(attr::P | sys::TSS32_BUSY), tss, 0x67 + 0x81, 1};
    s.ldtr = (h.misc & kLdtLoaded) ? SegmentCache{kLdtSel, static_cast<uint16_t>(attr::P | sys::LDT), kRegions[kLdt].at, 0x3FF, 1}
                   : SegmentCache{0, 0, 0, 0, 0};
    if (h.mode == 3) {
      // Virtual-8086 mode: real-mode addressing of the same code at CPL 3; interrupts and
      // exceptions leave through the IDT to the TSS's ring-0 stack.
      s.eflags |= flag::VM;
      c.load_seg_real(CS, static_cast<uint16_t>(kRealCs - h.cs_down));
      for (unsigned seg : {ES, SS, DS, FS, GS}) c.load_seg_real(seg, seg == SS ? 0 : h.ds);
      s.eip = h.cs_down * 16u;
      s.gpr[ESP] &= 0xFFFF;
    }
    c.update_cpl();
    c.flush_code_cache();
  }

  Outcome run_machine(Machine& m) {
    Outcome o;
    m.host = SoftLimit::host();
    SoftLimit::arm(soft_limit_, &m.cpu().s.icount);
    // The budget bounds virtual time too: a guest halted with its timer interrupt masked
    // at the PIC skips from timer event to timer event without retiring anything.
    const uint64_t idle_bound = 1000 * budget_;
    while (m.cpu().s.icount < budget_) {
      const Machine::RunStep r = m.run_step(budget_ - m.cpu().s.icount);
      if (!r.done) {
        if (m.bus().clock().idle_instructions() > idle_bound) {
          o.idle = true;
          break;
        }
        continue;
      }
      o.done = true;
      o.status = r.status;
      o.message = r.message;
      o.cut = r.host;
      break;
    }
    SoftLimit::disarm();
    m.host = nullptr;
    if (!o.done) return o;
    const bus::StopReason why = m.bus().stop_reason();
    if (why == bus::StopReason::Reset) o.reset = true;
    if (why == bus::StopReason::Fatal) {
      // The clean stops for what is not implemented yet name it; anything else that
      // stops the machine as fatal is the run loop's own trouble.
      if (o.message.find("not implemented yet") != std::string::npos) o.fatal = true;
      else o.problem = "fatal stop: " + o.message;
    }
    if (o.message.find("internal error") != std::string::npos) o.problem = "run loop: " + o.message;
    return o;
  }

  // Invariants the SDM guarantees of any state a run can end in (not after a triple fault,
  // where the processor shuts down). The CPL itself must be 0 in real mode and the DPL of
  // SS in protected mode.
  static std::string check_state(const cpu::Cpu& c, bool cut) {
    using namespace cpu;
    const CpuState& s = c.s;
    char b[200];
    if (s.exc.pending && !cut) {
      snprintf(b, sizeof b, "an exception (vector %u) was left pending at the end of the run", s.exc.vector);
      return b;
    }
    const uint32_t must0 = (1u << 3) | (1u << 5) | (1u << 15) | 0xFFC00000u;
    if (!(s.eflags & flag::FIXED1) || (s.eflags & must0)) {
      snprintf(b, sizeof b, "EFLAGS %08x has a reserved bit wrong", s.eflags);
      return b;
    }
    if ((s.eflags & flag::VM) && (!(s.cr[0] & cr0::PE) || s.cpl != 3)) {
      snprintf(b, sizeof b, "EFLAGS.VM is set with CR0.PE %u and CPL %u (virtual-8086 mode runs at CPL 3)",
               s.cr[0] & cr0::PE, s.cpl);
      return b;
    }
    if (!(s.cr[0] & cr0::ET)) return "CR0.ET is clear (hardwired to 1)";
    if ((s.cr[0] & cr0::PG) && !(s.cr[0] & cr0::PE)) return "CR0.PG is set without CR0.PE";
    if (!s.seg[CS].valid || !s.seg[SS].valid) return "CS or SS is marked null";
    if (!(s.cr[0] & cr0::PE)) {
      if (s.cpl != 0) return "CPL " + std::to_string(s.cpl) + " in real mode";
      return "";
    }
    // Not checked: CPL = the RPL of CS. It holds after every far transfer, but not between
    // the MOV CR0 that sets PE and the far JMP that follows it, where CS still holds a
    // real-mode selector whose low bits are no privilege level (the CPL is 0 there, on a
    // real processor as in popek: the first long campaign flagged 14 such streams).
    // Every load of SS in protected mode requires DPL = CPL, and every change of CPL loads
    // SS (SDM vol. 3 5.5: the processor keeps the CPL in the DPL of SS as well); entering
    // protected mode (CR0.PE set at CPL 0) keeps both at 0.
    const unsigned ss_dpl = (s.seg[SS].attr & attr::DPL_MASK) >> attr::DPL_SHIFT;
    if (ss_dpl != s.cpl) {
      snprintf(b, sizeof b, "CPL %u differs from the DPL %u of SS %04x", s.cpl, ss_dpl, s.seg[SS].selector);
      return b;
    }
    // Every protected-mode change of EIP checks the CS limit first; running off the end
    // of the segment leaves EIP one past it (the next fetch faults).
    if (!s.halted && static_cast<uint64_t>(s.eip) > static_cast<uint64_t>(s.seg[CS].limit) + 1) {
      snprintf(b, sizeof b, "EIP %08x is past the CS limit %08x", s.eip, s.seg[CS].limit);
      return b;
    }
    return "";
  }

  // A stop message without the instruction bytes Cpu::describe() adds when it knows the
  // current instruction: the interpreter does at a triple fault, the JIT does not (a
  // difference in the report only).
  static std::string without_bytes(std::string m) {
    const size_t at = m.find(", bytes ");
    if (at != std::string::npos) m.erase(at, m.find(')', at) - at);
    return m;
  }

  std::string compare(const Outcome out[2]) {
    const CpuState& a = m_[0]->cpu().s;
    const CpuState& j = m_[1]->cpu().s;
    std::string d;
    auto field = [&](const char* name, uint64_t x, uint64_t y) {
      if (x == y) return;
      char b[96];
      snprintf(b, sizeof b, " %s interp %" PRIx64 " jit %" PRIx64 ";", name, x, y);
      d += b;
    };
    field("icount", a.icount, j.icount);
    field("eip", a.eip, j.eip);
    field("eflags", a.eflags, j.eflags);
    static const char* kGpr[] = {"eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi"};
    for (int i = 0; i < 8; ++i) field(kGpr[i], a.gpr[i], j.gpr[i]);
    static const char* kSeg[] = {"es", "cs", "ss", "ds", "fs", "gs"};
    for (int i = 0; i < 6; ++i) {
      const cpu::SegmentCache &x = a.seg[i], &y = j.seg[i];
      if (x.selector != y.selector || x.attr != y.attr || x.base != y.base || x.limit != y.limit || x.valid != y.valid) {
        char b[160];
        snprintf(b, sizeof b, " %s interp %04x/%04x/%08x/%08x/%u jit %04x/%04x/%08x/%08x/%u;", kSeg[i], x.selector,
                 x.attr, x.base, x.limit, x.valid, y.selector, y.attr, y.base, y.limit, y.valid);
        d += b;
      }
    }
    field("gdtr.base", a.gdtr.base, j.gdtr.base), field("gdtr.limit", a.gdtr.limit, j.gdtr.limit);
    field("idtr.base", a.idtr.base, j.idtr.base), field("idtr.limit", a.idtr.limit, j.idtr.limit);
    field("ldtr", a.ldtr.selector, j.ldtr.selector), field("tr", a.tr.selector, j.tr.selector);
    field("tr.attr", a.tr.attr, j.tr.attr);
    for (int i = 0; i < 5; ++i) field(("cr" + std::to_string(i)).c_str(), a.cr[i], j.cr[i]);
    for (int i = 0; i < 8; ++i) field(("dr" + std::to_string(i)).c_str(), a.dr[i], j.dr[i]);
    field("tsc_offset", a.msr.tsc_offset, j.msr.tsc_offset);
    field("sysenter_cs", a.msr.sysenter_cs, j.msr.sysenter_cs);
    field("sysenter_esp", a.msr.sysenter_esp, j.msr.sysenter_esp);
    field("sysenter_eip", a.msr.sysenter_eip, j.msr.sysenter_eip);
    field("efer", a.msr.efer, j.msr.efer);
    field("cpl", a.cpl, j.cpl), field("halted", a.halted, j.halted), field("irq_shadow", a.irq_shadow, j.irq_shadow);
    field("fpu.cw", a.fpu.cw, j.fpu.cw), field("fpu.sw", a.fpu.sw, j.fpu.sw), field("fpu.tw", a.fpu.tw, j.fpu.tw);
    field("fpu.fop", a.fpu.fop, j.fpu.fop), field("fpu.fip", a.fpu.fip, j.fpu.fip), field("fpu.fdp", a.fpu.fdp, j.fpu.fdp);
    field("fpu.fcs", a.fpu.fcs, j.fpu.fcs), field("fpu.fds", a.fpu.fds, j.fpu.fds);
    if (std::memcmp(a.fpu.r, j.fpu.r, sizeof a.fpu.r)) d += " fpu registers differ;";
    field("done", out[0].done, out[1].done), field("status", out[0].status, out[1].status);
    if (without_bytes(out[0].message) != without_bytes(out[1].message)) d += " stop message: interp '" + out[0].message + "' jit '" + out[1].message + "';";
    const uint8_t* ra = m_[0]->bus().ram();
    const uint8_t* rj = m_[1]->bus().ram();
    if (std::memcmp(ra, rj, kRam)) {
      size_t i = 0;
      while (ra[i] == rj[i]) ++i;
      char b[96];
      snprintf(b, sizeof b, " RAM differs first at %zx (interp %02x, jit %02x);", i, ra[i], rj[i]);
      d += b;
    }
    if (d.empty()) return "";
    return "the engines disagree after the same stream:" + d + " (interp ended at " + m_[0]->cpu().describe() + ")";
  }

  uint64_t budget_;
  double soft_limit_;
  bool plant_;
  std::unique_ptr<Machine> m_[2];  // the interpreter, the JIT
  devices::RtcState rtc_;          // the RTC and CMOS as built, restored for every input
};

}  // namespace

Fuzzer* make_insn_fuzzer(uint64_t budget, double soft_limit, bool plant_difference) {
  return new InsnFuzzer(budget, soft_limit, plant_difference);
}

}  // namespace popek::fuzz
