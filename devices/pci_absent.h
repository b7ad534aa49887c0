// The PCI configuration ports of a machine without PCI (QEMU's isapc): configuration
// mechanism #1's address register 0xCF8-0xCFB and data window 0xCFC-0xCFF. Firmware and
// kernels probe them to find a host bridge; an ISA PC answers all ones (no device, vendor
// 0xFFFF) and ignores writes. Each access is logged (-d guest_errors, key "no-pci").
#pragma once

#include "bus/bus.h"

namespace popek::devices {

class PciAbsent final : public bus::Device {
 public:
  static constexpr uint16_t kAddressPort = 0xCF8, kDataPort = 0xCFC;
  explicit PciAbsent(bus::Bus& bus);
  const char* name() const override { return "pci-absent"; }
  void reset() override {}
  uint32_t io_read(uint16_t port, unsigned size) override;
  void io_write(uint16_t port, unsigned size, uint32_t value) override;

 private:
  bus::Bus& bus_;
};

}  // namespace popek::devices
