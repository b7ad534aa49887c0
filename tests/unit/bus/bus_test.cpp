// The physical address space and port dispatch of bus::Bus, with no CPU.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <vector>

#include "bus/bus.h"

namespace popek::bus {
namespace {

constexpr uint64_t kRam = 2u << 20;

TEST(BusMemory, RamReadsBackWhatWasWritten) {
  Bus bus(kRam);
  EXPECT_EQ(bus.ram_size(), kRam);
  bus.write_phys(0x1000, 4, 0xDEADBEEF);
  EXPECT_EQ(bus.read_phys(0x1000, 4), 0xDEADBEEFu);
  EXPECT_EQ(bus.read_phys(0x1001, 2), 0xADBEu);
  EXPECT_EQ(bus.read_phys(0x1003, 1), 0xDEu);
  ASSERT_NE(bus.ram_ptr(0x1000), nullptr);
  EXPECT_EQ(*bus.ram_ptr(0x1000), 0xEF);
  bus.write_phys(0x1FFFFE, 2, 0x1234);  // last word of RAM
  EXPECT_EQ(bus.read_phys(0x1FFFFE, 2), 0x1234u);
}

// The host memory this process holds in RAM (VmRSS), in bytes; 0 if unknown.
uint64_t resident_bytes() {
  FILE* f = fopen("/proc/self/status", "r");
  if (!f) return 0;
  char line[256];
  uint64_t kib = 0;
  while (fgets(line, sizeof line, f)) {
    if (std::strncmp(line, "VmRSS:", 6) == 0) kib = strtoull(line + 6, nullptr, 10);
  }
  fclose(f);
  return kib << 10;
}

// Guest RAM is reserved, not filled: a 3 GiB machine costs the host only the pages the
// guest touches (it used to be zero-filled up front: 3 GiB of RSS and seconds of start).
TEST(BusMemory, LargeRamIsCommittedOnFirstTouch) {
  const uint64_t before = resident_bytes();
  if (before == 0) GTEST_SKIP() << "no /proc/self/status";
  Bus bus(3ull << 30);
  EXPECT_EQ(bus.read_phys(0xA0000000u, 4), 0u);  // untouched RAM reads as zeros
  bus.write_phys(0xA0000000u, 4, 0x12345678);
  EXPECT_EQ(bus.read_phys(0xA0000000u, 4), 0x12345678u);
  const uint64_t after = resident_bytes();
  EXPECT_LT(after - std::min(after, before), 64ull << 20)
      << "RSS grew from " << (before >> 20) << " MiB to " << (after >> 20) << " MiB";
}

TEST(BusMemory, LegacyHoleReadsAllOnesAndIgnoresWrites) {
  Bus bus(kRam);
  EXPECT_EQ(bus.ram_ptr(0xA0000), nullptr);
  EXPECT_EQ(bus.ram_ptr(0xBFFFF), nullptr);
  EXPECT_NE(bus.ram_ptr(0x9FFFF), nullptr);
  EXPECT_NE(bus.ram_ptr(0xC0000), nullptr);
  bus.write_phys(0xB8000, 2, 0x0741);
  EXPECT_EQ(bus.read_phys(0xB8000, 2), 0xFFFFu);
  EXPECT_EQ(bus.read_phys(0xA0000, 4), 0xFFFFFFFFu);
}

TEST(BusMemory, BeyondRamIsUnassigned) {
  Bus bus(kRam);
  EXPECT_EQ(bus.ram_ptr(kRam), nullptr);
  EXPECT_EQ(bus.read_phys(kRam, 4), 0xFFFFFFFFu);
  bus.write_phys(kRam + 16, 4, 0);
  EXPECT_EQ(bus.read_phys(kRam + 16, 4), 0xFFFFFFFFu);
}

std::vector<uint8_t> pattern_rom(size_t size) {
  std::vector<uint8_t> rom(size);
  for (size_t i = 0; i < size; ++i) rom[i] = static_cast<uint8_t>(i * 7 + (i >> 12));
  return rom;
}

TEST(BusMemory, OptionRomIsReadOnlyAtItsBase) {
  Bus bus(kRam);
  std::vector<uint8_t> rom(0x9600, 0x90);
  rom[0] = 0x55, rom[1] = 0xAA, rom[2] = 0x4B;
  bus.map_option_rom(0xC0000, rom);
  EXPECT_EQ(bus.read_phys(0xC0000, 2), 0xAA55u);
  EXPECT_EQ(bus.ram_ptr(0xC0000), nullptr) << "not RAM: the MMU must not write it directly";
  ASSERT_NE(bus.rom_ptr(0xC95FF), nullptr);
  bus.write_phys(0xC0000, 2, 0x1234);
  EXPECT_EQ(bus.read_phys(0xC0000, 2), 0xAA55u) << "a write to the ROM is ignored";
  EXPECT_NE(bus.ram_ptr(0xC9600), nullptr) << "RAM again after the ROM";
  EXPECT_NE(bus.ram_ptr(0xBFFFF + 0x10000), nullptr);
}

TEST(BusMemory, BiosIsMappedBelowOneMiBAndBelowFourGiB) {
  Bus bus(kRam);
  const std::vector<uint8_t> rom = pattern_rom(64 * 1024);
  bus.map_bios(rom);
  EXPECT_EQ(bus.ram_ptr(0xF0000), nullptr);
  EXPECT_EQ(bus.read_phys(0xF0000, 1), rom[0]);
  EXPECT_EQ(bus.read_phys(0xFFFF0, 1), rom[0xFFF0]);
  EXPECT_EQ(bus.read_phys(0xFFFF0000u, 1), rom[0]);
  EXPECT_EQ(bus.read_phys(0xFFFFFFF0u, 1), rom[0xFFF0]);
  EXPECT_EQ(bus.read_phys(0xFFFFFFFCu, 4),
            rom[0xFFFC] | rom[0xFFFD] << 8 | rom[0xFFFE] << 16 | static_cast<uint32_t>(rom[0xFFFF]) << 24);
  // Below the low alias of a 64 KiB image, RAM again.
  EXPECT_NE(bus.ram_ptr(0xEFFFF), nullptr);
}

TEST(BusMemory, LargeBiosShowsOnlyItsLast128KiBBelowOneMiB) {
  Bus bus(kRam);
  const std::vector<uint8_t> rom = pattern_rom(256 * 1024);
  bus.map_bios(rom);
  EXPECT_EQ(bus.read_phys(0xE0000, 1), rom[128 * 1024]);
  EXPECT_EQ(bus.read_phys(0xFFFC0000u, 1), rom[0]);
  EXPECT_EQ(bus.read_phys(0xFFFFFFFFu, 1), rom.back());
}

// A SeaBIOS-sized image: the copy below 1 MiB is RAM (QEMU isapc), the image below 4 GiB
// stays read-only, and a reset restores the copy.
TEST(BusMemory, LargeBiosCopyBelowOneMiBIsWritableRam) {
  Bus bus(kRam);
  const std::vector<uint8_t> rom = pattern_rom(128 * 1024);
  bus.map_bios(rom);
  EXPECT_TRUE(bus.bios_shadowed());
  EXPECT_EQ(bus.bios_low_base(), 0xE0000u);
  ASSERT_NE(bus.ram_ptr(0xE0000), nullptr);
  ASSERT_NE(bus.ram_ptr(0xFFFFF), nullptr);
  EXPECT_EQ(bus.read_phys(0xFFFF0, 1), rom[0x1FFF0]);
  bus.write_phys(0xF0010, 4, 0xDEADBEEF);
  EXPECT_EQ(bus.read_phys(0xF0010, 4), 0xDEADBEEFu);
  EXPECT_EQ(*bus.ram_ptr(0xF0010), 0xEF);
  bus.write_phys(0xFFFF0010u, 1, 0x55);  // the high image is ROM
  EXPECT_EQ(bus.read_phys(0xFFFF0010u, 1), rom[0x10010]);
  EXPECT_EQ(bus.log().counts.guest_errors, 1u);
  bus.restore_bios_copy();
  EXPECT_EQ(bus.read_phys(0xF0010, 1), rom[0x10010]);
}

TEST(BusMemory, SmallBiosCopyStaysReadOnly) {
  Bus bus(kRam);
  bus.map_bios(pattern_rom(64 * 1024));
  EXPECT_FALSE(bus.bios_shadowed());
  EXPECT_EQ(bus.ram_ptr(0xF0000), nullptr);
}

TEST(BusMemory, RomWritesAreIgnored) {
  Bus bus(kRam);
  const std::vector<uint8_t> rom = pattern_rom(64 * 1024);
  bus.map_bios(rom);
  bus.write_phys(0xF0010, 4, 0x11223344);
  bus.write_phys(0xFFFF0010u, 4, 0x11223344);
  EXPECT_EQ(bus.read_phys(0xF0010, 1), rom[0x10]);
  EXPECT_EQ(bus.read_phys(0xFFFF0010u, 1), rom[0x10]);
}

TEST(BusMemory, LoadAndFillStayInsideRam) {
  Bus bus(kRam);
  const uint8_t data[4] = {1, 2, 3, 4};
  EXPECT_TRUE(bus.load(0x100000, data, 4));
  EXPECT_EQ(bus.read_phys(0x100000, 4), 0x04030201u);
  EXPECT_TRUE(bus.fill(0x100001, 0xAA, 2));
  EXPECT_EQ(bus.read_phys(0x100000, 4), 0x04AAAA01u);
  EXPECT_FALSE(bus.load(kRam - 2, data, 4));
  EXPECT_FALSE(bus.fill(kRam, 0, 1));
}

TEST(BusA20, MaskClearsBit20OnlyWhenDisabled) {
  Bus bus(kRam);
  int changes = 0;
  bus.on_a20_change = [&] { ++changes; };
  EXPECT_TRUE(bus.a20());
  EXPECT_EQ(bus.a20_mask(), 0xFFFFFFFFu);
  bus.set_a20(false);
  EXPECT_FALSE(bus.a20());
  EXPECT_EQ(bus.a20_mask(), 0xFFEFFFFFu);
  EXPECT_EQ(0x100000u & bus.a20_mask(), 0u);
  bus.set_a20(false);  // no change, no callback
  bus.set_a20(true);
  EXPECT_EQ(changes, 2);
}

class FakeDevice final : public Device {
 public:
  const char* name() const override { return "fake"; }
  void reset() override { resets++; }
  uint32_t io_read(uint16_t port, unsigned size) override {
    last_port = port;
    last_size = size;
    return 0x1000u + port;
  }
  void io_write(uint16_t port, unsigned size, uint32_t value) override {
    last_port = port;
    last_size = size;
    last_value = value;
  }
  int resets = 0;
  uint16_t last_port = 0;
  unsigned last_size = 0;
  uint32_t last_value = 0;
};

TEST(BusPorts, DispatchReachesTheRegisteredRange) {
  Bus bus(kRam);
  FakeDevice dev;
  bus.register_io(&dev, 0x300, 4);
  EXPECT_EQ(bus.io_read(0x302, 2), 0x1302u);
  EXPECT_EQ(dev.last_port, 0x302);
  EXPECT_EQ(dev.last_size, 2u);
  bus.io_write(0x303, 4, 0xCAFE);
  EXPECT_EQ(dev.last_port, 0x303);
  EXPECT_EQ(dev.last_value, 0xCAFEu);
  dev.last_port = 0;
  bus.io_write(0x304, 1, 1);  // outside the range
  EXPECT_EQ(dev.last_port, 0);
}

TEST(BusPorts, UnassignedPortsFloatHigh) {
  Bus bus(kRam);
  EXPECT_EQ(bus.io_read(0x1234, 1), 0xFFu);
  EXPECT_EQ(bus.io_read(0x1234, 2), 0xFFFFu);
  EXPECT_EQ(bus.io_read(0x1234, 4), 0xFFFFFFFFu);
  bus.io_write(0x1234, 1, 0);  // ignored, no crash
}

TEST(BusPorts, LastPortCanBeRegistered) {
  Bus bus(kRam);
  FakeDevice dev;
  bus.register_io(&dev, 0xFFFF, 1);
  EXPECT_EQ(bus.io_read(0xFFFF, 1), 0x1000u + 0xFFFF);
}

TEST(BusDevices, ResetReachesEveryDevice) {
  Bus bus(kRam);
  FakeDevice a, b;
  bus.add_device(&a);
  bus.add_device(&b);
  bus.reset_devices();
  EXPECT_EQ(a.resets, 1);
  EXPECT_EQ(b.resets, 1);
}

TEST(BusStop, FirstRequestWinsUntilCleared) {
  Bus bus(kRam);
  EXPECT_EQ(bus.stop_reason(), StopReason::None);
  bus.request_stop(StopReason::Exit, 33);
  bus.request_stop(StopReason::Reset, 0, "later");
  EXPECT_EQ(bus.stop_reason(), StopReason::Exit);
  EXPECT_EQ(bus.exit_status(), 33);
  bus.clear_stop();
  EXPECT_EQ(bus.stop_reason(), StopReason::None);
  bus.request_stop(StopReason::Fatal, 1, "why");
  EXPECT_EQ(bus.stop_message(), "why");
}

}  // namespace
}  // namespace popek::bus
