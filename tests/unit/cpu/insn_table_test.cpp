// The instruction table: every row decodes from real bytes to itself, rows are unique,
// the Popek-Goldberg classes of the instructions the literature names are right, and the
// data-flow columns agree with the SDM facts pinned here and with what the semantic
// functions do on random register inputs.
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "cpu/cpu_state.h"
#include "cpu/decoder.h"
#include "cpu/insn_table.h"
#include "tests/unit/cpu/one_insn.h"
#include "tests/unit/cpu/x87_samples.h"

namespace popek::cpu {
namespace {

struct Sample {
  const char* row;
  std::vector<uint8_t> bytes;
  CodeMode mode = CodeMode::Prot32;
};

// One encoding per row (several for rows with many forms).
const std::vector<Sample> kSamples = {
    {"MOV", {0x89, 0xC8}}, {"MOV", {0xB8, 1, 0, 0, 0}}, {"MOV", {0xA1, 0, 0, 0, 0}},
    {"MOVZX", {0x0F, 0xB6, 0xC1}}, {"MOVSX", {0x0F, 0xBF, 0xC1}}, {"XCHG", {0x87, 0x03}},
    {"XCHG", {0x91}}, {"BSWAP", {0x0F, 0xC8}}, {"XADD", {0x0F, 0xC1, 0x03}},
    {"CMPXCHG", {0x0F, 0xB1, 0x03}}, {"CMPXCHG8B", {0x0F, 0xC7, 0x0B}},
    {"CMOVO", {0x0F, 0x40, 0xC1}}, {"CMOVNLE", {0x0F, 0x4F, 0xC1}}, {"SETO", {0x0F, 0x90, 0xC0}},
    {"SETNLE", {0x0F, 0x9F, 0xC0}}, {"LEA", {0x8D, 0x04, 0x24}}, {"PUSH", {0x50}},
    {"PUSH", {0x6A, 0xFF}}, {"PUSH", {0xFF, 0x30}}, {"POP", {0x58}}, {"POP", {0x8F, 0x00}},
    {"PUSHAD", {0x60}}, {"PUSHA", {0x66, 0x60}}, {"POPAD", {0x61}}, {"POPA", {0x66, 0x61}},
    {"ENTER", {0xC8, 8, 0, 1}}, {"LEAVE", {0xC9}}, {"CWDE", {0x98}}, {"CBW", {0x66, 0x98}},
    {"CDQ", {0x99}}, {"CWD", {0x66, 0x99}}, {"LAHF", {0x9F}}, {"SAHF", {0x9E}}, {"XLAT", {0xD7}},
    {"NOP", {0x90}}, {"NOP", {0x0F, 0x1F, 0x00}}, {"PAUSE", {0xF3, 0x90}},
    {"PREFETCHNTA", {0x0F, 0x18, 0x00}}, {"PREFETCHT0", {0x0F, 0x18, 0x08}},
    {"PREFETCHT1", {0x0F, 0x18, 0x10}}, {"PREFETCHT2", {0x0F, 0x18, 0x18}}, {"SALC", {0xD6}}, {"CLC", {0xF8}},
    {"STC", {0xF9}}, {"CMC", {0xF5}}, {"CLD", {0xFC}}, {"STD", {0xFD}},
    {"ADD", {0x01, 0xC8}}, {"ADC", {0x11, 0xC8}}, {"SUB", {0x29, 0xC8}}, {"SBB", {0x19, 0xC8}},
    {"CMP", {0x39, 0xC8}}, {"INC", {0x40}}, {"DEC", {0x48}}, {"NEG", {0xF7, 0xD8}},
    {"AND", {0x21, 0xC8}}, {"OR", {0x09, 0xC8}}, {"XOR", {0x31, 0xC8}}, {"NOT", {0xF7, 0xD0}},
    {"TEST", {0x85, 0xC8}}, {"SHL", {0xD1, 0xE0}}, {"SHR", {0xD1, 0xE8}}, {"SAR", {0xD1, 0xF8}},
    {"ROL", {0xD1, 0xC0}}, {"ROR", {0xD1, 0xC8}}, {"RCL", {0xD1, 0xD0}}, {"RCR", {0xD1, 0xD8}},
    {"SHLD", {0x0F, 0xA4, 0xC1, 3}}, {"SHRD", {0x0F, 0xAD, 0xC1}}, {"BT", {0x0F, 0xA3, 0xC8}},
    {"BTS", {0x0F, 0xAB, 0xC8}}, {"BTR", {0x0F, 0xB3, 0xC8}}, {"BTC", {0x0F, 0xBB, 0xC8}},
    {"BSF", {0x0F, 0xBC, 0xC1}}, {"BSR", {0x0F, 0xBD, 0xC1}}, {"MUL", {0xF7, 0xE1}},
    {"IMUL", {0x0F, 0xAF, 0xC1}}, {"IMUL", {0x6B, 0xC1, 5}}, {"DIV", {0xF7, 0xF1}},
    {"IDIV", {0xF7, 0xF9}}, {"DAA", {0x27}}, {"DAS", {0x2F}}, {"AAA", {0x37}}, {"AAS", {0x3F}},
    {"AAM", {0xD4, 0x0A}}, {"AAD", {0xD5, 0x0A}},
    {"MOVSB", {0xA4}}, {"MOVSW", {0x66, 0xA5}}, {"MOVSD", {0xA5}}, {"CMPSB", {0xA6}},
    {"CMPSW", {0x66, 0xA7}}, {"CMPSD", {0xA7}}, {"STOSB", {0xAA}}, {"STOSW", {0x66, 0xAB}},
    {"STOSD", {0xAB}}, {"LODSB", {0xAC}}, {"LODSW", {0x66, 0xAD}}, {"LODSD", {0xAD}},
    {"SCASB", {0xAE}}, {"SCASW", {0x66, 0xAF}}, {"SCASD", {0xAF}}, {"INSB", {0x6C}},
    {"INSW", {0x66, 0x6D}}, {"INSD", {0x6D}}, {"OUTSB", {0x6E}}, {"OUTSW", {0x66, 0x6F}},
    {"OUTSD", {0x6F}},
    {"JMP", {0xEB, 0xFE}}, {"JMP", {0xFF, 0xE0}}, {"JMP_FAR", {0xEA, 0, 0, 0, 0, 8, 0}},
    {"JMP_FAR", {0xFF, 0x28}}, {"CALL", {0xE8, 0, 0, 0, 0}}, {"CALL_FAR", {0x9A, 0, 0, 0, 0, 8, 0}},
    {"CALL_FAR", {0xFF, 0x18}}, {"RET", {0xC3}}, {"RET", {0xC2, 4, 0}}, {"RET_FAR", {0xCB}},
    {"RET_FAR", {0xCA, 8, 0}}, {"JO", {0x70, 0}}, {"JNO", {0x71, 0}}, {"JB", {0x72, 0}},
    {"JNB", {0x73, 0}}, {"JZ", {0x74, 0}}, {"JNZ", {0x75, 0}}, {"JBE", {0x76, 0}},
    {"JNBE", {0x77, 0}}, {"JS", {0x78, 0}}, {"JNS", {0x79, 0}}, {"JP", {0x7A, 0}},
    {"JNP", {0x7B, 0}}, {"JL", {0x7C, 0}}, {"JNL", {0x7D, 0}}, {"JLE", {0x7E, 0}},
    {"JNLE", {0x7F, 0}}, {"JNLE", {0x0F, 0x8F, 0, 0, 0, 0}}, {"JECXZ", {0xE3, 0}},
    {"JCXZ", {0x67, 0xE3, 0}}, {"LOOP", {0xE2, 0}}, {"LOOPE", {0xE1, 0}}, {"LOOPNE", {0xE0, 0}},
    {"INT", {0xCD, 0x21}}, {"INT3", {0xCC}}, {"INTO", {0xCE}}, {"INT1", {0xF1}}, {"IRETD", {0xCF}},
    {"IRET", {0x66, 0xCF}}, {"BOUND", {0x62, 0x03}}, {"SYSENTER", {0x0F, 0x34}},
    {"SYSEXIT", {0x0F, 0x35}},
    {"MOV_TO_SEG", {0x8E, 0xD8}}, {"MOV_FROM_SEG", {0x8C, 0xC8}}, {"PUSH_SEG", {0x06}},
    {"PUSH_SEG", {0x0F, 0xA0}}, {"POP_SEG", {0x1F}}, {"POP_SEG", {0x0F, 0xA9}},
    {"LDS", {0xC5, 0x03}}, {"LES", {0xC4, 0x03}}, {"LFS", {0x0F, 0xB4, 0x03}},
    {"LGS", {0x0F, 0xB5, 0x03}}, {"LSS", {0x0F, 0xB2, 0x03}}, {"PUSHFD", {0x9C}},
    {"PUSHF", {0x66, 0x9C}}, {"POPFD", {0x9D}}, {"POPF", {0x66, 0x9D}},
    {"SGDT", {0x0F, 0x01, 0x00}}, {"SIDT", {0x0F, 0x01, 0x08}}, {"SLDT", {0x0F, 0x00, 0xC0}},
    {"STR", {0x0F, 0x00, 0xC8}}, {"SMSW", {0x0F, 0x01, 0xE0}}, {"LAR", {0x0F, 0x02, 0xC1}},
    {"LSL", {0x0F, 0x03, 0xC1}}, {"VERR", {0x0F, 0x00, 0xE0}}, {"VERW", {0x0F, 0x00, 0xE8}},
    {"ARPL", {0x63, 0xC8}}, {"CPUID", {0x0F, 0xA2}}, {"RDTSC", {0x0F, 0x31}},
    {"LGDT", {0x0F, 0x01, 0x10}}, {"LIDT", {0x0F, 0x01, 0x18}}, {"LLDT", {0x0F, 0x00, 0xD0}},
    {"LTR", {0x0F, 0x00, 0xD8}}, {"LMSW", {0x0F, 0x01, 0xF0}}, {"CLTS", {0x0F, 0x06}},
    {"MOV_CR", {0x0F, 0x22, 0xC0}}, {"MOV_CR", {0x0F, 0x20, 0xC0}}, {"MOV_DR", {0x0F, 0x23, 0xF8}},
    {"MOV_DR", {0x0F, 0x21, 0xF8}}, {"HLT", {0xF4}}, {"INVD", {0x0F, 0x08}},
    {"WBINVD", {0x0F, 0x09}}, {"INVLPG", {0x0F, 0x01, 0x38}}, {"RDMSR", {0x0F, 0x32}},
    {"WRMSR", {0x0F, 0x30}}, {"CLI", {0xFA}}, {"STI", {0xFB}}, {"IN", {0xE4, 0x60}},
    {"IN", {0xEC}}, {"OUT", {0xE6, 0x80}}, {"OUT", {0xEE}}, {"UD2", {0x0F, 0x0B}},
    {"UD0", {0x0F, 0xFF, 0xC0}}, {"UD1", {0x0F, 0xB9, 0xC0}},
};

// The condition-code families, in encoding order (which the table's rows follow).
std::vector<Sample> all_samples() {
  static const char* const cc[] = {"O", "NO", "B", "NB", "Z", "NZ", "BE", "NBE",
                                   "S", "NS", "P", "NP", "L", "NL", "LE", "NLE"};
  static std::vector<std::string> names;
  std::vector<Sample> v = kSamples;
  for (const auto& [name, bytes] : kX87Samples) v.push_back({name, bytes});
  names.reserve(48);
  for (uint8_t i = 0; i < 16; ++i) {
    names.push_back(std::string("CMOV") + cc[i]);
    v.push_back({names.back().c_str(), {0x0F, static_cast<uint8_t>(0x40 + i), 0xC1}});
    names.push_back(std::string("SET") + cc[i]);
    v.push_back({names.back().c_str(), {0x0F, static_cast<uint8_t>(0x90 + i), 0xC0}});
    names.push_back(std::string("J") + cc[i]);
    v.push_back({names.back().c_str(), {static_cast<uint8_t>(0x70 + i), 0}});
  }
  return v;
}

TEST(InsnTable, EveryRowHasASampleThatDecodesToIt) {
  Decoder dec;
  std::set<std::string> covered;
  for (const Sample& s : all_samples()) {
    Insn in;
    ASSERT_EQ(dec.decode(s.bytes.data(), s.bytes.size(), s.mode, in), DecodeResult::Ok) << s.row;
    ASSERT_NE(in.fn, nullptr) << s.row << ": decoded to a mnemonic with no table row";
    EXPECT_STREQ(kInsnTable[in.row].name, s.row);
    EXPECT_EQ(in.len, s.bytes.size()) << s.row;
    covered.insert(kInsnTable[in.row].name);
  }
  for (size_t i = 0; i < kInsnTableSize; ++i) {
    EXPECT_TRUE(covered.count(kInsnTable[i].name)) << "no decode sample for row " << kInsnTable[i].name;
  }
}

TEST(InsnTable, RowNamesAreUnique) {
  std::set<std::string> names;
  for (size_t i = 0; i < kInsnTableSize; ++i) {
    EXPECT_TRUE(names.insert(kInsnTable[i].name).second) << kInsnTable[i].name;
  }
}

const InsnRow& row(const char* name) {
  for (size_t i = 0; i < kInsnTableSize; ++i) {
    if (std::string(kInsnTable[i].name) == name) return kInsnTable[i];
  }
  ADD_FAILURE() << "no row " << name;
  return kInsnTable[0];
}

// The sensitive-but-unprivileged instructions of Robin & Irvine (2000) for the Pentium.
TEST(InsnTable, RobinIrvineInstructionsAreSensitive) {
  for (const char* n : {"SGDT", "SIDT", "SLDT", "SMSW", "STR", "PUSHF", "PUSHFD", "POPF", "POPFD",
                        "LAR", "LSL", "VERR", "VERW", "PUSH_SEG", "POP_SEG", "MOV_TO_SEG",
                        "MOV_FROM_SEG", "CALL_FAR", "JMP_FAR", "RET_FAR", "INT", "IRET", "IRETD"}) {
    EXPECT_EQ(row(n).cls, InsnClass::Sensitive) << n;
  }
}

TEST(InsnTable, PrivilegedAndIoClasses) {
  for (const char* n : {"LGDT", "LIDT", "LLDT", "LTR", "LMSW", "CLTS", "MOV_CR", "MOV_DR", "HLT",
                        "INVD", "WBINVD", "INVLPG", "RDMSR", "WRMSR", "SYSEXIT"}) {
    EXPECT_EQ(row(n).cls, InsnClass::Privileged) << n;
  }
  for (const char* n : {"CLI", "STI", "IN", "OUT", "INSB", "OUTSD"}) {
    EXPECT_EQ(row(n).cls, InsnClass::Io) << n;
  }
  for (const char* n : {"ADD", "MOV", "JMP", "CALL", "RET", "MOVSB", "XADD"}) {
    EXPECT_EQ(row(n).cls, InsnClass::Innocuous) << n;
  }
}

TEST(Decoder, LockOnNonLockableFormIsInvalid) {
  Decoder dec;
  Insn in;
  const uint8_t lock_mov[] = {0xF0, 0x89, 0xC8};
  EXPECT_EQ(dec.decode(lock_mov, sizeof lock_mov, CodeMode::Prot32, in), DecodeResult::Invalid);
  const uint8_t lock_add_reg[] = {0xF0, 0x01, 0xC8};
  EXPECT_EQ(dec.decode(lock_add_reg, sizeof lock_add_reg, CodeMode::Prot32, in), DecodeResult::Invalid);
  const uint8_t lock_add_mem[] = {0xF0, 0x01, 0x08};
  EXPECT_EQ(dec.decode(lock_add_mem, sizeof lock_add_mem, CodeMode::Prot32, in), DecodeResult::Ok);
}

TEST(Decoder, RepBsfIsBsfOnAnI686) {
  Decoder dec;
  Insn in;
  const uint8_t rep_bsf[] = {0xF3, 0x0F, 0xBC, 0xC9};
  ASSERT_EQ(dec.decode(rep_bsf, sizeof rep_bsf, CodeMode::Prot32, in), DecodeResult::Ok);
  EXPECT_STREQ(kInsnTable[in.row].name, "BSF");
  const uint8_t rep_bsr[] = {0xF3, 0x0F, 0xBD, 0xC9};
  ASSERT_EQ(dec.decode(rep_bsr, sizeof rep_bsr, CodeMode::Prot32, in), DecodeResult::Ok);
  EXPECT_STREQ(kInsnTable[in.row].name, "BSR");
}

TEST(Decoder, TooLongAndTruncated) {
  Decoder dec;
  Insn in;
  std::vector<uint8_t> prefixes(15, 0x66);
  prefixes.push_back(0x90);
  EXPECT_EQ(dec.decode(prefixes.data(), prefixes.size(), CodeMode::Prot32, in), DecodeResult::TooLong);
  const uint8_t partial[] = {0xB8, 1, 2};
  EXPECT_EQ(dec.decode(partial, sizeof partial, CodeMode::Prot32, in), DecodeResult::NeedMore);
}

TEST(Decoder, SixteenBitModesAndPrefixes) {
  Decoder dec;
  Insn in;
  const uint8_t mov_ax[] = {0xB8, 0x34, 0x12};
  ASSERT_EQ(dec.decode(mov_ax, sizeof mov_ax, CodeMode::Real16, in), DecodeResult::Ok);
  EXPECT_EQ(in.opsize, 2);
  EXPECT_EQ(in.len, 3);
  const uint8_t o32[] = {0x66, 0xB8, 1, 2, 3, 4};
  ASSERT_EQ(dec.decode(o32, sizeof o32, CodeMode::Prot16, in), DecodeResult::Ok);
  EXPECT_EQ(in.opsize, 4);
  const uint8_t rep_movsb_es[] = {0x26, 0xF3, 0xA4};
  ASSERT_EQ(dec.decode(rep_movsb_es, sizeof rep_movsb_es, CodeMode::Prot32, in), DecodeResult::Ok);
  EXPECT_TRUE(in.prefixes & prefix::REP);
  EXPECT_EQ(in.seg, 0 /* ES */);
}


// ---------------------------------------------------------------- data-flow columns

constexpr uint32_t O = flag::OF, S = flag::SF, Z = flag::ZF, A = flag::AF, P = flag::PF,
                   C = flag::CF;
constexpr uint8_t rbit(Gpr r) { return static_cast<uint8_t>(1u << r); }

TEST(InsnTable, DataFlowColumnsAreConsistent) {
  for (size_t i = 0; i < kInsnTableSize; ++i) {
    const InsnRow& r = kInsnTable[i];
    SCOPED_TRACE(r.name);
    EXPECT_EQ(r.flags_undef & ~r.flags_written, 0u) << "undefined flags must be written";
    // Every mask names real EFLAGS bits only (no all-ones "unset" sentinel).
    EXPECT_EQ(r.flags_read & ~flag::WRITABLE, 0u);
    EXPECT_EQ(r.flags_written & ~flag::WRITABLE, 0u);
    EXPECT_EQ(r.flags_undef & ~flag::ARITH, 0u) << "only arithmetic flags are ever undefined";
    // Rows with a memory form or a privilege/IOPL check can fault.
    if ((r.attrs & iattr::LOCKABLE) || r.cls == InsnClass::Privileged || r.cls == InsnClass::Io) {
      EXPECT_TRUE(r.may_fault);
    }
  }
}

TEST(InsnTable, DataFlowPinnedFacts) {
  EXPECT_EQ(row("ADC").flags_read, C);
  EXPECT_EQ(row("ADC").flags_written, flag::ARITH);
  EXPECT_EQ(row("SBB").flags_read, C);
  EXPECT_EQ(row("ADD").flags_read, 0u);
  EXPECT_EQ(row("INC").flags_read, 0u);
  EXPECT_EQ(row("INC").flags_written, flag::ARITH & ~C);
  EXPECT_EQ(row("AND").flags_undef, A);
  EXPECT_EQ(row("NOT").flags_written, 0u);
  EXPECT_EQ(row("MUL").gprs_written, rbit(EAX) | rbit(EDX));
  EXPECT_EQ(row("MUL").flags_undef, S | Z | A | P);
  EXPECT_EQ(row("DIV").gprs_read, rbit(EAX) | rbit(EDX));
  EXPECT_EQ(row("DIV").flags_undef, flag::ARITH);
  EXPECT_TRUE(row("DIV").may_fault);
  EXPECT_EQ(row("SHL").flags_read, flag::ARITH);  // count 0 keeps every flag
  EXPECT_EQ(row("SHL").flags_undef & (A | O), A | O);
  EXPECT_EQ(row("RCL").flags_read & C, C);
  EXPECT_EQ(row("ROL").flags_written, C | O);
  EXPECT_EQ(row("BT").flags_written & Z, 0u);
  EXPECT_EQ(row("BSF").flags_written & ~row("BSF").flags_undef, Z);
  EXPECT_EQ(row("DAA").flags_read, A | C);
  EXPECT_EQ(row("AAM").flags_undef, O | A | C);
  EXPECT_FALSE(row("CLC").may_fault);
  EXPECT_EQ(row("CLC").flags_written, C);
  EXPECT_EQ(row("STD").flags_written, flag::DF);
  EXPECT_FALSE(row("CDQ").may_fault);
  EXPECT_EQ(row("CDQ").gprs_read, rbit(EAX));
  EXPECT_EQ(row("CDQ").gprs_written, rbit(EDX));
  EXPECT_TRUE(row("SETZ").may_fault);  // SETcc m8
  EXPECT_EQ(row("LAHF").flags_read, S | Z | A | P | C);
  EXPECT_EQ(row("LAHF").gprs_written, rbit(EAX));
  EXPECT_EQ(row("CPUID").gprs_read, rbit(EAX) | rbit(ECX));
  EXPECT_EQ(row("CPUID").gprs_written, rbit(EAX) | rbit(EBX) | rbit(ECX) | rbit(EDX));
  EXPECT_EQ(row("CMPXCHG8B").gprs_read, rbit(EAX) | rbit(EBX) | rbit(ECX) | rbit(EDX));
  for (const char* n : {"MOVSB", "CMPSD"}) {
    EXPECT_EQ(row(n).gprs_read & (rbit(ESI) | rbit(EDI) | rbit(ECX)), rbit(ESI) | rbit(EDI) | rbit(ECX)) << n;
    EXPECT_EQ(row(n).gprs_written & (rbit(ESI) | rbit(EDI)), rbit(ESI) | rbit(EDI)) << n;
    EXPECT_TRUE(row(n).flags_read & flag::DF) << n;
  }
  EXPECT_EQ(row("STOSD").gprs_read & rbit(EAX), rbit(EAX));
  EXPECT_EQ(row("LODSB").gprs_written & rbit(EAX), rbit(EAX));
  for (const char* n : {"PUSH", "POP", "CALL", "RET", "PUSHFD", "INT", "IRETD", "PUSH_SEG"}) {
    EXPECT_TRUE(row(n).gprs_written & rbit(ESP)) << n;
  }
  EXPECT_EQ(row("LEAVE").gprs_written, rbit(ESP) | rbit(EBP));
  EXPECT_EQ(row("LOOPNE").flags_read, Z);
  EXPECT_EQ(row("LOOPNE").gprs_written, rbit(ECX));
  EXPECT_EQ(row("JECXZ").gprs_read, rbit(ECX));
  EXPECT_TRUE(row("IN").gprs_read & rbit(EDX));
  EXPECT_EQ(row("IN").gprs_written, rbit(EAX));
  EXPECT_EQ(row("FNSTSW").gprs_written, rbit(EAX));
  EXPECT_EQ(row("FCOMI").flags_written, flag::ARITH);
  EXPECT_EQ(row("FCMOVBE").flags_read, C | Z);
  EXPECT_EQ(row("POPFD").flags_written & flag::IF, flag::IF);
  EXPECT_EQ(row("CLI").flags_written, flag::IF);
}

// Jcc, SETcc and CMOVcc read exactly the flags of their condition.
TEST(InsnTable, ConditionRowsReadTheirFlags) {
  const struct {
    const char* cc;
    uint32_t flags;
  } kCc[] = {{"O", O},     {"NO", O},     {"B", C},      {"NB", C},     {"Z", Z},
             {"NZ", Z},    {"BE", C | Z}, {"NBE", C | Z}, {"S", S},     {"NS", S},
             {"P", P},     {"NP", P},     {"L", S | O},  {"NL", S | O}, {"LE", Z | S | O},
             {"NLE", Z | S | O}};
  for (const auto& [cc, flags] : kCc) {
    for (const char* family : {"J", "SET", "CMOV"}) {
      const std::string n = std::string(family) + cc;
      const InsnRow& r = row(n.c_str());
      EXPECT_EQ(r.flags_read, flags) << n;
      EXPECT_EQ(r.flags_written, 0u) << n;
      EXPECT_TRUE(r.may_fault) << n;
    }
  }
}

// Register-operand encodings run through the semantic functions. The cross-check covers
// every row of cpu/ops/arith.def and the register-only rows of the other groups.
struct FlowSample {
  const char* row;
  std::vector<uint8_t> bytes;
  bool string = false;  // ESI/EDI point into RAM and ECX is a small count
};

const std::vector<FlowSample> kFlowSamples = {
    // cpu/ops/arith.def: 32-, 16- and 8-bit register forms, shifts by CL.
    {"ADD", {0x01, 0xC8}}, {"ADD", {0x00, 0xC8}}, {"ADD", {0x66, 0x01, 0xC8}},
    {"ADC", {0x11, 0xC8}}, {"ADC", {0x10, 0xC8}}, {"SUB", {0x29, 0xC8}}, {"SUB", {0x28, 0xC8}},
    {"SBB", {0x19, 0xC8}}, {"SBB", {0x18, 0xC8}}, {"CMP", {0x39, 0xC8}}, {"CMP", {0x38, 0xC8}},
    {"INC", {0x40}}, {"INC", {0xFE, 0xC0}}, {"DEC", {0x48}}, {"DEC", {0xFE, 0xC8}},
    {"NEG", {0xF7, 0xD8}}, {"NEG", {0xF6, 0xD8}}, {"AND", {0x21, 0xC8}}, {"AND", {0x20, 0xC8}},
    {"OR", {0x09, 0xC8}}, {"OR", {0x08, 0xC8}}, {"XOR", {0x31, 0xC8}}, {"XOR", {0x30, 0xC8}},
    {"NOT", {0xF7, 0xD0}}, {"NOT", {0xF6, 0xD0}}, {"TEST", {0x85, 0xC8}}, {"TEST", {0x84, 0xC8}},
    {"SHL", {0xD3, 0xE0}}, {"SHL", {0xD2, 0xE0}}, {"SHL", {0x66, 0xD3, 0xE0}}, {"SHL", {0xD1, 0xE0}},
    {"SHR", {0xD3, 0xE8}}, {"SHR", {0xD2, 0xE8}}, {"SAR", {0xD3, 0xF8}}, {"SAR", {0xD2, 0xF8}},
    {"ROL", {0xD3, 0xC0}}, {"ROL", {0xD2, 0xC0}}, {"ROR", {0xD3, 0xC8}}, {"ROR", {0xD2, 0xC8}},
    {"RCL", {0xD3, 0xD0}}, {"RCL", {0xD2, 0xD0}}, {"RCL", {0x66, 0xD3, 0xD0}},
    {"RCR", {0xD3, 0xD8}}, {"RCR", {0xD2, 0xD8}}, {"SHLD", {0x0F, 0xA5, 0xC8}},
    {"SHLD", {0x66, 0x0F, 0xA5, 0xC8}}, {"SHRD", {0x0F, 0xAD, 0xC8}},
    {"SHRD", {0x66, 0x0F, 0xAD, 0xC8}}, {"BT", {0x0F, 0xA3, 0xC8}}, {"BTS", {0x0F, 0xAB, 0xC8}},
    {"BTR", {0x0F, 0xB3, 0xC8}}, {"BTC", {0x0F, 0xBB, 0xC8}}, {"BSF", {0x0F, 0xBC, 0xC1}},
    {"BSR", {0x0F, 0xBD, 0xC1}}, {"MUL", {0xF7, 0xE1}}, {"MUL", {0xF6, 0xE1}},
    {"IMUL", {0xF7, 0xE9}}, {"IMUL", {0x0F, 0xAF, 0xC1}}, {"IMUL", {0x6B, 0xC1, 0x85}},
    {"DIV", {0xF7, 0xF1}}, {"DIV", {0xF6, 0xF1}}, {"IDIV", {0xF7, 0xF9}}, {"IDIV", {0xF6, 0xF9}},
    {"DAA", {0x27}}, {"DAS", {0x2F}}, {"AAA", {0x37}}, {"AAS", {0x3F}}, {"AAM", {0xD4, 0x0A}},
    {"AAM", {0xD4, 0x00}}, {"AAD", {0xD5, 0x0A}}, {"AAD", {0xD5, 0x07}},
    // cpu/ops/data.def
    {"MOVZX", {0x0F, 0xB6, 0xC1}}, {"MOVSX", {0x0F, 0xBF, 0xC1}}, {"XCHG", {0x87, 0xC8}},
    {"XCHG", {0x91}}, {"BSWAP", {0x0F, 0xC8}}, {"XADD", {0x0F, 0xC1, 0xC8}},
    {"CMPXCHG", {0x0F, 0xB1, 0xC8}}, {"CMPXCHG", {0x0F, 0xB0, 0xC8}}, {"CMOVBE", {0x0F, 0x46, 0xC1}},
    {"CMOVL", {0x0F, 0x4C, 0xC1}}, {"SETNLE", {0x0F, 0x9F, 0xC0}}, {"SETP", {0x0F, 0x9A, 0xC0}},
    {"LEA", {0x8D, 0x44, 0x0B, 0x10}}, {"PUSH", {0x51}}, {"POP", {0x58}}, {"PUSHAD", {0x60}},
    {"POPAD", {0x61}}, {"CBW", {0x66, 0x98}}, {"CWDE", {0x98}}, {"CWD", {0x66, 0x99}},
    {"CDQ", {0x99}}, {"LAHF", {0x9F}}, {"SAHF", {0x9E}}, {"NOP", {0x90}}, {"PAUSE", {0xF3, 0x90}},
    {"SALC", {0xD6}}, {"CLC", {0xF8}}, {"STC", {0xF9}}, {"CMC", {0xF5}}, {"CLD", {0xFC}},
    {"STD", {0xFD}},
    // cpu/ops/string.def, once and with REP (ECX may be 0)
    {"MOVSB", {0xA4}, true}, {"MOVSD", {0xF3, 0xA5}, true}, {"CMPSB", {0xA6}, true},
    {"CMPSB", {0xF3, 0xA6}, true}, {"CMPSD", {0xF2, 0xA7}, true}, {"STOSB", {0xAA}, true},
    {"STOSD", {0xF3, 0xAB}, true}, {"LODSB", {0xAC}, true}, {"LODSW", {0xF3, 0x66, 0xAD}, true},
    {"SCASB", {0xAE}, true}, {"SCASD", {0xF2, 0xAF}, true},
    // cpu/ops/control.def and cpu/ops/system.def
    {"JNBE", {0x77, 0x00}}, {"JLE", {0x7E, 0x00}}, {"JECXZ", {0xE3, 0x00}}, {"LOOP", {0xE2, 0x00}},
    {"LOOPE", {0xE1, 0x00}}, {"LOOPNE", {0xE0, 0x00}}, {"CPUID", {0x0F, 0xA2}}, {"CLI", {0xFA}},
    {"STI", {0xFB}}, {"PUSHFD", {0x9C}}, {"POPFD", {0x9D}},
};

// Explicit GPR operands of a decoded instruction (registers and address components).
uint8_t explicit_gprs(const Insn& in) {
  uint8_t m = 0;
  for (unsigned i = 0; i < in.nops; ++i) {
    const Operand& op = in.ops[i];
    if (op.kind == OpKind::Reg && op.rclass == RegClass::Gpr8) m |= 1u << (op.reg & 3);
    if (op.kind == OpKind::Reg && (op.rclass == RegClass::Gpr16 || op.rclass == RegClass::Gpr32)) {
      m |= 1u << op.reg;
    }
    if (op.kind == OpKind::Mem && op.base != kNoReg) m |= 1u << op.base;
    if (op.kind == OpKind::Mem && op.index != kNoReg) m |= 1u << op.index;
  }
  return m;
}

struct FlowState {
  uint32_t gpr[8];
  uint32_t eflags;
};

class InsnTableDataFlow : public ::testing::Test {
 protected:
  // Operands mix the edge values of the flag formulas with random words.
  uint32_t value() {
    static const uint32_t kEdges[] = {0,    1,      2,      7,          8,          9,         15,
                                      16,   17,     31,     32,         33,         0x0A,      0x99,
                                      0x7F, 0x80,   0xFF,   0x100,      0x7FFF,     0x8000,    0xFFFF,
                                      0x10000,      0x7FFFFFFF, 0x80000000, 0xFFFFFFFF};
    if (rng_() & 1) return kEdges[rng_() % (sizeof kEdges / sizeof kEdges[0])];
    return static_cast<uint32_t>(rng_());
  }
  FlowState random_state(const FlowSample& s) {
    FlowState st;
    for (uint32_t& r : st.gpr) r = value();
    st.gpr[ESP] = 0x8000;
    if (s.string) {
      st.gpr[ESI] = 0x20000 + (rng_() & 0xFFF);
      st.gpr[EDI] = 0x30000 + (rng_() & 0xFFF);
      st.gpr[ECX] = rng_() & 7;
    }
    st.eflags = flag::FIXED1 | (static_cast<uint32_t>(rng_()) & (flag::ARITH | flag::DF));
    return st;
  }
  Status run(const FlowSample& s, FlowState& st) {
    CpuState& cs = m_.cpu().s;
    std::memcpy(cs.gpr, st.gpr, sizeof st.gpr);
    cs.eflags = st.eflags;
    const Status r = m_.exec(s.bytes.data(), s.bytes.size());
    std::memcpy(st.gpr, cs.gpr, sizeof st.gpr);
    st.eflags = cs.eflags;
    return r;
  }
  std::mt19937 rng_{20240601};
  test::OneInsn m_;
};

// For random inputs: flags outside flags_written and GPRs outside the explicit operands and
// gprs_written never change; rows without may_fault do not fault; and flipping the flags
// outside flags_read and the GPRs outside gprs_read (and the explicit operands) changes
// nothing but those inputs themselves, except that flags in flags_written and not in
// flags_undef are overwritten with the same values.
TEST_F(InsnTableDataFlow, SemanticFunctionsStayInsideTheColumns) {
  Decoder dec;
  std::set<std::string> covered;
  for (const FlowSample& s : kFlowSamples) {
    Insn in;
    ASSERT_EQ(dec.decode(s.bytes.data(), s.bytes.size(), CodeMode::Prot32, in), DecodeResult::Ok) << s.row;
    ASSERT_STREQ(kInsnTable[in.row].name, s.row);
    covered.insert(s.row);
    const InsnRow& r = kInsnTable[in.row];
    const uint8_t expl = explicit_gprs(in);
    const uint32_t flip_flags = (flag::ARITH | flag::DF) & ~r.flags_read;
    const uint8_t flip_gprs = static_cast<uint8_t>(~(r.gprs_read | expl | rbit(ESP)));
    const uint32_t same_flags = ~flip_flags | (r.flags_written & ~r.flags_undef);
    const auto failures = [] {
      return ::testing::UnitTest::GetInstance()->current_test_info()->result()->total_part_count();
    };
    const int failures_before = failures();
    for (int iter = 0; iter < 300 && failures() == failures_before; ++iter) {
      const FlowState in_a = random_state(s);
      FlowState a = in_a;
      const Status st_a = run(s, a);
      const std::string where = std::string(s.row) + " iteration " + std::to_string(iter);
      if (!r.may_fault) {
        EXPECT_NE(st_a, Status::Fault) << where;
      }
      EXPECT_EQ((a.eflags ^ in_a.eflags) & ~r.flags_written, 0u)
          << where << ": eflags " << std::hex << in_a.eflags << " -> " << a.eflags;
      for (unsigned g = 0; g < 8; ++g) {
        if ((r.gprs_written | expl) & (1u << g)) continue;
        EXPECT_EQ(a.gpr[g], in_a.gpr[g]) << where << ": GPR " << g << " written";
      }
      FlowState in_b = in_a;
      in_b.eflags ^= flip_flags;
      for (unsigned g = 0; g < 8; ++g) {
        if (flip_gprs & (1u << g)) in_b.gpr[g] = ~in_b.gpr[g];
      }
      FlowState b = in_b;
      const Status st_b = run(s, b);
      EXPECT_EQ(st_a, st_b) << where << ": outcome depends on an input outside the read columns";
      if (st_a != Status::Ok || st_b != Status::Ok) continue;
      EXPECT_EQ((a.eflags ^ b.eflags) & same_flags, 0u)
          << where << ": eflags " << std::hex << a.eflags << " vs " << b.eflags
          << " after flipping " << flip_flags;
      for (unsigned g = 0; g < 8; ++g) {
        if (flip_gprs & (1u << g)) continue;
        EXPECT_EQ(a.gpr[g], b.gpr[g]) << where << ": GPR " << g << " depends on an unread input";
      }
    }
  }
  // Every row of cpu/ops/arith.def (ADD..AAD) is covered.
  const int first = find_row(ZYDIS_MNEMONIC_ADD, Form::Any), last = find_row(ZYDIS_MNEMONIC_AAD, Form::Any);
  ASSERT_LT(first, last);
  for (int i = first; i <= last; ++i) {
    EXPECT_TRUE(covered.count(kInsnTable[i].name)) << "no data-flow sample for " << kInsnTable[i].name;
  }
}

}  // namespace
}  // namespace popek::cpu
