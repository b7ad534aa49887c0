// Decoded blocks cached by the physical address of their first byte and the decoding mode.
//
// A block is a run of instructions that ends at the first instruction whose table row
// ENDS_BLOCK, at a page boundary (an instruction may straddle it; it is then the last),
// or at kMaxBlockInsns. Pages holding cached blocks are write-tracked by the MMU; each such
// page keeps a bitmap of the bytes its blocks were decoded from. A write that touches
// none of them (data next to code) drops nothing; a write that does (self-modifying code,
// code loaded over old code) drops the blocks whose bytes it wrote, and the rest of the
// page's blocks stay.
#pragma once

#include <cstdint>
#include <array>
#include <memory>
#include <unordered_map>
#include <vector>

#include "cpu/decoder.h"
#include "cpu/insn.h"

namespace popek::cpu {

class Cpu;

struct Block {
  uint32_t phys = 0;       // physical address of the first byte
  uint32_t phys_page2 = 0; // second physical page when the last instruction straddles one
  bool two_pages = false;
  // Bytes of guest code, from `phys` on (into the next page if two_pages), as the
  // self-modifying-code check watches them: for an undecodable last instruction, every
  // byte the decoder looked at.
  uint16_t length = 0;
  CodeMode mode = CodeMode::Real16;
  // Set when the block starts with an instruction that cannot be fetched or decoded:
  // executing it raises this exception (vector, error code).
  bool bad = false;
  uint8_t bad_vector = 0;
  std::vector<Insn> insns;
  // Host code for the block, owned by the Cpu's BlockRunner (the JIT).
  void* host_code = nullptr;
  uint32_t runs = 0;  // executions before translation (the JIT's hotness counter)
};

class BlockCache {
 public:
  explicit BlockCache(Cpu& cpu);
  // The block at CS:EIP, decoding it if needed. nullptr means a fetch fault is pending.
  Block* get(uint32_t linear, uint32_t phys, CodeMode mode);
  // The cached block at `phys` in `mode`, or nullptr; never decodes.
  Block* find(uint32_t phys, CodeMode mode) {
    const uint64_t k = key(phys, mode);
    FrontEntry& fe = front_[front_index(phys)];
    if (fe.key == k) return fe.block;
    auto it = blocks_.find(k);
    if (it == blocks_.end()) return nullptr;
    fe.key = k;
    fe.block = it->second.get();
    return fe.block;
  }
  // Drop every block with bytes on the page.
  void invalidate_page(uint32_t phys_page);
  // A write of `length` bytes at `offset` in a page holding blocks: drops the blocks
  // decoded from any of those bytes.
  void write_to_code(uint32_t phys_page, unsigned offset, unsigned length);
  void flush();
  // Release every block's host code (the runner's), keeping the decoded blocks and the
  // write-tracking of their pages: what executes, and where blocks end, is unchanged.
  void drop_translations();
  // Blocks that were invalidated while executing are freed here, outside the loop.
  void collect_garbage() {
    if (!graveyard_.empty()) free_graveyard();
  }
  uint64_t invalidations = 0;
  uint64_t code_writes_missed = 0;  // writes to a page with blocks that hit none of their bytes
  // Changes whenever blocks may have been dropped (invalidation or flush): caches of
  // Block pointers outside this class compare it.
  uint64_t generation = 0;
  // Changes whenever host code was dropped while the blocks stayed (drop_translations):
  // caches of host code compare it with `generation`.
  uint64_t host_generation = 0;

 private:
  static size_t front_index(uint32_t phys) { return (phys ^ (phys >> 12)) & (kFrontSize - 1); }
  static uint64_t key(uint32_t phys, CodeMode mode) {
    return (static_cast<uint64_t>(phys) << 2) | static_cast<uint64_t>(mode);
  }
  std::unique_ptr<Block> decode(uint32_t linear, uint32_t phys, CodeMode mode);
  void free_graveyard();
  void clear_front() { front_.fill(FrontEntry{}); }

  Cpu& cpu_;
  Decoder decoder_;
  std::unordered_map<uint64_t, std::unique_ptr<Block>> blocks_;
  // The blocks with bytes on a page (keys; a key whose block is gone or was decoded again
  // elsewhere is dropped when the page is next written) and which of its bytes they use.
  struct CodePage {
    std::vector<uint64_t> keys;
    std::array<uint64_t, 64> bytes{};  // bit i: byte i of the page
  };
  // The bytes of `b` on page `phys_page`: [lo, hi); false when it has none there.
  static bool bytes_on_page(const Block& b, uint32_t phys_page, unsigned& lo, unsigned& hi);
  void add_to_page(uint32_t phys_page, uint64_t key, const Block& b);
  void retire(std::unordered_map<uint64_t, std::unique_ptr<Block>>::iterator it);
  std::unordered_map<uint32_t, CodePage> by_page_;
  std::vector<std::unique_ptr<Block>> graveyard_;
  // Direct-mapped front cache in front of the hash map.
  struct FrontEntry {
    uint64_t key = ~0ull;
    Block* block = nullptr;
  };
  static constexpr size_t kFrontSize = 4096;
  std::array<FrontEntry, kFrontSize> front_{};
};

}  // namespace popek::cpu
