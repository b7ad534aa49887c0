// Segmentation: descriptor fetch, segment register loads with the protected-mode checks
// of SDM vol. 3 §5 (and the MOV/POP instruction pages), descriptor caches.
#include "cpu/cpu.h"

namespace popek::cpu {

Status Cpu::read_descriptor(uint16_t selector, Descriptor& d, uint8_t vector_on_limit) {
  uint32_t base, limit;
  if (selector & 4) {
    if (!s.ldtr.valid || (s.ldtr.selector & 0xFFFC) == 0) {
      return raise_err(vector_on_limit, selector & 0xFFFC);
    }
    base = s.ldtr.base;
    limit = s.ldtr.limit;
  } else {
    base = s.gdtr.base;
    limit = s.gdtr.limit;
  }
  const uint32_t idx = selector & 0xFFF8u;
  if (idx + 7 > limit) return raise_err(vector_on_limit, selector & 0xFFFC);
  TRY(read_sys(base + idx, 4, d.lo));
  TRY(read_sys(base + idx + 4, 4, d.hi));
  return Status::Ok;
}

Status Cpu::write_descriptor_hi(uint16_t selector, uint32_t hi) {
  const uint32_t base = (selector & 4) ? s.ldtr.base : s.gdtr.base;
  return write_sys(base + (selector & 0xFFF8u) + 4, 4, hi);
}

Status Cpu::mark_accessed(uint16_t selector, Descriptor& d) {
  if (d.hi & (1u << 8)) return Status::Ok;
  d.hi |= 1u << 8;
  return write_descriptor_hi(selector, d.hi);
}

void Cpu::load_cache(unsigned seg, uint16_t selector, const Descriptor& d) {
  s.seg[seg] = SegmentCache{selector, d.attr(), d.base(), d.limit(), 1};
}

void Cpu::load_seg_real(unsigned seg, uint16_t selector) {
  SegmentCache& c = s.seg[seg];
  c.selector = selector;
  c.base = static_cast<uint32_t>(selector) << 4;
  c.valid = 1;
  if (v86()) {
    c.limit = 0xFFFF;
    c.attr = attr::P | attr::S | attr::WRITABLE | attr::ACCESSED | (3 << attr::DPL_SHIFT);
  }
  // In real mode the limit and attributes are left as they were ("unreal mode").
}

void Cpu::load_cs(uint16_t selector, const Descriptor& d, unsigned cpl_new) {
  load_cache(CS, static_cast<uint16_t>((selector & 0xFFFC) | cpl_new), d);
  s.cpl = static_cast<uint8_t>(cpl_new);
}

Status Cpu::load_seg(unsigned seg, uint16_t selector) {
  if (!protected_mode() || v86()) {
    load_seg_real(seg, selector);
    return Status::Ok;
  }
  const uint16_t err = selector & 0xFFFC;
  const unsigned rpl = selector & 3;
  if (seg == SS) {
    if (err == 0) return gp(0);
    if (rpl != s.cpl) return gp(err);
    Descriptor d;
    TRY(read_descriptor(selector, d));
    if (!d.is_data() || !(d.type() & attr::WRITABLE) || d.dpl() != s.cpl) return gp(err);
    if (!d.present()) return ss_fault(err);
    TRY(mark_accessed(selector, d));
    load_cache(SS, selector, d);
    return Status::Ok;
  }
  if (err == 0) {
    // A null selector loads; any later use faults.
    s.seg[seg] = SegmentCache{selector, 0, 0, 0, 0};
    return Status::Ok;
  }
  Descriptor d;
  TRY(read_descriptor(selector, d));
  const bool readable_code = d.is_code() && (d.type() & attr::READABLE);
  if (!d.is_data() && !readable_code) return gp(err);
  const bool conforming_code = d.is_code() && (d.type() & attr::CONFORMING);
  if (!conforming_code && (rpl > d.dpl() || s.cpl > d.dpl())) return gp(err);
  if (!d.present()) return np(err);
  TRY(mark_accessed(selector, d));
  load_cache(seg, selector, d);
  return Status::Ok;
}

void Cpu::invalidate_segments_for_cpl() {
  for (unsigned seg : {ES, DS, FS, GS}) {
    SegmentCache& c = s.seg[seg];
    if (!c.valid) continue;
    const unsigned dpl = (c.attr & attr::DPL_MASK) >> attr::DPL_SHIFT;
    const bool conforming_code = (c.attr & attr::CODE) && (c.attr & attr::CONFORMING);
    if (!conforming_code && dpl < s.cpl) c = SegmentCache{0, 0, 0, 0, 0};
  }
}

Status Cpu::write_via(const SegmentCache& sc, uint32_t off, unsigned size, uint32_t v, bool user,
                      uint32_t ss_error) {
  uint32_t lin;
  if (!check_cache(sc, off, size, true, lin, protected_mode())) return ss_fault(ss_error);
  return write_linear(lin, size, v, user);
}

}  // namespace popek::cpu
