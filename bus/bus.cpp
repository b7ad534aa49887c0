#include "bus/bus.h"

#include <sys/mman.h>

#include <new>

#include <algorithm>
#include <cstring>

namespace popek::bus {

namespace {
constexpr uint32_t kLegacyHoleStart = 0xA0000;
constexpr uint32_t kLegacyHoleEnd = 0xC0000;
constexpr uint32_t kLowBiosMax = 128 * 1024;

// Unassigned ports float high on an ISA bus.
class Unassigned final : public Device {
 public:
  explicit Unassigned(Bus& bus) : bus_(bus) {}
  const char* name() const override { return "unassigned"; }
  void reset() override {}
  uint32_t io_read(uint16_t port, unsigned size) override {
    char key[32];
    snprintf(key, sizeof key, "ioport-r-%04x", port);
    bus_.log().guest_error(key, "I/O read of unassigned port 0x%04x (size %u): returning all ones", port,
                           size);
    return size == 4 ? 0xFFFFFFFFu : (1u << (size * 8)) - 1;
  }
  void io_write(uint16_t port, unsigned size, uint32_t value) override {
    char key[32];
    snprintf(key, sizeof key, "ioport-w-%04x", port);
    bus_.log().guest_error(key, "I/O write of 0x%x to unassigned port 0x%04x (size %u): ignored", value,
                           port, size);
  }

 private:
  Bus& bus_;
};
}  // namespace

Bus::GuestRam::GuestRam(uint64_t size) : n_(size) {
  if (size == 0) return;
  void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  p_ = static_cast<uint8_t*>(p);
}

Bus::GuestRam::~GuestRam() {
  if (p_) munmap(p_, n_);
}

Bus::Bus(uint64_t ram_size) : ram_(ram_size), dirty_((ram_size + 4095) / 4096, 1), io_map_(65536, nullptr) {
  unassigned_ = std::make_unique<Unassigned>(*this);
  std::fill(io_map_.begin(), io_map_.end(), unassigned_.get());
}

Bus::~Bus() = default;

void Bus::map_bios(std::vector<uint8_t> image) {
  bios_ = std::move(image);
  const uint32_t size = static_cast<uint32_t>(bios_.size());
  bios_high_base_ = static_cast<uint32_t>(0x100000000ull - size);
  bios_low_base_ = 0x100000 - std::min(size, kLowBiosMax);
  bios_shadowed_ = size >= kShadowMinSize && ram_.size() >= 0x100000;
  restore_bios_copy();
}

void Bus::restore_bios_copy() {
  if (!bios_shadowed_) return;
  const uint32_t low_size = 0x100000 - bios_low_base_;
  std::memcpy(ram_.data() + bios_low_base_, bios_.data() + bios_.size() - low_size, low_size);
  mark_dirty(bios_low_base_, low_size);
}

void Bus::map_option_rom(uint32_t base, std::vector<uint8_t> image) {
  option_rom_ = std::move(image);
  option_rom_base_ = base;
}

uint8_t* Bus::ram_ptr(uint32_t phys) {
  if (phys >= ram_.size()) return nullptr;
  if (phys >= kLegacyHoleStart && phys < kLegacyHoleEnd) return nullptr;
  if (phys - option_rom_base_ < option_rom_.size()) return nullptr;
  if (!bios_.empty() && !bios_shadowed_ && phys >= bios_low_base_ && phys < 0x100000) return nullptr;
  return ram_.data() + phys;
}

const uint8_t* Bus::rom_ptr(uint32_t phys) const {
  if (phys - option_rom_base_ < option_rom_.size()) return option_rom_.data() + (phys - option_rom_base_);
  if (bios_.empty()) return nullptr;
  if (!bios_shadowed_ && phys >= bios_low_base_ && phys < 0x100000)
    return bios_.data() + (bios_.size() - (0x100000 - phys));
  if (phys >= bios_high_base_) return bios_.data() + (phys - bios_high_base_);
  return nullptr;
}

// One log event per access (at its first byte that is neither RAM nor ROM), not per byte.
uint32_t Bus::read_phys(uint32_t phys, unsigned size) {
  if (video_ && phys >= kVideoWindow && phys + size <= kVideoWindowEnd) {
    return video_->mem_read(phys - kVideoWindow, size);
  }
  if (mmio_ && phys - mmio_base_ < mmio_size_ && phys - mmio_base_ + size <= mmio_size_) {
    return mmio_->mem_read(phys - mmio_base_, size);
  }
  uint32_t v = 0;
  bool logged = false;
  for (unsigned i = 0; i < size; ++i) {
    const uint32_t a = phys + i;
    uint8_t b;
    if (const uint8_t* p = ram_ptr(a)) {
      b = *p;
    } else if (const uint8_t* r = rom_ptr(a)) {
      b = *r;
    } else if (video_ && a >= kVideoWindow && a < kVideoWindowEnd) {
      b = static_cast<uint8_t>(video_->mem_read(a - kVideoWindow, 1));
    } else if (mmio_ && a - mmio_base_ < mmio_size_) {
      b = static_cast<uint8_t>(mmio_->mem_read(a - mmio_base_, 1));
    } else {
      if (!logged && !(a >= kLegacyHoleStart && a < kLegacyHoleEnd)) {
        log_.guest_error("unassigned-mem-read", "read of unassigned physical memory at 0x%08x: all ones",
                         a);
        logged = true;
      }
      b = 0xFF;
    }
    v |= static_cast<uint32_t>(b) << (8 * i);
  }
  return v;
}

void Bus::write_phys(uint32_t phys, unsigned size, uint32_t value) {
  if (video_ && phys >= kVideoWindow && phys + size <= kVideoWindowEnd) {
    video_->mem_write(phys - kVideoWindow, size, value);
    return;
  }
  if (mmio_ && phys - mmio_base_ < mmio_size_ && phys - mmio_base_ + size <= mmio_size_) {
    mmio_->mem_write(phys - mmio_base_, size, value);
    return;
  }
  bool logged = false;
  for (unsigned i = 0; i < size; ++i) {
    const uint32_t a = phys + i;
    if (uint8_t* p = ram_ptr(a)) {
      *p = static_cast<uint8_t>(value >> (8 * i));
      dirty_[a >> 12] = 1;
      continue;
    }
    if (video_ && a >= kVideoWindow && a < kVideoWindowEnd) {
      video_->mem_write(a - kVideoWindow, 1, (value >> (8 * i)) & 0xFF);
      continue;
    }
    if (mmio_ && a - mmio_base_ < mmio_size_) {
      mmio_->mem_write(a - mmio_base_, 1, (value >> (8 * i)) & 0xFF);
      continue;
    }
    if (logged) continue;
    logged = true;
    if (rom_ptr(a)) {
      log_.guest_error("rom-write", "write to ROM at 0x%08x ignored", a);
    } else if (!(a >= kLegacyHoleStart && a < kLegacyHoleEnd)) {
      log_.guest_error("unassigned-mem-write", "write to unassigned physical memory at 0x%08x ignored",
                       a);
    } else {
      log_.guest_error("vga-hole-write", "write to the legacy video window at 0x%08x ignored "
                       "(this machine has no VGA: -vga none)", a);
    }
  }
}

bool Bus::load(uint32_t phys, const void* data, size_t len) {
  if (static_cast<uint64_t>(phys) + len > ram_.size()) return false;
  std::memcpy(ram_.data() + phys, data, len);
  mark_dirty(phys, len);
  return true;
}

bool Bus::fill(uint32_t phys, uint8_t byte, size_t len) {
  if (static_cast<uint64_t>(phys) + len > ram_.size()) return false;
  std::memset(ram_.data() + phys, byte, len);
  mark_dirty(phys, len);
  return true;
}

void Bus::set_a20(bool on) {
  if (on == a20_) return;
  a20_ = on;
  if (on_a20_change) on_a20_change();
}

void Bus::register_io(Device* dev, uint16_t first, uint16_t count) {
  for (uint32_t p = first; p < static_cast<uint32_t>(first) + count && p < 65536; ++p) io_map_[p] = dev;
}

uint32_t Bus::io_read(uint16_t port, unsigned size) {
  const uint32_t v = io_map_[port]->io_read(port, size);
  if (io_observer) io_observer(false, port, size, v);
  return v;
}

void Bus::io_write(uint16_t port, unsigned size, uint32_t value) {
  io_map_[port]->io_write(port, size, value);
  if (io_observer) io_observer(true, port, size, value);
}

void Bus::reset_devices() {
  for (Device* d : devices_) d->reset();
}

void Bus::request_stop(StopReason why, int exit_status, std::string message) {
  if (stop_ != StopReason::None) return;  // the first request wins
  stop_ = why;
  exit_status_ = exit_status;
  stop_message_ = std::move(message);
}

}  // namespace popek::bus
