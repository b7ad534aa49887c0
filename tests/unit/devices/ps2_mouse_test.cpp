// The PS/2 mouse on the i8042's aux port, driven as a guest's driver drives it: commands
// go through controller command 0xD4 and port 0x60, replies and packets come back through
// port 0x60 with the status register's aux bit; motion enters through mouse_event().
#include <gtest/gtest.h>

#include <cstdlib>

#include "bus/bus.h"
#include "devices/i8042.h"
#include "irq_recorder.h"

namespace popek::devices {
namespace {

using testing::IrqRecorder;
using Bytes = std::vector<uint8_t>;

class Ps2MouseTest : public ::testing::Test {
 protected:
  uint8_t status() { return static_cast<uint8_t>(bus.io_read(0x64, 1)); }
  uint8_t data() { return static_cast<uint8_t>(bus.io_read(0x60, 1)); }
  void cmd(uint8_t v) { bus.io_write(0x64, 1, v); }
  void put(uint8_t v) { bus.io_write(0x60, 1, v); }
  // A byte to the mouse, as a driver sends it.
  void aux(uint8_t v) {
    cmd(0xD4);
    put(v);
  }
  // Everything in the output buffer, in order; every byte must come from the aux port.
  Bytes drain() {
    Bytes v;
    while (status() & 0x01) {
      EXPECT_EQ(status() & 0x20, 0x20) << "a byte not from the aux port";
      EXPECT_EQ(status() & 0x40, 0x00) << "a timeout";
      v.push_back(data());
    }
    return v;
  }
  // Send a command and return its reply.
  Bytes command(std::initializer_list<uint8_t> bytes) {
    for (uint8_t b : bytes) aux(b);
    return drain();
  }
  void enable_wheel() {
    ASSERT_EQ(command({0xF3, 200, 0xF3, 100, 0xF3, 80}), Bytes(6, 0xFA));
    ASSERT_EQ(command({0xF2}), (Bytes{0xFA, 0x03}));
  }

  bus::Bus bus{1 << 20};
  IrqRecorder irqs{bus};
  I8042 kbc{bus};
};

TEST_F(Ps2MouseTest, ResetAndIdentify) {
  EXPECT_EQ(command({0xFF}), (Bytes{0xFA, 0xAA, 0x00}));
  EXPECT_EQ(command({0xF2}), (Bytes{0xFA, 0x00}));
  EXPECT_EQ(command({0xE9}), (Bytes{0xFA, 0x00, 0x02, 100}));  // stream, off, 1:1, 4/mm, 100/s
}

TEST_F(Ps2MouseTest, RepliesRaiseIrq12WhenEnabled) {
  cmd(0x60);
  put(0x47);  // both interrupts on
  aux(0xF2);
  EXPECT_TRUE(irqs.levels[12]);
  EXPECT_FALSE(irqs.levels[1]);
  EXPECT_EQ(status() & 0x21, 0x21);
  data();
  EXPECT_TRUE(irqs.levels[12]);  // the ID byte follows
  data();
  EXPECT_FALSE(irqs.levels[12]);
  EXPECT_EQ(irqs.rises(12).size(), 2u);  // one edge per byte
}

TEST_F(Ps2MouseTest, IntelliMouseSequencesChangeTheId) {
  enable_wheel();
  EXPECT_EQ(command({0xF3, 200, 0xF3, 200, 0xF3, 80, 0xF2}), (Bytes{0xFA, 0xFA, 0xFA, 0xFA, 0xFA, 0xFA, 0xFA, 0x04}));
  EXPECT_EQ(command({0xFF}), (Bytes{0xFA, 0xAA, 0x00}));
  EXPECT_EQ(command({0xF2}), (Bytes{0xFA, 0x00}));  // reset: a standard mouse again
  // The Explorer sequence needs the wheel first.
  EXPECT_EQ(command({0xF3, 200, 0xF3, 200, 0xF3, 80, 0xF2}).back(), 0x00);
  // The rates must come in a row: another command in between breaks the sequence.
  EXPECT_EQ(command({0xF3, 200, 0xF2, 0xF3, 100, 0xF3, 80, 0xF2}).back(), 0x00);
  EXPECT_EQ(command({0xF3, 200, 0xF3, 100, 0xF3, 60, 0xF2}).back(), 0x00);
  // A sequence may start inside an earlier one.
  EXPECT_EQ(command({0xF3, 200, 0xF3, 200, 0xF3, 100, 0xF3, 80, 0xF2}).back(), 0x03);
  EXPECT_EQ(command({0xE9})[3], 80);  // the last rate set
}

TEST_F(Ps2MouseTest, StreamPacketsWithSignBits) {
  kbc.mouse_event(5, 5, 0, 1);
  EXPECT_EQ(drain(), Bytes{});  // reporting is off after reset
  EXPECT_EQ(command({0xF4}), Bytes{0xFA});
  kbc.mouse_event(5, -3, 0, 1);  // right and up, left button
  EXPECT_EQ(drain(), (Bytes{0x09, 5, 3}));
  kbc.mouse_event(-2, 7, 0, 1);  // left and down
  EXPECT_EQ(drain(), (Bytes{0x39, 0xFE, 0xF9}));
  kbc.mouse_event(0, 0, 0, 6);  // right and middle buttons, no motion
  EXPECT_EQ(drain(), (Bytes{0x0E, 0, 0}));
  kbc.mouse_event(0, 0, 0, 6);  // nothing changed: nothing sent
  EXPECT_EQ(drain(), Bytes{});
  kbc.mouse_event(0, 0, -3, 0);  // buttons released; a standard mouse has no wheel
  EXPECT_EQ(drain(), (Bytes{0x08, 0, 0}));
  EXPECT_EQ(command({0xF5}), Bytes{0xFA});
  kbc.mouse_event(1, 1, 0, 0);
  EXPECT_EQ(drain(), Bytes{});
}

TEST_F(Ps2MouseTest, WheelBytes) {
  enable_wheel();
  EXPECT_EQ(command({0xF4}), Bytes{0xFA});
  kbc.mouse_event(1, 0, -1, 0);  // wheel away from the user
  EXPECT_EQ(drain(), (Bytes{0x08, 1, 0, 0xFF}));
  kbc.mouse_event(0, 0, 200, 4);
  EXPECT_EQ(drain(), (Bytes{0x0C, 0, 0, 127, 0x0C, 0, 0, 73}));
  EXPECT_EQ(command({0xF3, 200, 0xF3, 200, 0xF3, 80, 0xF2}).back(), 0x04);
  EXPECT_EQ(command({0xF4}), Bytes{0xFA});
  kbc.mouse_event(0, 0, 20, 0);  // four bits of wheel per packet
  EXPECT_EQ(drain(), (Bytes{0x08, 0, 0, 0x07, 0x08, 0, 0, 0x07, 0x08, 0, 0, 0x06}));
  kbc.mouse_event(0, 0, -9, 0);
  EXPECT_EQ(drain(), (Bytes{0x08, 0, 0, 0x08, 0x08, 0, 0, 0x0F}));
}

TEST_F(Ps2MouseTest, LargeMovesAreSplit) {
  EXPECT_EQ(command({0xF4}), Bytes{0xFA});
  kbc.mouse_event(600, -300, 0, 0);
  EXPECT_EQ(drain(), (Bytes{0x08, 255, 255, 0x08, 255, 45, 0x08, 90, 0}));
  kbc.mouse_event(-256, 0, 0, 0);
  EXPECT_EQ(drain(), (Bytes{0x18, 0x01, 0, 0x18, 0xFF, 0}));  // -255, then -1: no overflow
}

TEST_F(Ps2MouseTest, AFloodStaysBoundedAndEveryPacketWhole) {
  EXPECT_EQ(command({0xF4}), Bytes{0xFA});
  for (int i = 0; i < 1000; ++i) kbc.mouse_event(10, -10, 0, 0);  // nobody reads
  const Bytes b = drain();
  ASSERT_EQ(b.size() % 3, 0u);
  int x = 0, y = 0;
  bool overflow = false;
  for (size_t i = 0; i < b.size(); i += 3) {
    ASSERT_EQ(b[i] & 0x08, 0x08) << "packet " << i / 3 << " is out of step";
    ASSERT_EQ(b[i] & 0x30, 0x00);
    overflow |= (b[i] & 0xC0) == 0xC0;
    x += b[i + 1];
    y += b[i + 2];
  }
  // The first packet went out, sixteen waited, the rest coalesced into the counters up to
  // what they hold; what did not fit was lost, and a packet says so.
  EXPECT_EQ(x, 17 * 10 + kbc::kMouseCountMax);
  EXPECT_EQ(y, x);
  EXPECT_TRUE(overflow);
  kbc.mouse_event(1, 0, 0, 0);
  EXPECT_EQ(drain(), (Bytes{0x08, 1, 0}));  // overflow reported once
}

TEST_F(Ps2MouseTest, ACommandNeverCutsAPacket) {
  EXPECT_EQ(command({0xF4}), Bytes{0xFA});
  for (int i = 0; i < 5; ++i) kbc.mouse_event(1, 0, 0, 0);
  EXPECT_EQ(data(), 0x08);  // the driver is in the middle of the first packet
  aux(0xF5);
  // The packet in flight completes, the waiting ones are dropped, then the acknowledge.
  EXPECT_EQ(drain(), (Bytes{1, 0, 0xFA}));
  kbc.mouse_event(1, 0, 0, 0);
  EXPECT_EQ(drain(), Bytes{});
}

TEST_F(Ps2MouseTest, RemoteModeAndReadData) {
  EXPECT_EQ(command({0xF0}), Bytes{0xFA});
  kbc.mouse_event(3, 4, 0, 2);
  kbc.mouse_event(3, 4, 0, 2);
  EXPECT_EQ(drain(), Bytes{});  // remote: no packets unasked
  EXPECT_EQ(command({0xEB}), (Bytes{0xFA, 0x2A, 6, 0xF8}));
  EXPECT_EQ(command({0xEB}), (Bytes{0xFA, 0x0A, 0, 0}));  // counters were reset
  kbc.mouse_event(1000, -1000, 0, 0);  // beyond the 9-bit counters: saturated, overflow
  EXPECT_EQ(command({0xEB}), (Bytes{0xFA, 0xC8, 255, 255}));
  kbc.mouse_event(-300, 0, 0, 0);
  EXPECT_EQ(command({0xEB}), (Bytes{0xFA, 0x58, 0x00, 0}));  // -256
  EXPECT_EQ(command({0xE9})[1], 0x40);
  EXPECT_EQ(command({0xEA, 0xF4}), (Bytes{0xFA, 0xFA}));  // stream mode again
  kbc.mouse_event(1, 0, 0, 0);
  EXPECT_EQ(drain(), (Bytes{0x08, 1, 0}));
}

TEST_F(Ps2MouseTest, StatusResolutionAndScaling) {
  EXPECT_EQ(command({0xE8, 3, 0xF3, 40, 0xE7, 0xF4}), Bytes(6, 0xFA));
  kbc.mouse_event(0, 0, 0, 7);
  drain();
  EXPECT_EQ(command({0xE9}), (Bytes{0xFA, 0x37, 3, 40}));  // enabled, 2:1, left middle right
  kbc.mouse_event(0, 0, 0, 1);
  drain();
  EXPECT_EQ(command({0xE9})[1], 0x34);  // left is bit 2 of the status byte
  kbc.mouse_event(0, 0, 0, 2);
  drain();
  EXPECT_EQ(command({0xE9})[1], 0x31);  // right is bit 0
  kbc.mouse_event(0, 0, 0, 0);
  drain();
  // Scaling 2:1 in stream mode
  kbc.mouse_event(1, 0, 0, 0);
  kbc.mouse_event(2, 0, 0, 0);
  kbc.mouse_event(3, 0, 0, 0);
  kbc.mouse_event(4, 0, 0, 0);
  kbc.mouse_event(5, 0, 0, 0);
  kbc.mouse_event(10, 0, 0, 0);
  EXPECT_EQ(drain(), (Bytes{0x08, 1, 0, 0x08, 1, 0, 0x08, 3, 0, 0x08, 6, 0, 0x08, 9, 0, 0x08, 20, 0}));
  kbc.mouse_event(200, 0, 0, 0);  // split so that each doubled part fits
  EXPECT_EQ(drain(), (Bytes{0x08, 254, 0, 0x08, 146, 0}));
  EXPECT_EQ(command({0xE6}), Bytes{0xFA});
  kbc.mouse_event(10, 0, 0, 0);
  EXPECT_EQ(drain(), (Bytes{0x08, 10, 0}));
  // A resolution out of range is refused; the next byte is a command again.
  EXPECT_EQ(command({0xE8, 7}), (Bytes{0xFA, 0xFE}));
  EXPECT_EQ(command({0xF2}), (Bytes{0xFA, 0x00}));
  EXPECT_EQ(command({0xF6}), Bytes{0xFA});  // defaults: reporting off, 1:1, 100/s, 4/mm
  EXPECT_EQ(command({0xE9}), (Bytes{0xFA, 0x00, 2, 100}));
}

TEST_F(Ps2MouseTest, WrapModeEchoes) {
  EXPECT_EQ(command({0xEE}), Bytes{0xFA});
  EXPECT_EQ(command({0x12, 0xF4, 0xF2}), (Bytes{0x12, 0xF4, 0xF2}));
  EXPECT_EQ(command({0xEC}), Bytes{0xFA});
  EXPECT_EQ(command({0xF2}), (Bytes{0xFA, 0x00}));
  EXPECT_EQ(command({0xEE, 0xFF}), (Bytes{0xFA, 0xFA, 0xAA, 0x00}));  // reset ends wrap mode
  EXPECT_EQ(command({0x55}), Bytes{0xFE});  // not echoed: an unknown command
}

TEST_F(Ps2MouseTest, ResendAndUnknownCommands) {
  EXPECT_EQ(command({0xF4}), Bytes{0xFA});
  kbc.mouse_event(7, 0, 0, 0);
  EXPECT_EQ(drain(), (Bytes{0x08, 7, 0}));
  EXPECT_EQ(command({0xFE}), (Bytes{0x08, 7, 0}));  // the last packet again
  EXPECT_EQ(command({0xE9}).size(), 4u);
  EXPECT_EQ(command({0xFE}), (Bytes{0x20, 2, 100}));  // the last reply, without its ack
  const uint64_t before = bus.log().counts.guest_errors;
  EXPECT_EQ(command({0xE1}), Bytes{0xFE});
  EXPECT_EQ(bus.log().counts.guest_errors, before + 1);
}

TEST_F(Ps2MouseTest, TheAuxInterfaceHoldsPackets) {
  EXPECT_EQ(command({0xF4}), Bytes{0xFA});
  cmd(0xA7);
  kbc.mouse_event(1, 0, 0, 0);
  kbc.mouse_event(2, 0, 0, 0);
  EXPECT_EQ(status() & 0x01, 0x00);
  cmd(0xA8);
  EXPECT_EQ(drain(), (Bytes{0x08, 1, 0, 0x08, 2, 0}));
}

TEST_F(Ps2MouseTest, KeyboardAndMouseBytesKeepTheirPorts) {
  cmd(0x60);
  put(0x47);
  EXPECT_EQ(command({0xF4}), Bytes{0xFA});
  kbc.push_scancode(0x1E);
  kbc.mouse_event(1, 0, 0, 0);
  std::vector<std::pair<uint8_t, bool>> got;  // byte, from the aux port
  while (status() & 0x01) {
    const bool from_aux = status() & 0x20;
    EXPECT_EQ(irqs.levels[12], from_aux);
    EXPECT_EQ(irqs.levels[1], !from_aux);
    got.emplace_back(data(), from_aux);
  }
  EXPECT_EQ(got, (std::vector<std::pair<uint8_t, bool>>{{0x1E, false}, {0x08, true}, {1, true}, {0, true}}));
}

TEST_F(Ps2MouseTest, MachineResetForgetsTheMouse) {
  enable_wheel();
  EXPECT_EQ(command({0xF4}), Bytes{0xFA});
  kbc.mouse_event(1, 0, 0, 0);
  kbc.reset();
  EXPECT_EQ(status() & 0x01, 0x00);
  EXPECT_EQ(command({0xF2}), (Bytes{0xFA, 0x00}));
  kbc.mouse_event(1, 0, 0, 0);
  EXPECT_EQ(drain(), Bytes{});
}

// Any byte sequence a guest sends keeps the mouse sane: replies never overrun into
// broken packets, and a reset always brings it back.
TEST_F(Ps2MouseTest, RandomCommandsThenReset) {
  std::srand(12345);
  for (int i = 0; i < 20000; ++i) {
    aux(static_cast<uint8_t>(std::rand()));
    kbc.mouse_event(std::rand() % 2001 - 1000, std::rand() % 2001 - 1000, std::rand() % 21 - 10,
                    static_cast<unsigned>(std::rand()));
    if (std::rand() % 3 == 0) drain();
  }
  drain();
  aux(0xEC);  // out of wrap mode, if in it
  aux(0xFF);
  const Bytes b = drain();
  ASSERT_GE(b.size(), 3u);
  EXPECT_EQ(Bytes(b.end() - 3, b.end()), (Bytes{0xFA, 0xAA, 0x00}));
}

}  // namespace
}  // namespace popek::devices
