// One ATA/IDE channel (PIO only) with up to two ATA disks, as on an ISA PC: command block
// registers at base..base+7, alternate status / device control at ctl, one IRQ line.
//
// Commands complete at once (no seek or rotation time): the data for a read is in the
// buffer, and INTRQ raised, when the command register write returns. Everything is a
// function of the guest's register accesses, so runs are deterministic.
//
// The task-file registers are one set per channel, as on the cable (writes reach both
// devices); status, error and the data transfer belong to each device. A device that is
// not attached reads Status (and alternate status) as 0, and device 0 answers the other
// register reads for it, as the ATA standard asks: Linux's probe sees "no device". A
// channel with no device at all reads 0 everywhere.
//
// Departures from a real drive: a multi-sector read or write is range-checked before the
// transfer starts (IDNF reported at once, no partial transfer); a write to a read-only
// disk is refused with ABRT when the command is issued; host I/O errors become UNC (read)
// or ABRT (write).
#pragma once

#include <cstdint>

#include "bus/bus.h"
#include "devices/disk_image.h"

namespace popek::devices {

namespace ata {
// Command block register offsets from the base port.
constexpr uint16_t DATA = 0, ERROR_FEATURE = 1, COUNT = 2, LBA_LOW = 3, LBA_MID = 4,
                   LBA_HIGH = 5, DEVICE = 6, STATUS_COMMAND = 7;
// Status
constexpr uint8_t ST_ERR = 0x01, ST_DRQ = 0x08, ST_DSC = 0x10, ST_DF = 0x20, ST_DRDY = 0x40,
                  ST_BSY = 0x80;
// Error
constexpr uint8_t ER_AMNF = 0x01, ER_ABRT = 0x04, ER_IDNF = 0x10, ER_UNC = 0x40;
// Device control
constexpr uint8_t CTL_NIEN = 0x02, CTL_SRST = 0x04, CTL_HOB = 0x80;
// Device register
constexpr uint8_t DEV_DEV = 0x10, DEV_LBA = 0x40;
// Largest READ/WRITE MULTIPLE block (IDENTIFY word 47).
constexpr unsigned kMaxMultiple = 16;
}  // namespace ata

struct IdeDriveState {
  uint8_t status = 0;
  uint8_t error = 0;
  uint8_t multiple = 0;     // sectors per DRQ block for the MULTIPLE commands; 0 = off
  uint8_t write_cache = 1;  // SET FEATURES 02h/82h; off = each write is flushed
  uint8_t standby = 0;      // power mode reported by CHECK POWER MODE
  uint8_t xfer = 0;         // Xfer: what the data port is doing
  uint8_t addr_mode = 0;    // Addr of the command in progress
  uint16_t heads = 16;      // current CHS translation (INITIALIZE DEVICE PARAMETERS)
  uint16_t spt = 63;
  uint32_t cyls = 0;
  uint64_t lba = 0;         // first sector of the current block
  uint32_t remaining = 0;   // sectors still to transfer, the current block included
  uint16_t block = 1;       // sectors per DRQ block of the command in progress
  uint16_t pos = 0;         // byte offset in buffer
  uint16_t size = 0;        // bytes in the current DRQ block
  uint8_t buffer[ata::kMaxMultiple * 512] = {};
  template <class Visitor>
  void visit(Visitor& v) {
    v("status", status);
    v("error", error);
    v("multiple", multiple);
    v("write_cache", write_cache);
    v("standby", standby);
    v("xfer", xfer);
    v("addr_mode", addr_mode);
    v("heads", heads);
    v("spt", spt);
    v("cyls", cyls);
    v("lba", lba);
    v("remaining", remaining);
    v("block", block);
    v("pos", pos);
    v("size", size);
    v("buffer", buffer);
  }
};

struct IdeChannelState {
  static constexpr uint32_t kVersion = 1;
  // Task file; [0] the last value written, [1] the one before (the LBA48 "HOB" byte).
  uint8_t feature[2] = {};
  uint8_t count[2] = {};
  uint8_t lba_low[2] = {};
  uint8_t lba_mid[2] = {};
  uint8_t lba_high[2] = {};
  uint8_t device = 0xA0;  // bits 7 and 5 read as 1
  uint8_t devctl = 0;
  uint8_t intrq = 0;      // an interrupt is pending (cleared by reading Status)
  IdeDriveState drive[2];
  template <class Visitor>
  void visit(Visitor& v) {
    v("feature", feature);
    v("count", count);
    v("lba_low", lba_low);
    v("lba_mid", lba_mid);
    v("lba_high", lba_high);
    v("device", device);
    v("devctl", devctl);
    v("intrq", intrq);
    v("drive0", drive[0]);
    v("drive1", drive[1]);
  }
};

// The default CHS translation of a disk of `sectors` sectors: 16 heads, 63 sectors per
// track, at most 16383 cylinders (what BIOSes and ATA drives report for any disk over
// 8.4 GB). IDENTIFY and the CMOS disk entries both use it.
constexpr unsigned kDefaultHeads = 16, kDefaultSectorsPerTrack = 63;
uint32_t default_cylinders(uint64_t sectors);

// The BIOS CHS translation a PC's setup would choose for a disk of `sectors` sectors with
// `mbr` (its sector 0) as QEMU chooses it (devices::boot::TRANS_* codes for CMOS 0x39):
// a partition table written under a translating BIOS (a partition ending on a head above
// 15) asks for LARGE, or LBA when the standard geometry has more than 131072 cylinders x
// heads; otherwise NONE while the standard geometry fits the BIOS's 1024 cylinders, LBA
// beyond. (A table written for 16 heads or fewer makes QEMU adopt its geometry as the
// disk's; popek's disks keep 16 heads and 63 sectors, translation NONE.)
uint8_t guess_bios_translation(const uint8_t (&mbr)[512], uint64_t sectors);

class IdeChannel final : public bus::Device {
 public:
  static constexpr uint16_t kPrimaryBase = 0x1F0, kPrimaryCtl = 0x3F6;
  static constexpr unsigned kPrimaryIrq = 14;
  static constexpr uint16_t kSecondaryBase = 0x170, kSecondaryCtl = 0x376;
  static constexpr unsigned kSecondaryIrq = 15;

  // Registers base..base+7 and ctl on the bus. Attach the disks, then reset (the bus's
  // reset_devices() does it).
  IdeChannel(bus::Bus& bus, uint16_t base, uint16_t ctl, unsigned irq);
  const char* name() const override { return "ide"; }
  // Hardware reset: both devices back to power-on settings, signatures in the registers.
  void reset() override;
  uint32_t io_read(uint16_t port, unsigned size) override;
  void io_write(uint16_t port, unsigned size, uint32_t value) override;

  // Put `disk` on this channel as device `unit` (0 master, 1 slave); nullptr detaches.
  // The disk must outlive the channel.
  void attach(unsigned unit, DiskImage* disk);
  DiskImage* disk(unsigned unit) const { return disks_[unit & 1]; }
  // The INTRQ line as driven to the interrupt controller.
  bool irq_line() const { return state.intrq && !(state.devctl & ata::CTL_NIEN); }
  // Recompute derived state after state was loaded.
  void post_load();

  IdeChannelState state;

 private:
  enum Xfer : uint8_t { kNone, kIn, kOut };
  enum Addr : uint8_t { kChs, kLba28, kLba48, kNoAddr };

  unsigned selected() const { return (state.device & ata::DEV_DEV) ? 1 : 0; }
  bool present(unsigned unit) const { return disks_[unit] != nullptr; }
  IdeDriveState& cur() { return state.drive[selected()]; }
  uint8_t read_reg(uint16_t reg);
  void write_reg(uint16_t reg, uint8_t v);
  uint16_t data_read();
  void data_write(uint16_t w);
  void write_devctl(uint8_t v);
  void update_irq();
  void raise() { state.intrq = 1; }

  void set_signature();
  void reset_device(unsigned unit, bool power_on);
  void execute(uint8_t cmd);
  void finish_ok(IdeDriveState& d, bool irq = true);
  void fail(IdeDriveState& d, uint8_t error);
  // ABRT for `cmd`: the drive rejects what the guest asked (-d guest_errors), or with
  // `unmodelled`, popek's drive lacks a feature a real one may have (-d unimp).
  void abort_command(uint8_t cmd, const char* why, bool unmodelled = false);

  // The address and sector count of a read/write command in the task file. False (with
  // IDNF posted) when the CHS address does not exist.
  bool decode_address(IdeDriveState& d, Addr mode, uint64_t& lba, uint32_t& count);
  void set_address(IdeDriveState& d, uint64_t lba);
  void start_read(IdeDriveState& d, Addr mode, uint16_t block);
  void start_write(IdeDriveState& d, Addr mode, uint16_t block);
  void start_verify(IdeDriveState& d, Addr mode);
  void load_read_block(IdeDriveState& d);
  void end_of_block(IdeDriveState& d);
  void identify(IdeDriveState& d);
  void set_features(IdeDriveState& d);
  uint64_t capacity() const { return disks_[selected()]->sectors(); }

  bus::Bus& bus_;
  uint16_t base_;
  uint16_t ctl_;
  unsigned irq_;
  bool irq_out_ = false;  // last level given to bus.set_irq
  DiskImage* disks_[2] = {nullptr, nullptr};
};

}  // namespace popek::devices
