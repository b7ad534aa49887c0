// Logging for the core. Three kinds of line, so that the console belongs to the guest:
//  - trace(): a -d channel that follows execution (in_asm, int, exec, cpu, ioport), every
//    event while the channel is on;
//  - guest_error() and unimp(): normal guest behaviour nobody needs to read unless asked —
//    the guest touching what is not there or misusing a device (-d guest_errors), or a
//    corner popek does not model (-d unimp), as QEMU's channels of those names. Counted
//    always (--stats prints the counts); written to `out` only while the channel is on;
//  - warn(): what the user must see, once per key on stderr: popek cannot give the guest
//    what a PC would (an unimplemented instruction raises #UD), or the host or popek
//    itself failed (a disk image write, a block the JIT cannot assemble).
#pragma once

#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <unordered_map>

namespace popek::bus {

// -d channels (QEMU spellings where QEMU has one).
namespace trace {
constexpr uint32_t IN_ASM = 1u << 0;   // each translated/decoded block
constexpr uint32_t INT = 1u << 1;      // interrupts and exceptions
constexpr uint32_t EXEC = 1u << 2;     // each block executed
constexpr uint32_t CPU = 1u << 3;      // register dump before each block
constexpr uint32_t GUEST_ERRORS = 1u << 4;  // guest misbehaviour: Log::guest_error()
constexpr uint32_t UNIMP = 1u << 5;    // unimplemented features: Log::unimp()
constexpr uint32_t IOPORT = 1u << 6;   // POST codes
}  // namespace trace

class Log {
 public:
  // A channel line is written this many times per key at most: a guest polling an absent
  // port must not fill the disk. The last one says so; the counts go on.
  static constexpr uint32_t kRepeatLimit = 100;

  // Channels enabled with -d.
  uint32_t mask = 0;
  // Where -d output goes (stderr unless -D FILE).
  FILE* out = stderr;
  // Prints and counts nothing (the shadow machine of --lockstep, which would repeat the
  // primary's lines).
  bool quiet = false;
  // Events of the two rate-limited channels, whether the channel is on or not.
  struct Counts {
    uint64_t guest_errors = 0;
    uint64_t unimp = 0;
  } counts;

  bool on(uint32_t channel) const { return (mask & channel) != 0; }
  // Trace line on a -d channel.
  void trace(uint32_t channel, const char* fmt, ...) __attribute__((format(printf, 3, 4)));
  // The guest did something a PC answers with nothing useful (an access where nothing is
  // mapped, a write to a read-only register, a command the device rejects): -d guest_errors.
  void guest_error(std::string_view key, const char* fmt, ...) __attribute__((format(printf, 3, 4)));
  // The guest asked for something popek does not model and got the closest answer: -d unimp.
  void unimp(std::string_view key, const char* fmt, ...) __attribute__((format(printf, 3, 4)));
  // A line the user must see: once per `key` on stderr (and in the -D file too).
  void warn(const std::string& key, const char* fmt, ...) __attribute__((format(printf, 3, 4)));

 private:
  // (`key` is a view: a line whose channel is off costs no string.)
  void channel_line(uint32_t channel, const char* name, std::string_view key, const char* fmt,
                    va_list ap);

  // Lines written so far per key (warn() keys and channel keys do not overlap).
  std::unordered_map<std::string, uint32_t> seen_;
};

}  // namespace popek::bus
