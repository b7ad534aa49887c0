// vbe_pattern: does a screen dump show what tests/guest/bootsector/vga_vbe.asm drew? The
// expected picture is computed here from the program's own definition, independently of
// the emulator: the frame buffer byte at offset o is (o & 0FFh) XOR ((o >> 8) & 0FFh)
// XOR (((o >> 16) * 7) & 0FFh); pixels are 8-bit indices into the guest's palette (entry
// i = (i & 3Fh, (i >> 2) & 3Fh, 3Fh - (i & 3Fh)), 6-bit DAC), 16-bit 5:6:5 or 24-bit
// blue-green-red, lines packed (bytes per line = width * bytes per pixel).
//
// usage: vbe_pattern IMAGE.ppm BITS_PER_PIXEL
// 6-bit DAC values become 8 bits as a VGA screen dump has them ((v << 2) | twice bit 0);
// 5- and 6-bit components with their top bits repeated below.
// Exit status 0 when every pixel agrees, 1 with the first difference, 2 on bad input.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace {

uint8_t fb(size_t o) { return static_cast<uint8_t>((o & 0xFF) ^ ((o >> 8) & 0xFF) ^ (((o >> 16) * 7) & 0xFF)); }
uint8_t c6_to_8(unsigned v) { return static_cast<uint8_t>((v << 2) | ((v & 1) << 1) | (v & 1)); }
uint8_t c5(unsigned c) { return static_cast<uint8_t>((c << 3) | (c >> 2)); }
uint8_t c6(unsigned c) { return static_cast<uint8_t>((c << 2) | (c >> 4)); }

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s IMAGE.ppm BITS_PER_PIXEL\n", argv[0]);
    return 2;
  }
  const unsigned bpp = static_cast<unsigned>(atoi(argv[2]));
  if (bpp != 8 && bpp != 16 && bpp != 24) {
    fprintf(stderr, "vbe_pattern: bits per pixel must be 8, 16 or 24\n");
    return 2;
  }
  std::ifstream f(argv[1], std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  const std::string s = ss.str();
  std::istringstream in(s);
  std::string magic;
  unsigned w = 0, h = 0, maxval = 0;
  in >> magic >> w >> h >> maxval;
  if (!f || magic != "P6" || maxval != 255 || !in) {
    fprintf(stderr, "vbe_pattern: %s: not a binary PPM\n", argv[1]);
    return 2;
  }
  const size_t at = static_cast<size_t>(in.tellg()) + 1;
  if (s.size() < at + static_cast<size_t>(w) * h * 3) {
    fprintf(stderr, "vbe_pattern: %s: truncated\n", argv[1]);
    return 2;
  }
  const unsigned bytes = bpp / 8;
  for (unsigned y = 0; y < h; ++y) {
    for (unsigned x = 0; x < w; ++x) {
      const size_t o = (static_cast<size_t>(y) * w + x) * bytes;
      uint8_t want[3];
      if (bpp == 8) {
        const unsigned i = fb(o);
        want[0] = c6_to_8(i & 0x3F), want[1] = c6_to_8((i >> 2) & 0x3F), want[2] = c6_to_8(0x3F - (i & 0x3F));
      } else if (bpp == 16) {
        const unsigned v = fb(o) | (fb(o + 1) << 8);
        want[0] = c5((v >> 11) & 31), want[1] = c6((v >> 5) & 63), want[2] = c5(v & 31);
      } else {
        want[0] = fb(o + 2), want[1] = fb(o + 1), want[2] = fb(o);
      }
      const auto* got = reinterpret_cast<const uint8_t*>(s.data() + at + (static_cast<size_t>(y) * w + x) * 3);
      if (got[0] != want[0] || got[1] != want[1] || got[2] != want[2]) {
        printf("pixel (%u, %u) of %s: %02x%02x%02x, want %02x%02x%02x\n", x, y, argv[1], got[0], got[1], got[2],
               want[0], want[1], want[2]);
        return 1;
      }
    }
  }
  return 0;
}
