#include "devices/disk_image.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace popek::devices {

namespace {
// pread/pwrite the whole range, retrying short transfers and EINTR.
bool full_pread(int fd, uint8_t* buf, size_t len, off_t off) {
  while (len) {
    const ssize_t n = ::pread(fd, buf, len, off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;  // error, or end of file (the file shrank)
    buf += n;
    len -= static_cast<size_t>(n);
    off += n;
  }
  return true;
}

bool full_pwrite(int fd, const uint8_t* buf, size_t len, off_t off) {
  while (len) {
    const ssize_t n = ::pwrite(fd, buf, len, off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    buf += n;
    len -= static_cast<size_t>(n);
    off += n;
  }
  return true;
}
}  // namespace

DiskImage::DiskImage(const std::string& path, bool readonly, bool snapshot)
    : path_(path), readonly_(readonly), snapshot_(snapshot) {
  const std::string what = "disk image " + path + ": ";
  if (!readonly_ && !snapshot_) {
    fd_ = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
    // A file we may read but not write becomes a read-only disk.
    if (fd_ < 0 && (errno == EACCES || errno == EROFS || errno == EPERM)) readonly_ = true;
  }
  if (fd_ < 0) fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) throw DiskError(what + strerror(errno));
  struct stat st;
  if (::fstat(fd_, &st) != 0) {
    const int e = errno;
    ::close(fd_);
    throw DiskError(what + strerror(e));
  }
  std::string bad;
  if (!S_ISREG(st.st_mode)) bad = "not a regular file";
  else if (st.st_size == 0) bad = "file is empty";
  else if (st.st_size % kSectorSize != 0)
    bad = "size " + std::to_string(st.st_size) + " is not a multiple of 512 bytes";
  if (!bad.empty()) {
    ::close(fd_);
    throw DiskError(what + bad);
  }
  sectors_ = static_cast<uint64_t>(st.st_size) / kSectorSize;
}

DiskImage::~DiskImage() {
  flush();
  ::close(fd_);
}

bool DiskImage::read(uint64_t lba, uint8_t* buf, unsigned count) {
  if (lba >= sectors_ || count > sectors_ - lba) return false;
  if (!full_pread(fd_, buf, size_t{count} * kSectorSize, static_cast<off_t>(lba * kSectorSize)))
    return false;
  if (snapshot_ && !overlay_.empty()) {
    for (unsigned i = 0; i < count; ++i) {
      auto it = overlay_.find(lba + i);
      if (it != overlay_.end()) memcpy(buf + size_t{i} * kSectorSize, it->second.data(), kSectorSize);
    }
  }
  return true;
}

bool DiskImage::write(uint64_t lba, const uint8_t* buf, unsigned count) {
  if (readonly_ || lba >= sectors_ || count > sectors_ - lba) return false;
  if (before_write) before_write(lba, count);
  if (snapshot_) {
    for (unsigned i = 0; i < count; ++i)
      memcpy(overlay_[lba + i].data(), buf + size_t{i} * kSectorSize, kSectorSize);
    return true;
  }
  if (!full_pwrite(fd_, buf, size_t{count} * kSectorSize, static_cast<off_t>(lba * kSectorSize)))
    return false;
  dirty_ = true;
  return true;
}

void DiskImage::preload(uint64_t lba, const uint8_t* data) {
  if (!snapshot_ || lba >= sectors_) return;
  memcpy(overlay_[lba].data(), data, kSectorSize);
}

bool DiskImage::flush() {
  if (!dirty_) return true;
  if (::fsync(fd_) != 0) return false;
  dirty_ = false;
  return true;
}

}  // namespace popek::devices
