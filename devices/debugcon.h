// The Bochs/QEMU debug console: port 0xE9. A write sends the byte to a character
// backend; a read returns 0xE9, which is how guests detect the port.
#pragma once

#include "bus/bus.h"
#include "devices/char_backend.h"

namespace popek::devices {

// No guest-visible state.
struct DebugconState {
  static constexpr uint32_t kVersion = 1;
  template <class Visitor>
  void visit(Visitor&) {}
};

class Debugcon final : public bus::Device {
 public:
  static constexpr uint16_t kPort = 0xE9;
  // Registers port 0xE9 on `bus`; output goes to `out`.
  Debugcon(bus::Bus& bus, CharBackend& out);
  const char* name() const override { return "debugcon"; }
  void reset() override {}
  uint32_t io_read(uint16_t port, unsigned size) override;
  void io_write(uint16_t port, unsigned size, uint32_t value) override;

  DebugconState state;

 private:
  CharBackend& out_;
};

}  // namespace popek::devices
