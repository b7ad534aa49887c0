// Raw disk images: reads, writes, flush, snapshot overlay, read-only and bad files.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "devices/disk_image.h"
#include "test_image.h"

namespace popek::devices {
namespace {

TEST(DiskImage, ReadsAndWritesSectors) {
  TempImage img(8);
  DiskImage d(img.path, false, false);
  EXPECT_EQ(d.sectors(), 8u);
  EXPECT_FALSE(d.readonly());
  uint8_t buf[1024];
  ASSERT_TRUE(d.read(3, buf, 2));
  EXPECT_EQ(buf[0], 3);
  EXPECT_EQ(buf[512], 4);
  std::vector<uint8_t> w(512, 0xEE);
  ASSERT_TRUE(d.write(5, w.data()));
  ASSERT_TRUE(d.flush());
  EXPECT_EQ(img.byte_at(5 * 512 + 100), 0xEE);
  EXPECT_FALSE(d.read(7, buf, 2));  // past the end
  EXPECT_FALSE(d.write(8, w.data()));
}

TEST(DiskImage, SnapshotKeepsWritesInMemory) {
  TempImage img(4);
  {
    DiskImage d(img.path, false, true);
    std::vector<uint8_t> w(512, 0x5A);
    ASSERT_TRUE(d.write(1, w.data()));
    uint8_t buf[1024];
    ASSERT_TRUE(d.read(0, buf, 2));
    EXPECT_EQ(buf[0], 0);
    EXPECT_EQ(buf[512], 0x5A);  // the overlay shows through
  }
  EXPECT_EQ(img.byte_at(512), 1);  // the file never changed
}

TEST(DiskImage, ReadonlyRefusesWrites) {
  TempImage img(2);
  DiskImage d(img.path, true, false);
  EXPECT_TRUE(d.readonly());
  std::vector<uint8_t> w(512, 1);
  EXPECT_FALSE(d.write(0, w.data()));
  EXPECT_EQ(img.byte_at(0), 0);
}

TEST(DiskImage, UnwritableFileBecomesReadonly) {
  if (geteuid() == 0) GTEST_SKIP() << "root can write any file";
  TempImage img(2);
  chmod(img.path.c_str(), 0444);
  DiskImage d(img.path, false, false);
  EXPECT_TRUE(d.readonly());
  std::vector<uint8_t> w(512, 1);
  EXPECT_FALSE(d.write(0, w.data()));
}

TEST(DiskImage, BadFilesGiveOneLineErrorsNamingTheFile) {
  const std::string missing = ::testing::TempDir() + "/no-such-disk.img";
  try {
    DiskImage d(missing, false, false);
    FAIL() << "opened a missing file";
  } catch (const DiskError& e) {
    EXPECT_NE(std::string(e.what()).find(missing), std::string::npos);
    EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos);
  }
  TempImage odd(1);
  { std::ofstream(odd.path, std::ios::app) << "x"; }
  EXPECT_THROW(DiskImage(odd.path, false, false), DiskError);
  TempImage empty(0);
  EXPECT_THROW(DiskImage(empty.path, false, false), DiskError);
}

TEST(DiskImage, FileShrunkBehindItsBackFailsReads) {
  TempImage img(4);
  DiskImage d(img.path, false, false);
  ASSERT_EQ(truncate(img.path.c_str(), 512), 0);
  uint8_t buf[512];
  EXPECT_TRUE(d.read(0, buf));
  EXPECT_FALSE(d.read(2, buf));  // no crash: an error for the controller to report
}

}  // namespace
}  // namespace popek::devices
