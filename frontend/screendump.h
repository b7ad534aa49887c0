// Screen dumps as QEMU's monitor writes them: a binary PPM ("P6", the default), a PNG
// (when the file name ends in ".png" or the format is given as "png"), and, for text
// modes, the screen's characters as UTF-8 text, one line per row (".txt").
#pragma once

#include <string>

#include "devices/vga.h"

namespace popek::frontend {

enum class DumpFormat { Ppm, Png, Text };

// The format a file name asks for (by its extension; PPM otherwise), unless `format`
// ("ppm", "png", "txt": the monitor's -f) says otherwise. Empty on an unknown -f value.
bool dump_format(const std::string& file, const std::string& format, DumpFormat& out);

// Write the screen to `file`. Returns an empty string, or a one-line error naming the
// file (a text dump of a graphics mode is an error too). The file is written to a
// temporary name and renamed, so a reader never sees half a picture.
std::string write_screendump(const devices::Vga& vga, const std::string& file, DumpFormat format);

// Encoders, for tests.
std::string encode_ppm(const devices::VgaFrame& f);
std::string encode_png(const devices::VgaFrame& f);
// A code page 437 byte as UTF-8 (control-range bytes as their CP437 graphic glyphs).
std::string cp437_to_utf8(unsigned char c);

}  // namespace popek::frontend
