// A character backend that keeps the guest's output in memory.
#pragma once

#include <string>

#include "devices/char_backend.h"

namespace popek::devices {

class CaptureBackend final : public CharBackend {
 public:
  void write(uint8_t byte) override { out.push_back(static_cast<char>(byte)); }
  std::string out;
};

}  // namespace popek::devices
