#include "devices/i8259.h"

namespace popek::devices {

namespace {

uint8_t level_mask(const Pic8259ChipState& c) { return (c.icw1 & 0x08) ? 0xFF : c.elcr; }
bool aeoi(const Pic8259ChipState& c) { return c.icw4 & 0x02; }
bool sfnm(const Pic8259ChipState& c) { return c.icw4 & 0x10; }

// Priority rank of IR `ir` (0 = highest) under the current rotation.
unsigned rank(const Pic8259ChipState& c, unsigned ir) { return (ir + 7 - c.lowest) & 7; }

// The highest-priority IR set in `bits`, or -1.
int highest(const Pic8259ChipState& c, uint8_t bits) {
  for (unsigned r = 0; r < 8; ++r) {
    const unsigned ir = (c.lowest + 1 + r) & 7;
    if (bits & (1u << ir)) return static_cast<int>(ir);
  }
  return -1;
}

// The IR this chip would deliver now: the highest unmasked request that outranks every
// in-service level that still blocks it. `master_sfnm_cascade`: in special fully nested
// mode the master lets a slave request through while IR2 is in service.
int pending(const Pic8259ChipState& c, int cascade_ir) {
  const int req = highest(c, c.irr & ~c.imr);
  if (req < 0) return -1;
  uint8_t blocking = c.isr;
  if (c.special_mask) blocking &= ~c.imr;  // masked in-service levels block nothing
  if (cascade_ir >= 0 && sfnm(c)) blocking &= ~(1u << cascade_ir);
  const int cur = highest(c, blocking);
  if (cur >= 0 && rank(c, req) >= rank(c, cur)) return -1;
  return req;
}

}  // namespace

Pic8259::Pic8259(bus::Bus& bus) : bus_(bus) {
  bus.register_io(this, kMasterBase, 2);
  bus.register_io(this, kSlaveBase, 2);
  bus.register_io(this, kElcrBase, 2);
  bus.add_device(this);
  bus.attach_irq_sink(this);
  reset();
}

void Pic8259::reset_impl() {
  // Input line levels belong to the devices driving them; they survive a reset.
  const uint8_t lines0 = state.chip[0].lines, lines1 = state.chip[1].lines;
  state = Pic8259State{};
  state.chip[0].lines = lines0;
  state.chip[1].lines = lines1;
}

bool Pic8259::is_cascade(unsigned ir) const {
  const Chip& m = state.chip[0];
  if (ir != kCascadeIrq) return false;
  // Uninitialised, or initialised as a cascaded master with a slave on IR2.
  if (m.icw1 == 0) return true;
  return !(m.icw1 & 0x02) && (m.icw3 & (1u << kCascadeIrq));
}

void Pic8259::input(int ci, unsigned ir, bool level) {
  Chip& c = state.chip[ci];
  const uint8_t bit = static_cast<uint8_t>(1u << ir);
  const bool was = c.lines & bit;
  if (level) c.lines |= bit;
  else c.lines &= ~bit;
  if (level_mask(c) & bit) {
    if (level) c.irr |= bit;
    else c.irr &= ~bit;
  } else if (level && !was) {
    c.irr |= bit;
  }
}

void Pic8259::update_cascade() {
  input(0, kCascadeIrq, pending(state.chip[1], -1) >= 0);
}

void Pic8259::set_irq_impl(unsigned irq, bool level) {
  if (irq == kCascadeIrq) irq = 9;
  if (irq >= 16) {
    bus_.log().warn("pic-bad-irq", "i8259: set_irq(%u) ignored: no such line", irq);
    return;
  }
  if (irq < 8) {
    input(0, irq, level);
  } else {
    input(1, irq - 8, level);
    update_cascade();
  }
}

bool Pic8259::intr() const { return pending(state.chip[0], kCascadeIrq) >= 0; }

void Pic8259::ack_chip(int ci, unsigned ir) {
  Chip& c = state.chip[ci];
  const uint8_t bit = static_cast<uint8_t>(1u << ir);
  // An edge-triggered request is consumed; a level-triggered one stays while its line does.
  if (!(level_mask(c) & bit)) c.irr &= ~bit;
  if (aeoi(c)) {
    if (c.rotate_aeoi) c.lowest = static_cast<uint8_t>(ir);
  } else {
    c.isr |= bit;
  }
}

int Pic8259::acknowledge_impl() {
  Chip& m = state.chip[0];
  if (!(m.icw4 & 0x01) && m.icw1 != 0)
    bus_.log().unimp("pic-8080", "i8259: 8080/8085 mode is not modelled; delivering 8086 vectors");
  const int ir = pending(m, kCascadeIrq);
  if (ir < 0) return m.vector_base | 7;  // default IR7: nothing in ISR changes
  ack_chip(0, static_cast<unsigned>(ir));
  if (!is_cascade(static_cast<unsigned>(ir))) return m.vector_base | ir;
  Chip& s = state.chip[1];
  const int sir = pending(s, -1);
  int vector;
  if (sir < 0) {
    vector = s.vector_base | 7;  // the slave's request vanished: its default IR7
  } else {
    ack_chip(1, static_cast<unsigned>(sir));
    vector = s.vector_base | sir;
  }
  update_cascade();
  if (m.lines & (1u << kCascadeIrq)) m.irr |= 1u << kCascadeIrq;
  return vector;
}

void Pic8259::eoi(int ci, unsigned ir, bool rotate) {
  Chip& c = state.chip[ci];
  c.isr &= ~(1u << ir);
  if (rotate) c.lowest = static_cast<uint8_t>(ir);
}

uint8_t Pic8259::poll_read(int ci) {
  Chip& c = state.chip[ci];
  c.poll = 0;
  const int ir = pending(c, ci == 0 ? kCascadeIrq : -1);
  if (ir < 0) return 0x00;
  ack_chip(ci, static_cast<unsigned>(ir));
  if (ci == 1) update_cascade();
  return static_cast<uint8_t>(0x80 | ir);
}

void Pic8259::write_command(int ci, uint8_t v) {
  Chip& c = state.chip[ci];
  if (v & 0x10) {
    // ICW1: restart initialisation. The edge sense circuit, IMR, priorities, special mask
    // and status-read selection reset; ICW4 functions clear when ICW4 will not follow.
    const uint8_t lines = c.lines, elcr = c.elcr;
    c = Chip{};
    c.lines = lines;
    c.elcr = elcr;
    c.imr = 0;
    c.icw1 = v;
    c.icw3 = ci == 0 ? 0x04 : 0x02;
    if (v & 0x08) c.irr = c.lines;  // level-triggered: requests follow the lines
    c.init_step = 2;
    if (v & 0x04)
      bus_.log().unimp("pic-adi", "i8259: ICW1 call address interval (8080 mode) ignored");
  } else if (v & 0x08) {
    // OCW3
    if (v & 0x04) c.poll = 1;
    if (v & 0x02) c.read_isr = v & 0x01;
    if (v & 0x40) c.special_mask = (v >> 5) & 1;
  } else {
    // OCW2: R SL EOI and the level L2-L0
    const unsigned level = v & 7;
    switch (v >> 5) {
      case 0b001:  // non-specific EOI
      case 0b101: {  // rotate on non-specific EOI
        const int ir = highest(c, c.isr);
        if (ir >= 0) eoi(ci, static_cast<unsigned>(ir), v & 0x80);
        break;
      }
      case 0b011:  // specific EOI
      case 0b111:  // rotate on specific EOI
        eoi(ci, level, v & 0x80);
        break;
      case 0b100:
        c.rotate_aeoi = 1;
        break;
      case 0b000:
        c.rotate_aeoi = 0;
        break;
      case 0b110:  // set priority: L becomes the lowest
        c.lowest = static_cast<uint8_t>(level);
        break;
      default:  // 0b010: no operation
        break;
    }
  }
  if (ci == 1) update_cascade();
}

void Pic8259::write_data(int ci, uint8_t v) {
  Chip& c = state.chip[ci];
  switch (c.init_step) {
    case 2:
      c.vector_base = v & 0xF8;
      c.init_step = (c.icw1 & 0x02) ? ((c.icw1 & 0x01) ? 4 : 0) : 3;
      break;
    case 3:
      c.icw3 = v;
      c.init_step = (c.icw1 & 0x01) ? 4 : 0;
      break;
    case 4:
      c.icw4 = v & 0x1F;
      if (v & 0x08)
        bus_.log().unimp("pic-buf", "i8259: ICW4 buffered mode has no effect here");
      c.init_step = 0;
      break;
    default:
      c.imr = v;  // OCW1
      break;
  }
  if (ci == 1) update_cascade();
}

uint32_t Pic8259::io_read_impl(uint16_t port, unsigned size) {
  if (port == kElcrBase || port == kElcrBase + 1) return state.chip[port - kElcrBase].elcr;
  const int ci = port >= kSlaveBase ? 1 : 0;
  Chip& c = state.chip[ci];
  if (c.poll) return poll_read(ci);
  if (port & 1) return c.imr;
  return c.read_isr ? c.isr : c.irr;
}

void Pic8259::io_write_impl(uint16_t port, unsigned size, uint32_t value) {
  const uint8_t v = static_cast<uint8_t>(value);
  if (port == kElcrBase || port == kElcrBase + 1) {
    const int ci = port - kElcrBase;
    Chip& c = state.chip[ci];
    if (v & ~kElcrMask[ci])
      bus_.log().guest_error("pic-elcr-mask", "i8259: ELCR bits 0x%02x cannot be level-triggered; ignored",
                             v & ~kElcrMask[ci] & 0xFF);
    c.elcr = v & kElcrMask[ci];
    // A line switched to level follows its input now; one switched to edge keeps what it latched.
    c.irr = static_cast<uint8_t>((c.irr & ~level_mask(c)) | (c.lines & level_mask(c)));
    if (ci == 1) update_cascade();
    return;
  }
  const int ci = port >= kSlaveBase ? 1 : 0;
  if (port & 1) write_data(ci, v);
  else write_command(ci, v);
}

// The public entry points: each may change the INTR line, which is pushed to the CPU.
void Pic8259::notify() {
  const bool level = intr();
  if (on_intr && level != intr_level_) on_intr(level);
  intr_level_ = level;
}

void Pic8259::post_load() {
  intr_level_ = intr();
  if (on_intr) on_intr(intr_level_);
}

void Pic8259::reset() {
  reset_impl();
  notify();
}

void Pic8259::set_irq(unsigned irq, bool level) {
  set_irq_impl(irq, level);
  notify();
}

int Pic8259::acknowledge() {
  const int v = acknowledge_impl();
  notify();
  return v;
}

uint32_t Pic8259::io_read(uint16_t port, unsigned size) {
  const uint32_t v = io_read_impl(port, size);
  notify();  // a poll-mode read acknowledges
  return v;
}

void Pic8259::io_write(uint16_t port, unsigned size, uint32_t value) {
  io_write_impl(port, size, value);
  notify();
}

}  // namespace popek::devices
