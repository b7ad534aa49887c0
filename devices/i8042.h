// The PC/AT keyboard controller (Intel 8042 conventions, PS/2 style): data port 0x60,
// status/command port 0x64, a keyboard on the first port (IRQ1) and an auxiliary port
// (IRQ12) with no mouse plugged in.
//
// Bytes reach the output buffer from three queues, in this order of priority: controller
// replies, the keyboard (held while the keyboard interface is disabled), the aux port
// (held while it is disabled). Everything is instantaneous: the input buffer is never
// full and replies are ready as soon as the command is written.
//
// The missing mouse: commands sent to the aux device (0xD4) time out, which the controller
// reports as 0xFE from the aux port with the timeout status bit set, as PS/2 controllers do.
// The aux port itself works (0xA7/0xA8, the 0xA9 interface test passes with the lines
// idle, 0xD3 loopback with IRQ12), so Linux finds the port and then no mouse on it.
//
// Scan codes: push_scancode() queues a byte as the keyboard would send it; the controller
// does not translate set 2 to set 1 here, so the caller must send set 1 codes while
// translating() is true (command byte bit 6).
#pragma once

#include <cstdint>

#include "bus/bus.h"

namespace popek::devices {

namespace kbc {
// Status register
constexpr uint8_t ST_OBF = 0x01, ST_IBF = 0x02, ST_SYS = 0x04, ST_CMD = 0x08,
                  ST_UNLOCKED = 0x10, ST_AUXDATA = 0x20, ST_TIMEOUT = 0x40, ST_PARITY = 0x80;
// Command byte
constexpr uint8_t CB_KBDINT = 0x01, CB_AUXINT = 0x02, CB_SYS = 0x04, CB_KBDDIS = 0x10,
                  CB_AUXDIS = 0x20, CB_XLATE = 0x40;
constexpr unsigned kQueueSize = 16;
}  // namespace kbc

struct KbcQueue {
  uint8_t data[kbc::kQueueSize] = {};
  uint8_t timeout[kbc::kQueueSize] = {};  // the byte reports a timeout (aux replies)
  uint8_t head = 0;
  uint8_t count = 0;
  template <class Visitor>
  void visit(Visitor& v) {
    v("data", data);
    v("timeout", timeout);
    v("head", head);
    v("count", count);
  }
};

struct I8042State {
  static constexpr uint32_t kVersion = 1;
  uint8_t status = kbc::ST_UNLOCKED | kbc::ST_SYS;  // bits other than OBF/AUXDATA/SYS kept here
  uint8_t command_byte = kbc::CB_XLATE | kbc::CB_SYS | kbc::CB_KBDINT;
  uint8_t output = 0;         // output buffer contents
  uint8_t output_full = 0;    // OBF
  uint8_t output_aux = 0;     // the byte in the output buffer came from the aux port
  uint8_t output_timeout = 0; // ...and reports a timeout
  uint8_t pending_cmd = 0;    // controller command waiting for its data byte (0: none)
  uint8_t ram[32] = {};       // controller RAM (byte 0 is the command byte)
  KbcQueue ctl, kbd, aux;     // bytes waiting for the output buffer
  // Keyboard device
  uint8_t kbd_pending_cmd = 0;  // keyboard command waiting for its argument
  uint8_t kbd_scanning = 1;     // 0xF4 / 0xF5
  uint8_t kbd_scancode_set = 2;
  uint8_t kbd_leds = 0;
  uint8_t kbd_typematic = 0x2B;
  uint8_t kbd_last = 0;         // last byte sent, for 0xFE resend
  uint8_t irq1 = 0, irq12 = 0;  // lines as last driven
  template <class Visitor>
  void visit(Visitor& v) {
    v("status", status);
    v("command_byte", command_byte);
    v("output", output);
    v("output_full", output_full);
    v("output_aux", output_aux);
    v("output_timeout", output_timeout);
    v("pending_cmd", pending_cmd);
    v("ram", ram);
    v("ctl", ctl);
    v("kbd", kbd);
    v("aux", aux);
    v("kbd_pending_cmd", kbd_pending_cmd);
    v("kbd_scanning", kbd_scanning);
    v("kbd_scancode_set", kbd_scancode_set);
    v("kbd_leds", kbd_leds);
    v("kbd_typematic", kbd_typematic);
    v("kbd_last", kbd_last);
    v("irq1", irq1);
    v("irq12", irq12);
  }
};

class I8042 final : public bus::Device {
 public:
  static constexpr uint16_t kDataPort = 0x60, kStatusPort = 0x64;
  static constexpr unsigned kKbdIrq = 1, kAuxIrq = 12;

  explicit I8042(bus::Bus& bus);
  const char* name() const override { return "i8042"; }
  // The state a PC BIOS leaves: translation on, system flag set, keyboard interrupt on.
  void reset() override;
  uint32_t io_read(uint16_t port, unsigned size) override;
  void io_write(uint16_t port, unsigned size, uint32_t value) override;
  void post_load();

  // A byte from the keyboard (a make or break code); dropped while scanning is disabled
  // or the keyboard's buffer is full.
  void push_scancode(uint8_t code);
  bool translating() const { return state.command_byte & kbc::CB_XLATE; }
  uint8_t status() const;

  I8042State state;

 private:
  void controller_command(uint8_t cmd);
  void controller_data(uint8_t cmd, uint8_t v);
  void keyboard_write(uint8_t v);
  void keyboard_reply(uint8_t v);
  void write_output_port(uint8_t v);
  uint8_t output_port() const;
  void pulse_reset(const char* why);
  void push(KbcQueue& q, uint8_t v, bool timeout = false);
  void refill();
  void update_irq();

  bus::Bus& bus_;
};

}  // namespace popek::devices
