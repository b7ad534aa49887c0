#include "bus/clock.h"

#include <limits>
#include <set>
#include <stdexcept>

#include "bus/state_archive.h"

namespace popek::bus {

Timer::Timer(Clock& clock, std::string name, std::function<void()> fire)
    : clock_(clock), name_(std::move(name)), fire_(std::move(fire)) {
  clock_.add(this);
}

Timer::~Timer() {
  cancel();
  clock_.remove(this);
}

void Timer::arm(uint64_t when_ns) {
  clock_.arm(this, when_ns, clock_.next_seq_++);
  if (clock_.on_arm_) clock_.on_arm_(when_ns);
}

void Timer::cancel() { clock_.disarm(this); }

Clock::~Clock() {
  for (auto& [name, t] : timers_) t->seq_ = 0;
}

void Clock::add(Timer* t) {
  if (!timers_.emplace(t->name_, t).second)
    throw std::logic_error("two clock timers named " + t->name_);
}

void Clock::remove(Timer* t) {
  auto it = timers_.find(t->name_);
  if (it != timers_.end() && it->second == t) timers_.erase(it);
}

void Clock::arm(Timer* t, uint64_t when, uint64_t seq) {
  disarm(t);
  t->when_ = when;
  t->seq_ = seq;
  events_.emplace(Key{when, seq}, t);
}

void Clock::disarm(Timer* t) {
  if (!t->seq_) return;
  events_.erase(Key{t->when_, t->seq_});
  t->seq_ = 0;
}

uint64_t Clock::icount_at(uint64_t ns) const {
  const uint64_t slots = (ns + (1ull << shift_) - 1) >> shift_;
  return slots > idle_ ? slots - idle_ : 0;
}

uint64_t Clock::next_deadline_ns() const {
  return events_.empty() ? std::numeric_limits<uint64_t>::max() : events_.begin()->first.when;
}

void Clock::run_due() {
  const uint64_t now = now_ns();
  while (!events_.empty() && events_.begin()->first.when <= now) {
    auto it = events_.begin();
    Timer* t = it->second;
    events_.erase(it);
    t->seq_ = 0;
    t->fire_();  // may arm or cancel timers
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
  for (auto& [key, t] : events_) t->seq_ = 0;
  events_.clear();
  idle_ = 0;
}

Clock::Saved Clock::save() const {
  Saved s;
  s.idle = idle_;
  s.next_seq = next_seq_;
  for (const auto& [key, t] : events_) s.events.push_back({t->name_, key.when, key.seq});
  return s;
}

void Clock::load(const Saved& saved) {
  std::set<uint64_t> seqs;
  std::set<std::string> names;
  for (const SavedEvent& e : saved.events) {
    if (!timers_.count(e.name) || !names.insert(e.name).second)
      throw StateError("clock: the snapshot has an event \"" + e.name + "\" that no device of this machine arms, or twice");
    if (e.seq == 0 || e.seq >= saved.next_seq || !seqs.insert(e.seq).second)
      throw StateError("clock: event \"" + e.name + "\" has a bad sequence number");
  }
  for (auto& [key, t] : events_) t->seq_ = 0;
  events_.clear();
  idle_ = saved.idle;
  next_seq_ = saved.next_seq;
  for (const SavedEvent& e : saved.events) arm(timers_.at(e.name), e.when, e.seq);
}

}  // namespace popek::bus
