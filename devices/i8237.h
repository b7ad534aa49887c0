// The PC/AT's two Intel 8237A DMA controllers and their page registers, as a register
// file: DMA1 (8-bit channels 0-3) at ports 0x00-0x0F, DMA2 (16-bit channels 4-7, channel
// 4 cascading DMA1) at the even ports 0xC0-0xDE, the 74LS612 page registers at 0x81-0x8F
// (port 0x80 is the POST port: devices/post_port.h).
//
// Firmware programs and masks the channels at POST, and reads back what it wrote; no
// device of this machine asks for DMA (no floppy, no sound card, IDE is PIO), so nothing
// is ever transferred: the current address and count registers always equal the base
// ones, the status register shows no terminal count and no request. A software request
// (the request register) or memory-to-memory mode is logged (-d unimp) and has no effect.
#pragma once

#include <cstdint>

#include "bus/bus.h"

namespace popek::devices {

struct I8237Controller {
  uint16_t base_addr[4] = {};   // base (= current) address per channel
  uint16_t base_count[4] = {};  // base (= current) word count per channel
  uint8_t mode[4] = {};         // mode register per channel (bits 0-1 hold the channel)
  uint8_t command = 0;
  uint8_t mask = 0x0F;          // 1 = channel masked (all masked after reset)
  uint8_t request = 0;          // software request bits (logged, never served)
  uint8_t flip_flop = 0;        // 0: the next 16-bit register access is the low byte
  template <class Visitor>
  void visit(Visitor& v) {
    v("base_addr", base_addr);
    v("base_count", base_count);
    v("mode", mode);
    v("command", command);
    v("mask", mask);
    v("request", request);
    v("flip_flop", flip_flop);
  }
};

struct I8237State {
  static constexpr uint32_t kVersion = 1;
  I8237Controller ctl[2];     // DMA1, DMA2
  uint8_t page[16] = {};      // page registers 0x80-0x8F (entry 0 unused: the POST port)
  template <class Visitor>
  void visit(Visitor& v) {
    v("dma1", ctl[0]);
    v("dma2", ctl[1]);
    v("page", page);
  }
};

class I8237 final : public bus::Device {
 public:
  static constexpr uint16_t kDma1Base = 0x00, kDma2Base = 0xC0, kPageBase = 0x80;
  explicit I8237(bus::Bus& bus);
  const char* name() const override { return "i8237"; }
  // The RESET pin of both chips: command, status, request and flip-flop cleared, every
  // channel masked; the page registers keep their contents (a 74LS612 has no reset).
  void reset() override;
  uint32_t io_read(uint16_t port, unsigned size) override;
  void io_write(uint16_t port, unsigned size, uint32_t value) override;

  I8237State state;

 private:
  uint8_t read_reg(unsigned chip, unsigned reg);
  void write_reg(unsigned chip, unsigned reg, uint8_t v);
  void master_clear(unsigned chip);

  bus::Bus& bus_;
};

}  // namespace popek::devices
