#include "devices/uart16550.h"

namespace popek::devices {

using namespace uart;

namespace {
// With no modem attached, the lines a null-modem cable would assert: CTS, DSR, DCD.
constexpr uint8_t kIdleLines = MSR_CTS | MSR_DSR | MSR_DCD;
}  // namespace

Uart16550::Uart16550(bus::Bus& bus, CharBackend& backend, uint16_t base)
    : bus_(bus), backend_(backend), base_(base) {
  bus.register_io(this, base, 8);
  bus.add_device(this);
  reset();
}

void Uart16550::reset() {
  state = Uart16550State{};
  state.msr = kIdleLines;
}

uint8_t Uart16550::lsr() const {
  uint8_t v = LSR_THRE | LSR_TEMT | state.lsr_errors;
  if (state.rx_count) v |= LSR_DR;
  return v;
}

// Highest-priority pending interrupt: line status, received data, THR empty, modem status.
uint8_t Uart16550::iir() const {
  uint8_t id = IIR_NONE;
  if ((state.ier & IER_RLS) && (state.lsr_errors & LSR_ERRORS)) {
    id = IIR_RLS;
  } else if ((state.ier & IER_RDA) && state.rx_count) {
    id = IIR_RDA;
  } else if ((state.ier & IER_THRE) && state.thr_pending) {
    id = IIR_THRE;
  } else if ((state.ier & IER_MS) && (state.msr & MSR_DELTAS)) {
    id = IIR_MS;
  }
  return id | (fifo_on() ? IIR_FIFO : 0);
}

void Uart16550::receive(uint8_t byte) {
  const unsigned cap = fifo_on() ? kFifoSize : 1;
  if (state.rx_count >= cap) {
    state.lsr_errors |= LSR_OE;  // the byte is lost
    return;
  }
  state.rx_fifo[(state.rx_head + state.rx_count) % kFifoSize] = byte;
  ++state.rx_count;
}

void Uart16550::poll_input() {
  if (loopback()) return;
  const unsigned cap = fifo_on() ? kFifoSize : 1;
  while (state.rx_count < cap && backend_.input_ready()) receive(backend_.pop_input());
}

// In loopback the modem outputs drive the inputs: RTS->CTS, DTR->DSR, OUT1->RI, OUT2->DCD.
uint8_t Uart16550::modem_lines() const {
  if (!loopback()) return kIdleLines;
  const uint8_t m = state.mcr;
  return ((m & MCR_RTS) ? MSR_CTS : 0) | ((m & MCR_DTR) ? MSR_DSR : 0) |
         ((m & MCR_OUT1) ? MSR_RI : 0) | ((m & MCR_OUT2) ? MSR_DCD : 0);
}

void Uart16550::set_mcr(uint8_t v) {
  const uint8_t old_lines = state.msr & 0xF0;
  state.mcr = v & 0x1F;
  const uint8_t lines = modem_lines();
  const uint8_t changed = old_lines ^ lines;
  uint8_t deltas = 0;
  if (changed & MSR_CTS) deltas |= MSR_DCTS;
  if (changed & MSR_DSR) deltas |= MSR_DDSR;
  if (changed & MSR_DCD) deltas |= MSR_DDCD;
  if ((old_lines & MSR_RI) && !(lines & MSR_RI)) deltas |= MSR_TERI;  // trailing edge only
  state.msr = static_cast<uint8_t>(lines | (state.msr & MSR_DELTAS) | deltas);
}

uint32_t Uart16550::io_read(uint16_t port, unsigned size) {
  const uint16_t reg = static_cast<uint16_t>(port - base_);
  const bool dlab = state.lcr & LCR_DLAB;
  switch (reg) {
    case RBR_THR_DLL: {
      if (dlab) return state.divisor & 0xFF;
      poll_input();
      if (!state.rx_count) return 0;
      const uint8_t b = state.rx_fifo[state.rx_head];
      state.rx_head = (state.rx_head + 1) % kFifoSize;
      --state.rx_count;
      poll_input();
      return b;
    }
    case IER_DLM:
      return dlab ? state.divisor >> 8 : state.ier;
    case IIR_FCR: {
      poll_input();
      const uint8_t v = iir();
      // Reading IIR while it reports THR empty acknowledges that interrupt.
      if ((v & 0x0F) == IIR_THRE) state.thr_pending = 0;
      return v;
    }
    case LCR:
      return state.lcr;
    case MCR:
      return state.mcr;
    case LSR: {
      poll_input();
      const uint8_t v = lsr();
      state.lsr_errors = 0;
      return v;
    }
    case MSR: {
      const uint8_t v = state.msr;
      state.msr &= ~MSR_DELTAS;
      return v;
    }
    case SCR:
      return state.scr;
    default:
      return 0xFF;
  }
}

void Uart16550::io_write(uint16_t port, unsigned size, uint32_t value) {
  const uint16_t reg = static_cast<uint16_t>(port - base_);
  const uint8_t v = static_cast<uint8_t>(value);
  const bool dlab = state.lcr & LCR_DLAB;
  switch (reg) {
    case RBR_THR_DLL:
      if (dlab) {
        state.divisor = static_cast<uint16_t>((state.divisor & 0xFF00) | v);
        return;
      }
      if (loopback()) receive(v);
      else backend_.write(v);
      // The byte left at once: THR is empty again.
      state.thr_pending = 1;
      return;
    case IER_DLM:
      if (dlab) {
        state.divisor = static_cast<uint16_t>((state.divisor & 0x00FF) | (v << 8));
        return;
      }
      // Enabling the THR-empty interrupt while THR is empty raises it at once.
      if ((v & IER_THRE) && !(state.ier & IER_THRE)) state.thr_pending = 1;
      state.ier = v & 0x0F;
      return;
    case IIR_FCR:
      if ((v ^ state.fcr) & FCR_ENABLE) {
        state.rx_count = 0;
        state.rx_head = 0;
      }
      if (v & FCR_CLEAR_RX) {
        state.rx_count = 0;
        state.rx_head = 0;
      }
      state.fcr = v & 0xC1;
      return;
    case LCR:
      state.lcr = v;
      return;
    case MCR:
      set_mcr(v);
      return;
    case LSR:
    case MSR:
      bus_.log().once("uart-ro-write", "uart: write of 0x%02x to read-only register %u ignored", v,
                      reg);
      return;
    case SCR:
      state.scr = v;
      return;
    default:
      return;
  }
}

}  // namespace popek::devices
