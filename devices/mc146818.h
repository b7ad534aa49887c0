// Motorola MC146818A real-time clock and its CMOS RAM (index port 0x70, data port 0x71),
// interrupting on IRQ8, as on the PC/AT.
//
// Time is kept as a count of seconds (a proleptic-Gregorian calendar with no time zone:
// the frontend decides whether the start time is UTC or local) anchored at a virtual time;
// the time registers are computed from it when read. The divider chain runs from a phase
// point on the virtual clock: an update happens at every whole second after it, and UIP
// is set during the 244 us before each update. The update itself is instantaneous (UF,
// the alarm check and the new time all appear at the end of the UIP window). Periodic,
// alarm and update-ended flags are worked out from virtual time when registers are read,
// and a clock event is scheduled only when an enabled flag will raise IRQ8.
//
// Departures: changing DM or 24/12 converts the time registers at once (the real part
// keeps the old bytes until software rewrites them); daylight saving (DSE) and the square
// wave output (SQWE) have no effect; divider selections other than 32.768 kHz run as if
// they were 32.768 kHz (logged once).
#pragma once

#include <array>
#include <cstdint>

#include "bus/bus.h"

namespace popek::devices {

namespace rtc {
// Register indices.
constexpr uint8_t SECONDS = 0x00, SECONDS_ALARM = 0x01, MINUTES = 0x02, MINUTES_ALARM = 0x03,
                  HOURS = 0x04, HOURS_ALARM = 0x05, DAY_OF_WEEK = 0x06, DAY_OF_MONTH = 0x07,
                  MONTH = 0x08, YEAR = 0x09, REG_A = 0x0A, REG_B = 0x0B, REG_C = 0x0C,
                  REG_D = 0x0D, CENTURY = 0x32;
// Register A
constexpr uint8_t A_UIP = 0x80, A_DV_MASK = 0x70, A_DV_32K = 0x20, A_RS_MASK = 0x0F;
// Register B
constexpr uint8_t B_SET = 0x80, B_PIE = 0x40, B_AIE = 0x20, B_UIE = 0x10, B_SQWE = 0x08,
                  B_DM = 0x04, B_24H = 0x02, B_DSE = 0x01;
// Register C
constexpr uint8_t C_IRQF = 0x80, C_PF = 0x40, C_AF = 0x20, C_UF = 0x10;
// Register D
constexpr uint8_t D_VRT = 0x80;
// Equipment byte (0x14)
constexpr uint8_t EQUIP_FLOPPY = 0x01, EQUIP_FPU = 0x02;
constexpr uint64_t kUipNs = 244141;  // 8 cycles of 32.768 kHz
// BIOS bytes outside the checksummed area (as QEMU's PC fills them).
constexpr uint8_t BOOT_ORDER_3 = 0x38, DISK_TRANSLATION = 0x39, BOOT_ORDER_12 = 0x3D,
                  CPU_COUNT = 0x5F;
}  // namespace rtc

namespace boot {
// Boot device nibbles of CMOS 0x3D/0x38.
constexpr uint8_t NONE = 0, FLOPPY = 1, DISK = 2, CDROM = 3, NETWORK = 4;
// Disk translation codes of CMOS 0x39.
constexpr uint8_t TRANS_NONE = 0, TRANS_LBA = 1, TRANS_LARGE = 2;
}  // namespace boot

struct RtcState {
  static constexpr uint32_t kVersion = 1;
  uint8_t cmos[128] = {};       // RAM, alarms and registers A/B; time bytes are unused
  uint8_t index = 0;            // selected register (bits 0-6 of the last 0x70 write)
  uint8_t nmi_masked = 0;       // bit 7 of the last 0x70 write
  uint8_t flags = 0;            // register C: PF, AF, UF
  uint8_t irq_level = 0;        // IRQ8 as last driven
  uint8_t dow_adjust = 0;       // day-of-week register minus the computed one, mod 7
  int64_t anchor_secs = 0;      // the time registers held this many seconds since 1970...
  int64_t anchor_ns = 0;        // ...at this virtual time
  int64_t phase_ns = 0;         // a divider-chain second boundary on the virtual clock
  int64_t synced_ns = 0;        // flags are worked out up to this virtual time
  template <class Visitor>
  void visit(Visitor& v) {
    v("cmos", cmos);
    v("index", index);
    v("nmi_masked", nmi_masked);
    v("flags", flags);
    v("irq_level", irq_level);
    v("dow_adjust", dow_adjust);
    v("anchor_secs", anchor_secs);
    v("anchor_ns", anchor_ns);
    v("phase_ns", phase_ns);
    v("synced_ns", synced_ns);
  }
};

class Mc146818 final : public bus::Device {
 public:
  static constexpr uint16_t kIndexPort = 0x70, kDataPort = 0x71;
  static constexpr unsigned kIrq = 8;

  // `start_time`: the time the clock shows at the current virtual time, in seconds since
  // 1970-01-01 00:00:00 of whatever zone the frontend chose. `equipment`: CMOS byte 0x14.
  Mc146818(bus::Bus& bus, int64_t start_time, uint8_t equipment = rtc::EQUIP_FPU);
  ~Mc146818() override;
  const char* name() const override { return "mc146818"; }
  // The RESET pin: clears PIE, AIE, UIE, SQWE and the flags; time and RAM are kept.
  void reset() override;
  uint32_t io_read(uint16_t port, unsigned size) override;
  void io_write(uint16_t port, unsigned size, uint32_t value) override;
  void post_load();

  // CMOS fields a BIOS would have filled; each call refreshes the checksum at 0x2E/0x2F.
  void set_memory_size(uint64_t bytes);
  // Hard disk `index` (0 or 1) as CMOS type 47 with user parameters.
  void set_disk(unsigned index, unsigned cylinders, unsigned heads, unsigned sectors);
  void set_equipment(uint8_t equipment);
  // Boot order for the BIOS (QEMU's encoding, read by SeaBIOS and the Bochs BIOS): up to
  // three devices, first to last, each boot::FLOPPY, boot::DISK, boot::CDROM or
  // boot::NETWORK (0: none); 0x3D holds the first two, 0x38's high nibble the third, its
  // low nibble 0 (check the floppy's boot signature).
  void set_boot_order(const std::array<uint8_t, 3>& devices);
  // The BIOS's CHS translation of IDE disk `index` (0-3) in 0x39, two bits each:
  // boot::TRANS_NONE, TRANS_LBA or TRANS_LARGE.
  void set_disk_translation(unsigned index, uint8_t translation);
  // Raw CMOS byte access (no side effects) for the frontend and tests.
  uint8_t cmos(uint8_t index) const { return state.cmos[index & 0x7F]; }
  void set_cmos(uint8_t index, uint8_t value) { state.cmos[index & 0x7F] = value; }
  void update_checksum();

  bool nmi_masked() const { return state.nmi_masked; }
  // Seconds since 1970 the clock shows now.
  int64_t time_now();

  RtcState state;

 private:
  bool dividing() const;
  bool updating() const;
  int64_t now() const;
  int64_t secs_at(int64_t t) const;
  void anchor(int64_t t);
  void sync(int64_t t);
  bool alarm_matches(int64_t secs) const;
  uint8_t time_register(uint8_t index, int64_t secs) const;
  void write_time_register(uint8_t index, uint8_t value);
  uint8_t encode(unsigned v) const;
  unsigned decode(uint8_t v) const;
  uint64_t periodic_cycles() const;
  void update_irq();
  void reschedule();
  uint8_t read_data();
  void write_data(uint8_t v);

  bus::Bus& bus_;
  bus::Timer event_;  // the next moment an enabled flag can raise IRQ8
};

}  // namespace popek::devices
