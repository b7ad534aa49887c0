#include "mmu/mmu.h"

#include <cstring>

namespace popek::mmu {

namespace {
constexpr uint32_t kPteP = 1u << 0;
constexpr uint32_t kPteRW = 1u << 1;
constexpr uint32_t kPteUS = 1u << 2;
constexpr uint32_t kPteA = 1u << 5;
constexpr uint32_t kPteD = 1u << 6;
constexpr uint32_t kPdePS = 1u << 7;
constexpr uint32_t kCr0PG = 1u << 31;
constexpr uint32_t kCr0WP = 1u << 16;
constexpr uint32_t kCr4PSE = 1u << 4;
constexpr uint32_t kCr4PAE = 1u << 5;
}  // namespace

Mmu::Mmu(bus::Bus& bus) : bus_(bus), code_pages_((bus.ram_size() + 4095) / 4096, 0) {}

void Mmu::set_control(uint32_t cr0, uint32_t cr3, uint32_t cr4) {
  paging_ = (cr0 & kCr0PG) != 0;
  wp_ = (cr0 & kCr0WP) != 0;
  pse_ = (cr4 & kCr4PSE) != 0;
  cr3_ = cr3;
  if (paging_ && (cr4 & kCr4PAE)) {
    bus_.log().once("pae", "PAE paging is not implemented yet: CR4.PAE is ignored");
  }
}

// The two-level walk of SDM vol. 3 §4.3. Accessed and dirty bits are set only when the
// access is allowed, as the processor does.
bool Mmu::walk(uint32_t linear, Access acc, bool user, uint32_t& phys, PageFault& fault) {
  const bool write = acc == Access::Write;
  const uint32_t a20 = bus_.a20_mask();
  auto fail = [&](uint32_t present) {
    fault.linear = linear;
    fault.error = present | (write ? pf::W : 0) | (user ? pf::U : 0);
    return false;
  };
  const uint32_t pde_addr = ((cr3_ & 0xFFFFF000u) | ((linear >> 20) & 0xFFC)) & a20;
  uint32_t pde = bus_.read_phys(pde_addr, 4);
  if (!(pde & kPteP)) return fail(0);
  if (pse_ && (pde & kPdePS)) {
    if (pde & 0x003FE000u) {  // reserved bits 13-21 of a 4 MiB PDE
      fault.linear = linear;
      fault.error = pf::P | pf::RSVD | (write ? pf::W : 0) | (user ? pf::U : 0);
      return false;
    }
    const bool rw = pde & kPteRW, us = pde & kPteUS;
    if (user && !us) return fail(pf::P);
    if (write && !rw && (user || wp_)) return fail(pf::P);
    const uint32_t upd = pde | kPteA | (write ? kPteD : 0);
    if (upd != pde) bus_.write_phys(pde_addr, 4, upd);
    phys = ((pde & 0xFFC00000u) | (linear & 0x003FFFFFu)) & a20;
    return true;
  }
  const uint32_t pte_addr = ((pde & 0xFFFFF000u) | ((linear >> 10) & 0xFFC)) & a20;
  uint32_t pte = bus_.read_phys(pte_addr, 4);
  if (!(pte & kPteP)) return fail(0);
  const bool rw = (pde & kPteRW) && (pte & kPteRW);
  const bool us = (pde & kPteUS) && (pte & kPteUS);
  if (user && !us) return fail(pf::P);
  if (write && !rw && (user || wp_)) return fail(pf::P);
  if (!(pde & kPteA)) bus_.write_phys(pde_addr, 4, pde | kPteA);
  const uint32_t upd = pte | kPteA | (write ? kPteD : 0);
  if (upd != pte) bus_.write_phys(pte_addr, 4, upd);
  phys = ((pte & 0xFFFFF000u) | (linear & 0xFFF)) & a20;
  return true;
}

bool Mmu::translate(uint32_t linear, Access acc, bool user, uint32_t& phys, PageFault& fault) {
  if (!paging_) {
    phys = linear & bus_.a20_mask();
    return true;
  }
  return walk(linear, acc, user, phys, fault);
}

bool Mmu::read(uint32_t linear, unsigned size, Access acc, bool user, uint64_t& value,
               PageFault& fault) {
  uint32_t p0;
  if (!translate(linear, acc, user, p0, fault)) return false;
  const unsigned first = 4096 - (linear & 0xFFF);
  if (size <= first) {
    if (uint8_t* h = bus_.ram_ptr(p0); h && bus_.ram_ptr(p0 + size - 1)) {
      uint64_t v = 0;
      std::memcpy(&v, h, size);
      value = v;
      return true;
    }
    uint64_t v = 0;
    for (unsigned i = 0; i < size; ++i) v |= static_cast<uint64_t>(bus_.read_phys(p0 + i, 1)) << (8 * i);
    value = v;
    return true;
  }
  uint32_t p1;
  if (!translate(linear + first, acc, user, p1, fault)) return false;
  uint64_t v = 0;
  for (unsigned i = 0; i < size; ++i) {
    const uint32_t p = i < first ? p0 + i : p1 + (i - first);
    v |= static_cast<uint64_t>(bus_.read_phys(p, 1)) << (8 * i);
  }
  value = v;
  return true;
}

void Mmu::note_write(uint32_t phys, unsigned size) {
  const uint32_t first = phys >> 12, last = (phys + size - 1) >> 12;
  for (uint32_t pg = first; pg <= last; ++pg) {
    if (is_code_page(pg) && on_code_write) on_code_write(pg);
  }
}

bool Mmu::write(uint32_t linear, unsigned size, bool user, uint64_t value, PageFault& fault) {
  uint32_t p0;
  if (!translate(linear, Access::Write, user, p0, fault)) return false;
  const unsigned first = 4096 - (linear & 0xFFF);
  if (size <= first) {
    if (uint8_t* h = bus_.ram_ptr(p0); h && bus_.ram_ptr(p0 + size - 1)) {
      std::memcpy(h, &value, size);
    } else {
      for (unsigned i = 0; i < size; ++i) bus_.write_phys(p0 + i, 1, static_cast<uint8_t>(value >> (8 * i)));
    }
    note_write(p0, size);
    return true;
  }
  uint32_t p1;
  if (!translate(linear + first, Access::Write, user, p1, fault)) return false;
  for (unsigned i = 0; i < size; ++i) {
    const uint32_t p = i < first ? p0 + i : p1 + (i - first);
    bus_.write_phys(p, 1, static_cast<uint8_t>(value >> (8 * i)));
  }
  note_write(p0, first);
  note_write(p1, size - first);
  return true;
}

void Mmu::mark_code_page(uint32_t phys_page) {
  if (phys_page < code_pages_.size()) code_pages_[phys_page] = 1;
}

void Mmu::unmark_code_page(uint32_t phys_page) {
  if (phys_page < code_pages_.size()) code_pages_[phys_page] = 0;
}

}  // namespace popek::mmu
