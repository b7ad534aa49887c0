// A raw disk image: an array of 512-byte sectors in a host file.
//
// The file is opened read-write, or read-only when the drive is configured readonly or
// the file is not writable; then every write fails (the controller reports a device
// error to the guest). In snapshot mode the file is opened read-only and written sectors
// live in an in-memory overlay that dies with the object: the file is never written.
// Read and write report host failures (a file truncated behind our back, an I/O error)
// as `false` so that the guest sees a device error and the emulator carries on.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <stdexcept>
#include <string>

namespace popek::devices {

// A disk image that cannot be used; what() is one line naming the file.
struct DiskError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class DiskImage {
 public:
  static constexpr unsigned kSectorSize = 512;

  // Opens `path`. Throws DiskError when the file is missing, unreadable, not a regular
  // file, empty or not a whole number of sectors.
  DiskImage(const std::string& path, bool readonly, bool snapshot);
  // Flushes (a no-op in snapshot mode) and closes.
  ~DiskImage();
  DiskImage(const DiskImage&) = delete;
  DiskImage& operator=(const DiskImage&) = delete;

  const std::string& path() const { return path_; }
  uint64_t sectors() const { return sectors_; }
  // Writes are refused (readonly=on, or the file could not be opened for writing).
  bool readonly() const { return readonly_; }
  bool snapshot() const { return snapshot_; }

  // Copy `count` sectors starting at `lba` to/from `buf` (count * 512 bytes). False when
  // the range is outside the disk, the disk is read-only (write) or the host failed.
  bool read(uint64_t lba, uint8_t* buf, unsigned count = 1);
  bool write(uint64_t lba, const uint8_t* buf, unsigned count = 1);
  // Make completed writes durable (fsync). True in snapshot and read-only modes.
  bool flush();
  // Called before a write within the disk reaches the image or the overlay (record/replay
  // keeps the sectors' earlier contents).
  std::function<void(uint64_t lba, unsigned count)> before_write;
  // Snapshot mode: sector `lba` reads as `data` (512 bytes) until the guest writes it (a
  // replay starts from the image as it was when the recording started).
  void preload(uint64_t lba, const uint8_t* data);

  // Snapshot mode: the sectors the guest wrote, by LBA (what a machine snapshot saves),
  // and their replacement on a snapshot load.
  using Sector = std::array<uint8_t, kSectorSize>;
  const std::map<uint64_t, Sector>& overlay() const { return overlay_; }
  void replace_overlay(std::map<uint64_t, Sector> sectors) { overlay_ = std::move(sectors); }

 private:
  std::string path_;
  int fd_ = -1;
  uint64_t sectors_ = 0;
  bool readonly_ = false;
  bool snapshot_ = false;
  bool dirty_ = false;
  std::map<uint64_t, Sector> overlay_;  // snapshot mode: sectors written by the guest
};

}  // namespace popek::devices
