#include "cpu/block_cache.h"

#include <cstring>

#include "cpu/cpu.h"
#include "cpu/insn_table.h"

namespace popek::cpu {

namespace {
constexpr unsigned kMaxBlockInsns = 64;
}

BlockCache::BlockCache(Cpu& cpu) : cpu_(cpu) {}

Block* BlockCache::get(uint32_t linear, uint32_t phys, CodeMode mode) {
  const uint64_t k = key(phys, mode);
  FrontEntry& fe = front_[(phys ^ (phys >> 12)) & (kFrontSize - 1)];
  if (fe.key == k) return fe.block;
  auto it = blocks_.find(k);
  Block* b;
  if (it != blocks_.end()) {
    b = it->second.get();
  } else {
    std::unique_ptr<Block> nb = decode(linear, phys, mode);
    if (!nb) return nullptr;
    b = nb.get();
    ++cpu_.blocks_decoded;
    cpu_.mmu().mark_code_page(phys >> 12);
    by_page_[phys >> 12].push_back(k);
    if (b->two_pages) {
      cpu_.mmu().mark_code_page(b->phys_page2);
      by_page_[b->phys_page2].push_back(k);
    }
    blocks_.emplace(k, std::move(nb));
  }
  fe.key = k;
  fe.block = b;
  return b;
}

// Copy up to `n` instruction bytes at physical address `phys` (RAM or ROM).
static void fetch_phys(bus::Bus& bus, uint32_t phys, uint8_t* out, unsigned n) {
  if (const uint8_t* p = bus.ram_ptr(phys); p && bus.ram_ptr(phys + n - 1)) {
    std::memcpy(out, p, n);
    return;
  }
  for (unsigned i = 0; i < n; ++i) out[i] = static_cast<uint8_t>(bus.read_phys(phys + i, 1));
}

std::unique_ptr<Block> BlockCache::decode(uint32_t linear, uint32_t phys, CodeMode mode) {
  auto b = std::make_unique<Block>();
  b->phys = phys;
  b->mode = mode;
  const uint32_t page_end = (phys | 0xFFF) + 1;
  uint32_t lin = linear, ph = phys;
  bus::Bus& bus = cpu_.bus();
  while (b->insns.size() < kMaxBlockInsns) {
    uint8_t buf[32] = {};
    const unsigned avail = page_end - ph;
    const unsigned first = avail < 15 ? avail : 15;
    fetch_phys(bus, ph, buf, first);
    Insn in;
    DecodeResult r = decoder_.decode(buf, first, mode, in);
    if (r == DecodeResult::NeedMore) {
      // The instruction straddles the page: fetch the rest from the next page.
      uint32_t ph2;
      mmu::PageFault f;
      if (!cpu_.mmu().translate(lin + avail, mmu::Access::Exec, cpu_.s.cpl == 3, ph2, f)) {
        if (!b->insns.empty()) break;  // the next block starts here and faults then
        cpu_.s.cr[2] = f.linear;
        cpu_.raise_err(vec::PF, f.error);
        return nullptr;
      }
      fetch_phys(bus, ph2, buf + first, 15 - first);
      r = decoder_.decode(buf, 15, mode, in);
      b->two_pages = true;
      b->phys_page2 = ph2 >> 12;
    }
    if (r == DecodeResult::Invalid) in.bad = vec::UD;
    if (r == DecodeResult::TooLong) {
      in.bad = vec::GP;
      in.len = 15;
      std::memcpy(in.bytes, buf, 15);
    }
    const bool ends = in.bad || !in.fn || (kInsnTable[in.row].attrs & iattr::ENDS_BLOCK);
    b->insns.push_back(in);
    if (ends || b->two_pages) break;
    lin += in.len;
    ph += in.len;
    if (ph >= page_end) break;
  }
  return b;
}

void BlockCache::invalidate_page(uint32_t phys_page) {
  ++generation;
  auto it = by_page_.find(phys_page);
  if (it != by_page_.end()) {
    for (uint64_t k : it->second) {
      auto bi = blocks_.find(k);
      if (bi == blocks_.end()) continue;
      graveyard_.push_back(std::move(bi->second));
      blocks_.erase(bi);
      ++invalidations;
    }
    by_page_.erase(it);
  }
  cpu_.mmu().unmark_code_page(phys_page);
  clear_front();
  cpu_.smc_hit_ = true;
}

void BlockCache::free_graveyard() {
  if (cpu_.runner) {
    for (auto& b : graveyard_) {
      if (b->host_code) cpu_.runner->release(*b);
    }
  }
  graveyard_.clear();
}

void BlockCache::drop_translations() {
  ++generation;
  if (!cpu_.runner) return;
  for (auto& [k, b] : blocks_) {
    if (b->host_code) cpu_.runner->release(*b);
    b->runs = 0;
  }
}

void BlockCache::flush() {
  ++generation;
  for (auto& [k, b] : blocks_) graveyard_.push_back(std::move(b));
  for (auto& [pg, keys] : by_page_) cpu_.mmu().unmark_code_page(pg);
  blocks_.clear();
  by_page_.clear();
  clear_front();
  cpu_.smc_hit_ = true;
}

}  // namespace popek::cpu
