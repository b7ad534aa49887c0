#include "devices/i8254.h"

#include <algorithm>

namespace popek::devices {

namespace pit {

int64_t pulses_at(uint64_t ns) {
  return static_cast<int64_t>(static_cast<unsigned __int128>(ns) * kClockHz / 1000000000u);
}

uint64_t time_of_pulse(int64_t p) {
  if (p <= 0) return 0;
  const unsigned __int128 scaled = static_cast<unsigned __int128>(p) * 1000000000u;
  return static_cast<uint64_t>((scaled + kClockHz - 1) / kClockHz);
}

}  // namespace pit

namespace {

using pit::kNever;

uint32_t modulus(const PitChannelState& c) { return c.bcd ? 10000 : 65536; }

uint32_t from_bcd(uint16_t v) {
  return ((v >> 12) & 0xF) * 1000 + ((v >> 8) & 0xF) * 100 + ((v >> 4) & 0xF) * 10 + (v & 0xF);
}

uint16_t to_bcd(uint32_t v) {
  return static_cast<uint16_t>(((v / 1000) % 10) << 12 | ((v / 100) % 10) << 8 |
                               ((v / 10) % 10) << 4 | (v % 10));
}

// The count a run uses for the value in CR: 0 means the maximum.
uint32_t count_of(const PitChannelState& c) {
  const uint32_t v = c.bcd ? from_bcd(c.cr) : c.cr;
  return v == 0 ? modulus(c) : v;
}

uint16_t encode(const PitChannelState& c, uint32_t ce) {
  return c.bcd ? to_bcd(ce) : static_cast<uint16_t>(ce);
}

// Mode 3: pulses OUT stays high in each cycle (the low half is n / 2).
int64_t high_half(uint32_t n) { return (n + 1) / 2; }

}  // namespace

Pit8254::Pit8254(bus::Bus& bus)
    : bus_(bus), event_(bus.clock(), "pit-ch0", [this] {
        catch_up(now_pulse());
        schedule_event();
      }) {
  bus.register_io(this, kBase, 4);
  bus.add_device(this);
  reset();
}

Pit8254::~Pit8254() = default;

void Pit8254::reset() {
  event_.cancel();
  const bool gate2 = state.ch[2].gate;
  state = PitState{};
  state.ch[2].gate = gate2;  // driven by port 0x61
  bus_.set_irq(kIrq, false);
}

void Pit8254::post_load() {
  bus_.set_irq(kIrq, state.irq0_level);
  schedule_event();
}

int64_t Pit8254::now_pulse() const { return pit::pulses_at(bus_.clock().now_ns()); }

void Pit8254::settle(Channel& c, int64_t t) {
  if (c.next_valid && t >= c.next_pulse) {
    c.next_valid = 0;
    start_run(c, c.next_pulse, c.next_n, c.next_k_base);
  }
}

void Pit8254::start_run(Channel& c, int64_t load, uint32_t n, int64_t k_base) {
  c.loaded = 1;
  c.n = n;
  c.load_pulse = load;
  c.t_base = load;
  c.k_base = k_base;
  c.running = (c.mode == 1 || c.mode == 5) ? 1 : c.gate;
}

// Pulses counted by the run at pulse t (mode 3: the phase), or -1 before the load.
int64_t Pit8254::k_at(const Channel& c, int64_t t) const {
  if (!c.loaded || t < c.load_pulse) return -1;
  if (!c.running) return c.k_base;
  return c.k_base + std::max<int64_t>(0, t - c.t_base);
}

uint32_t Pit8254::ce_at(Channel& c, int64_t t) {
  settle(c, t);
  const int64_t k = k_at(c, t);
  if (k < 0) return c.hold_ce;
  const int64_t m = modulus(c), n = c.n;
  int64_t v;
  switch (c.mode) {
    case 2:
      v = n - k % n;
      break;
    case 3: {
      const int64_t p = k % n;
      if (n % 2 == 0) {
        v = n - 2 * (p % (n / 2));
      } else {
        const int64_t h = high_half(c.n);
        v = p < h ? n - 1 - 2 * p : n - 1 - 2 * (p - h);
      }
      break;
    }
    default:  // 0, 1, 4, 5: count down and wrap past zero
      v = ((n - k) % m + m) % m;
      break;
  }
  return static_cast<uint32_t>(v % m);
}

bool Pit8254::out_at(Channel& c, int64_t t) {
  settle(c, t);
  if ((c.mode == 2 || c.mode == 3) && c.loaded && !c.running) return true;
  const int64_t k = k_at(c, t);
  if (k < 0) return c.hold_out;
  const int64_t n = c.n;
  switch (c.mode) {
    case 0:
    case 1:
      return k >= n;
    case 2:
      return k % n != n - 1;
    case 3:
      return k % n < high_half(c.n);
    default:  // 4, 5: a one-pulse low strobe when the count reaches zero
      return k != n;
  }
}

// The first pulse after t at which OUT may change or a new count takes effect.
int64_t Pit8254::next_change(Channel& c, int64_t t) {
  settle(c, t);
  int64_t cand = c.next_valid ? c.next_pulse : kNever;
  if (!c.loaded) return cand;
  if (t < c.load_pulse) return std::min(cand, c.load_pulse);
  if (!c.running) return cand;
  const int64_t k = k_at(c, t), n = c.n;
  int64_t dk = 0;
  switch (c.mode) {
    case 0:
    case 1:
      if (k < n) dk = n - k;
      break;
    case 2: {
      if (n == 1) break;
      const int64_t p = k % n;
      dk = p < n - 1 ? n - 1 - p : 1;
      break;
    }
    case 3: {
      if (n == 1) break;
      const int64_t p = k % n, h = high_half(c.n);
      dk = p < h ? h - p : n - p;
      break;
    }
    default:
      if (k < n) dk = n - k;
      else if (k == n) dk = 1;
      break;
  }
  if (dk > 0) cand = std::min(cand, t + dk);
  return cand;
}

void Pit8254::drive_irq0(bool level) {
  if (level == static_cast<bool>(state.irq0_level)) return;
  state.irq0_level = level;
  bus_.set_irq(kIrq, level);
}

// Deliver every channel 0 transition due up to pulse `upto`, each evaluated at its own
// pulse (an event that runs late still produces both edges of a short pulse).
void Pit8254::catch_up(int64_t upto) {
  while (state.event_pulse <= upto) {
    const int64_t p = state.event_pulse;
    drive_irq0(out_at(state.ch[0], p));
    state.event_pulse = next_change(state.ch[0], p);
  }
}

void Pit8254::schedule_event() {
  if (state.event_pulse == kNever) event_.cancel();
  else event_.arm(pit::time_of_pulse(state.event_pulse));
}

// After channel 0's state changed at pulse t: drive OUT now and plan the next transition.
void Pit8254::reschedule(int64_t t) {
  drive_irq0(out_at(state.ch[0], t));
  state.event_pulse = next_change(state.ch[0], t);
  schedule_event();
}

void Pit8254::set_gate(unsigned ch, bool level) {
  if (ch > 2) return;
  const int64_t t = now_pulse();
  if (ch == 0) catch_up(t);
  Channel& c = state.ch[ch];
  if (level == static_cast<bool>(c.gate)) return;
  settle(c, t);
  c.gate = level;
  if (level) {
    switch (c.mode) {
      case 1:
      case 5:
      case 2:
      case 3:
        // A trigger: CR is loaded on the next pulse and the cycle starts over.
        if (c.cr_written) {
          c.hold_ce = ce_at(c, t);
          c.hold_out = (c.mode == 2 || c.mode == 3) ? 1 : out_at(c, t);
          c.next_valid = 0;
          start_run(c, t + 1, count_of(c), 0);
          c.cr_load_pulse = t + 1;
        }
        break;
      default:  // 0, 4: counting resumes
        if (c.loaded) {
          c.t_base = std::max(t, c.load_pulse);
          c.running = 1;
        }
        break;
    }
  } else if (c.mode != 1 && c.mode != 5 && c.loaded && c.running) {
    // Counting stops (modes 2 and 3 also force OUT high and drop a count waiting to load).
    c.k_base = t < c.load_pulse ? 0 : k_at(c, t);
    c.t_base = std::max(t, c.load_pulse);
    c.running = 0;
    if ((c.mode == 2 || c.mode == 3) && c.next_valid) {
      c.next_valid = 0;
      c.cr_load_pulse = kNever;
    }
  }
  if (ch == 0) reschedule(t);
}

bool Pit8254::out(unsigned ch) { return out_at(state.ch[ch], now_pulse()); }

uint32_t Pit8254::count(unsigned ch) { return ce_at(state.ch[ch], now_pulse()); }

void Pit8254::write_control(uint8_t v) {
  const int64_t t = now_pulse();
  const unsigned sc = v >> 6;
  if (sc == 3) {
    // Read-back: bit 5 = 0 latches the count, bit 4 = 0 the status, bits 3-1 select.
    if (v & 0x01) bus_.log().guest_error("pit-rb-bit0", "i8254: read-back command with bit 0 set");
    for (unsigned ch = 0; ch < 3; ++ch) {
      if (!(v & (2u << ch))) continue;
      Channel& c = state.ch[ch];
      if (!(v & 0x20)) latch_count(c, t);
      if (!(v & 0x10) && !c.status_latched) {
        c.status = status_byte(c, t);
        c.status_latched = 1;
      }
    }
    return;
  }
  Channel& c = state.ch[sc];
  const unsigned rw = (v >> 4) & 3;
  if (rw == 0) {
    latch_count(c, t);
    return;
  }
  if (sc == 0) catch_up(t);
  const uint32_t ce = ce_at(c, t);
  const bool gate = c.gate;
  c = Channel{};
  c.gate = gate;
  c.mode = (v >> 1) & 7;
  if (c.mode > 5) c.mode -= 4;
  c.access = static_cast<uint8_t>(rw);
  c.bcd = v & 1;
  c.hold_ce = ce;
  c.hold_out = c.mode == 0 ? 0 : 1;
  if (sc == 0) reschedule(t);
}

void Pit8254::count_written(Channel& c, int64_t t) {
  c.cr_written = 1;
  const uint32_t n = count_of(c);
  switch (c.mode) {
    case 0:
    case 4:
      c.hold_ce = ce_at(c, t);
      c.hold_out = c.mode == 0 ? 0 : out_at(c, t);
      c.next_valid = 0;
      start_run(c, t + 1, n, 0);
      c.cr_load_pulse = t + 1;
      break;
    case 1:
    case 5:
      c.cr_load_pulse = kNever;  // loaded by the next trigger
      break;
    default: {  // 2, 3
      settle(c, t);
      if (c.loaded && c.running && t >= c.load_pulse) {
        // The current cycle (mode 3: half-cycle) finishes with the old count.
        const int64_t k = k_at(c, t), old = c.n, p = k % old;
        if (c.mode == 2) {
          c.next_pulse = t + (old - p);
          c.next_k_base = 0;
        } else if (p < high_half(c.n)) {
          c.next_pulse = t + (high_half(c.n) - p);
          c.next_k_base = high_half(n);  // the new count starts with the low half
        } else {
          c.next_pulse = t + (old - p);
          c.next_k_base = 0;
        }
        c.next_n = n;
        c.next_valid = 1;
        c.cr_load_pulse = c.next_pulse;
      } else if (!c.loaded || t < c.load_pulse) {
        c.hold_ce = ce_at(c, t);
        c.hold_out = 1;
        start_run(c, t + 1, n, 0);
        c.cr_load_pulse = t + 1;
      } else {
        c.cr_load_pulse = kNever;  // gate low: loaded when the gate rises
      }
      break;
    }
  }
}

void Pit8254::write_count(unsigned ch, uint8_t v) {
  const int64_t t = now_pulse();
  if (ch == 0) catch_up(t);
  Channel& c = state.ch[ch];
  switch (c.access) {
    case 1:
      c.cr = v;
      break;
    case 2:
      c.cr = static_cast<uint16_t>(v << 8);
      break;
    default:
      if (!c.write_msb) {
        c.cr = static_cast<uint16_t>((c.cr & 0xFF00) | v);
        c.write_msb = 1;
        if (c.mode == 0) {
          // Mode 0: the first byte stops counting and drives OUT low at once.
          c.hold_ce = ce_at(c, t);
          c.hold_out = 0;
          c.loaded = 0;
          c.next_valid = 0;
          c.cr_load_pulse = kNever;
          if (ch == 0) reschedule(t);
        }
        return;
      }
      c.cr = static_cast<uint16_t>((c.cr & 0x00FF) | (v << 8));
      c.write_msb = 0;
      break;
  }
  count_written(c, t);
  if (ch == 0) reschedule(t);
}

void Pit8254::latch_count(Channel& c, int64_t t) {
  if (c.count_latched) return;  // a second latch before the first is read is ignored
  c.latch = encode(c, ce_at(c, t));
  c.count_latched = 1;
}

uint8_t Pit8254::status_byte(Channel& c, int64_t t) {
  const bool null_count = t < c.cr_load_pulse;
  return static_cast<uint8_t>((out_at(c, t) ? 0x80 : 0) | (null_count ? 0x40 : 0) |
                              (c.access << 4) | (c.mode << 1) | c.bcd);
}

uint8_t Pit8254::read_counter(unsigned ch) {
  Channel& c = state.ch[ch];
  if (c.status_latched) {
    c.status_latched = 0;
    return c.status;
  }
  const uint16_t v = c.count_latched ? c.latch : encode(c, ce_at(c, now_pulse()));
  bool msb;
  bool done;
  switch (c.access) {
    case 1:
      msb = false;
      done = true;
      break;
    case 2:
      msb = true;
      done = true;
      break;
    default:
      msb = c.read_msb;
      c.read_msb ^= 1;
      done = msb;
      break;
  }
  if (done) c.count_latched = 0;
  return static_cast<uint8_t>(msb ? v >> 8 : v);
}

uint32_t Pit8254::io_read(uint16_t port, unsigned size) {
  const unsigned reg = port - kBase;
  if (reg == 3) {
    bus_.log().guest_error("pit-read-43", "i8254: read of the control word register (no operation)");
    return 0xFF;
  }
  if (size != 1) bus_.log().guest_error("pit-size", "i8254: %u-byte access; using the low byte", size);
  return read_counter(reg);
}

void Pit8254::io_write(uint16_t port, unsigned size, uint32_t value) {
  const unsigned reg = port - kBase;
  if (size != 1) bus_.log().guest_error("pit-size", "i8254: %u-byte access; using the low byte", size);
  if (reg == 3) write_control(static_cast<uint8_t>(value));
  else write_count(reg, static_cast<uint8_t>(value));
}

}  // namespace popek::devices
