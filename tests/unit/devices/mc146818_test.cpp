// The MC146818A through ports 0x70/0x71 on a hand-advanced virtual clock: time registers
// in BCD and binary, 12/24 hours, UIP, periodic/alarm/update interrupts, register C, CMOS.
#include <gtest/gtest.h>

#include "bus/bus.h"
#include "devices/mc146818.h"
#include "irq_recorder.h"

namespace popek::devices {
namespace {

using testing::HandClock;
using testing::IrqRecorder;

constexpr int64_t kLeapDayEnd = 1709251198;  // 2024-02-29 23:59:58, a Thursday
constexpr uint64_t kSec = 1000000000;

class Rtc : public ::testing::Test {
 protected:
  uint8_t rd(uint8_t reg) {
    bus.io_write(0x70, 1, reg);
    return static_cast<uint8_t>(bus.io_read(0x71, 1));
  }
  void wr(uint8_t reg, uint8_t v) {
    bus.io_write(0x70, 1, reg);
    bus.io_write(0x71, 1, v);
  }

  bus::Bus bus{1 << 20};
  IrqRecorder irqs{bus};
  HandClock clock{bus};
  Mc146818 rtc{bus, kLeapDayEnd};
};

TEST_F(Rtc, PowerOnRegisters) {
  EXPECT_EQ(rd(0x0A), 0x26);
  EXPECT_EQ(rd(0x0B), 0x02);
  EXPECT_EQ(rd(0x0C), 0x00);
  EXPECT_EQ(rd(0x0D), 0x80);
}

TEST_F(Rtc, BcdTimeAdvancesOverTheLeapDay) {
  EXPECT_EQ(rd(0x00), 0x58);
  EXPECT_EQ(rd(0x02), 0x59);
  EXPECT_EQ(rd(0x04), 0x23);
  EXPECT_EQ(rd(0x06), 0x05);
  EXPECT_EQ(rd(0x07), 0x29);
  EXPECT_EQ(rd(0x08), 0x02);
  EXPECT_EQ(rd(0x09), 0x24);
  EXPECT_EQ(rd(0x32), 0x20);
  clock.advance_to(2 * kSec - 1);
  EXPECT_EQ(rd(0x00), 0x59);
  clock.advance_to(2 * kSec);
  EXPECT_EQ(rd(0x00), 0x00);
  EXPECT_EQ(rd(0x04), 0x00);
  EXPECT_EQ(rd(0x06), 0x06);  // Friday
  EXPECT_EQ(rd(0x07), 0x01);
  EXPECT_EQ(rd(0x08), 0x03);
}

TEST_F(Rtc, BinaryAnd12HourModes) {
  wr(0x0B, 0x06);  // binary, 24 h
  EXPECT_EQ(rd(0x00), 58);
  EXPECT_EQ(rd(0x04), 23);
  EXPECT_EQ(rd(0x09), 24);
  wr(0x0B, 0x04);  // binary, 12 h
  EXPECT_EQ(rd(0x04), 0x80 | 11);
  wr(0x0B, 0x00);  // BCD, 12 h
  EXPECT_EQ(rd(0x04), 0x91);
  clock.advance_to(2 * kSec);
  EXPECT_EQ(rd(0x04), 0x12);  // midnight is 12 AM
}

TEST_F(Rtc, UipCoversTheLast244usBeforeEachUpdate) {
  clock.advance_to(kSec - 244142);
  EXPECT_EQ(rd(0x0A) & 0x80, 0x00);
  clock.advance_to(kSec - 244141);
  EXPECT_EQ(rd(0x0A) & 0x80, 0x80);
  EXPECT_EQ(rd(0x00), 0x58);
  clock.advance_to(kSec);
  EXPECT_EQ(rd(0x0A) & 0x80, 0x00);
  EXPECT_EQ(rd(0x00), 0x59);
}

TEST_F(Rtc, SetFreezesTheTimeAndClearsUie) {
  wr(0x0B, 0x12);  // UIE
  wr(0x0B, 0x82 | 0x10);  // SET with UIE: UIE is cleared
  EXPECT_EQ(rd(0x0B), 0x82);
  wr(0x00, 0x30);
  wr(0x02, 0x15);
  wr(0x04, 0x10);
  wr(0x07, 0x04);
  wr(0x08, 0x07);
  wr(0x09, 0x26);
  clock.advance_to(5 * kSec + kSec - 100000);
  EXPECT_EQ(rd(0x0A) & 0x80, 0x00);  // no update in progress while SET
  EXPECT_EQ(rd(0x00), 0x30);
  wr(0x0B, 0x02);
  clock.advance_to(6 * kSec);
  EXPECT_EQ(rd(0x00), 0x31);
  EXPECT_EQ(rd(0x02), 0x15);
  EXPECT_EQ(rd(0x04), 0x10);
  EXPECT_EQ(rd(0x07), 0x04);
  EXPECT_EQ(rd(0x08), 0x07);
  EXPECT_EQ(rd(0x09), 0x26);
  EXPECT_EQ(rtc.time_now(), 1783160131);  // 2026-07-04 10:15:31
}

TEST_F(Rtc, LeavingDividerResetUpdatesHalfASecondLater) {
  clock.advance_to(300000000);
  wr(0x0A, 0x70);  // divider reset (as Linux's set_time does)
  clock.advance_to(5 * kSec);
  EXPECT_EQ(rd(0x00), 0x58);
  wr(0x0A, 0x26);
  clock.advance_to(5 * kSec + kSec / 2 - 1);
  EXPECT_EQ(rd(0x00), 0x58);
  clock.advance_to(5 * kSec + kSec / 2);
  EXPECT_EQ(rd(0x00), 0x59);
}

TEST_F(Rtc, PeriodicInterruptAt1024Hz) {
  wr(0x0B, 0x42);  // PIE
  // The period is 32 cycles of 32.768 kHz = 976562.5 ns.
  clock.advance_to(976562);
  EXPECT_TRUE(irqs.rises(8).empty());
  clock.advance_to(976563 + 1000);
  EXPECT_EQ(irqs.rises(8), std::vector<uint64_t>{976563});
  EXPECT_EQ(rd(0x0C), 0xC0);  // IRQF | PF
  EXPECT_FALSE(irqs.levels[8]);
  EXPECT_EQ(rd(0x0C), 0x00);
  clock.advance_to(1953124);
  EXPECT_FALSE(irqs.levels[8]);
  clock.advance_to(1953125);  // exactly 2 periods
  EXPECT_TRUE(irqs.levels[8]);
  EXPECT_EQ(irqs.rises(8).back(), 1953125u);
  clock.advance_to(5 * 976563);
  EXPECT_EQ(irqs.rises(8).size(), 2u);  // IRQ8 stays high until register C is read
  wr(0x0A, 0x2F);  // rate 15: 500 ms
  rd(0x0C);
  clock.advance_to(kSec / 2);
  EXPECT_TRUE(irqs.levels[8]);
  EXPECT_EQ(irqs.rises(8).back(), kSec / 2);
}

TEST_F(Rtc, PeriodicFlagIsSetEvenWithPieOff) {
  clock.advance_to(976563);
  EXPECT_EQ(rd(0x0C), 0x40);  // PF without IRQF
  EXPECT_TRUE(irqs.rises(8).empty());
}

TEST_F(Rtc, UpdateEndedInterrupt) {
  wr(0x0B, 0x12);
  clock.advance_to(3 * kSec);
  EXPECT_EQ(irqs.rises(8), std::vector<uint64_t>{kSec});
  EXPECT_EQ(rd(0x0C) & 0x90, 0x90);  // IRQF | UF (PF and AF are set too: see below)
  EXPECT_FALSE(irqs.levels[8]);
  clock.advance_to(4 * kSec);
  EXPECT_EQ(irqs.rises(8), (std::vector<uint64_t>{kSec, 4 * kSec}));
}

TEST_F(Rtc, AlarmInterrupt) {
  wr(0x01, 0x00);
  wr(0x03, 0x00);
  wr(0x05, 0x00);
  wr(0x0B, 0x22);  // AIE
  clock.advance_to(10 * kSec);
  EXPECT_EQ(irqs.rises(8), std::vector<uint64_t>{2 * kSec});  // at 00:00:00
  EXPECT_EQ(rd(0x0C) & 0xB0, 0xB0);  // IRQF | AF | UF
  wr(0x05, 0xC0);  // any hour
  wr(0x03, 0xFF);  // any minute
  wr(0x01, 0x15);  // second 15
  clock.advance_to(20 * kSec);
  EXPECT_EQ(irqs.rises(8).back(), 17 * kSec);  // 00:00:15
}

TEST_F(Rtc, RegisterCReadClearsAndResetClearsEnables) {
  wr(0x0B, 0x72);
  clock.advance_to(kSec);
  EXPECT_TRUE(irqs.levels[8]);
  rtc.reset();
  EXPECT_FALSE(irqs.levels[8]);
  EXPECT_EQ(rd(0x0B), 0x02);
  EXPECT_EQ(rd(0x0C), 0x00);
}

TEST_F(Rtc, IndexPortKeepsTheNmiMask) {
  bus.io_write(0x70, 1, 0x8F);
  EXPECT_TRUE(rtc.nmi_masked());
  bus.io_write(0x71, 1, 0x5A);
  EXPECT_EQ(rtc.cmos(0x0F), 0x5A);
  bus.io_write(0x70, 1, 0x0F);
  EXPECT_FALSE(rtc.nmi_masked());
  EXPECT_EQ(bus.io_read(0x71, 1), 0x5Au);
  EXPECT_EQ(bus.io_read(0x70, 1), 0xFFu);
}

// QEMU's encoding of -boot order=cad and of the disks' translation.
TEST_F(Rtc, CmosBootOrderAndTranslation) {
  const std::array<uint8_t, 3> order = {boot::DISK, boot::CDROM, boot::FLOPPY};
  rtc.set_boot_order(order);
  EXPECT_EQ(rd(0x3D), 0x32);
  EXPECT_EQ(rd(0x38), 0x10);
  rtc.set_disk_translation(0, boot::TRANS_LARGE);
  rtc.set_disk_translation(2, boot::TRANS_LBA);
  EXPECT_EQ(rd(0x39), 0x12);
  rtc.set_disk_translation(0, boot::TRANS_NONE);
  EXPECT_EQ(rd(0x39), 0x10);
}

TEST_F(Rtc, CmosMemoryDiskFieldsAndChecksum) {
  rtc.set_memory_size(32u << 20);
  EXPECT_EQ(rd(0x15) | rd(0x16) << 8, 640);
  EXPECT_EQ(rd(0x17) | rd(0x18) << 8, 31 * 1024);
  EXPECT_EQ(rd(0x30) | rd(0x31) << 8, 31 * 1024);
  EXPECT_EQ(rd(0x34) | rd(0x35) << 8, 256);  // 16 MiB in 64 KiB units
  rtc.set_memory_size(128u << 20);
  EXPECT_EQ(rd(0x17) | rd(0x18) << 8, 0xFFFF);  // capped at 64 MiB - 1 KiB, as QEMU
  EXPECT_EQ(rd(0x34) | rd(0x35) << 8, 112 * 16);
  rtc.set_disk(0, 1024, 16, 63);
  EXPECT_EQ(rd(0x12), 0xF0);
  EXPECT_EQ(rd(0x19), 47);
  EXPECT_EQ(rd(0x1B) | rd(0x1C) << 8, 1024);
  EXPECT_EQ(rd(0x1D), 16);
  EXPECT_EQ(rd(0x23), 63);
  EXPECT_EQ(rd(0x14), 0x02);
  unsigned sum = 0;
  for (uint8_t i = 0x10; i <= 0x2D; ++i) sum += rd(i);
  EXPECT_EQ(rd(0x2E) << 8 | rd(0x2F), sum);
  EXPECT_NE(sum, 0u);
}

}  // namespace
}  // namespace popek::devices
