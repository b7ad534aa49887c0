// The one small interface every device model implements.
#pragma once

#include <cstdint>

namespace popek::bus {

class Device {
 public:
  virtual ~Device() = default;
  virtual const char* name() const = 0;
  // Power-on / hardware reset state.
  virtual void reset() = 0;
  // Port I/O. `port` is the absolute port number; size is 1, 2 or 4.
  virtual uint32_t io_read(uint16_t port, unsigned size) = 0;
  virtual void io_write(uint16_t port, unsigned size, uint32_t value) = 0;
};

// A device's memory-mapped registers or memory, the same read/write shape as its ports:
// `offset` from the start of its window, size 1, 2 or 4, little-endian.
class MmioDevice {
 public:
  virtual ~MmioDevice() = default;
  virtual uint32_t mem_read(uint32_t offset, unsigned size) = 0;
  virtual void mem_write(uint32_t offset, unsigned size, uint32_t value) = 0;
};

}  // namespace popek::bus
