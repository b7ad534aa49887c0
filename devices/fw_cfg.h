// QEMU's firmware configuration device (fw_cfg), the port interface of the PC: a 16-bit
// write to port 0x510 selects an item and rewinds it, each byte read from port 0x511
// returns the item's next byte (0 past its end). Items are numbered by QEMU's keys
// (fw_cfg::SIGNATURE..., 0x8000 and up the x86 ones); named items ("files") get keys from
// fw_cfg::FILE_FIRST on, in name order, and are listed by the directory item FILE_DIR
// (a big-endian count, then per file a big-endian size, key, reserved word and a 56-byte
// NUL-padded name). SeaBIOS reads the machine's RAM size and memory map, the CPU count and
// whether it must use the serial console from here.
//
// Departures from QEMU: the DMA interface (ports 0x514/0x518) is not offered (the ID item
// says so, and SeaBIOS then reads through port 0x511); every item is read-only (QEMU too
// ignores data-port writes since 2.4). Both are logged: -d unimp, -d guest_errors.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "bus/bus.h"

namespace popek::devices {

namespace fw_cfg {
// Item keys (QEMU's FW_CFG_*).
constexpr uint16_t SIGNATURE = 0x00, ID = 0x01, UUID = 0x02, RAM_SIZE = 0x03, NOGRAPHIC = 0x04,
                   NB_CPUS = 0x05, NUMA = 0x0D, BOOT_MENU = 0x0E, MAX_CPUS = 0x0F,
                   FILE_DIR = 0x19, FILE_FIRST = 0x20;
constexpr uint16_t ARCH_LOCAL = 0x8000, ACPI_TABLES = 0x8000, SMBIOS_ENTRIES = 0x8001,
                   IRQ0_OVERRIDE = 0x8002, E820_TABLE = 0x8003;
// Selector bits that are not part of the key.
constexpr uint16_t WRITE_BIT = 0x4000;
constexpr uint16_t KEY_MASK = 0x3FFF | ARCH_LOCAL;
// ID item: bit 0 traditional interface (the only one here), bit 1 DMA.
constexpr uint32_t ID_TRADITIONAL = 1u << 0;
// Size of a directory entry and of its name field.
constexpr size_t kDirEntrySize = 64, kFileNameSize = 56;
}  // namespace fw_cfg

struct FwCfgState {
  static constexpr uint32_t kVersion = 1;
  uint16_t selector = 0;  // last value written to the selector port
  uint32_t offset = 0;    // next byte of the selected item
  template <class Visitor>
  void visit(Visitor& v) {
    v("selector", selector);
    v("offset", offset);
  }
};

class FwCfg final : public bus::Device {
 public:
  static constexpr uint16_t kSelectorPort = 0x510, kDataPort = 0x511;
  static constexpr uint16_t kDmaPort = 0x514;  // 8 ports: not offered (logged)

  // Registers ports 0x510-0x51B; the signature and ID items are present from the start.
  explicit FwCfg(bus::Bus& bus);
  const char* name() const override { return "fw_cfg"; }
  void reset() override { state = FwCfgState{}; }
  uint32_t io_read(uint16_t port, unsigned size) override;
  void io_write(uint16_t port, unsigned size, uint32_t value) override;

  // Numbered items (little-endian integers, as QEMU stores them).
  void add_bytes(uint16_t key, std::vector<uint8_t> data);
  void add_u16(uint16_t key, uint16_t v);
  void add_u32(uint16_t key, uint32_t v);
  void add_u64(uint16_t key, uint64_t v);
  // A named item; replaces one of the same name. Names are at most 55 bytes.
  void add_file(const std::string& name, std::vector<uint8_t> data);
  // Key of a named item, or 0 when there is none.
  uint16_t file_key(const std::string& name) const;
  // Contents of an item (empty when absent), for tests and the frontend.
  const std::vector<uint8_t>& item(uint16_t key) const;

  FwCfgState state;

 private:
  // Keys follow the names' order: rebuilt with the directory after each add_file.
  void rebuild_files();

  bus::Bus& bus_;
  std::map<uint16_t, std::vector<uint8_t>> items_;
  std::map<std::string, std::vector<uint8_t>> files_;
};

// The items SeaBIOS reads on a QEMU PC, for `ram_size` bytes of RAM below 4 GiB and one
// CPU: RAM size, CPU counts, an etc/e820 map with one RAM entry, no ACPI/SMBIOS/NUMA
// tables, no boot menu, "etc/boot-fail-wait" of -1 (as QEMU without reboot-timeout: the
// BIOS waits for the user instead of rebooting), and `nographic` (QEMU's -nographic:
// SeaBIOS then puts its console on COM1).
void add_pc_items(FwCfg& fw, uint64_t ram_size, bool nographic);

}  // namespace popek::devices
