// The robustness fuzzers' common shape (tests/fuzz/).
//
// A fuzzer turns a seed into an input (a byte string) and runs one input. The input is
// self-contained: run() reads everything it needs from the bytes, through Input, which
// reads zeros past the end, so that any byte string is a valid input and a reproducer
// file is just the bytes (the generator that made them may change later).
//
// The oracle is in three parts. A crash, a sanitizer report or an internal assertion
// kills the process; a run that takes too long on the host is a hang; both are caught by
// the supervisor in fuzz_main.cpp, which keeps the input. Everything run() itself can
// check (an invariant of the CPU state broken, the two engines disagreeing, a loader
// failing with something other than a one-line error) comes back as a Finding.
#pragma once

#include <algorithm>
#include <csignal>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "frontend/host_attention.h"
#include "tests/diff/random_values.h"

namespace popek::fuzz {

using test::Rng;

// Sequential little-endian reads from an input; past its end every read is zero.
class Input {
 public:
  Input(const uint8_t* data, size_t size) : p_(data), n_(size) {}
  explicit Input(const std::vector<uint8_t>& v) : Input(v.data(), v.size()) {}

  uint8_t u8() { return pos_ < n_ ? p_[pos_++] : 0; }
  uint16_t u16() { return static_cast<uint16_t>(u8() | u8() << 8); }
  uint32_t u32() { return u16() | static_cast<uint32_t>(u16()) << 16; }
  // `len` bytes into `out`, zero-filled past the end.
  void bytes(uint8_t* out, size_t len) {
    if (len == 0) return;  // `out` may be null then (an empty vector's data())
    const size_t have = pos_ < n_ ? std::min(len, n_ - pos_) : 0;
    if (have) std::memcpy(out, p_ + pos_, have);
    std::memset(out + have, 0, len - have);
    pos_ += have;
  }
  // A length-prefixed (u32) piece, its length capped at `max`.
  std::vector<uint8_t> blob(size_t max) {
    size_t len = u32();
    len = std::min<size_t>({len, max, n_ > pos_ ? n_ - pos_ : 0});
    std::vector<uint8_t> v(len);
    bytes(v.data(), len);
    return v;
  }

 private:
  const uint8_t* p_;
  size_t n_;
  size_t pos_ = 0;
};

// The writing side, for generators.
struct Output {
  std::vector<uint8_t> v;
  void u8(uint32_t x) { v.push_back(static_cast<uint8_t>(x)); }
  void u16(uint32_t x) { u8(x); u8(x >> 8); }
  void u32(uint32_t x) { u16(x); u16(x >> 16); }
  void bytes(const std::vector<uint8_t>& b) { v.insert(v.end(), b.begin(), b.end()); }
  void blob(const std::vector<uint8_t>& b) {
    u32(static_cast<uint32_t>(b.size()));
    bytes(b);
  }
};

// Figures a fuzzer adds up over a campaign, printed in the summary.
struct Counters {
  uint64_t streams = 0;       // instruction streams run (each on both engines)
  uint64_t inputs = 0;        // device and loader inputs run
  uint64_t guest_insns = 0;   // instructions retired, both engines together
  uint64_t rejected = 0;      // loader inputs refused with a one-line error (the expected outcome)
  uint64_t fatal_stops = 0;   // clean machine stops for what popek does not implement
  uint64_t resets = 0;        // triple faults (the machine stops: -no-reboot)
  uint64_t cut = 0;           // runs stopped by the SoftLimit (no instruction retired, or long REPs)
  uint64_t idle = 0;          // runs that halted waiting for an interrupt that never came
  // Where the streams got to (the interpreter's run), and what the JIT did with them.
  uint64_t end_real = 0, end_cpl3 = 0, end_paging = 0;
  uint64_t jit_blocks = 0, jit_block_runs = 0;
};

class Fuzzer {
 public:
  virtual ~Fuzzer() = default;
  virtual const char* name() const = 0;
  // A new input from `r` (biased toward what finds bugs; any bytes are valid too).
  virtual std::vector<uint8_t> generate(Rng& r) = 0;
  // Runs one input; returns "" or a one-paragraph description of what went wrong.
  virtual std::string run(const std::vector<uint8_t>& input, Counters& c) = 0;
};

// The fuzzers (insn_fuzzer.cpp, device_fuzzer.cpp, loader_fuzzer.cpp). `budget` is the
// instruction budget of one run (both engines for the instruction fuzzer). With
// `plant_difference` the instruction fuzzer changes EAX of the JIT's machine after every
// run: the harness's test that the engine comparison can fail.
Fuzzer* make_insn_fuzzer(uint64_t budget, double soft_limit, bool plant_difference = false);
Fuzzer* make_device_fuzzer();
Fuzzer* make_loader_fuzzer(uint64_t budget, double soft_limit);

// A bound on the host time of one guest run, for the runs an instruction budget does not
// bound: a guest whose exceptions keep being delivered without an instruction retiring
// (every handler faults at once) freezes the instruction count and so virtual time; a
// REP string counts one instruction per 4,096 iterations. arm() starts a timer of the
// process's CPU time (so that a busy host does not cut more runs) that ticks every
// millisecond: after `seconds`, or after two ticks in which `*progress`
// (the retired-instruction count) did not move, host() (a Machine's host) gets a signal
// and the machine stops at its next block boundary, as on SIGTERM. Runs cut short this
// way are timing-dependent: they are counted and their state is checked, but the
// engines are not compared.
class SoftLimit {
 public:
  static void arm(double seconds, const uint64_t* progress);
  static void disarm();
  static frontend::HostAttention* host();
};

// A file the machine can open by name that lives in memory (memfd): the loader and disk
// fuzzers hand images to the frontend's path-based code without touching the disk.
class MemFile {
 public:
  MemFile();
  ~MemFile();
  MemFile(const MemFile&) = delete;
  MemFile& operator=(const MemFile&) = delete;
  // Replace the contents.
  void set(const std::vector<uint8_t>& bytes);
  // Contents now (after the guest wrote to a disk image, say).
  std::vector<uint8_t> get() const;
  const std::string& path() const { return path_; }

 private:
  int fd_ = -1;
  std::string path_;
};

}  // namespace popek::fuzz
