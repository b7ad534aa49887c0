// Record/replay's log going back with the machine (reverse debugging, as the gdb stub
// does it: RecordReplay::cursor with a checkpoint, leave_present + load + rewind): keys
// from the host while recording, before and after a rewind, and a recording that ends
// behind its frontier.
#include <gtest/gtest.h>

#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "devices/keys.h"
#include "frontend/machine.h"
#include "frontend/record_replay.h"
#include "temp_files.h"
#include "tiny_kernel.h"

namespace popek::frontend {
namespace {

class RecordReplayRewind : public ::testing::Test {
 protected:
  MachineConfig config(RrMode mode) {
    MachineConfig c;
    c.ram_size = 4u << 20;
    c.kernel_path = kernel_;
    c.serial = "none";
    c.rr_mode = mode;
    c.rr_file = log_;
    if (mode == RrMode::Record) c.rr_check = 5000;
    return c;
  }
  void record() {
    cfg_ = config(RrMode::Record);
    rr_ = std::make_unique<RecordReplay>(cfg_);
    m_ = std::make_unique<Machine>(cfg_, InputMirror{}, rr_.get());
  }
  // Run to exactly instruction `to` (the loop never halts; a divergence ends the run).
  void run_to(uint64_t to) {
    while (m_->cpu().s.icount < to) {
      const Machine::RunStep r = m_->run_step(to - m_->cpu().s.icount);
      ASSERT_FALSE(r.done) << r.message;
    }
    ASSERT_EQ(m_->cpu().s.icount, to);
  }
  void key(const char* name) { m_->input_key(*devices::find_key(name), true); }
  // Where the machine and the log stand now, as the gdb stub keeps it.
  struct Checkpoint {
    std::vector<uint8_t> image;
    RrCursor rr;
  };
  Checkpoint checkpoint() { return {m_->snapshot_image("checkpoint", false), rr_->cursor()}; }
  void go_back(const Checkpoint& cp) {
    rr_->leave_present();
    m_->load_snapshot_image("checkpoint", cp.image, false);
    rr_->rewind(cp.rr);
  }
  // The run ends here (as the monitor's quit would end it).
  void quit() {
    Machine::RunStep r;
    r.done = true;
    r.host = true;
    rr_->finish(*m_, r);
  }
  // The lines of the log that start with `kind`.
  std::vector<std::string> lines(const std::string& kind) {
    std::vector<std::string> out;
    std::istringstream in(slurp(log_));
    for (std::string l; std::getline(in, l);)
      if (l.rfind(kind, 0) == 0) out.push_back(l);
    return out;
  }
  // Replays the log to its end: the status (0 when the replay ends where the recording did
  // with the same state) and the message.
  std::pair<int, std::string> replay() {
    MachineConfig c = config(RrMode::Replay);
    RecordReplay rr(c);
    Machine m(c, InputMirror{}, &rr);
    for (;;) {
      Machine::RunStep r = m.run_step(Machine::kSlice);
      if (r.done) return {r.status, r.message};
    }
  }

  TempFiles files;
  // The PIT's channel 0 every 100 ticks (turns of about 10,500 instructions, so that
  // checkpoints come at their interval, after the first turn of kT), then jmp $ with
  // interrupts off.
  static constexpr uint64_t kT = Machine::kSlice;
  std::string kernel_ = files.write("kernel.bin", kludge_kernel({0xB0, 0x34, 0xE6, 0x43, 0xB0, 0x64, 0xE6, 0x40, 0xB0,
                                                                 0x00, 0xE6, 0x40, 0xEB, 0xFE}));
  std::string log_ = files.path_for("rr.log");
  MachineConfig cfg_;
  std::unique_ptr<RecordReplay> rr_;
  std::unique_ptr<Machine> m_;
};

TEST_F(RecordReplayRewind, RecordedKeysComeBackAtTheirPointsAndLiveOnesWaitForTheFrontier) {
  record();
  run_to(kT + 10'000);
  const Checkpoint cp = checkpoint();
  run_to(kT + 20'000);
  key("a");
  run_to(kT + 30'000);
  const uint64_t hash = m_->state_hash();
  const size_t checks = lines("C ").size();

  go_back(cp);
  run_to(kT + 15'000);
  key("b");  // behind the frontier: ignored
  run_to(kT + 30'000);
  EXPECT_EQ(m_->state_hash(), hash) << "the recorded key did not come back at its point";
  EXPECT_EQ(lines("C ").size(), checks) << "checkpoints written twice";
  key("c");  // at the frontier: recorded
  run_to(kT + 40'000);
  quit();

  const std::vector<std::string> keys = lines("I ");
  ASSERT_EQ(keys.size(), 2u);
  EXPECT_EQ(keys[0].rfind("I 1020000 0 ", 0), 0u) << keys[0];
  EXPECT_NE(keys[0].find(" key a 1"), std::string::npos) << keys[0];
  EXPECT_EQ(keys[1].rfind("I 1030000 0 ", 0), 0u) << keys[1];
  EXPECT_NE(keys[1].find(" key c 1"), std::string::npos) << keys[1];
  const std::vector<std::string> c = lines("C ");
  EXPECT_GE(c.size(), 3u);
  for (size_t i = 1; i < c.size(); ++i) EXPECT_LT(std::stoull(c[i - 1].substr(2)), std::stoull(c[i].substr(2)));
  const auto [status, message] = replay();
  EXPECT_EQ(status, 0) << message;
}

TEST_F(RecordReplayRewind, ARecordingEndingBehindItsFrontierLosesWhatLiesPastThePresent) {
  record();
  run_to(kT + 10'000);
  const Checkpoint cp = checkpoint();
  run_to(kT + 20'000);
  key("a");
  run_to(kT + 30'000);
  go_back(cp);
  run_to(kT + 15'000);
  quit();

  EXPECT_TRUE(lines("I ").empty()) << "the key is past the end";
  for (const std::string& l : lines("C ")) EXPECT_LE(std::stoull(l.substr(2)), kT + 15'000) << l;
  ASSERT_EQ(lines("E ").size(), 1u);
  EXPECT_EQ(lines("E ")[0].rfind("E 1015000 ", 0), 0u);
  const auto [status, message] = replay();
  EXPECT_EQ(status, 0) << message;
}

}  // namespace
}  // namespace popek::frontend
