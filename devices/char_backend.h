// Character backends: where a device's output bytes go and where its input bytes come from.
//
// A backend is chosen by a spec string, the same spelling for every character device:
//   stdio        output to the host's standard output; input from standard input
//   file:PATH    PATH, created or truncated (output only)
//   none         output discarded, no input
//
// Input. Every byte a guest device receives from the host passes through one function,
// CharBackend::take_input() — the input channel. A device calls it when its line would
// deliver the next character (the UART paces this on the virtual clock), so what the guest
// sees is a function of the bytes returned and the points at which they were taken:
// recording logs each byte with the instruction count at which take_input() returned it,
// replay answers take_input() from the log. Bytes reach the backend's queue from the
// host (pump(): stdin, read without blocking) or from push_input() (tests, injected
// input); neither is visible to the guest until take_input() hands the byte over.
//
// The stdio backend and the terminal. When standard input is a terminal it is put in raw
// mode the first time input is read (no echo, no line editing, no signal keys: Ctrl-C
// goes to the guest) and restored by the backend's destructor, by an atexit hook, by a
// handler for the fatal signals (SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT) and by any
// caller of restore_terminal() (async-signal-safe; call it before _exit() or from a
// signal handler that does not return). On a terminal Ctrl-A is an escape:
//   Ctrl-A x  quit (quit_requested() turns true, on_quit runs)
//   Ctrl-A h  list the escapes on stderr
//   Ctrl-A c  monitor (there is none: says so)
//   Ctrl-A w  save a machine snapshot (take_save_request() turns true once)
//   Ctrl-A Ctrl-A  a literal Ctrl-A for the guest
// When standard input is not a terminal (a pipe, a file, /dev/null) it is read as it
// is: no raw mode, no escapes; its end is the end of input.
#pragma once

#include <cstdint>
#include <cstdio>
#include <deque>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>

namespace popek::devices {

// The answers an input channel gave, in order. --lockstep runs two machines on one guest:
// the primary's console records what its input channels answer, the shadow's gives the
// same answers back instead of asking the host, so both guests see the same input at the
// same points. A replay that runs dry, or finds the other kind of answer, counts a
// mismatch (the two machines' devices asked differently) and answers "none"/closed.
//
// The four answers are virtual: record/replay (frontend/record_replay.h) logs them with
// the point of guest time at which they were given instead.
class InputLog {
 public:
  virtual ~InputLog() = default;
  virtual void record_take(bool got, uint8_t byte) { answers_.push_back(got ? byte : kNone); }
  virtual void record_open(bool open) { answers_.push_back(open ? kOpen : kClosed); }
  virtual bool replay_take(uint8_t& byte);
  virtual bool replay_open();
  // Answers recorded and not replayed yet.
  size_t pending() const { return answers_.size(); }
  uint64_t mismatches() const { return mismatches_; }

 private:
  static constexpr uint16_t kNone = 0x100, kOpen = 0x101, kClosed = 0x102;
  std::deque<uint16_t> answers_;  // a byte (take_input), kNone, kOpen or kClosed
  uint64_t mismatches_ = 0;
};

class CharBackend {
 public:
  virtual ~CharBackend() = default;
  // One output byte from the guest.
  virtual void write(uint8_t byte) = 0;
  // The guest's output, unless muted (a debugger's travel through history runs the guest
  // again: what it printed then is not printed twice).
  void put(uint8_t byte) {
    if (!muted) write(byte);
  }
  bool muted = false;
  // Push buffered output to the host.
  virtual void flush() {}
  // Called once the machine's inputs are all read and checked, before the guest runs:
  // where a backend creates (and so truncates) a file, so that a failed start leaves the
  // previous run's output alone. Throws BackendError.
  virtual void start() {}

  // The input channel: the next input byte for the guest, if one is available now.
  bool take_input(uint8_t& byte);
  // True while input may still come: bytes are queued or the host source is still open.
  // A device stops looking for input when this is false (until input_pushed fires).
  bool input_open() const;
  // --lockstep (see InputLog): every answer of the input channel is appended to `record`;
  // or, with `replay` set, the answers come from there and the backend's own queue and
  // source are not looked at (unless `replay` asks them itself, through take_host and
  // host_open: record/replay does while the guest is past what its log holds).
  InputLog* record = nullptr;
  InputLog* replay = nullptr;
  // The host's answers, without either log.
  bool take_host(uint8_t& byte);
  bool host_open() const { return !input_.empty() || source_open(); }
  // Move whatever the host has ready into the queue without blocking (terminal escapes
  // are handled here). take_input() does it too; the frontend may call it regularly so
  // that Ctrl-A x works while the guest is not reading.
  virtual void pump() {}

  // Queue a byte as if the host had sent it.
  void push_input(uint8_t byte);
  bool input_ready() const { return !input_.empty(); }
  // Next queued byte; 0 when none is queued. Bypasses the input channel: tests only.
  uint8_t pop_input();
  // Called after push_input() (a device that stopped polling starts again).
  std::function<void()> input_pushed;

  // Ctrl-A x was typed: the frontend should stop the machine (flushing disks) and exit 0.
  bool quit_requested() const { return quit_; }
  // Called once when quit is requested (from inside pump(), so from a device event).
  std::function<void()> on_quit;
  // Ctrl-A w was typed since the last call: the frontend should save a machine snapshot
  // (between two blocks, not from inside the device event that may have read the key).
  bool take_save_request() {
    const bool r = save_;
    save_ = false;
    return r;
  }

 protected:
  // The host source can still produce bytes (not at end of input).
  virtual bool source_open() const { return false; }
  // Queue host input without notifying (pump() runs inside the device's own poll).
  void queue_host_byte(uint8_t byte) { input_.push_back(byte); }
  size_t queued() const { return input_.size(); }
  void request_quit();
  void request_save() { save_ = true; }

 private:
  std::deque<uint8_t> input_;
  bool quit_ = false;
  bool save_ = false;
};

// Discards output.
class NullBackend final : public CharBackend {
 public:
  void write(uint8_t) override {}
};

// The Ctrl-A escapes typed on a terminal.
class EscapeDecoder {
 public:
  static constexpr uint8_t kEscape = 0x01;  // Ctrl-A
  enum class Action : uint8_t { None, Byte, Quit, Help, Monitor, Save };
  // Feed one byte from the terminal. Byte: `out` goes to the guest.
  Action feed(uint8_t in, uint8_t& out);
  // The list of escapes, for Ctrl-A h.
  static const char* help();

 private:
  bool pending_ = false;
};

// Restore the terminal a stdio backend put in raw mode (no-op otherwise). Idempotent and
// async-signal-safe.
void restore_terminal();

// Writes to a stdio stream (the host's stdout by default); reads the file descriptor
// `in_fd` (-1: no input). Output is flushed at every newline and by flush(), so that the
// guest's lines reach a pipe in the guest's order and interleave correctly with other
// devices writing to the same stream.
class StdioBackend final : public CharBackend {
 public:
  explicit StdioBackend(FILE* out = stdout, int in_fd = -1);
  ~StdioBackend() override;
  StdioBackend(const StdioBackend&) = delete;
  StdioBackend& operator=(const StdioBackend&) = delete;
  void write(uint8_t byte) override;
  void flush() override;
  void pump() override;
  // Input is a terminal (raw mode and escapes).
  bool terminal() const { return tty_; }

 protected:
  bool source_open() const override { return in_open_; }

 private:
  FILE* out_;
  int in_fd_;
  bool in_open_;
  bool tty_ = false;
  bool raw_ = false;  // this backend put the terminal in raw mode
  EscapeDecoder escapes_;
};

// Writes to a file the backend owns.
class FileBackend final : public CharBackend {
 public:
  // The file is created by start() (throwing BackendError when it cannot be), not here.
  explicit FileBackend(const std::string& path);
  ~FileBackend() override;
  FileBackend(const FileBackend&) = delete;
  FileBackend& operator=(const FileBackend&) = delete;
  void write(uint8_t byte) override;
  void flush() override;
  void start() override;

 private:
  std::string path_;
  FILE* f_ = nullptr;
};

// A spec that cannot be honoured; what() is one line naming the spec or the file.
struct BackendError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// True when `spec` is one of the spellings above (checked by the command line parser).
bool valid_backend_spec(const std::string& spec);
// Open the backend `spec` names. Throws BackendError. Only one stdio backend at a time
// reads standard input: the first opened (open COM1's backend first); later ones are
// output only.
std::unique_ptr<CharBackend> open_backend(const std::string& spec);

}  // namespace popek::devices
