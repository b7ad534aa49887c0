// The Bochs/QEMU debug console (isa-debugcon): port 0xE9 by default, or any other
// (SeaBIOS writes its log to 0x402). A write sends the byte to a character backend; a
// read returns 0xE9 (QEMU's readback value) on any port, which is how guests detect it.
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
  static constexpr uint8_t kReadback = 0xE9;
  // Registers port `port` on `bus`; output goes to `out`.
  Debugcon(bus::Bus& bus, CharBackend& out, uint16_t port = kPort);
  const char* name() const override { return "debugcon"; }
  void reset() override {}
  uint32_t io_read(uint16_t port, unsigned size) override;
  void io_write(uint16_t port, unsigned size, uint32_t value) override;

  DebugconState state;

 private:
  CharBackend& out_;
};

}  // namespace popek::devices
