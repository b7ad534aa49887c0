// The state archive (bus/state_archive.h) on every device's state struct: a state filled
// with arbitrary values saves, loads into a fresh struct and saves again to the same
// bytes and the same hash; short or corrupt bytes are refused with the field's name.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "bus/state_archive.h"
#include "devices/debug_exit.h"
#include "devices/debugcon.h"
#include "devices/fw_cfg.h"
#include "devices/i8042.h"
#include "devices/i8237.h"
#include "devices/i8254.h"
#include "devices/i8259.h"
#include "devices/ide.h"
#include "devices/mc146818.h"
#include "devices/port61.h"
#include "devices/post_port.h"
#include "devices/system_control.h"
#include "devices/uart16550.h"
#include "devices/vga.h"

namespace popek::bus {
namespace {

// Fills every field a visit() names with pseudo-random bytes (vectors keep their length).
class RandomFill {
 public:
  explicit RandomFill(uint32_t seed) : rng_(seed) {}
  template <class T>
  void operator()(const char* name, T& field) { archive_detail::walk(*this, name, field); }
  void scalar(const char*, uint8_t* b, size_t n) {
    for (size_t i = 0; i < n; ++i) b[i] = static_cast<uint8_t>(rng_());
  }
  template <class Vec>
  void resize(const char*, Vec&, uint32_t) {}
  void fail(const char*, const char*) {}  // a random bool byte: walk makes it 0 or 1
  size_t fields = 0;

 private:
  std::mt19937 rng_;
};

// Counts the scalar fields a visit() names (a state whose visit names nothing is a bug).
struct FieldCounter {
  template <class T>
  void operator()(const char* name, T& field) { archive_detail::walk(*this, name, field); }
  void scalar(const char*, uint8_t*, size_t) { ++n; }
  template <class Vec>
  void resize(const char*, Vec&, uint32_t) {}
  void fail(const char*, const char*) {}
  size_t n = 0;
};

// `stateless`: the device keeps nothing (its visit() names no field).
template <class State>
void round_trip(const char* what, bool stateless = false) {
  SCOPED_TRACE(what);
  State a;
  FieldCounter count;
  a.visit(count);
  if (stateless) {
    EXPECT_EQ(count.n, 0u);
    return;
  }
  EXPECT_GT(count.n, 0u) << "visit() names no field";
  RandomFill fill(12345);
  a.visit(fill);
  StateWriter w1;
  a.visit(w1);
  StateHasher h1;
  a.visit(h1);

  State b;
  StateReader r(w1.bytes());
  b.visit(r);
  EXPECT_TRUE(r.done()) << "bytes left over after loading";
  StateWriter w2;
  b.visit(w2);
  EXPECT_EQ(w2.bytes(), w1.bytes()) << "save -> load -> save changed the bytes";
  StateHasher h2;
  b.visit(h2);
  EXPECT_EQ(h2.value(), h1.value());

  State fresh;
  StateHasher h3;
  fresh.visit(h3);
  EXPECT_NE(h3.value(), h1.value()) << "the hash does not see the filled fields";

  if (!w1.bytes().empty()) {  // a short save is refused, naming where it ended
    std::vector<uint8_t> cut(w1.bytes().begin(), w1.bytes().end() - 1);
    State c;
    StateReader rc(cut);
    EXPECT_THROW(c.visit(rc), StateError);
  }
}

TEST(StateArchive, EveryDeviceStateRoundTrips) {
  round_trip<devices::DebugExitState>("DebugExitState", true);
  round_trip<devices::DebugconState>("DebugconState", true);
  round_trip<devices::FwCfgState>("FwCfgState");
  round_trip<devices::I8042State>("I8042State");
  round_trip<devices::I8237State>("I8237State");
  round_trip<devices::PitState>("PitState");
  round_trip<devices::Pic8259State>("Pic8259State");
  round_trip<devices::IdeChannelState>("IdeChannelState");
  round_trip<devices::RtcState>("RtcState");
  round_trip<devices::Port61State>("Port61State");
  round_trip<devices::PostPortState>("PostPortState");
  round_trip<devices::SystemControlState>("SystemControlState");
  round_trip<devices::Uart16550State>("Uart16550State");
  round_trip<devices::VgaState>("VgaState");
}

struct Sample {
  uint16_t a = 0x1234;
  bool b = true;
  std::array<uint8_t, 2> c{5, 6};
  std::vector<uint32_t> d{0xAABBCCDD};
  template <class V>
  void visit(V& v) {
    v("a", a);
    v("b", b);
    v("c", c);
    v("d", d);
  }
};

TEST(StateArchive, LittleEndianBytesInVisitOrder) {
  using S = Sample;
  S s;
  StateWriter w;
  s.visit(w);
  EXPECT_EQ(w.bytes(), (std::vector<uint8_t>{0x34, 0x12, 1, 5, 6, 1, 0, 0, 0, 0xDD, 0xCC, 0xBB, 0xAA}));
  std::vector<uint8_t> bad = w.bytes();
  bad[2] = 7;  // not a bool
  S t;
  StateReader r(bad);
  try {
    t.visit(r);
    FAIL() << "a corrupt bool was loaded";
  } catch (const StateError& e) {
    EXPECT_NE(std::string(e.what()).find("loading b"), std::string::npos) << e.what();
  }
  std::vector<uint8_t> huge = w.bytes();
  huge[5] = 0xFF, huge[6] = 0xFF, huge[7] = 0xFF, huge[8] = 0x7F;  // a vector length of 2^31
  S u;
  StateReader r2(huge, 1024);
  EXPECT_THROW(u.visit(r2), StateError);
}

}  // namespace
}  // namespace popek::bus
