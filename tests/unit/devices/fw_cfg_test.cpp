// fw_cfg driven through the bus as SeaBIOS drives it: a 16-bit selector write to 0x510,
// byte reads from 0x511.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "bus/bus.h"
#include "devices/fw_cfg.h"

namespace popek::devices {
namespace {

std::vector<uint8_t> read_item(bus::Bus& bus, uint16_t key, size_t n) {
  bus.io_write(FwCfg::kSelectorPort, 2, key);
  std::vector<uint8_t> out;
  for (size_t i = 0; i < n; ++i) out.push_back(static_cast<uint8_t>(bus.io_read(FwCfg::kDataPort, 1)));
  return out;
}

uint32_t be32(const uint8_t* p) { return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | p[2] << 8 | p[3]; }
uint64_t le64(const std::vector<uint8_t>& v, size_t off) {
  uint64_t r = 0;
  for (unsigned i = 0; i < 8; ++i) r |= uint64_t{v[off + i]} << (8 * i);
  return r;
}

TEST(FwCfg, SignatureAndIdSayTraditionalInterfaceOnly) {
  bus::Bus bus(1 << 20);
  FwCfg fw(bus);
  const std::vector<uint8_t> sig = read_item(bus, fw_cfg::SIGNATURE, 4);
  EXPECT_EQ(std::string(sig.begin(), sig.end()), "QEMU");
  EXPECT_EQ(read_item(bus, fw_cfg::ID, 4), (std::vector<uint8_t>{1, 0, 0, 0}));
}

TEST(FwCfg, ReadsPastTheEndAndAbsentItemsGiveZero) {
  bus::Bus bus(1 << 20);
  FwCfg fw(bus);
  EXPECT_EQ(read_item(bus, fw_cfg::SIGNATURE, 6), (std::vector<uint8_t>{'Q', 'E', 'M', 'U', 0, 0}));
  EXPECT_EQ(read_item(bus, fw_cfg::NB_CPUS, 2), (std::vector<uint8_t>{0, 0}));
  EXPECT_EQ(bus.log().counts.guest_errors, 2u);
}

TEST(FwCfg, SelectingRewinds) {
  bus::Bus bus(1 << 20);
  FwCfg fw(bus);
  read_item(bus, fw_cfg::SIGNATURE, 2);
  EXPECT_EQ(read_item(bus, fw_cfg::SIGNATURE, 1)[0], 'Q');
  fw.reset();
  EXPECT_EQ(bus.io_read(FwCfg::kDataPort, 1), 'Q');  // reset selects the signature
}

TEST(FwCfg, PcItemsAsSeaBiosReadsThem) {
  bus::Bus bus(1 << 20);
  FwCfg fw(bus);
  add_pc_items(fw, 256ull << 20, true);
  EXPECT_EQ(le64(read_item(bus, fw_cfg::RAM_SIZE, 8), 0), 256ull << 20);
  EXPECT_EQ(read_item(bus, fw_cfg::NOGRAPHIC, 2), (std::vector<uint8_t>{1, 0}));
  EXPECT_EQ(read_item(bus, fw_cfg::NB_CPUS, 2), (std::vector<uint8_t>{1, 0}));
  EXPECT_EQ(read_item(bus, fw_cfg::E820_TABLE, 4), (std::vector<uint8_t>{0, 0, 0, 0}));
  // The directory: a big-endian count, then 64-byte entries in name order.
  std::vector<uint8_t> count = read_item(bus, fw_cfg::FILE_DIR, 4);
  const uint32_t n = be32(count.data());
  ASSERT_EQ(n, 4u);
  std::vector<std::string> names;
  uint16_t e820_key = 0;
  uint32_t e820_size = 0;
  for (uint32_t i = 0; i < n; ++i) {
    std::vector<uint8_t> e;
    for (size_t b = 0; b < fw_cfg::kDirEntrySize; ++b)
      e.push_back(static_cast<uint8_t>(bus.io_read(FwCfg::kDataPort, 1)));
    const std::string name(reinterpret_cast<const char*>(&e[8]));
    const uint16_t key = static_cast<uint16_t>(e[4] << 8 | e[5]);
    EXPECT_EQ(key, fw_cfg::FILE_FIRST + i) << name;
    EXPECT_EQ(key, fw.file_key(name));
    names.push_back(name);
    if (name == "etc/e820") {
      e820_key = key;
      e820_size = be32(&e[0]);
    }
  }
  EXPECT_EQ(names, (std::vector<std::string>{"bios-geometry", "bootorder", "etc/boot-fail-wait", "etc/e820"}));
  ASSERT_EQ(e820_size, 20u);
  const std::vector<uint8_t> e820 = read_item(bus, e820_key, 20);
  EXPECT_EQ(le64(e820, 0), 0u);
  EXPECT_EQ(le64(e820, 8), 256ull << 20);
  EXPECT_EQ(e820[16], 1);  // RAM
  EXPECT_EQ(read_item(bus, fw.file_key("etc/boot-fail-wait"), 4), (std::vector<uint8_t>(4, 0xFF)));
}

TEST(FwCfg, WritesAndDmaAreLoggedNotApplied) {
  bus::Bus bus(1 << 20);
  FwCfg fw(bus);
  bus.io_write(FwCfg::kSelectorPort, 2, fw_cfg::SIGNATURE | fw_cfg::WRITE_BIT);
  bus.io_write(FwCfg::kDataPort, 1, 0x55);
  EXPECT_EQ(bus.io_read(FwCfg::kDataPort, 1), 'Q');
  EXPECT_EQ(bus.log().counts.guest_errors, 1u);
  bus.io_write(FwCfg::kDmaPort + 4, 4, 0x1000);
  EXPECT_EQ(bus.log().counts.unimp, 1u);
  EXPECT_EQ(fw.item(fw_cfg::SIGNATURE).size(), 4u);
}

}  // namespace
}  // namespace popek::devices
