#include "devices/i8042.h"

#include <string>

namespace popek::devices {

using namespace kbc;

namespace {
constexpr uint8_t kAck = 0xFA, kResend = 0xFE, kBatOk = 0xAA, kEcho = 0xEE;

bool pop(KbcQueue& q, uint8_t& v, bool& timeout) {
  if (!q.count) return false;
  v = q.data[q.head];
  timeout = q.timeout[q.head];
  q.head = (q.head + 1) % kQueueSize;
  --q.count;
  return true;
}
}  // namespace

I8042::I8042(bus::Bus& bus) : bus_(bus) {
  bus.register_io(this, kDataPort, 1);
  bus.register_io(this, kStatusPort, 1);
  bus.add_device(this);
  reset();
}

void I8042::reset() {
  state = I8042State{};
  state.ram[0] = state.command_byte;
  update_irq();
}

void I8042::post_load() {
  bus_.set_irq(kKbdIrq, state.irq1);
  bus_.set_irq(kAuxIrq, state.irq12);
}

uint8_t I8042::status() const {
  uint8_t s = state.status & ~(ST_OBF | ST_AUXDATA | ST_TIMEOUT | ST_SYS | ST_IBF);
  if (state.output_full) s |= ST_OBF;
  if (state.output_full && state.output_aux) s |= ST_AUXDATA;
  if (state.output_full && state.output_timeout) s |= ST_TIMEOUT;
  if (state.command_byte & CB_SYS) s |= ST_SYS;
  return s;
}

void I8042::push(KbcQueue& q, uint8_t v, bool timeout) {
  if (q.count == kQueueSize) {
    bus_.log().guest_error("kbc-overrun", "i8042: output queue full; byte 0x%02x dropped", v);
    return;
  }
  const unsigned i = (q.head + q.count) % kQueueSize;
  q.data[i] = v;
  q.timeout[i] = timeout;
  ++q.count;
  refill();
}

// Move the next waiting byte into an empty output buffer.
void I8042::refill() {
  if (!state.output_full) {
    uint8_t v;
    bool timeout;
    bool aux = false;
    bool got = pop(state.ctl, v, timeout);
    if (!got && !(state.command_byte & CB_KBDDIS)) got = pop(state.kbd, v, timeout);
    if (!got && !(state.command_byte & CB_AUXDIS)) got = aux = pop(state.aux, v, timeout);
    if (got) {
      state.output = v;
      state.output_full = 1;
      state.output_aux = aux;
      state.output_timeout = timeout;
    }
  }
  update_irq();
}

void I8042::update_irq() {
  const bool full = state.output_full;
  const bool irq1 = full && !state.output_aux && (state.command_byte & CB_KBDINT);
  const bool irq12 = full && state.output_aux && (state.command_byte & CB_AUXINT);
  if (irq1 != static_cast<bool>(state.irq1)) {
    state.irq1 = irq1;
    bus_.set_irq(kKbdIrq, irq1);
  }
  if (irq12 != static_cast<bool>(state.irq12)) {
    state.irq12 = irq12;
    bus_.set_irq(kAuxIrq, irq12);
  }
}

void I8042::push_scancode(uint8_t code) {
  if (!state.kbd_scanning) return;
  push(state.kbd, code);
}

uint8_t I8042::output_port() const {
  uint8_t v = 0x01;  // bit 0: reset line not asserted
  if (bus_.a20()) v |= 0x02;
  if (state.output_full && !state.output_aux) v |= 0x10;
  if (state.output_full && state.output_aux) v |= 0x20;
  return v;
}

void I8042::pulse_reset(const char* why) { bus_.request_stop(bus::StopReason::Reset, 0, why); }

void I8042::write_output_port(uint8_t v) {
  bus_.set_a20(v & 0x02);
  if (!(v & 0x01)) pulse_reset("reset via the keyboard controller output port");
}

void I8042::controller_command(uint8_t cmd) {
  if (cmd >= 0x20 && cmd <= 0x3F) {  // read controller RAM (0x20: the command byte)
    push(state.ctl, cmd == 0x20 ? state.command_byte : state.ram[cmd & 0x1F]);
    return;
  }
  if ((cmd >= 0x60 && cmd <= 0x7F) || cmd == 0xD1 || cmd == 0xD2 || cmd == 0xD3 || cmd == 0xD4) {
    state.pending_cmd = cmd;  // the data byte follows on port 0x60
    return;
  }
  if (cmd >= 0xF0) {  // pulse output port bits 0-3 whose mask bit is 0
    if (!(cmd & 0x01)) pulse_reset("reset via keyboard controller command 0xFE");
    return;
  }
  switch (cmd) {
    case 0xA7:
      state.command_byte |= CB_AUXDIS;
      break;
    case 0xA8:
      state.command_byte &= ~CB_AUXDIS;
      refill();
      break;
    case 0xA9:  // aux interface test: clock and data lines idle, no error
      push(state.ctl, 0x00);
      break;
    case 0xAA:  // controller self-test passed
      push(state.ctl, 0x55);
      break;
    case 0xAB:  // keyboard interface test: no error
      push(state.ctl, 0x00);
      break;
    case 0xAD:
      state.command_byte |= CB_KBDDIS;
      break;
    case 0xAE:
      state.command_byte &= ~CB_KBDDIS;
      refill();
      break;
    case 0xC0:  // input port: keyboard not inhibited, no manufacturing jumper
      push(state.ctl, 0xA0);
      break;
    case 0xD0:
      push(state.ctl, output_port());
      break;
    case 0xDD:
      bus_.set_a20(false);
      break;
    case 0xDF:
      bus_.set_a20(true);
      break;
    case 0xE0:  // test inputs T0/T1
      push(state.ctl, 0x00);
      break;
    default:
      bus_.log().unimp("kbc-cmd-" + std::to_string(cmd),
                       "i8042: controller command 0x%02x not supported; ignored", cmd);
      break;
  }
  state.ram[0] = state.command_byte;
}

void I8042::controller_data(uint8_t cmd, uint8_t v) {
  if (cmd >= 0x60 && cmd <= 0x7F) {
    if (cmd == 0x60) {
      state.command_byte = v;
      state.ram[0] = v;
      refill();  // a newly enabled interface may deliver, a newly enabled interrupt fire
    } else {
      state.ram[cmd & 0x1F] = v;
    }
    return;
  }
  switch (cmd) {
    case 0xD1:
      write_output_port(v);
      break;
    case 0xD2:  // as if the keyboard had sent v
      push(state.kbd, v);
      break;
    case 0xD3:  // as if the aux device had sent v
      state.command_byte &= ~CB_AUXDIS;
      push(state.aux, v);
      break;
    case 0xD4:  // to the aux device: there is none, so the transmission times out
      state.command_byte &= ~CB_AUXDIS;
      push(state.aux, kResend, true);
      break;
  }
}

void I8042::keyboard_reply(uint8_t v) {
  state.kbd_last = v;
  push(state.kbd, v);
}

void I8042::keyboard_write(uint8_t v) {
  // Sending to the keyboard enables the interface again.
  state.command_byte &= ~CB_KBDDIS;
  state.ram[0] = state.command_byte;
  if (const uint8_t cmd = state.kbd_pending_cmd) {
    state.kbd_pending_cmd = 0;
    switch (cmd) {
      case 0xED:
        state.kbd_leds = v & 0x07;
        keyboard_reply(kAck);
        return;
      case 0xF3:
        state.kbd_typematic = v & 0x7F;
        keyboard_reply(kAck);
        return;
      case 0xF0:
        if (v == 0) {
          keyboard_reply(kAck);
          keyboard_reply(state.kbd_scancode_set);
        } else if (v <= 3) {
          state.kbd_scancode_set = v;
          keyboard_reply(kAck);
        } else {
          keyboard_reply(kResend);
        }
        return;
    }
  }
  switch (v) {
    case 0xED:  // set LEDs
    case 0xF3:  // typematic rate and delay
    case 0xF0:  // get/set scan code set
      state.kbd_pending_cmd = v;
      keyboard_reply(kAck);
      break;
    case 0xEE:
      keyboard_reply(kEcho);
      break;
    case 0xF2:  // identify: an MF2 keyboard
      keyboard_reply(kAck);
      keyboard_reply(0xAB);
      keyboard_reply(0x83);
      break;
    case 0xF4:
      state.kbd.count = 0;
      state.kbd_scanning = 1;
      keyboard_reply(kAck);
      break;
    case 0xF5:  // disable scanning and restore defaults
    case 0xF6:  // restore defaults
      state.kbd.count = 0;
      state.kbd_scanning = v == 0xF6;
      state.kbd_scancode_set = 2;
      state.kbd_typematic = 0x2B;
      keyboard_reply(kAck);
      break;
    case 0xF7:
    case 0xF8:
    case 0xF9:
    case 0xFA:
    case 0xFB:
    case 0xFC:
    case 0xFD:  // scan code set 3 key attributes: accepted and ignored
      keyboard_reply(kAck);
      break;
    case 0xFE:
      push(state.kbd, state.kbd_last);
      break;
    case 0xFF:  // reset: acknowledge, then the self-test (BAT) result
      state.kbd.count = 0;
      state.kbd_scanning = 1;
      state.kbd_scancode_set = 2;
      state.kbd_typematic = 0x2B;
      state.kbd_leds = 0;
      keyboard_reply(kAck);
      keyboard_reply(kBatOk);
      break;
    default:
      keyboard_reply(kResend);
      break;
  }
}

uint32_t I8042::io_read(uint16_t port, unsigned size) {
  if (port == kStatusPort) return status();
  const uint8_t v = state.output;
  state.output_full = 0;
  state.output_aux = 0;
  state.output_timeout = 0;
  update_irq();  // the line drops before the next byte (if any) raises it again
  refill();
  return v;
}

void I8042::io_write(uint16_t port, unsigned size, uint32_t value) {
  const uint8_t v = static_cast<uint8_t>(value);
  if (port == kStatusPort) {
    state.status |= ST_CMD;
    state.pending_cmd = 0;
    controller_command(v);
    return;
  }
  state.status &= ~ST_CMD;
  if (const uint8_t cmd = state.pending_cmd) {
    state.pending_cmd = 0;
    controller_data(cmd, v);
    return;
  }
  keyboard_write(v);
}

}  // namespace popek::devices
