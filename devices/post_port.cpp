#include "devices/post_port.h"

namespace popek::devices {

PostPort::PostPort(bus::Bus& bus) : bus_(bus) {
  bus.register_io(this, kPort, 1);
  bus.add_device(this);
}

void PostPort::io_write(uint16_t, unsigned, uint32_t value) {
  state.last_code = static_cast<uint8_t>(value);
  bus_.log().trace(bus::trace::IOPORT, "POST code 0x%02x", state.last_code);
}

}  // namespace popek::devices
