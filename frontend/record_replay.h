// Record and replay (-icount shift=N,rr=record|replay,rrfile=FILE, QEMU's spelling).
//
// Guest time is the retired-instruction count (bus/clock.h), so a run is a function of
// its configuration and of what enters from the host. Recording logs every such input
// with the point of guest time at which the guest saw it; replay feeds the log back at
// the same points and checks periodic state hashes against the recorded ones.
//
// What enters from the host, and where:
//   - serial input (every COM port): the answers of each port's input channel
//     (devices::CharBackend::take_input/input_open, asked by the UART from its clock
//     events or from a guest port access, so at deterministic points);
//   - the RTC's start time (frontend/machine.cpp rtc_start_time: the host's clock);
//   - keys, mouse events and resets from the monitor and the displays: they go through
//     Machine::input_key/input_mouse/input_reset, called when the run loop looks at the
//     host (Machine::look_at_host), i.e. between two blocks at a host-chosen point;
//   - the end of the run: a guest exit, the console's Ctrl-A x, the monitor's quit or a
//     signal, with the exit status;
//   - the disk images' contents, which the recording may overwrite: the log keeps each
//     written sector's contents from before its first write, and replay starts from them.
// Nothing else from the host reaches the guest: RDTSC and the timers follow the
// instruction count; host time (steady_clock) only paces an idle guest (-icount
// sleep=on), holds sendkey's keys (whose releases are recorded as input) and times the
// displays; getenv (TERM) and the perf map concern the host side only. x87
// arithmetic runs on the host FPU (cpu/ops/x87_host.h): the IEEE-defined operations
// give the same bits on every x86 host, the transcendental ones (FSIN, FPTAN, F2XM1,
// FYL2X...) may differ in the last bit between host vendors and models, so the log's
// header names the host CPU (vendor, family, model) and replay refuses another.
//
// A point of guest time is (icount, idle): the retired-instruction count and the
// instructions' worth of virtual time skipped while the guest halted (bus::Clock), which
// advances while icount stands still. Host input from the monitor and displays also
// carries whether the run loop was inside a turn (Machine::run_step), since one point
// can be looked at both mid-turn and at a turn's start.
//
// The log is text, one record per line (DESIGN: a record is cheap, a person can read it):
//   popek-rr 1                               magic and version
//   cfg KEY VALUE                            what must not change (header; see below)
//   rtc SECONDS                              the RTC's start time
//   check N                                  instructions between two checkpoints
//   begin
//   S ICOUNT IDLE SUB PORT take BYTE         COM PORT's channel gave BYTE (SUB: the
//   S ICOUNT IDLE SUB PORT open 0|1            channel's SUB-th question at that point);
//                                              only bytes taken and changes of "open"
//   I ICOUNT IDLE TURN key NAME 0|1          a key released/pressed (devices/keys.h name)
//   I ICOUNT IDLE TURN mouse DX DY DZ BUTTONS
//   I ICOUNT IDLE TURN reset TEXT
//   D DISK LBA HEX                           sector LBA of drive DISK before its first write
//   C ICOUNT IDLE CPU-HEX RAM-HASH DEV=HASH...   a checkpoint (CPU state in full)
//   E ICOUNT IDLE STATUS HOST WHY [MESSAGE]  the end of the run
//   F ICOUNT IDLE CPU-HEX RAM-HASH DEV=HASH...   the state at the end
// A log without its E and F records (the recording was killed) is refused as truncated.
//
// Reverse debugging (frontend/gdb_stub.h) takes the machine back to one of its in-memory
// checkpoints and runs it forward again; with each checkpoint goes the log's cursor
// (RrCursor: how far every kind of record has been fed or written), put back with it.
// The log is kept in memory while recording too, so the way forward again is the same
// run in both modes: the recorded input enters at its points, the checkpoints passed
// again are compared again (a travel that strays is reported as a replay's divergence
// is), and nothing is written twice. Recording goes on at the frontier, the furthest
// point the run has reached: serial input waits in its backend until then, and keys,
// mouse events and resets from the host are ignored (said once). A recording that ends
// behind the frontier (gdb's kill after a reverse step) ends its log there: the records
// past the present are cut off, so the log is the run that was.
#pragma once

#include <array>
#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "devices/char_backend.h"
#include "frontend/machine.h"
#include "frontend/machine_config.h"

namespace popek::devices {
class DiskImage;
struct KeyCodes;
}

namespace popek::frontend {

// A log that cannot be written, read or used with this configuration; what() is one
// line naming the file (without "popek: ").
struct RrError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// What identifies a run's inputs that are not recorded: the kernel, initrd, firmware and
// disk images (by hash), the RAM size and every option the guest can see (not the
// engine, nor pacing or tracing), and the host CPU. (key, value) pairs in a fixed order.
// `disk_originals` stands for the sectors a recording overwrote (replay hashes the
// images as they were when the recording started).
using RrHeader = std::vector<std::pair<std::string, std::string>>;
RrHeader rr_header(const MachineConfig& cfg,
                   const std::map<std::pair<unsigned, uint64_t>, std::vector<uint8_t>>& disk_originals = {});

// A point of guest time (see above): the instruction count, then idle time.
struct RrPoint {
  uint64_t icount = 0, idle = 0;
  auto operator<=>(const RrPoint&) const = default;
};

// Where a run stands in its log (reverse debugging: RecordReplay::cursor and rewind).
struct RrCursor {
  struct Channel {
    size_t next = 0;  // entries fed or written
    RrPoint last;     // where the channel was last asked, and how often there
    uint32_t sub = 0;
    int open = -1;    // the last "open" answer
  };
  std::array<Channel, 4> serial;
  size_t input = 0;  // input records fed or written
  size_t check = 0;  // checkpoints compared or written
  uint64_t next_check = 0;
  uint64_t checkpoints = 0;
  uint64_t last_match = 0;
  bool have_match = false;
};

// The hashes of a checkpoint: the CPU's state in full (StateWriter bytes), RAM, and each
// device (with the A20 gate and the idle clock as two more "devices").
struct RrCheckpoint {
  uint64_t icount = 0;
  uint64_t idle = 0;
  std::vector<uint8_t> cpu;
  uint64_t ram = 0;
  std::vector<std::pair<std::string, uint64_t>> devices;
};
RrCheckpoint rr_checkpoint(Machine& m);
// The lines of a report on how `got` differs from `want` (registers named, with both
// values); empty when equal.
std::string rr_compare(const RrCheckpoint& want, const RrCheckpoint& got);

class RecordReplay {
 public:
  enum class Mode : uint8_t { Record, Replay };
  // Exit status of a replay that diverged from its recording.
  static constexpr int kDiverged = 2;
  // Instructions between two checkpoints unless rrcheck= says otherwise: about half a
  // second of the JIT's time; a checkpoint of 256 MiB of RAM costs ~15 ms.
  static constexpr uint64_t kDefaultCheck = 500'000'000;

  // Record: computes the header (the file is created by start()). Replay: reads and
  // checks the whole log against `cfg`. Throws RrError.
  explicit RecordReplay(const MachineConfig& cfg);
  ~RecordReplay();
  RecordReplay(const RecordReplay&) = delete;
  RecordReplay& operator=(const RecordReplay&) = delete;

  Mode mode() const { return mode_; }
  bool replaying() const { return mode_ == Mode::Replay; }

  // --- Machine's side (frontend/machine.cpp)
  // The RTC's start time: the host's clock, recorded; or the recorded one.
  int64_t rtc_start(const MachineConfig& cfg);
  // COM port `com`'s backend: its input channel goes through the log.
  void attach_serial(size_t com, devices::CharBackend& backend);
  // Drive `index` (MachineConfig::drives order): record keeps sectors before their first
  // write; replay puts the recorded originals in the (snapshot) overlay.
  void attach_disk(size_t index, devices::DiskImage& disk);
  // The machine is built: record creates the file (and writes what was kept so far).
  void start(Machine& m);
  // At the start of each Machine::run_step: the inputs recorded at this point are applied
  // (record: after a rewind, behind the frontier), and replay ends the run where the
  // recording ended when the host ended it.
  std::optional<Machine::RunStep> before_step(Machine& m, bool in_turn);
  // The CPU may run up to here at most (the next recorded input's icount while one is
  // due, replay's end).
  uint64_t stop_at(uint64_t icount) const;
  // At each turn start: a checkpoint when the count passed the next multiple of the
  // interval (record: logged, or compared when passed again after a rewind; replay:
  // compared, a difference ends the run).
  std::optional<Machine::RunStep> turn_start(Machine& m);
  // The run ends with `r`: record logs it and the final state (the log cut at the present
  // first if the run is behind its frontier); replay compares (and may turn `r` into a
  // divergence report).
  void finish(Machine& m, Machine::RunStep& r);
  // Host input from the monitor or a display (Machine::input_*): true when it may reach
  // the guest (recorded), false while replaying or while recording behind the frontier
  // (ignored, said once).
  bool host_key(Machine& m, const devices::KeyCodes& key, bool down, bool in_turn);
  bool host_mouse(Machine& m, int dx, int dy, int dz, unsigned buttons, bool in_turn);
  bool host_reset(Machine& m, const std::string& why, bool in_turn);

  // Tests: the checkpoints written or verified so far.
  uint64_t checkpoints() const { return checkpoints_; }

  // Reverse debugging (the gdb stub, between two blocks): where the run stands in the
  // log, kept with a checkpoint of the machine.
  RrCursor cursor() const;
  // Before the machine is set back to a checkpoint: record notes the present as the
  // furthest point reached (the frontier) if it is.
  void leave_present();
  // After: the log goes back to where it stood at that checkpoint.
  void rewind(const RrCursor& c);

 private:
  using Point = RrPoint;
  struct SerialEntry {
    Point at;
    uint32_t sub = 0;
    bool open = false;  // an "open" answer (else a byte taken)
    uint8_t byte = 0;
    uint64_t pos = 0;  // record: where its line starts in the log's body
  };
  struct InputEntry {
    Point at;
    bool in_turn = false;
    std::string kind;  // key, mouse, reset
    std::vector<std::string> args;
    size_t line = 0;
    uint64_t pos = 0;
  };
  struct Check {
    RrCheckpoint state;
    uint64_t pos = 0;
  };
  // One COM port's input channel in the log (devices::InputLog's replay hooks, in both
  // modes: record answers from the log what was asked before a rewind).
  class SerialChannel final : public devices::InputLog {
   public:
    SerialChannel(RecordReplay& rr, size_t com) : rr_(rr), com_(com) {}
    bool replay_take(uint8_t& byte) override;
    bool replay_open() override;
    std::vector<SerialEntry> entries;  // the log's records of this channel
    size_t next = 0;                   // the first not fed yet (record: not yet written)
    devices::CharBackend* backend = nullptr;
    void save(RrCursor::Channel& c) const { c = {next, last_, sub_, open_}; }
    void load(const RrCursor::Channel& c);

   private:
    uint32_t next_sub();
    // Record: the question `sub` at last_ was never asked before (past the frontier), so
    // the host answers it and the answer is logged.
    bool new_question(uint32_t sub) const;
    void log(uint32_t sub, bool open, uint8_t byte);
    RecordReplay& rr_;
    size_t com_;
    Point last_;
    uint32_t sub_ = 0;
    int open_ = -1;  // the last "open" answer (-1: none yet)
    // Record: the first question never asked (the one after the last the host answered).
    Point reach_at_;
    uint32_t reach_sub_ = 0;
  };

  Point now() const;
  void write_line(const std::string& line);
  void record_input(bool in_turn, const std::string& kind, std::vector<std::string> args);
  void parse_log(const MachineConfig& cfg);
  // Stop the run with a divergence report (from inside a device: through a
  // fatal stop of the bus).
  void diverge(const std::string& what);
  std::string report(const std::string& what) const;
  void note_ignored(const char* what);
  void apply(Machine& m, const InputEntry& e);
  // Record: the run is at or past the frontier, where input from the host is taken.
  bool at_frontier() const { return next_input_ == inputs_.size() && now() >= frontier_; }
  // Record: the run ends behind the frontier; the log loses what lies past the present.
  void cut_log();

  Mode mode_;
  std::string path_;
  Machine* m_ = nullptr;
  FILE* out_ = nullptr;
  std::string pending_;  // record: lines kept until start()
  uint64_t head_bytes_ = 0;  // record: the header's size in the file
  uint64_t body_bytes_ = 0;  // record: the body's lines written (or pending) so far
  Point frontier_;           // record: the furthest point the run reached before a rewind
  RrHeader header_;
  int64_t rtc_ = 0;
  uint64_t check_ = kDefaultCheck;
  uint64_t next_check_ = 0;
  uint64_t checkpoints_ = 0;
  std::array<std::unique_ptr<SerialChannel>, 4> serial_;
  std::map<std::pair<unsigned, uint64_t>, std::vector<uint8_t>> disk_originals_;
  std::vector<devices::DiskImage*> disks_;
  // What the log holds (record: what it holds so far), and how far the run is through it.
  std::vector<InputEntry> inputs_;
  size_t next_input_ = 0;
  std::vector<Check> checks_;
  size_t next_check_index_ = 0;
  // Replay: the end of the recording.
  struct End {
    Point at;
    int status = 0;
    bool host = false;
    std::string why, message;
  } end_;
  RrCheckpoint final_;
  uint64_t last_match_ = 0;  // icount of the last checkpoint that matched
  bool have_match_ = false;
  std::string divergence_;   // the report once the replay diverged
  bool said_ignored_ = false;
  bool said_behind_ = false;
  bool ended_by_log_ = false;  // replay ended the run where the host ended the recording
};

}  // namespace popek::frontend
