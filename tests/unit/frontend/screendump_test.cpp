// Screen dumps: QEMU's PPM header and bytes, a PNG that zlib can inflate back to the
// pixels, the text of a text mode as UTF-8, format choice by name or -f.
#include <gtest/gtest.h>
#include <zlib.h>

#include <cstring>
#include <algorithm>
#include <fstream>
#include <sstream>

#include "bus/bus.h"
#include "devices/vga.h"
#include "frontend/screendump.h"
#include "temp_files.h"

namespace popek::frontend {
namespace {

devices::VgaFrame small_frame() {
  devices::VgaFrame f;
  f.width = 3;
  f.height = 2;
  for (unsigned i = 0; i < 18; ++i) f.rgb.push_back(static_cast<uint8_t>(i * 13));
  return f;
}

TEST(Screendump, PpmAsQemuWritesIt) {
  const std::string p = encode_ppm(small_frame());
  ASSERT_EQ(p.substr(0, 11), "P6\n3 2\n255\n");
  EXPECT_EQ(p.size(), 11u + 18u);
  EXPECT_EQ(static_cast<uint8_t>(p[11 + 17]), 17u * 13u);
}

TEST(Screendump, PngInflatesToTheFilteredScanLines) {
  const devices::VgaFrame f = small_frame();
  const std::string png = encode_png(f);
  ASSERT_EQ(png.substr(0, 8), std::string("\x89PNG\r\n\x1A\n", 8));
  // IHDR: width 3, height 2, 8-bit RGB.
  EXPECT_EQ(png.substr(12, 4), "IHDR");
  EXPECT_EQ(static_cast<uint8_t>(png[19]), 3u);
  EXPECT_EQ(static_cast<uint8_t>(png[23]), 2u);
  const size_t idat = png.find("IDAT");
  ASSERT_NE(idat, std::string::npos);
  const uint32_t len = (static_cast<uint8_t>(png[idat - 4]) << 24) | (static_cast<uint8_t>(png[idat - 3]) << 16) |
                       (static_cast<uint8_t>(png[idat - 2]) << 8) | static_cast<uint8_t>(png[idat - 1]);
  std::vector<uint8_t> raw(2 * (1 + 9));
  uLongf raw_len = raw.size();
  ASSERT_EQ(uncompress(raw.data(), &raw_len, reinterpret_cast<const Bytef*>(png.data() + idat + 4), len), Z_OK);
  ASSERT_EQ(raw_len, raw.size());
  EXPECT_EQ(raw[0], 0u);  // filter: none
  EXPECT_EQ(std::memcmp(&raw[1], f.rgb.data(), 9), 0);
  EXPECT_EQ(std::memcmp(&raw[11], f.rgb.data() + 9, 9), 0);
  EXPECT_EQ(png.substr(png.size() - 8, 4), "IEND");
}

TEST(Screendump, FormatByNameOrOption) {
  DumpFormat f;
  ASSERT_TRUE(dump_format("a.png", "", f));
  EXPECT_EQ(f, DumpFormat::Png);
  ASSERT_TRUE(dump_format("a.txt", "", f));
  EXPECT_EQ(f, DumpFormat::Text);
  ASSERT_TRUE(dump_format("a.ppm", "", f));
  EXPECT_EQ(f, DumpFormat::Ppm);
  ASSERT_TRUE(dump_format("screen", "png", f));
  EXPECT_EQ(f, DumpFormat::Png);
  EXPECT_FALSE(dump_format("a", "bmp", f));
}

TEST(Screendump, TextOfATextModeInUtf8) {
  bus::Bus bus(1 << 20);
  devices::Vga vga(bus);
  // 80x25 text geometry (mode 3's CRTC values that matter) and three cells.
  auto& s = vga.state;
  s.cr[1] = 0x4F;
  s.cr[7] = 0x1F;
  s.cr[9] = 0x4F;
  s.cr[0x12] = 0x8F;
  s.cr[0x13] = 0x28;
  const char* text = "Hi\xC4";
  for (unsigned i = 0; i < 3; ++i) s.vram[i * 4] = static_cast<uint8_t>(text[i]);
  for (unsigned i = 3; i < 80 * 25; ++i) s.vram[i * 4] = ' ';
  TempFiles files;
  const std::string path = files.path_for("screen.txt");
  ASSERT_EQ(write_screendump(vga, path, DumpFormat::Text), "");
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string got = ss.str();
  EXPECT_EQ(got.substr(0, got.find('\n')), "Hi\xE2\x94\x80");  // C4h is U+2500
  EXPECT_EQ(std::count(got.begin(), got.end(), '\n'), 25);
  s.gr[6] = 1;  // graphics: no text
  EXPECT_NE(write_screendump(vga, path, DumpFormat::Text).find("graphics"), std::string::npos);
}

}  // namespace
}  // namespace popek::frontend
