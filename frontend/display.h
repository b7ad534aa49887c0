// A display: a way for the user to see the guest's screen and to type (and point) into
// it. The run loop calls refresh() whenever it looks at the host (about every 20 ms, at
// a block boundary): a display draws what changed since its last frame (the VGA's
// `generation` says whether anything did) and hands the user's keys and pointer motion
// to the keyboard controller. A display reads the adapter and never changes what the
// guest executes except through those input events.
#pragma once

namespace popek::frontend {

class Display {
 public:
  virtual ~Display() = default;
  // Draw what changed and deliver pending input. Called on the machine's thread between
  // blocks, so the machine's devices may be used directly.
  virtual void refresh() = 0;
  // The user asked to end popek from the display (e.g. the curses display's Ctrl-A x).
  virtual bool quit_requested() const { return false; }
};

}  // namespace popek::frontend
