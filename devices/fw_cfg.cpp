#include "devices/fw_cfg.h"

#include <cstring>

namespace popek::devices {

using namespace fw_cfg;

namespace {
void put_le(std::vector<uint8_t>& out, uint64_t v, unsigned bytes) {
  for (unsigned i = 0; i < bytes; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}
void put_be(std::vector<uint8_t>& out, uint64_t v, unsigned bytes) {
  for (unsigned i = bytes; i-- > 0;) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}
}  // namespace

FwCfg::FwCfg(bus::Bus& bus) : bus_(bus) {
  bus.register_io(this, kSelectorPort, 2);
  bus.register_io(this, kDmaPort, 8);
  bus.add_device(this);
  add_bytes(SIGNATURE, {'Q', 'E', 'M', 'U'});
  add_u32(ID, ID_TRADITIONAL);
  rebuild_files();
}

void FwCfg::add_bytes(uint16_t key, std::vector<uint8_t> data) { items_[key] = std::move(data); }

void FwCfg::add_u16(uint16_t key, uint16_t v) {
  std::vector<uint8_t> d;
  put_le(d, v, 2);
  add_bytes(key, std::move(d));
}

void FwCfg::add_u32(uint16_t key, uint32_t v) {
  std::vector<uint8_t> d;
  put_le(d, v, 4);
  add_bytes(key, std::move(d));
}

void FwCfg::add_u64(uint16_t key, uint64_t v) {
  std::vector<uint8_t> d;
  put_le(d, v, 8);
  add_bytes(key, std::move(d));
}

void FwCfg::add_file(const std::string& name, std::vector<uint8_t> data) {
  files_[name.substr(0, kFileNameSize - 1)] = std::move(data);
  rebuild_files();
}

void FwCfg::rebuild_files() {
  for (auto it = items_.lower_bound(FILE_FIRST); it != items_.end() && it->first < ARCH_LOCAL;)
    it = items_.erase(it);
  std::vector<uint8_t> dir;
  put_be(dir, files_.size(), 4);
  uint16_t key = FILE_FIRST;
  for (const auto& [name, data] : files_) {
    put_be(dir, data.size(), 4);
    put_be(dir, key, 2);
    put_be(dir, 0, 2);
    char field[kFileNameSize] = {};
    std::memcpy(field, name.data(), name.size());
    dir.insert(dir.end(), field, field + kFileNameSize);
    items_[key++] = data;
  }
  items_[FILE_DIR] = std::move(dir);
}

uint16_t FwCfg::file_key(const std::string& name) const {
  uint16_t key = FILE_FIRST;
  for (const auto& f : files_) {
    if (f.first == name) return key;
    ++key;
  }
  return 0;
}

const std::vector<uint8_t>& FwCfg::item(uint16_t key) const {
  static const std::vector<uint8_t> kNone;
  const auto it = items_.find(key);
  return it == items_.end() ? kNone : it->second;
}

uint32_t FwCfg::io_read(uint16_t port, unsigned size) {
  if (port >= kDmaPort) {
    bus_.log().unimp("fw_cfg-dma", "fw_cfg: read of DMA port 0x%04x: no DMA interface (ID bit 1 clear)", port);
    return size == 4 ? 0xFFFFFFFFu : (1u << (size * 8)) - 1;
  }
  if (size != 1) {
    bus_.log().guest_error("fw_cfg-wide-read", "fw_cfg: %u-byte read of port 0x%04x (the data port is 8 bits wide)",
                           size, port);
    return size == 4 ? 0xFFFFFFFFu : (1u << (size * 8)) - 1;
  }
  // Either port reads the data byte (QEMU decodes the pair as one register for reads).
  const auto it = items_.find(state.selector & KEY_MASK);
  if (it == items_.end()) {
    char key[40];
    snprintf(key, sizeof key, "fw_cfg-absent-%04x", state.selector & KEY_MASK);
    bus_.log().guest_error(key, "fw_cfg: read of absent item 0x%04x: 0", state.selector & KEY_MASK);
    return 0;
  }
  if (state.offset >= it->second.size()) return 0;
  return it->second[state.offset++];
}

void FwCfg::io_write(uint16_t port, unsigned size, uint32_t value) {
  if (port >= kDmaPort) {
    bus_.log().unimp("fw_cfg-dma", "fw_cfg: write of 0x%x to DMA port 0x%04x: no DMA interface (ID bit 1 clear)",
                     value, port);
    return;
  }
  if (port == kSelectorPort && size == 2) {
    state.selector = static_cast<uint16_t>(value);
    state.offset = 0;
    return;
  }
  bus_.log().guest_error("fw_cfg-write", "fw_cfg: %u-byte write of 0x%x to port 0x%04x ignored (items are read-only)",
                         size, value, port);
}

void add_pc_items(FwCfg& fw, uint64_t ram_size, bool nographic) {
  fw.add_bytes(UUID, std::vector<uint8_t>(16, 0));
  fw.add_u64(RAM_SIZE, ram_size);
  fw.add_u16(NOGRAPHIC, nographic ? 1 : 0);
  fw.add_u16(NB_CPUS, 1);
  fw.add_u16(MAX_CPUS, 1);
  fw.add_u16(BOOT_MENU, 0);
  fw.add_u64(NUMA, 0);
  fw.add_u16(ACPI_TABLES, 0);
  fw.add_u16(SMBIOS_ENTRIES, 0);
  fw.add_bytes(IRQ0_OVERRIDE, {1});
  fw.add_u32(E820_TABLE, 0);  // reservations: none
  // etc/e820: {u64 address, u64 length, u32 type}, little-endian, packed.
  std::vector<uint8_t> e820;
  put_le(e820, 0, 8);
  put_le(e820, ram_size, 8);
  put_le(e820, 1, 4);  // E820_RAM
  fw.add_file("etc/e820", std::move(e820));
  std::vector<uint8_t> fail_wait;
  put_le(fail_wait, 0xFFFFFFFFu, 4);
  fw.add_file("etc/boot-fail-wait", std::move(fail_wait));
  fw.add_file("bootorder", {});
  fw.add_file("bios-geometry", {});
}

}  // namespace popek::devices
