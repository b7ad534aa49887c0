#include "frontend/curses_display.h"

#ifndef NCURSES_WIDECHAR
#define NCURSES_WIDECHAR 1
#endif
#include <curses.h>
#include <langinfo.h>
#include <unistd.h>

#include <array>
#include <clocale>
#include <cstring>

#include "devices/keys.h"
#include "devices/vga.h"
#include "frontend/machine.h"
#include "frontend/screendump.h"

namespace popek::frontend {

namespace {

// Keys waiting for the guest at most; more typed ahead are dropped (and logged).
constexpr size_t kMaxQueuedKeys = 1024;

// The terminal's colour for each of the VGA's 8 base colours (attribute order: black,
// blue, green, cyan, red, magenta, brown, light grey).
constexpr short kCursesColour[8] = {COLOR_BLACK, COLOR_BLUE, COLOR_GREEN, COLOR_CYAN,
                                    COLOR_RED,   COLOR_MAGENTA, COLOR_YELLOW, COLOR_WHITE};

// The Unicode code point of a UTF-8 sequence (the glyphs of cp437_to_utf8).
wchar_t decode_utf8(const std::string& s) {
  const auto b = [&](size_t i) { return static_cast<unsigned char>(s[i]); };
  if (s.empty()) return L' ';
  if (b(0) < 0x80) return b(0);
  if ((b(0) & 0xE0) == 0xC0 && s.size() >= 2) return ((b(0) & 0x1F) << 6) | (b(1) & 0x3F);
  if ((b(0) & 0xF0) == 0xE0 && s.size() >= 3)
    return ((b(0) & 0x0F) << 12) | ((b(1) & 0x3F) << 6) | (b(2) & 0x3F);
  return L'?';
}

// An ASCII stand-in for a code page 437 character on a terminal without UTF-8.
wchar_t ascii_of_cp437(uint8_t c) {
  if (c >= 0x20 && c < 0x7F) return c;
  if (c == 0 || c == 0xFF) return L' ';
  if (c == 0xC4 || c == 0xCD) return L'-';
  if (c == 0xB3 || c == 0xBA) return L'|';
  if (c >= 0xB0 && c <= 0xDA) return L'+';
  if (c >= 0xDB && c <= 0xDF) return L'#';
  return L'?';
}

std::array<wchar_t, 256> glyph_table(bool utf8) {
  std::array<wchar_t, 256> t{};
  for (unsigned c = 0; c < 256; ++c) {
    const auto byte = static_cast<uint8_t>(c);
    t[c] = utf8 ? decode_utf8(cp437_to_utf8(byte)) : ascii_of_cp437(byte);
  }
  t[0] = L' ';
  return t;
}

}  // namespace

CursesDisplay::CursesDisplay(Machine& machine) : m_(machine) {
  if (!isatty(0) || !isatty(1))
    throw DisplayError("-display curses: standard input and output must be a terminal");
  setlocale(LC_CTYPE, "");
  utf8_ = std::strcmp(nl_langinfo(CODESET), "UTF-8") == 0;
  SCREEN* screen = newterm(nullptr, stdout, stdin);
  if (!screen) {
    const char* term = getenv("TERM");
    throw DisplayError(std::string("-display curses: unknown terminal type '") + (term ? term : "") + "'");
  }
  screen_ = screen;
  raw();  // Ctrl-C and Ctrl-Z are keys for the guest, as on QEMU's curses display
  noecho();
  nonl();
  nodelay(stdscr, TRUE);
  keypad(stdscr, TRUE);
  set_escdelay(25);
  if (has_colors() && start_color() == OK) {
    has_colours_ = true;
    colours16_ = COLORS >= 16 && COLOR_PAIRS >= 257;
    const int n = colours16_ ? 16 : 8;
    for (int bg = 0; bg < n; ++bg) {
      for (int fg = 0; fg < n; ++fg) {
        const short f = static_cast<short>(kCursesColour[fg & 7] + (fg & 8));
        const short b = static_cast<short>(kCursesColour[bg & 7] + (bg & 8));
        init_pair(static_cast<short>(1 + fg + n * bg), f, b);
      }
    }
  }
  erase();
}

CursesDisplay::~CursesDisplay() {
  if (!screen_) return;
  endwin();
  delscreen(static_cast<SCREEN*>(screen_));
}

void CursesDisplay::refresh() {
  read_input();
  deliver_keys();
  draw();
}

// ------------------------------------------------------------------ input

void CursesDisplay::read_input() {
  wint_t ch;
  int kind;
  while ((kind = wget_wch(stdscr, &ch)) != ERR) {
    if (kind == KEY_CODE_YES) {
      const char* name = nullptr;
      bool shift = false;
      switch (ch) {
        case KEY_UP: name = "up"; break;
        case KEY_DOWN: name = "down"; break;
        case KEY_LEFT: name = "left"; break;
        case KEY_RIGHT: name = "right"; break;
        case KEY_SR: name = "up", shift = true; break;
        case KEY_SF: name = "down", shift = true; break;
        case KEY_SLEFT: name = "left", shift = true; break;
        case KEY_SRIGHT: name = "right", shift = true; break;
        case KEY_HOME: name = "home"; break;
        case KEY_END: name = "end"; break;
        case KEY_PPAGE: name = "pgup"; break;
        case KEY_NPAGE: name = "pgdn"; break;
        case KEY_IC: name = "insert"; break;
        case KEY_DC: name = "delete"; break;
        case KEY_BACKSPACE: name = "backspace"; break;
        case KEY_ENTER: name = "kp_enter"; break;
        case KEY_BTAB: name = "tab", shift = true; break;
        case KEY_RESIZE:
          drawn_generation_ = ~0ull;  // draw everything again at the new size
          clearok(stdscr, TRUE);
          continue;
        default:
          if (ch >= static_cast<wint_t>(KEY_F(1)) && ch <= static_cast<wint_t>(KEY_F(12))) {
            static const char* kF[] = {"f1", "f2", "f3", "f4", "f5", "f6", "f7", "f8", "f9", "f10", "f11", "f12"};
            name = kF[ch - KEY_F(1)];
          }
          break;
      }
      if (!name) {
        m_.bus().log().unimp("curses-key", "curses: terminal key code %u has no PC key", static_cast<unsigned>(ch));
        continue;
      }
      if (keys_.size() < kMaxQueuedKeys) keys_.push_back({devices::find_key(name), shift, false, false});
      continue;
    }
    if (escape_) {  // Ctrl-A seen: x ends popek, a sends Ctrl-A
      escape_ = false;
      if (ch == 'x' || ch == 'X') {
        quit_ = true;
        return;
      }
      if (ch == 'a' || ch == 1) queue_char(1);
      continue;
    }
    if (ch == 1) {
      escape_ = true;
      continue;
    }
    if (ch == 0x1B) {  // Esc, or Alt+key (the terminal sends Esc first)
      wint_t next;
      if (wget_wch(stdscr, &next) == OK && next != 0x1B && next < 0x80) {
        const size_t before = keys_.size();
        queue_char(static_cast<int>(next));
        if (keys_.size() > before) keys_.back().alt = true;
        continue;
      }
      queue_char(0x1B);
      continue;
    }
    if (ch >= 0x80) {
      m_.bus().log().unimp("curses-char", "curses: no key of a US keyboard types U+%04X", static_cast<unsigned>(ch));
      continue;
    }
    queue_char(static_cast<int>(ch));
  }
}

void CursesDisplay::queue_char(int c) {
  KeyPress k{nullptr, false, false, false};
  bool shift = false;
  if (const devices::KeyCodes* key = devices::key_for_char(static_cast<char>(c), shift)) {
    k.key = key;
    k.shift = shift;
  } else if (c >= 1 && c <= 26) {  // Ctrl-letter
    k.key = devices::find_key(std::string(1, static_cast<char>('a' + c - 1)));
    k.ctrl = true;
  } else if (c == 0 || (c >= 28 && c <= 31)) {  // Ctrl-@ Ctrl-\ Ctrl-] Ctrl-^ Ctrl-_
    static const char* kCtrl[] = {"backslash", "bracket_right", "6", "minus"};
    k.key = devices::find_key(c == 0 ? "2" : kCtrl[c - 28]);
    k.ctrl = true;
  }
  if (!k.key) return;
  if (keys_.size() >= kMaxQueuedKeys) {
    m_.bus().log().guest_error("curses-typeahead", "curses: %zu keys wait for the guest; key dropped", keys_.size());
    return;
  }
  keys_.push_back(k);
}

void CursesDisplay::deliver_keys() {
  devices::I8042& kbc = m_.kbc();
  // One key at a time, once the guest has taken the previous one's bytes: the keyboard's
  // buffer holds 16 bytes and a person typing ahead loses nothing.
  if (keys_.empty() || kbc.state.kbd.count != 0) return;
  const KeyPress k = keys_.front();
  keys_.pop_front();
  const auto* key = static_cast<const devices::KeyCodes*>(k.key);
  const devices::KeyCodes* mods[3] = {k.ctrl ? devices::find_key("ctrl") : nullptr,
                                      k.alt ? devices::find_key("alt") : nullptr,
                                      k.shift ? devices::find_key("shift") : nullptr};
  for (const devices::KeyCodes* mod : mods) {
    if (mod) m_.input_key(*mod, true);
  }
  if (!m_.input_key(*key, true)) {
    m_.bus().log().unimp("curses-set3", "curses: the keyboard is in scan code set 3, which popek does not produce");
    return;
  }
  m_.input_key(*key, false);
  for (int i = 2; i >= 0; --i) {
    if (mods[i]) m_.input_key(*mods[i], false);
  }
}

// ------------------------------------------------------------------ drawing

void CursesDisplay::draw_text_cell(int y, int x, uint16_t cell, bool blink_enabled) {
  static const std::array<wchar_t, 256> kUtf8 = glyph_table(true), kAscii = glyph_table(false);
  const uint8_t attr = static_cast<uint8_t>(cell >> 8);
  const unsigned fg = attr & 0x0F;
  const unsigned bg = blink_enabled ? (attr >> 4) & 7 : attr >> 4;
  attr_t a = A_NORMAL;
  short pair = 0;
  if (has_colours_) {
    if (colours16_) {
      pair = static_cast<short>(1 + fg + 16 * bg);
    } else {
      pair = static_cast<short>(1 + (fg & 7) + 8 * (bg & 7));
      if (fg & 8) a |= A_BOLD;
    }
  } else if (((attr >> 4) & 7) != 0 && (attr & 7) == 0) {
    a |= A_REVERSE;  // dark on light: the usual highlight
  }
  if (blink_enabled && (attr & 0x80)) a |= A_BLINK;
  const wchar_t glyph[2] = {(utf8_ ? kUtf8 : kAscii)[cell & 0xFF], L'\0'};
  cchar_t cc;
  setcchar(&cc, glyph, a, pair, nullptr);
  mvadd_wch(y, x, &cc);
}

void CursesDisplay::draw() {
  devices::Vga* vga = m_.vga();
  const uint64_t gen = vga ? vga->generation : 0;
  if (gen == drawn_generation_) return;
  drawn_generation_ = gen;
  devices::VgaTextScreen t;
  if (!vga) {
    erase();
    mvaddstr(0, 0, "popek: no display adapter (-vga none)");
    curs_set(0);
  } else if (!vga->text_screen(t)) {
    devices::VgaFrame frame;
    vga->render(frame);
    erase();
    const std::string notice = "popek: the guest is in a graphics mode (" + std::to_string(frame.width) + "x" +
                               std::to_string(frame.height) + "); screendump or -vnc shows it";
    mvaddstr(0, 0, notice.c_str());
    curs_set(0);
  } else {
    erase();  // a smaller mode leaves nothing behind (curses sends only what changed)
    const int rows = std::min<int>(static_cast<int>(t.rows), LINES);
    const int cols = std::min<int>(static_cast<int>(t.cols), COLS);
    for (int y = 0; y < rows; ++y) {
      for (int x = 0; x < cols; ++x) draw_text_cell(y, x, t.cells[y * t.cols + x], t.blink_enabled);
    }
    const bool cursor = t.cursor_visible && static_cast<int>(t.cursor_row) < rows &&
                        static_cast<int>(t.cursor_col) < cols;
    if (cursor) move(static_cast<int>(t.cursor_row), static_cast<int>(t.cursor_col));
    curs_set(cursor ? 1 : 0);
  }
  wnoutrefresh(stdscr);
  doupdate();
}

}  // namespace popek::frontend
