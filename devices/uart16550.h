// National Semiconductor 16550A UART (COM1-COM4: 0x3F8/IRQ4, 0x2F8/IRQ3, 0x3E8/IRQ4,
// 0x2E8/IRQ3).
//
// Transmission is instantaneous: a THR write goes straight to the backend, so THR and
// the transmit shift register are always empty (LSR.THRE and LSR.TEMT stay set), the
// transmit FIFO never holds anything, and the THR-empty interrupt is raised again at once.
//
// Reception is paced on the virtual clock: while the backend may have input, a receive
// event takes one byte through the backend's input channel (CharBackend::take_input) per
// character time (10 bits at the divisor's baud rate), and only when the receive buffer
// has room, so the host never overruns the guest and the same input gives the same run.
// When nothing is waiting the event looks again every kIdlePoll; when the backend's input
// has ended (and nothing is queued) it stops until a byte is pushed. In loopback mode
// (MCR bit 4) the guest's own THR writes are received instead, at once.
//
// With FIFOs on, the received-data interrupt waits for the trigger level (1, 4, 8 or 14
// bytes) and the character timeout (IIR 0Ch) fires when bytes sit below it for four
// character times with no byte received or read.
//
// The interrupt output reaches the IRQ line as on a PC: through a driver enabled by OUT2
// (MCR bit 3), which loopback forces inactive. irq_level() is the chip's output,
// irq_line() what the interrupt controller sees.
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
                  IIR_RLS = 0x06, IIR_TIMEOUT = 0x0C, IIR_FIFO = 0xC0;
// FCR (bits 7-6: receive trigger level 1, 4, 8, 14)
constexpr uint8_t FCR_ENABLE = 0x01, FCR_CLEAR_RX = 0x02, FCR_CLEAR_TX = 0x04,
                  FCR_TRIGGER = 0xC0;
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
  static constexpr uint32_t kVersion = 2;
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
  uint8_t rx_timeout = 0;     // character timeout indicated (cleared by an RBR read)
  uint8_t irq_out = 0;        // level last driven on the IRQ line
  uint64_t rx_poll_at = 0;    // virtual time of the next receive event (0: none)
  uint64_t timeout_at = 0;    // virtual time the character timeout fires (0: none)
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
    v("rx_timeout", rx_timeout);
    v("irq_out", irq_out);
    v("rx_poll_at", rx_poll_at);
    v("timeout_at", timeout_at);
  }
};

class Uart16550 final : public bus::Device {
 public:
  static constexpr uint16_t kCom1 = 0x3F8;
  // COMn is kComBase[n-1] on IRQ kComIrq[n-1].
  static constexpr uint16_t kComBase[4] = {0x3F8, 0x2F8, 0x3E8, 0x2E8};
  static constexpr unsigned kComIrq[4] = {4, 3, 4, 3};
  // How often to look for input when none was waiting (virtual time).
  static constexpr uint64_t kIdlePollNs = 10'000'000;

  // Registers base..base+7; drives ISA line `irq`. The backend must outlive the UART.
  Uart16550(bus::Bus& bus, CharBackend& backend, uint16_t base = kCom1, unsigned irq = 4);
  ~Uart16550() override;
  Uart16550(const Uart16550&) = delete;
  Uart16550& operator=(const Uart16550&) = delete;
  const char* name() const override { return "uart16550"; }
  void reset() override;
  uint32_t io_read(uint16_t port, unsigned size) override;
  void io_write(uint16_t port, unsigned size, uint32_t value) override;

  // The interrupt request output: true while some enabled interrupt is pending.
  bool irq_level() const { return (iir() & uart::IIR_NONE) == 0; }
  // The IRQ line: the output gated by OUT2 (and cut in loopback), as wired on a PC.
  bool irq_line() const {
    return irq_level() && (state.mcr & uart::MCR_OUT2) && !(state.mcr & uart::MCR_LOOP);
  }
  // Virtual time of one character (10 bits) at the current divisor.
  uint64_t char_time_ns() const;
  // Re-create the clock events and the IRQ level after state was loaded.
  void post_load();
  // Current values of the read-only registers, without read side effects.
  uint8_t iir() const;
  uint8_t lsr() const;

  Uart16550State state;

 private:
  bool fifo_on() const { return state.fcr & uart::FCR_ENABLE; }
  bool loopback() const { return state.mcr & uart::MCR_LOOP; }
  unsigned rx_capacity() const { return fifo_on() ? uart::kFifoSize : 1; }
  unsigned trigger_level() const;
  void receive(uint8_t byte);
  void clear_rx();
  uint8_t read_rbr();
  void room_made();
  uint8_t modem_lines() const;
  void set_mcr(uint8_t v);
  void update_irq();
  // Receive pacing.
  void schedule_poll(uint64_t at);
  void cancel_poll();
  void on_poll();
  void on_input_pushed();
  // Character timeout.
  void restart_timeout();
  void schedule_timeout(uint64_t at);
  void cancel_timeout();

  bus::Bus& bus_;
  CharBackend& backend_;
  uint16_t base_;
  unsigned irq_;
  bus::Timer poll_event_;     // "uartBASE-rx": the line may deliver the next byte
  bus::Timer timeout_event_;  // "uartBASE-timeout": the FIFO's character timeout
};

}  // namespace popek::devices
