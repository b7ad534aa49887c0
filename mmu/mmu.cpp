#include "mmu/mmu.h"

#include <algorithm>
#include <cstring>

namespace popek::mmu {

namespace {
constexpr uint64_t kP = 1u << 0;
constexpr uint64_t kRW = 1u << 1;
constexpr uint64_t kUS = 1u << 2;
constexpr uint64_t kA = 1u << 5;
constexpr uint64_t kD = 1u << 6;
constexpr uint64_t kPS = 1u << 7;
constexpr uint64_t kXD = 1ull << 63;
constexpr uint32_t kCr0PG = 1u << 31;
constexpr uint32_t kCr0WP = 1u << 16;
constexpr uint32_t kCr4PSE = 1u << 4;
constexpr uint32_t kCr4PAE = 1u << 5;
constexpr uint32_t kCr4PGE = 1u << 7;
constexpr uint64_t kEferNXE = 1u << 11;
// PAE with MAXPHYADDR = 36: address bits 35:12; bits 62:36 reserved.
constexpr uint64_t kPaeHighReserved = 0x7FFFFFF000000000ull;
constexpr uint64_t kPaeAddr = 0x0000000FFFFFF000ull;
constexpr uint64_t kPdpteReserved = kPaeHighReserved | kXD | 0x1E6;  // bits 1-2, 5-8, 63
constexpr uint64_t k4G = 1ull << 32;
}  // namespace

struct Mmu::Context {
  uint32_t id = 0;
  bool paging = false;
  uint32_t cr3 = 0;
  uint64_t pdpte[4] = {};
  uint64_t last_used = 0;
  std::unordered_map<uint32_t, uint32_t> shadow;  // shadow key -> physical page number
  TlbEntry tlb[6][kTlbSize];
};

Mmu::Mmu(bus::Bus& bus)
    : bus_(bus),
      tracked_((bus.ram_size() + 4095) / 4096, 0),
      write_refs_((bus.ram_size() + 4095) / 4096, 0) {
  switch_context();
}

Mmu::~Mmu() = default;

bool Mmu::set_control(uint32_t cr0, uint32_t cr3, uint32_t cr4, uint64_t efer) {
  const bool paging = cr0 & kCr0PG;
  const bool pae = paging && (cr4 & kCr4PAE);
  uint64_t pdpte[4] = {};
  if (pae) {
    const uint32_t base = (cr3 & 0xFFFFFFE0u) & bus_.a20_mask();
    for (unsigned i = 0; i < 4; ++i) {
      pdpte[i] = bus_.read_phys(base + i * 8, 4) | (static_cast<uint64_t>(bus_.read_phys(base + i * 8 + 4, 4)) << 32);
      if ((pdpte[i] & kP) && (pdpte[i] & kPdpteReserved)) return false;
    }
  }
  const uint32_t mode_cr0 = kCr0PG | kCr0WP;
  const uint32_t mode_cr4 = kCr4PSE | kCr4PAE | kCr4PGE;
  const bool mode_changed = ((ctl_.cr0 ^ cr0) & mode_cr0) || ((ctl_.cr4 ^ cr4) & mode_cr4) ||
                            ((ctl_.efer ^ efer) & kEferNXE);
  const bool space_changed = cr3 != ctl_.cr3 || (pae && std::memcmp(pdpte, pdpte_, sizeof pdpte) != 0);
  ctl_ = Control{cr0, cr3, cr4, efer};
  paging_ = paging;
  pae_ = pae;
  std::memcpy(pdpte_, pdpte, sizeof pdpte);
  if (mode_changed) {
    flush_all(FlushCause::Mode);
  } else if (space_changed && paging_) {
    ++stats.cr3_switches;
    switch_context();
  }
  return true;
}

void Mmu::switch_context() {
  ++clock_;
  ++generation;
  for (auto& c : contexts_) {
    if (c->paging == paging_ && (!paging_ || (c->cr3 == ctl_.cr3 &&
                                              (!pae_ || std::memcmp(c->pdpte, pdpte_, sizeof pdpte_) == 0)))) {
      if (current_ != c.get()) ++stats.shadow_reuses;
      current_ = c.get();
      current_->last_used = clock_;
      tlb_ = current_->tlb;
      return;
    }
  }
  if (contexts_.size() >= kMaxContexts) {
    auto lru = std::min_element(contexts_.begin(), contexts_.end(),
                                [](const auto& a, const auto& b) { return a->last_used < b->last_used; });
    release_context(**lru);
    contexts_.erase(lru);
    ++stats.contexts_evicted;
  }
  auto c = std::make_unique<Context>();
  c->id = next_context_id_++;
  c->paging = paging_;
  c->cr3 = ctl_.cr3;
  std::memcpy(c->pdpte, pdpte_, sizeof pdpte_);
  c->last_used = clock_;
  current_ = c.get();
  tlb_ = current_->tlb;
  contexts_.push_back(std::move(c));
}

void Mmu::flush_all(FlushCause cause) {
  switch (cause) {
    case FlushCause::Mode: ++stats.flush_mode; break;
    case FlushCause::A20: ++stats.flush_a20; break;
    case FlushCause::Other: ++stats.flush_other; break;
  }
  for (auto& c : contexts_) release_context(*c);
  contexts_.clear();
  current_ = nullptr;
  for (auto& [page, deps] : pt_deps_) {
    if (page < tracked_.size()) tracked_[page] &= ~kTrackPageTable;
  }
  pt_deps_.clear();
  switch_context();
}

void Mmu::invlpg(uint32_t linear) {
  ++generation;
  for (unsigned k = 0; k < 6; ++k) {
    const Access acc = static_cast<Access>(k / 2);
    const bool user = k & 1;
    stats.inval_invlpg += current_->shadow.erase(shadow_key(linear, acc, user));
    TlbEntry& e = tlb_[k][(linear >> 12) & (kTlbSize - 1)];
    if (e.tag == (linear & 0xFFFFF000u)) set_entry(e, TlbEntry{}, acc == Access::Write);
  }
}

void Mmu::set_entry(TlbEntry& e, const TlbEntry& v, bool write_kind) {
  if (write_kind) {
    if (e.tag != 1 && e.phys_page < write_refs_.size()) --write_refs_[e.phys_page];
    if (v.tag != 1 && v.phys_page < write_refs_.size()) ++write_refs_[v.phys_page];
  }
  e = v;
}

void Mmu::release_context(Context& c) {
  for (unsigned k : {tlb_index(Access::Write, false), tlb_index(Access::Write, true)}) {
    for (TlbEntry& e : c.tlb[k]) set_entry(e, TlbEntry{}, true);
  }
}

// ------------------------------------------------------------------ page walks

bool Mmu::walk(uint32_t linear, Access acc, bool user, uint64_t& phys, PageFault& fault,
               uint32_t deps[2], unsigned& ndeps, bool peek) {
  return pae_ ? walk_pae(linear, acc, user, phys, fault, deps, ndeps, peek)
              : walk_legacy(linear, acc, user, phys, fault, deps, ndeps, peek);
}

// SDM vol. 3 §4.3: 32-bit paging. Accessed and dirty bits are set only when the access is
// allowed, as the processor does.
bool Mmu::walk_legacy(uint32_t linear, Access acc, bool user, uint64_t& phys, PageFault& fault,
                      uint32_t deps[2], unsigned& ndeps, bool peek) {
  const bool write = acc == Access::Write;
  const bool wp = ctl_.cr0 & kCr0WP;
  const uint32_t a20 = bus_.a20_mask();
  auto fail = [&](uint32_t bits) {
    fault.linear = linear;
    fault.error = bits | (write ? pf::W : 0) | (user ? pf::U : 0);
    return false;
  };
  const uint32_t pde_addr = ((ctl_.cr3 & 0xFFFFF000u) | ((linear >> 20) & 0xFFC)) & a20;
  const uint32_t pde = bus_.read_phys(pde_addr, 4);
  deps[ndeps++] = pde_addr >> 12;
  if (!(pde & kP)) return fail(0);
  if ((ctl_.cr4 & kCr4PSE) && (pde & kPS)) {
    if (pde & 0x003FE000u) return fail(pf::P | pf::RSVD);  // bits 21:13 of a 4 MiB PDE
    if (!peek && user && !(pde & kUS)) return fail(pf::P);
    if (!peek && write && !(pde & kRW) && (user || wp)) return fail(pf::P);
    const uint32_t upd = pde | kA | (write ? kD : 0);
    if (!peek && upd != pde) bus_.write_phys(pde_addr, 4, upd);
    phys = ((pde & 0xFFC00000u) | (linear & 0x003FFFFFu)) & a20;
    return true;
  }
  // The PDE is used for the translation: its accessed flag is set even if the PTE
  // then faults (SDM vol. 3 §4.8).
  if (!peek && !(pde & kA)) bus_.write_phys(pde_addr, 4, pde | kA);
  const uint32_t pte_addr = ((pde & 0xFFFFF000u) | ((linear >> 10) & 0xFFC)) & a20;
  const uint32_t pte = bus_.read_phys(pte_addr, 4);
  deps[ndeps++] = pte_addr >> 12;
  if (!(pte & kP)) return fail(0);
  const bool rw = (pde & kRW) && (pte & kRW);
  const bool us = (pde & kUS) && (pte & kUS);
  if (!peek && user && !us) return fail(pf::P);
  if (!peek && write && !rw && (user || wp)) return fail(pf::P);
  const uint32_t upd = pte | kA | (write ? kD : 0);
  if (!peek && upd != pte) bus_.write_phys(pte_addr, 4, upd);
  phys = ((pte & 0xFFFFF000u) | (linear & 0xFFF)) & a20;
  return true;
}

// SDM vol. 3 §4.4: PAE paging with the PDPTEs loaded at MOV CR3, 2 MiB pages and, with
// EFER.NXE, the execute-disable bit.
bool Mmu::walk_pae(uint32_t linear, Access acc, bool user, uint64_t& phys, PageFault& fault,
                   uint32_t deps[2], unsigned& ndeps, bool peek) {
  const bool write = acc == Access::Write;
  const bool wp = ctl_.cr0 & kCr0WP;
  const bool nxe = ctl_.efer & kEferNXE;
  const uint32_t a20 = bus_.a20_mask();
  const uint64_t reserved = kPaeHighReserved | (nxe ? 0 : kXD);
  auto fail = [&](uint32_t bits) {
    fault.linear = linear;
    fault.error = bits | (write ? pf::W : 0) | (user ? pf::U : 0) |
                  (acc == Access::Exec && nxe ? pf::ID : 0);
    return false;
  };
  auto read64 = [&](uint64_t a) {
    return static_cast<uint64_t>(bus_.read_phys(static_cast<uint32_t>(a), 4)) |
           (static_cast<uint64_t>(bus_.read_phys(static_cast<uint32_t>(a) + 4, 4)) << 32);
  };
  const uint64_t pdpte = pdpte_[linear >> 30];
  if (!(pdpte & kP)) return fail(0);
  const uint64_t pde_addr = ((pdpte & kPaeAddr) | ((linear >> 18) & 0xFF8)) & a20;
  if (pde_addr >= k4G) return fail(0);  // beyond popek's 32-bit bus: treated as not present
  const uint64_t pde = read64(pde_addr);
  deps[ndeps++] = static_cast<uint32_t>(pde_addr >> 12);
  if (!(pde & kP)) return fail(0);
  if (pde & kPS) {
    if (pde & (reserved | 0x1FE000)) return fail(pf::P | pf::RSVD);  // bits 20:13 too
    if (!peek && user && !(pde & kUS)) return fail(pf::P);
    if (!peek && write && !(pde & kRW) && (user || wp)) return fail(pf::P);
    if (!peek && acc == Access::Exec && nxe && (pde & kXD)) return fail(pf::P);
    const uint64_t upd = pde | kA | (write ? kD : 0);
    if (!peek && upd != pde) bus_.write_phys(static_cast<uint32_t>(pde_addr), 4, static_cast<uint32_t>(upd));
    phys = ((pde & kPaeAddr & ~0x1FFFFFull) | (linear & 0x1FFFFF)) & a20;
    return true;
  }
  if (pde & reserved) return fail(pf::P | pf::RSVD);
  if (!peek && !(pde & kA)) bus_.write_phys(static_cast<uint32_t>(pde_addr), 4, static_cast<uint32_t>(pde | kA));
  const uint64_t pte_addr = ((pde & kPaeAddr) | ((linear >> 9) & 0xFF8)) & a20;
  if (pte_addr >= k4G) return fail(0);
  const uint64_t pte = read64(pte_addr);
  deps[ndeps++] = static_cast<uint32_t>(pte_addr >> 12);
  if (!(pte & kP)) return fail(0);
  if (pte & reserved) return fail(pf::P | pf::RSVD);
  const bool rw = (pde & kRW) && (pte & kRW);
  const bool us = (pde & kUS) && (pte & kUS);
  const bool xd = nxe && ((pde | pte) & kXD);
  if (!peek && user && !us) return fail(pf::P);
  if (!peek && write && !rw && (user || wp)) return fail(pf::P);
  if (!peek && acc == Access::Exec && xd) return fail(pf::P);
  const uint64_t upd = pte | kA | (write ? kD : 0);
  if (!peek && upd != pte) bus_.write_phys(static_cast<uint32_t>(pte_addr), 4, static_cast<uint32_t>(upd));
  phys = ((pte & kPaeAddr) | (linear & 0xFFF)) & a20;
  return true;
}

// ------------------------------------------------------------------ translation

bool Mmu::translate64(uint32_t linear, Access acc, bool user, uint64_t& phys, PageFault& fault) {
  ++stats.tlb_misses;
  if (!paging_) {
    phys = linear & bus_.a20_mask();
    fill_tlb(linear, acc, user, phys);
    return true;
  }
  const uint32_t key = shadow_key(linear, acc, user);
  auto it = current_->shadow.find(key);
  if (it != current_->shadow.end()) {
    ++stats.shadow_hits;
    phys = (static_cast<uint64_t>(it->second) << 12) | (linear & 0xFFF);
    fill_tlb(linear, acc, user, phys);
    return true;
  }
  ++stats.walks;
  uint32_t deps[2];
  unsigned ndeps = 0;
  if (!walk(linear, acc, user, phys, fault, deps, ndeps)) return false;
  current_->shadow[key] = static_cast<uint32_t>(phys >> 12);
  for (unsigned i = 0; i < ndeps; ++i) {
    pt_deps_[deps[i]].emplace_back(current_->id, key);
    track(deps[i], kTrackPageTable);
  }
  fill_tlb(linear, acc, user, phys);
  return true;
}

bool Mmu::translate(uint32_t linear, Access acc, bool user, uint32_t& phys, PageFault& fault) {
  const TlbEntry& e = tlb_[tlb_index(acc, user)][(linear >> 12) & (kTlbSize - 1)];
  if (e.tag == (linear & 0xFFFFF000u)) {
    ++stats.tlb_hits;
    phys = (e.phys_page << 12) | (linear & 0xFFF);
    return true;
  }
  uint64_t p;
  if (!translate64(linear, acc, user, p, fault)) return false;
  if (p >= k4G) {
    bus_.log().warn("phys-above-4g", "physical address 0x%llx above 4 GiB: popek's bus is 32-bit",
                    static_cast<unsigned long long>(p));
  }
  phys = static_cast<uint32_t>(p);
  return true;
}

void Mmu::fill_tlb(uint32_t linear, Access acc, bool user, uint64_t phys) {
  if (phys >= k4G) return;
  if (acc != Access::Exec && !watches_.empty() && watched_page(linear & 0xFFFFF000u)) return;
  const uint32_t base = static_cast<uint32_t>(phys) & 0xFFFFF000u;
  const uint32_t page = base >> 12;
  uint8_t* host = nullptr;
  if (acc == Access::Write) {
    if (page < tracked_.size() && tracked_[page]) return;  // writes to tracked pages go slow
    if (bus_.ram_ptr(base) && bus_.ram_ptr(base + 4095)) host = bus_.ram_ptr(base);
    if (host) bus_.mark_dirty(base, 4096);  // writes through the entry mark nothing
  } else if (bus_.ram_ptr(base) && bus_.ram_ptr(base + 4095)) {
    host = bus_.ram_ptr(base);
  }
  // ROM and MMIO pages are never entered: their accesses always reach the bus.
  if (!host) return;
  set_entry(tlb_[tlb_index(acc, user)][(linear >> 12) & (kTlbSize - 1)],
            TlbEntry{linear & 0xFFFFF000u, page, reinterpret_cast<uintptr_t>(host) - (linear & 0xFFFFF000u)},
            acc == Access::Write);
}

// ------------------------------------------------------------------ slow accesses

uint8_t Mmu::read_byte(uint64_t phys) {
  if (phys >= k4G) return 0xFF;
  return static_cast<uint8_t>(bus_.read_phys(static_cast<uint32_t>(phys), 1));
}

void Mmu::write_byte(uint64_t phys, uint8_t v) {
  if (phys >= k4G) return;
  bus_.write_phys(static_cast<uint32_t>(phys), 1, v);
}

bool Mmu::read_slow(uint32_t linear, unsigned size, Access acc, bool user, uint64_t& value,
                    PageFault& fault) {
  uint64_t p0;
  if (!translate64(linear, acc, user, p0, fault)) return false;
  const unsigned first = 4096 - (linear & 0xFFF);
  uint64_t p1 = 0;
  if (size > first && !translate64(linear + first, acc, user, p1, fault)) return false;
  if (!watches_.empty() && acc != Access::Exec) note_watch(linear, size, acc);
  if (size <= first && p0 < k4G) {
    const uint32_t a = static_cast<uint32_t>(p0);
    if (const uint8_t* h = bus_.ram_ptr(a); h && bus_.ram_ptr(a + size - 1)) {
      uint64_t v = 0;
      std::memcpy(&v, h, size);
      value = v;
      return true;
    }
    if (size <= 4) {  // ROM or nothing: one access on the bus (and one log event), not one per byte
      value = bus_.read_phys(a, size);
      return true;
    }
  }
  uint64_t v = 0;
  for (unsigned i = 0; i < size; ++i) {
    const uint64_t p = i < first ? p0 + i : p1 + (i - first);
    v |= static_cast<uint64_t>(read_byte(p)) << (8 * i);
  }
  value = v;
  return true;
}

bool Mmu::write_slow(uint32_t linear, unsigned size, bool user, uint64_t value, PageFault& fault) {
  uint64_t p0;
  if (!translate64(linear, Access::Write, user, p0, fault)) return false;
  const unsigned first = 4096 - (linear & 0xFFF);
  uint64_t p1 = 0;
  if (size > first && !translate64(linear + first, Access::Write, user, p1, fault)) return false;
  if (!watches_.empty()) note_watch(linear, size, Access::Write);
  if (size <= first) {
    const uint32_t a = static_cast<uint32_t>(p0);
    if (uint8_t* h = p0 < k4G ? bus_.ram_ptr(a) : nullptr; h && bus_.ram_ptr(a + size - 1)) {
      std::memcpy(h, &value, size);
    } else if (p0 < k4G && size <= 4) {
      bus_.write_phys(a, size, static_cast<uint32_t>(value));
    } else {
      for (unsigned i = 0; i < size; ++i) write_byte(p0 + i, static_cast<uint8_t>(value >> (8 * i)));
    }
    note_write(p0, size);
    return true;
  }
  for (unsigned i = 0; i < size; ++i) {
    const uint64_t p = i < first ? p0 + i : p1 + (i - first);
    write_byte(p, static_cast<uint8_t>(value >> (8 * i)));
  }
  note_write(p0, first);
  note_write(p1, size - first);
  return true;
}

// ------------------------------------------------------------------ debugging

void Mmu::set_watches(std::vector<Watch> w) {
  if (w.size() > 32) w.resize(32);
  watches_ = std::move(w);
  watch_hits = 0;
  // Entries of newly watched pages must leave the TLB; dropping every cached translation
  // does it and is invisible to the guest (the walks it causes set no A/D bit that the
  // walks behind the cached entries did not set already).
  flush_all(FlushCause::Other);
}

bool Mmu::watched_page(uint32_t linear_page) const {
  for (const Watch& w : watches_) {
    const uint64_t first = w.linear & 0xFFFFF000u;
    const uint64_t last = (static_cast<uint64_t>(w.linear) + w.len - 1) & ~0xFFFull;
    if (linear_page >= first && linear_page <= last) return true;
  }
  return false;
}

void Mmu::note_watch(uint32_t linear, unsigned size, Access acc) {
  const uint8_t kind = acc == Access::Write ? kWatchWrite : kWatchRead;
  for (size_t i = 0; i < watches_.size(); ++i) {
    const Watch& w = watches_[i];
    if (!(w.kind & kind)) continue;
    const uint64_t a0 = linear, a1 = static_cast<uint64_t>(linear) + size;
    const uint64_t w0 = w.linear, w1 = static_cast<uint64_t>(w.linear) + w.len;
    if (a0 < w1 && w0 < a1) watch_hits |= 1u << i;
  }
}

bool Mmu::peek_translate(uint32_t linear, uint32_t& phys) {
  if (!paging_) {
    phys = linear & bus_.a20_mask();
    return true;
  }
  uint32_t deps[2];
  unsigned ndeps = 0;
  uint64_t p;
  PageFault f;
  if (!walk(linear, Access::Read, false, p, f, deps, ndeps, true) || p >= k4G) return false;
  phys = static_cast<uint32_t>(p);
  return true;
}

bool Mmu::debug_write_phys(uint32_t phys, uint8_t value) {
  uint8_t* h = bus_.ram_ptr(phys);
  if (!h) return false;
  *h = value;
  note_write(phys, 1);
  return true;
}

// ------------------------------------------------------------------ write tracking

void Mmu::note_write(uint64_t phys, unsigned size) {
  if (phys >= k4G) return;
  bus_.mark_dirty(phys, size);
  const uint32_t first = static_cast<uint32_t>(phys >> 12);
  const uint32_t last = static_cast<uint32_t>((phys + size - 1) >> 12);
  for (uint32_t pg = first; pg <= last; ++pg) {
    if (pg >= tracked_.size() || !tracked_[pg]) continue;
    if (tracked_[pg] & kTrackPageTable) invalidate_page_table(pg);
    if ((tracked_[pg] & kTrackCode) && on_code_write) {
      const uint64_t lo = std::max<uint64_t>(phys, static_cast<uint64_t>(pg) << 12);
      const uint64_t hi = std::min<uint64_t>(phys + size, (static_cast<uint64_t>(pg) + 1) << 12);
      on_code_write(pg, static_cast<unsigned>(lo & 0xFFF), static_cast<unsigned>(hi - lo));
    }
  }
}

void Mmu::track(uint32_t phys_page, uint8_t what) {
  if (phys_page >= tracked_.size()) return;
  const bool was = tracked_[phys_page] != 0;
  tracked_[phys_page] |= what;
  if (!was) drop_write_entries(phys_page);
}

void Mmu::drop_write_entries(uint32_t phys_page) {
  if (phys_page >= write_refs_.size() || write_refs_[phys_page] == 0) return;
  const unsigned w0 = tlb_index(Access::Write, false), w1 = tlb_index(Access::Write, true);
  for (auto& c : contexts_) {
    for (unsigned k : {w0, w1}) {
      for (TlbEntry& e : c->tlb[k]) {
        if (e.tag != 1 && e.phys_page == phys_page) set_entry(e, TlbEntry{}, true);
      }
    }
  }
}

void Mmu::clear_dirty() {
  for (auto& c : contexts_) release_context(*c);  // (every write entry goes)
  bus_.clear_dirty();
}

void Mmu::invalidate_page_table(uint32_t phys_page) {
  ++generation;
  auto it = pt_deps_.find(phys_page);
  if (it != pt_deps_.end()) {
    for (const auto& [id, key] : it->second) {
      for (auto& c : contexts_) {
        if (c->id != id) continue;
        if (c->shadow.erase(key)) ++stats.inval_pt_write;
        const uint32_t lin_page = key >> 3;
        const unsigned kind = key & 7;
        TlbEntry& e = c->tlb[kind][lin_page & (kTlbSize - 1)];
        if (e.tag == (lin_page << 12)) {
          set_entry(e, TlbEntry{}, kind / 2 == static_cast<unsigned>(Access::Write));
        }
        break;
      }
    }
    pt_deps_.erase(it);
  }
  tracked_[phys_page] &= ~kTrackPageTable;
}

void Mmu::mark_code_page(uint32_t phys_page) { track(phys_page, kTrackCode); }

void Mmu::unmark_code_page(uint32_t phys_page) {
  if (phys_page < tracked_.size()) tracked_[phys_page] &= ~kTrackCode;
}

}  // namespace popek::mmu
