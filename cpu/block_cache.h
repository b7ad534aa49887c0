// Decoded blocks cached by the physical address of their first byte and the decoding mode.
//
// A block is a run of instructions that ends at the first instruction whose table row
// ENDS_BLOCK, at a page boundary (an instruction may straddle it; it is then the last),
// or at kMaxBlockInsns. Pages holding cached blocks are write-tracked by the MMU: a write
// drops every block of the page (self-modifying code, code loaded over old code).
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
    FrontEntry& fe = front_[(phys ^ (phys >> 12)) & (kFrontSize - 1)];
    if (fe.key == k) return fe.block;
    auto it = blocks_.find(k);
    if (it == blocks_.end()) return nullptr;
    fe.key = k;
    fe.block = it->second.get();
    return fe.block;
  }
  void invalidate_page(uint32_t phys_page);
  void flush();
  // Release every block's host code (the runner's), keeping the decoded blocks and the
  // write-tracking of their pages: what executes, and where blocks end, is unchanged.
  void drop_translations();
  // Blocks that were invalidated while executing are freed here, outside the loop.
  void collect_garbage() {
    if (!graveyard_.empty()) free_graveyard();
  }
  uint64_t invalidations = 0;
  // Changes whenever blocks may have been dropped (invalidation or flush): caches of
  // Block pointers outside this class compare it.
  uint64_t generation = 0;

 private:
  static uint64_t key(uint32_t phys, CodeMode mode) {
    return (static_cast<uint64_t>(phys) << 2) | static_cast<uint64_t>(mode);
  }
  std::unique_ptr<Block> decode(uint32_t linear, uint32_t phys, CodeMode mode);
  void free_graveyard();
  void clear_front() { front_.fill(FrontEntry{}); }

  Cpu& cpu_;
  Decoder decoder_;
  std::unordered_map<uint64_t, std::unique_ptr<Block>> blocks_;
  std::unordered_map<uint32_t, std::vector<uint64_t>> by_page_;
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
