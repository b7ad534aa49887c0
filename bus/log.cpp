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

void Log::once(const std::string& key, const char* fmt, ...) {
  if (quiet || !seen_.insert(key).second) return;
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  fprintf(stderr, "popek: %s\n", buf);
  if (out != stderr && mask != 0) fprintf(out, "popek: %s\n", buf);
}

}  // namespace popek::bus
