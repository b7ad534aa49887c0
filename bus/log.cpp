#include "bus/log.h"

namespace popek::bus {

void Log::trace(uint32_t channel, const char* fmt, ...) {
  if (!on(channel)) return;
  va_list ap;
  va_start(ap, fmt);
  vfprintf(out, fmt, ap);
  va_end(ap);
  fputc('\n', out);
}

void Log::channel_line(uint32_t channel, const char* name, std::string_view key, const char* fmt,
                       va_list ap) {
  if (!on(channel)) return;
  const uint32_t n = ++seen_[std::string(key)];
  if (n > kRepeatLimit) return;
  char buf[512];
  vsnprintf(buf, sizeof buf, fmt, ap);
  if (n < kRepeatLimit) fprintf(out, "%s: %s\n", name, buf);
  else fprintf(out, "%s: %s (%u times: not shown again)\n", name, buf, n);
}

void Log::guest_error(std::string_view key, const char* fmt, ...) {
  if (quiet) return;
  ++counts.guest_errors;
  va_list ap;
  va_start(ap, fmt);
  channel_line(trace::GUEST_ERRORS, "guest_errors", key, fmt, ap);
  va_end(ap);
}

void Log::unimp(std::string_view key, const char* fmt, ...) {
  if (quiet) return;
  ++counts.unimp;
  va_list ap;
  va_start(ap, fmt);
  channel_line(trace::UNIMP, "unimp", key, fmt, ap);
  va_end(ap);
}

void Log::warn(const std::string& key, const char* fmt, ...) {
  if (quiet || !seen_.emplace(key, 1).second) return;
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  fprintf(stderr, "popek: %s\n", buf);
  if (out != stderr) fprintf(out, "popek: %s\n", buf);
}

}  // namespace popek::bus
