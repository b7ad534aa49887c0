// A temporary raw disk image whose sector N is filled with the byte N (mod 256).
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace popek::devices {

struct TempImage {
  explicit TempImage(uint64_t sectors) {
    std::string tmpl = ::testing::TempDir() + "/disk-XXXXXX";
    std::vector<char> name(tmpl.begin(), tmpl.end());
    name.push_back('\0');
    const int fd = mkstemp(name.data());
    if (fd < 0) throw std::runtime_error("mkstemp failed");
    path = name.data();
    std::vector<uint8_t> sector(512);
    for (uint64_t s = 0; s < sectors; ++s) {
      std::fill(sector.begin(), sector.end(), static_cast<uint8_t>(s));
      if (write(fd, sector.data(), sector.size()) != 512) throw std::runtime_error("write failed");
    }
    close(fd);
  }
  ~TempImage() { unlink(path.c_str()); }
  // The byte at `offset` in the file now.
  int byte_at(uint64_t offset) const {
    FILE* f = fopen(path.c_str(), "rb");
    if (!f) return -1;
    fseek(f, static_cast<long>(offset), SEEK_SET);
    const int c = fgetc(f);
    fclose(f);
    return c;
  }
  std::string path;
};

}  // namespace popek::devices
