// The keyboard controller through ports 0x60/0x64: controller commands, the keyboard's
// replies, interrupts, the A20 gate and reset.
#include <gtest/gtest.h>

#include "bus/bus.h"
#include "devices/i8042.h"
#include "irq_recorder.h"

namespace popek::devices {
namespace {

using testing::IrqRecorder;

class I8042Test : public ::testing::Test {
 protected:
  uint8_t status() { return static_cast<uint8_t>(bus.io_read(0x64, 1)); }
  uint8_t data() { return static_cast<uint8_t>(bus.io_read(0x60, 1)); }
  void cmd(uint8_t v) { bus.io_write(0x64, 1, v); }
  void put(uint8_t v) { bus.io_write(0x60, 1, v); }
  // Everything in the output buffer, in order.
  std::vector<uint8_t> drain() {
    std::vector<uint8_t> v;
    while (status() & 0x01) v.push_back(data());
    return v;
  }

  bus::Bus bus{1 << 20};
  IrqRecorder irqs{bus};
  I8042 kbc{bus};
};

using Bytes = std::vector<uint8_t>;

TEST_F(I8042Test, ResetState) {
  EXPECT_EQ(status(), 0x14);  // unlocked, system flag
  cmd(0x20);
  EXPECT_EQ(status() & 0x09, 0x09);  // OBF, last write was a command
  EXPECT_EQ(data(), 0x45);
  EXPECT_EQ(status() & 0x01, 0x00);
}

TEST_F(I8042Test, SelfTestsAndCommandByte) {
  cmd(0xAA);
  EXPECT_EQ(drain(), Bytes{0x55});
  cmd(0xAB);
  EXPECT_EQ(drain(), Bytes{0x00});
  cmd(0xA9);
  EXPECT_EQ(drain(), Bytes{0x00});
  cmd(0x60);
  put(0x30);
  EXPECT_EQ(status() & 0x08, 0x00);  // last write was data
  cmd(0x20);
  EXPECT_EQ(drain(), Bytes{0x30});
  EXPECT_EQ(status() & 0x04, 0x00);  // system flag follows the command byte
  cmd(0xAE);
  cmd(0xA8);
  cmd(0x20);
  EXPECT_EQ(drain(), Bytes{0x00});
  cmd(0xAD);
  cmd(0xA7);
  cmd(0x20);
  EXPECT_EQ(drain(), Bytes{0x30});
}

TEST_F(I8042Test, RepliesRaiseIrq1OnlyWhenEnabled) {
  cmd(0xAA);
  EXPECT_TRUE(irqs.levels[1]);
  data();
  EXPECT_FALSE(irqs.levels[1]);
  cmd(0x60);
  put(0x44);  // interrupts off
  cmd(0xAA);
  EXPECT_FALSE(irqs.levels[1]);
  EXPECT_EQ(drain(), Bytes{0x55});
}

TEST_F(I8042Test, KeyboardCommands) {
  put(0xFF);
  EXPECT_EQ(drain(), (Bytes{0xFA, 0xAA}));
  put(0xF2);
  EXPECT_EQ(drain(), (Bytes{0xFA, 0xAB, 0x83}));
  put(0xED);
  put(0x07);
  EXPECT_EQ(drain(), (Bytes{0xFA, 0xFA}));
  EXPECT_EQ(kbc.state.kbd_leds, 0x07);
  put(0xF0);
  put(0x00);
  EXPECT_EQ(drain(), (Bytes{0xFA, 0xFA, 0x02}));
  put(0xF3);
  put(0x20);
  EXPECT_EQ(drain(), (Bytes{0xFA, 0xFA}));
  put(0xEE);
  EXPECT_EQ(drain(), Bytes{0xEE});
  put(0x12);
  EXPECT_EQ(drain(), Bytes{0xFE});
}

TEST_F(I8042Test, EachByteIsItsOwnIrq1Edge) {
  put(0xF2);
  while (status() & 0x01) data();
  EXPECT_EQ(irqs.rises(1).size(), 3u);
}

TEST_F(I8042Test, ScanningAndTheKeyboardInterface) {
  put(0xF5);
  EXPECT_EQ(drain(), Bytes{0xFA});
  kbc.push_scancode(0x1C);
  EXPECT_EQ(drain(), Bytes{});  // scanning disabled
  put(0xF4);
  EXPECT_EQ(drain(), Bytes{0xFA});
  cmd(0xAD);
  kbc.push_scancode(0x1C);
  kbc.push_scancode(0x9C);
  EXPECT_EQ(status() & 0x01, 0x00);  // held while the interface is disabled
  cmd(0xAE);
  EXPECT_EQ(drain(), (Bytes{0x1C, 0x9C}));
}

TEST_F(I8042Test, A20ThroughTheOutputPort) {
  cmd(0xD1);
  put(0xDD);  // bit 1 clear
  EXPECT_FALSE(bus.a20());
  cmd(0xD0);
  EXPECT_EQ(drain(), Bytes{0x01});
  cmd(0xD1);
  put(0xDF);
  EXPECT_TRUE(bus.a20());
  cmd(0xD0);
  EXPECT_EQ(drain(), Bytes{0x03});
  cmd(0xDD);
  EXPECT_FALSE(bus.a20());
  cmd(0xDF);
  EXPECT_TRUE(bus.a20());
  EXPECT_EQ(bus.stop_reason(), bus::StopReason::None);
}

TEST_F(I8042Test, ResetThroughTheOutputPort) {
  cmd(0xD1);
  put(0x02);  // bit 0 clear: reset
  EXPECT_EQ(bus.stop_reason(), bus::StopReason::Reset);
}

TEST_F(I8042Test, PulseResetCommand) {
  cmd(0xFF);  // pulses nothing
  EXPECT_EQ(bus.stop_reason(), bus::StopReason::None);
  cmd(0xFE);
  EXPECT_EQ(bus.stop_reason(), bus::StopReason::Reset);
}

TEST_F(I8042Test, AuxLoopbackRaisesIrq12AndTheMouseAnswers) {
  cmd(0x60);
  put(0x47);  // both interrupts on
  cmd(0xD3);
  put(0x5A);
  EXPECT_EQ(status() & 0x21, 0x21);  // OBF from the aux port
  EXPECT_TRUE(irqs.levels[12]);
  EXPECT_FALSE(irqs.levels[1]);
  EXPECT_EQ(data(), 0x5A);
  EXPECT_FALSE(irqs.levels[12]);
  cmd(0xD4);
  put(0xF2);  // to the mouse (tests/unit/devices/ps2_mouse_test.cpp has the rest)
  EXPECT_EQ(status() & 0x61, 0x21);  // OBF, aux, no timeout
  EXPECT_EQ(data(), 0xFA);
  EXPECT_EQ(data(), 0x00);
  EXPECT_EQ(status() & 0x61, 0x00);
}

}  // namespace
}  // namespace popek::devices
