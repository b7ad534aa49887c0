// The VNC server display, with QEMU's spelling: -vnc :N (TCP port 5900+N), -vnc HOST:N,
// -vnc unix:PATH. popek listens on 127.0.0.1 unless a host is given (QEMU listens on every
// interface); the server is libvncserver.
//
// Everything happens in refresh(), on the machine's thread between blocks: new
// connections are accepted, the screen is rendered when the VGA's `generation` changed
// (or, in a text mode, the blink phase did) at most about 30 times a second, only the
// bounding box of the pixels that changed is marked for the clients, and the clients'
// messages are read. Their key events (X keysyms) become the PC keys a US keyboard has
// them on, through devices::send_key(); their pointer events become relative PS/2 mouse
// motion (the difference between two absolute positions, as QEMU does for a PS/2 mouse).
// The framebuffer follows the VGA's mode size (RFB's desktop-size change).
#pragma once

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>

#include "devices/keys.h"
#include "devices/vga.h"
#include "frontend/display.h"

namespace popek::frontend {

class Machine;

struct VncError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Where -vnc listens.
struct VncAddress {
  std::string unix_path;  // unix:PATH; empty for TCP
  std::string host;       // TCP: the address to listen on (127.0.0.1 unless given)
  uint16_t port = 0;      // TCP: 5900 + the display number
};

// Parse a -vnc value ("none" gives an empty address: no server). Returns "" or why the
// value is wrong (one line, without the option).
std::string parse_vnc_spec(const std::string& spec, VncAddress& out);

// The key an X keysym (an RFB key event) is on with a US layout, or nullptr: a shifted
// symbol is on its unshifted key ('!' on "1", 'A' on "a"), since the client sends Shift
// as a key of its own.
const devices::KeyCodes* key_for_keysym(uint32_t keysym);

// A rectangle [x0, x1) x [y0, y1).
struct VncRect {
  unsigned x0 = 0, y0 = 0, x1 = 0, y1 = 0;
  bool empty() const { return x1 <= x0 || y1 <= y0; }
};

// Copy `frame` into `fb`, a framebuffer of the same size with 4 bytes per pixel (red,
// green, blue, 0). Returns the bounding box of the pixels that changed.
VncRect blit_frame(const devices::VgaFrame& frame, uint8_t* fb);

class VncDisplay final : public Display {
 public:
  // Listens at `spec` (see parse_vnc_spec). Throws VncError: one line naming the option.
  VncDisplay(Machine& machine, const std::string& spec);
  ~VncDisplay() override;
  VncDisplay(const VncDisplay&) = delete;
  VncDisplay& operator=(const VncDisplay&) = delete;

  void refresh() override;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace popek::frontend
