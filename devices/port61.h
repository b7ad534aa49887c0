// Port 0x61, the AT's System Control Port B: PIT channel 2's gate and the speaker.
//
// Write: bit 0 = channel 2 GATE, bit 1 = speaker data enable, bits 2-3 = parity and
// channel check enables (kept, no effect). Read: bits 0-3 as written, bit 4 = the refresh
// request toggle (flips every 15.085 us of virtual time), bit 5 = channel 2 OUT, bits 6-7
// (channel check, parity error) = 0. Sound is not emulated.
#pragma once

#include "bus/bus.h"
#include "devices/i8254.h"

namespace popek::devices {

struct Port61State {
  static constexpr uint32_t kVersion = 1;
  uint8_t latch = 0;  // bits 0-3 as last written
  template <class Visitor>
  void visit(Visitor& v) {
    v("latch", latch);
  }
};

class Port61 final : public bus::Device {
 public:
  static constexpr uint16_t kPort = 0x61;
  static constexpr uint64_t kRefreshHalfPeriodNs = 15085;
  Port61(bus::Bus& bus, Pit8254& pit);
  const char* name() const override { return "port61"; }
  void reset() override;
  uint32_t io_read(uint16_t port, unsigned size) override;
  void io_write(uint16_t port, unsigned size, uint32_t value) override;

  Port61State state;

 private:
  bus::Bus& bus_;
  Pit8254& pit_;
};

}  // namespace popek::devices
