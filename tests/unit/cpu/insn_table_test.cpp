// The instruction table: every row decodes from real bytes to itself, rows are unique,
// and the Popek-Goldberg classes of the instructions the literature names are right.
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "cpu/decoder.h"
#include "cpu/insn_table.h"
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
    {"IRET", {0x66, 0xCF}}, {"BOUND", {0x62, 0x03}},
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
                        "INVD", "WBINVD", "INVLPG", "RDMSR", "WRMSR"}) {
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

}  // namespace
}  // namespace popek::cpu
