#include "devices/port61.h"

namespace popek::devices {

Port61::Port61(bus::Bus& bus, Pit8254& pit) : bus_(bus), pit_(pit) {
  bus.register_io(this, kPort, 1);
  bus.add_device(this);
  reset();
}

void Port61::reset() {
  state = Port61State{};
  pit_.set_gate(2, false);
}

uint32_t Port61::io_read(uint16_t, unsigned) {
  const bool refresh = (bus_.clock().now_ns() / kRefreshHalfPeriodNs) & 1;
  return (state.latch & 0x0F) | (refresh ? 0x10 : 0) | (pit_.out(2) ? 0x20 : 0);
}

void Port61::io_write(uint16_t, unsigned, uint32_t value) {
  state.latch = value & 0x0F;
  pit_.set_gate(2, value & 0x01);
  if (value & 0x02) bus_.log().unimp("speaker", "PC speaker enabled: sound is not emulated");
}

}  // namespace popek::devices
