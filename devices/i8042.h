// The PC/AT keyboard controller (Intel 8042 conventions, PS/2 style): data port 0x60,
// status/command port 0x64, a keyboard on the first port (IRQ1) and a PS/2 mouse on the
// auxiliary port (IRQ12).
//
// Bytes reach the output buffer from three queues, in this order of priority: controller
// replies, the keyboard (held while the keyboard interface is disabled), the aux port
// (held while it is disabled). Everything is instantaneous: the input buffer is never
// full and replies are ready as soon as the command is written.
//
// Scan codes: push_scancode() queues a byte as the keyboard would send it; the controller
// does not translate set 2 to set 1 here, so the caller must send set 1 codes while
// translating() is true (command byte bit 6).
//
// The mouse (bytes written after controller command 0xD4) is a standard PS/2 mouse with
// the IntelliMouse extensions: reset, defaults, data reporting on and off, sample rate
// (the rates 200, 100, 80 in a row make it an IntelliMouse, device ID 3, with a wheel
// byte; 200, 200, 80 an IntelliMouse Explorer, ID 4), resolution, scaling 1:1 and 2:1,
// status request, stream and remote mode, read data, wrap (echo) mode and resend.
// Unknown commands get 0xFE (-d guest_errors). mouse_event() feeds it motion from the
// host: movement counters accumulate it, and in stream mode with reporting on packets
// (3 bytes, 4 with a wheel) leave at once, a large move split over several packets. The
// sample rate and resolution are reported back as set but do not change the packets: the
// host's events are the samples and their units the counts. Packets wait in a bounded
// queue and go to the aux port whole, one at a time; when it is full, motion stays in
// the counters (coalesced into later packets), and counts beyond what the counters hold
// are dropped with the packet's overflow bit set, so a flood of events never splits or
// corrupts a packet.
#pragma once

#include <cstdint>
#include <initializer_list>

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
// Mouse status (first byte of the 0xE9 status request, without the buttons)
constexpr uint8_t MS_SCALE21 = 0x10, MS_ENABLED = 0x20, MS_REMOTE = 0x40;
// Mouse packets waiting for the aux port, and the counts the movement counters hold
constexpr unsigned kMousePackets = 16;
constexpr int32_t kMouseCountMax = 4096;
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

// Mouse packets not yet sent to the aux port, each 3 or 4 bytes.
struct MousePackets {
  uint8_t data[kbc::kMousePackets][4] = {};
  uint8_t len[kbc::kMousePackets] = {};
  uint8_t head = 0;
  uint8_t count = 0;
  template <class Visitor>
  void visit(Visitor& v) {
    v("data", data);
    v("len", len);
    v("head", head);
    v("count", count);
  }
};

struct I8042State {
  static constexpr uint32_t kVersion = 2;
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
  // Mouse device
  uint8_t mouse_pending_cmd = 0;  // 0xF3 or 0xE8 waiting for its argument
  uint8_t mouse_status = 0;       // kbc::MS_* bits
  uint8_t mouse_rate = 100;       // samples per second (0xF3)
  uint8_t mouse_resolution = 2;   // 0-3: 1, 2, 4, 8 counts per mm (0xE8)
  uint8_t mouse_id = 0;           // 0 standard, 3 IntelliMouse, 4 IntelliMouse Explorer
  uint8_t mouse_rates[2] = {};    // rates of the two 0xF3 before the last, in a row (0: none)
  uint8_t mouse_wrap = 0;         // wrap mode: bytes echoed
  uint8_t mouse_buttons = 0;      // buttons held now: bit 0 left, 1 right, 2 middle
  uint8_t mouse_sent_buttons = 0; // buttons as the last packet reported them
  int32_t mouse_dx = 0, mouse_dy = 0, mouse_dz = 0;  // counts not yet reported (y up)
  uint8_t mouse_overflow = 0;     // bit 0 x, bit 1 y: counts were lost since the last packet
  uint8_t mouse_last[4] = {};     // the last packet or reply, for 0xFE
  uint8_t mouse_last_len = 0;
  MousePackets mouse_packets;
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
    v("mouse_pending_cmd", mouse_pending_cmd);
    v("mouse_status", mouse_status);
    v("mouse_rate", mouse_rate);
    v("mouse_resolution", mouse_resolution);
    v("mouse_id", mouse_id);
    v("mouse_rates", mouse_rates);
    v("mouse_wrap", mouse_wrap);
    v("mouse_buttons", mouse_buttons);
    v("mouse_sent_buttons", mouse_sent_buttons);
    v("mouse_dx", mouse_dx);
    v("mouse_dy", mouse_dy);
    v("mouse_dz", mouse_dz);
    v("mouse_overflow", mouse_overflow);
    v("mouse_last", mouse_last);
    v("mouse_last_len", mouse_last_len);
    v("mouse_packets", mouse_packets);
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
  // The mouse moved by (dx, dy) counts, dx to the right and dy down (as screens count; the
  // mouse reports up as positive), turned its wheel by dz clicks (positive towards the
  // user, as PS/2's wheel byte counts) and now holds `buttons` (bit 0 left, bit 1 right,
  // bit 2 middle). Reported in stream mode with data reporting on; kept in the movement
  // counters in remote mode; dropped otherwise (the buttons held are remembered).
  void mouse_event(int dx, int dy, int dz, unsigned buttons);
  uint8_t status() const;

  I8042State state;

 private:
  void controller_command(uint8_t cmd);
  void controller_data(uint8_t cmd, uint8_t v);
  void keyboard_write(uint8_t v);
  void keyboard_reply(uint8_t v);
  void mouse_write(uint8_t v);
  void mouse_command(uint8_t v);
  void mouse_reply(std::initializer_list<uint8_t> bytes);
  void mouse_reset_counters();
  void mouse_defaults();
  // Build one packet from the movement counters (stream: split, remote: saturated).
  unsigned mouse_packet(uint8_t* out, bool stream);
  // Turn the counters into queued packets while there is room.
  void mouse_flush();
  // An empty aux queue takes the next waiting packet, whole.
  void mouse_feed();
  void write_output_port(uint8_t v);
  uint8_t output_port() const;
  void pulse_reset(const char* why);
  void push(KbcQueue& q, uint8_t v, bool timeout = false);
  void refill();
  void update_irq();

  bus::Bus& bus_;
};

}  // namespace popek::devices
