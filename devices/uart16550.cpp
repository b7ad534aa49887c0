#include "devices/uart16550.h"

#include <algorithm>
#include <cstdio>
#include <string>

namespace popek::devices {

using namespace uart;

namespace {
// With no modem attached, the lines a null-modem cable would assert: CTS, DSR, DCD.
constexpr uint8_t kIdleLines = MSR_CTS | MSR_DSR | MSR_DCD;

// A timer name unique per port: "uart3f8-rx".
std::string timer_name(uint16_t base, const char* what) {
  char buf[32];
  snprintf(buf, sizeof buf, "uart%x-%s", base, what);
  return buf;
}
}  // namespace

Uart16550::Uart16550(bus::Bus& bus, CharBackend& backend, uint16_t base, unsigned irq)
    : bus_(bus), backend_(backend), base_(base), irq_(irq),
      poll_event_(bus.clock(), timer_name(base, "rx"), [this] { on_poll(); }),
      timeout_event_(bus.clock(), timer_name(base, "timeout"), [this] {
        state.timeout_at = 0;
        if (fifo_on() && state.rx_count) state.rx_timeout = 1;
        update_irq();
      }) {
  bus.register_io(this, base, 8);
  bus.add_device(this);
  backend_.input_pushed = [this] { on_input_pushed(); };
  reset();
}

Uart16550::~Uart16550() {
  cancel_poll();
  cancel_timeout();
  backend_.input_pushed = nullptr;
}

void Uart16550::reset() {
  cancel_poll();
  cancel_timeout();
  if (state.irq_out) bus_.set_irq(irq_, false);
  state = Uart16550State{};
  state.msr = kIdleLines;
  if (backend_.input_open()) schedule_poll(bus_.clock().now_ns() + char_time_ns());
}

void Uart16550::post_load() {
  const uint64_t poll_at = state.rx_poll_at, timeout_at = state.timeout_at;  // cancel clears them
  cancel_poll();
  cancel_timeout();
  if (poll_at) schedule_poll(poll_at);
  if (timeout_at) schedule_timeout(timeout_at);
  bus_.set_irq(irq_, state.irq_out);
}

uint64_t Uart16550::char_time_ns() const {
  // 10 bits at 115200 / divisor baud; a divisor of 0 counts as 65536.
  const uint64_t div = state.divisor ? state.divisor : 65536;
  return (div * 10'000'000'000ull + 115'199) / 115'200;
}

unsigned Uart16550::trigger_level() const {
  static constexpr unsigned kLevels[4] = {1, 4, 8, 14};
  return fifo_on() ? kLevels[state.fcr >> 6] : 1;
}

uint8_t Uart16550::lsr() const {
  uint8_t v = LSR_THRE | LSR_TEMT | state.lsr_errors;
  if (state.rx_count) v |= LSR_DR;
  return v;
}

// Highest-priority pending interrupt: line status, received data (or character timeout),
// THR empty, modem status.
uint8_t Uart16550::iir() const {
  uint8_t id = IIR_NONE;
  if ((state.ier & IER_RLS) && (state.lsr_errors & LSR_ERRORS)) {
    id = IIR_RLS;
  } else if ((state.ier & IER_RDA) && fifo_on() && state.rx_timeout) {
    id = IIR_TIMEOUT;
  } else if ((state.ier & IER_RDA) && state.rx_count >= trigger_level()) {
    id = IIR_RDA;
  } else if ((state.ier & IER_THRE) && state.thr_pending) {
    id = IIR_THRE;
  } else if ((state.ier & IER_MS) && (state.msr & MSR_DELTAS)) {
    id = IIR_MS;
  }
  return id | (fifo_on() ? IIR_FIFO : 0);
}

void Uart16550::update_irq() {
  const uint8_t level = irq_line() ? 1 : 0;
  if (level == state.irq_out) return;
  state.irq_out = level;
  bus_.set_irq(irq_, level);
}

void Uart16550::receive(uint8_t byte) {
  if (state.rx_count >= rx_capacity()) {
    state.lsr_errors |= LSR_OE;  // the byte is lost
    return;
  }
  state.rx_fifo[(state.rx_head + state.rx_count) % kFifoSize] = byte;
  ++state.rx_count;
  restart_timeout();
}

void Uart16550::clear_rx() {
  state.rx_count = 0;
  state.rx_head = 0;
  state.rx_timeout = 0;
  cancel_timeout();
}

uint8_t Uart16550::read_rbr() {
  if (!state.rx_count) return 0;
  const bool was_full = state.rx_count >= rx_capacity();
  const uint8_t b = state.rx_fifo[state.rx_head];
  state.rx_head = (state.rx_head + 1) % kFifoSize;
  --state.rx_count;
  state.rx_timeout = 0;
  restart_timeout();
  if (was_full) room_made();
  return b;
}

// There is room again: the line may deliver the next byte one character time from now
// (never sooner than the pace already scheduled).
void Uart16550::room_made() {
  if (!backend_.input_open()) return;
  const uint64_t at = bus_.clock().now_ns() + char_time_ns();
  if (!poll_event_.armed() || state.rx_poll_at > at) {
    cancel_poll();
    schedule_poll(at);
  }
}

// --- receive pacing

void Uart16550::schedule_poll(uint64_t at) {
  state.rx_poll_at = at;
  poll_event_.arm(at);
}

void Uart16550::cancel_poll() {
  poll_event_.cancel();
  state.rx_poll_at = 0;
}

void Uart16550::on_poll() {
  state.rx_poll_at = 0;
  const uint64_t now = bus_.clock().now_ns();
  if (loopback() || state.rx_count >= rx_capacity()) {
    // No room (or the line is disconnected): input waits in the backend.
    backend_.pump();
    if (backend_.input_open()) schedule_poll(now + std::max(kIdlePollNs, char_time_ns()));
    return;
  }
  uint8_t byte;
  if (backend_.take_input(byte)) {
    receive(byte);
    update_irq();
    schedule_poll(now + char_time_ns());
    return;
  }
  if (backend_.input_open()) schedule_poll(now + std::max(kIdlePollNs, char_time_ns()));
}

void Uart16550::on_input_pushed() {
  if (!poll_event_.armed()) schedule_poll(bus_.clock().now_ns() + char_time_ns());
}

// --- character timeout

void Uart16550::restart_timeout() {
  cancel_timeout();
  if (fifo_on() && state.rx_count) schedule_timeout(bus_.clock().now_ns() + 4 * char_time_ns());
}

void Uart16550::schedule_timeout(uint64_t at) {
  state.timeout_at = at;
  timeout_event_.arm(at);
}

void Uart16550::cancel_timeout() {
  timeout_event_.cancel();
  state.timeout_at = 0;
}

// --- modem lines

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

// --- registers

uint32_t Uart16550::io_read(uint16_t port, unsigned size) {
  const uint16_t reg = static_cast<uint16_t>(port - base_);
  const bool dlab = state.lcr & LCR_DLAB;
  uint8_t v = 0xFF;
  switch (reg) {
    case RBR_THR_DLL:
      v = dlab ? static_cast<uint8_t>(state.divisor) : read_rbr();
      break;
    case IER_DLM:
      v = dlab ? static_cast<uint8_t>(state.divisor >> 8) : state.ier;
      break;
    case IIR_FCR:
      v = iir();
      // Reading IIR while it reports THR empty acknowledges that interrupt.
      if ((v & 0x0F) == IIR_THRE) state.thr_pending = 0;
      break;
    case LCR:
      v = state.lcr;
      break;
    case MCR:
      v = state.mcr;
      break;
    case LSR:
      v = lsr();
      state.lsr_errors = 0;
      break;
    case MSR:
      v = state.msr;
      state.msr &= ~MSR_DELTAS;
      break;
    case SCR:
      v = state.scr;
      break;
    default:
      break;
  }
  update_irq();
  return v;
}

void Uart16550::io_write(uint16_t port, unsigned size, uint32_t value) {
  const uint16_t reg = static_cast<uint16_t>(port - base_);
  const uint8_t v = static_cast<uint8_t>(value);
  const bool dlab = state.lcr & LCR_DLAB;
  switch (reg) {
    case RBR_THR_DLL:
      if (dlab) {
        state.divisor = static_cast<uint16_t>((state.divisor & 0xFF00) | v);
        break;
      }
      if (loopback()) receive(v);
      else backend_.put(v);
      // The byte left at once: THR is empty again.
      state.thr_pending = 1;
      break;
    case IER_DLM:
      if (dlab) {
        state.divisor = static_cast<uint16_t>((state.divisor & 0x00FF) | (v << 8));
        break;
      }
      // Enabling the THR-empty interrupt while THR is empty raises it at once.
      if ((v & IER_THRE) && !(state.ier & IER_THRE)) state.thr_pending = 1;
      state.ier = v & 0x0F;
      break;
    case IIR_FCR: {
      // FCR bits 1-7 take effect only together with bit 0.
      const bool enable = v & FCR_ENABLE;
      const bool was_full = state.rx_count >= rx_capacity();
      if (enable != fifo_on() || (enable && (v & FCR_CLEAR_RX))) clear_rx();
      state.fcr = enable ? (v & (FCR_ENABLE | FCR_TRIGGER)) : 0;
      restart_timeout();
      if (was_full && state.rx_count < rx_capacity()) room_made();
      break;
    }
    case LCR:
      state.lcr = v;
      break;
    case MCR:
      set_mcr(v);
      break;
    case LSR:
    case MSR:
      bus_.log().guest_error("uart-ro-write", "uart: write of 0x%02x to read-only register %u ignored", v,
                             reg);
      break;
    case SCR:
      state.scr = v;
      break;
    default:
      break;
  }
  update_irq();
}

}  // namespace popek::devices
