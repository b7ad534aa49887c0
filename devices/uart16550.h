// National Semiconductor 16550A UART (COM1 at 0x3F8).
//
// Transmission is instantaneous: a THR write goes straight to the backend, so THR and
// the transmit shift register are always empty (LSR.THRE and LSR.TEMT stay set) and the
// transmit FIFO never holds anything. Received bytes come from the backend's input queue,
// or in loopback mode (MCR bit 4) from the guest's own THR writes. The interrupt output
// is computed (irq_level) but not wired yet: there is no interrupt controller.
#pragma once

#include <cstdint>

#include "bus/bus.h"
#include "devices/char_backend.h"

namespace popek::devices {

namespace uart {
// Register offsets from the base port.
constexpr uint16_t RBR_THR_DLL = 0, IER_DLM = 1, IIR_FCR = 2, LCR = 3, MCR = 4, LSR = 5,
                   MSR = 6, SCR = 7;
// IER
constexpr uint8_t IER_RDA = 0x01, IER_THRE = 0x02, IER_RLS = 0x04, IER_MS = 0x08;
// IIR (bits 3-1: interrupt identification; bit 0 = 1: none pending; bits 7-6: FIFOs on)
constexpr uint8_t IIR_NONE = 0x01, IIR_MS = 0x00, IIR_THRE = 0x02, IIR_RDA = 0x04,
                  IIR_RLS = 0x06, IIR_FIFO = 0xC0;
// FCR
constexpr uint8_t FCR_ENABLE = 0x01, FCR_CLEAR_RX = 0x02, FCR_CLEAR_TX = 0x04;
// LCR
constexpr uint8_t LCR_DLAB = 0x80;
// MCR
constexpr uint8_t MCR_DTR = 0x01, MCR_RTS = 0x02, MCR_OUT1 = 0x04, MCR_OUT2 = 0x08,
                  MCR_LOOP = 0x10;
// LSR
constexpr uint8_t LSR_DR = 0x01, LSR_OE = 0x02, LSR_PE = 0x04, LSR_FE = 0x08, LSR_BI = 0x10,
                  LSR_THRE = 0x20, LSR_TEMT = 0x40, LSR_ERRORS = LSR_OE | LSR_PE | LSR_FE | LSR_BI;
// MSR
constexpr uint8_t MSR_DCTS = 0x01, MSR_DDSR = 0x02, MSR_TERI = 0x04, MSR_DDCD = 0x08,
                  MSR_CTS = 0x10, MSR_DSR = 0x20, MSR_RI = 0x40, MSR_DCD = 0x80,
                  MSR_DELTAS = 0x0F;
constexpr unsigned kFifoSize = 16;
}  // namespace uart

struct Uart16550State {
  static constexpr uint32_t kVersion = 1;
  uint16_t divisor = 0x000C;  // DLM:DLL (reset value: 9600 baud, as QEMU)
  uint8_t ier = 0;            // interrupt enable (bits 0-3)
  uint8_t fcr = 0;            // last FIFO control write (bits 0, 6, 7 kept)
  uint8_t lcr = 0;            // line control
  uint8_t mcr = 0;            // modem control (bits 0-4)
  uint8_t lsr_errors = 0;     // latched OE/PE/FE/BI, cleared by an LSR read
  uint8_t msr = 0;            // modem status: lines (bits 4-7) and deltas (bits 0-3)
  uint8_t scr = 0;            // scratch
  uint8_t thr_pending = 0;    // THR-empty interrupt pending (cleared by IIR read / THR write)
  uint8_t rx_count = 0;       // bytes in rx_fifo
  uint8_t rx_head = 0;        // index of the oldest byte in rx_fifo
  uint8_t rx_fifo[uart::kFifoSize] = {};  // receive FIFO (holds 1 byte when FIFOs are off)
  template <class Visitor>
  void visit(Visitor& v) {
    v("divisor", divisor);
    v("ier", ier);
    v("fcr", fcr);
    v("lcr", lcr);
    v("mcr", mcr);
    v("lsr_errors", lsr_errors);
    v("msr", msr);
    v("scr", scr);
    v("thr_pending", thr_pending);
    v("rx_count", rx_count);
    v("rx_head", rx_head);
    v("rx_fifo", rx_fifo);
  }
};

class Uart16550 final : public bus::Device {
 public:
  static constexpr uint16_t kCom1 = 0x3F8;
  Uart16550(bus::Bus& bus, CharBackend& backend, uint16_t base = kCom1);
  const char* name() const override { return "uart16550"; }
  void reset() override;
  uint32_t io_read(uint16_t port, unsigned size) override;
  void io_write(uint16_t port, unsigned size, uint32_t value) override;

  // The interrupt request output: true while some enabled interrupt is pending.
  bool irq_level() const { return (iir() & uart::IIR_NONE) == 0; }
  // Current values of the read-only registers, without read side effects.
  uint8_t iir() const;
  uint8_t lsr() const;

  Uart16550State state;

 private:
  bool fifo_on() const { return state.fcr & uart::FCR_ENABLE; }
  bool loopback() const { return state.mcr & uart::MCR_LOOP; }
  void receive(uint8_t byte);
  void poll_input();
  uint8_t modem_lines() const;
  void set_mcr(uint8_t v);

  bus::Bus& bus_;
  CharBackend& backend_;
  uint16_t base_;
};

}  // namespace popek::devices
