// The GDB remote serial protocol, with QEMU's spelling: -s (TCP port 1234), -gdb
// tcp:[HOST]:PORT, -gdb unix:PATH, -gdb stdio (`target remote | popek -gdb stdio ...`),
// -S (wait for the debugger before the first instruction).
//
// What gdb sees is the machine's one CPU as thread 1, its registers in the layout QEMU
// serves for i386 (general registers, EIP, EFLAGS, segment selectors, FS/GS bases, the
// control registers, the x87 stack and control words), memory at linear addresses through
// the guest's current page tables, read and written without side effects on the guest
// (no accessed bits, no device reads). Breakpoints are checked against CS.base + EIP
// before each instruction (no byte of guest memory is changed); watchpoints are the
// softmmu's (mmu/mmu.h). A stop happens at an instruction boundary, in the middle of a
// block if need be, and the guest goes on exactly as it would have undebugged.
//
// The stub runs on the machine's thread. While the guest runs it is looked at with the
// host (a new connection or gdb's Ctrl-C stops the guest); while the guest is stopped
// the stub serves gdb's requests and nothing else runs.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "frontend/machine.h"

namespace popek::frontend {

class Machine;
class Monitor;
struct RrCursor;

struct GdbError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// "" when `spec` is a -gdb spelling popek knows, else what is wrong with it.
std::string check_gdb_spec(const std::string& spec);

class GdbStub {
 public:
  // Opens the listening socket (or takes stdin/stdout). Throws GdbError (one line naming
  // the spec) when it cannot.
  GdbStub(Machine& machine, const std::string& spec);
  ~GdbStub();
  GdbStub(const GdbStub&) = delete;
  GdbStub& operator=(const GdbStub&) = delete;

  // -S: wait for gdb to connect and let the guest run (or step).
  void wait_for_debugger();
  // When the run loop looks at the host: a new connection, or Ctrl-C from gdb, stops the
  // guest here and serves gdb until it resumes the guest. Never blocks otherwise.
  void poll();
  // The CPU stopped for the debugger (Cpu::RunExit::Debug): report it and serve gdb until
  // it resumes the guest.
  void stopped();
  // The run ended with `status` (the process's exit status): tell gdb and close.
  void finished(int status);
  // At each turn start of the run loop (between two blocks): reverse debugging takes its
  // checkpoints here, at intervals that grow with the length of the history.
  void turn_start();
  // gdb asked to kill the guest (k, vKill): the run must end.
  bool kill_requested() const { return kill_; }

  // One packet's payload in, the reply's payload out (tests; serve() uses it). Sets
  // `resume_` when the packet resumes the guest.
  std::string handle(const std::string& packet);

 private:
  void accept_client();
  void close_client();
  // Serve packets until the guest is resumed, gdb detaches, or the connection ends.
  void serve();
  bool read_packet(std::string& out, bool& interrupt);
  void send_packet(const std::string& payload);
  bool write_all(const std::string& bytes);
  std::string stop_reply() const;
  std::string break_reason(uint32_t linear) const;
  std::string watch_reason(uint32_t hits) const;
  void resume(bool step);
  void sync_breakpoints();
  std::string read_registers();
  bool write_register(unsigned n, const std::string& hex);
  std::string read_memory(uint32_t addr, uint32_t len);
  bool write_memory(uint32_t addr, const std::vector<uint8_t>& bytes);
  std::string insert(bool add, const std::string& args);
  std::string monitor_command(const std::string& hex);
  // Reverse debugging: "" when history can be retraced, else why not.
  std::string reverse_refusal() const;
  // "" when a second run from a checkpoint would be the same run, else why not.
  std::string rerun_refusal() const;
  const devices::DiskImage* disk_written_in_place() const;
  // bs (step) and bc (continue): the stop reply.
  std::string reverse(bool step);

  // Checkpoints of this run in memory (Machine::snapshot_image without a header), oldest
  // first: history starts at the first, taken when a debugger is connected, and starts
  // again after any host input (which re-running could not give again) that no
  // record/replay log holds.
  struct Checkpoint {
    uint64_t icount = 0;
    uint64_t inputs = 0;  // Machine::host_inputs() when taken
    Machine::Checkpoint machine;          // RAM pages shared with the others
    std::shared_ptr<const RrCursor> rr;  // -icount rr=: where the log stood
  };
  Checkpoint checkpoint_here();
  // Set the machine (and the record/replay log) back to `cp`.
  void load_checkpoint(const Checkpoint& cp);
  // A boundary between instructions: (instruction count, linear EIP).
  using Pos = std::pair<uint64_t, uint32_t>;
  static constexpr uint32_t kAnyEip = 0xFFFFFFFFu;  // a Pos at the first boundary of its count
  Pos here() const;
  // `to`, or with EIP kAnyEip the first boundary at its instruction count, reached (or passed).
  static bool reached(Pos p, Pos to);
  // From a checkpoint with the debugger's checks off, stopping at every boundary from
  // the instruction count `from` on (Cpu::Debug::stop_from). With `breaks`/`watches`
  // (`armed`): those checks too, per block unless `exact`.
  struct Checks {
    std::vector<uint32_t> breaks;
    std::vector<mmu::Mmu::Watch> watches;
  };
  void start(const Checkpoint& cp, uint64_t from, const Checks* armed, bool exact = false);
  // The CPU's checks: `checks`, per block when `coarse`, and a stop at every boundary from
  // the instruction count `stop_from` on (UINT64_MAX: none).
  void arm(const Checks& checks, bool coarse, uint64_t stop_from);
  // From a checkpoint to the boundary `to` (which the run passes), checks off.
  void travel(const Checkpoint& cp, Pos to);
  // A continue with a watchpoint runs per block when history can bring it back
  // (resume): at a per-block Watch stop, go back and stop right after the instruction.
  bool rescan_possible();
  void refine_watch_stop();
  uint64_t resume_icount_ = 0;  // where the guest was last resumed
  std::vector<Checkpoint> history_;
  // The machine's last checkpoint taken or loaded: the next shares its unchanged pages.
  Machine::Checkpoint last_;
  std::chrono::steady_clock::time_point history_began_;
  std::chrono::steady_clock::duration checkpoint_time_{};  // spent taking them since
  std::chrono::steady_clock::time_point last_taken_;      // when the last was taken
  // Reverse execution scans history for hits: no checkpoint is inserted meanwhile (it
  // would move the ones being scanned), only on the travel to the place found.
  bool scanning_ = false;
  static constexpr size_t kMaxCheckpoints = 24;
  static constexpr uint64_t kMinInterval = 1'000'000;
  static constexpr std::chrono::milliseconds kEvery{40};
  static constexpr uint64_t kNearPlace = 1u << 22;  // a travel checkpoints this close to its place
  Machine& m_;
  int listen_fd_ = -1;
  int fd_in_ = -1, fd_out_ = -1;  // the connection (both 0/1 for stdio)
  bool stdio_ = false;
  std::string socket_path_;
  std::string inbuf_;
  bool no_ack_ = false;
  bool enter_no_ack_ = false;  // QStartNoAckMode: acknowledgements end after the reply
  bool resume_ = false;
  bool kill_ = false;
  bool detached_ = false;
  int stop_signal_ = 5;  // SIGTRAP; SIGINT (2) after Ctrl-C
  // Breakpoints gdb set, by kind (Z0 software, Z1 hardware): both are EIP checks.
  std::vector<uint32_t> sw_breaks_, hw_breaks_;
  struct WatchSpec {
    uint32_t addr, len;
    uint8_t kind;  // mmu::Mmu::WatchKind
  };
  std::vector<WatchSpec> watches_;
  std::unique_ptr<Monitor> own_monitor_;  // for gdb's `monitor` without -monitor
};

}  // namespace popek::frontend
