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
#pragma once

#include <array>
#include <cstdint>
#include <cstdio>
#include <deque>
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
  // At the start of each Machine::run_step: replay applies the inputs recorded at this
  // point, and ends the run where the recording ended when the host ended it.
  std::optional<Machine::RunStep> before_step(Machine& m, bool in_turn);
  // The CPU may run up to here at most (replay: the next recorded input's icount).
  uint64_t stop_at(uint64_t icount) const;
  // At each turn start: a checkpoint when the count passed the next multiple of the
  // interval (record: logged; replay: compared, a difference ends the run).
  std::optional<Machine::RunStep> turn_start(Machine& m);
  // The run ends with `r`: record logs it and the final state; replay compares (and may
  // turn `r` into a divergence report).
  void finish(Machine& m, Machine::RunStep& r);
  // Host input from the monitor or a display (Machine::input_*): true when it may reach
  // the guest (recorded), false while replaying (ignored, said once).
  bool host_key(Machine& m, const devices::KeyCodes& key, bool down, bool in_turn);
  bool host_mouse(Machine& m, int dx, int dy, int dz, unsigned buttons, bool in_turn);
  bool host_reset(Machine& m, const std::string& why, bool in_turn);

  // Tests: the checkpoints written or verified so far.
  uint64_t checkpoints() const { return checkpoints_; }

 private:
  struct Point {
    uint64_t icount = 0, idle = 0;
    auto operator<=>(const Point&) const = default;
  };
  struct SerialEntry {
    Point at;
    uint32_t sub = 0;
    bool open = false;  // an "open" answer (else a byte taken)
    uint8_t byte = 0;
  };
  struct InputEntry {
    Point at;
    bool in_turn = false;
    std::string kind;  // key, mouse, reset
    std::vector<std::string> args;
    size_t line = 0;
  };
  // One COM port's input channel in the log (devices::InputLog's hooks).
  class SerialChannel final : public devices::InputLog {
   public:
    SerialChannel(RecordReplay& rr, size_t com) : rr_(rr), com_(com) {}
    void record_take(bool got, uint8_t byte) override;
    void record_open(bool open) override;
    bool replay_take(uint8_t& byte) override;
    bool replay_open() override;
    std::deque<SerialEntry> entries;  // replay: not yet fed
    devices::CharBackend* backend = nullptr;

   private:
    uint32_t next_sub();
    RecordReplay& rr_;
    size_t com_;
    Point last_;
    uint32_t sub_ = 0;
    int open_ = -1;  // the last "open" answer (-1: none yet)
  };

  Point now() const;
  void write_line(const std::string& line);
  void record_input(bool in_turn, const std::string& text);
  void parse_log(const MachineConfig& cfg);
  // Replay: stop the run with a divergence report (from inside a device: through a
  // fatal stop of the bus).
  void diverge(const std::string& what);
  std::string report(const std::string& what) const;
  void note_ignored(const char* what);
  void apply(Machine& m, const InputEntry& e);

  Mode mode_;
  std::string path_;
  Machine* m_ = nullptr;
  FILE* out_ = nullptr;
  std::string pending_;  // record: lines kept until start()
  RrHeader header_;
  int64_t rtc_ = 0;
  uint64_t check_ = kDefaultCheck;
  uint64_t next_check_ = 0;
  uint64_t checkpoints_ = 0;
  std::array<std::unique_ptr<SerialChannel>, 4> serial_;
  std::map<std::pair<unsigned, uint64_t>, std::vector<uint8_t>> disk_originals_;
  std::vector<devices::DiskImage*> disks_;
  // Replay: what the log holds.
  std::deque<InputEntry> inputs_;
  std::deque<RrCheckpoint> checks_;
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
  bool ended_by_log_ = false;  // replay ended the run where the host ended the recording
};

}  // namespace popek::frontend
