// The VGA through its ports and its memory window: the write and read modes against the
// latches, chain-4 and odd/even addressing, the CRTC write protection, the attribute
// flip-flop, retrace timing on the virtual clock, and the renderer on the standard text
// mode (80x25, 9-dot characters, 720x400) and mode 13h (640x400 scan-out of 320x200).
#include <gtest/gtest.h>

#include <array>
#include <cstring>

#include "bus/bus.h"
#include "devices/vga.h"
#include "irq_recorder.h"

namespace popek::devices {
namespace {

using testing::HandClock;

// The register values the IBM VGA BIOS programs for mode 3 and mode 13h.
struct ModeRegs {
  uint8_t misc;
  std::array<uint8_t, 5> seq;
  std::array<uint8_t, 25> crtc;
  std::array<uint8_t, 9> gc;
  std::array<uint8_t, 21> ac;
};
constexpr ModeRegs kMode3 = {
    0x67,
    {0x03, 0x00, 0x03, 0x00, 0x02},
    {0x5F, 0x4F, 0x50, 0x82, 0x55, 0x81, 0xBF, 0x1F, 0x00, 0x4F, 0x0D, 0x0E, 0x00,
     0x00, 0x00, 0x00, 0x9C, 0x8E, 0x8F, 0x28, 0x1F, 0x96, 0xB9, 0xA3, 0xFF},
    {0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x0E, 0x0F, 0xFF},
    {0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x14, 0x07, 0x38, 0x39, 0x3A, 0x3B, 0x3C,
     0x3D, 0x3E, 0x3F, 0x0C, 0x00, 0x0F, 0x08, 0x00}};
constexpr ModeRegs kMode13 = {
    0x63,
    {0x03, 0x01, 0x0F, 0x00, 0x0E},
    {0x5F, 0x4F, 0x50, 0x82, 0x54, 0x80, 0xBF, 0x1F, 0x00, 0x41, 0x00, 0x00, 0x00,
     0x00, 0x00, 0x00, 0x9C, 0x0E, 0x8F, 0x28, 0x40, 0x96, 0xB9, 0xA3, 0xFF},
    {0x00, 0x00, 0x00, 0x00, 0x00, 0x40, 0x05, 0x0F, 0xFF},
    {0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0A, 0x0B, 0x0C,
     0x0D, 0x0E, 0x0F, 0x41, 0x00, 0x0F, 0x00, 0x00}};

class VgaTest : public ::testing::Test {
 protected:
  uint8_t in(uint16_t port) { return static_cast<uint8_t>(bus.io_read(port, 1)); }
  void out(uint16_t port, uint8_t v) { bus.io_write(port, 1, v); }
  void seq(uint8_t i, uint8_t v) { out(0x3C4, i), out(0x3C5, v); }
  void gc(uint8_t i, uint8_t v) { out(0x3CE, i), out(0x3CF, v); }
  void crtc(uint8_t i, uint8_t v) { out(0x3D4, i), out(0x3D5, v); }
  void set_mode(const ModeRegs& m) {
    out(0x3C2, m.misc);
    for (unsigned i = 0; i < m.seq.size(); ++i) seq(static_cast<uint8_t>(i), m.seq[i]);
    crtc(0x11, 0);  // unlock registers 0-7
    for (unsigned i = 0; i < m.crtc.size(); ++i) crtc(static_cast<uint8_t>(i), m.crtc[i]);
    for (unsigned i = 0; i < m.gc.size(); ++i) gc(static_cast<uint8_t>(i), m.gc[i]);
    (void)in(0x3DA);  // attribute flip-flop to "index"
    for (unsigned i = 0; i < m.ac.size(); ++i) out(0x3C0, static_cast<uint8_t>(i)), out(0x3C0, m.ac[i]);
    out(0x3C0, 0x20);  // palette address source: the screen shows
  }
  void dac(uint8_t i, uint8_t r, uint8_t g, uint8_t b) {
    out(0x3C8, i);
    out(0x3C9, r), out(0x3C9, g), out(0x3C9, b);
  }
  // Planar access to the A0000 window, write mode 0, all planes, bit mask FF.
  void planar() {
    seq(2, 0x0F);
    seq(4, 0x06);
    gc(5, 0x00);
    gc(6, 0x05);
    gc(1, 0x00);
    gc(3, 0x00);
    gc(8, 0xFF);
  }
  uint8_t plane(unsigned p, uint32_t off) const { return vga.state.vram[off * 4 + p]; }
  void put_planes(uint32_t off, uint8_t p0, uint8_t p1, uint8_t p2, uint8_t p3) {
    uint8_t* v = &vga.state.vram[off * 4];
    v[0] = p0, v[1] = p1, v[2] = p2, v[3] = p3;
  }
  static const uint8_t* pixel(const VgaFrame& f, unsigned x, unsigned y) {
    return &f.rgb[(static_cast<size_t>(y) * f.width + x) * 3];
  }

  bus::Bus bus{1 << 20};
  HandClock clock{bus};
  Vga vga{bus};
};

TEST_F(VgaTest, WriteMode0SetResetAndBitMaskAgainstTheLatches) {
  planar();
  put_planes(0x10, 0xF0, 0xF0, 0xF0, 0xF0);
  EXPECT_EQ(vga.mem_read(0x10, 1), 0xF0u);  // read mode 0, plane 0; loads the latches
  gc(1, 0x05);                              // set/reset enabled for planes 0 and 2
  gc(0, 0x01);                              // plane 0 all ones, plane 2 all zeros
  gc(8, 0x3C);                              // only bits 2-5 from the new data
  vga.mem_write(0x10, 1, 0xAA);             // planes 1 and 3 take the CPU byte
  EXPECT_EQ(plane(0, 0x10), 0xFCu);         // F0 with bits 2-5 set
  EXPECT_EQ(plane(1, 0x10), 0xE8u);         // F0 outside the mask, AA's bits 2-5 (1010)
  EXPECT_EQ(plane(2, 0x10), 0xC0u);         // F0 with bits 2-5 cleared
  EXPECT_EQ(plane(3, 0x10), 0xE8u);
}

TEST_F(VgaTest, WriteMode0RotateAndLogicalFunctions) {
  planar();
  put_planes(0x20, 0x0F, 0x0F, 0x0F, 0x0F);
  (void)vga.mem_read(0x20, 1);
  gc(3, 0x01 | (3 << 3));  // rotate right by 1, XOR with the latches
  vga.mem_write(0x20, 1, 0x03);  // rotated: 0x81
  EXPECT_EQ(plane(0, 0x20), 0x8Eu);
  gc(3, 1 << 3);  // AND
  (void)vga.mem_read(0x20, 1);
  vga.mem_write(0x20, 1, 0x0C);
  EXPECT_EQ(plane(2, 0x20), 0x0Cu & 0x8E);
  gc(3, 2 << 3);  // OR
  (void)vga.mem_read(0x20, 1);
  vga.mem_write(0x20, 1, 0x30);
  EXPECT_EQ(plane(3, 0x20), 0x3Cu);
}

TEST_F(VgaTest, WriteMode1CopiesTheLatches) {
  planar();
  put_planes(0x100, 1, 2, 3, 4);
  (void)vga.mem_read(0x100, 1);
  gc(5, 0x01);
  gc(8, 0x00);  // ignored by write mode 1
  vga.mem_write(0x200, 1, 0x55);
  EXPECT_EQ(plane(0, 0x200), 1u);
  EXPECT_EQ(plane(1, 0x200), 2u);
  EXPECT_EQ(plane(2, 0x200), 3u);
  EXPECT_EQ(plane(3, 0x200), 4u);
}

TEST_F(VgaTest, WriteMode2And3) {
  planar();
  (void)vga.mem_read(0x30, 1);  // latches: zeros
  gc(5, 0x02);
  gc(8, 0x81);
  vga.mem_write(0x30, 1, 0x06);  // colour 6: planes 1 and 2, bits 7 and 0
  EXPECT_EQ(plane(0, 0x30), 0x00u);
  EXPECT_EQ(plane(1, 0x30), 0x81u);
  EXPECT_EQ(plane(2, 0x30), 0x81u);
  EXPECT_EQ(plane(3, 0x30), 0x00u);
  gc(5, 0x03);
  gc(0, 0x09);  // set/reset colour 9: planes 0 and 3
  gc(8, 0xF0);
  (void)vga.mem_read(0x40, 1);
  vga.mem_write(0x40, 1, 0x3C);  // mask = F0 & 3C = 30
  EXPECT_EQ(plane(0, 0x40), 0x30u);
  EXPECT_EQ(plane(1, 0x40), 0x00u);
  EXPECT_EQ(plane(3, 0x40), 0x30u);
}

TEST_F(VgaTest, ReadModesSelectAPlaneOrCompareColours) {
  planar();
  put_planes(0x50, 0x0F, 0x33, 0x55, 0xFF);
  gc(4, 2);
  EXPECT_EQ(vga.mem_read(0x50, 1), 0x55u);
  gc(5, 0x08);  // read mode 1
  gc(2, 0x09);  // colour 9: plane 0 and plane 3 set, 1 and 2 clear
  gc(7, 0x0F);
  // bit b matches when p0=1, p1=0, p2=0, p3=1: 0F/33/55/FF -> bits where 0F=1, 33=0, 55=0
  EXPECT_EQ(vga.mem_read(0x50, 1), static_cast<uint32_t>(0x0F & ~0x33 & ~0x55 & 0xFF));
  gc(7, 0x01);  // only plane 0 counts
  EXPECT_EQ(vga.mem_read(0x50, 1), 0x0Fu);
}

TEST_F(VgaTest, MapMaskLimitsWrites) {
  planar();
  seq(2, 0x04);
  vga.mem_write(0x60, 1, 0xAB);
  EXPECT_EQ(plane(0, 0x60), 0u);
  EXPECT_EQ(plane(2, 0x60), 0xABu);
}

TEST_F(VgaTest, Chain4IsLinearAndOddEvenInterleavesPlanes01) {
  set_mode(kMode13);
  vga.mem_write(0x1234, 1, 0x77);
  EXPECT_EQ(vga.state.vram[0x1234], 0x77u);
  EXPECT_EQ(vga.mem_read(0x1234, 1), 0x77u);
  set_mode(kMode3);  // B8000, odd/even
  vga.mem_write(0x18000 + 10, 2, 0x1F41);  // 'A' on blue at cell 5
  EXPECT_EQ(plane(0, 5), 0x41u);
  EXPECT_EQ(plane(1, 5), 0x1Fu);
  EXPECT_EQ(vga.mem_read(0x18000 + 10, 2), 0x1F41u);
  EXPECT_EQ(vga.mem_read(0x0, 1), 0xFFu) << "A0000 is outside the B8000 window";
  vga.mem_write(0x0, 1, 0x12);
  EXPECT_EQ(plane(0, 0), 0u);
}

// Found by the fuzzer: the adapter was not among the bus's devices, so a machine reset
// left its registers and memory as the previous guest had set them.
TEST_F(VgaTest, MachineResetResetsTheAdapter) {
  set_mode(kMode13);
  vga.mem_write(0x10, 1, 0x55);
  bus.reset_devices();
  EXPECT_EQ(vga.state.misc, 0u);
  EXPECT_EQ(vga.state.vram[0x10], 0u);
}

TEST_F(VgaTest, CrtcRegisters0To7AreProtectedByCr11) {
  set_mode(kMode3);
  crtc(0x11, 0x8E);
  crtc(0x01, 0x10);
  EXPECT_EQ(vga.state.cr[1], 0x4Fu);
  crtc(0x07, 0x00);  // only the line compare bit (4) is writable
  EXPECT_EQ(vga.state.cr[7], 0x0Fu);
  crtc(0x11, 0x0E);
  crtc(0x01, 0x10);
  EXPECT_EQ(vga.state.cr[1], 0x10u);
}

TEST_F(VgaTest, MonoOrColourPortsFollowMiscOutput) {
  out(0x3C2, 0x67);
  out(0x3D4, 0x0E);
  EXPECT_EQ(in(0x3D4), 0x0Eu);
  EXPECT_EQ(in(0x3B4), 0xFFu);
  out(0x3C2, 0x66);  // mono
  out(0x3B4, 0x0F);
  EXPECT_EQ(in(0x3B4), 0x0Fu);
  EXPECT_EQ(in(0x3D4), 0xFFu);
}

TEST_F(VgaTest, AttributeFlipFlopAndDacAutoIncrement) {
  out(0x3C2, 0x67);  // colour: input status 1 at 0x3DA
  (void)in(0x3DA);
  out(0x3C0, 0x01);
  out(0x3C0, 0x3F);
  EXPECT_EQ(vga.state.ar[1], 0x3Fu);
  out(0x3C0, 0x02);  // an index again
  (void)in(0x3DA);   // reset: the next write is an index
  out(0x3C0, 0x03);
  out(0x3C0, 0x15);
  EXPECT_EQ(vga.state.ar[3], 0x15u);
  dac(7, 1, 2, 3);
  out(0x3C9, 4);  // entry 8's red
  out(0x3C7, 7);
  EXPECT_EQ(in(0x3C9), 1u);
  EXPECT_EQ(in(0x3C9), 2u);
  EXPECT_EQ(in(0x3C9), 3u);
  EXPECT_EQ(in(0x3C9), 4u);
  EXPECT_EQ(in(0x3C7), 3u);
}

TEST_F(VgaTest, VerticalRetraceFollowsVirtualTime) {
  set_mode(kMode3);
  unsigned retrace = 0, display = 0;
  bool last = false;
  unsigned starts = 0;
  for (uint64_t t = 0; t < 100'000'000; t += 10'000) {  // 100 ms in 10 us steps
    clock.advance_to(t);
    const bool vr = in(0x3DA) & 0x08;
    retrace += vr;
    display += !(in(0x3DA) & 0x01);
    if (vr && !last) ++starts;
    last = vr;
  }
  EXPECT_EQ(starts, 7u) << "70 Hz";
  EXPECT_GT(display, retrace);
}

// The standard text mode: 720x400, a glyph from plane 2, colours through the attribute
// palette and the DAC, the ninth column of line-graphics characters, the cursor.
TEST_F(VgaTest, TextModeRendersGlyphsColoursAndTheNinthDot) {
  set_mode(kMode3);
  dac(0x01, 0, 0, 0x2A);  // blue
  dac(0x3F, 0x3F, 0x3F, 0x3F);
  for (unsigned line = 0; line < 16; ++line) {
    vga.state.vram[((0x41 * 32 + line) << 2) | 2] = line == 3 ? 0x81 : 0x00;  // 'A': one row
    vga.state.vram[((0xC4 * 32 + line) << 2) | 2] = line == 8 ? 0xFF : 0x00;  // a horizontal line
    vga.state.vram[((0xB1 * 32 + line) << 2) | 2] = 0x01;                     // column 7 only
  }
  vga.mem_write(0x18000 + 0, 2, 0x1F41);  // 'A', white on blue
  vga.mem_write(0x18000 + 2, 2, 0x1FC4);
  vga.mem_write(0x18000 + 4, 2, 0x1FB1);
  crtc(0x0A, 0x20);  // cursor off
  VgaFrame f;
  vga.render(f);
  ASSERT_EQ(f.width, 720u);
  ASSERT_EQ(f.height, 400u);
  const uint8_t white[3] = {0xFF, 0xFF, 0xFF}, blue[3] = {0, 0, 0xA8};
  EXPECT_EQ(std::memcmp(pixel(f, 0, 3), white, 3), 0);
  EXPECT_EQ(std::memcmp(pixel(f, 1, 3), blue, 3), 0);
  EXPECT_EQ(std::memcmp(pixel(f, 7, 3), white, 3), 0);
  EXPECT_EQ(std::memcmp(pixel(f, 8, 3), blue, 3), 0) << "ninth dot of an ordinary character";
  EXPECT_EQ(std::memcmp(pixel(f, 9 + 8, 8), white, 3), 0) << "ninth dot of C4h repeats the eighth";
  EXPECT_EQ(std::memcmp(pixel(f, 18 + 7, 0), white, 3), 0);
  EXPECT_EQ(std::memcmp(pixel(f, 18 + 8, 0), blue, 3), 0) << "B1h is not a line-graphics character";
  std::vector<std::string> rows;
  ASSERT_TRUE(vga.text(rows));
  ASSERT_EQ(rows.size(), 25u);
  EXPECT_EQ(rows[0].substr(0, 3), "A\xC4\xB1");
  // The cursor at cell 0, lines 14-15.
  crtc(0x0A, 0x0E);
  crtc(0x0B, 0x0F);
  crtc(0x0E, 0);
  crtc(0x0F, 0);
  vga.render(f);
  EXPECT_EQ(std::memcmp(pixel(f, 4, 14), white, 3), 0);
  EXPECT_EQ(std::memcmp(pixel(f, 4, 13), blue, 3), 0);
}

TEST_F(VgaTest, TextScreenGivesCellsCursorAndColours) {
  set_mode(kMode3);
  dac(0x01, 0, 0, 0x2A);
  crtc(0x0C, 0x00);
  crtc(0x0D, 80);  // start address: the second row of memory
  vga.mem_write(0x18000 + 160, 2, 0x1F41);       // 'A' white on blue, first cell shown
  vga.mem_write(0x18000 + 160 + 2 * 81, 2, 0x8E42);  // 'B' blinking yellow, row 1 column 1
  crtc(0x0A, 0x0E);
  crtc(0x0E, 0x00);
  crtc(0x0F, 80 + 80 + 5);  // the cursor at row 1, column 5 of the screen
  VgaTextScreen t;
  ASSERT_TRUE(vga.text_screen(t));
  EXPECT_EQ(t.cols, 80u);
  EXPECT_EQ(t.rows, 25u);
  EXPECT_EQ(t.cells[0], 0x1F41);
  EXPECT_EQ(t.cells[81], 0x8E42);
  EXPECT_TRUE(t.blink_enabled);
  EXPECT_TRUE(t.cursor_visible);
  EXPECT_EQ(t.cursor_row, 1u);
  EXPECT_EQ(t.cursor_col, 5u);
  EXPECT_EQ(t.colours[1], (std::array<uint8_t, 3>{0, 0, 0xA8}));
  crtc(0x0A, 0x20);  // cursor off
  ASSERT_TRUE(vga.text_screen(t));
  EXPECT_FALSE(t.cursor_visible);
  set_mode(kMode13);
  EXPECT_FALSE(vga.text_screen(t));
}

// The Bochs VBE extension as SeaVGABIOS finds and drives it.
class VbeTest : public VgaTest {
 protected:
  void dispi(uint16_t index, uint16_t v) {
    bus.io_write(0x1CE, 2, index);
    bus.io_write(0x1CF, 2, v);
  }
  uint16_t dispi(uint16_t index) {
    bus.io_write(0x1CE, 2, index);
    return static_cast<uint16_t>(bus.io_read(0x1CF, 2));
  }
  void mode(uint16_t x, uint16_t y, uint16_t bpp, uint16_t enable = vbe::ENABLED | vbe::LFB_ENABLED) {
    dispi(vbe::ENABLE, 0);
    dispi(vbe::BPP, bpp);
    dispi(vbe::XRES, x);
    dispi(vbe::YRES, y);
    dispi(vbe::ENABLE, enable);
  }
};

TEST_F(VbeTest, DetectedAsSeaVgaBiosProbesIt) {
  EXPECT_EQ(dispi(vbe::ID), vbe::ID5) << "power-on interface version";
  dispi(vbe::ID, vbe::ID0);
  EXPECT_EQ(dispi(vbe::ID), vbe::ID0);
  dispi(vbe::ID, 0x1234);
  EXPECT_EQ(dispi(vbe::ID), vbe::ID0) << "an unknown version is not taken";
  EXPECT_EQ(dispi(vbe::VIDEO_MEMORY_64K), 256u) << "16 MiB";
  dispi(vbe::ENABLE, vbe::GETCAPS);
  EXPECT_EQ(dispi(vbe::XRES), vbe::kMaxXres);
  EXPECT_EQ(dispi(vbe::BPP), 32u);
  dispi(vbe::ENABLE, 0);
  EXPECT_EQ(dispi(vbe::XRES), 0u);
}

TEST_F(VbeTest, EnablingSetsTheModeAndTheLinearFrameBufferShowsIt) {
  mode(640, 480, 32);
  EXPECT_TRUE(vga.graphics_mode());
  EXPECT_EQ(dispi(vbe::VIRT_WIDTH), 640u);
  EXPECT_EQ(dispi(vbe::VIRT_HEIGHT), (16u << 20) / (640 * 4));
  bus.write_phys(Vga::kLfbBase + (10 * 640 + 3) * 4, 4, 0x00112233);  // pixel (3, 10): blue 33
  VgaFrame f;
  vga.render(f);
  ASSERT_EQ(f.width, 640u);
  ASSERT_EQ(f.height, 480u);
  const uint8_t want[3] = {0x11, 0x22, 0x33};
  EXPECT_EQ(std::memcmp(pixel(f, 3, 10), want, 3), 0);
  EXPECT_EQ(bus.read_phys(Vga::kLfbBase + (10 * 640 + 3) * 4, 4), 0x00112233u);
  // Panning: the offsets move the visible window over the virtual screen.
  dispi(vbe::Y_OFFSET, 10);
  vga.render(f);
  EXPECT_EQ(std::memcmp(pixel(f, 3, 0), want, 3), 0);
}

TEST_F(VbeTest, BanksWindowTheFrameBufferAtA0000) {
  mode(640, 480, 8);
  dispi(vbe::BANK, 3);
  vga.mem_write(0x1234, 1, 0xAB);  // A1234 in bank 3
  EXPECT_EQ(bus.read_phys(Vga::kLfbBase + 3 * 0x10000 + 0x1234, 1), 0xABu);
  dispi(vbe::BANK, 0);
  EXPECT_EQ(vga.mem_read(0x1234, 1), 0u);
}

TEST_F(VbeTest, SixteenBitPixelsAndAResetBackToVga) {
  mode(64, 8, 16);
  bus.write_phys(Vga::kLfbBase, 2, 0xF81F);  // 5:6:5 magenta
  VgaFrame f;
  vga.render(f);
  const uint8_t magenta[3] = {0xFF, 0x00, 0xFF};
  EXPECT_EQ(std::memcmp(pixel(f, 0, 0), magenta, 3), 0);
  vga.reset();
  EXPECT_FALSE(vga.vbe_enabled());
  EXPECT_EQ(vga.state.vram.size(), VgaState::kVgaMemory) << "a reset gives the VBE memory back";
  EXPECT_EQ(bus.read_phys(Vga::kLfbBase, 2), 0u);
}

TEST_F(VgaTest, Mode13hScansOutEachPixelAsTwoByTwoDots) {
  set_mode(kMode13);
  dac(0x42, 0x3F, 0x00, 0x15);
  vga.mem_write(3 * 320 + 10, 1, 0x42);  // pixel (10, 3)
  VgaFrame f;
  vga.render(f);
  ASSERT_EQ(f.width, 640u);
  ASSERT_EQ(f.height, 400u);
  const uint8_t c[3] = {0xFF, 0x00, 0x57};
  for (unsigned dy = 0; dy < 2; ++dy) {
    for (unsigned dx = 0; dx < 2; ++dx) EXPECT_EQ(std::memcmp(pixel(f, 20 + dx, 6 + dy), c, 3), 0);
  }
  EXPECT_EQ(pixel(f, 22, 6)[0], 0u);
  EXPECT_EQ(pixel(f, 20, 8)[0], 0u);
  std::vector<std::string> rows;
  EXPECT_FALSE(vga.text(rows)) << "no text in a graphics mode";
}

// Unchained 256-colour ("mode X"): plane = x & 3, offset = x / 4, shown like mode 13h.
TEST_F(VgaTest, ModeXShowsPlanarWritesInPixelOrder) {
  set_mode(kMode13);
  seq(4, 0x06);  // chain 4 off
  dac(0x10, 0x3F, 0x3F, 0x3F);
  seq(2, 1u << (13 & 3));
  vga.mem_write(2 * 80 + 13 / 4, 1, 0x10);  // pixel (13, 2)
  VgaFrame f;
  vga.render(f);
  EXPECT_EQ(pixel(f, 26, 4)[0], 0xFFu);
  EXPECT_EQ(pixel(f, 24, 4)[0], 0x00u);
}

// Mode 12h-style planar 16 colours: a pixel's colour is one bit from each plane.
TEST_F(VgaTest, PlanarSixteenColours) {
  set_mode(kMode13);
  seq(4, 0x06);
  seq(1, 0x01);
  gc(5, 0x00);
  (void)in(0x3DA);
  out(0x3C0, 0x10), out(0x3C0, 0x01);  // attribute mode: graphics, no 256-colour
  out(0x3C0, 0x05), out(0x3C0, 0x3A);  // colour 5 -> DAC 3Ah
  out(0x3C0, 0x20);
  dac(0x3A, 0x3F, 0x3F, 0x00);
  put_planes(0, 0x80, 0x00, 0x80, 0x00);  // pixel 0: colour 5
  VgaFrame f;
  vga.render(f);
  EXPECT_EQ(pixel(f, 0, 0)[0], 0xFFu);
  EXPECT_EQ(pixel(f, 0, 0)[2], 0x00u);
  EXPECT_EQ(pixel(f, 1, 0)[0], 0x00u);
}

}  // namespace
}  // namespace popek::devices
