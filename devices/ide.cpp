#include "devices/ide.h"

#include <algorithm>
#include <cstdio>
#include <cstring>

namespace popek::devices {

using namespace ata;

namespace {
constexpr uint8_t kReady = ST_DRDY | ST_DSC;

// ATA strings: two characters per word, the first in the high byte, padded with spaces.
void put_string(uint16_t* id, unsigned first_word, unsigned words, const char* s) {
  const size_t len = strlen(s);
  for (unsigned i = 0; i < words * 2; ++i) {
    const uint8_t c = i < len ? static_cast<uint8_t>(s[i]) : ' ';
    uint16_t& w = id[first_word + i / 2];
    w = (i & 1) ? static_cast<uint16_t>((w & 0xFF00) | c) : static_cast<uint16_t>((w & 0x00FF) | (c << 8));
  }
}
}  // namespace

uint32_t default_cylinders(uint64_t sectors) {
  return static_cast<uint32_t>(std::clamp<uint64_t>(sectors / (16 * 63), 1, 16383));
}

uint8_t guess_bios_translation(const uint8_t (&mbr)[512], uint64_t sectors) {
  constexpr uint8_t kNone = 0, kLba = 1, kLarge = 2;  // devices::boot::TRANS_*
  const uint32_t cyls = default_cylinders(sectors);
  if (mbr[510] == 0x55 && mbr[511] == 0xAA) {
    for (unsigned i = 0; i < 4; ++i) {
      const uint8_t* p = &mbr[0x1BE + 16 * i];
      const uint32_t nr_sects = p[12] | p[13] << 8 | p[14] << 16 | static_cast<uint32_t>(p[15]) << 24;
      const unsigned end_head = p[5], end_sector = p[6] & 63;
      if (nr_sects == 0 || end_head == 0 || end_sector == 0) continue;
      const uint64_t guessed_cyls = sectors / ((end_head + 1) * end_sector);
      if (guessed_cyls < 1 || guessed_cyls > 16383) continue;
      if (end_head + 1 <= kDefaultHeads) return kNone;
      return uint64_t{cyls} * kDefaultHeads <= 131072 ? kLarge : kLba;
    }
  }
  return cyls <= 1024 ? kNone : kLba;
}

IdeChannel::IdeChannel(bus::Bus& bus, uint16_t base, uint16_t ctl, unsigned irq)
    : bus_(bus), base_(base), ctl_(ctl), irq_(irq) {
  bus.register_io(this, base, 8);
  bus.register_io(this, ctl, 1);
  bus.add_device(this);
  reset();
}

void IdeChannel::attach(unsigned unit, DiskImage* disk) {
  disks_[unit & 1] = disk;
  reset_device(unit & 1, true);
}

void IdeChannel::reset() {
  state = IdeChannelState{};
  for (unsigned u = 0; u < 2; ++u) reset_device(u, true);
  set_signature();
  update_irq();
}

void IdeChannel::post_load() {
  irq_out_ = !irq_line();  // force the line to be driven again
  update_irq();
}

// Power-on (or hardware reset) settings, and the state every reset leaves.
void IdeChannel::reset_device(unsigned unit, bool power_on) {
  IdeDriveState& d = state.drive[unit];
  if (power_on) {
    d = IdeDriveState{};
    if (present(unit)) d.cyls = default_cylinders(disks_[unit]->sectors());
  }
  d.xfer = kNone;
  d.pos = d.size = 0;
  d.remaining = 0;
  d.standby = 0;
  d.status = present(unit) ? kReady : 0;
  d.error = 0x01;  // diagnostics passed (device 0: and device 1 passed or is absent)
}

// The ATA device signature: count 1, LBA 1, cylinder 0; head bits cleared.
void IdeChannel::set_signature() {
  for (int i = 0; i < 2; ++i) {
    state.count[i] = 1;
    state.lba_low[i] = 1;
    state.lba_mid[i] = 0;
    state.lba_high[i] = 0;
  }
  state.device = static_cast<uint8_t>(0xA0 | (state.device & DEV_DEV));
}

void IdeChannel::update_irq() {
  const bool level = irq_line();
  if (level == irq_out_) return;
  irq_out_ = level;
  bus_.set_irq(irq_, level);
}

// --- register access

uint32_t IdeChannel::io_read(uint16_t port, unsigned size) {
  if (port == ctl_) {
    // Alternate status: Status without acknowledging the interrupt.
    if (!present(selected())) return 0;
    return cur().status;
  }
  const uint16_t reg = static_cast<uint16_t>(port - base_);
  if (reg == DATA) {
    if (size == 4) {
      const uint32_t lo = data_read();
      return lo | (uint32_t{data_read()} << 16);
    }
    if (size == 1) bus_.log().guest_error("ide-data-byte", "ide: byte-wide read of the data port 0x%x", port);
    const uint16_t w = data_read();
    return size == 1 ? (w & 0xFFu) : w;
  }
  // Wider accesses to the byte registers read successive registers.
  uint32_t v = 0;
  for (unsigned i = 0; i < size; ++i) {
    const uint16_t r = static_cast<uint16_t>(reg + i);
    const uint32_t b = r <= STATUS_COMMAND ? read_reg(r) : 0xFF;
    v |= b << (8 * i);
  }
  return v;
}

void IdeChannel::io_write(uint16_t port, unsigned size, uint32_t value) {
  if (port == ctl_) {
    write_devctl(static_cast<uint8_t>(value));
    return;
  }
  const uint16_t reg = static_cast<uint16_t>(port - base_);
  if (reg == DATA) {
    if (size == 1)
      bus_.log().guest_error("ide-data-byte-w", "ide: byte-wide write of the data port 0x%x", port);
    data_write(static_cast<uint16_t>(value));
    if (size == 4) data_write(static_cast<uint16_t>(value >> 16));
    return;
  }
  for (unsigned i = 0; i < size && reg + i <= STATUS_COMMAND; ++i)
    write_reg(static_cast<uint16_t>(reg + i), static_cast<uint8_t>(value >> (8 * i)));
}

uint8_t IdeChannel::read_reg(uint16_t reg) {
  if (!present(0) && !present(1)) return 0;  // nothing drives the bus
  const unsigned hob = (state.devctl & CTL_HOB) ? 1 : 0;
  switch (reg) {
    case ERROR_FEATURE:
      // Device 0 answers for an absent device 1.
      return present(selected()) ? cur().error : state.drive[0].error;
    case COUNT:
      return state.count[hob];
    case LBA_LOW:
      return state.lba_low[hob];
    case LBA_MID:
      return state.lba_mid[hob];
    case LBA_HIGH:
      return state.lba_high[hob];
    case DEVICE:
      return state.device;
    case STATUS_COMMAND: {
      if (!present(selected())) return 0;
      const uint8_t v = cur().status;
      state.intrq = 0;
      update_irq();
      return v;
    }
    default:
      return 0xFF;
  }
}

void IdeChannel::write_reg(uint16_t reg, uint8_t v) {
  // Writing a command block register clears HOB; the previous value moves to the HOB byte.
  auto shift_in = [v](uint8_t (&r)[2]) {
    r[1] = r[0];
    r[0] = v;
  };
  if (state.devctl & CTL_SRST) return;  // devices are in reset
  state.devctl &= static_cast<uint8_t>(~CTL_HOB);
  switch (reg) {
    case ERROR_FEATURE:
      shift_in(state.feature);
      return;
    case COUNT:
      shift_in(state.count);
      return;
    case LBA_LOW:
      shift_in(state.lba_low);
      return;
    case LBA_MID:
      shift_in(state.lba_mid);
      return;
    case LBA_HIGH:
      shift_in(state.lba_high);
      return;
    case DEVICE:
      state.device = static_cast<uint8_t>(v | 0xA0);
      update_irq();
      return;
    case STATUS_COMMAND:
      execute(v);
      update_irq();
      return;
    default:
      return;
  }
}

void IdeChannel::write_devctl(uint8_t v) {
  const bool was_reset = state.devctl & CTL_SRST;
  state.devctl = v & (CTL_HOB | CTL_SRST | CTL_NIEN);
  if (v & CTL_SRST) {
    if (!was_reset) {
      // Reset asserted: transfers abort, devices busy until SRST is cleared.
      for (unsigned u = 0; u < 2; ++u) {
        IdeDriveState& d = state.drive[u];
        d.xfer = kNone;
        d.pos = d.size = 0;
        if (present(u)) d.status = ST_BSY;
      }
      state.intrq = 0;
    }
  } else if (was_reset) {
    // Reset released: diagnostics done at once, signature posted, no interrupt.
    for (unsigned u = 0; u < 2; ++u) reset_device(u, false);
    set_signature();
  }
  update_irq();
}

// --- data port

uint16_t IdeChannel::data_read() {
  if (!present(selected())) return 0;
  IdeDriveState& d = cur();
  if (d.xfer != kIn) {
    bus_.log().guest_error("ide-data-idle", "ide: data port read with no transfer in progress");
    return 0xFFFF;
  }
  const uint16_t w = static_cast<uint16_t>(d.buffer[d.pos] | (d.buffer[d.pos + 1] << 8));
  d.pos += 2;
  if (d.pos >= d.size) end_of_block(d);
  return w;
}

void IdeChannel::data_write(uint16_t w) {
  if (!present(selected())) return;
  IdeDriveState& d = cur();
  if (d.xfer != kOut) {
    bus_.log().guest_error("ide-data-idle-w", "ide: data port write with no transfer in progress");
    return;
  }
  d.buffer[d.pos] = static_cast<uint8_t>(w);
  d.buffer[d.pos + 1] = static_cast<uint8_t>(w >> 8);
  d.pos += 2;
  if (d.pos >= d.size) end_of_block(d);
}

// A DRQ block has been fully read or written by the host.
void IdeChannel::end_of_block(IdeDriveState& d) {
  DiskImage* disk = disks_[selected()];
  const unsigned n = d.size / 512;
  d.pos = 0;
  if (d.xfer == kOut) {
    const bool ok = disk->write(d.lba, d.buffer, n) && (d.write_cache || disk->flush());
    if (!ok) {
      bus_.log().warn("ide-write-fail-" + disk->path(), "ide: %s: write of sector %llu failed",
                      disk->path().c_str(), static_cast<unsigned long long>(d.lba));
      set_address(d, d.lba);
      fail(d, ER_ABRT);
      update_irq();
      return;
    }
  }
  d.lba += n;
  d.remaining -= n;
  if (d.remaining == 0) {
    set_address(d, d.lba - 1);
    // After the last block of a read no interrupt; after the last write block, one.
    finish_ok(d, d.xfer == kOut);
  } else if (d.xfer == kIn) {
    load_read_block(d);
  } else {
    d.size = static_cast<uint16_t>(std::min<uint32_t>(d.block, d.remaining) * 512);
    d.status = kReady | ST_DRQ;
    raise();
  }
  update_irq();
}

// --- command completion

void IdeChannel::finish_ok(IdeDriveState& d, bool irq) {
  d.xfer = kNone;
  d.size = d.pos = 0;
  d.status = kReady;
  d.error = 0;
  if (irq) raise();
}

void IdeChannel::fail(IdeDriveState& d, uint8_t error) {
  d.xfer = kNone;
  d.size = d.pos = 0;
  d.status = kReady | ST_ERR;
  d.error = error;
  raise();
}

void IdeChannel::abort_command(uint8_t cmd, const char* why, bool unmodelled) {
  char key[32];
  snprintf(key, sizeof key, "ide-abort-%02x", cmd);
  if (unmodelled) bus_.log().unimp(key, "ide: command 0x%02x aborted (%s)", cmd, why);
  else bus_.log().guest_error(key, "ide: command 0x%02x aborted (%s)", cmd, why);
  fail(cur(), ER_ABRT);
}

void IdeChannel::execute(uint8_t cmd) {
  const unsigned unit = selected();
  if (cmd == 0x90) {
    // EXECUTE DEVICE DIAGNOSTIC: both devices run it whichever is selected; device 0
    // posts the result and the interrupt.
    if (!present(0) && !present(1)) return;
    for (unsigned u = 0; u < 2; ++u) reset_device(u, false);
    set_signature();
    raise();
    return;
  }
  if (!present(unit)) return;  // an absent device ignores commands
  IdeDriveState& d = cur();
  state.intrq = 0;
  d.xfer = kNone;
  d.error = 0;
  switch (cmd) {
    case 0xEC:  // IDENTIFY DEVICE
      identify(d);
      return;
    case 0x20:  // READ SECTORS
    case 0x21:  // READ SECTORS (without retries)
      start_read(d, (state.device & DEV_LBA) ? kLba28 : kChs, 1);
      return;
    case 0x24:  // READ SECTORS EXT
      start_read(d, kLba48, 1);
      return;
    case 0xC4:  // READ MULTIPLE
    case 0x29:  // READ MULTIPLE EXT
      if (!d.multiple) return abort_command(cmd, "multiple mode is off");
      start_read(d, cmd == 0x29 ? kLba48 : ((state.device & DEV_LBA) ? kLba28 : kChs), d.multiple);
      return;
    case 0x30:  // WRITE SECTORS
    case 0x31:  // WRITE SECTORS (without retries)
      start_write(d, (state.device & DEV_LBA) ? kLba28 : kChs, 1);
      return;
    case 0x34:  // WRITE SECTORS EXT
      start_write(d, kLba48, 1);
      return;
    case 0xC5:  // WRITE MULTIPLE
    case 0x39:  // WRITE MULTIPLE EXT
      if (!d.multiple) return abort_command(cmd, "multiple mode is off");
      start_write(d, cmd == 0x39 ? kLba48 : ((state.device & DEV_LBA) ? kLba28 : kChs), d.multiple);
      return;
    case 0x40:  // READ VERIFY SECTORS
    case 0x41:  // READ VERIFY SECTORS (without retries)
      start_verify(d, (state.device & DEV_LBA) ? kLba28 : kChs);
      return;
    case 0x42:  // READ VERIFY SECTORS EXT
      start_verify(d, kLba48);
      return;
    case 0xC6: {  // SET MULTIPLE MODE
      const uint8_t n = state.count[0];
      if (n > kMaxMultiple || (n & (n - 1)))
        return abort_command(cmd, "unsupported block size");
      d.multiple = n;
      finish_ok(d);
      return;
    }
    case 0xE7:  // FLUSH CACHE
    case 0xEA:  // FLUSH CACHE EXT
      if (!disks_[unit]->flush()) {
        bus_.log().warn("ide-flush-fail-" + disks_[unit]->path(), "ide: %s: flush failed",
                        disks_[unit]->path().c_str());
        return fail(d, ER_ABRT);
      }
      finish_ok(d);
      return;
    case 0x91: {  // INITIALIZE DEVICE PARAMETERS
      const uint16_t spt = state.count[0];
      const uint16_t heads = static_cast<uint16_t>((state.device & 0x0F) + 1);
      if (spt == 0) return abort_command(cmd, "zero sectors per track");
      d.spt = spt;
      d.heads = heads;
      d.cyls = static_cast<uint32_t>(
          std::min<uint64_t>(capacity() / (uint64_t{heads} * spt), 65535));
      finish_ok(d);
      return;
    }
    case 0xEF:  // SET FEATURES
      set_features(d);
      return;
    case 0xE0:  // STANDBY IMMEDIATE
    case 0xE2:  // STANDBY
    case 0xE6:  // SLEEP (woken by the next command rather than by a reset)
    case 0x94:  // the same, ATA-1 opcodes
    case 0x96:
    case 0x99:
      d.standby = 1;
      finish_ok(d);
      return;
    case 0xE1:  // IDLE IMMEDIATE
    case 0xE3:  // IDLE
    case 0x95:
    case 0x97:
      d.standby = 0;
      finish_ok(d);
      return;
    case 0xE5:  // CHECK POWER MODE
    case 0x98:
      finish_ok(d);
      state.count[0] = d.standby ? 0x00 : 0xFF;
      return;
    default:
      if ((cmd & 0xF0) == 0x10 || (cmd & 0xF0) == 0x70) {  // RECALIBRATE, SEEK
        finish_ok(d);
        return;
      }
      abort_command(cmd, "not implemented", true);
      return;
  }
}

void IdeChannel::set_features(IdeDriveState& d) {
  const uint8_t sub = state.feature[0];
  switch (sub) {
    case 0x03: {  // set transfer mode
      const uint8_t mode = state.count[0];
      // PIO default (with or without IORDY) and PIO flow-control modes 0-4.
      if (mode <= 0x01 || (mode >= 0x08 && mode <= 0x0C)) return finish_ok(d);
      return abort_command(0xEF, "transfer mode other than PIO", true);
    }
    case 0x02:  // enable write cache
      d.write_cache = 1;
      return finish_ok(d);
    case 0x82:  // disable write cache: what was cached becomes durable now
      d.write_cache = 0;
      if (!disks_[selected()]->flush()) return fail(d, ER_ABRT);
      return finish_ok(d);
    default: {
      char key[32];
      snprintf(key, sizeof key, "ide-setfeat-%02x", sub);
      bus_.log().unimp(key, "ide: SET FEATURES subcommand 0x%02x accepted and ignored", sub);
      return finish_ok(d);
    }
  }
}

// --- reads and writes

bool IdeChannel::decode_address(IdeDriveState& d, Addr mode, uint64_t& lba, uint32_t& count) {
  d.addr_mode = mode;
  if (mode == kLba48) {
    lba = uint64_t{state.lba_low[0]} | uint64_t{state.lba_mid[0]} << 8 |
          uint64_t{state.lba_high[0]} << 16 | uint64_t{state.lba_low[1]} << 24 |
          uint64_t{state.lba_mid[1]} << 32 | uint64_t{state.lba_high[1]} << 40;
    count = uint32_t{state.count[0]} | uint32_t{state.count[1]} << 8;
    if (count == 0) count = 65536;
    return true;
  }
  count = state.count[0] ? state.count[0] : 256;
  if (mode == kLba28) {
    lba = uint64_t{state.lba_low[0]} | uint64_t{state.lba_mid[0]} << 8 |
          uint64_t{state.lba_high[0]} << 16 | uint64_t{state.device & 0x0Fu} << 24;
    return true;
  }
  const uint32_t cyl = state.lba_mid[0] | state.lba_high[0] << 8;
  const uint32_t head = state.device & 0x0F;
  const uint32_t sector = state.lba_low[0];
  if (sector == 0 || sector > d.spt || head >= d.heads || cyl >= d.cyls) {
    fail(d, ER_IDNF);
    return false;
  }
  lba = (uint64_t{cyl} * d.heads + head) * d.spt + (sector - 1);
  return true;
}

// Post `lba` in the task file in the command's addressing mode (the last sector done, or
// the one that failed).
void IdeChannel::set_address(IdeDriveState& d, uint64_t lba) {
  switch (d.addr_mode) {
    case kNoAddr:
      break;
    case kLba48:
      state.lba_low[0] = static_cast<uint8_t>(lba);
      state.lba_mid[0] = static_cast<uint8_t>(lba >> 8);
      state.lba_high[0] = static_cast<uint8_t>(lba >> 16);
      state.lba_low[1] = static_cast<uint8_t>(lba >> 24);
      state.lba_mid[1] = static_cast<uint8_t>(lba >> 32);
      state.lba_high[1] = static_cast<uint8_t>(lba >> 40);
      break;
    case kLba28:
      state.lba_low[0] = static_cast<uint8_t>(lba);
      state.lba_mid[0] = static_cast<uint8_t>(lba >> 8);
      state.lba_high[0] = static_cast<uint8_t>(lba >> 16);
      state.device = static_cast<uint8_t>((state.device & 0xF0) | ((lba >> 24) & 0x0F));
      break;
    case kChs: {
      const uint64_t track = lba / d.spt;
      const uint64_t cyl = track / d.heads;
      state.lba_low[0] = static_cast<uint8_t>(lba % d.spt + 1);
      state.lba_mid[0] = static_cast<uint8_t>(cyl);
      state.lba_high[0] = static_cast<uint8_t>(cyl >> 8);
      state.device = static_cast<uint8_t>((state.device & 0xF0) | (track % d.heads));
      break;
    }
  }
}

void IdeChannel::start_read(IdeDriveState& d, Addr mode, uint16_t block) {
  uint64_t lba;
  uint32_t count;
  if (!decode_address(d, mode, lba, count)) return;
  if (lba >= capacity() || count > capacity() - lba) return fail(d, ER_IDNF);
  d.standby = 0;
  d.xfer = kIn;
  d.lba = lba;
  d.remaining = count;
  d.block = block;
  load_read_block(d);
}

// Fill the buffer with the next DRQ block of a read and interrupt.
void IdeChannel::load_read_block(IdeDriveState& d) {
  DiskImage* disk = disks_[selected()];
  const unsigned n = std::min<uint32_t>(d.block, d.remaining);
  if (!disk->read(d.lba, d.buffer, n)) {
    bus_.log().warn("ide-read-fail-" + disk->path(), "ide: %s: read of sector %llu failed",
                    disk->path().c_str(), static_cast<unsigned long long>(d.lba));
    set_address(d, d.lba);
    return fail(d, ER_UNC);
  }
  d.xfer = kIn;
  d.pos = 0;
  d.size = static_cast<uint16_t>(n * 512);
  d.status = kReady | ST_DRQ;
  raise();
}

void IdeChannel::start_write(IdeDriveState& d, Addr mode, uint16_t block) {
  uint64_t lba;
  uint32_t count;
  if (!decode_address(d, mode, lba, count)) return;
  if (lba >= capacity() || count > capacity() - lba) return fail(d, ER_IDNF);
  if (disks_[selected()]->readonly()) {
    bus_.log().warn("ide-readonly-" + disks_[selected()]->path(),
                    "ide: %s is read-only: write refused", disks_[selected()]->path().c_str());
    return fail(d, ER_ABRT);
  }
  d.standby = 0;
  d.xfer = kOut;
  d.lba = lba;
  d.remaining = count;
  d.block = block;
  d.pos = 0;
  d.size = static_cast<uint16_t>(std::min<uint32_t>(block, count) * 512);
  // The first block is asked for without an interrupt.
  d.status = kReady | ST_DRQ;
}

void IdeChannel::start_verify(IdeDriveState& d, Addr mode) {
  uint64_t lba;
  uint32_t count;
  if (!decode_address(d, mode, lba, count)) return;
  if (lba >= capacity() || count > capacity() - lba) return fail(d, ER_IDNF);
  set_address(d, lba + count - 1);
  finish_ok(d);
}

// --- IDENTIFY DEVICE

void IdeChannel::identify(IdeDriveState& d) {
  const uint64_t total = capacity();
  const uint32_t lba28 = static_cast<uint32_t>(std::min<uint64_t>(total, 0x0FFFFFFF));
  const uint32_t cur_chs = static_cast<uint32_t>(
      std::min<uint64_t>(uint64_t{d.cyls} * d.heads * d.spt, 0xFFFFFFFF));
  uint16_t id[256] = {};
  id[0] = 0x0040;  // ATA device, fixed, not removable
  id[1] = static_cast<uint16_t>(default_cylinders(total));
  id[3] = 16;  // default heads
  id[4] = 512 * 63;  // unformatted bytes per track (retired; BIOSes still read 4 and 5)
  id[5] = 512;       // unformatted bytes per sector (retired)
  id[6] = 63;  // default sectors per track
  char serial[21];
  snprintf(serial, sizeof serial, "PK%04X%04X%u", base_, static_cast<unsigned>(total & 0xFFFF),
           selected());
  put_string(id, 10, 10, serial);
  id[20] = 3;    // buffer type: dual ported, read cache (retired)
  id[21] = 512;  // buffer size in sectors (retired)
  id[22] = 4;    // ECC bytes of READ/WRITE LONG (obsolete)
  put_string(id, 23, 4, "0.1");
  put_string(id, 27, 20, "POPEK HARDDISK");
  id[47] = 0x8000 | kMaxMultiple;  // READ/WRITE MULTIPLE: at most 16 sectors per block
  id[48] = 1;                      // 32-bit PIO through the data port
  id[49] = 0x0A00;                 // LBA, IORDY supported (no DMA)
  id[50] = 0x4000;
  id[51] = 0x0200;                 // PIO mode 2 timing (obsolete word)
  id[53] = 0x0003;                 // words 54-58 and 64-70 valid
  id[54] = static_cast<uint16_t>(std::min<uint32_t>(d.cyls, 0xFFFF));
  id[55] = d.heads;
  id[56] = d.spt;
  id[57] = static_cast<uint16_t>(cur_chs);
  id[58] = static_cast<uint16_t>(cur_chs >> 16);
  id[59] = static_cast<uint16_t>(d.multiple ? 0x0100 | d.multiple : 0);
  id[60] = static_cast<uint16_t>(lba28);
  id[61] = static_cast<uint16_t>(lba28 >> 16);
  id[64] = 0x0003;                 // PIO modes 3 and 4
  id[67] = 120;                    // minimum PIO cycle times (ns)
  id[68] = 120;
  id[80] = 0x007E;                 // ATA-1 to ATA-6
  id[82] = 0x4020;                 // supported: NOP, write cache
  id[83] = 0x7400;                 // supported: FLUSH CACHE EXT, FLUSH CACHE, LBA48
  id[84] = 0x4000;
  id[85] = static_cast<uint16_t>(0x4000 | (d.write_cache ? 0x0020 : 0));  // enabled
  id[86] = 0x3400;                 // enabled: FLUSH CACHE EXT, FLUSH CACHE, LBA48
  id[87] = 0x4000;
  id[100] = static_cast<uint16_t>(total);
  id[101] = static_cast<uint16_t>(total >> 16);
  id[102] = static_cast<uint16_t>(total >> 32);
  id[103] = static_cast<uint16_t>(total >> 48);
  id[255] = 0x00A5;  // integrity word: signature, then the checksum byte
  uint8_t sum = 0;
  for (unsigned i = 0; i < 255; ++i) sum = static_cast<uint8_t>(sum + (id[i] & 0xFF) + (id[i] >> 8));
  sum = static_cast<uint8_t>(sum + 0xA5);
  id[255] = static_cast<uint16_t>(0x00A5 | (static_cast<uint8_t>(-sum) << 8));
  for (unsigned i = 0; i < 256; ++i) {
    d.buffer[2 * i] = static_cast<uint8_t>(id[i]);
    d.buffer[2 * i + 1] = static_cast<uint8_t>(id[i] >> 8);
  }
  d.xfer = kIn;
  d.addr_mode = kNoAddr;
  d.lba = 0;
  d.remaining = 1;
  d.block = 1;
  d.pos = 0;
  d.size = 512;
  d.status = kReady | ST_DRQ;
  raise();
}

}  // namespace popek::devices
