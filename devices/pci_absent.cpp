#include "devices/pci_absent.h"

namespace popek::devices {

PciAbsent::PciAbsent(bus::Bus& bus) : bus_(bus) {
  bus.register_io(this, kAddressPort, 8);
  bus.add_device(this);
}

uint32_t PciAbsent::io_read(uint16_t port, unsigned size) {
  bus_.log().guest_error("no-pci", "PCI configuration read at port 0x%04x (size %u) on a machine without PCI: all ones",
                         port, size);
  return size == 4 ? 0xFFFFFFFFu : (1u << (size * 8)) - 1;
}

void PciAbsent::io_write(uint16_t port, unsigned size, uint32_t value) {
  bus_.log().guest_error("no-pci", "PCI configuration write of 0x%x at port 0x%04x (size %u) on a machine without PCI: ignored",
                         value, port, size);
}

}  // namespace popek::devices
