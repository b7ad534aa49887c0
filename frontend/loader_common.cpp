// Pieces shared by the direct kernel loaders.
#include "frontend/loader.h"

#include <cstdio>
#include <cstring>

namespace popek::frontend {

uint32_t rd32(const std::vector<uint8_t>& d, size_t off) {
  uint32_t v;
  std::memcpy(&v, d.data() + off, 4);
  return v;
}
uint16_t rd16(const std::vector<uint8_t>& d, size_t off) {
  uint16_t v;
  std::memcpy(&v, d.data() + off, 2);
  return v;
}

std::string hex(uint64_t v) {
  char b[24];
  snprintf(b, sizeof b, "0x%llx", static_cast<unsigned long long>(v));
  return b;
}

void enter_flat_protected_mode(bus::Bus& bus, cpu::CpuState& s, uint32_t entry) {
  using namespace cpu;
  const uint64_t gdt[4] = {0, 0, 0x00CF9B000000FFFFull, 0x00CF93000000FFFFull};
  bus.load(kFlatGdtAddr, gdt, sizeof gdt);
  s.cr[0] = cr0::PE | cr0::ET;
  s.eflags = flag::FIXED1;
  for (uint32_t& r : s.gpr) r = 0;
  s.eip = entry;
  const uint16_t code = attr::P | attr::S | attr::CODE | attr::READABLE | attr::ACCESSED |
                        attr::DB | attr::G;
  const uint16_t data = attr::P | attr::S | attr::WRITABLE | attr::ACCESSED | attr::DB | attr::G;
  for (unsigned r = 0; r < kNumSegRegs; ++r) s.seg[r] = SegmentCache{kFlatData, data, 0, 0xFFFFFFFFu, 1};
  s.seg[CS] = SegmentCache{kFlatCode, code, 0, 0xFFFFFFFFu, 1};
  s.gdtr = TableRegister{kFlatGdtAddr, 4 * 8 - 1};
  s.idtr = TableRegister{0, 0x3FF};
  s.cpl = 0;
  s.halted = 0;
  bus.set_a20(true);
}

}  // namespace popek::frontend
