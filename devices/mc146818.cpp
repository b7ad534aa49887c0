#include "devices/mc146818.h"

#include <algorithm>

namespace popek::devices {

using namespace rtc;

namespace {

constexpr int64_t kSecond = 1000000000;

int64_t floor_div(__int128 a, __int128 b) {
  __int128 q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return static_cast<int64_t>(q);
}

struct Civil {
  int64_t year;
  unsigned month, day, hour, minute, second, weekday;  // weekday 0 = Sunday
};

// Days since 1970-01-01 of a Gregorian date, and back (era arithmetic on 400-year cycles).
int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = floor_div(y, 400);
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

Civil civil_from_secs(int64_t secs) {
  const int64_t days = floor_div(secs, 86400);
  const int64_t sod = secs - days * 86400;
  const int64_t z = days + 719468;
  const int64_t era = floor_div(z, 146097);
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  Civil c;
  c.day = static_cast<unsigned>(doy - (153 * mp + 2) / 5 + 1);
  c.month = static_cast<unsigned>(mp < 10 ? mp + 3 : mp - 9);
  c.year = yoe + era * 400 + (c.month <= 2);
  c.hour = static_cast<unsigned>(sod / 3600);
  c.minute = static_cast<unsigned>(sod / 60 % 60);
  c.second = static_cast<unsigned>(sod % 60);
  c.weekday = static_cast<unsigned>(((days % 7) + 7 + 4) % 7);  // 1970-01-01 was a Thursday
  return c;
}

int64_t secs_from_civil(const Civil& c) {
  return days_from_civil(c.year, c.month, c.day) * 86400 + c.hour * 3600 + c.minute * 60 +
         c.second;
}

}  // namespace

Mc146818::Mc146818(bus::Bus& bus, int64_t start_time, uint8_t equipment)
    : bus_(bus), event_(bus.clock(), "rtc", [this] {
        sync(now());
        update_irq();
        reschedule();
      }) {
  bus.register_io(this, kIndexPort, 2);
  bus.add_device(this);
  const int64_t t = now();
  state.anchor_secs = start_time;
  state.anchor_ns = t;
  state.phase_ns = t;
  state.synced_ns = t;
  state.cmos[REG_A] = A_DV_32K | 0x06;  // 32.768 kHz time base, 1024 Hz periodic rate
  state.cmos[REG_B] = B_24H;            // BCD, 24-hour, no interrupts
  state.cmos[0x14] = equipment;
  set_memory_size(0);
}

Mc146818::~Mc146818() = default;

void Mc146818::reset() {
  sync(now());
  state.cmos[REG_B] &= ~(B_PIE | B_AIE | B_UIE | B_SQWE);
  state.flags = 0;
  update_irq();
  reschedule();
}

void Mc146818::post_load() {
  event_.cancel();
  bus_.set_irq(kIrq, state.irq_level);
  reschedule();
}

int64_t Mc146818::now() const { return static_cast<int64_t>(bus_.clock().now_ns()); }

bool Mc146818::dividing() const { return (state.cmos[REG_A] & 0x60) != 0x60; }

bool Mc146818::updating() const { return dividing() && !(state.cmos[REG_B] & B_SET); }

// Updates (second boundaries of the divider) in (a, b].
static int64_t boundaries(int64_t phase, int64_t a, int64_t b, __int128 num, __int128 den) {
  if (b <= a) return 0;
  return floor_div(static_cast<__int128>(b - phase) * num, den) -
         floor_div(static_cast<__int128>(a - phase) * num, den);
}

int64_t Mc146818::secs_at(int64_t t) const {
  if (!updating()) return state.anchor_secs;
  return state.anchor_secs + boundaries(state.phase_ns, state.anchor_ns, t, 1, kSecond);
}

int64_t Mc146818::time_now() {
  sync(now());
  return secs_at(now());
}

void Mc146818::anchor(int64_t t) {
  state.anchor_secs = secs_at(t);
  state.anchor_ns = t;
}

// The periodic interrupt period in 32.768 kHz cycles, or 0 when off.
uint64_t Mc146818::periodic_cycles() const {
  const unsigned rs = state.cmos[REG_A] & A_RS_MASK;
  if (rs == 0) return 0;
  if (rs <= 2) return 1u << (rs + 6);  // 1 and 2 repeat the rates of 8 and 9
  return 1u << (rs - 1);
}

bool Mc146818::alarm_matches(int64_t secs) const {
  static constexpr uint8_t kPairs[3][2] = {{SECONDS_ALARM, SECONDS}, {MINUTES_ALARM, MINUTES},
                                           {HOURS_ALARM, HOURS}};
  for (const auto& p : kPairs) {
    const uint8_t a = state.cmos[p[0]];
    if ((a & 0xC0) == 0xC0) continue;  // "don't care"
    if (a != time_register(p[1], secs)) return false;
  }
  return true;
}

// Work out the flags the divider chain set in (synced_ns, t].
void Mc146818::sync(int64_t t) {
  const int64_t from = state.synced_ns;
  if (t <= from) return;
  state.synced_ns = t;
  if (!dividing()) return;
  if (const uint64_t pc = periodic_cycles()) {
    if (boundaries(state.phase_ns, from, t, 32768, static_cast<__int128>(pc) * kSecond) > 0)
      state.flags |= C_PF;
  }
  if (!updating()) return;
  const int64_t n = boundaries(state.phase_ns, from, t, 1, kSecond);
  if (n <= 0) return;
  state.flags |= C_UF;
  if (!(state.flags & C_AF)) {
    // The alarm is compared after each update; the pattern repeats within a day.
    const int64_t last = secs_at(t);
    for (int64_t s = last - std::min<int64_t>(n, 86400) + 1; s <= last; ++s) {
      if (alarm_matches(s)) {
        state.flags |= C_AF;
        break;
      }
    }
  }
}

uint8_t Mc146818::encode(unsigned v) const {
  if (state.cmos[REG_B] & B_DM) return static_cast<uint8_t>(v);
  return static_cast<uint8_t>(((v / 10) % 10) << 4 | (v % 10));
}

unsigned Mc146818::decode(uint8_t v) const {
  if (state.cmos[REG_B] & B_DM) return v;
  return (v >> 4) * 10 + (v & 0x0F);
}

uint8_t Mc146818::time_register(uint8_t index, int64_t secs) const {
  const Civil c = civil_from_secs(secs);
  switch (index) {
    case SECONDS:
      return encode(c.second);
    case MINUTES:
      return encode(c.minute);
    case HOURS: {
      if (state.cmos[REG_B] & B_24H) return encode(c.hour);
      const unsigned h12 = c.hour % 12 == 0 ? 12 : c.hour % 12;
      return static_cast<uint8_t>(encode(h12) | (c.hour >= 12 ? 0x80 : 0));
    }
    case DAY_OF_WEEK:
      return encode((c.weekday + state.dow_adjust) % 7 + 1);
    case DAY_OF_MONTH:
      return encode(c.day);
    case MONTH:
      return encode(c.month);
    case YEAR:
      return encode(static_cast<unsigned>(((c.year % 100) + 100) % 100));
    case CENTURY:
      return encode(static_cast<unsigned>(floor_div(c.year, 100) % 100));
    default:
      return 0;
  }
}

void Mc146818::write_time_register(uint8_t index, uint8_t value) {
  const int64_t t = now();
  anchor(t);
  Civil c = civil_from_secs(state.anchor_secs);
  bool valid = true;
  auto field = [&](unsigned v, unsigned lo, unsigned hi) {
    if (v < lo || v > hi) {
      valid = false;
      return std::clamp(v, lo, hi);
    }
    return v;
  };
  switch (index) {
    case SECONDS:
      c.second = field(decode(value), 0, 59);
      break;
    case MINUTES:
      c.minute = field(decode(value), 0, 59);
      break;
    case HOURS:
      if (state.cmos[REG_B] & B_24H) {
        c.hour = field(decode(value), 0, 23);
      } else {
        const unsigned h = field(decode(value & 0x7F), 1, 12);
        c.hour = h % 12 + ((value & 0x80) ? 12 : 0);
      }
      break;
    case DAY_OF_WEEK: {
      const unsigned d = field(decode(value), 1, 7) - 1;
      state.dow_adjust = static_cast<uint8_t>((d + 7 - c.weekday) % 7);
      return;
    }
    case DAY_OF_MONTH:
      c.day = field(decode(value), 1, 31);
      break;
    case MONTH:
      c.month = field(decode(value), 1, 12);
      break;
    case YEAR:
      c.year = floor_div(c.year, 100) * 100 + field(decode(value), 0, 99);
      break;
    case CENTURY:
      c.year = static_cast<int64_t>(field(decode(value), 0, 99)) * 100 + ((c.year % 100) + 100) % 100;
      break;
    default:
      return;
  }
  if (!valid)
    bus_.log().guest_error("rtc-bad-time", "mc146818: out-of-range value 0x%02x for register 0x%02x clamped",
                           value, index);
  // The day of week keeps counting from where it was.
  const unsigned old_weekday = (civil_from_secs(state.anchor_secs).weekday + state.dow_adjust) % 7;
  state.anchor_secs = secs_from_civil(c);
  state.dow_adjust =
      static_cast<uint8_t>((old_weekday + 7 - civil_from_secs(state.anchor_secs).weekday) % 7);
}

void Mc146818::update_irq() {
  const uint8_t b = state.cmos[REG_B];
  const bool irqf = ((state.flags & C_PF) && (b & B_PIE)) || ((state.flags & C_AF) && (b & B_AIE)) ||
                    ((state.flags & C_UF) && (b & B_UIE));
  if (irqf == static_cast<bool>(state.irq_level)) return;
  state.irq_level = irqf;
  bus_.set_irq(kIrq, irqf);
}

// Schedule the next moment an enabled flag can raise IRQ8 (none while it is already high).
void Mc146818::reschedule() {
  event_.cancel();
  if (state.irq_level || !dividing()) return;
  const int64_t t = now(), ph = state.phase_ns;
  const uint8_t b = state.cmos[REG_B];
  int64_t when = INT64_MAX;
  if ((b & B_PIE) && periodic_cycles()) {
    const __int128 den = static_cast<__int128>(periodic_cycles()) * kSecond;
    const int64_t m = floor_div(static_cast<__int128>(t - ph) * 32768, den) + 1;
    const __int128 off = (static_cast<__int128>(m) * den + 32767) / 32768;
    when = std::min(when, ph + static_cast<int64_t>(off));
  }
  if ((b & (B_UIE | B_AIE)) && updating()) {
    const int64_t m = floor_div(t - ph, kSecond) + 1;
    when = std::min(when, ph + m * kSecond);
  }
  if (when == INT64_MAX) return;
  event_.arm(static_cast<uint64_t>(std::max<int64_t>(when, 0)));
}

uint8_t Mc146818::read_data() {
  const int64_t t = now();
  const uint8_t i = state.index;
  switch (i) {
    case SECONDS:
    case MINUTES:
    case HOURS:
    case DAY_OF_WEEK:
    case DAY_OF_MONTH:
    case MONTH:
    case YEAR:
    case CENTURY:
      return time_register(i, secs_at(t));
    case REG_A: {
      const bool uip =
          updating() && (t - state.phase_ns) - floor_div(t - state.phase_ns, kSecond) * kSecond >=
                            kSecond - static_cast<int64_t>(kUipNs);
      return static_cast<uint8_t>(state.cmos[REG_A] | (uip ? A_UIP : 0));
    }
    case REG_C: {
      sync(t);
      const uint8_t v = static_cast<uint8_t>(state.flags | (state.irq_level ? C_IRQF : 0));
      state.flags = 0;
      update_irq();
      reschedule();
      return v;
    }
    case REG_D:
      return D_VRT;
    default:
      return state.cmos[i];
  }
}

void Mc146818::write_data(uint8_t v) {
  const int64_t t = now();
  const uint8_t i = state.index;
  switch (i) {
    case SECONDS:
    case MINUTES:
    case HOURS:
    case DAY_OF_WEEK:
    case DAY_OF_MONTH:
    case MONTH:
    case YEAR:
    case CENTURY:
      sync(t);
      write_time_register(i, v);
      return;
    case REG_A: {
      sync(t);
      anchor(t);
      const bool was_dividing = dividing();
      state.cmos[REG_A] = v & 0x7F;
      if (dividing() && !was_dividing) state.phase_ns = t - kSecond / 2;  // first update in 500 ms
      if ((v & A_DV_MASK) != A_DV_32K && dividing())
        bus_.log().unimp("rtc-divider", "mc146818: divider 0x%02x runs as 32.768 kHz", v & A_DV_MASK);
      state.synced_ns = t;
      update_irq();
      reschedule();
      return;
    }
    case REG_B:
      sync(t);
      anchor(t);
      if (v & B_SET) v &= ~B_UIE;  // setting SET clears UIE
      if (v & (B_DSE | B_SQWE))
        bus_.log().unimp("rtc-dse-sqwe", "mc146818: daylight saving and square wave output are not emulated");
      state.cmos[REG_B] = v;
      update_irq();
      reschedule();
      return;
    case REG_C:
    case REG_D:
      bus_.log().guest_error("rtc-ro-write", "mc146818: write of 0x%02x to read-only register 0x%02x ignored",
                             v, i);
      return;
    default:
      state.cmos[i] = v;
      if (i == SECONDS_ALARM || i == MINUTES_ALARM || i == HOURS_ALARM) {
        sync(t);
        reschedule();
      }
      return;
  }
}

uint32_t Mc146818::io_read(uint16_t port, unsigned size) {
  if (port == kIndexPort) return 0xFF;  // write-only on the AT
  return read_data();
}

void Mc146818::io_write(uint16_t port, unsigned size, uint32_t value) {
  if (port == kIndexPort) {
    state.index = value & 0x7F;
    state.nmi_masked = (value >> 7) & 1;
    return;
  }
  write_data(static_cast<uint8_t>(value));
}

void Mc146818::set_memory_size(uint64_t bytes) {
  constexpr uint64_t kMiB = 1 << 20;
  const uint16_t base_kb = 640;
  const uint64_t ext_kb = bytes > kMiB ? std::min<uint64_t>((bytes - kMiB) / 1024, 0xFFFF) : 0;
  const uint64_t above16 =
      bytes > 16 * kMiB ? std::min<uint64_t>((bytes - 16 * kMiB) / 65536, 0xFFFF) : 0;
  state.cmos[0x15] = base_kb & 0xFF;
  state.cmos[0x16] = base_kb >> 8;
  state.cmos[0x17] = state.cmos[0x30] = static_cast<uint8_t>(ext_kb);
  state.cmos[0x18] = state.cmos[0x31] = static_cast<uint8_t>(ext_kb >> 8);
  state.cmos[0x34] = static_cast<uint8_t>(above16);
  state.cmos[0x35] = static_cast<uint8_t>(above16 >> 8);
  update_checksum();
}

void Mc146818::set_disk(unsigned index, unsigned cylinders, unsigned heads, unsigned sectors) {
  if (index > 1) return;
  constexpr uint8_t kUserType = 47;
  state.cmos[0x12] = index == 0 ? (state.cmos[0x12] & 0x0F) | 0xF0 : (state.cmos[0x12] & 0xF0) | 0x0F;
  state.cmos[0x19 + index] = kUserType;
  uint8_t* p = &state.cmos[index == 0 ? 0x1B : 0x24];
  p[0] = static_cast<uint8_t>(cylinders);
  p[1] = static_cast<uint8_t>(cylinders >> 8);
  p[2] = static_cast<uint8_t>(heads);
  p[3] = 0xFF;  // write precompensation: none
  p[4] = 0xFF;
  p[5] = static_cast<uint8_t>(0xC0 | (heads > 8 ? 0x08 : 0));  // control byte
  p[6] = static_cast<uint8_t>(cylinders);  // landing zone
  p[7] = static_cast<uint8_t>(cylinders >> 8);
  p[8] = static_cast<uint8_t>(sectors);
  update_checksum();
}

void Mc146818::set_equipment(uint8_t equipment) {
  state.cmos[0x14] = equipment;
  update_checksum();
}

void Mc146818::set_boot_order(const std::array<uint8_t, 3>& devices) {
  state.cmos[rtc::BOOT_ORDER_12] = static_cast<uint8_t>((devices[1] & 0x0F) << 4 | (devices[0] & 0x0F));
  state.cmos[rtc::BOOT_ORDER_3] = static_cast<uint8_t>((devices[2] & 0x0F) << 4);
}

void Mc146818::set_disk_translation(unsigned index, uint8_t translation) {
  if (index > 3) return;
  uint8_t& b = state.cmos[rtc::DISK_TRANSLATION];
  b = static_cast<uint8_t>((b & ~(3u << (2 * index))) | (translation & 3u) << (2 * index));
}

void Mc146818::update_checksum() {
  unsigned sum = 0;
  for (unsigned i = 0x10; i <= 0x2D; ++i) sum += state.cmos[i];
  state.cmos[0x2E] = static_cast<uint8_t>(sum >> 8);
  state.cmos[0x2F] = static_cast<uint8_t>(sum);
}

}  // namespace popek::devices
