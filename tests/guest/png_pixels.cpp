// png_pixels: does a PNG show the same pixels as a PPM? For the screen-dump tests: popek's
// PNG dumps are compared pixel for pixel with its PPM dumps (whose hashes equal QEMU's).
//
// usage: png_pixels IMAGE.png IMAGE.ppm
// Reads an 8-bit RGB, non-interlaced PNG (any filter type, IDAT chunks concatenated) and
// a binary PPM (P6, maxval 255). Exit status 0 when the sizes and every pixel agree,
// 1 with the first difference named, 2 when a file cannot be read or decoded.
#include <zlib.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace {

struct Image {
  unsigned width = 0, height = 0;
  std::vector<uint8_t> rgb;
};

[[noreturn]] void die(const std::string& what) {
  fprintf(stderr, "png_pixels: %s\n", what.c_str());
  exit(2);
}

std::string slurp(const char* path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) die(std::string(path) + ": cannot open");
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

uint32_t be32(const std::string& s, size_t at) {
  return (static_cast<uint32_t>(static_cast<uint8_t>(s[at])) << 24) | (static_cast<uint8_t>(s[at + 1]) << 16) |
         (static_cast<uint8_t>(s[at + 2]) << 8) | static_cast<uint8_t>(s[at + 3]);
}

uint8_t paeth(int a, int b, int c) {
  const int p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c);
  return static_cast<uint8_t>(pa <= pb && pa <= pc ? a : pb <= pc ? b : c);
}

Image read_png(const char* path) {
  const std::string s = slurp(path);
  if (s.size() < 8 || s.compare(0, 8, std::string("\x89PNG\r\n\x1A\n", 8)) != 0) die(std::string(path) + ": not a PNG");
  Image img;
  std::string idat;
  for (size_t at = 8; at + 12 <= s.size();) {
    const uint32_t len = be32(s, at);
    const std::string type = s.substr(at + 4, 4);
    if (at + 12 + len > s.size()) die(std::string(path) + ": truncated chunk " + type);
    if (type == "IHDR") {
      img.width = be32(s, at + 8);
      img.height = be32(s, at + 12);
      if (s[at + 16] != 8 || s[at + 17] != 2 || s[at + 20] != 0) die(std::string(path) + ": not 8-bit RGB, non-interlaced");
    } else if (type == "IDAT") {
      idat += s.substr(at + 8, len);
    }
    at += 12 + len;
  }
  const size_t stride = static_cast<size_t>(img.width) * 3;
  std::vector<uint8_t> raw((stride + 1) * img.height);
  uLongf raw_len = raw.size();
  if (uncompress(raw.data(), &raw_len, reinterpret_cast<const Bytef*>(idat.data()), idat.size()) != Z_OK ||
      raw_len != raw.size())
    die(std::string(path) + ": image data does not inflate to its size");
  img.rgb.resize(stride * img.height);
  for (unsigned y = 0; y < img.height; ++y) {
    const uint8_t filter = raw[y * (stride + 1)];
    const uint8_t* in = &raw[y * (stride + 1) + 1];
    uint8_t* out = &img.rgb[y * stride];
    const uint8_t* up = y ? out - stride : nullptr;
    for (size_t i = 0; i < stride; ++i) {
      const int a = i >= 3 ? out[i - 3] : 0, b = up ? up[i] : 0, c = (up && i >= 3) ? up[i - 3] : 0;
      int v = in[i];
      switch (filter) {
        case 0: break;
        case 1: v += a; break;
        case 2: v += b; break;
        case 3: v += (a + b) / 2; break;
        case 4: v += paeth(a, b, c); break;
        default: die(std::string(path) + ": bad filter type");
      }
      out[i] = static_cast<uint8_t>(v);
    }
  }
  return img;
}

Image read_ppm(const char* path) {
  const std::string s = slurp(path);
  std::istringstream in(s);
  std::string magic;
  unsigned maxval = 0;
  Image img;
  in >> magic >> img.width >> img.height >> maxval;
  if (magic != "P6" || maxval != 255 || !in) die(std::string(path) + ": not a binary PPM with maxval 255");
  const size_t at = static_cast<size_t>(in.tellg()) + 1;  // one whitespace byte after maxval
  const size_t n = static_cast<size_t>(img.width) * img.height * 3;
  if (s.size() < at + n) die(std::string(path) + ": truncated");
  img.rgb.assign(s.begin() + static_cast<long>(at), s.begin() + static_cast<long>(at + n));
  return img;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s IMAGE.png IMAGE.ppm\n", argv[0]);
    return 2;
  }
  const Image png = read_png(argv[1]), ppm = read_ppm(argv[2]);
  if (png.width != ppm.width || png.height != ppm.height) {
    printf("%s is %ux%u, %s is %ux%u\n", argv[1], png.width, png.height, argv[2], ppm.width, ppm.height);
    return 1;
  }
  for (size_t i = 0; i < png.rgb.size(); i += 3) {
    if (png.rgb[i] != ppm.rgb[i] || png.rgb[i + 1] != ppm.rgb[i + 1] || png.rgb[i + 2] != ppm.rgb[i + 2]) {
      const size_t px = i / 3;
      printf("pixel (%zu, %zu) differs: PNG %02x%02x%02x, PPM %02x%02x%02x\n", px % png.width, px / png.width,
             png.rgb[i], png.rgb[i + 1], png.rgb[i + 2], ppm.rgb[i], ppm.rgb[i + 1], ppm.rgb[i + 2]);
      return 1;
    }
  }
  return 0;
}
