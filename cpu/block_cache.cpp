#include "cpu/block_cache.h"

#include <algorithm>
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
  FrontEntry& fe = front_[front_index(phys)];
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
    add_to_page(phys >> 12, k, *b);
    if (b->two_pages) add_to_page(b->phys_page2, k, *b);
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
    unsigned examined = first;  // bytes the decoder may have looked at
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
      examined = 15;
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
    // An instruction that cannot be decoded was judged on every byte the decoder saw: a
    // write to any of them must drop the block (the bytes may now decode).
    b->length = static_cast<uint16_t>(b->length + (in.bad ? std::max<unsigned>(in.len, examined) : in.len));
    if (ends || b->two_pages) break;
    lin += in.len;
    ph += in.len;
    if (ph >= page_end) break;
  }
  return b;
}

bool BlockCache::bytes_on_page(const Block& b, uint32_t phys_page, unsigned& lo, unsigned& hi) {
  const unsigned len = b.length ? b.length : 1;
  const unsigned first = b.phys & 0xFFF;
  const unsigned in_first = std::min(len, 4096 - first);
  if (b.phys >> 12 == phys_page) {
    lo = first;
    hi = first + in_first;
    return true;
  }
  if (b.two_pages && b.phys_page2 == phys_page && len > in_first) {
    lo = 0;
    hi = len - in_first;
    return true;
  }
  return false;
}

// Bits [lo, hi) of a page's byte bitmap, a 64-bit word at a time.
template <typename Fn>
static void for_words(unsigned lo, unsigned hi, Fn&& fn) {
  while (lo < hi) {
    const unsigned w = lo >> 6, from = lo & 63;
    const unsigned to = std::min(hi - (lo & ~63u), 64u);  // bit after the last, in this word
    const uint64_t mask = (to == 64 ? ~0ull : (1ull << to) - 1) & ~((1ull << from) - 1);
    if (fn(w, mask)) return;
    lo = (lo & ~63u) + 64;
  }
}

static void set_bits(std::array<uint64_t, 64>& bits, unsigned lo, unsigned hi) {
  for_words(lo, hi, [&](unsigned w, uint64_t mask) {
    bits[w] |= mask;
    return false;
  });
}

static bool any_bit(const std::array<uint64_t, 64>& bits, unsigned lo, unsigned hi) {
  bool any = false;
  for_words(lo, hi, [&](unsigned w, uint64_t mask) { return any = (bits[w] & mask) != 0; });
  return any;
}

void BlockCache::add_to_page(uint32_t phys_page, uint64_t key, const Block& b) {
  CodePage& cp = by_page_[phys_page];
  if (cp.keys.empty()) cpu_.mmu().mark_code_page(phys_page);
  // The key may be there already: its old block was dropped through its other page.
  if (std::find(cp.keys.begin(), cp.keys.end(), key) == cp.keys.end()) cp.keys.push_back(key);
  unsigned lo, hi;
  if (bytes_on_page(b, phys_page, lo, hi)) set_bits(cp.bytes, lo, hi);
}

// Move a block to the graveyard (it may be executing: it is freed outside the run loop).
void BlockCache::retire(std::unordered_map<uint64_t, std::unique_ptr<Block>>::iterator it) {
  FrontEntry& fe = front_[front_index(it->second->phys)];
  if (fe.block == it->second.get()) fe = FrontEntry{};
  graveyard_.push_back(std::move(it->second));
  blocks_.erase(it);
  ++invalidations;
}

void BlockCache::invalidate_page(uint32_t phys_page) {
  ++generation;
  auto it = by_page_.find(phys_page);
  if (it != by_page_.end()) {
    for (uint64_t k : it->second.keys) {
      auto bi = blocks_.find(k);
      if (bi != blocks_.end()) retire(bi);
    }
    by_page_.erase(it);
  }
  cpu_.mmu().unmark_code_page(phys_page);
  cpu_.smc_hit_ = true;
}

void BlockCache::write_to_code(uint32_t phys_page, unsigned offset, unsigned length) {
  auto it = by_page_.find(phys_page);
  if (it == by_page_.end()) {
    cpu_.mmu().unmark_code_page(phys_page);
    return;
  }
  CodePage& cp = it->second;
  const unsigned end = std::min(offset + length, 4096u);
  if (!any_bit(cp.bytes, offset, end)) {
    ++code_writes_missed;
    return;
  }
  // Drop the blocks decoded from the written bytes; keep the others, and rebuild the
  // bitmap from them (a block dropped through its other page leaves its key behind).
  bool dropped = false;
  std::vector<uint64_t> keep;
  keep.reserve(cp.keys.size());
  cp.bytes.fill(0);
  for (uint64_t k : cp.keys) {
    auto bi = blocks_.find(k);
    if (bi == blocks_.end()) continue;
    unsigned lo, hi;
    if (!bytes_on_page(*bi->second, phys_page, lo, hi)) continue;
    if (lo < end && offset < hi) {
      retire(bi);
      dropped = true;
      continue;
    }
    keep.push_back(k);
    set_bits(cp.bytes, lo, hi);
  }
  if (keep.empty()) {
    by_page_.erase(it);
    cpu_.mmu().unmark_code_page(phys_page);
  } else {
    cp.keys = std::move(keep);
  }
  if (dropped) {
    ++generation;
    cpu_.smc_hit_ = true;
  }
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
  ++host_generation;
  if (!cpu_.runner) return;
  for (auto& [k, b] : blocks_) {
    if (b->host_code) cpu_.runner->release(*b);
    b->runs = 0;
  }
}

void BlockCache::flush() {
  ++generation;
  for (auto& [k, b] : blocks_) graveyard_.push_back(std::move(b));
  for (auto& [pg, cp] : by_page_) cpu_.mmu().unmark_code_page(pg);
  blocks_.clear();
  by_page_.clear();
  clear_front();
  cpu_.smc_hit_ = true;
}

}  // namespace popek::cpu
