// An IrqSink for device tests: records every level change with the virtual time it
// happened at, and drives a hand-advanced virtual clock.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "bus/bus.h"

namespace popek::devices::testing {

struct IrqEdge {
  unsigned irq;
  bool level;
  uint64_t ns;
  bool operator==(const IrqEdge&) const = default;
};

class IrqRecorder final : public bus::IrqSink {
 public:
  explicit IrqRecorder(bus::Bus& bus) : bus_(bus) { bus.attach_irq_sink(this); }
  void set_irq(unsigned irq, bool level) override {
    if (level == levels[irq]) return;
    levels[irq] = level;
    edges.push_back({irq, level, bus_.clock().now_ns()});
  }
  // Rising edges of `irq`, as virtual times.
  std::vector<uint64_t> rises(unsigned irq) const {
    std::vector<uint64_t> v;
    for (const auto& e : edges)
      if (e.irq == irq && e.level) v.push_back(e.ns);
    return v;
  }
  bool levels[16] = {};
  std::vector<IrqEdge> edges;

 private:
  bus::Bus& bus_;
};

// Virtual time in ns = `icount` (shift 0); advance() runs whatever falls due, one event
// time at a time, so each event sees now_ns() equal to its deadline.
class HandClock {
 public:
  explicit HandClock(bus::Bus& bus) : bus_(bus) { bus.clock().attach(&icount, 0); }
  void advance_to(uint64_t ns) {
    while (bus_.clock().next_deadline_ns() <= ns) {
      icount = std::max(icount, bus_.clock().next_deadline_ns());
      bus_.clock().run_due();
    }
    icount = ns;
    bus_.clock().run_due();
  }
  void advance(uint64_t ns) { advance_to(icount + ns); }
  uint64_t icount = 0;

 private:
  bus::Bus& bus_;
};

}  // namespace popek::devices::testing
