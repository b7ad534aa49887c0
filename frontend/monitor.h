// The human monitor, with QEMU's spelling (-monitor stdio, -monitor unix:PATH,server,nowait)
// and the commands people script: screendump, sendkey, mouse_move, mouse_button, info
// registers, savevm, loadvm, system_reset, quit, help.
//
// The monitor never blocks the guest: the machine's run loop calls poll() when it looks
// at the host (frontend/host_attention.h), which reads whatever command lines have
// arrived and runs them between two blocks. Commands that reach the guest (sendkey,
// system_reset) are host input like console bytes: they enter at the instruction count
// at which poll() runs. savevm FILE and loadvm FILE save and restore the whole machine
// there (frontend/snapshot.h).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace popek::frontend {

class Machine;
}  // namespace popek::frontend
namespace popek::devices {
struct KeyCodes;
}
namespace popek::frontend {

struct MonitorError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// True when `spec` is a monitor spelling popek knows (checked by the command line).
bool valid_monitor_spec(const std::string& spec);

class Monitor {
 public:
  // Opens the monitor's channel. Throws MonitorError (one line naming the spec).
  Monitor(Machine& machine, const std::string& spec);
  ~Monitor();
  Monitor(const Monitor&) = delete;
  Monitor& operator=(const Monitor&) = delete;

  // Read and run the command lines that have arrived; never blocks.
  void poll();
  // `quit` was given: the run should end (status 0).
  bool quit_requested() const { return quit_; }

  // Run one command line and return what the monitor prints for it (tests; poll() uses it).
  std::string execute(const std::string& line);

 private:
  void send(const std::string& text);
  void accept_client();
  void close_client();
  // Release the keys of `sendkey KEYS HOLD_MS` whose time is up (all of them: `all`).
  void release_held(bool all);

  Machine& m_;
  int in_fd_ = -1;      // stdin or the connected client
  int out_fd_ = -1;
  int listen_fd_ = -1;  // unix:...,server
  std::string socket_path_;
  std::string pending_;  // a partial command line
  int stdin_flags_ = -1; // standard input's file status flags before -monitor stdio
  bool quit_ = false;
  // Keys held down by `sendkey KEYS HOLD_MS` until a host time (released in reverse).
  struct HeldKeys {
    std::chrono::steady_clock::time_point until;
    std::vector<const devices::KeyCodes*> keys;
  };
  std::vector<HeldKeys> held_;
};

}  // namespace popek::frontend
