// Port 0x80, the POST diagnostic port: firmware writes progress codes here. Writes are
// traced on the -d ioport channel; a read returns the last code written.
#pragma once

#include "bus/bus.h"

namespace popek::devices {

struct PostPortState {
  static constexpr uint32_t kVersion = 1;
  uint8_t last_code = 0;  // last byte written
  template <class Visitor>
  void visit(Visitor& v) {
    v("last_code", last_code);
  }
};

class PostPort final : public bus::Device {
 public:
  static constexpr uint16_t kPort = 0x80;
  explicit PostPort(bus::Bus& bus);
  const char* name() const override { return "post"; }
  void reset() override { state = PostPortState{}; }
  uint32_t io_read(uint16_t port, unsigned size) override { return state.last_code; }
  void io_write(uint16_t port, unsigned size, uint32_t value) override;

  PostPortState state;

 private:
  bus::Bus& bus_;
};

}  // namespace popek::devices
