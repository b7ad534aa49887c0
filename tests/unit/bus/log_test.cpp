// bus::Log: guest misbehaviour and unimplemented corners stay off the console unless a -d
// channel asks for them, and are counted either way; warn() lines always reach stderr.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include "bus/bus.h"
#include "bus/log.h"

namespace popek::bus {
namespace {

using ::testing::internal::CaptureStderr;
using ::testing::internal::GetCapturedStderr;

// Everything written to `f` so far.
std::string contents(FILE* f) {
  fflush(f);
  rewind(f);
  std::string s;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) s.append(buf, n);
  fseek(f, 0, SEEK_END);
  return s;
}

size_t count_lines(const std::string& s) {
  size_t n = 0;
  for (char c : s) n += c == '\n';
  return n;
}

TEST(Log, ChannelOffPrintsNothingButCounts) {
  Log log;
  FILE* f = tmpfile();
  ASSERT_NE(f, nullptr);
  log.out = f;
  CaptureStderr();
  log.guest_error("port-r-02f9", "I/O read of unassigned port 0x%04x", 0x2f9);
  log.guest_error("port-r-02f9", "I/O read of unassigned port 0x%04x", 0x2f9);
  log.unimp("speaker", "PC speaker enabled");
  log.mask = trace::INT | trace::IOPORT;  // other channels on: still nothing
  log.guest_error("port-r-03e9", "I/O read of unassigned port 0x%04x", 0x3e9);
  EXPECT_EQ(GetCapturedStderr(), "");
  EXPECT_EQ(contents(f), "");
  EXPECT_EQ(log.counts.guest_errors, 3u);
  EXPECT_EQ(log.counts.unimp, 1u);
  fclose(f);
}

TEST(Log, ChannelOnWritesEachEventToTheLogFileOnly) {
  Log log;
  FILE* f = tmpfile();
  ASSERT_NE(f, nullptr);
  log.out = f;
  log.mask = trace::GUEST_ERRORS | trace::UNIMP;
  CaptureStderr();
  log.guest_error("port-r-02f9", "I/O read of unassigned port 0x%04x", 0x2f9);
  log.guest_error("port-r-02f9", "I/O read of unassigned port 0x%04x", 0x2f9);
  log.unimp("speaker", "PC speaker enabled");
  EXPECT_EQ(GetCapturedStderr(), "");
  EXPECT_EQ(contents(f),
            "guest_errors: I/O read of unassigned port 0x02f9\n"
            "guest_errors: I/O read of unassigned port 0x02f9\n"
            "unimp: PC speaker enabled\n");
  EXPECT_EQ(log.counts.guest_errors, 2u);
  EXPECT_EQ(log.counts.unimp, 1u);
  fclose(f);
}

TEST(Log, OnlyTheEnabledChannelIsWritten) {
  Log log;
  FILE* f = tmpfile();
  ASSERT_NE(f, nullptr);
  log.out = f;
  log.mask = trace::UNIMP;
  log.guest_error("rom-write", "write to ROM");
  log.unimp("dr7", "hardware breakpoints");
  EXPECT_EQ(contents(f), "unimp: hardware breakpoints\n");
  EXPECT_EQ(log.counts.guest_errors, 1u);
  fclose(f);
}

TEST(Log, AKeyIsWrittenAtMostRepeatLimitTimesAndStillCounted) {
  Log log;
  FILE* f = tmpfile();
  ASSERT_NE(f, nullptr);
  log.out = f;
  log.mask = trace::GUEST_ERRORS;
  const uint32_t n = Log::kRepeatLimit + 50;
  for (uint32_t i = 0; i < n; ++i) log.guest_error("poll", "poll %u", i);
  log.guest_error("other", "another key");
  const std::string s = contents(f);
  EXPECT_EQ(count_lines(s), Log::kRepeatLimit + 1) << s;
  const std::string last = "guest_errors: poll " + std::to_string(Log::kRepeatLimit - 1) + " (" +
                           std::to_string(Log::kRepeatLimit) + " times: not shown again)\n";
  EXPECT_NE(s.find(last), std::string::npos) << s;
  EXPECT_EQ(s.find("poll " + std::to_string(Log::kRepeatLimit) + "\n"), std::string::npos);
  EXPECT_NE(s.find("guest_errors: another key\n"), std::string::npos);
  EXPECT_EQ(log.counts.guest_errors, n + 1);
  fclose(f);
}

TEST(Log, WarnGoesToStderrOncePerKeyAndToTheLogFile) {
  Log log;
  FILE* f = tmpfile();
  ASSERT_NE(f, nullptr);
  log.out = f;
  CaptureStderr();
  log.warn("ud-1", "unimplemented (%s) raises #UD", "FXSAVE");
  log.warn("ud-1", "unimplemented (%s) raises #UD", "FXSAVE");
  log.warn("disk", "ide: disk.img: write failed");
  const std::string want = "popek: unimplemented (FXSAVE) raises #UD\npopek: ide: disk.img: write failed\n";
  EXPECT_EQ(GetCapturedStderr(), want);
  EXPECT_EQ(contents(f), want);
  EXPECT_EQ(log.counts.guest_errors + log.counts.unimp, 0u);
  fclose(f);
}

TEST(Log, QuietPrintsAndCountsNothing) {
  Log log;
  FILE* f = tmpfile();
  ASSERT_NE(f, nullptr);
  log.out = f;
  log.quiet = true;
  log.mask = trace::GUEST_ERRORS | trace::UNIMP;
  CaptureStderr();
  log.guest_error("k", "guest error");
  log.unimp("u", "unimp");
  log.warn("w", "warning");
  EXPECT_EQ(GetCapturedStderr(), "");
  EXPECT_EQ(contents(f), "");
  EXPECT_EQ(log.counts.guest_errors, 0u);
  EXPECT_EQ(log.counts.unimp, 0u);
  fclose(f);
}

// The bus's absent ports float high and report on guest_errors, not on the console.
TEST(Log, AbsentPortsAreGuestErrors) {
  Bus bus(1 << 20);
  FILE* f = tmpfile();
  ASSERT_NE(f, nullptr);
  bus.log().out = f;
  CaptureStderr();
  EXPECT_EQ(bus.io_read(0x2F9, 1), 0xFFu);
  bus.io_write(0x366, 1, 0x0A);
  EXPECT_EQ(GetCapturedStderr(), "");
  EXPECT_EQ(bus.log().counts.guest_errors, 2u);
  bus.log().mask = trace::GUEST_ERRORS;
  EXPECT_EQ(bus.io_read(0x2F9, 2), 0xFFFFu);
  EXPECT_EQ(contents(f), "guest_errors: I/O read of unassigned port 0x02f9 (size 2): returning all ones\n");
  EXPECT_EQ(bus.log().counts.guest_errors, 3u);
  fclose(f);
}

}  // namespace
}  // namespace popek::bus
