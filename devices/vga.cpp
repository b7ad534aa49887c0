#include "devices/vga.h"

#include <algorithm>
#include <cstring>

namespace popek::devices {

namespace {

// Register indices (IBM VGA names).
namespace sr {
constexpr unsigned CLOCKING = 1, MAP_MASK = 2, CHAR_MAP = 3, MEMORY_MODE = 4;
}
namespace gr {
constexpr unsigned SET_RESET = 0, ENABLE_SET_RESET = 1, COLOR_COMPARE = 2, ROTATE = 3,
                   READ_MAP = 4, MODE = 5, MISC = 6, DONT_CARE = 7, BIT_MASK = 8;
}
namespace cr {
constexpr unsigned H_DISPLAY_END = 1, OVERFLOW = 7, MAX_SCAN = 9, CURSOR_START = 0x0A,
                   CURSOR_END = 0x0B, START_HI = 0x0C, START_LO = 0x0D, CURSOR_HI = 0x0E,
                   CURSOR_LO = 0x0F, V_SYNC_END = 0x11, V_DISPLAY_END = 0x12, OFFSET = 0x13,
                   UNDERLINE = 0x14, MODE_CONTROL = 0x17, LINE_COMPARE = 0x18, kCount = 0x19;
}
namespace ar {
constexpr unsigned MODE = 0x10, OVERSCAN = 0x11, PLANE_ENABLE = 0x12, PANNING = 0x13,
                   COLOR_SELECT = 0x14, kCount = 0x15;
}

// Byte p of the result is 0xFF when bit p of `v` is set: four planes' worth of one bit.
constexpr uint32_t expand4(unsigned v) {
  return (v & 1 ? 0x000000FFu : 0) | (v & 2 ? 0x0000FF00u : 0) | (v & 4 ? 0x00FF0000u : 0) |
         (v & 8 ? 0xFF000000u : 0);
}

// 6-bit DAC components to 8 bits, as QEMU scales them (so screendumps compare equal).
uint8_t c6_to_8(uint8_t v) {
  v &= 0x3F;
  const uint8_t b = v & 1;
  return static_cast<uint8_t>((v << 2) | (b << 1) | b);
}

// The default DAC contents are zeros; the VGA BIOS loads a palette at every mode set.

}  // namespace

// Scan-out geometry of the current mode, from the CRT controller and the sequencer.
struct Vga::Timing {
  unsigned char_clocks;  // characters (8 or 9 dots) per displayed line
  unsigned lines;        // displayed scan lines
  unsigned max_scan;     // scan lines per character row (text) or per pixel row (graphics)
  bool double_scan;
  uint32_t start;        // start address (plane offset)
  uint32_t line_offset;  // plane bytes from one row to the next
  unsigned line_compare;
};

Vga::Timing Vga::timing() const {
  const auto& c = state.cr;
  Timing t;
  t.char_clocks = c[cr::H_DISPLAY_END] + 1u;
  t.lines = (c[cr::V_DISPLAY_END] | ((c[cr::OVERFLOW] & 0x02u) << 7) | ((c[cr::OVERFLOW] & 0x40u) << 3)) + 1u;
  t.max_scan = (c[cr::MAX_SCAN] & 0x1Fu) + 1;
  t.double_scan = c[cr::MAX_SCAN] & 0x80;
  t.start = (static_cast<uint32_t>(c[cr::START_HI]) << 8) | c[cr::START_LO];
  t.line_offset = c[cr::OFFSET] * 2u;
  t.line_compare = c[cr::LINE_COMPARE] | ((c[cr::OVERFLOW] & 0x10u) << 4) | ((c[cr::MAX_SCAN] & 0x40u) << 3);
  return t;
}

Vga::Vga(bus::Bus& bus) : bus_(bus) {
  bus_.register_io(this, 0x3B0, 0x30);
  bus_.register_io(this, kVbeIndexPort, 2);
  bus_.map_mmio(kLfbBase, kVbeMemory, &lfb_);
  bus_.add_device(this);  // a machine reset resets the adapter (as QEMU's system_reset)
  reset();
}

void Vga::reset() {
  state = VgaState{};
  ++generation;
}

// ------------------------------------------------------------------ ports

uint8_t Vga::input_status_1() {
  // 400-line timings run at 70 Hz (449 lines), 480-line ones at 60 Hz (525 lines); a line
  // lasts 1/31469 s. Vertical retrace: two lines, ten lines after the display ends.
  const Timing t = timing();
  const uint64_t line_ns = 1'000'000'000ull / 31469;
  const uint64_t total = t.lines > 400 ? 525 : 449;
  const uint64_t now = bus_.clock().now_ns() % (total * line_ns);
  const uint64_t line = now / line_ns, in_line = now % line_ns;
  const bool vretrace = line >= t.lines + 10 && line < t.lines + 12;
  const bool blank = line >= t.lines || in_line >= line_ns * 4 / 5;
  state.ar_flip = 0;
  return static_cast<uint8_t>((vretrace ? 0x08 : 0) | (blank ? 0x01 : 0));
}

uint32_t Vga::io_read(uint16_t port, unsigned size) {
  if (port == kVbeIndexPort || port == kVbeDataPort) {
    if (size != 2) bus_.log().guest_error("vbe-port-size", "vbe: %u-byte read of port 0x%03x (a 16-bit register)", size, port);
    return port == kVbeIndexPort ? state.vbe_index : vbe_read();
  }
  if (size > 1) {  // an 8-bit device: a word access is two byte accesses
    uint32_t v = 0;
    for (unsigned i = 0; i < size; ++i) v |= io_read(static_cast<uint16_t>(port + i), 1) << (8 * i);
    return v;
  }
  VgaState& s = state;
  // The CRT controller and input status 1 answer at 0x3Dx (colour) or 0x3Bx (mono).
  if ((port >= 0x3B0 && port <= 0x3BF && !mono()) || (port >= 0x3D0 && port <= 0x3DF && mono())) {
    return 0xFF;
  }
  switch (port) {
    case 0x3C0: return s.ar_index;
    case 0x3C1: return (s.ar_index & 0x1F) < ar::kCount ? s.ar[s.ar_index & 0x1F] : 0;
    case 0x3C2: return 0;  // input status 0: no switch sense, no pending vertical interrupt
    case 0x3C3: return s.enable;
    case 0x3C4: return s.sr_index;
    case 0x3C5: return s.sr[s.sr_index & 7];
    case 0x3C6: return s.pel_mask;
    case 0x3C7: return s.dac_state;
    case 0x3C8: return s.dac_write_index;
    case 0x3C9: {
      const uint8_t v = s.dac[s.dac_read_index * 3u + s.dac_sub];
      if (++s.dac_sub == 3) {
        s.dac_sub = 0;
        ++s.dac_read_index;
      }
      return v;
    }
    case 0x3CA: return s.feature;
    case 0x3CC: return s.misc;
    case 0x3CE: return s.gr_index;
    case 0x3CF: return s.gr[s.gr_index & 0x0F];
    case 0x3B4: case 0x3D4: return s.cr_index;
    case 0x3B5: case 0x3D5: return s.cr_index < cr::kCount ? s.cr[s.cr_index] : 0xFF;
    case 0x3BA: case 0x3DA: return input_status_1();
    default:
      bus_.log().unimp("vga-port-read", "vga: read of port 0x%03x (no such register): 0xFF", port);
      return 0xFF;
  }
}

void Vga::io_write(uint16_t port, unsigned size, uint32_t value) {
  if (port == kVbeIndexPort || port == kVbeDataPort) {
    if (size != 2) bus_.log().guest_error("vbe-port-size", "vbe: %u-byte write to port 0x%03x (a 16-bit register)", size, port);
    ++generation;
    if (port == kVbeIndexPort) state.vbe_index = static_cast<uint16_t>(value);
    else vbe_write(static_cast<uint16_t>(value));
    return;
  }
  if (size > 1) {  // an index and its data in one OUT DX, AX
    for (unsigned i = 0; i < size; ++i) io_write(static_cast<uint16_t>(port + i), 1, (value >> (8 * i)) & 0xFF);
    return;
  }
  VgaState& s = state;
  const uint8_t v = static_cast<uint8_t>(value);
  if ((port >= 0x3B0 && port <= 0x3BF && !mono()) || (port >= 0x3D0 && port <= 0x3DF && mono())) {
    bus_.log().guest_error("vga-inactive-port", "vga: write of 0x%02x to port 0x%03x, which the %s "
                           "setting of the misc output register disables", v, port, mono() ? "mono" : "colour");
    return;
  }
  ++generation;
  switch (port) {
    case 0x3C0:
      if (s.ar_flip == 0) {
        s.ar_index = v & 0x3F;
      } else {
        const unsigned i = s.ar_index & 0x1F;
        if (i < 0x10) s.ar[i] = v & 0x3F;
        else if (i == ar::MODE) s.ar[i] = v & ~0x10;
        else if (i == ar::OVERSCAN) s.ar[i] = v;
        else if (i == ar::PLANE_ENABLE) s.ar[i] = v & 0x3F;
        else if (i == ar::PANNING || i == ar::COLOR_SELECT) s.ar[i] = v & 0x0F;
        else bus_.log().guest_error("vga-ar-index", "vga: write of 0x%02x to attribute register 0x%02x (none)", v, i);
      }
      s.ar_flip ^= 1;
      return;
    case 0x3C2: s.misc = v; return;
    case 0x3C3: s.enable = v & 1; return;
    case 0x3C4: s.sr_index = v; return;
    case 0x3C5:
      if ((s.sr_index & 7) > sr::MEMORY_MODE) {
        bus_.log().guest_error("vga-sr-index", "vga: write of 0x%02x to sequencer register %u (none)", v, s.sr_index);
      }
      s.sr[s.sr_index & 7] = v;
      return;
    case 0x3C6: s.pel_mask = v; return;
    case 0x3C7: s.dac_read_index = v; s.dac_sub = 0; s.dac_state = 3; return;
    case 0x3C8: s.dac_write_index = v; s.dac_sub = 0; s.dac_state = 0; return;
    case 0x3C9:
      s.dac[s.dac_write_index * 3u + s.dac_sub] = (s.vbe_regs[vbe::ENABLE] & vbe::DAC_8BIT) ? v : v & 0x3F;
      if (++s.dac_sub == 3) {
        s.dac_sub = 0;
        ++s.dac_write_index;
      }
      return;
    case 0x3CE: s.gr_index = v; return;
    case 0x3CF:
      if ((s.gr_index & 0x0F) > gr::BIT_MASK) {
        bus_.log().guest_error("vga-gr-index", "vga: write of 0x%02x to graphics register %u (none)", v, s.gr_index);
      }
      s.gr[s.gr_index & 0x0F] = v;
      return;
    case 0x3B4: case 0x3D4: s.cr_index = v; return;
    case 0x3B5: case 0x3D5:
      if (s.cr_index >= cr::kCount) {
        bus_.log().guest_error("vga-cr-index", "vga: write of 0x%02x to CRT controller register 0x%02x (none)", v, s.cr_index);
        return;
      }
      // Registers 0-7 are write-protected while CR11 bit 7 is set, except the line
      // compare bit in the overflow register.
      if ((s.cr[cr::V_SYNC_END] & 0x80) && s.cr_index <= cr::OVERFLOW) {
        if (s.cr_index == cr::OVERFLOW) s.cr[cr::OVERFLOW] = (s.cr[cr::OVERFLOW] & ~0x10) | (v & 0x10);
        return;
      }
      s.cr[s.cr_index] = v;
      return;
    case 0x3BA: case 0x3DA: s.feature = v; return;
    default:
      bus_.log().unimp("vga-port-write", "vga: write of 0x%02x to port 0x%03x (no such register) ignored", v, port);
      return;
  }
}

// ------------------------------------------------------------------ memory window

uint32_t Vga::mem_read(uint32_t offset, unsigned size) {
  uint32_t v = 0;
  for (unsigned i = 0; i < size; ++i) v |= static_cast<uint32_t>(read_byte(offset + i)) << (8 * i);
  return v;
}

void Vga::mem_write(uint32_t offset, unsigned size, uint32_t value) {
  for (unsigned i = 0; i < size; ++i) write_byte(offset + i, static_cast<uint8_t>(value >> (8 * i)));
  ++generation;
}

// The address within the window the graphics controller's memory map selects, or -1
// when `offset` lies outside it (reads all ones, writes are dropped).
static int64_t map_address(const VgaState& s, uint32_t offset) {
  const int64_t o = offset;
  switch ((s.gr[gr::MISC] >> 2) & 3) {
    case 0: return o;                                          // A0000-BFFFF
    case 1:                                                    // A0000-AFFFF, a VBE bank
      if (o >= 0x10000) return -1;
      return (s.vbe_regs[vbe::ENABLE] & vbe::ENABLED) ? o + (static_cast<int64_t>(s.vbe_regs[vbe::BANK]) << 16) : o;
    case 2: return o >= 0x10000 && o < 0x18000 ? o - 0x10000 : -1;  // B0000-B7FFF
    default: return o >= 0x18000 ? o - 0x18000 : -1;          // B8000-BFFFF
  }
}

uint8_t Vga::read_byte(uint32_t offset) {
  VgaState& s = state;
  const int64_t m = map_address(s, offset);
  if (m < 0) return 0xFF;
  const uint32_t a = static_cast<uint32_t>(m);
  if (s.sr[sr::MEMORY_MODE] & 0x08) {  // chain 4: linear (beyond 256 KiB: a VBE bank)
    return a < 0x40000 ? s.vram[a] : a < s.vram.size() ? s.vram[a] : 0xFF;
  }
  if (s.gr[gr::MODE] & 0x10) {                                    // odd/even
    const unsigned plane = (s.gr[gr::READ_MAP] & 2) | (a & 1);
    return s.vram[(((a >> 1) << 2) | plane) & 0x3FFFF];
  }
  const uint32_t o = (a & 0xFFFF) << 2;
  std::memcpy(&s.latch, &s.vram[o], 4);
  if (!(s.gr[gr::MODE] & 0x08)) return static_cast<uint8_t>(s.latch >> (8 * (s.gr[gr::READ_MAP] & 3)));
  // Read mode 1: a bit is set where every plane the don't-care register keeps equals
  // the colour compare register's bit for that plane.
  uint32_t diff = (s.latch ^ expand4(s.gr[gr::COLOR_COMPARE] & 0xF)) & expand4(s.gr[gr::DONT_CARE] & 0xF);
  diff |= diff >> 16;
  diff |= diff >> 8;
  return static_cast<uint8_t>(~diff);
}

void Vga::write_byte(uint32_t offset, uint8_t v) {
  VgaState& s = state;
  const int64_t m = map_address(s, offset);
  if (m < 0) return;
  const uint32_t a = static_cast<uint32_t>(m);
  const uint8_t map_mask = s.sr[sr::MAP_MASK] & 0x0F;
  if (s.sr[sr::MEMORY_MODE] & 0x08) {  // chain 4 (beyond 256 KiB: a VBE bank)
    if ((map_mask & (1u << (a & 3))) && a < s.vram.size()) s.vram[a] = v;
    return;
  }
  if (!(s.sr[sr::MEMORY_MODE] & 0x04)) {  // odd/even: even bytes to planes 0/2, odd to 1/3
    const unsigned plane = (s.gr[gr::READ_MAP] & 2) | (a & 1);
    if (map_mask & (1u << plane)) s.vram[(((a >> 1) << 2) | plane) & 0x3FFFF] = v;
    return;
  }
  // Planar: the write modes, the ALU against the latches, the bit mask.
  const unsigned rotate = s.gr[gr::ROTATE] & 7;
  const uint8_t rotated = static_cast<uint8_t>((v >> rotate) | (v << ((8 - rotate) & 7)));
  uint32_t data;
  uint8_t bit_mask = s.gr[gr::BIT_MASK];
  switch (s.gr[gr::MODE] & 3) {
    case 0: {
      const uint32_t enable = expand4(s.gr[gr::ENABLE_SET_RESET] & 0xF);
      data = (rotated * 0x01010101u & ~enable) | (expand4(s.gr[gr::SET_RESET] & 0xF) & enable);
      break;
    }
    case 1:  // the latches, unchanged by the ALU and the bit mask
      data = s.latch;
      bit_mask = 0xFF;
      break;
    case 2:
      data = expand4(v & 0xF);
      break;
    default:  // 3: the rotated byte ANDed with the bit mask masks the set/reset colour
      bit_mask &= rotated;
      data = expand4(s.gr[gr::SET_RESET] & 0xF);
      break;
  }
  if ((s.gr[gr::MODE] & 3) != 1) {
    switch ((s.gr[gr::ROTATE] >> 3) & 3) {
      case 1: data &= s.latch; break;
      case 2: data |= s.latch; break;
      case 3: data ^= s.latch; break;
      default: break;
    }
  }
  const uint32_t mask = bit_mask * 0x01010101u;
  data = (data & mask) | (s.latch & ~mask);
  const uint32_t o = (a & 0xFFFF) << 2;
  for (unsigned p = 0; p < 4; ++p) {
    if (map_mask & (1u << p)) s.vram[o + p] = static_cast<uint8_t>(data >> (8 * p));
  }
}

// ------------------------------------------------------------------ rendering

void Vga::dac_rgb(uint8_t i, uint8_t* out) const {
  const uint8_t* e = &state.dac[(i & state.pel_mask) * 3u];
  if (state.vbe_regs[vbe::ENABLE] & vbe::DAC_8BIT) {  // a VBE 8-bit DAC: as written
    out[0] = e[0], out[1] = e[1], out[2] = e[2];
    return;
  }
  out[0] = c6_to_8(e[0]);
  out[1] = c6_to_8(e[1]);
  out[2] = c6_to_8(e[2]);
}

uint8_t Vga::palette(uint8_t colour) const {
  const auto& a = state.ar;
  const uint8_t v = a[colour & 0x0F];
  if (a[ar::MODE] & 0x80) return static_cast<uint8_t>(((a[ar::COLOR_SELECT] & 0x0F) << 4) | (v & 0x0F));
  return static_cast<uint8_t>(((a[ar::COLOR_SELECT] & 0x0C) << 4) | (v & 0x3F));
}

void Vga::render(VgaFrame& out, bool blink_on) const {
  if (vbe_enabled()) render_vbe(out);
  else if (graphics_mode()) render_graphics(out);
  else render_text(out, blink_on);
}

void Vga::render_text(VgaFrame& out, bool blink_on) const {
  const VgaState& s = state;
  const Timing t = timing();
  const unsigned cw = (s.sr[sr::CLOCKING] & 0x01) ? 8 : 9;
  const unsigned ch_lines = t.max_scan * (t.double_scan ? 2 : 1);  // output lines per row
  const unsigned cols = t.char_clocks, rows = std::max(1u, t.lines / ch_lines);
  out.width = cols * cw;
  out.height = rows * ch_lines;
  out.rgb.assign(static_cast<size_t>(out.width) * out.height * 3, 0);
  const uint8_t cmap = s.sr[sr::CHAR_MAP];
  const uint32_t font_a = ((((cmap >> 5) & 1u) | ((cmap >> 1) & 6u)) * 8192u);
  const uint32_t font_b = ((((cmap >> 4) & 1u) | ((cmap << 1) & 6u)) * 8192u);
  const uint32_t cursor = (static_cast<uint32_t>(s.cr[cr::CURSOR_HI]) << 8) | s.cr[cr::CURSOR_LO];
  const bool cursor_on = blink_on && !(s.cr[cr::CURSOR_START] & 0x20);
  const unsigned cur_first = s.cr[cr::CURSOR_START] & 0x1F, cur_last = s.cr[cr::CURSOR_END] & 0x1F;
  const bool blink_attr = s.ar[ar::MODE] & 0x08, line_graphics = s.ar[ar::MODE] & 0x04;
  uint8_t colours[16][3];
  for (unsigned i = 0; i < 16; ++i) dac_rgb(palette(static_cast<uint8_t>(i)), colours[i]);
  for (unsigned r = 0; r < rows; ++r) {
    for (unsigned c = 0; c < cols; ++c) {
      const uint32_t cell = (t.start + r * t.line_offset + c) & 0xFFFF;
      const uint8_t ch = s.vram[cell << 2], at = s.vram[(cell << 2) | 1];
      unsigned fg = at & 0x0F, bg = at >> 4;
      if (blink_attr) {
        bg &= 7;
        if ((at & 0x80) && !blink_on) fg = bg;
      }
      const uint32_t font = (at & 0x08) ? font_a : font_b;
      const bool cursor_here = cursor_on && cell == (cursor & 0xFFFF);
      for (unsigned y = 0; y < ch_lines; ++y) {
        const unsigned scan = t.double_scan ? y / 2 : y;
        uint8_t bits = s.vram[(((font + ch * 32u + scan) & 0xFFFF) << 2) | 2];
        if (cursor_here && scan >= cur_first && scan <= cur_last) bits = 0xFF;
        uint8_t* px = &out.rgb[((static_cast<size_t>(r) * ch_lines + y) * out.width + c * cw) * 3];
        for (unsigned x = 0; x < cw; ++x) {
          bool on;
          if (x < 8) on = bits & (0x80 >> x);
          else on = line_graphics && ch >= 0xC0 && ch <= 0xDF && (bits & 1);  // the ninth dot
          std::memcpy(px + x * 3, colours[on ? fg : bg], 3);
        }
      }
    }
  }
}

void Vga::render_graphics(VgaFrame& out) const {
  const VgaState& s = state;
  const Timing t = timing();
  const unsigned shift = (s.gr[gr::MODE] >> 5) & 3;  // 0: 16 colours, 1: CGA 4 colours, 2+: 256
  // Half dot clock (modes 4, 5 and 0Dh): each dot is drawn twice, as QEMU draws it.
  const unsigned dot = (s.sr[sr::CLOCKING] & 0x08) ? 2 : 1;
  out.width = t.char_clocks * 8 * dot;
  out.height = t.lines;
  out.rgb.assign(static_cast<size_t>(out.width) * out.height * 3, 0);
  const unsigned scan_repeat = t.double_scan ? 2 : 1;
  const unsigned repeat = t.max_scan * scan_repeat;  // output lines per memory row
  const uint8_t plane_enable = s.ar[ar::PLANE_ENABLE] & 0x0F;
  const unsigned pan = s.ar[ar::PANNING] & 7;
  // CGA compatibility (CRTC mode control bits 0 and 1 clear): bits 0 and 1 of the row
  // scan counter replace address bits 13 and 14, so that scan lines alternate between
  // memory banks. Bit 13 of the address the CRTC puts out, which in word mode (odd/even
  // memory, kept here at plane offset = CPU address / 2) is plane offset bit 12.
  const uint8_t mode_control = s.cr[cr::MODE_CONTROL];
  const unsigned bank_bit = (mode_control & 0x40) ? 13 : 12;
  uint8_t colours16[16][3];
  for (unsigned i = 0; i < 16; ++i) dac_rgb(palette(static_cast<uint8_t>(i)), colours16[i]);
  uint32_t line_start = t.start;
  unsigned row_line = 0;  // output line within the current memory row
  for (unsigned y = 0; y < out.height; ++y) {
    if (y == t.line_compare) {  // split screen: the rest shows memory from address 0
      line_start = 0;
      row_line = 0;
    }
    const unsigned row_scan = row_line / scan_repeat;
    uint32_t bank_clear = 0, bank_set = 0;
    if (!(mode_control & 0x01)) bank_clear |= 1u << bank_bit, bank_set |= (row_scan & 1u) << bank_bit;
    if (!(mode_control & 0x02)) bank_clear |= 2u << bank_bit, bank_set |= ((row_scan >> 1) & 1u) << (bank_bit + 1);
    const auto plane_offset = [&](uint32_t column) {
      return (((line_start + column) & ~bank_clear) | bank_set) & 0xFFFF;
    };
    uint8_t* px = &out.rgb[static_cast<size_t>(y) * out.width * 3];
    for (unsigned x = 0; x < out.width; ++x) {
      uint8_t rgb[3];
      if (shift >= 2) {  // 256 colours: a pixel is two dots
        const uint32_t i = ((line_start << 2) + x / 2) & 0x3FFFF;
        dac_rgb(s.vram[i], rgb);
      } else if (shift == 0) {
        const unsigned p = x / dot + pan;
        const uint32_t o = plane_offset(p / 8) << 2;
        const unsigned bit = 7 - (p & 7);
        unsigned colour = 0;
        for (unsigned plane = 0; plane < 4; ++plane) colour |= ((s.vram[o + plane] >> bit) & 1u) << plane;
        std::memcpy(rgb, colours16[colour & plane_enable], 3);
      } else {
        // CGA 4 colours (shift register interleave): 2 bits a pixel, leftmost first; a
        // plane offset holds 8 pixels, 4 in plane 0 (the even CPU byte) then 4 in
        // plane 1, with planes 2 and 3 giving the colour's upper bits likewise.
        const unsigned p = x / dot;
        const uint32_t o = plane_offset(p / 8) << 2;
        const unsigned k = p & 7, half = k >> 2, bits = 6 - 2 * (k & 3);
        const unsigned colour = ((s.vram[o + half] >> bits) & 3u) | (((s.vram[o + 2 + half] >> bits) & 3u) << 2);
        std::memcpy(rgb, colours16[colour & plane_enable], 3);
      }
      std::memcpy(px + x * 3, rgb, 3);
    }
    if (++row_line == repeat) {
      row_line = 0;
      line_start += t.line_offset;
    }
  }
}

// ------------------------------------------------------------------ the VBE extension

void Vga::grow_to_vbe_memory() {
  if (state.vram.size() < kVbeMemory) state.vram.resize(kVbeMemory, 0);
}

uint32_t Vga::vbe_line_bytes() const {
  const auto& r = state.vbe_regs;
  return r[vbe::BPP] == 4 ? r[vbe::VIRT_WIDTH] / 2u : r[vbe::VIRT_WIDTH] * ((r[vbe::BPP] + 7u) / 8u);
}

uint16_t Vga::vbe_read() {
  const auto& r = state.vbe_regs;
  const unsigned i = state.vbe_index;
  if (i == vbe::VIDEO_MEMORY_64K) return static_cast<uint16_t>(kVbeMemory >> 16);
  if (i >= vbe::kCount) {
    bus_.log().guest_error("vbe-index", "vbe: read of register %u (none): 0", i);
    return 0;
  }
  if (r[vbe::ENABLE] & vbe::GETCAPS) {  // the maxima instead of the current values
    if (i == vbe::XRES) return vbe::kMaxXres;
    if (i == vbe::YRES) return vbe::kMaxYres;
    if (i == vbe::BPP) return vbe::kMaxBpp;
  }
  return r[i];
}

void Vga::vbe_write(uint16_t v) {
  auto& r = state.vbe_regs;
  const unsigned i = state.vbe_index;
  switch (i) {
    case vbe::ID:
      if (v >= vbe::ID0 && v <= vbe::ID5) r[vbe::ID] = v;
      else bus_.log().guest_error("vbe-id", "vbe: interface version 0x%04x (not B0C0-B0C5) ignored", v);
      return;
    case vbe::XRES: case vbe::YRES: case vbe::BPP: case vbe::VIRT_WIDTH: case vbe::X_OFFSET: case vbe::Y_OFFSET:
      r[i] = v;
      vbe_fixup();
      vbe_update_vga_registers();
      return;
    case vbe::BANK:
      r[vbe::BANK] = static_cast<uint16_t>(v & ((kVbeMemory >> 16) - 1));
      return;
    case vbe::ENABLE: {
      const bool was = r[vbe::ENABLE] & vbe::ENABLED;
      if ((v & vbe::ENABLED) && !was) {
        grow_to_vbe_memory();
        r[vbe::VIRT_WIDTH] = r[vbe::XRES];
        r[vbe::VIRT_HEIGHT] = r[vbe::YRES];
        r[vbe::X_OFFSET] = r[vbe::Y_OFFSET] = 0;
        r[vbe::ENABLE] |= vbe::ENABLED;
        vbe_fixup();
        vbe_update_vga_registers();
        if (!(v & vbe::NOCLEARMEM)) {
          const size_t n = std::min<size_t>(static_cast<size_t>(r[vbe::VIRT_HEIGHT]) * vbe_line_bytes(), state.vram.size());
          std::memset(state.vram.data(), 0, n);
        }
      } else if (!(v & vbe::ENABLED)) {
        r[vbe::BANK] = 0;
      }
      r[vbe::ENABLE] = v;
      return;
    }
    default:
      bus_.log().guest_error("vbe-index", "vbe: write of 0x%04x to register %u (none or read-only) ignored", v, i);
      return;
  }
}

void Vga::vbe_fixup() {
  auto& r = state.vbe_regs;
  const uint16_t bpp = r[vbe::BPP];
  if (bpp != 4 && bpp != 8 && bpp != 15 && bpp != 16 && bpp != 24 && bpp != 32) r[vbe::BPP] = 8;
  r[vbe::XRES] = static_cast<uint16_t>(std::clamp<unsigned>(r[vbe::XRES], 8, vbe::kMaxXres) & ~7u);
  r[vbe::YRES] = static_cast<uint16_t>(std::clamp<unsigned>(r[vbe::YRES], 1, vbe::kMaxYres));
  r[vbe::VIRT_WIDTH] = static_cast<uint16_t>(std::clamp<unsigned>(r[vbe::VIRT_WIDTH], r[vbe::XRES], vbe::kMaxXres) & ~7u);
  // No taller than the memory holds (as QEMU): a mode is at most 16 MiB of pixels, so
  // neither the guest nor a display can ask for more.
  const uint32_t line = std::max(vbe_line_bytes(), 1u);
  const uint32_t max_y = std::min<uint32_t>(kVbeMemory / line, 0xFFFF);
  if (r[vbe::YRES] > max_y) r[vbe::YRES] = static_cast<uint16_t>(max_y);
  r[vbe::VIRT_HEIGHT] = static_cast<uint16_t>(max_y);
  r[vbe::X_OFFSET] = static_cast<uint16_t>(std::min<unsigned>(r[vbe::X_OFFSET], r[vbe::VIRT_WIDTH] - r[vbe::XRES]));
  r[vbe::Y_OFFSET] = static_cast<uint16_t>(std::min<unsigned>(r[vbe::Y_OFFSET], r[vbe::VIRT_HEIGHT] - r[vbe::YRES]));
}

void Vga::vbe_update_vga_registers() {
  auto& s = state;
  const auto& r = s.vbe_regs;
  if (!(r[vbe::ENABLE] & vbe::ENABLED)) return;
  s.gr[gr::MISC] = static_cast<uint8_t>((s.gr[gr::MISC] & ~0x0C) | 0x05);  // graphics, A0000-AFFFF
  s.cr[cr::MODE_CONTROL] |= 3;                                               // no CGA banks
  s.cr[cr::OFFSET] = static_cast<uint8_t>(vbe_line_bytes() >> 3);
  s.cr[cr::H_DISPLAY_END] = static_cast<uint8_t>((r[vbe::XRES] >> 3) - 1);
  const unsigned h = r[vbe::YRES] - 1u;
  s.cr[cr::V_DISPLAY_END] = static_cast<uint8_t>(h);
  s.cr[cr::OVERFLOW] = static_cast<uint8_t>((s.cr[cr::OVERFLOW] & ~0x42) | ((h >> 7) & 0x02) | ((h >> 3) & 0x40) | 0x10);
  s.cr[cr::LINE_COMPARE] = 0xFF;
  s.cr[cr::MAX_SCAN] = static_cast<uint8_t>((s.cr[cr::MAX_SCAN] | 0x40) & ~0x9F);  // no double scan
  unsigned shift = 0;
  if (r[vbe::BPP] != 4) {
    shift = 2;
    s.sr[sr::MEMORY_MODE] |= 0x08;  // chain 4, all planes written
    s.sr[sr::MAP_MASK] = 0x0F;
    s.sr[sr::CLOCKING] &= ~0x08;
  }
  s.gr[gr::MODE] = static_cast<uint8_t>((s.gr[gr::MODE] & ~0x60) | (shift << 5));
}

uint32_t Vga::Lfb::mem_read(uint32_t offset, unsigned size) {
  const auto& vram = vga_.state.vram;
  uint32_t v = 0;
  for (unsigned i = 0; i < size; ++i) {
    const uint32_t a = offset + i;
    v |= static_cast<uint32_t>(a < vram.size() ? vram[a] : 0) << (8 * i);
  }
  return v;
}

void Vga::Lfb::mem_write(uint32_t offset, unsigned size, uint32_t value) {
  if (offset + size > VgaState::kVgaMemory) vga_.grow_to_vbe_memory();
  auto& vram = vga_.state.vram;
  for (unsigned i = 0; i < size; ++i) {
    if (offset + i < vram.size()) vram[offset + i] = static_cast<uint8_t>(value >> (8 * i));
  }
  ++vga_.generation;
}

void Vga::render_vbe(VgaFrame& out) const {
  const auto& r = state.vbe_regs;
  const unsigned bpp = r[vbe::BPP];
  out.width = r[vbe::XRES];
  out.height = r[vbe::YRES];
  out.rgb.assign(static_cast<size_t>(out.width) * out.height * 3, 0);
  if (bpp == 4) {
    bus_.log().unimp("vbe-4bpp", "vbe: 4-bit planar VBE modes are not drawn; the screen shows black");
    return;
  }
  const unsigned bytes = (bpp + 7) / 8;
  const size_t line = vbe_line_bytes();
  const size_t start = static_cast<size_t>(r[vbe::Y_OFFSET]) * line + static_cast<size_t>(r[vbe::X_OFFSET]) * bytes;
  const std::vector<uint8_t>& vram = state.vram;
  for (unsigned y = 0; y < out.height; ++y) {
    uint8_t* px = &out.rgb[static_cast<size_t>(y) * out.width * 3];
    const size_t row = start + y * line;
    if (row + static_cast<size_t>(out.width) * bytes > vram.size()) break;  // memory not grown: black
    const uint8_t* p = &vram[row];
    for (unsigned x = 0; x < out.width; ++x, p += bytes, px += 3) {
      // 5- and 6-bit components to 8 bits with their top bits repeated below (as QEMU's
      // screen dumps have them).
      const auto c5 = [](unsigned c) { return static_cast<uint8_t>((c << 3) | (c >> 2)); };
      const auto c6 = [](unsigned c) { return static_cast<uint8_t>((c << 2) | (c >> 4)); };
      switch (bpp) {
        case 8: dac_rgb(p[0], px); break;
        case 15: {
          const unsigned v = p[0] | (p[1] << 8);
          px[0] = c5((v >> 10) & 31), px[1] = c5((v >> 5) & 31), px[2] = c5(v & 31);
          break;
        }
        case 16: {
          const unsigned v = p[0] | (p[1] << 8);
          px[0] = c5((v >> 11) & 31), px[1] = c6((v >> 5) & 63), px[2] = c5(v & 31);
          break;
        }
        default:  // 24 and 32: blue, green, red in memory order
          px[0] = p[2], px[1] = p[1], px[2] = p[0];
          break;
      }
    }
  }
}

bool Vga::text(std::vector<std::string>& rows_out) const {
  VgaTextScreen screen;
  if (!text_screen(screen)) return false;
  rows_out.assign(screen.rows, std::string());
  for (unsigned r = 0; r < screen.rows; ++r) {
    for (unsigned c = 0; c < screen.cols; ++c) {
      rows_out[r].push_back(static_cast<char>(screen.cells[r * screen.cols + c] & 0xFF));
    }
  }
  return true;
}

bool Vga::text_screen(VgaTextScreen& out) const {
  if (graphics_mode()) return false;
  const Timing t = timing();
  const unsigned ch_lines = t.max_scan * (t.double_scan ? 2 : 1);
  out.cols = t.char_clocks;
  out.rows = std::max(1u, t.lines / ch_lines);
  out.cells.assign(out.cols * out.rows, 0);
  for (unsigned r = 0; r < out.rows; ++r) {
    for (unsigned c = 0; c < out.cols; ++c) {
      const uint32_t cell = (t.start + r * t.line_offset + c) & 0xFFFF;
      out.cells[r * out.cols + c] =
          static_cast<uint16_t>(state.vram[cell << 2] | (state.vram[(cell << 2) + 1] << 8));
    }
  }
  out.blink_enabled = state.ar[ar::MODE] & 0x08;
  const uint32_t cursor = ((static_cast<uint32_t>(state.cr[cr::CURSOR_HI]) << 8) | state.cr[cr::CURSOR_LO]) & 0xFFFF;
  const uint32_t rel = (cursor - t.start) & 0xFFFF;
  out.cursor_visible = false;
  if (!(state.cr[cr::CURSOR_START] & 0x20) && t.line_offset != 0) {
    out.cursor_row = rel / t.line_offset;
    out.cursor_col = rel % t.line_offset;
    out.cursor_visible = out.cursor_row < out.rows && out.cursor_col < out.cols;
  }
  for (unsigned i = 0; i < 16; ++i) {
    uint8_t rgb[3];
    dac_rgb(palette(static_cast<uint8_t>(i)), rgb);
    out.colours[i] = {rgb[0], rgb[1], rgb[2]};
  }
  return true;
}

}  // namespace popek::devices
