// Port 0x92, System Control Port A ("fast A20"): bit 1 gates A20, writing bit 0 = 1
// resets the machine. Reads return the latched bits with bit 1 showing the current A20
// state and bit 0 as 0 (the reset pulse is not latched).
#pragma once

#include "bus/bus.h"

namespace popek::devices {

struct SystemControlState {
  static constexpr uint32_t kVersion = 1;
  uint8_t latch = 0;  // bits 2-7 as last written (bits 0 and 1 are not kept here)
  template <class Visitor>
  void visit(Visitor& v) {
    v("latch", latch);
  }
};

class SystemControlA final : public bus::Device {
 public:
  static constexpr uint16_t kPort = 0x92;
  explicit SystemControlA(bus::Bus& bus);
  const char* name() const override { return "port92"; }
  // The A20 gate itself belongs to the machine: its reset sets it.
  void reset() override { state = SystemControlState{}; }
  uint32_t io_read(uint16_t port, unsigned size) override;
  void io_write(uint16_t port, unsigned size, uint32_t value) override;

  SystemControlState state;

 private:
  bus::Bus& bus_;
};

}  // namespace popek::devices
