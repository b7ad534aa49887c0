// The physical side of the machine: guest RAM, ROM, port I/O dispatch, the A20 gate
// and the machine-level requests devices make (stop, reset).
//
// Devices register port ranges here; the CPU reaches them only through io_read/io_write.
// Physical memory is RAM from 0 to ram_size except the legacy hole 0xA0000-0xBFFFF; a
// BIOS image is mapped, whole and read-only, just below 4 GiB, and its last 128 KiB at
// most at the top of the first MiB. A firmware of 128 KiB or more (SeaBIOS, the Bochs
// BIOS) gets that copy as writable RAM filled from the image at every reset, as QEMU's
// isapc machine does (no chipset to unlock shadow RAM: SeaBIOS relocates itself and keeps
// its data there); a smaller image (popek's bare-metal test ROMs) stays read-only.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "bus/clock.h"
#include "bus/device.h"
#include "bus/log.h"

namespace popek::bus {

enum class StopReason : uint8_t {
  None,
  Exit,        // isa-debug-exit or similar: exit_status holds the process status
  Reset,       // the guest asked for a reset (port 0x92 bit 0, triple fault, 0xCF9...)
  Fatal,       // guest state popek cannot continue from; message says why
};

class Bus {
 public:
  explicit Bus(uint64_t ram_size);
  ~Bus();
  Bus(const Bus&) = delete;
  Bus& operator=(const Bus&) = delete;

  // --- physical memory
  uint64_t ram_size() const { return ram_.size(); }
  // All of RAM. Writes through this pointer are not marked dirty (below): it is for
  // reading, and for test harnesses that set memory up before a run.
  uint8_t* ram() { return ram_.data(); }
  // Host pointer for a RAM page holding `phys`, or nullptr when the page is not plain
  // RAM (ROM, unassigned, the legacy hole). A caller that writes through it marks the
  // page dirty (the softmmu does: mmu/mmu.h).
  uint8_t* ram_ptr(uint32_t phys);
  const uint8_t* rom_ptr(uint32_t phys) const;
  void map_bios(std::vector<uint8_t> image);
  // The firmware image map_bios() was given (empty without one).
  const std::vector<uint8_t>& bios_image() const { return bios_; }
  // An option ROM (an ISA card's BIOS, e.g. a VGA BIOS at 0xC0000), read-only at `base`
  // for the BIOS's scan of 0xC0000-0xDFFFF to find. One at most; it must lie below the
  // BIOS copy.
  void map_option_rom(uint32_t base, std::vector<uint8_t> image);
  // The legacy video window 0xA0000-0xBFFFF (a VGA's memory); unmapped, it reads all ones.
  static constexpr uint32_t kVideoWindow = 0xA0000, kVideoWindowEnd = 0xC0000;
  void map_video(MmioDevice* dev) { video_ = dev; }
  // A device's memory window elsewhere in the physical address space (a linear frame
  // buffer above RAM): [base, base + size) goes to `dev` with offsets from `base`. One
  // at most; it must not overlap RAM.
  void map_mmio(uint32_t base, uint32_t size, MmioDevice* dev) {
    mmio_base_ = base;
    mmio_size_ = size;
    mmio_ = dev;
  }
  // Whether the copy below 1 MiB is writable RAM (an image of kShadowMinSize or more).
  static constexpr uint32_t kShadowMinSize = 128 * 1024;
  bool bios_shadowed() const { return bios_shadowed_; }
  // First address of the BIOS copy below 1 MiB (0 without a BIOS).
  uint32_t bios_low_base() const { return bios_low_base_; }
  // Power-on contents of the writable copy: the image's last 128 KiB copied into RAM again
  // (a PC reset reloads the firmware). No effect on a read-only ROM.
  void restore_bios_copy();
  // Slow path for accesses that are not plain RAM; sizes 1, 2, 4.
  uint32_t read_phys(uint32_t phys, unsigned size);
  void write_phys(uint32_t phys, unsigned size, uint32_t value);
  // Copy helpers for loaders (RAM only; return false when the range is not RAM).
  bool load(uint32_t phys, const void* data, size_t len);
  bool fill(uint32_t phys, uint8_t byte, size_t len);

  // --- Dirty pages: per 4 KiB page of RAM, whether it may have been written since the
  // last clear_dirty(). Checkpoints (frontend/snapshot.cpp) look only at these pages. Every
  // write to RAM marks its page: write_phys, load, fill and the BIOS copy do it here, and
  // the softmmu marks a page when it lets a write reach it by a host pointer (a write TLB
  // entry, its slow path, a debugger's write); Mmu::clear_dirty drops those entries
  // first, so that the next write through one marks again.
  void mark_dirty(uint64_t phys, uint64_t len) {
    if (len == 0 || phys >= ram_.size()) return;
    const uint64_t last = std::min<uint64_t>(phys + len - 1, ram_.size() - 1) >> 12;
    for (uint64_t p = phys >> 12; p <= last; ++p) dirty_[p] = 1;
  }
  bool dirty(uint64_t page) const { return dirty_[page] != 0; }
  void clear_dirty() { std::fill(dirty_.begin(), dirty_.end(), uint8_t{0}); }

  // --- A20 gate: when disabled, physical address bit 20 reads as 0.
  bool a20() const { return a20_; }
  void set_a20(bool on);
  uint32_t a20_mask() const { return a20_ ? 0xFFFFFFFFu : ~(1u << 20); }
  // Called when a20 changes, so that cached translations can be dropped.
  std::function<void()> on_a20_change;

  // --- port I/O
  void register_io(Device* dev, uint16_t first, uint16_t count);
  uint32_t io_read(uint16_t port, unsigned size);
  void io_write(uint16_t port, unsigned size, uint32_t value);
  // Sees every port access after the device answered (--lockstep compares the two
  // machines' I/O); `value` is what was read or written.
  std::function<void(bool write, uint16_t port, unsigned size, uint32_t value)> io_observer;

  // --- devices
  void add_device(Device* dev) { devices_.push_back(dev); }
  const std::vector<Device*>& devices() const { return devices_; }
  void reset_devices();

  // --- time and interrupt lines
  Clock& clock() { return clock_; }
  const Clock& clock() const { return clock_; }
  // The interrupt controller registers itself here; set_irq without one is logged once.
  void attach_irq_sink(IrqSink* sink) { irq_ = sink; }
  void set_irq(unsigned irq, bool level) {
    if (irq_) irq_->set_irq(irq, level);
    else if (level) log_.unimp("no-pic", "IRQ %u raised but this machine has no interrupt controller", irq);
  }

  // --- machine requests from devices
  void request_stop(StopReason why, int exit_status, std::string message = {});
  StopReason stop_reason() const { return stop_; }
  int exit_status() const { return exit_status_; }
  const std::string& stop_message() const { return stop_message_; }
  void clear_stop() { stop_ = StopReason::None; }

  Log& log() { return log_; }

 private:
  // Guest RAM: one anonymous mapping, committed by the host as the guest touches it (so
  // -m 3G costs nothing up front). Reads of untouched pages see zeros.
  class GuestRam {
   public:
    explicit GuestRam(uint64_t size);
    ~GuestRam();
    GuestRam(const GuestRam&) = delete;
    GuestRam& operator=(const GuestRam&) = delete;
    uint8_t* data() { return p_; }
    const uint8_t* data() const { return p_; }
    uint64_t size() const { return n_; }

   private:
    uint8_t* p_ = nullptr;
    uint64_t n_ = 0;
  };
  GuestRam ram_;
  std::vector<uint8_t> dirty_;  // per RAM page, mark_dirty
  std::vector<uint8_t> bios_;
  uint32_t bios_low_base_ = 0;   // first address of the alias below 1 MiB
  uint32_t bios_high_base_ = 0;  // first address of the image below 4 GiB
  bool bios_shadowed_ = false;   // the copy below 1 MiB is RAM (restore_bios_copy)
  std::vector<uint8_t> option_rom_;
  uint32_t option_rom_base_ = 0;
  bool a20_ = true;
  std::vector<Device*> devices_;
  std::vector<Device*> io_map_;  // 65536 entries
  MmioDevice* video_ = nullptr;
  MmioDevice* mmio_ = nullptr;
  uint32_t mmio_base_ = 0, mmio_size_ = 0;
  std::unique_ptr<Device> unassigned_;
  StopReason stop_ = StopReason::None;
  int exit_status_ = 0;
  std::string stop_message_;
  Log log_;
  Clock clock_;
  IrqSink* irq_ = nullptr;
};

}  // namespace popek::bus
