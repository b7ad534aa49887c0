#include "bus/clock.h"

#include <limits>

namespace popek::bus {

uint64_t Clock::icount_at(uint64_t ns) const {
  const uint64_t slots = (ns + (1ull << shift_) - 1) >> shift_;
  return slots > idle_ ? slots - idle_ : 0;
}

Clock::EventId Clock::schedule(uint64_t when_ns, Callback cb, const char* name) {
  const EventId id = next_id_++;
  events_.emplace(Key{when_ns, id}, Event{std::move(cb), name});
  when_of_.emplace(id, when_ns);
  return id;
}

void Clock::cancel(EventId id) {
  auto it = when_of_.find(id);
  if (it == when_of_.end()) return;
  events_.erase(Key{it->second, id});
  when_of_.erase(it);
}

uint64_t Clock::next_deadline_ns() const {
  return events_.empty() ? std::numeric_limits<uint64_t>::max() : events_.begin()->first.when;
}

void Clock::run_due() {
  const uint64_t now = now_ns();
  while (!events_.empty() && events_.begin()->first.when <= now) {
    auto it = events_.begin();
    Callback cb = std::move(it->second.cb);
    when_of_.erase(it->first.id);
    events_.erase(it);
    cb();  // may schedule or cancel events
  }
}

void Clock::skip_to_next_deadline() {
  if (events_.empty()) return;
  const uint64_t target = icount_at(events_.begin()->first.when);
  const uint64_t slots_now = *icount_ + idle_;
  const uint64_t target_slots = target + idle_;
  if (target_slots > slots_now) idle_ += target_slots - slots_now;
}

void Clock::reset() {
  events_.clear();
  when_of_.clear();
  idle_ = 0;
}

}  // namespace popek::bus
