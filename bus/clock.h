// The virtual clock and its event queue.
//
// Guest time is a function of retired instructions: now_ns() = (instructions + idle) <<
// shift, where `idle` counts the instruction slots skipped while the CPU waited in HLT
// for the next event. Devices arm timers at virtual times; the machine runs the CPU up to
// the next deadline, then runs what is due. Host time never defines guest time; it may
// only pace it (Machine with -icount sleep=on).
//
// Events have stable identities, never bare function objects: each is a Timer a device
// owns, registered under a name unique in the machine ("pit-ch0", "uart3f8-rx"), with a
// callback fixed at construction. Events due at the same time run in the order they were
// armed (each arming takes the next sequence number). A snapshot saves the pending events
// as (name, deadline, sequence number) with the next sequence number (Clock::save), and
// Clock::load re-arms the same timers with the same deadlines and numbers, so ties keep
// their order across a save and a load.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace popek::bus {

class Clock;

// One device event source. Arming an armed timer moves it (it is pending at most once).
class Timer {
 public:
  Timer(Clock& clock, std::string name, std::function<void()> fire);
  ~Timer();
  Timer(const Timer&) = delete;
  Timer& operator=(const Timer&) = delete;

  // Fire at virtual time `when_ns` (replacing a pending arming). The clock's arm listener
  // hears of it.
  void arm(uint64_t when_ns);
  void cancel();
  bool armed() const { return seq_ != 0; }
  // The pending deadline (meaningful while armed()).
  uint64_t deadline() const { return when_; }
  const std::string& name() const { return name_; }

 private:
  friend class Clock;
  Clock& clock_;
  std::string name_;
  std::function<void()> fire_;
  uint64_t when_ = 0;
  uint64_t seq_ = 0;  // 0: not armed
};

class Clock {
 public:
  // `icount` is the CPU's retired-instruction counter; shift is log2 of the nanoseconds
  // per instruction (QEMU's -icount shift=N; 3 = 8 ns, a 125 MHz guest).
  explicit Clock(const uint64_t* icount = nullptr, unsigned shift = 3)
      : icount_(icount ? icount : &zero_), shift_(shift) {}
  ~Clock();
  Clock(const Clock&) = delete;
  Clock& operator=(const Clock&) = delete;
  // Attach the CPU's retired-instruction counter and the time scale.
  void attach(const uint64_t* icount, unsigned shift) {
    icount_ = icount;
    shift_ = shift;
  }

  uint64_t now_ns() const { return (*icount_ + idle_) << shift_; }
  unsigned shift() const { return shift_; }
  // The instruction count at which virtual time reaches `ns` (rounded up).
  uint64_t icount_at(uint64_t ns) const;

  // Told the deadline each time a device arms a timer (not when a snapshot's events are
  // re-armed): the machine ends its turn of CPU time there when that is sooner.
  void set_arm_listener(std::function<void(uint64_t when_ns)> f) { on_arm_ = std::move(f); }

  bool pending() const { return !events_.empty(); }
  // Virtual time of the earliest event, or UINT64_MAX.
  uint64_t next_deadline_ns() const;
  // Run every event due at now_ns() (in deadline order, then arming order).
  void run_due();
  // While the CPU halts: move virtual time forward to the next deadline.
  void skip_to_next_deadline();
  uint64_t idle_instructions() const { return idle_; }
  // Power-on: no event pending (every timer disarmed), no idle time.
  void reset();

  // What a snapshot keeps of the clock.
  struct SavedEvent {
    std::string name;
    uint64_t when = 0;
    uint64_t seq = 0;
  };
  struct Saved {
    uint64_t idle = 0;
    uint64_t next_seq = 1;
    std::vector<SavedEvent> events;  // in firing order
  };
  Saved save() const;
  // Disarm every timer, then re-arm the saved events on the timers of the same names.
  // Throws StateError (bus/state_archive.h) naming an event no timer of this machine
  // has, a sequence number out of order or used twice; nothing changes then.
  void load(const Saved& saved);

 private:
  friend class Timer;
  struct Key {
    uint64_t when;
    uint64_t seq;
    bool operator<(const Key& o) const { return when != o.when ? when < o.when : seq < o.seq; }
  };
  void add(Timer* t);
  void remove(Timer* t);
  void arm(Timer* t, uint64_t when, uint64_t seq);
  void disarm(Timer* t);

  static constexpr uint64_t zero_ = 0;
  const uint64_t* icount_;
  unsigned shift_;
  uint64_t idle_ = 0;
  uint64_t next_seq_ = 1;
  std::map<Key, Timer*> events_;
  std::map<std::string, Timer*> timers_;  // every timer, by name
  std::function<void(uint64_t)> on_arm_;
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
