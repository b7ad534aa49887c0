// ATA/IDE channel (PIO) driven through the bus with temporary raw images.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

#include "bus/bus.h"
#include "devices/disk_image.h"
#include "devices/ide.h"
#include "devices/mc146818.h"
#include "test_image.h"
#include "test_irq.h"

namespace popek::devices {
namespace {

constexpr uint16_t B = 0x1F0;
constexpr uint16_t DATA = B, ERR = B + 1, FEAT = B + 1, COUNT = B + 2, LBAL = B + 3,
                   LBAM = B + 4, LBAH = B + 5, DEV = B + 6, STATUS = B + 7, CMD = B + 7,
                   CTL = 0x3F6;

class Ide : public ::testing::Test {
 protected:
  void SetUp() override {
    bus.attach_irq_sink(&pic);
    disk = std::make_unique<DiskImage>(img.path, false, false);
    ide.attach(0, disk.get());
    bus.reset_devices();
  }
  uint8_t in(uint16_t port) { return static_cast<uint8_t>(bus.io_read(port, 1)); }
  void out(uint16_t port, uint8_t v) { bus.io_write(port, 1, v); }
  uint16_t inw() { return static_cast<uint16_t>(bus.io_read(DATA, 2)); }
  void outw(uint16_t v) { bus.io_write(DATA, 2, v); }
  bool irq() const { return pic.levels[14]; }

  std::vector<uint16_t> identify() {
    out(DEV, 0xA0);
    out(CMD, 0xEC);
    std::vector<uint16_t> id(256);
    for (auto& w : id) w = inw();
    return id;
  }
  void lba28(uint32_t lba, uint8_t count) {
    out(COUNT, count);
    out(LBAL, static_cast<uint8_t>(lba));
    out(LBAM, static_cast<uint8_t>(lba >> 8));
    out(LBAH, static_cast<uint8_t>(lba >> 16));
    out(DEV, static_cast<uint8_t>(0xE0 | ((lba >> 24) & 0x0F)));
  }
  void lba48(uint64_t lba, uint16_t count) {
    out(COUNT, static_cast<uint8_t>(count >> 8));
    out(LBAL, static_cast<uint8_t>(lba >> 24));
    out(LBAM, static_cast<uint8_t>(lba >> 32));
    out(LBAH, static_cast<uint8_t>(lba >> 40));
    out(COUNT, static_cast<uint8_t>(count));
    out(LBAL, static_cast<uint8_t>(lba));
    out(LBAM, static_cast<uint8_t>(lba >> 8));
    out(LBAH, static_cast<uint8_t>(lba >> 16));
    out(DEV, 0x40);
  }
  // Read `sectors` sectors of data after a read command, checking DRQ before each block.
  std::vector<uint8_t> read_data(unsigned sectors) {
    std::vector<uint8_t> data;
    for (unsigned s = 0; s < sectors; ++s) {
      EXPECT_EQ(in(CTL) & 0x89, 0x08) << "sector " << s;
      for (int i = 0; i < 256; ++i) {
        const uint16_t w = inw();
        data.push_back(static_cast<uint8_t>(w));
        data.push_back(static_cast<uint8_t>(w >> 8));
      }
    }
    return data;
  }
  void write_data(unsigned sectors, uint8_t fill) {
    for (unsigned s = 0; s < sectors; ++s) {
      EXPECT_EQ(in(CTL) & 0x89, 0x08) << "sector " << s;
      for (int i = 0; i < 256; ++i) outw(static_cast<uint16_t>(fill | (fill << 8)));
    }
  }

  bus::Bus bus{1 << 20};
  RecordingPic pic;
  TempImage img{2048};  // 1 MiB: 2 cylinders of 16 x 63
  std::unique_ptr<DiskImage> disk;
  IdeChannel ide{bus, IdeChannel::kPrimaryBase, IdeChannel::kPrimaryCtl, IdeChannel::kPrimaryIrq};
};

std::string ata_string(const std::vector<uint16_t>& id, int first, int words) {
  std::string s;
  for (int i = first; i < first + words; ++i) {
    s.push_back(static_cast<char>(id[i] >> 8));
    s.push_back(static_cast<char>(id[i] & 0xFF));
  }
  return s;
}

TEST_F(Ide, ResetSignatureAndStatus) {
  EXPECT_EQ(in(STATUS), 0x50);
  EXPECT_EQ(in(ERR), 0x01);
  EXPECT_EQ(in(COUNT), 1);
  EXPECT_EQ(in(LBAL), 1);
  EXPECT_EQ(in(LBAM), 0);
  EXPECT_EQ(in(LBAH), 0);
  EXPECT_FALSE(irq());
}

TEST_F(Ide, IdentifyContents) {
  const std::vector<uint16_t> id = identify();
  EXPECT_EQ(id[0], 0x0040);
  EXPECT_EQ(id[1], 2);  // 2048 / (16 * 63)
  EXPECT_EQ(id[3], 16);
  EXPECT_EQ(id[6], 63);
  EXPECT_EQ(id[4], 512 * 63);  // retired words the Bochs BIOS still divides by
  EXPECT_EQ(id[5], 512);
  EXPECT_EQ(id[48], 1);        // 32-bit PIO
  EXPECT_EQ(ata_string(id, 27, 20).substr(0, 14), "POPEK HARDDISK");
  EXPECT_EQ(ata_string(id, 27, 20).back(), ' ');
  EXPECT_EQ(ata_string(id, 23, 4), "0.1     ");
  EXPECT_NE(ata_string(id, 10, 10).find("PK"), std::string::npos);
  EXPECT_EQ(id[47], 0x8010);
  EXPECT_TRUE(id[49] & (1 << 9));   // LBA
  EXPECT_FALSE(id[49] & (1 << 8));  // no DMA
  EXPECT_EQ(id[53] & 3, 3);
  EXPECT_EQ(id[54], 2);
  EXPECT_EQ(id[55], 16);
  EXPECT_EQ(id[56], 63);
  EXPECT_EQ(id[57] | (id[58] << 16), 2 * 16 * 63);
  EXPECT_EQ(id[59], 0);
  EXPECT_EQ(id[60] | (id[61] << 16), 2048);
  EXPECT_EQ(id[64], 3);
  EXPECT_EQ(id[80], 0x007E);
  EXPECT_EQ(id[83] & 0xC400, 0x4400);  // LBA48 supported, word valid
  EXPECT_TRUE(id[86] & (1 << 10));
  EXPECT_EQ(id[100], 2048);
  EXPECT_EQ(id[101] | id[102] | id[103], 0);
  EXPECT_EQ(id[255] & 0xFF, 0xA5);
  uint8_t sum = 0;
  for (uint16_t w : id) sum = static_cast<uint8_t>(sum + (w & 0xFF) + (w >> 8));
  EXPECT_EQ(sum, 0);
  EXPECT_EQ(in(STATUS), 0x50);  // all read: DRQ gone
}

TEST_F(Ide, IdentifyRaisesIrqClearedByStatusNotAltStatus) {
  out(DEV, 0xA0);
  out(CMD, 0xEC);
  EXPECT_TRUE(irq());
  EXPECT_EQ(in(CTL), 0x58);
  EXPECT_TRUE(irq());
  EXPECT_EQ(in(STATUS), 0x58);
  EXPECT_FALSE(irq());
}

TEST_F(Ide, NienMasksIntrq) {
  out(CTL, 0x02);
  out(DEV, 0xA0);
  out(CMD, 0xEC);
  EXPECT_FALSE(irq());
  out(CTL, 0x00);  // the interrupt is still pending: the line comes up
  EXPECT_TRUE(irq());
  in(STATUS);
  EXPECT_FALSE(irq());
}

TEST_F(Ide, ReadSectorsLba28) {
  lba28(100, 3);
  out(CMD, 0x20);
  std::vector<uint8_t> got;
  for (int s = 0; s < 3; ++s) {
    EXPECT_TRUE(irq()) << s;  // one interrupt per sector
    EXPECT_EQ(in(STATUS), 0x58);
    for (int i = 0; i < 256; ++i) {
      const uint16_t w = inw();
      got.push_back(static_cast<uint8_t>(w));
      got.push_back(static_cast<uint8_t>(w >> 8));
    }
  }
  ASSERT_EQ(got.size(), 3u * 512);
  EXPECT_EQ(got[0], 100);
  EXPECT_EQ(got[512], 101);
  EXPECT_EQ(got[1535], 102);
  EXPECT_EQ(in(STATUS), 0x50);
  EXPECT_FALSE(irq());  // no interrupt after the last block of a read
  EXPECT_EQ(in(LBAL), 102);  // the last sector transferred
}

TEST_F(Ide, ReadSectorsChs) {
  // C/H/S 1/2/5 = (1 * 16 + 2) * 63 + 4 = 1138 (mod 256 = 114)
  out(COUNT, 1);
  out(LBAL, 5);
  out(LBAM, 1);
  out(LBAH, 0);
  out(DEV, 0xA2);
  out(CMD, 0x20);
  EXPECT_EQ(read_data(1)[0], 1138 % 256);
  // Sector 0 does not exist.
  out(LBAL, 0);
  out(CMD, 0x20);
  EXPECT_EQ(in(STATUS), 0x51);
  EXPECT_EQ(in(ERR), 0x10);
}

TEST_F(Ide, InitializeDeviceParametersChangesTheTranslation) {
  out(COUNT, 32);
  out(DEV, 0xA3);  // 4 heads
  out(CMD, 0x91);
  EXPECT_EQ(in(STATUS), 0x50);
  const std::vector<uint16_t> id = identify();
  EXPECT_EQ(id[55], 4);
  EXPECT_EQ(id[56], 32);
  EXPECT_EQ(id[54], 2048 / (4 * 32));
  // C/H/S 0/1/1 is now sector 32.
  out(COUNT, 1);
  out(LBAL, 1);
  out(LBAM, 0);
  out(LBAH, 0);
  out(DEV, 0xA1);
  out(CMD, 0x20);
  EXPECT_EQ(read_data(1)[0], 32);
}

TEST_F(Ide, ReadSectorsExtUsesTheHobBytes) {
  lba48(1000, 2);
  out(CMD, 0x24);
  const std::vector<uint8_t> got = read_data(2);
  EXPECT_EQ(got[0], 1000 % 256);
  EXPECT_EQ(got[512], 1001 % 256);
  // A high byte beyond the disk: IDNF.
  lba48(1000 + (1ull << 32), 1);
  out(CMD, 0x24);
  EXPECT_EQ(in(STATUS), 0x51);
  EXPECT_EQ(in(ERR), 0x10);
}

TEST_F(Ide, HobReadsThePreviousValues) {
  out(COUNT, 0x12);
  out(COUNT, 0x34);
  out(LBAL, 0x56);
  out(LBAL, 0x78);
  EXPECT_EQ(in(COUNT), 0x34);
  EXPECT_EQ(in(LBAL), 0x78);
  out(CTL, 0x80);
  EXPECT_EQ(in(COUNT), 0x12);
  EXPECT_EQ(in(LBAL), 0x56);
  out(LBAM, 0x00);  // a register write clears HOB
  EXPECT_EQ(in(COUNT), 0x34);
}

TEST_F(Ide, WriteSectorsReachTheFileAfterFlush) {
  lba28(7, 2);
  out(CMD, 0x30);
  EXPECT_FALSE(irq());  // the first block is requested without an interrupt
  write_data(1, 0xAB);
  EXPECT_TRUE(irq());
  EXPECT_EQ(in(STATUS), 0x58);
  write_data(1, 0xCD);
  EXPECT_TRUE(irq());
  EXPECT_EQ(in(STATUS), 0x50);
  out(CMD, 0xE7);
  EXPECT_EQ(in(STATUS), 0x50);
  EXPECT_EQ(img.byte_at(7 * 512), 0xAB);
  EXPECT_EQ(img.byte_at(8 * 512 + 511), 0xCD);
  EXPECT_EQ(img.byte_at(9 * 512), 9);
}

TEST_F(Ide, WriteSectorsExt) {
  lba48(2040, 8);
  out(CMD, 0x34);
  write_data(8, 0x77);
  EXPECT_EQ(in(STATUS), 0x50);
  out(CMD, 0xEA);
  EXPECT_EQ(in(STATUS), 0x50);
  EXPECT_EQ(img.byte_at(2047 * 512), 0x77);
  // 9 sectors from 2040 run off the end.
  lba48(2040, 9);
  out(CMD, 0x34);
  EXPECT_EQ(in(STATUS), 0x51);
  EXPECT_EQ(in(ERR), 0x10);
}

TEST_F(Ide, MultipleMode) {
  lba28(0, 8);
  out(CMD, 0xC4);  // multiple mode is off
  EXPECT_EQ(in(STATUS), 0x51);
  EXPECT_EQ(in(ERR), 0x04);
  out(COUNT, 3);  // not a power of two
  out(CMD, 0xC6);
  EXPECT_EQ(in(STATUS), 0x51);
  out(COUNT, 4);
  out(CMD, 0xC6);
  EXPECT_EQ(in(STATUS), 0x50);
  EXPECT_EQ(identify()[59], 0x0104);
  lba28(10, 6);
  out(CMD, 0xC4);
  in(STATUS);
  // One block of 4 sectors, then one of 2: one interrupt per block.
  std::vector<uint8_t> got = read_data(4);
  EXPECT_EQ(got[3 * 512], 13);
  EXPECT_TRUE(irq());
  in(STATUS);
  got = read_data(2);
  EXPECT_EQ(got[512], 15);
  EXPECT_EQ(in(STATUS), 0x50);
  EXPECT_FALSE(irq());
  // WRITE MULTIPLE EXT: one interrupt per block.
  lba48(20, 8);
  out(CMD, 0x39);
  EXPECT_FALSE(irq());
  write_data(4, 0x11);
  EXPECT_TRUE(irq());
  EXPECT_EQ(in(STATUS), 0x58);
  write_data(4, 0x22);
  EXPECT_EQ(in(STATUS), 0x50);
  EXPECT_EQ(img.byte_at(23 * 512), 0x11);
  EXPECT_EQ(img.byte_at(24 * 512), 0x22);
}

TEST_F(Ide, ThirtyTwoBitDataAccess) {
  lba28(300, 1);
  out(CMD, 0x20);
  const uint32_t d = bus.io_read(DATA, 4);
  EXPECT_EQ(d, 0x2C2C2C2Cu);  // 300 mod 256 = 0x2C
  for (int i = 1; i < 128; ++i) bus.io_read(DATA, 4);
  EXPECT_EQ(in(STATUS), 0x50);
}

TEST_F(Ide, UnknownCommandAborts) {
  out(CMD, 0xB0);  // SMART
  EXPECT_TRUE(irq());
  EXPECT_EQ(in(STATUS), 0x51);
  EXPECT_EQ(in(ERR), 0x04);
  out(CMD, 0xA1);  // IDENTIFY PACKET DEVICE: not an ATAPI device
  EXPECT_EQ(in(ERR), 0x04);
}

TEST_F(Ide, ReadBeyondTheDiskIsIdnf) {
  lba28(2048, 1);
  out(CMD, 0x20);
  EXPECT_TRUE(irq());
  EXPECT_EQ(in(STATUS), 0x51);
  EXPECT_EQ(in(ERR), 0x10);
  lba28(2047, 2);
  out(CMD, 0x20);
  EXPECT_EQ(in(STATUS), 0x51);
}

TEST_F(Ide, SoftwareResetPostsTheSignature) {
  lba28(55, 9);
  out(CMD, 0x20);  // a transfer in progress
  out(CTL, 0x04);
  EXPECT_EQ(in(CTL) & 0x80, 0x80);  // busy while SRST is set
  out(CTL, 0x00);
  EXPECT_EQ(in(STATUS), 0x50);
  EXPECT_EQ(in(ERR), 0x01);
  EXPECT_EQ(in(COUNT), 1);
  EXPECT_EQ(in(LBAL), 1);
  EXPECT_EQ(in(LBAM), 0);
  EXPECT_EQ(in(LBAH), 0);
  EXPECT_EQ(in(DEV) & 0x0F, 0);
  EXPECT_FALSE(irq());  // no interrupt after a software reset
}

TEST_F(Ide, ExecuteDeviceDiagnostic) {
  out(LBAL, 0x77);
  out(CMD, 0x90);
  EXPECT_TRUE(irq());
  EXPECT_EQ(in(STATUS), 0x50);
  EXPECT_EQ(in(ERR), 0x01);
  EXPECT_EQ(in(LBAL), 1);
}

TEST_F(Ide, AbsentSlaveReadsStatusZero) {
  out(DEV, 0xB0);
  EXPECT_EQ(in(STATUS), 0x00);
  EXPECT_EQ(in(CTL), 0x00);
  // Device 0 answers the other registers (Linux's probe writes and reads them back).
  out(COUNT, 0x55);
  out(LBAL, 0xAA);
  EXPECT_EQ(in(COUNT), 0x55);
  EXPECT_EQ(in(LBAL), 0xAA);
  out(CMD, 0xEC);  // ignored
  EXPECT_FALSE(irq());
  EXPECT_EQ(in(STATUS), 0x00);
  out(DEV, 0xA0);
  EXPECT_EQ(in(STATUS), 0x50);
}

TEST_F(Ide, EmptyChannelReadsZero) {
  IdeChannel sec(bus, IdeChannel::kSecondaryBase, IdeChannel::kSecondaryCtl,
                 IdeChannel::kSecondaryIrq);
  bus.io_write(0x172, 1, 0x55);
  EXPECT_EQ(bus.io_read(0x172, 1), 0u);
  EXPECT_EQ(bus.io_read(0x177, 1), 0u);
  EXPECT_EQ(bus.io_read(0x376, 1), 0u);
}

TEST_F(Ide, SecondaryChannelUsesIrq15) {
  TempImage img2(64);
  DiskImage d2(img2.path, false, false);
  IdeChannel sec(bus, IdeChannel::kSecondaryBase, IdeChannel::kSecondaryCtl,
                 IdeChannel::kSecondaryIrq);
  sec.attach(1, &d2);
  bus.io_write(0x176, 1, 0xB0);
  EXPECT_EQ(bus.io_read(0x177, 1), 0x50u);
  bus.io_write(0x177, 1, 0xEC);
  EXPECT_TRUE(pic.levels[15]);
  EXPECT_FALSE(pic.levels[14]);
  bus.io_read(0x177, 1);
  EXPECT_FALSE(pic.levels[15]);
}

TEST_F(Ide, SetFeaturesAndPowerModes) {
  out(FEAT, 0x03);
  out(COUNT, 0x0C);  // PIO 4
  out(CMD, 0xEF);
  EXPECT_EQ(in(STATUS), 0x50);
  out(FEAT, 0x03);
  out(COUNT, 0x42);  // UDMA 2: no DMA here
  out(CMD, 0xEF);
  EXPECT_EQ(in(STATUS), 0x51);
  out(FEAT, 0x82);  // write cache off
  out(CMD, 0xEF);
  EXPECT_EQ(in(STATUS), 0x50);
  EXPECT_EQ(identify()[85] & 0x20, 0);
  out(FEAT, 0xAA);  // read look-ahead: accepted
  out(CMD, 0xEF);
  EXPECT_EQ(in(STATUS), 0x50);
  out(CMD, 0xE5);
  EXPECT_EQ(in(COUNT), 0xFF);
  out(CMD, 0xE0);
  out(CMD, 0xE5);
  EXPECT_EQ(in(COUNT), 0x00);
  out(CMD, 0xE1);
  out(CMD, 0xE5);
  EXPECT_EQ(in(COUNT), 0xFF);
  out(CMD, 0x10);  // RECALIBRATE
  EXPECT_EQ(in(STATUS), 0x50);
  out(CMD, 0x70);  // SEEK
  EXPECT_EQ(in(STATUS), 0x50);
}

class IdeImageModes : public ::testing::Test {
 protected:
  uint8_t in(uint16_t port) { return static_cast<uint8_t>(bus.io_read(port, 1)); }
  void out(uint16_t port, uint8_t v) { bus.io_write(port, 1, v); }
  void write_sector0(uint8_t fill) {
    out(COUNT, 1);
    out(LBAL, 0);
    out(LBAM, 0);
    out(LBAH, 0);
    out(DEV, 0xE0);
    out(CMD, 0x30);
    for (int i = 0; i < 256; ++i) bus.io_write(DATA, 2, fill | (fill << 8));
  }
  bus::Bus bus{1 << 20};
  TempImage img{16};
  IdeChannel ide{bus, IdeChannel::kPrimaryBase, IdeChannel::kPrimaryCtl, IdeChannel::kPrimaryIrq};
};

TEST_F(IdeImageModes, SnapshotNeverTouchesTheFile) {
  DiskImage d(img.path, false, true);
  ide.attach(0, &d);
  write_sector0(0x99);
  EXPECT_EQ(in(STATUS), 0x50);
  out(CMD, 0xE7);
  EXPECT_EQ(in(STATUS), 0x50);
  EXPECT_EQ(img.byte_at(0), 0);
  out(COUNT, 1);
  out(CMD, 0x20);
  EXPECT_EQ(bus.io_read(DATA, 2), 0x9999u);  // the guest sees its write
}

TEST_F(IdeImageModes, ReadonlyRejectsWrites) {
  DiskImage d(img.path, true, false);
  ide.attach(0, &d);
  write_sector0(0x99);
  EXPECT_EQ(in(STATUS), 0x51);
  EXPECT_EQ(in(ERR), 0x04);
  EXPECT_EQ(img.byte_at(0), 0);
}

TEST_F(IdeImageModes, WriteCacheOffFlushesEachWrite) {
  DiskImage d(img.path, false, false);
  ide.attach(0, &d);
  out(FEAT, 0x82);
  out(CMD, 0xEF);
  write_sector0(0x42);
  EXPECT_EQ(in(STATUS), 0x50);
  EXPECT_EQ(img.byte_at(0), 0x42);
}

TEST_F(IdeImageModes, HostReadErrorIsUnc) {
  DiskImage d(img.path, false, false);
  ide.attach(0, &d);
  ASSERT_EQ(truncate(img.path.c_str(), 512), 0);
  out(COUNT, 1);
  out(LBAL, 4);
  out(DEV, 0xE0);
  out(CMD, 0x20);
  EXPECT_EQ(in(STATUS), 0x51);
  EXPECT_EQ(in(ERR), 0x40);
}

TEST(IdeLarge, Lba48BeyondLba28) {
  // A sparse image of 2^28 + 16 sectors with a marker beyond the LBA28 limit.
  TempImage img(0);
  const uint64_t sectors = (1ull << 28) + 16;
  const int fd = open(img.path.c_str(), O_WRONLY);
  ASSERT_GE(fd, 0);
  if (ftruncate(fd, static_cast<off_t>(sectors * 512)) != 0) {
    close(fd);
    GTEST_SKIP() << "no room for a sparse 128 GiB file";
  }
  const uint8_t marker[2] = {0x12, 0x34};
  ASSERT_EQ(pwrite(fd, marker, 2, static_cast<off_t>((sectors - 3) * 512)), 2);
  close(fd);
  bus::Bus bus{1 << 20};
  DiskImage d(img.path, false, true);
  IdeChannel ide(bus, 0x1F0, 0x3F6, 14);
  ide.attach(0, &d);
  bus.io_write(0x1F6, 1, 0xA0);
  bus.io_write(0x1F7, 1, 0xEC);
  uint16_t id[256];
  for (auto& w : id) w = static_cast<uint16_t>(bus.io_read(0x1F0, 2));
  EXPECT_EQ(id[60] | (id[61] << 16), 0x0FFFFFFF);
  EXPECT_EQ(id[100] | (uint64_t{id[101]} << 16) | (uint64_t{id[102]} << 32), sectors);
  EXPECT_EQ(id[1], 16383);
  const uint64_t lba = sectors - 3;
  const uint8_t regs[6] = {static_cast<uint8_t>(lba >> 24), static_cast<uint8_t>(lba >> 32),
                           static_cast<uint8_t>(lba >> 40), static_cast<uint8_t>(lba),
                           static_cast<uint8_t>(lba >> 8), static_cast<uint8_t>(lba >> 16)};
  bus.io_write(0x1F2, 1, 0);
  bus.io_write(0x1F3, 1, regs[0]);
  bus.io_write(0x1F4, 1, regs[1]);
  bus.io_write(0x1F5, 1, regs[2]);
  bus.io_write(0x1F2, 1, 1);
  bus.io_write(0x1F3, 1, regs[3]);
  bus.io_write(0x1F4, 1, regs[4]);
  bus.io_write(0x1F5, 1, regs[5]);
  bus.io_write(0x1F6, 1, 0x40);
  bus.io_write(0x1F7, 1, 0x24);
  EXPECT_EQ(bus.io_read(0x1F7, 1), 0x58u);
  EXPECT_EQ(bus.io_read(0x1F0, 2), 0x3412u);
}

}  // namespace
}  // namespace popek::devices

namespace popek::devices {
namespace {

// QEMU's choice of CMOS 0x39 translation, from the partition table and the size.
TEST(IdeGeometry, BiosTranslationAsQemuGuessesIt) {
  uint8_t mbr[512] = {};
  const uint64_t small = 131072, big = 4ull << 21;  // 64 MiB, 4 GiB
  EXPECT_EQ(guess_bios_translation(mbr, small), boot::TRANS_NONE);  // no table
  EXPECT_EQ(guess_bios_translation(mbr, big), boot::TRANS_LBA);     // 8322 cylinders
  mbr[510] = 0x55;
  mbr[511] = 0xAA;
  uint8_t* p = &mbr[0x1BE];
  p[5] = 32;  // end head: 33 heads (what sfdisk writes for a small image)
  p[6] = 32;  // end sector
  p[12] = 0x00;
  p[13] = 0xF8;
  p[14] = 0x01;  // 129024 sectors
  EXPECT_EQ(guess_bios_translation(mbr, small), boot::TRANS_LARGE);
  EXPECT_EQ(guess_bios_translation(mbr, big / 2), boot::TRANS_LARGE);  // 4161 * 16 <= 131072
  EXPECT_EQ(guess_bios_translation(mbr, big), boot::TRANS_LBA);        // 8322 * 16 > 131072
  p[5] = 15;  // a table written for 16 heads: that geometry, no translation
  EXPECT_EQ(guess_bios_translation(mbr, big / 2), boot::TRANS_NONE);
  EXPECT_EQ(guess_bios_translation(mbr, big), boot::TRANS_LBA);  // 16384 cylinders: no guess
}

}  // namespace
}  // namespace popek::devices
