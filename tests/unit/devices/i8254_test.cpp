// The 8254 through ports 0x40-0x43 and 0x61, against the datasheet's timing: counts and
// OUT in every mode, reloads, latches, read-back, BCD, channel 2's gate and IRQ0 edges.
#include <gtest/gtest.h>

#include "bus/bus.h"
#include "devices/i8254.h"
#include "devices/port61.h"
#include "irq_recorder.h"

namespace popek::devices {
namespace {

using pit::time_of_pulse;
using testing::HandClock;
using testing::IrqRecorder;

class Pit : public ::testing::Test {
 protected:
  uint8_t in(uint16_t port) { return static_cast<uint8_t>(bus.io_read(port, 1)); }
  void out(uint16_t port, uint8_t v) { bus.io_write(port, 1, v); }
  // Move to just after CLK pulse p.
  void at_pulse(int64_t p) { clock.advance_to(time_of_pulse(p)); }
  void program(unsigned ch, unsigned mode, uint16_t count, bool bcd = false) {
    out(0x43, static_cast<uint8_t>(ch << 6 | 0x30 | mode << 1 | bcd));
    out(0x40 + ch, count & 0xFF);
    out(0x40 + ch, count >> 8);
  }
  uint16_t latched(unsigned ch) {
    out(0x43, static_cast<uint8_t>(ch << 6));
    const uint8_t lo = in(0x40 + ch);
    return static_cast<uint16_t>(lo | in(0x40 + ch) << 8);
  }

  bus::Bus bus{1 << 20};
  IrqRecorder irqs{bus};
  HandClock clock{bus};
  Pit8254 pit{bus};
  Port61 port61{bus, pit};
};

TEST(PitClock, PulsesOfThe1193182HzInput) {
  EXPECT_EQ(pit::pulses_at(0), 0);
  EXPECT_EQ(pit::pulses_at(838), 0);  // one period is 838.095 ns
  EXPECT_EQ(pit::pulses_at(839), 1);
  EXPECT_EQ(pit::pulses_at(1000000000), 1193182);
  EXPECT_EQ(pit::pulses_at(3600ull * 1000000000), 3600ll * 1193182);
  EXPECT_EQ(time_of_pulse(1), 839u);
  EXPECT_EQ(time_of_pulse(1193182), 1000000000u);
  for (int64_t p : {1ll, 2ll, 3ll, 59659ll, 65536ll, 1193181ll, 4000000000ll}) {
    EXPECT_EQ(pit::pulses_at(time_of_pulse(p)), p);
    EXPECT_EQ(pit::pulses_at(time_of_pulse(p) - 1), p - 1);
  }
}

TEST_F(Pit, Mode0OutRisesNPlusOnePulsesAfterTheCount) {
  program(0, 0, 100);  // written during pulse interval 0
  EXPECT_FALSE(pit.out(0));
  at_pulse(1);
  EXPECT_EQ(latched(0), 100);  // loaded, not yet decremented
  at_pulse(51);
  EXPECT_EQ(latched(0), 50);
  clock.advance_to(time_of_pulse(101) - 1);
  EXPECT_FALSE(pit.out(0));
  EXPECT_EQ(latched(0), 1);
  at_pulse(101);
  EXPECT_TRUE(pit.out(0));
  EXPECT_EQ(latched(0), 0);
  at_pulse(102);
  EXPECT_EQ(latched(0), 0xFFFF);  // keeps counting, OUT stays high
  EXPECT_TRUE(pit.out(0));
  EXPECT_EQ(irqs.rises(0), std::vector<uint64_t>{time_of_pulse(101)});
}

TEST_F(Pit, Mode0NewCountDropsOutAndRestarts) {
  program(0, 0, 10);
  at_pulse(20);
  EXPECT_TRUE(pit.out(0));
  out(0x40, 5);  // first byte: counting stops, OUT low at once
  EXPECT_FALSE(pit.out(0));
  at_pulse(30);
  out(0x40, 0);  // second byte at pulse 30: load at 31, OUT high at 36
  clock.advance_to(time_of_pulse(36) - 1);
  EXPECT_FALSE(pit.out(0));
  at_pulse(36);
  EXPECT_TRUE(pit.out(0));
  EXPECT_EQ(irqs.rises(0), (std::vector<uint64_t>{time_of_pulse(11), time_of_pulse(36)}));
}

TEST_F(Pit, Mode2RateGenerator) {
  program(0, 2, 4);
  // Load at pulse 1; the count runs 4 3 2 1 4 ...; OUT is low while it is 1.
  const uint16_t counts[] = {4, 3, 2, 1, 4, 3, 2, 1, 4};
  for (int i = 0; i < 9; ++i) {
    at_pulse(1 + i);
    EXPECT_EQ(latched(0), counts[i]) << "pulse " << 1 + i;
    EXPECT_EQ(pit.out(0), counts[i] != 1) << "pulse " << 1 + i;
  }
  at_pulse(20);
  // The mode 2 control word drove OUT high at once (it was low after reset).
  EXPECT_EQ(irqs.rises(0), (std::vector<uint64_t>{0, time_of_pulse(5), time_of_pulse(9),
                                                  time_of_pulse(13), time_of_pulse(17)}));
}

TEST_F(Pit, Mode2NewCountWaitsForTheEndOfTheCycle) {
  program(0, 2, 10);  // reloads at pulses 11, 21, ...
  at_pulse(5);
  out(0x40, 3);
  out(0x40, 0);
  out(0x43, 0xE2);  // read-back status of channel 0: null count until the reload
  EXPECT_EQ(in(0x40) & 0x40, 0x40);
  at_pulse(10);
  EXPECT_EQ(latched(0), 1);  // the old cycle finishes
  at_pulse(11);
  EXPECT_EQ(latched(0), 3);
  out(0x43, 0xE2);
  EXPECT_EQ(in(0x40), 0xB4);  // OUT high, null count clear, LSB/MSB, mode 2, binary
  at_pulse(30);
  EXPECT_EQ(irqs.rises(0), (std::vector<uint64_t>{0, time_of_pulse(11), time_of_pulse(14),
                                                  time_of_pulse(17), time_of_pulse(20),
                                                  time_of_pulse(23), time_of_pulse(26),
                                                  time_of_pulse(29)}));
}

TEST_F(Pit, Mode3SquareWaveEvenAndOdd) {
  program(0, 3, 6);  // even: high 3 pulses, low 3, count by two from 6
  const uint16_t even[] = {6, 4, 2, 6, 4, 2, 6};
  const bool even_out[] = {true, true, true, false, false, false, true};
  for (int i = 0; i < 7; ++i) {
    at_pulse(1 + i);
    EXPECT_EQ(latched(0), even[i]) << i;
    EXPECT_EQ(pit.out(0), even_out[i]) << i;
  }
  program(1, 3, 5);  // odd, written during pulse 7: high 3 pulses, low 2
  const uint16_t odd[] = {4, 2, 0, 4, 2, 4};
  const bool odd_out[] = {true, true, true, false, false, true};
  for (int i = 0; i < 6; ++i) {
    at_pulse(8 + i);
    EXPECT_EQ(latched(1), odd[i]) << i;
    EXPECT_EQ(pit.out(1), odd_out[i]) << i;
  }
  EXPECT_EQ(irqs.rises(0), (std::vector<uint64_t>{0, time_of_pulse(7), time_of_pulse(13)}));
}

TEST_F(Pit, Mode4StrobesOnePulseAfterTerminalCount) {
  program(0, 4, 3);  // load at 1, count 0 at pulse 4: OUT low for pulse 4 only
  at_pulse(3);
  EXPECT_TRUE(pit.out(0));
  at_pulse(4);
  EXPECT_FALSE(pit.out(0));
  EXPECT_EQ(latched(0), 0);
  at_pulse(5);
  EXPECT_TRUE(pit.out(0));
  at_pulse(100);
  EXPECT_TRUE(pit.out(0));
  EXPECT_EQ(irqs.rises(0), (std::vector<uint64_t>{0, time_of_pulse(5)}));
  // A late event still produces both edges of the strobe.
  program(0, 4, 2);  // written at 100: low during 103, high at 104
  clock.icount = time_of_pulse(110);
  bus.clock().run_due();
  ASSERT_EQ(irqs.edges.size(), 5u);
  EXPECT_FALSE(irqs.edges[3].level);
  EXPECT_TRUE(irqs.edges[4].level);
}

TEST_F(Pit, Mode1And5AreTriggeredByChannel2Gate) {
  out(0x61, 0x00);
  program(2, 1, 4);
  at_pulse(10);
  EXPECT_TRUE(pit.out(2));  // no trigger yet
  out(0x61, 0x01);          // trigger at 10: OUT low from 11 to 15
  at_pulse(11);
  EXPECT_FALSE(pit.out(2));
  EXPECT_EQ(latched(2), 4);
  at_pulse(14);
  EXPECT_FALSE(pit.out(2));
  at_pulse(15);
  EXPECT_TRUE(pit.out(2));
  EXPECT_EQ(in(0x61) & 0x20, 0x20);
  out(0x61, 0x00);
  program(2, 5, 2);
  at_pulse(20);
  out(0x61, 0x01);  // trigger at 20: load at 21, strobe during 23
  at_pulse(22);
  EXPECT_TRUE(pit.out(2));
  at_pulse(23);
  EXPECT_FALSE(pit.out(2));
  EXPECT_EQ(in(0x61) & 0x20, 0x00);
  at_pulse(24);
  EXPECT_TRUE(pit.out(2));
}

TEST_F(Pit, GateLowPausesMode0) {
  out(0x61, 0x01);
  program(2, 0, 10);
  at_pulse(5);
  EXPECT_EQ(latched(2), 6);
  out(0x61, 0x00);
  at_pulse(50);
  EXPECT_EQ(latched(2), 6);
  out(0x61, 0x01);
  at_pulse(55);
  EXPECT_EQ(latched(2), 1);
  EXPECT_FALSE(pit.out(2));
  at_pulse(56);
  EXPECT_TRUE(pit.out(2));
}

TEST_F(Pit, LatchHoldsTheCountUntilRead) {
  program(0, 2, 1000);
  at_pulse(11);
  out(0x43, 0x00);
  at_pulse(500);
  out(0x43, 0x00);  // ignored: the first latch has not been read
  EXPECT_EQ(in(0x40), 990 & 0xFF);
  EXPECT_EQ(in(0x40), 990 >> 8);
  // Unlatched reads follow the counting element, LSB then MSB.
  EXPECT_EQ(in(0x40), (1000 - 499) & 0xFF);
  EXPECT_EQ(in(0x40), (1000 - 499) >> 8);
}

TEST_F(Pit, ReadBackLatchesStatusThenCount) {
  out(0x43, 0xB0);  // channel 2, LSB/MSB, mode 0
  out(0x43, 0xC8);  // read-back count and status of channel 2
  EXPECT_EQ(in(0x42), 0x70);  // OUT low, null count, LSB/MSB, mode 0, binary
  in(0x42);
  in(0x42);
  out(0x42, 0x34);
  out(0x42, 0x12);
  out(0x43, 0xE8);  // status only
  EXPECT_EQ(in(0x42), 0x70);  // not loaded yet
  out(0x61, 0x01);
  at_pulse(3);
  out(0x43, 0xC8);
  EXPECT_EQ(in(0x42), 0x30);  // loaded: null count clear
  EXPECT_EQ(in(0x42), 0x32);  // loaded on pulse 1, decremented on pulses 2 and 3
  EXPECT_EQ(in(0x42), 0x12);
}

TEST_F(Pit, AccessModesLsbOnlyAndMsbOnly) {
  out(0x43, 0x54);  // channel 1, LSB only, mode 2
  out(0x41, 0x80);
  at_pulse(1);
  EXPECT_EQ(in(0x41), 0x80);
  out(0x43, 0x64);  // channel 1, MSB only, mode 2: count 0x0200
  out(0x41, 0x02);
  at_pulse(2);
  EXPECT_EQ(in(0x41), 0x02);
  at_pulse(3);
  EXPECT_EQ(in(0x41), 0x01);  // 0x01FF
}

TEST_F(Pit, BcdCounting) {
  program(0, 0, 0x0100, true);  // BCD 100
  at_pulse(11);
  EXPECT_EQ(latched(0), 0x0090);
  at_pulse(101);
  EXPECT_EQ(latched(0), 0x0000);
  EXPECT_TRUE(pit.out(0));
  at_pulse(102);
  EXPECT_EQ(latched(0), 0x9999);
  program(1, 2, 0x0000, true);  // BCD 0 means 10000
  at_pulse(103);
  EXPECT_EQ(latched(1), 0x0000);
  at_pulse(104);
  EXPECT_EQ(latched(1), 0x9999);
}

TEST_F(Pit, Port61ReportsGateOut2AndRefresh) {
  out(0x61, 0x0F);
  EXPECT_EQ(in(0x61) & 0x0F, 0x0F);
  EXPECT_TRUE(pit.gate(2));
  out(0x61, 0x00);
  EXPECT_FALSE(pit.gate(2));
  clock.advance_to(15084);
  EXPECT_EQ(in(0x61) & 0x10, 0x00);
  clock.advance_to(15085);
  EXPECT_EQ(in(0x61) & 0x10, 0x10);
  clock.advance_to(2 * 15085);
  EXPECT_EQ(in(0x61) & 0x10, 0x00);
}

// Linux's pit_calibrate_tsc(): channel 2, mode 0, 50 ms, poll port 0x61 bit 5.
TEST_F(Pit, LinuxTscCalibrationSeesTerminalCountOnTime) {
  clock.advance_to(123456789);
  const int64_t w = pit::pulses_at(clock.icount);
  out(0x61, (in(0x61) & ~0x02) | 0x01);
  const uint16_t latch = 1193182 / (1000 / 50);
  out(0x43, 0xB0);
  out(0x42, latch & 0xFF);
  out(0x42, latch >> 8);
  uint64_t seen = 0;
  for (uint64_t t = clock.icount; t < clock.icount + 60000000; t += 8) {
    clock.advance_to(t);
    if (in(0x61) & 0x20) {
      seen = t;
      break;
    }
  }
  // OUT rises on pulse w + 1 + latch, so the first poll at or after it sees it.
  const uint64_t due = time_of_pulse(w + 1 + latch);
  EXPECT_GE(seen, due);
  EXPECT_LT(seen, due + 8);
}

// Linux's quick_pit_calibrate(): channel 2, mode 0 from 0xFFFF, MSB read unlatched.
TEST_F(Pit, LinuxQuickCalibrationReadsTheMsbFalling) {
  out(0x61, (in(0x61) & ~0x02) | 0x01);
  out(0x43, 0xB0);
  out(0x42, 0xFF);
  out(0x42, 0xFF);
  at_pulse(1);  // "the PIT starts counting at the next edge"
  in(0x42);
  EXPECT_EQ(in(0x42), 0xFF);
  at_pulse(1 + 256);  // 0xFFFF - 256 = 0xFEFF
  in(0x42);
  EXPECT_EQ(in(0x42), 0xFE);
  at_pulse(1 + 256 * 100);
  in(0x42);
  EXPECT_EQ(in(0x42), 0xFF - 100);
}

TEST_F(Pit, PeriodicIrq0AtLinuxHz) {
  const uint16_t latch = (1193182 + 125) / 250;  // Linux PIT_LATCH for HZ = 250
  program(0, 2, latch);
  clock.advance_to(1000000000);
  const auto r = irqs.rises(0);
  // The control word, then the reloads of the first second: 4773 * 249 pulses fit in it,
  // 4773 * 250 do not.
  ASSERT_EQ(r.size(), 250u);
  for (size_t i = 1; i < r.size(); ++i) EXPECT_EQ(r[i], time_of_pulse(1 + i * latch));
}

}  // namespace
}  // namespace popek::devices
