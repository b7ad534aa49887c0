// The virtual clock and its event queue.
//
// Guest time is a function of retired instructions: now_ns() = (instructions + idle) <<
// shift, where `idle` counts the instruction slots skipped while the CPU waited in HLT
// for the next event. Devices schedule callbacks at virtual times; the machine runs the
// CPU up to the next deadline, then runs what is due. Host time never defines guest
// time; it may only pace it (Machine with -icount sleep=on).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>

namespace popek::bus {

class Clock {
 public:
  using Callback = std::function<void()>;
  using EventId = uint64_t;

  // `icount` is the CPU's retired-instruction counter; shift is log2 of the nanoseconds
  // per instruction (QEMU's -icount shift=N; 3 = 8 ns, a 125 MHz guest).
  explicit Clock(const uint64_t* icount = nullptr, unsigned shift = 3)
      : icount_(icount ? icount : &zero_), shift_(shift) {}
  // Attach the CPU's retired-instruction counter and the time scale.
  void attach(const uint64_t* icount, unsigned shift) {
    icount_ = icount;
    shift_ = shift;
  }

  uint64_t now_ns() const { return (*icount_ + idle_) << shift_; }
  unsigned shift() const { return shift_; }
  // The instruction count at which virtual time reaches `ns` (rounded up).
  uint64_t icount_at(uint64_t ns) const;

  EventId schedule(uint64_t when_ns, Callback cb, const char* name);
  void cancel(EventId id);
  bool pending() const { return !events_.empty(); }
  // Virtual time of the earliest event, or UINT64_MAX.
  uint64_t next_deadline_ns() const;
  // Run every event due at now_ns() (in deadline order, then scheduling order).
  void run_due();
  // While the CPU halts: move virtual time forward to the next deadline.
  void skip_to_next_deadline();
  uint64_t idle_instructions() const { return idle_; }
  void reset();

 private:
  struct Key {
    uint64_t when;
    EventId id;
    bool operator<(const Key& o) const { return when != o.when ? when < o.when : id < o.id; }
  };
  struct Event {
    Callback cb;
    const char* name;
  };
  static constexpr uint64_t zero_ = 0;
  const uint64_t* icount_;
  unsigned shift_;
  uint64_t idle_ = 0;
  EventId next_id_ = 1;
  std::map<Key, Event> events_;
  std::map<EventId, uint64_t> when_of_;
};

// Interrupt request lines, wired to the interrupt controller.
class IrqSink {
 public:
  virtual ~IrqSink() = default;
  // Drive ISA IRQ line `irq` (0-15) to `level`. Edge-triggered inputs latch a request on
  // the low-to-high transition.
  virtual void set_irq(unsigned irq, bool level) = 0;
};

}  // namespace popek::bus
