#include "devices/system_control.h"

namespace popek::devices {

SystemControlA::SystemControlA(bus::Bus& bus) : bus_(bus) {
  bus.register_io(this, kPort, 1);
  bus.add_device(this);
}

uint32_t SystemControlA::io_read(uint16_t, unsigned) {
  return (state.latch & 0xFC) | (bus_.a20() ? 0x02 : 0x00);
}

void SystemControlA::io_write(uint16_t, unsigned, uint32_t value) {
  state.latch = static_cast<uint8_t>(value & 0xFC);
  bus_.set_a20(value & 0x02);
  if (value & 0x01) bus_.request_stop(bus::StopReason::Reset, 0, "reset via port 0x92");
}

}  // namespace popek::devices
