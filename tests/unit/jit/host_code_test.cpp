// Pinned host-instruction counts of the JIT (jit/native.cpp), in the manner of FEX-Emu's
// instruction-count tests: a change in the host code emitted for a common guest form shows
// up here as a failing number, so that code-quality regressions (and improvements) are
// seen in review.
//
// Harness: a flat 32-bit protected-mode machine at CPL 0, paging off (SysMachine), with the
// JIT installed. The guest block is placed at kCode and run three times from the same
// registers (the JIT translates a block on its second execution); then the Block at kCode
// is looked up with Cpu::find_block and its host code disassembled (Native::disassemble,
// one host instruction per line).
//
// Measure. A block has fixed parts (prologue, register and flag loads, the terminator's
// exit, the epilogue), so one guest form's cost is the difference between two blocks that
// differ by one extra copy of the form: FORM + HLT against FORM FORM + HLT. HLT is a
// privileged row, so it ends the block as a callout whose last host instruction is the
// block's first unconditional JMP (to the jump-cache stub); translate() emits the main body,
// then the exits, then the out-of-line slow paths of memory accesses, then the chain
// entry (where chained blocks come in), then the epilogue.
// Two numbers are pinned per form:
//   inline  host instructions up to and including the first unconditional JMP or RET,
//           i.e. the main body: what the form costs on its fast path (a TLB hit);
//   total   every host instruction of the listing: inline plus the form's out-of-line
//           slow path (the softmmu call, the bounced-store write-back).
// Both are differences of two listings of the same shape, so the fixed parts cancel. A
// conditional branch ends its block, so the Jcc test pins a whole block's total instead.
//
// A failure prints the guest bytes (with their disassembly) and both host listings. The
// HostCodeHarness tests show that the checks can fail: without the JIT installed there is
// no host code, and a wrong pinned number produces the report.
#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>
#include <Zydis/Zydis.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "cpu/block_cache.h"
#include "cpu/cpu.h"
#include "jit/native.h"
#include "tests/unit/cpu/sys_machine.h"

namespace popek::test {
namespace {

using Bytes = std::vector<uint8_t>;

constexpr uint32_t kData = 0x5000;  // EBX points here: memory forms access this page
constexpr unsigned kRuns = 3;       // translated on run 2, host code again on run 3
const Bytes kHlt = {0xF4};

Bytes cat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const Bytes& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

// The guest bytes, one instruction a line with its Zydis disassembly.
std::string guest_text(const Bytes& b) {
  ZydisDecoder dec;
  ZydisDecoderInit(&dec, ZYDIS_MACHINE_MODE_LEGACY_32, ZYDIS_STACK_WIDTH_32);
  ZydisFormatter fmt;
  ZydisFormatterInit(&fmt, ZYDIS_FORMATTER_STYLE_INTEL);
  std::string out;
  size_t off = 0;
  ZydisDecodedInstruction zi;
  ZydisDecodedOperand zo[ZYDIS_MAX_OPERAND_COUNT];
  while (off < b.size()) {
    char line[160], hex[48] = "";
    if (!ZYAN_SUCCESS(ZydisDecoderDecodeFull(&dec, b.data() + off, b.size() - off, &zi, zo))) {
      snprintf(line, sizeof line, "    %02x  (does not decode)\n", b[off]);
      out += line;
      ++off;
      continue;
    }
    for (unsigned k = 0; k < zi.length && k < 15; ++k) snprintf(hex + 3 * k, 4, "%02x ", b[off + k]);
    char text[96];
    ZydisFormatterFormatInstruction(&fmt, &zi, zo, zi.operand_count_visible, text, sizeof text,
                                    SysMachine::kCode + off, nullptr);
    snprintf(line, sizeof line, "    %-24s %s\n", hex, text);
    out += line;
    off += zi.length;
  }
  return out;
}

// The host code of one guest block and the counts the tests pin.
struct HostCode {
  Bytes guest;
  std::string listing;  // Native::disassemble; "" when the block has no host code
  std::string problem;  // why there is no listing, for the report
  long total = 0;       // host instructions in the listing
  long body = 0;        // up to and including the first unconditional JMP or RET
};

// The listing runs past the code: asmjit places the absolute addresses of the helpers
// that CALL [rip+x] reads after the epilogue, and Native::disassemble decodes those bytes
// too. The epilogue's RET is the only RET translate() emits and the last instruction, so
// the count stops there.
void count(HostCode& h) {
  std::istringstream in(h.listing);
  std::string line;
  bool in_body = true;
  while (std::getline(in, line)) {
    // "  +OFFSET  text"
    const size_t plus = line.find('+');
    if (plus == std::string::npos) continue;
    const size_t t = line.find_first_not_of(' ', line.find(' ', plus));
    const std::string text = t == std::string::npos ? "" : line.substr(t);
    ++h.total;
    if (in_body) ++h.body;
    if (text.rfind("jmp ", 0) == 0 || text == "ret") in_body = false;
    if (text == "ret") break;
  }
}

// A machine running `guest` (at kCode) three times, with the JIT installed or not.
class JitMachine {
 public:
  explicit JitMachine(bool jit) : native_(m_.cpu(), 2) {
    m_.prot_mode(0);
    if (jit) m_.cpu().runner = &native_;
  }
  ~JitMachine() {
    m_.cpu().flush_code_cache();  // releases the blocks' host code through the runner
    m_.cpu().runner = nullptr;
  }

  HostCode run(const Bytes& guest) {
    HostCode h;
    h.guest = guest;
    std::memcpy(m_.ram() + SysMachine::kCode, guest.data(), guest.size());
    cpu::CpuState& s = m_.s();
    for (unsigned r = 0; r < kRuns; ++r) {
      s.halted = 0;
      s.eip = SysMachine::kCode;
      s.eflags = cpu::flag::FIXED1;
      const uint32_t regs[8] = {1, 2, 3, kData, SysMachine::kStack3, 6, 7, 8};
      for (int i = 0; i < 8; ++i) s.gpr[i] = regs[i];
      const cpu::Cpu::RunExit e = m_.cpu().run(s.icount + 10000);
      if (e != cpu::Cpu::RunExit::Halted) {
        h.problem = "run " + std::to_string(r + 1) + " did not end halted";
        return h;
      }
    }
    const cpu::Block* b = m_.cpu().find_block(SysMachine::kCode, cpu::CodeMode::Prot32);
    if (!b) {
      h.problem = "no block at kCode";
      return h;
    }
    if (!b->host_code) h.problem = "the block has no host code (is the JIT installed?)";
    h.listing = native_.disassemble(*b);
    if (h.listing.empty() && h.problem.empty()) h.problem = "the JIT declined the block";
    count(h);
    return h;
  }

  const jit::Stats& stats() const { return native_.stats; }

 private:
  SysMachine m_;
  jit::Native native_;
};

std::string report(const HostCode& h, const char* label) {
  std::string out = std::string("guest block ") + label + " (" + std::to_string(h.guest.size()) + " bytes):\n" +
                    guest_text(h.guest);
  if (h.listing.empty()) return out + "host code " + label + ": none (" + h.problem + ")\n";
  return out + "host code " + label + " (" + std::to_string(h.total) + " host instructions, " +
         std::to_string(h.body) + " in the main body):\n" + h.listing;
}

// Translates `guest` under the JIT; a block without host code is a failure.
HostCode translate(const Bytes& guest, bool jit = true) {
  std::unique_ptr<JitMachine> m = std::make_unique<JitMachine>(jit);
  HostCode h = m->run(guest);
  if (h.listing.empty()) {
    ADD_FAILURE() << "the JIT did not translate the block: " << h.problem << "\n" << report(h, "A");
  } else if (m->stats().blocks_translated == 0) {
    ADD_FAILURE() << "a listing but no translated block in the JIT's stats\n" << report(h, "A");
  }
  return h;
}

std::string update_hint(const char* what, long pinned, long now) {
  return std::string(what) + ": pinned " + std::to_string(pinned) + ", now " + std::to_string(now) +
         ". If this is an improvement, update the pinned number in tests/unit/jit/host_code_test.cpp;"
         " otherwise the JIT's code for this form got worse (or changed shape).\n";
}

// One copy of `form` against two, each followed by HLT: the inline and total deltas.
void expect_delta(const char* name, const Bytes& form, long want_inline, long want_total) {
  const HostCode a = translate(cat({form, kHlt}));
  const HostCode b = translate(cat({form, form, kHlt}));
  if (a.listing.empty() || b.listing.empty()) return;
  const long d_inline = b.body - a.body, d_total = b.total - a.total;
  EXPECT_EQ(d_inline, want_inline) << update_hint((std::string(name) + ", inline host instructions").c_str(),
                                                  want_inline, d_inline)
                                   << report(a, "A") << report(b, "B");
  EXPECT_EQ(d_total, want_total) << update_hint((std::string(name) + ", total host instructions (inline + "
                                                 "slow path)").c_str(), want_total, d_total)
                                 << report(a, "A") << report(b, "B");
}

// A whole block's host instructions.
void expect_total(const char* name, const Bytes& block, long want_total) {
  const HostCode a = translate(block);
  if (a.listing.empty()) return;
  EXPECT_EQ(a.total, want_total) << update_hint((std::string(name) + ", host instructions of the block").c_str(),
                                                want_total, a.total)
                                 << report(a, "A");
}

// ---------------------------------------------------------------- register forms

const Bytes kAddRegReg = {0x01, 0xD8};
constexpr long kAddInline = 1, kAddTotal = 1;
TEST(HostCode, AddRegReg) { expect_delta("add eax, ebx", kAddRegReg, kAddInline, kAddTotal); }
TEST(HostCode, MovRegReg) { expect_delta("mov eax, ebx", {0x89, 0xD8}, 1, 1); }
TEST(HostCode, AddRegImm32) { expect_delta("add eax, 0x12345678", {0x05, 0x78, 0x56, 0x34, 0x12}, 1, 1); }
TEST(HostCode, IncReg) { expect_delta("inc ecx", {0x41}, 1, 1); }
TEST(HostCode, Lea) { expect_delta("lea eax, [ebx+ecx*4+8]", {0x8D, 0x44, 0x8B, 0x08}, 1, 1); }

// DIV r32: the #DE check (EDX below the divisor), then the host's DIV; the callout that
// raises #DE is out of line. (EDX = 3 and EBX = kData: the quotient fits.)
TEST(HostCode, DivReg) { expect_delta("div ebx", {0xF7, 0xF3}, 8, 17); }

// LAHF; BSF (ZF merged into the saved flags, the others kept); SHRD by 10 (AF cleared and
// OF set from the sign change, as the interpreter does, where the host differs).
TEST(HostCode, Lahf) { expect_delta("lahf", {0x9F}, 1, 1); }
TEST(HostCode, BsfReg) { expect_delta("bsf eax, ebx", {0x0F, 0xBC, 0xC3}, 16, 16); }
TEST(HostCode, ShrdImm) { expect_delta("shrd eax, edx, 10", {0x0F, 0xAC, 0xD0, 0x0A}, 17, 17); }

// ---------------------------------------------------------------- memory forms (TLB)

TEST(HostCode, LoadThroughTlb) { expect_delta("mov eax, [ebx+4]", {0x8B, 0x43, 0x04}, 18, 27); }
TEST(HostCode, Store) { expect_delta("mov [ebx+4], eax", {0x89, 0x43, 0x04}, 18, 42); }
TEST(HostCode, ReadModifyWrite) { expect_delta("add [ebx], eax", {0x01, 0x03}, 18, 37); }
TEST(HostCode, PushReg) { expect_delta("push eax", {0x50}, 19, 44); }
TEST(HostCode, PopReg) { expect_delta("pop ecx", {0x59}, 19, 28); }
// String forms without REP: one element through the TLB, then ESI/EDI step by DF.
TEST(HostCode, Lodsb) { expect_delta("lodsb", {0xAC}, 21, 30); }
// REP STOSD: the budget, DF and one-page checks, the TLB lookup, the host's REP STOSD;
// the callout for everything else is out of line.
TEST(HostCode, RepStosd) { expect_delta("rep stosd", {0xF3, 0xAB}, 30, 50); }
TEST(HostCode, Stosd) { expect_delta("stosd", {0xAB}, 21, 48); }

// ---------------------------------------------------------------- block ends and callouts

// CMP, then JNE to the next instruction; the branch ends the block (HLT is a block of its
// own), and both the taken and the fall-through side are chained exits. The pinned count
// is the block at kCode: prologue, chain entry, CMP, JNE, two chain exits (each with its
// call of the link stub until patched), epilogue.
TEST(HostCode, JccEndsBlock) { expect_total("cmp eax, ebx; jne +0", {0x39, 0xD8, 0x75, 0x00, 0xF4}, 67); }

// The fixed cost: prologue, chain entry, the HLT callout (a call of the shared callout
// stub), epilogue.
constexpr long kHltBlock = 54;
TEST(HostCode, HltOnlyBlock) { expect_total("hlt", kHlt, kHltBlock); }

TEST(HostCode, CalloutCpuid) { expect_delta("cpuid (callout)", {0x0F, 0xA2}, 3, 3); }
TEST(HostCode, CalloutPushfd) { expect_delta("pushfd (callout)", {0x9C}, 3, 3); }

// ---------------------------------------------------------------- the harness can fail

// Without the JIT there is no host code: translate() must report it.
TEST(HostCodeHarness, FailsWithoutJit) {
  const Bytes block = cat({kAddRegReg, kHlt});
  HostCode h;
  EXPECT_NONFATAL_FAILURE(h = translate(block, /*jit=*/false), "the JIT did not translate the block");
  EXPECT_TRUE(h.listing.empty());
  EXPECT_EQ(h.total, 0);
}

// A wrong pinned number fails with the update hint, the guest bytes and both listings.
TEST(HostCodeHarness, WrongPinFails) {
  EXPECT_NONFATAL_FAILURE(expect_delta("add eax, ebx", kAddRegReg, kAddInline + 1, kAddTotal),
                          "If this is an improvement, update the pinned number");
  EXPECT_NONFATAL_FAILURE(expect_delta("add eax, ebx", kAddRegReg, kAddInline, kAddTotal + 1),
                          "host code B (");
  EXPECT_NONFATAL_FAILURE(expect_total("hlt", kHlt, kHltBlock - 1), "guest block A (1 bytes)");
}

}  // namespace
}  // namespace popek::test
