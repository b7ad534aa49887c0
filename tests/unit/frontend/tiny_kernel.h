// Tiny multiboot kernels for the machine-level frontend tests, and reading back what a run
// wrote to a file.
#pragma once

#include <cstdint>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "frontend/loader.h"

namespace popek::frontend {

// A multiboot kernel in a.out-kludge form: the header, then `code`, loaded at 1 MiB and
// entered at the first code byte.
inline std::vector<uint8_t> kludge_kernel(const std::vector<uint8_t>& code) {
  const uint32_t base = 0x100000, flags = mb::kFlagAoutKludge;
  const uint32_t words[8] = {mb::kHeaderMagic, flags, 0u - mb::kHeaderMagic - flags, base, base,
                             0, 0, base + 32};
  std::vector<uint8_t> k(32);
  std::memcpy(k.data(), words, 32);
  k.insert(k.end(), code.begin(), code.end());
  return k;
}

// The whole contents of the file at `path` ("" when it cannot be read).
inline std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

}  // namespace popek::frontend
