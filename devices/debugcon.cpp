#include "devices/debugcon.h"

namespace popek::devices {

Debugcon::Debugcon(bus::Bus& bus, CharBackend& out, uint16_t port) : out_(out) {
  bus.register_io(this, port, 1);
  bus.add_device(this);
}

uint32_t Debugcon::io_read(uint16_t, unsigned) { return kReadback; }

// A 16- or 32-bit OUT to 0xE9 sends its low byte, as on QEMU.
void Debugcon::io_write(uint16_t, unsigned, uint32_t value) {
  out_.put(static_cast<uint8_t>(value));
}

}  // namespace popek::devices
