// Segment and gate descriptors as the tests build them in guest memory (no test framework
// needed: the fuzzer uses them too).
#pragma once

#include <cstdint>

namespace popek::test {

// Descriptor access bytes (P, DPL, S, type) used by the tests.
namespace acc {
constexpr uint8_t P = 0x80, S = 0x10;
constexpr uint8_t DATA_RW = P | S | 0x2, DATA_RO = P | S | 0x0;
constexpr uint8_t DATA_RW_DOWN = P | S | 0x6;
constexpr uint8_t CODE_X = P | S | 0x8, CODE_XR = P | S | 0xA, CODE_XRC = P | S | 0xE;
constexpr uint8_t dpl(unsigned d) { return static_cast<uint8_t>(d << 5); }
}  // namespace acc

// Descriptor flags nibble (descriptor bits 52-55): G and D/B.
namespace dflag {
constexpr uint8_t G = 0x8, DB = 0x4;
}

constexpr uint64_t seg_desc(uint32_t base, uint32_t limit, uint8_t access, uint8_t flags) {
  const uint32_t lo = (limit & 0xFFFF) | (base << 16);
  const uint32_t hi = ((base >> 16) & 0xFF) | (static_cast<uint32_t>(access) << 8) |
                      (limit & 0xF0000) | (static_cast<uint32_t>(flags & 0xF) << 20) |
                      (base & 0xFF000000u);
  return (static_cast<uint64_t>(hi) << 32) | lo;
}

// Interrupt/trap/call gate: `type` is the system type (cpu::sys), `params` the call-gate
// parameter count.
constexpr uint64_t gate_desc(uint16_t sel, uint32_t offset, uint8_t type, unsigned dpl,
                             bool present = true, unsigned params = 0) {
  const uint32_t lo = (offset & 0xFFFF) | (static_cast<uint32_t>(sel) << 16);
  const uint32_t hi = (offset & 0xFFFF0000u) | (present ? 0x8000u : 0) | (dpl << 13) |
                      (static_cast<uint32_t>(type) << 8) | (params & 0x1F);
  return (static_cast<uint64_t>(hi) << 32) | lo;
}

}  // namespace popek::test
