// A standard VGA adapter (IBM VGA register set, 256 KiB of video memory): ports
// 0x3B0-0x3DF and the legacy memory window 0xA0000-0xBFFFF.
//
// Video memory is four 64 KiB planes. It is kept interleaved, plane p of plane offset o
// at byte 4*o + p, which is how chain-4 (mode 13h) addresses it linearly; odd/even
// (text) accesses reach plane-offset addr >> 1 of planes 0/1 (2/3), planar accesses
// plane-offset addr of the planes the map mask selects. The renderer reads the same
// layout, so what a guest writes in one addressing mode and shows in another agrees.
//
// Memory accesses implement the four write modes (set/reset, rotate, logical function,
// bit mask, latches) and both read modes (plane select, colour compare). The renderer
// turns the current mode into RGB pixels: text modes (8- or 9-dot characters, the font
// in plane 2 with two selectable maps, blink and intensity, the cursor, line-graphics
// ninth column), 16-colour planar modes, the CGA-compatible modes (4 colours by shift
// register interleave, the CRTC's bank substitution of scan lines), 256-colour modes
// chained (13h) or unchained ("mode X"), with the half dot clock, double scan, line
// compare (split screen), start address and pixel panning. Input status 1 follows
// virtual time (vertical retrace at 70 Hz for 400-line timings, 60 Hz for 480 lines).
//
// The display side (frontend/) calls render() and text() at its own pace; neither changes
// guest-visible state. `generation` changes whenever something that shows may have
// changed (video memory or a register), so a display can skip unchanged frames.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "bus/bus.h"

namespace popek::devices {

// The Bochs VBE ("DISPI") registers, ports 0x1CE (index) and 0x1CF (data).
namespace vbe {
constexpr unsigned ID = 0, XRES = 1, YRES = 2, BPP = 3, ENABLE = 4, BANK = 5, VIRT_WIDTH = 6,
                   VIRT_HEIGHT = 7, X_OFFSET = 8, Y_OFFSET = 9, VIDEO_MEMORY_64K = 10, kCount = 10;
constexpr uint16_t ID0 = 0xB0C0, ID5 = 0xB0C5;
constexpr uint16_t ENABLED = 0x01, GETCAPS = 0x02, DAC_8BIT = 0x20, LFB_ENABLED = 0x40, NOCLEARMEM = 0x80;
constexpr uint16_t kMaxXres = 16000, kMaxYres = 12000, kMaxBpp = 32;
}  // namespace vbe

struct VgaState {
  static constexpr uint32_t kVersion = 2;
  static constexpr size_t kVgaMemory = 256 * 1024;
  // Interleaved planes (the first 256 KiB); with the VBE extension in use, the whole
  // linear memory (Vga::kVbeMemory), which the planes begin.
  std::vector<uint8_t> vram = std::vector<uint8_t>(kVgaMemory);
  uint8_t misc = 0;               // miscellaneous output (0x3C2 write, 0x3CC read)
  uint8_t feature = 0;            // feature control (0x3DA/0x3BA write, 0x3CA read)
  uint8_t sr_index = 0;
  std::array<uint8_t, 8> sr{};    // sequencer 0-4 (5-7 read as written, unused)
  uint8_t gr_index = 0;
  std::array<uint8_t, 16> gr{};   // graphics controller 0-8
  uint8_t cr_index = 0;
  std::array<uint8_t, 32> cr{};   // CRT controller 0-0x18
  uint8_t ar_index = 0;           // attribute index, bit 5 = palette address source
  uint8_t ar_flip = 0;            // 0: next 0x3C0 write is an index, 1: data
  std::array<uint8_t, 32> ar{};   // attribute controller 0-0x14
  std::array<uint8_t, 768> dac{}; // 256 entries x (R, G, B), 6 bits each
  uint8_t dac_write_index = 0, dac_read_index = 0, dac_sub = 0;
  uint8_t dac_state = 0;          // 0x3C7 read: 0 after a write-index load, 3 after read
  uint8_t pel_mask = 0xFF;
  uint32_t latch = 0;             // the four planes' bytes of the last read
  uint8_t enable = 1;             // video subsystem enable (0x3C3 bit 0)
  uint16_t vbe_index = 0;
  std::array<uint16_t, vbe::kCount> vbe_regs{vbe::ID5};
  template <class Visitor>
  void visit(Visitor& v) {
    v("vram", vram);
    v("misc", misc);
    v("feature", feature);
    v("sr_index", sr_index);
    v("sr", sr);
    v("gr_index", gr_index);
    v("gr", gr);
    v("cr_index", cr_index);
    v("cr", cr);
    v("ar_index", ar_index);
    v("ar_flip", ar_flip);
    v("ar", ar);
    v("dac", dac);
    v("dac_write_index", dac_write_index);
    v("dac_read_index", dac_read_index);
    v("dac_sub", dac_sub);
    v("dac_state", dac_state);
    v("pel_mask", pel_mask);
    v("latch", latch);
    v("enable", enable);
    v("vbe_index", vbe_index);
    v("vbe_regs", vbe_regs);
  }
};

// A text screen as characters and attributes (what a terminal display draws).
struct VgaTextScreen {
  unsigned cols = 0, rows = 0;
  std::vector<uint16_t> cells;  // row by row: the character (CP437) | attribute << 8
  // Attribute bit 7 blinks the character (else it selects a bright background).
  bool blink_enabled = false;
  bool cursor_visible = false;  // enabled and on the screen
  unsigned cursor_col = 0, cursor_row = 0;
  // The DAC colour (RGB, 8 bits each) of each of the 16 attribute colours.
  std::array<std::array<uint8_t, 3>, 16> colours{};
};

// A rendered screen: RGB, 3 bytes per pixel, rows top to bottom.
struct VgaFrame {
  unsigned width = 0, height = 0;
  std::vector<uint8_t> rgb;
};

class Vga final : public bus::Device, public bus::MmioDevice {
 public:
  static constexpr uint32_t kWindowBase = 0xA0000, kWindowSize = 0x20000;
  // The Bochs VBE extension as QEMU's VGA has it: 16 MiB of video memory, the linear frame
  // buffer at 0xE0000000 (QEMU's ISA address), 64 KiB banks in the A0000 window.
  static constexpr uint16_t kVbeIndexPort = 0x1CE, kVbeDataPort = 0x1CF;
  static constexpr uint32_t kLfbBase = 0xE0000000u, kVbeMemory = 16u << 20;

  explicit Vga(bus::Bus& bus);
  const char* name() const override { return "vga"; }
  // Power-on: registers zero (the VGA BIOS programs a mode), video memory cleared.
  void reset() override;
  uint32_t io_read(uint16_t port, unsigned size) override;
  void io_write(uint16_t port, unsigned size, uint32_t value) override;
  // The memory window: `offset` from 0xA0000; sizes 1, 2, 4 (little-endian bytes).
  uint32_t mem_read(uint32_t offset, unsigned size) override;
  void mem_write(uint32_t offset, unsigned size, uint32_t value) override;

  // --- the display side
  // The current screen. `blink_on`: the phase of blinking text and of the cursor.
  void render(VgaFrame& out, bool blink_on = true) const;
  // In a text mode, the screen's characters (code page 437 bytes), one string per row;
  // false in graphics modes.
  bool text(std::vector<std::string>& rows) const;
  // In a text mode, the screen's cells, cursor and colours; false in graphics modes.
  bool text_screen(VgaTextScreen& out) const;
  bool graphics_mode() const { return (state.gr[6] & 1) || vbe_enabled(); }
  bool vbe_enabled() const { return state.vbe_regs[vbe::ENABLE] & vbe::ENABLED; }
  uint64_t generation = 0;

  VgaState state;

 private:
  // The linear frame buffer's window on the bus (offsets from kLfbBase).
  class Lfb final : public bus::MmioDevice {
   public:
    explicit Lfb(Vga& vga) : vga_(vga) {}
    uint32_t mem_read(uint32_t offset, unsigned size) override;
    void mem_write(uint32_t offset, unsigned size, uint32_t value) override;
   private:
    Vga& vga_;
  };
  uint16_t vbe_read();
  void vbe_write(uint16_t v);
  // Bounds of the VBE registers (as QEMU keeps them) and the VGA registers a VBE mode
  // implies (graphics, chain 4, a 64 KiB window at A0000).
  void vbe_fixup();
  void vbe_update_vga_registers();
  uint32_t vbe_line_bytes() const;
  void grow_to_vbe_memory();
  void render_vbe(VgaFrame& out) const;
  uint8_t read_byte(uint32_t offset);
  void write_byte(uint32_t offset, uint8_t value);
  bool mono() const { return !(state.misc & 1); }  // CRTC and status at 0x3Bx, not 0x3Dx
  uint8_t input_status_1();
  // The RGB colour of DAC entry `i` (6-bit components scaled to 8 bits).
  void dac_rgb(uint8_t i, uint8_t* out) const;
  // Attribute controller: a 4-bit colour to a DAC index.
  uint8_t palette(uint8_t colour) const;
  struct Timing;
  Timing timing() const;
  void render_text(VgaFrame& out, bool blink_on) const;
  void render_graphics(VgaFrame& out) const;

  bus::Bus& bus_;
  Lfb lfb_{*this};
};

}  // namespace popek::devices
