// -display curses: the VGA's text modes drawn in the terminal with curses, and keys typed
// in the terminal sent to the guest's keyboard, as QEMU's curses display does.
//
// Drawing: each refresh that finds the adapter changed (Vga::generation) or the cursor
// moved redraws the text screen; curses sends the terminal only the cells that differ.
// Characters are code page 437, drawn as their Unicode glyphs in a UTF-8 locale (ASCII
// and the terminal's line-drawing set otherwise); the 16 attribute colours map to the
// terminal's 8 or 16 colours, bright foregrounds as bold on 8-colour terminals; blinking
// cells blink. A graphics mode shows a one-line notice with its size (screendump and -vnc
// show graphics).
//
// Keys: a terminal reports characters, not key presses, so each character becomes a
// press and release of the key that types it on a US keyboard (with shift, or ctrl for
// control characters); the terminal's function, cursor and editing keys map to theirs.
// Keys go to the keyboard controller one at a time, as the guest takes them, so typing
// ahead is not lost. Ctrl-A x ends popek, Ctrl-A a sends Ctrl-A (as on the serial
// console).
#pragma once

#include <cstdint>
#include <deque>
#include <stdexcept>
#include <string>

#include "frontend/display.h"

namespace popek::frontend {

class Machine;

class DisplayError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class CursesDisplay final : public Display {
 public:
  // Takes over the terminal on standard input and output. Throws DisplayError when they
  // are not a terminal or the terminal type is unknown.
  explicit CursesDisplay(Machine& machine);
  // Gives the terminal back as it was.
  ~CursesDisplay() override;
  CursesDisplay(const CursesDisplay&) = delete;
  CursesDisplay& operator=(const CursesDisplay&) = delete;

  void refresh() override;
  bool quit_requested() const override { return quit_; }

 private:
  struct KeyPress {
    const void* key;  // devices::KeyCodes
    bool shift, ctrl, alt;
  };
  void read_input();
  void queue_char(int ch);
  void deliver_keys();
  void draw();
  void draw_text_cell(int y, int x, uint16_t cell, bool blink_on);

  Machine& m_;
  void* screen_ = nullptr;  // SCREEN*
  bool utf8_ = false;
  bool colours16_ = false;
  bool has_colours_ = false;
  bool quit_ = false;
  bool escape_ = false;  // Ctrl-A seen
  uint64_t drawn_generation_ = ~0ull;
  std::deque<KeyPress> keys_;
};

}  // namespace popek::frontend
