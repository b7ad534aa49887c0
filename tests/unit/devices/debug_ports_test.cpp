// debugcon, isa-debug-exit, the POST port and port 0x92, driven through the bus.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <memory>
#include <string>

#include "bus/bus.h"
#include "devices/char_backend.h"
#include "devices/debug_exit.h"
#include "devices/debugcon.h"
#include "devices/post_port.h"
#include "devices/system_control.h"
#include "test_backend.h"

namespace popek::devices {
namespace {

std::string temp_path(const std::string& name) {
  return ::testing::TempDir() + "popek_devices_" + name;
}

std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

TEST(CharBackend, SpecsAreValidated) {
  EXPECT_TRUE(valid_backend_spec("stdio"));
  EXPECT_TRUE(valid_backend_spec("none"));
  EXPECT_TRUE(valid_backend_spec("file:out.txt"));
  EXPECT_FALSE(valid_backend_spec("file:"));
  EXPECT_FALSE(valid_backend_spec("pty"));
  EXPECT_FALSE(valid_backend_spec(""));
  EXPECT_THROW(open_backend("tcp:1234"), BackendError);
}

// The file is created when the machine starts (after its inputs are read), not when the
// backend is made.
TEST(CharBackend, FileThatCannotBeCreatedIsAClearError) {
  try {
    std::unique_ptr<CharBackend> b = open_backend("file:/nonexistent-dir/sub/out.txt");
    b->start();
    FAIL() << "no error";
  } catch (const BackendError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("/nonexistent-dir/sub/out.txt"), std::string::npos) << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos);
  }
}

TEST(CharBackend, InputQueueIsFirstInFirstOut) {
  NullBackend b;
  EXPECT_FALSE(b.input_ready());
  b.push_input('a');
  b.push_input('b');
  EXPECT_TRUE(b.input_ready());
  EXPECT_EQ(b.pop_input(), 'a');
  EXPECT_EQ(b.pop_input(), 'b');
  EXPECT_FALSE(b.input_ready());
  EXPECT_EQ(b.pop_input(), 0);
}

TEST(Debugcon, WritesGoToAFileBackend) {
  const std::string path = temp_path("debugcon.txt");
  {
    bus::Bus bus(1 << 20);
    auto backend = open_backend("file:" + path);
    Debugcon dev(bus, *backend);
    for (char c : std::string("hello\n")) bus.io_write(0xE9, 1, static_cast<uint8_t>(c));
    bus.io_write(0xE9, 2, 0x4121);  // a word OUT sends its low byte
  }
  EXPECT_EQ(slurp(path), "hello\n!");
  std::remove(path.c_str());
}

TEST(Debugcon, FileBackendIsTruncated) {
  const std::string path = temp_path("trunc.txt");
  {
    std::ofstream(path) << "old contents";
  }
  {
    auto backend = open_backend("file:" + path);
    backend->write('x');
  }
  EXPECT_EQ(slurp(path), "x");
  std::remove(path.c_str());
}

TEST(Debugcon, ReadReturnsE9) {
  bus::Bus bus(1 << 20);
  CaptureBackend out;
  Debugcon dev(bus, out);
  EXPECT_EQ(bus.io_read(0xE9, 1), 0xE9u);
  EXPECT_TRUE(out.out.empty());
}

TEST(DebugExit, DefaultPortStopsWithValueTimesTwoPlusOne) {
  bus::Bus bus(1 << 20);
  DebugExit dev(bus);
  EXPECT_EQ(bus.stop_reason(), bus::StopReason::None);
  bus.io_write(0xF4, 1, 0x10);
  EXPECT_EQ(bus.stop_reason(), bus::StopReason::Exit);
  EXPECT_EQ(bus.exit_status(), 33);
}

TEST(DebugExit, ValueHasTheWrittenWidth) {
  bus::Bus bus(1 << 20);
  DebugExit dev(bus);
  bus.io_write(0xF5, 1, 0x311);  // upper bits beyond a byte are not part of an 8-bit OUT
  EXPECT_EQ(bus.exit_status(), 0x23);
  bus.clear_stop();
  bus.io_write(0xF4, 2, 0x1234);
  EXPECT_EQ(bus.exit_status(), (0x1234 << 1) | 1);
  bus.clear_stop();
  bus.io_write(0xF4, 4, 0x00012345);
  EXPECT_EQ(bus.exit_status(), (0x12345 << 1) | 1);
  EXPECT_EQ(bus.io_read(0xF4, 1), 0u);
}

TEST(DebugExit, IobaseAndIosizeMoveIt) {
  bus::Bus bus(1 << 20);
  DebugExit dev(bus, 0x501, 2);
  bus.io_write(0xF4, 1, 1);
  EXPECT_EQ(bus.stop_reason(), bus::StopReason::None);
  bus.io_write(0x503, 1, 1);
  EXPECT_EQ(bus.stop_reason(), bus::StopReason::None);
  bus.io_write(0x502, 1, 0);
  EXPECT_EQ(bus.stop_reason(), bus::StopReason::Exit);
  EXPECT_EQ(bus.exit_status(), 1);
}

TEST(PostPort, ReadReturnsLastCodeAndResetClearsIt) {
  bus::Bus bus(1 << 20);
  PostPort dev(bus);
  EXPECT_EQ(bus.io_read(0x80, 1), 0u);
  bus.io_write(0x80, 1, 0x55);
  EXPECT_EQ(bus.io_read(0x80, 1), 0x55u);
  bus.reset_devices();
  EXPECT_EQ(bus.io_read(0x80, 1), 0u);
}

TEST(PostPort, CodesAreTracedOnTheIoportChannelOnly) {
  const std::string path = temp_path("post.log");
  FILE* f = fopen(path.c_str(), "w");
  ASSERT_NE(f, nullptr);
  {
    bus::Bus bus(1 << 20);
    bus.log().out = f;
    PostPort dev(bus);
    bus.io_write(0x80, 1, 0x11);  // channel off: nothing
    bus.log().mask = bus::trace::IOPORT;
    bus.io_write(0x80, 1, 0xA5);
  }
  fclose(f);
  EXPECT_EQ(slurp(path), "POST code 0xa5\n");
  std::remove(path.c_str());
}

TEST(SystemControlA, Bit1GatesA20) {
  bus::Bus bus(1 << 20);
  SystemControlA dev(bus);
  EXPECT_EQ(bus.io_read(0x92, 1) & 2, 2u);  // A20 is on at power-on
  bus.io_write(0x92, 1, 0x00);
  EXPECT_FALSE(bus.a20());
  EXPECT_EQ(bus.a20_mask(), ~(1u << 20));
  EXPECT_EQ(bus.io_read(0x92, 1), 0u);
  bus.io_write(0x92, 1, 0x02);
  EXPECT_TRUE(bus.a20());
  EXPECT_EQ(bus.io_read(0x92, 1), 2u);
  bus.set_a20(false);  // changed elsewhere (keyboard controller): the read follows
  EXPECT_EQ(bus.io_read(0x92, 1), 0u);
  EXPECT_EQ(bus.stop_reason(), bus::StopReason::None);
}

TEST(SystemControlA, OtherBitsAreLatchedBit0IsNot) {
  bus::Bus bus(1 << 20);
  SystemControlA dev(bus);
  bus.io_write(0x92, 1, 0xC2);
  EXPECT_EQ(bus.io_read(0x92, 1), 0xC2u);
  bus.reset_devices();
  EXPECT_EQ(bus.io_read(0x92, 1), 0x02u);
}

TEST(SystemControlA, Bit0RequestsAReset) {
  bus::Bus bus(1 << 20);
  SystemControlA dev(bus);
  bus.io_write(0x92, 1, 0x03);
  EXPECT_EQ(bus.stop_reason(), bus::StopReason::Reset);
  EXPECT_EQ(bus.stop_message(), "reset via port 0x92");
  EXPECT_EQ(bus.io_read(0x92, 1) & 1, 0u);
}

}  // namespace
}  // namespace popek::devices
