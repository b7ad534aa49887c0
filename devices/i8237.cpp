#include "devices/i8237.h"

namespace popek::devices {

namespace {
// Register numbers (the low four address bits of a chip).
enum : unsigned {
  kStatusCommand = 8,  // read status / write command
  kRequest = 9,
  kSingleMask = 10,
  kMode = 11,
  kClearFlipFlop = 12,
  kTempMasterClear = 13,  // read temporary / write master clear
  kClearMask = 14,
  kAllMask = 15,
};
constexpr uint8_t kModeTypeMask = 0x0C, kModeTypeIllegal = 0x0C, kCommandMemToMem = 0x01;
}  // namespace

I8237::I8237(bus::Bus& bus) : bus_(bus) {
  bus.register_io(this, kDma1Base, 16);
  for (unsigned r = 0; r < 16; ++r) bus.register_io(this, static_cast<uint16_t>(kDma2Base + 2 * r), 1);
  bus.register_io(this, kPageBase + 1, 15);
  bus.add_device(this);
}

void I8237::master_clear(unsigned chip) {
  I8237Controller& c = state.ctl[chip];
  c.command = 0;
  c.request = 0;
  c.flip_flop = 0;
  c.mask = 0x0F;
}

// A reset is power-on here: the address, count and page registers start at zero too (on
// the chip a reset is a master clear and leaves them undefined; the BIOS programs them).
// Nothing of an earlier guest survives, so a run does not depend on what ran before.
void I8237::reset() {
  state = I8237State{};
  master_clear(0);
  master_clear(1);
}

uint8_t I8237::read_reg(unsigned chip, unsigned reg) {
  I8237Controller& c = state.ctl[chip];
  if (reg < 8) {
    const unsigned ch = reg / 2;
    const uint16_t v = (reg & 1) ? c.base_count[ch] : c.base_addr[ch];
    const uint8_t byte = static_cast<uint8_t>(c.flip_flop ? v >> 8 : v);
    c.flip_flop ^= 1;
    return byte;
  }
  switch (reg) {
    case kStatusCommand:
      return static_cast<uint8_t>(c.request << 4);  // no terminal count reached
    case kTempMasterClear:
      bus_.log().unimp("i8237-temp", "i8237: read of the temporary register (memory-to-memory only): 0");
      return 0;
    case kAllMask:
      return static_cast<uint8_t>(0xF0 | c.mask);
    default: {
      char key[32];
      snprintf(key, sizeof key, "i8237-read-%u-%u", chip + 1, reg);
      bus_.log().guest_error(key, "i8237: read of write-only register %u of DMA%u: all ones", reg, chip + 1);
      return 0xFF;
    }
  }
}

void I8237::write_reg(unsigned chip, unsigned reg, uint8_t v) {
  I8237Controller& c = state.ctl[chip];
  if (reg < 8) {
    const unsigned ch = reg / 2;
    uint16_t& r = (reg & 1) ? c.base_count[ch] : c.base_addr[ch];
    r = c.flip_flop ? static_cast<uint16_t>((r & 0x00FF) | v << 8) : static_cast<uint16_t>((r & 0xFF00) | v);
    c.flip_flop ^= 1;
    return;
  }
  switch (reg) {
    case kStatusCommand:
      c.command = v;
      if (v & kCommandMemToMem)
        bus_.log().unimp("i8237-mem2mem", "i8237: DMA%u memory-to-memory mode (command 0x%02x) not modelled", chip + 1, v);
      return;
    case kRequest: {
      const unsigned ch = v & 3;
      if (v & 4) {
        c.request |= static_cast<uint8_t>(1u << ch);
        bus_.log().unimp("i8237-request", "i8237: software DMA request on DMA%u channel %u: no transfer is made",
                         chip + 1, ch + 4 * chip);
      } else {
        c.request &= static_cast<uint8_t>(~(1u << ch));
      }
      return;
    }
    case kSingleMask:
      if (v & 4) c.mask |= static_cast<uint8_t>(1u << (v & 3));
      else c.mask &= static_cast<uint8_t>(~(1u << (v & 3)));
      return;
    case kMode:
      c.mode[v & 3] = v;
      if ((v & kModeTypeMask) == kModeTypeIllegal) {
        char key[32];
        snprintf(key, sizeof key, "i8237-mode-%u", chip + 1);
        bus_.log().guest_error(key, "i8237: DMA%u channel %u: illegal transfer type in mode 0x%02x", chip + 1,
                               (v & 3) + 4 * chip, v);
      }
      return;
    case kClearFlipFlop:
      c.flip_flop = 0;
      return;
    case kTempMasterClear:
      master_clear(chip);
      return;
    case kClearMask:
      c.mask = 0;
      return;
    case kAllMask:
      c.mask = v & 0x0F;
      return;
  }
}

uint32_t I8237::io_read(uint16_t port, unsigned size) {
  uint32_t v = 0;
  for (unsigned i = 0; i < size; ++i) {
    const uint16_t p = static_cast<uint16_t>(port + i);
    uint8_t b;
    if (p < 0x10) b = read_reg(0, p);
    else if (p >= kPageBase + 1 && p < kPageBase + 16) b = state.page[p - kPageBase];
    else if (p >= kDma2Base && p < kDma2Base + 32 && !(p & 1)) b = read_reg(1, (p - kDma2Base) / 2);
    else b = static_cast<uint8_t>(bus_.io_read(p, 1));  // a wide access spilling into a neighbour
    v |= uint32_t{b} << (8 * i);
  }
  return v;
}

void I8237::io_write(uint16_t port, unsigned size, uint32_t value) {
  for (unsigned i = 0; i < size; ++i) {
    const uint16_t p = static_cast<uint16_t>(port + i);
    const uint8_t b = static_cast<uint8_t>(value >> (8 * i));
    if (p < 0x10) write_reg(0, p, b);
    else if (p >= kPageBase + 1 && p < kPageBase + 16) state.page[p - kPageBase] = b;
    else if (p >= kDma2Base && p < kDma2Base + 32 && !(p & 1)) write_reg(1, (p - kDma2Base) / 2, b);
    else bus_.io_write(p, 1, b);
  }
}

}  // namespace popek::devices
