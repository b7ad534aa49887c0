// Linear-to-physical translation and linear memory access for the CPU.
//
// Every guest memory access the CPU makes after segmentation goes through here, so the
// paging unit, its TLB and the write tracking of code pages live in one place. Paging is
// the classic 32-bit two-level walk with 4 KiB and (CR4.PSE) 4 MiB pages; PAE, the
// software TLB and shadow page tables are the softmmu issue's work.
#pragma once

#include <cstdint>
#include <functional>
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
}  // namespace pf

struct PageFault {
  uint32_t linear;
  uint32_t error;
};

class Mmu {
 public:
  explicit Mmu(bus::Bus& bus);

  // Paging control, updated by the CPU on every write to CR0/CR3/CR4.
  void set_control(uint32_t cr0, uint32_t cr3, uint32_t cr4);

  // Translate one linear address. `user` is CPL 3 for ordinary accesses and false for
  // the implicit supervisor accesses (descriptor tables, TSS, IDT).
  bool translate(uint32_t linear, Access acc, bool user, uint32_t& phys, PageFault& fault);

  // Linear accesses of 1, 2, 4 or 8 bytes, possibly crossing a page boundary. Either the
  // whole access happens or nothing does and `fault` says why.
  bool read(uint32_t linear, unsigned size, Access acc, bool user, uint64_t& value,
            PageFault& fault);
  bool write(uint32_t linear, unsigned size, bool user, uint64_t value, PageFault& fault);

  // Code-page write tracking: pages marked here call on_code_write(page) when written.
  void mark_code_page(uint32_t phys_page);
  void unmark_code_page(uint32_t phys_page);
  bool is_code_page(uint32_t phys_page) const {
    return phys_page < code_pages_.size() && code_pages_[phys_page];
  }
  std::function<void(uint32_t phys_page)> on_code_write;

  bus::Bus& bus() { return bus_; }

 private:
  bool walk(uint32_t linear, Access acc, bool user, uint32_t& phys, PageFault& fault);
  void note_write(uint32_t phys, unsigned size);

  bus::Bus& bus_;
  bool paging_ = false;
  bool wp_ = false;
  bool pse_ = false;
  uint32_t cr3_ = 0;
  std::vector<uint8_t> code_pages_;
};

}  // namespace popek::mmu
