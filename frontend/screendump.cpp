#include "frontend/screendump.h"

#include <zlib.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <unistd.h>

namespace popek::frontend {

namespace {

// Code page 437 (the VGA BIOS font's encoding), as Unicode code points.
constexpr uint16_t kCp437[256] = {
    0x0020, 0x263A, 0x263B, 0x2665, 0x2666, 0x2663, 0x2660, 0x2022, 0x25D8, 0x25CB, 0x25D9, 0x2642,
    0x2640, 0x266A, 0x266B, 0x263C, 0x25BA, 0x25C4, 0x2195, 0x203C, 0x00B6, 0x00A7, 0x25AC, 0x21A8,
    0x2191, 0x2193, 0x2192, 0x2190, 0x221F, 0x2194, 0x25B2, 0x25BC, 0x0020, 0x0021, 0x0022, 0x0023,
    0x0024, 0x0025, 0x0026, 0x0027, 0x0028, 0x0029, 0x002A, 0x002B, 0x002C, 0x002D, 0x002E, 0x002F,
    0x0030, 0x0031, 0x0032, 0x0033, 0x0034, 0x0035, 0x0036, 0x0037, 0x0038, 0x0039, 0x003A, 0x003B,
    0x003C, 0x003D, 0x003E, 0x003F, 0x0040, 0x0041, 0x0042, 0x0043, 0x0044, 0x0045, 0x0046, 0x0047,
    0x0048, 0x0049, 0x004A, 0x004B, 0x004C, 0x004D, 0x004E, 0x004F, 0x0050, 0x0051, 0x0052, 0x0053,
    0x0054, 0x0055, 0x0056, 0x0057, 0x0058, 0x0059, 0x005A, 0x005B, 0x005C, 0x005D, 0x005E, 0x005F,
    0x0060, 0x0061, 0x0062, 0x0063, 0x0064, 0x0065, 0x0066, 0x0067, 0x0068, 0x0069, 0x006A, 0x006B,
    0x006C, 0x006D, 0x006E, 0x006F, 0x0070, 0x0071, 0x0072, 0x0073, 0x0074, 0x0075, 0x0076, 0x0077,
    0x0078, 0x0079, 0x007A, 0x007B, 0x007C, 0x007D, 0x007E, 0x2302, 0x00C7, 0x00FC, 0x00E9, 0x00E2,
    0x00E4, 0x00E0, 0x00E5, 0x00E7, 0x00EA, 0x00EB, 0x00E8, 0x00EF, 0x00EE, 0x00EC, 0x00C4, 0x00C5,
    0x00C9, 0x00E6, 0x00C6, 0x00F4, 0x00F6, 0x00F2, 0x00FB, 0x00F9, 0x00FF, 0x00D6, 0x00DC, 0x00A2,
    0x00A3, 0x00A5, 0x20A7, 0x0192, 0x00E1, 0x00ED, 0x00F3, 0x00FA, 0x00F1, 0x00D1, 0x00AA, 0x00BA,
    0x00BF, 0x2310, 0x00AC, 0x00BD, 0x00BC, 0x00A1, 0x00AB, 0x00BB, 0x2591, 0x2592, 0x2593, 0x2502,
    0x2524, 0x2561, 0x2562, 0x2556, 0x2555, 0x2563, 0x2551, 0x2557, 0x255D, 0x255C, 0x255B, 0x2510,
    0x2514, 0x2534, 0x252C, 0x251C, 0x2500, 0x253C, 0x255E, 0x255F, 0x255A, 0x2554, 0x2569, 0x2566,
    0x2560, 0x2550, 0x256C, 0x2567, 0x2568, 0x2564, 0x2565, 0x2559, 0x2558, 0x2552, 0x2553, 0x256B,
    0x256A, 0x2518, 0x250C, 0x2588, 0x2584, 0x258C, 0x2590, 0x2580, 0x03B1, 0x00DF, 0x0393, 0x03C0,
    0x03A3, 0x03C3, 0x00B5, 0x03C4, 0x03A6, 0x0398, 0x03A9, 0x03B4, 0x221E, 0x03C6, 0x03B5, 0x2229,
    0x2261, 0x00B1, 0x2265, 0x2264, 0x2320, 0x2321, 0x00F7, 0x2248, 0x00B0, 0x2219, 0x00B7, 0x221A,
    0x207F, 0x00B2, 0x25A0, 0x00A0,
};

void put_be32(std::string& out, uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<char>((v >> s) & 0xFF));
}

void png_chunk(std::string& out, const char type[4], const std::string& data) {
  put_be32(out, static_cast<uint32_t>(data.size()));
  std::string body(type, 4);
  body += data;
  out += body;
  put_be32(out, static_cast<uint32_t>(crc32(0, reinterpret_cast<const Bytef*>(body.data()), static_cast<uInt>(body.size()))));
}

}  // namespace

std::string cp437_to_utf8(unsigned char c) {
  const uint16_t u = kCp437[c];
  std::string s;
  if (u < 0x80) {
    s.push_back(static_cast<char>(u));
  } else if (u < 0x800) {
    s.push_back(static_cast<char>(0xC0 | (u >> 6)));
    s.push_back(static_cast<char>(0x80 | (u & 0x3F)));
  } else {
    s.push_back(static_cast<char>(0xE0 | (u >> 12)));
    s.push_back(static_cast<char>(0x80 | ((u >> 6) & 0x3F)));
    s.push_back(static_cast<char>(0x80 | (u & 0x3F)));
  }
  return s;
}

bool dump_format(const std::string& file, const std::string& format, DumpFormat& out) {
  if (!format.empty()) {
    if (format == "ppm") out = DumpFormat::Ppm;
    else if (format == "png") out = DumpFormat::Png;
    else if (format == "txt") out = DumpFormat::Text;
    else return false;
    return true;
  }
  auto ends = [&file](const char* ext) {
    const size_t n = std::strlen(ext);
    return file.size() > n && file.compare(file.size() - n, n, ext) == 0;
  };
  out = ends(".png") ? DumpFormat::Png : ends(".txt") ? DumpFormat::Text : DumpFormat::Ppm;
  return true;
}

std::string encode_ppm(const devices::VgaFrame& f) {
  std::string out = "P6\n" + std::to_string(f.width) + " " + std::to_string(f.height) + "\n255\n";
  out.append(reinterpret_cast<const char*>(f.rgb.data()), f.rgb.size());
  return out;
}

std::string encode_png(const devices::VgaFrame& f) {
  // Scan lines with filter type 0 (none), deflated by zlib.
  std::string raw;
  raw.reserve((f.width * 3 + 1) * static_cast<size_t>(f.height));
  for (unsigned y = 0; y < f.height; ++y) {
    raw.push_back(0);
    raw.append(reinterpret_cast<const char*>(&f.rgb[static_cast<size_t>(y) * f.width * 3]), f.width * 3);
  }
  uLongf packed_size = compressBound(static_cast<uLong>(raw.size()));
  std::string packed(packed_size, '\0');
  compress2(reinterpret_cast<Bytef*>(packed.data()), &packed_size, reinterpret_cast<const Bytef*>(raw.data()),
            static_cast<uLong>(raw.size()), 6);
  packed.resize(packed_size);
  std::string ihdr;
  put_be32(ihdr, f.width);
  put_be32(ihdr, f.height);
  ihdr += std::string("\x08\x02\x00\x00\x00", 5);  // 8 bits, RGB, deflate, no filter choice, no interlace
  std::string out("\x89PNG\r\n\x1A\n", 8);
  png_chunk(out, "IHDR", ihdr);
  png_chunk(out, "IDAT", packed);
  png_chunk(out, "IEND", "");
  return out;
}

std::string write_screendump(const devices::Vga& vga, const std::string& file, DumpFormat format) {
  std::string data;
  if (format == DumpFormat::Text) {
    std::vector<std::string> rows;
    if (!vga.text(rows)) return "screendump " + file + ": the screen is in a graphics mode (no text to dump)";
    for (const std::string& row : rows) {
      size_t end = row.size();
      while (end > 0 && (row[end - 1] == ' ' || row[end - 1] == '\0')) --end;
      for (size_t i = 0; i < end; ++i) data += cp437_to_utf8(static_cast<unsigned char>(row[i]));
      data.push_back('\n');
    }
  } else {
    devices::VgaFrame frame;
    vga.render(frame);
    data = format == DumpFormat::Png ? encode_png(frame) : encode_ppm(frame);
  }
  const std::string tmp = file + ".tmp";
  FILE* f = fopen(tmp.c_str(), "wb");
  if (!f) return "screendump " + file + ": cannot create " + tmp + ": " + strerror(errno);
  const bool ok = fwrite(data.data(), 1, data.size(), f) == data.size();
  const bool closed = fclose(f) == 0;
  if (!ok || !closed) {
    unlink(tmp.c_str());
    return "screendump " + file + ": write failed: " + strerror(errno);
  }
  if (rename(tmp.c_str(), file.c_str()) != 0) {
    const std::string err = strerror(errno);
    unlink(tmp.c_str());
    return "screendump " + file + ": " + err;
  }
  return {};
}

}  // namespace popek::frontend
