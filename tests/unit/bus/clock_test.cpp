// The virtual clock's timers: firing order, and save/load keeping deadlines and the order
// of ties (issue 11: events under stable identities).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "bus/clock.h"
#include "bus/state_archive.h"

namespace popek::bus {
namespace {

struct Fired {
  std::vector<std::string> order;
};

TEST(ClockTimers, DueEventsRunInDeadlineThenArmingOrder) {
  uint64_t icount = 0;
  Clock clock(&icount, 0);
  Fired f;
  Timer a(clock, "a", [&] { f.order.push_back("a"); });
  Timer b(clock, "b", [&] { f.order.push_back("b"); });
  Timer c(clock, "c", [&] { f.order.push_back("c"); });
  c.arm(10);
  b.arm(5);
  a.arm(10);  // ties with c, armed after it
  icount = 10;
  clock.run_due();
  EXPECT_EQ(f.order, (std::vector<std::string>{"b", "c", "a"}));
  EXPECT_FALSE(clock.pending());
  EXPECT_FALSE(a.armed());
}

TEST(ClockTimers, ArmingAgainMovesTheEvent) {
  uint64_t icount = 0;
  Clock clock(&icount, 0);
  int n = 0;
  Timer a(clock, "a", [&] { ++n; });
  a.arm(10);
  a.arm(20);
  EXPECT_EQ(clock.next_deadline_ns(), 20u);
  icount = 20;
  clock.run_due();
  EXPECT_EQ(n, 1);
}

TEST(ClockTimers, SaveAndLoadKeepDeadlinesAndTieOrder) {
  uint64_t icount = 0;
  Clock saved_clock(&icount, 0);
  Fired unused;
  Timer sa(saved_clock, "a", [&] { unused.order.push_back("a"); });
  Timer sb(saved_clock, "b", [&] { unused.order.push_back("b"); });
  sb.arm(7);  // b before a at the same deadline
  sa.arm(7);
  const Clock::Saved s = saved_clock.save();
  ASSERT_EQ(s.events.size(), 2u);
  EXPECT_EQ(s.events[0].name, "b");

  // Another machine: the timers are created, and armed, in the other order.
  uint64_t icount2 = 0;
  Clock clock(&icount2, 0);
  Fired f;
  Timer a(clock, "a", [&] { f.order.push_back("a"); });
  Timer b(clock, "b", [&] { f.order.push_back("b"); });
  a.arm(3);
  b.arm(3);
  clock.load(s);
  EXPECT_TRUE(a.armed());
  EXPECT_EQ(a.deadline(), 7u);
  icount2 = 6;
  clock.run_due();
  EXPECT_TRUE(f.order.empty());
  icount2 = 7;
  clock.run_due();
  EXPECT_EQ(f.order, (std::vector<std::string>{"b", "a"}));
  // A timer armed after the load comes after every tie the snapshot had.
  a.arm(9);
  b.arm(9);
  EXPECT_EQ(clock.save().events[0].name, "a");
}

TEST(ClockTimers, LoadRefusesAnEventNoTimerHasAndChangesNothing) {
  uint64_t icount = 0;
  Clock clock(&icount, 0);
  Timer a(clock, "a", [] {});
  a.arm(5);
  Clock::Saved s;
  s.next_seq = 10;
  s.events.push_back({"nobody", 3, 1});
  try {
    clock.load(s);
    FAIL() << "loaded an event of an unknown timer";
  } catch (const StateError& e) {
    EXPECT_NE(std::string(e.what()).find("\"nobody\""), std::string::npos) << e.what();
  }
  EXPECT_TRUE(a.armed());
  EXPECT_EQ(a.deadline(), 5u);
  s.events = {{"a", 3, 10}};  // a sequence number not below next_seq
  EXPECT_THROW(clock.load(s), StateError);
}

TEST(ClockTimers, TwoTimersOfOneNameAreRefused) {
  Clock clock;
  Timer a(clock, "a", [] {});
  EXPECT_THROW(Timer(clock, "a", [] {}), std::logic_error);
}

}  // namespace
}  // namespace popek::bus
