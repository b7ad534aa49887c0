// The 8259A pair through its ports: initialisation, delivery, priorities, EOIs, masks,
// the cascade, edge/level triggering and the default IR7.
#include <gtest/gtest.h>

#include "bus/bus.h"
#include "devices/i8259.h"

namespace popek::devices {
namespace {

class Pic : public ::testing::Test {
 protected:
  uint8_t in(uint16_t port) { return static_cast<uint8_t>(bus.io_read(port, 1)); }
  void out(uint16_t port, uint8_t v) { bus.io_write(port, 1, v); }
  // Linux's init_8259A(0): vectors 0x30 and 0x38, slave on IR2, normal EOI.
  void init(uint8_t icw4 = 0x01) {
    out(0x21, 0xFF);
    out(0xA1, 0xFF);
    out(0x20, 0x11);
    out(0x21, 0x30);
    out(0x21, 0x04);
    out(0x21, icw4);
    out(0xA0, 0x11);
    out(0xA1, 0x38);
    out(0xA1, 0x02);
    out(0xA1, icw4);
    out(0x21, 0x00);
    out(0xA1, 0x00);
  }
  uint8_t isr(uint16_t cmd) {
    out(cmd, 0x0B);
    const uint8_t v = in(cmd);
    out(cmd, 0x0A);
    return v;
  }
  uint8_t irr(uint16_t cmd) {
    out(cmd, 0x0A);
    return in(cmd);
  }
  void pulse(unsigned irq) {
    bus.set_irq(irq, true);
    bus.set_irq(irq, false);
  }

  bus::Bus bus{1 << 20};
  Pic8259 pic{bus};
};

TEST_F(Pic, UninitialisedChipsRaiseNothing) {
  bus.set_irq(0, true);
  EXPECT_FALSE(pic.intr());
  EXPECT_EQ(in(0x21), 0xFF);
  EXPECT_EQ(in(0xA1), 0xFF);
}

TEST_F(Pic, LinuxProbeReadsBackTheMask) {
  out(0x21, 0xFF);
  out(0x21, 0xA5);
  EXPECT_EQ(in(0x21), 0xA5);
}

TEST_F(Pic, Icw1ClearsTheMaskAndIcw2SetsTheVectorBase) {
  out(0x20, 0x11);
  EXPECT_EQ(in(0x21), 0x00);  // ICW1 cleared IMR
  out(0x21, 0x37);            // ICW2: bits 2-0 are ignored in 8086 mode
  out(0x21, 0x04);
  out(0x21, 0x01);
  out(0x21, 0xFB);            // now OCW1
  EXPECT_EQ(in(0x21), 0xFB);
  pulse(0);
  EXPECT_FALSE(pic.intr());   // masked
  out(0x21, 0xFA);
  ASSERT_TRUE(pic.intr());
  EXPECT_EQ(pic.acknowledge(), 0x30);
}

TEST_F(Pic, DeliversAndBlocksLowerPriorities) {
  init();
  pulse(3);
  ASSERT_TRUE(pic.intr());
  EXPECT_EQ(pic.acknowledge(), 0x33);
  EXPECT_EQ(isr(0x20), 0x08);
  EXPECT_FALSE(pic.intr());
  pulse(5);  // lower priority than IR3 in service
  EXPECT_FALSE(pic.intr());
  EXPECT_EQ(irr(0x20), 0x20);
  pulse(1);  // higher priority nests
  ASSERT_TRUE(pic.intr());
  EXPECT_EQ(pic.acknowledge(), 0x31);
  EXPECT_EQ(isr(0x20), 0x0A);
  out(0x20, 0x20);  // non-specific EOI: the highest in service (IR1)
  EXPECT_EQ(isr(0x20), 0x08);
  EXPECT_FALSE(pic.intr());
  out(0x20, 0x20);
  EXPECT_EQ(isr(0x20), 0x00);
  ASSERT_TRUE(pic.intr());
  EXPECT_EQ(pic.acknowledge(), 0x35);
}

TEST_F(Pic, SimultaneousRequestsGoInPriorityOrder) {
  init(0x03);  // automatic EOI
  pulse(6);
  pulse(4);
  pulse(0);
  EXPECT_EQ(pic.acknowledge(), 0x30);
  EXPECT_EQ(pic.acknowledge(), 0x34);
  EXPECT_EQ(pic.acknowledge(), 0x36);
  EXPECT_EQ(isr(0x20), 0x00);  // AEOI left nothing in service
  EXPECT_FALSE(pic.intr());
}

TEST_F(Pic, SpecificEoiClearsTheNamedLevel) {
  init();
  pulse(1);
  EXPECT_EQ(pic.acknowledge(), 0x31);
  pulse(0);
  EXPECT_EQ(pic.acknowledge(), 0x30);
  EXPECT_EQ(isr(0x20), 0x03);
  out(0x20, 0x61);  // specific EOI, level 1
  EXPECT_EQ(isr(0x20), 0x01);
  out(0x20, 0x60);
  EXPECT_EQ(isr(0x20), 0x00);
}

TEST_F(Pic, SetPriorityAndRotateOnEoi) {
  init();
  out(0x20, 0xC4);  // set priority: IR4 lowest, so IR5 highest
  pulse(3);
  pulse(5);
  EXPECT_EQ(pic.acknowledge(), 0x35);
  out(0x20, 0xA0);  // rotate on non-specific EOI: IR5 becomes lowest, IR6 highest
  pulse(6);
  EXPECT_EQ(pic.acknowledge(), 0x36);  // IR6 now outranks IR3
  out(0x20, 0xE6);  // rotate on specific EOI 6: IR7 highest
  pulse(7);
  EXPECT_EQ(pic.acknowledge(), 0x37);
  out(0x20, 0x20);
  EXPECT_EQ(pic.acknowledge(), 0x33);
}

TEST_F(Pic, RotateInAutomaticEoiMode) {
  init(0x03);
  out(0x20, 0x80);  // rotate in AEOI on
  pulse(3);
  pulse(5);
  EXPECT_EQ(pic.acknowledge(), 0x33);  // IR3 becomes lowest
  pulse(3);
  EXPECT_EQ(pic.acknowledge(), 0x35);  // IR5 now outranks IR3
  EXPECT_EQ(pic.acknowledge(), 0x33);
}

TEST_F(Pic, MaskedRequestsWaitInIrr) {
  init();
  out(0x21, 0x10);
  pulse(4);
  EXPECT_FALSE(pic.intr());
  EXPECT_EQ(irr(0x20), 0x10);
  out(0x21, 0x00);
  ASSERT_TRUE(pic.intr());
  EXPECT_EQ(pic.acknowledge(), 0x34);
  EXPECT_EQ(irr(0x20), 0x00);
}

TEST_F(Pic, SlaveInterruptsCascadeThroughIr2) {
  init();
  pulse(10);
  ASSERT_TRUE(pic.intr());
  EXPECT_EQ(pic.acknowledge(), 0x3A);
  EXPECT_EQ(isr(0x20), 0x04);
  EXPECT_EQ(isr(0xA0), 0x04);
  pulse(14);  // same slave, lower priority: blocked
  EXPECT_FALSE(pic.intr());
  out(0xA0, 0x62);  // Linux: specific EOI on the slave, then on master IR2
  out(0x20, 0x62);
  ASSERT_TRUE(pic.intr());
  EXPECT_EQ(pic.acknowledge(), 0x3E);
  // Masking IR2 on the master hides the slave.
  out(0xA0, 0x20);
  out(0x20, 0x20);
  out(0x21, 0x04);
  pulse(8);
  EXPECT_FALSE(pic.intr());
  out(0x21, 0x00);
  EXPECT_EQ(pic.acknowledge(), 0x38);
}

TEST_F(Pic, IsaIrq2ReachesIrq9) {
  init();
  pulse(2);
  EXPECT_EQ(pic.acknowledge(), 0x39);
}

TEST_F(Pic, ElcrSelectsLevelTriggering) {
  init();
  out(0x4D0, 0xFF);
  EXPECT_EQ(in(0x4D0), 0xF8);  // IRQ 0-2 are always edge
  out(0x4D1, 0xFF);
  EXPECT_EQ(in(0x4D1), 0xDE);  // nor IRQ 8 and 13
  out(0x4D0, 0x20);            // IRQ5 level
  out(0x4D1, 0x00);
  bus.set_irq(5, true);
  EXPECT_EQ(pic.acknowledge(), 0x35);
  out(0x20, 0x20);
  ASSERT_TRUE(pic.intr());  // the line is still high: requested again
  EXPECT_EQ(pic.acknowledge(), 0x35);
  out(0x20, 0x20);
  bus.set_irq(5, false);
  EXPECT_FALSE(pic.intr());
  // The same line edge-triggered asks once per rising edge.
  out(0x4D0, 0x00);
  bus.set_irq(5, true);
  EXPECT_EQ(pic.acknowledge(), 0x35);
  out(0x20, 0x20);
  EXPECT_FALSE(pic.intr());
  bus.set_irq(5, true);  // no new edge
  EXPECT_FALSE(pic.intr());
}

TEST_F(Pic, Icw1LtimMakesEveryInputLevelTriggered) {
  out(0x20, 0x19);
  out(0x21, 0x30);
  out(0x21, 0x04);
  out(0x21, 0x01);
  out(0x21, 0xFE);
  bus.set_irq(0, true);
  EXPECT_EQ(pic.acknowledge(), 0x30);
  out(0x20, 0x20);
  EXPECT_TRUE(pic.intr());
  bus.set_irq(0, false);
  EXPECT_FALSE(pic.intr());
}

TEST_F(Pic, VanishedRequestGivesSpuriousIrq7) {
  init();
  out(0x4D0, 0x08);  // IRQ3 level
  bus.set_irq(3, true);
  EXPECT_TRUE(pic.intr());
  bus.set_irq(3, false);
  EXPECT_EQ(pic.acknowledge(), 0x37);
  EXPECT_EQ(isr(0x20), 0x00);  // default IR7 sets no ISR bit
  EXPECT_EQ(pic.acknowledge(), 0x37);  // nothing pending at all
}

TEST_F(Pic, VanishedSlaveRequestGivesSpuriousIrq15) {
  init();
  out(0x4D1, 0x08);  // IRQ11 level
  bus.set_irq(11, true);
  ASSERT_TRUE(pic.intr());
  bus.set_irq(11, false);  // master IR2 stays latched (edge)
  EXPECT_EQ(pic.acknowledge(), 0x3F);
  EXPECT_EQ(isr(0x20), 0x04);  // the master put IR2 in service
  EXPECT_EQ(isr(0xA0), 0x00);
  out(0x20, 0x62);
  EXPECT_EQ(isr(0x20), 0x00);
}

TEST_F(Pic, PollModeAcknowledgesWithoutInta) {
  init();
  out(0x20, 0x0C);
  EXPECT_EQ(in(0x20), 0x00);  // nothing pending
  pulse(6);
  out(0x20, 0x0C);
  EXPECT_EQ(in(0x20), 0x86);
  EXPECT_EQ(isr(0x20), 0x40);
  EXPECT_FALSE(pic.intr());
}

TEST_F(Pic, SpecialMaskModeLetsLowerLevelsIn) {
  init();
  pulse(4);
  EXPECT_EQ(pic.acknowledge(), 0x34);
  pulse(6);
  EXPECT_FALSE(pic.intr());
  out(0x21, 0x10);  // mask the level in service...
  out(0x20, 0x68);  // ...and enter special mask mode
  ASSERT_TRUE(pic.intr());
  EXPECT_EQ(pic.acknowledge(), 0x36);
  out(0x20, 0x48);  // leave special mask mode
  out(0x20, 0x66);
  out(0x21, 0x00);
  pulse(7);
  EXPECT_FALSE(pic.intr());  // IR4 in service blocks IR7 again
}

}  // namespace
}  // namespace popek::devices
