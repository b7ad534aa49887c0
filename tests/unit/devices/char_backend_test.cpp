// The input channel, the stdio backend's input (pipes and terminals) and the Ctrl-A
// escapes.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <stdlib.h>
#include <termios.h>
#include <unistd.h>

#include <string>

#include "devices/char_backend.h"

namespace popek::devices {
namespace {

std::string drain(CharBackend& b) {
  std::string s;
  uint8_t c;
  while (b.take_input(c)) s.push_back(static_cast<char>(c));
  return s;
}

TEST(EscapeDecoder, Sequences) {
  EscapeDecoder d;
  uint8_t out = 0;
  EXPECT_EQ(d.feed('a', out), EscapeDecoder::Action::Byte);
  EXPECT_EQ(out, 'a');
  EXPECT_EQ(d.feed(0x01, out), EscapeDecoder::Action::None);
  EXPECT_EQ(d.feed(0x01, out), EscapeDecoder::Action::Byte);
  EXPECT_EQ(out, 0x01);
  EXPECT_EQ(d.feed(0x01, out), EscapeDecoder::Action::None);
  EXPECT_EQ(d.feed('h', out), EscapeDecoder::Action::Help);
  EXPECT_EQ(d.feed(0x01, out), EscapeDecoder::Action::None);
  EXPECT_EQ(d.feed('c', out), EscapeDecoder::Action::Monitor);
  EXPECT_EQ(d.feed(0x01, out), EscapeDecoder::Action::None);
  EXPECT_EQ(d.feed('x', out), EscapeDecoder::Action::Quit);
  EXPECT_EQ(d.feed(0x03, out), EscapeDecoder::Action::Byte);  // Ctrl-C goes to the guest
  EXPECT_EQ(out, 0x03);
  EXPECT_NE(std::string(EscapeDecoder::help()).find("C-a x"), std::string::npos);
}

TEST(StdioBackendInput, PipeIsReadAsIsUntilItsEnd) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  StdioBackend b(stdout, fds[0]);
  EXPECT_FALSE(b.terminal());
  EXPECT_TRUE(b.input_open());
  ASSERT_EQ(write(fds[1], "a\x01x", 3), 3);  // no escapes on a pipe
  EXPECT_EQ(drain(b), "a\x01x");
  EXPECT_FALSE(b.quit_requested());
  EXPECT_TRUE(b.input_open());  // nothing now, but not the end
  close(fds[1]);
  uint8_t c;
  EXPECT_FALSE(b.take_input(c));
  EXPECT_FALSE(b.input_open());
  close(fds[0]);
}

TEST(StdioBackendInput, OnlyOneBackendReadsStdin) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  {
    StdioBackend first(stdout, fds[0]);
    StdioBackend second(stdout, fds[0]);
    EXPECT_TRUE(first.input_open());
    EXPECT_FALSE(second.input_open());
  }
  StdioBackend again(stdout, fds[0]);  // released by the destructor
  EXPECT_TRUE(again.input_open());
  close(fds[0]);
  close(fds[1]);
}

TEST(StdioBackendInput, TerminalRawModeEscapesAndRestore) {
  const int master = posix_openpt(O_RDWR | O_NOCTTY);
  if (master < 0 || grantpt(master) != 0 || unlockpt(master) != 0)
    GTEST_SKIP() << "no pseudo-terminals here";
  const int slave = open(ptsname(master), O_RDWR | O_NOCTTY);
  ASSERT_GE(slave, 0);
  struct termios before;
  ASSERT_EQ(tcgetattr(slave, &before), 0);
  ASSERT_TRUE(before.c_lflag & ECHO);
  {
    StdioBackend b(stdout, slave);
    EXPECT_TRUE(b.terminal());
    bool quit_called = false;
    b.on_quit = [&] { quit_called = true; };
    b.pump();
    struct termios raw;
    ASSERT_EQ(tcgetattr(slave, &raw), 0);
    EXPECT_FALSE(raw.c_lflag & (ECHO | ICANON | ISIG));
    ASSERT_EQ(write(master, "k\x01\x01\x03\x01x", 6), 6);
    usleep(20000);
    EXPECT_EQ(drain(b), "k\x01\x03");
    EXPECT_TRUE(b.quit_requested());
    EXPECT_TRUE(quit_called);
    restore_terminal();  // what a signal handler would do; the destructor then does nothing
    ASSERT_EQ(tcgetattr(slave, &raw), 0);
    EXPECT_TRUE(raw.c_lflag & ECHO);
    b.pump();
  }
  struct termios after;
  ASSERT_EQ(tcgetattr(slave, &after), 0);
  EXPECT_EQ(after.c_lflag, before.c_lflag);
  EXPECT_EQ(after.c_iflag, before.c_iflag);
  close(slave);
  close(master);
}

TEST(CharBackendInput, PushNotifies) {
  NullBackend b;
  int calls = 0;
  b.input_pushed = [&] { ++calls; };
  EXPECT_FALSE(b.input_open());
  b.push_input('q');
  EXPECT_EQ(calls, 1);
  EXPECT_TRUE(b.input_open());
  EXPECT_EQ(drain(b), "q");
}

// --lockstep: a shadow backend answers its input channel exactly as the primary did.
TEST(InputLog, ReplayGivesTheRecordedAnswersInOrder) {
  InputLog log;
  NullBackend primary, shadow;
  primary.record = &log;
  shadow.replay = &log;
  shadow.push_input('z');  // the shadow's own queue is not looked at
  primary.push_input('a');
  uint8_t c = 0;
  EXPECT_TRUE(primary.input_open());
  EXPECT_TRUE(primary.take_input(c));
  EXPECT_FALSE(primary.take_input(c));
  EXPECT_FALSE(primary.input_open());
  EXPECT_EQ(log.pending(), 4u);
  EXPECT_TRUE(shadow.input_open());
  c = 0;
  EXPECT_TRUE(shadow.take_input(c));
  EXPECT_EQ(c, 'a');
  EXPECT_FALSE(shadow.take_input(c));
  EXPECT_FALSE(shadow.input_open());
  EXPECT_EQ(log.pending(), 0u);
  EXPECT_EQ(log.mismatches(), 0u);
  // Asked once more than the primary was, or the other question: a mismatch, answered
  // "nothing".
  EXPECT_FALSE(shadow.take_input(c));
  EXPECT_EQ(log.mismatches(), 1u);
  EXPECT_FALSE(primary.input_open());
  EXPECT_FALSE(shadow.take_input(c));
  EXPECT_EQ(log.mismatches(), 2u);
}

}  // namespace
}  // namespace popek::devices
