// -bios: a raw firmware image.
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "frontend/loader.h"

namespace popek::frontend {

std::vector<uint8_t> read_image(const char* option, const std::string& path) {
  const std::string what = std::string(option) + " " + path + ": ";
  FILE* f = fopen(path.c_str(), "rb");
  if (!f) throw LoadError(what + std::strerror(errno));
  std::vector<uint8_t> data;
  uint8_t buf[65536];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
    data.insert(data.end(), buf, buf + n);
    if (data.size() > (4ull << 30)) break;
  }
  const bool err = ferror(f);
  fclose(f);
  if (err) throw LoadError(what + "read error");
  if (data.empty()) throw LoadError(what + "file is empty");
  return data;
}

void load_bios(bus::Bus& bus, const std::string& path) {
  std::vector<uint8_t> image = read_image("-bios", path);
  if (image.size() % kBiosGranule != 0 || image.size() > kBiosMaxSize) {
    throw LoadError("-bios " + path + ": size " + std::to_string(image.size()) +
                    " bytes: a firmware image must be a multiple of 4 KiB, at most 1 MiB");
  }
  bus.map_bios(std::move(image));
}

}  // namespace popek::frontend
