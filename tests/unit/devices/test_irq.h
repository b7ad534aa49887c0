// Helpers for device tests: an interrupt controller that records line levels and a way
// to move virtual time forward.
#pragma once

#include <cstdint>
#include <vector>

#include "bus/bus.h"

namespace popek::devices {

// Records the level of each IRQ line and every low-to-high transition.
class RecordingPic final : public bus::IrqSink {
 public:
  void set_irq(unsigned irq, bool level) override {
    if (level && !levels[irq]) ++edges[irq];
    levels[irq] = level;
    ++calls;
  }
  bool levels[16] = {};
  unsigned edges[16] = {};
  unsigned calls = 0;
};

// Drives a bus's clock from a counter (1 ns per count), running events in order.
class TestClock {
 public:
  explicit TestClock(bus::Bus& bus) : clock_(bus.clock()) { clock_.attach(&now_, 0); }
  uint64_t now() const { return now_; }
  // Advance virtual time by `ns`, running every event that falls due on the way.
  void advance(uint64_t ns) {
    const uint64_t target = now_ + ns;
    for (;;) {
      const uint64_t next = clock_.next_deadline_ns();
      if (next > target) break;
      if (next > now_) now_ = next;
      clock_.run_due();
    }
    now_ = target;
    clock_.run_due();
  }

 private:
  bus::Clock& clock_;
  uint64_t now_ = 0;
};

}  // namespace popek::devices
