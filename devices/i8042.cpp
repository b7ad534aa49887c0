#include "devices/i8042.h"

#include <algorithm>
#include <cstdlib>
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

// Scaling 2:1 (stream mode): small moves stay fine, larger ones double.
int scale21(int d) {
  static constexpr int kSmall[6] = {0, 1, 1, 3, 6, 9};
  const int a = std::abs(d);
  const int s = a < 6 ? kSmall[a] : 2 * a;
  return d < 0 ? -s : s;
}

// Take at most `limit` counts (either sign) from a movement counter.
int take(int32_t& counter, int limit) {
  const int v = std::clamp<int32_t>(counter, -limit, limit);
  counter -= v;
  return v;
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
  mouse_feed();
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
      state.ram[0] = state.command_byte;
      push(state.aux, v);
      break;
    case 0xD4:  // to the aux device (sending enables the interface again)
      state.command_byte &= ~CB_AUXDIS;
      state.ram[0] = state.command_byte;
      mouse_write(v);
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

// --- the mouse on the aux port

void I8042::mouse_reply(std::initializer_list<uint8_t> bytes) {
  for (uint8_t b : bytes) push(state.aux, b);
  // 0xFE resends the last packet or reply: the bytes after the acknowledge, if any.
  auto it = bytes.begin();
  if (bytes.size() > 1 && *it == kAck) ++it;
  state.mouse_last_len = 0;
  for (; it != bytes.end() && state.mouse_last_len < 4; ++it) state.mouse_last[state.mouse_last_len++] = *it;
}

void I8042::mouse_reset_counters() {
  state.mouse_dx = state.mouse_dy = state.mouse_dz = 0;
  state.mouse_overflow = 0;
  state.mouse_sent_buttons = state.mouse_buttons;
}

void I8042::mouse_defaults() {
  state.mouse_rate = 100;
  state.mouse_resolution = 2;
  state.mouse_status = 0;  // stream mode, reporting off, scaling 1:1
  state.mouse_packets.count = 0;
  mouse_reset_counters();
}

unsigned I8042::mouse_packet(uint8_t* out, bool stream) {
  int x, y;
  uint8_t overflow = state.mouse_overflow;
  if (stream) {
    // Split: each packet carries what fits (less with scaling 2:1, which doubles it).
    const int limit = (state.mouse_status & MS_SCALE21) ? 127 : 255;
    x = take(state.mouse_dx, limit);
    y = take(state.mouse_dy, limit);
    if (state.mouse_status & MS_SCALE21) {
      x = scale21(x);
      y = scale21(y);
    }
  } else {
    // Remote mode reads the 9-bit counters: beyond them, saturated with the overflow bit.
    x = std::clamp<int32_t>(state.mouse_dx, -256, 255);
    y = std::clamp<int32_t>(state.mouse_dy, -256, 255);
    if (x != state.mouse_dx) overflow |= 1;
    if (y != state.mouse_dy) overflow |= 2;
    state.mouse_dx = state.mouse_dy = 0;
  }
  state.mouse_overflow = 0;
  out[0] = static_cast<uint8_t>(0x08 | (state.mouse_buttons & 7) | (x < 0 ? 0x10 : 0) | (y < 0 ? 0x20 : 0) |
                                ((overflow & 1) ? 0x40 : 0) | ((overflow & 2) ? 0x80 : 0));
  out[1] = static_cast<uint8_t>(x & 0xFF);
  out[2] = static_cast<uint8_t>(y & 0xFF);
  state.mouse_sent_buttons = state.mouse_buttons;
  if (state.mouse_id == 3) {  // the wheel byte
    out[3] = static_cast<uint8_t>(take(state.mouse_dz, 127) & 0xFF);
    return 4;
  }
  if (state.mouse_id == 4) {  // wheel in bits 0-3, buttons 4 and 5 (never pressed) above
    out[3] = static_cast<uint8_t>(std::clamp<int32_t>(state.mouse_dz, -8, 7) & 0x0F);
    state.mouse_dz -= std::clamp<int32_t>(state.mouse_dz, -8, 7);
    return 4;
  }
  state.mouse_dz = 0;
  return 3;
}

void I8042::mouse_flush() {
  if ((state.mouse_status & (MS_ENABLED | MS_REMOTE)) != MS_ENABLED) return;
  MousePackets& q = state.mouse_packets;
  while (q.count < kMousePackets && (state.mouse_dx || state.mouse_dy || state.mouse_dz || state.mouse_overflow ||
                                     state.mouse_buttons != state.mouse_sent_buttons)) {
    const unsigned i = (q.head + q.count) % kMousePackets;
    q.len[i] = static_cast<uint8_t>(mouse_packet(q.data[i], true));
    ++q.count;
  }
}

void I8042::mouse_feed() {
  MousePackets& q = state.mouse_packets;
  if (state.aux.count || !q.count) return;
  for (unsigned b = 0; b < q.len[q.head]; ++b) {
    state.aux.data[b] = q.data[q.head][b];
    state.aux.timeout[b] = 0;
  }
  state.aux.head = 0;
  state.aux.count = q.len[q.head];
  std::copy(q.data[q.head], q.data[q.head] + 4, state.mouse_last);
  state.mouse_last_len = q.len[q.head];
  q.head = (q.head + 1) % kMousePackets;
  --q.count;
  mouse_flush();  // a packet's room for the counters' next one
}

void I8042::mouse_event(int dx, int dy, int dz, unsigned buttons) {
  state.mouse_buttons = static_cast<uint8_t>(buttons & 7);
  const bool remote = state.mouse_status & MS_REMOTE;
  if (!remote && !(state.mouse_status & MS_ENABLED)) return;
  // Into the counters (PS/2 counts up as positive); what they cannot hold is lost.
  auto add = [&](int32_t& counter, int64_t d, uint8_t bit) {
    const int64_t v = static_cast<int64_t>(counter) + d;
    counter = static_cast<int32_t>(std::clamp<int64_t>(v, -kMouseCountMax, kMouseCountMax));
    if (counter != v) state.mouse_overflow |= bit;
  };
  add(state.mouse_dx, dx, 1);
  add(state.mouse_dy, -static_cast<int64_t>(dy), 2);
  if (state.mouse_id) add(state.mouse_dz, dz, 0);
  if (remote) return;
  mouse_flush();
  refill();
}

void I8042::mouse_write(uint8_t v) {
  // Wrap mode echoes every byte but the two that end it.
  if (state.mouse_wrap && v != 0xEC && v != 0xFF) {
    push(state.aux, v);
    return;
  }
  if (const uint8_t cmd = state.mouse_pending_cmd) {
    state.mouse_pending_cmd = 0;
    if (cmd == 0xF3) {
      // The IntelliMouse sequences: rates 200, 100, 80 turn on the wheel (ID 3); then
      // 200, 200, 80 the fourth and fifth buttons (ID 4).
      const uint8_t r0 = state.mouse_rates[0], r1 = state.mouse_rates[1];
      if (r0 == 200 && r1 == 100 && v == 80) state.mouse_id = 3;
      else if (r0 == 200 && r1 == 200 && v == 80 && state.mouse_id == 3) state.mouse_id = 4;
      state.mouse_rates[0] = r1;
      state.mouse_rates[1] = v;
      state.mouse_rate = v;
      mouse_reply({kAck});
      return;
    }
    // 0xE8: resolution 0-3
    if (v > 3) {
      bus_.log().guest_error("ps2-mouse-resolution", "ps2 mouse: resolution %u out of range (0-3); rejected", v);
      mouse_reply({kResend});
      return;
    }
    state.mouse_resolution = v;
    mouse_reset_counters();
    mouse_reply({kAck});
    return;
  }
  mouse_command(v);
}

void I8042::mouse_command(uint8_t v) {
  if (v != 0xF3) state.mouse_rates[0] = state.mouse_rates[1] = 0;
  switch (v) {
    case 0xFF:  // reset: acknowledge, self-test passed, device ID
      mouse_defaults();
      state.mouse_id = 0;
      state.mouse_wrap = 0;
      state.mouse_pending_cmd = 0;
      state.aux.count = 0;
      mouse_reply({kAck, kBatOk, 0x00});
      break;
    case 0xFE:  // resend the last packet or reply
      for (unsigned i = 0; i < state.mouse_last_len; ++i) push(state.aux, state.mouse_last[i]);
      if (!state.mouse_last_len) push(state.aux, kAck);
      break;
    case 0xF6:  // set defaults
      mouse_defaults();
      mouse_reply({kAck});
      break;
    case 0xF5:  // disable data reporting
      state.mouse_status &= ~MS_ENABLED;
      state.mouse_packets.count = 0;
      mouse_reset_counters();
      mouse_reply({kAck});
      break;
    case 0xF4:  // enable data reporting
      state.mouse_status |= MS_ENABLED;
      mouse_reset_counters();
      mouse_reply({kAck});
      break;
    case 0xF3:  // set sample rate, then the rate
    case 0xE8:  // set resolution, then the resolution
      state.mouse_pending_cmd = v;
      mouse_reply({kAck});
      break;
    case 0xF2:  // get device ID
      mouse_reset_counters();
      mouse_reply({kAck, state.mouse_id});
      break;
    case 0xF0:  // remote mode: packets only on 0xEB
      state.mouse_status |= MS_REMOTE;
      state.mouse_packets.count = 0;
      mouse_reset_counters();
      mouse_reply({kAck});
      break;
    case 0xEA:  // stream mode
      state.mouse_status &= ~MS_REMOTE;
      mouse_reset_counters();
      mouse_reply({kAck});
      break;
    case 0xEB: {  // read data: one packet from the counters, in either mode
      uint8_t p[4];
      const unsigned n = mouse_packet(p, false);
      mouse_reset_counters();
      push(state.aux, kAck);
      for (unsigned i = 0; i < n; ++i) push(state.aux, p[i]);
      std::copy(p, p + 4, state.mouse_last);
      state.mouse_last_len = static_cast<uint8_t>(n);
      break;
    }
    case 0xEE:  // wrap mode on
    case 0xEC:  // wrap mode off
      state.mouse_wrap = v == 0xEE;
      mouse_reset_counters();
      mouse_reply({kAck});
      break;
    case 0xE9: {  // status request: mode and buttons (left, middle, right), resolution, rate
      const uint8_t b = state.mouse_buttons;
      const uint8_t buttons = static_cast<uint8_t>(((b & 1) << 2) | ((b & 4) >> 1) | ((b & 2) >> 1));
      mouse_reply({kAck, static_cast<uint8_t>(state.mouse_status | buttons), state.mouse_resolution, state.mouse_rate});
      break;
    }
    case 0xE6:  // scaling 1:1
      state.mouse_status &= ~MS_SCALE21;
      mouse_reply({kAck});
      break;
    case 0xE7:  // scaling 2:1
      state.mouse_status |= MS_SCALE21;
      mouse_reply({kAck});
      break;
    default:
      bus_.log().guest_error("ps2-mouse-cmd-" + std::to_string(v),
                             "ps2 mouse: unknown command 0x%02x; replied 0xFE", v);
      mouse_reply({kResend});
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
