#include "devices/debug_exit.h"

namespace popek::devices {

DebugExit::DebugExit(bus::Bus& bus, uint16_t iobase, uint16_t iosize) : bus_(bus) {
  bus.register_io(this, iobase, iosize);
  bus.add_device(this);
}

// The value is the written width's (an 8-bit OUT of 0x10 gives 33); the host keeps the
// low 8 bits of the status, as with QEMU.
void DebugExit::io_write(uint16_t, unsigned size, uint32_t value) {
  if (size < 4) value &= (1u << (size * 8)) - 1;
  const uint32_t status = (value << 1) | 1;
  bus_.request_stop(bus::StopReason::Exit, static_cast<int>(status & 0x7FFFFFFFu));
}

}  // namespace popek::devices
