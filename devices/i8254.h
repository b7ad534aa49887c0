// Intel 8254 programmable interval timer (0x40-0x43), clocked at 1.193182 MHz from the
// virtual clock.
//
// Nothing ticks. Each channel keeps a description of its current counting run (the CLK
// pulse at which the counting element was loaded, the count, how many pulses it has
// counted) and the count and OUT at any virtual time are computed from it in closed form.
// CLK pulse p happens at virtual time ceil(p * 1e9 / 1193182) ns, so pulse p has happened
// exactly when now_ns >= that time. Channel 0's OUT drives IRQ0: the PIT schedules one
// clock event at each OUT transition (and at the points where a new count takes effect),
// never a periodic host timer.
//
// Counting follows the datasheet: a count written at pulse w is loaded on pulse w+1 and
// counted from pulse w+2 (so mode 0 OUT rises N+1 pulses after the write); in modes 2
// and 3 a new count waits for the end of the current cycle or half-cycle; modes 1 and 5
// load on the pulse after a gate rising edge. Channels 0 and 1 have GATE tied high;
// channel 2's GATE is port 0x61 bit 0 (see port61.h).
#pragma once

#include <cstdint>

#include "bus/bus.h"

namespace popek::devices {

namespace pit {
constexpr uint64_t kClockHz = 1193182;
constexpr int64_t kNever = INT64_MAX;
// CLK pulses that have happened at virtual time `ns`, and the time of pulse `p`.
int64_t pulses_at(uint64_t ns);
uint64_t time_of_pulse(int64_t p);
}  // namespace pit

struct PitChannelState {
  uint8_t mode = 0;          // 0-5 (6 and 7 are stored as 2 and 3)
  uint8_t access = 3;        // 1: LSB only, 2: MSB only, 3: LSB then MSB
  uint8_t bcd = 0;           // count in 4-decade BCD
  uint8_t gate = 1;          // GATE input level
  uint16_t cr = 0;           // count register as written (raw; 0 means the maximum)
  uint8_t cr_written = 0;    // a complete count has been written since the control word
  uint8_t write_msb = 0;     // LSB/MSB write flip-flop: next write is the MSB
  uint8_t read_msb = 0;      // LSB/MSB read flip-flop: next read is the MSB
  uint8_t count_latched = 0;   // output latch holds `latch` (counter latch / read-back)
  uint8_t status_latched = 0;  // read-back status latched in `status`
  uint16_t latch = 0;        // latched count (as read: BCD-encoded in BCD mode)
  uint8_t status = 0;        // latched status byte
  // The current counting run.
  uint8_t loaded = 0;        // the counting element holds a count from this run
  uint8_t running = 0;       // counting (gate allows it)
  uint32_t n = 0;            // count of the run, 1..65536 (BCD: 1..10000)
  int64_t load_pulse = 0;    // pulse that loads the counting element
  int64_t k_base = 0;        // pulses counted (mode 3: phase) up to `t_base`
  int64_t t_base = 0;        // pulse from which counting continues (>= load_pulse)
  uint32_t hold_ce = 0;      // counting element value while no run is loaded
  uint8_t hold_out = 0;      // OUT while no run is loaded (and before load_pulse)
  int64_t cr_load_pulse = pit::kNever;  // pulse at which CR reaches the counting element
  // A new count waiting for the end of the current cycle (modes 2 and 3).
  uint8_t next_valid = 0;
  uint32_t next_n = 0;
  int64_t next_pulse = 0;
  int64_t next_k_base = 0;
  template <class Visitor>
  void visit(Visitor& v) {
    v("mode", mode);
    v("access", access);
    v("bcd", bcd);
    v("gate", gate);
    v("cr", cr);
    v("cr_written", cr_written);
    v("write_msb", write_msb);
    v("read_msb", read_msb);
    v("count_latched", count_latched);
    v("status_latched", status_latched);
    v("latch", latch);
    v("status", status);
    v("loaded", loaded);
    v("running", running);
    v("n", n);
    v("load_pulse", load_pulse);
    v("k_base", k_base);
    v("t_base", t_base);
    v("hold_ce", hold_ce);
    v("hold_out", hold_out);
    v("cr_load_pulse", cr_load_pulse);
    v("next_valid", next_valid);
    v("next_n", next_n);
    v("next_pulse", next_pulse);
    v("next_k_base", next_k_base);
  }
};

struct PitState {
  static constexpr uint32_t kVersion = 2;
  PitChannelState ch[3];
  uint8_t irq0_level = 0;  // level last driven on IRQ0
  // The next channel 0 pulse at which OUT is evaluated (the clock event is armed for its
  // time), or kNever.
  int64_t event_pulse = pit::kNever;
  template <class Visitor>
  void visit(Visitor& v) {
    v("ch0", ch[0]);
    v("ch1", ch[1]);
    v("ch2", ch[2]);
    v("irq0_level", irq0_level);
    v("event_pulse", event_pulse);
  }
};

class Pit8254 final : public bus::Device {
 public:
  static constexpr uint16_t kBase = 0x40;
  static constexpr unsigned kIrq = 0;

  explicit Pit8254(bus::Bus& bus);
  ~Pit8254() override;
  const char* name() const override { return "i8254"; }
  // Uninitialised: every channel as after a mode 0 control word with no count (OUT low).
  void reset() override;
  uint32_t io_read(uint16_t port, unsigned size) override;
  void io_write(uint16_t port, unsigned size, uint32_t value) override;
  // Drive IRQ0 and arm the clock event for the saved event pulse after a state load.
  void post_load();

  // GATE input of a channel (port 0x61 drives channel 2's).
  void set_gate(unsigned channel, bool level);
  bool gate(unsigned channel) const { return state.ch[channel].gate; }
  // OUT of a channel at the current virtual time.
  bool out(unsigned channel);
  // The counting element's value now (binary, 0 meaning the maximum), for tests and traces.
  uint32_t count(unsigned channel);

  PitState state;

 private:
  using Channel = PitChannelState;
  int64_t now_pulse() const;
  void settle(Channel& c, int64_t t);
  int64_t k_at(const Channel& c, int64_t t) const;
  uint32_t ce_at(Channel& c, int64_t t);
  bool out_at(Channel& c, int64_t t);
  int64_t next_change(Channel& c, int64_t t);
  void start_run(Channel& c, int64_t load, uint32_t n, int64_t k_base);
  void write_control(uint8_t v);
  void write_count(unsigned ch, uint8_t v);
  void count_written(Channel& c, int64_t t);
  uint8_t read_counter(unsigned ch);
  void latch_count(Channel& c, int64_t t);
  uint8_t status_byte(Channel& c, int64_t t);
  void drive_irq0(bool level);
  void catch_up(int64_t upto);
  void schedule_event();
  void reschedule(int64_t t);

  bus::Bus& bus_;
  bus::Timer event_;  // at the time of state.event_pulse
};

}  // namespace popek::devices
