// QEMU's isa-debug-exit: a write of V to any of its ports stops the machine with process
// exit status (V << 1) | 1. Present by default at 0xF4 (4 ports); -device
// isa-debug-exit,iobase=N,iosize=N moves or resizes it.
#pragma once

#include "bus/bus.h"

namespace popek::devices {

// No guest-visible state.
struct DebugExitState {
  static constexpr uint32_t kVersion = 1;
  template <class Visitor>
  void visit(Visitor&) {}
};

class DebugExit final : public bus::Device {
 public:
  static constexpr uint16_t kDefaultBase = 0xF4;
  static constexpr uint16_t kDefaultSize = 4;
  DebugExit(bus::Bus& bus, uint16_t iobase = kDefaultBase, uint16_t iosize = kDefaultSize);
  const char* name() const override { return "isa-debug-exit"; }
  void reset() override {}
  // Reads return 0, as on QEMU.
  uint32_t io_read(uint16_t port, unsigned size) override { return 0; }
  void io_write(uint16_t port, unsigned size, uint32_t value) override;

  DebugExitState state;

 private:
  bus::Bus& bus_;
};

}  // namespace popek::devices
