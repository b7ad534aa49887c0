// Logging for the core: rate-limited guest-misbehaviour lines and the -d trace channels.
#pragma once

#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <string>
#include <unordered_set>

namespace popek::bus {

// -d channels (QEMU spellings where QEMU has one).
namespace trace {
constexpr uint32_t IN_ASM = 1u << 0;   // each translated/decoded block
constexpr uint32_t INT = 1u << 1;      // interrupts and exceptions
constexpr uint32_t EXEC = 1u << 2;     // each block executed
constexpr uint32_t CPU = 1u << 3;      // register dump before each block
constexpr uint32_t GUEST_ERRORS = 1u << 4;  // guest misbehaviour (also logged once without -d)
constexpr uint32_t UNIMP = 1u << 5;    // unimplemented features
constexpr uint32_t IOPORT = 1u << 6;   // POST codes and unassigned ports
}  // namespace trace

class Log {
 public:
  // Channels enabled with -d.
  uint32_t mask = 0;
  // Where -d output goes (stderr unless -D FILE).
  FILE* out = stderr;
  // once() prints nothing (the shadow machine of --lockstep, which would repeat the
  // primary's lines).
  bool quiet = false;

  bool on(uint32_t channel) const { return (mask & channel) != 0; }
  // Trace line on a -d channel.
  void trace(uint32_t channel, const char* fmt, ...) __attribute__((format(printf, 3, 4)));
  // A warning about the guest or an unimplemented corner, printed once per `key`
  // (always to stderr, and to the -d file too when tracing).
  void once(const std::string& key, const char* fmt, ...) __attribute__((format(printf, 3, 4)));

 private:
  std::unordered_set<std::string> seen_;
};

}  // namespace popek::bus
