// Character backends: where a device's output bytes go and where its input bytes come from.
//
// A backend is chosen by a spec string, the same spelling for every character device:
//   stdio        the host's standard output (input: none yet; no raw terminal mode)
//   file:PATH    PATH, created or truncated (output only)
//   none         output discarded, no input
// Input never comes from the host directly: the frontend's input channel pushes bytes
// with push_input() so that a recording can replay them at the same instruction.
#pragma once

#include <cstdint>
#include <cstdio>
#include <deque>
#include <memory>
#include <stdexcept>
#include <string>

namespace popek::devices {

class CharBackend {
 public:
  virtual ~CharBackend() = default;
  // One output byte from the guest.
  virtual void write(uint8_t byte) = 0;
  // Push buffered output to the host.
  virtual void flush() {}

  // Input queue, fed by the frontend.
  void push_input(uint8_t byte) { input_.push_back(byte); }
  bool input_ready() const { return !input_.empty(); }
  // Next input byte; 0 when none is queued.
  uint8_t pop_input() {
    if (input_.empty()) return 0;
    const uint8_t b = input_.front();
    input_.pop_front();
    return b;
  }

 private:
  std::deque<uint8_t> input_;
};

// Discards output.
class NullBackend final : public CharBackend {
 public:
  void write(uint8_t) override {}
};

// Writes to a stdio stream (the host's stdout by default). Output is flushed at every
// newline and by flush(), so that the guest's lines reach a pipe in the guest's order and
// interleave correctly with other devices writing to the same stream.
class StdioBackend final : public CharBackend {
 public:
  explicit StdioBackend(FILE* out = stdout) : out_(out) {}
  ~StdioBackend() override { flush(); }
  void write(uint8_t byte) override;
  void flush() override;

 private:
  FILE* out_;
};

// Writes to a file the backend owns.
class FileBackend final : public CharBackend {
 public:
  // Throws BackendError when `path` cannot be created.
  explicit FileBackend(const std::string& path);
  ~FileBackend() override;
  FileBackend(const FileBackend&) = delete;
  FileBackend& operator=(const FileBackend&) = delete;
  void write(uint8_t byte) override;
  void flush() override;

 private:
  FILE* f_ = nullptr;
};

// A spec that cannot be honoured; what() is one line naming the spec or the file.
struct BackendError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// True when `spec` is one of the spellings above (checked by the command line parser).
bool valid_backend_spec(const std::string& spec);
// Open the backend `spec` names. Throws BackendError.
std::unique_ptr<CharBackend> open_backend(const std::string& spec);

}  // namespace popek::devices
