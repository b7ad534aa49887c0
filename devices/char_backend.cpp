#include "devices/char_backend.h"

#include <cerrno>
#include <cstring>

namespace popek::devices {

void StdioBackend::write(uint8_t byte) {
  fputc(byte, out_);
  if (byte == '\n') fflush(out_);
}

void StdioBackend::flush() { fflush(out_); }

FileBackend::FileBackend(const std::string& path) {
  f_ = fopen(path.c_str(), "wb");
  if (!f_) throw BackendError(path + ": cannot create: " + strerror(errno));
}

FileBackend::~FileBackend() {
  if (f_) fclose(f_);
}

void FileBackend::write(uint8_t byte) { fputc(byte, f_); }

void FileBackend::flush() { fflush(f_); }

bool valid_backend_spec(const std::string& spec) {
  if (spec == "stdio" || spec == "none") return true;
  return spec.rfind("file:", 0) == 0 && spec.size() > 5;
}

std::unique_ptr<CharBackend> open_backend(const std::string& spec) {
  if (spec == "stdio") return std::make_unique<StdioBackend>();
  if (spec == "none") return std::make_unique<NullBackend>();
  if (spec.rfind("file:", 0) == 0 && spec.size() > 5)
    return std::make_unique<FileBackend>(spec.substr(5));
  throw BackendError("unsupported character backend '" + spec +
                     "' (use stdio, file:PATH or none)");
}

}  // namespace popek::devices
