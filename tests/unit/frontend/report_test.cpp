// The --pg-report census table and --stats.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "cpu/insn_table.h"
#include "frontend/report.h"

namespace popek::frontend {
namespace {

int first_row(cpu::InsnClass cls, int skip = 0) {
  for (size_t i = 0; i < cpu::kInsnTableSize; ++i)
    if (cpu::kInsnTable[i].cls == cls && skip-- == 0) return static_cast<int>(i);
  return -1;
}

TEST(PgReport, RowsGroupedByClassThenCount) {
  const int priv_a = first_row(cpu::InsnClass::Privileged);
  const int priv_b = first_row(cpu::InsnClass::Privileged, 1);
  const int sens = first_row(cpu::InsnClass::Sensitive);
  const int io = first_row(cpu::InsnClass::Io);
  const int inn = first_row(cpu::InsnClass::Innocuous);
  ASSERT_GE(priv_b, 0);
  ASSERT_GE(sens, 0);
  ASSERT_GE(io, 0);
  ASSERT_GE(inn, 0);
  std::vector<uint64_t> census(cpu::kInsnTableSize, 0);
  census[io] = 7;
  census[priv_a] = 3;
  census[priv_b] = 5;
  census[sens] = 11;
  census[inn] = 1000;  // innocuous rows never appear
  std::vector<uint64_t> faulted(cpu::kInsnTableSize, 0);
  faulted[priv_a] = 4;  // 3 retired + 4 faulted = 7 attempts, more than priv_b's 5
  std::vector<uint64_t> user(cpu::kInsnTableSize, 0);
  user[sens] = 2;
  const std::string r = format_pg_report(census, user, faulted, 12345);
  const std::string name_a = cpu::kInsnTable[priv_a].name, name_b = cpu::kInsnTable[priv_b].name;
  const size_t pa = r.find(" " + name_a + " "), pb = r.find(" " + name_b + " ");
  const size_t ps = r.find(std::string(" ") + cpu::kInsnTable[sens].name + " ");
  const size_t pi = r.find(std::string(" ") + cpu::kInsnTable[io].name + " ");
  ASSERT_NE(pa, std::string::npos) << r;
  ASSERT_NE(pb, std::string::npos) << r;
  ASSERT_NE(ps, std::string::npos) << r;
  ASSERT_NE(pi, std::string::npos) << r;
  EXPECT_LT(pa, pb) << r;  // more attempts (retired + faulted) first within a class
  EXPECT_LT(pa, ps) << r;  // privileged, then sensitive, then io
  EXPECT_LT(ps, pi) << r;
  EXPECT_EQ(r.find(std::string(" ") + cpu::kInsnTable[inn].name + " "), std::string::npos) << r;
  EXPECT_NE(r.find("total                privileged                8            0            4"), std::string::npos) << r;
  EXPECT_NE(r.find("total                sensitive                11            2            0"), std::string::npos) << r;
  EXPECT_NE(r.find("total                io                        7            0            0"), std::string::npos) << r;
  EXPECT_NE(r.find("non-innocuous instructions                    26            2            4"), std::string::npos) << r;
  EXPECT_NE(r.find("instructions retired                       12345"), std::string::npos) << r;
}

TEST(PgReport, EmptyCensusStillPrintsTotals) {
  const std::vector<uint64_t> zero(cpu::kInsnTableSize, 0);
  const std::string r = format_pg_report(zero, zero, zero, 0);
  EXPECT_NE(r.find("total                privileged                0"), std::string::npos) << r;
  EXPECT_NE(r.find("instructions retired"), std::string::npos) << r;
}

TEST(Stats, BlocksAndInstructions) {
  const std::string r = format_stats(42, 1000000);
  EXPECT_NE(r.find("blocks decoded                        42"), std::string::npos) << r;
  EXPECT_NE(r.find("instructions retired             1000000"), std::string::npos) << r;
}

TEST(Stats, LogChannelCounts) {
  bus::Log::Counts n;
  n.guest_errors = 57;
  n.unimp = 3;
  const std::string r = format_log_stats(n);
  EXPECT_NE(r.find("log: guest_errors                     57\n"), std::string::npos) << r;
  EXPECT_NE(r.find("log: unimp                             3\n"), std::string::npos) << r;
}

}  // namespace
}  // namespace popek::frontend
