// The softmmu: linear-to-physical translation and linear memory access for the CPU.
//
// Three layers, fastest first:
//  1. The software TLB: per address space, six direct-mapped arrays of kTlbSize entries,
//     one per (access kind, user/supervisor). An entry maps a linear page to the host
//     address of a RAM page (ROM and MMIO pages always take the slow path to the bus). The hit path is an index,
//     a compare and an add (host_for), small enough for generated code to inline.
//  2. Shadow page tables: per address space (keyed by CR3), every translation a page
//     walk produced, with the permission and A/D outcome already applied. A CR3 switch
//     back to a recently used address space finds its shadow warm (kMaxContexts kept).
//  3. The page walk of SDM vol. 3 §4.3 (32-bit, with PSE 4 MiB pages) and §4.4 (PAE,
//     with 2 MiB pages and the NX bit under EFER.NXE), setting A/D bits as the
//     processor does.
//
// Exactness: every page-table page a walk reads is write-tracked; a guest write to it
// drops exactly the translations derived from it, in every address space. Cached
// translations therefore never go stale, so MOV CR3 and INVLPG need not flush for
// correctness (the SDM allows a TLB to hold fewer entries than it could, never stale
// ones that the guest has not been allowed to see). Pages holding decoded code are
// write-tracked the same way (on_code_write). Writes to tracked pages always take the
// slow path: no write entry for them is ever in the TLB.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <unordered_map>
#include <vector>

#include "bus/bus.h"

namespace popek::mmu {

enum class Access : uint8_t { Read, Write, Exec };

// #PF error-code bits.
namespace pf {
constexpr uint32_t P = 1u << 0;
constexpr uint32_t W = 1u << 1;
constexpr uint32_t U = 1u << 2;
constexpr uint32_t RSVD = 1u << 3;
constexpr uint32_t ID = 1u << 4;
}  // namespace pf

struct PageFault {
  uint32_t linear;
  uint32_t error;
};

// Counters for --stats.
struct Stats {
  uint64_t tlb_hits = 0;
  uint64_t tlb_misses = 0;        // front-TLB misses
  uint64_t shadow_hits = 0;       // misses answered by the shadow page table
  uint64_t walks = 0;             // page walks
  uint64_t cr3_switches = 0;
  uint64_t shadow_reuses = 0;     // CR3 switches that found their address space cached
  uint64_t inval_pt_write = 0;    // translations dropped because a page-table page changed
  uint64_t inval_invlpg = 0;      // translations dropped by INVLPG
  uint64_t flush_mode = 0;        // full flushes: CR0/CR4/EFER change of paging meaning
  uint64_t flush_a20 = 0;         // full flushes: A20 gate toggled
  uint64_t flush_other = 0;       // full flushes: reset, loaders, explicit
  uint64_t contexts_evicted = 0;
};

constexpr unsigned kTlbSize = 256;
constexpr unsigned kMaxContexts = 64;

struct TlbEntry {
  uint32_t tag = 1;           // linear page address; 1 never matches (invalid)
  uint32_t phys_page = 0;     // physical page number
  // Host address of the linear page's bytes minus the linear page address, so that the
  // host address of `linear` is addend + linear (one add in generated code).
  uintptr_t addend = 0;
};

// Generated code hard-codes this layout (jit/native.cpp).
static_assert(sizeof(TlbEntry) == 16);
static_assert(offsetof(TlbEntry, tag) == 0);
static_assert(offsetof(TlbEntry, addend) == 8);

// Control-register state that gives translations their meaning.
struct Control {
  uint32_t cr0 = 0, cr3 = 0, cr4 = 0;
  uint64_t efer = 0;
};

class Mmu {
 public:
  explicit Mmu(bus::Bus& bus);
  ~Mmu();

  // Paging control, updated by the CPU on every write to CR0/CR3/CR4/EFER. With PAE
  // paging on, loads the four PDPTEs from CR3 as the processor does; returns false
  // (leaving the previous control in force) when a present PDPTE has reserved bits set,
  // which the CPU turns into #GP(0).
  bool set_control(uint32_t cr0, uint32_t cr3, uint32_t cr4, uint64_t efer = 0);
  const Control& control() const { return ctl_; }

  // The inline hit path: the host address for `linear`, or nullptr on a TLB miss.
  uint8_t* host_for(uint32_t linear, Access acc, bool user) {
    const TlbEntry& e = tlb_[tlb_index(acc, user)][(linear >> 12) & (kTlbSize - 1)];
    if (e.tag == (linear & 0xFFFFF000u)) {
      ++stats.tlb_hits;
      return reinterpret_cast<uint8_t*>(e.addend + linear);
    }
    return nullptr;
  }

  // Translate one linear address (and fill the TLB). `user` is CPL 3 for ordinary
  // accesses and false for the implicit supervisor accesses (descriptor tables, TSS).
  bool translate(uint32_t linear, Access acc, bool user, uint32_t& phys, PageFault& fault);

  // Linear accesses of 1, 2, 4 or 8 bytes, possibly crossing a page boundary. Either the
  // whole access happens or nothing does and `fault` says why.
  bool read(uint32_t linear, unsigned size, Access acc, bool user, uint64_t& value,
            PageFault& fault) {
    if ((linear & 0xFFF) <= 4096 - size) {
      if (const uint8_t* h = host_for(linear, acc, user)) {
        uint64_t v = 0;
        __builtin_memcpy(&v, h, size);
        value = v;
        return true;
      }
    }
    return read_slow(linear, size, acc, user, value, fault);
  }
  bool write(uint32_t linear, unsigned size, bool user, uint64_t value, PageFault& fault) {
    if ((linear & 0xFFF) <= 4096 - size) {
      if (uint8_t* h = host_for(linear, Access::Write, user)) {
        __builtin_memcpy(h, &value, size);
        return true;
      }
    }
    return write_slow(linear, size, user, value, fault);
  }

  // INVLPG: drop the translations of one linear page in the current address space.
  void invlpg(uint32_t linear);
  // Drop every cached translation of every address space.
  enum class FlushCause : uint8_t { Mode, A20, Other };
  void flush_all(FlushCause cause);

  // Code-page write tracking: a write to a page marked here calls on_code_write with the
  // page and the written bytes' offset and length in it (once per page written).
  void mark_code_page(uint32_t phys_page);
  void unmark_code_page(uint32_t phys_page);
  bool is_code_page(uint32_t phys_page) const {
    return phys_page < tracked_.size() && (tracked_[phys_page] & kTrackCode);
  }
  std::function<void(uint32_t phys_page, unsigned offset, unsigned length)> on_code_write;

  // Start a new set of dirty pages (bus/bus.h): drop every write entry of every address
  // space's TLB, so that the next write to a page through generated code or the fast path
  // refills one and marks the page, then clear the marks. The translations stay.
  void clear_dirty();

  // --- Watchpoints (the gdb stub's Z2-Z4, the guest's data breakpoints in DR7): data
  // reads and writes that overlap a watched linear range set the range's bit in
  // `watch_hits`. Pages holding a watched range never enter the TLB for reads or writes, so
  // every data access to them takes the slow path (generated code included). Instruction
  // fetches are not data accesses.
  enum WatchKind : uint8_t { kWatchWrite = 1, kWatchRead = 2, kWatchAccess = 3 };
  struct Watch {
    uint32_t linear = 0;
    uint32_t len = 1;
    uint8_t kind = kWatchWrite;
  };
  // Replace the watched ranges (at most 32); clears watch_hits.
  void set_watches(std::vector<Watch> w);
  const std::vector<Watch>& watches() const { return watches_; }
  // Bit i: watches()[i] was hit since the owner last cleared it.
  uint32_t watch_hits = 0;

  // --- Debugger access, without side effects on the guest: no accessed/dirty bits set,
  // no TLB filled, no fault raised, no permission check (the debugger sees what any
  // privilege could map). peek_translate is false when `linear` is not mapped.
  bool peek_translate(uint32_t linear, uint32_t& phys);
  // A debugger's write of one byte of physical memory: RAM changes as a guest store would
  // change it (decoded code and page-table shadows built from it are dropped); ROM and
  // unassigned addresses are left alone (false).
  bool debug_write_phys(uint32_t phys, uint8_t value);

  bus::Bus& bus() { return bus_; }
  Stats stats;
  // Changes whenever translations may have been dropped or replaced (address-space
  // switch, flush, INVLPG, page-table write): code that ran on cached translations
  // compares it to know they still hold.
  uint64_t generation = 0;

  // Where the current address space's TLB arrays are found: generated code loads the
  // pointer through this slot at each lookup, so a CR3 switch needs no code change. The
  // arrays are indexed [access kind * 2 + user][page & (kTlbSize - 1)].
  TlbEntry (*const* tlb_slot() const)[kTlbSize] { return &tlb_; }

 private:
  struct Context;
  static constexpr uint8_t kTrackCode = 1, kTrackPageTable = 2;
  static unsigned tlb_index(Access acc, bool user) {
    return static_cast<unsigned>(acc) * 2 + (user ? 1 : 0);
  }
  // Shadow-table key: linear page number with access kind and privilege.
  static uint32_t shadow_key(uint32_t linear, Access acc, bool user) {
    return ((linear >> 12) << 3) | (tlb_index(acc, user));
  }

  bool read_slow(uint32_t linear, unsigned size, Access acc, bool user, uint64_t& value,
                 PageFault& fault);
  bool write_slow(uint32_t linear, unsigned size, bool user, uint64_t value, PageFault& fault);
  // Physical address (up to 36 bits with PAE) of a linear address, through the shadow
  // table or a walk; fills the front TLB.
  bool translate64(uint32_t linear, Access acc, bool user, uint64_t& phys, PageFault& fault);
  // `peek`: a debugger's walk (no permission checks, no A/D bits written).
  bool walk(uint32_t linear, Access acc, bool user, uint64_t& phys, PageFault& fault,
            uint32_t deps[2], unsigned& ndeps, bool peek = false);
  bool walk_legacy(uint32_t linear, Access acc, bool user, uint64_t& phys, PageFault& fault,
                   uint32_t deps[2], unsigned& ndeps, bool peek);
  bool walk_pae(uint32_t linear, Access acc, bool user, uint64_t& phys, PageFault& fault,
                uint32_t deps[2], unsigned& ndeps, bool peek);
  bool watched_page(uint32_t linear_page) const;
  void note_watch(uint32_t linear, unsigned size, Access acc);
  void fill_tlb(uint32_t linear, Access acc, bool user, uint64_t phys);
  uint8_t read_byte(uint64_t phys);
  void write_byte(uint64_t phys, uint8_t v);
  void note_write(uint64_t phys, unsigned size);
  void track(uint32_t phys_page, uint8_t what);
  void drop_write_entries(uint32_t phys_page);
  // Every change to a TLB entry goes through here, so that write_refs_ stays exact.
  void set_entry(TlbEntry& e, const TlbEntry& v, bool write_kind);
  void release_context(Context& c);
  void invalidate_page_table(uint32_t phys_page);
  void switch_context();

  bus::Bus& bus_;
  Control ctl_;
  bool paging_ = false;
  bool pae_ = false;
  uint64_t pdpte_[4] = {};
  std::vector<uint8_t> tracked_;  // per RAM page: kTrackCode | kTrackPageTable
  // Per RAM page: how many write entries of any context's TLB point at it, so that
  // tracking a page only scans the TLBs when one does.
  std::vector<uint32_t> write_refs_;
  // Shadow-table entries derived from each page-table page: (context id, shadow key).
  std::unordered_map<uint32_t, std::vector<std::pair<uint32_t, uint32_t>>> pt_deps_;
  std::vector<std::unique_ptr<Context>> contexts_;
  Context* current_ = nullptr;
  TlbEntry (*tlb_)[kTlbSize] = nullptr;  // the current context's TLB arrays
  uint32_t next_context_id_ = 1;
  uint64_t clock_ = 0;
  std::vector<Watch> watches_;
};

}  // namespace popek::mmu
