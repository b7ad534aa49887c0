// A reference model of IA-32 linear-address translation, written from the SDM vol. 3
// (§4.1.4 MAXPHYADDR, §4.3 32-bit paging, §4.4 PAE paging, §4.6 access rights, §4.7
// page-fault error codes) and not from popek's page walk, for tests that compare the two
// over every combination of paging bits.
//
// A Case names a translation by its paging-structure bits (present, U/S, R/W, XD, G, one
// extra bit in the leaf), not by raw entries; the test builds the entries. Which extra
// bits are reserved follows from what CPUID shows the guest (PAT, PSE-36, MAXPHYADDR), as
// the SDM's entry-format tables (4-4 to 4-11) say. SMEP, SMAP and protection keys are
// not advertised, so they play no part here.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>

#include "cpu/cpuid.h"
#include "mmu/mmu.h"

namespace popek::mmu::model {

// #PF error-code bits (SDM vol. 3 §4.7), spelled here rather than taken from mmu.h.
constexpr uint32_t kErrP = 1u << 0, kErrW = 1u << 1, kErrU = 1u << 2, kErrRsvd = 1u << 3,
                   kErrId = 1u << 4;

enum class Mode : uint8_t { Legacy4K, Legacy4M, Pae4K, Pae2M };

inline const char* mode_name(Mode m) {
  switch (m) {
    case Mode::Legacy4K: return "32-bit paging, 4 KiB page";
    case Mode::Legacy4M: return "32-bit paging, 4 MiB page";
    case Mode::Pae4K: return "PAE paging, 4 KiB page";
    case Mode::Pae2M: return "PAE paging, 2 MiB page";
  }
  return "?";
}

inline bool is_pae(Mode m) { return m == Mode::Pae4K || m == Mode::Pae2M; }
inline bool has_pte(Mode m) { return m == Mode::Legacy4K || m == Mode::Pae4K; }
inline uint64_t page_size(Mode m) {
  switch (m) {
    case Mode::Legacy4M: return 4ull << 20;
    case Mode::Pae2M: return 2ull << 20;
    default: return 4096;
  }
}

// Paging-structure levels, outermost first. The PDPTE exists only with PAE, the PTE only
// with 4 KiB pages; U/S, R/W and XD are bits of the PDE and the PTE.
enum Level : unsigned { kPdpte = 0, kPde = 1, kPte = 2, kLevels = 3 };

inline const char* level_name(unsigned l) {
  return l == kPdpte ? "PDPTE" : l == kPde ? "PDE" : l == kPte ? "PTE" : "rights";
}
inline unsigned leaf_level(Mode m) { return has_pte(m) ? kPte : kPde; }
inline bool level_exists(Mode m, unsigned l) {
  return l == kPde || (l == kPdpte && is_pae(m)) || (l == kPte && has_pte(m));
}

struct Case {
  Mode mode = Mode::Legacy4K;
  bool pse = false, pge = false, wp = false, nxe = false;  // CR4.PSE, CR4.PGE, CR0.WP, EFER.NXE
  bool global = false;                                     // G in the leaf entry
  bool present[kLevels] = {true, true, true};
  bool user[kLevels] = {}, writable[kLevels] = {}, xd[kLevels] = {};  // PDE and PTE only
  int extra_bit = -1;  // one more bit set in the leaf entry (other than the above), or -1
  uint64_t frame = 0;  // physical base of the page, aligned to its size
};

// What the guest is told by CPUID, which decides the entry formats.
struct CpuFacts {
  bool pat = false;
  bool pse36 = false;
  unsigned maxphyaddr = 32;
};

inline CpuFacts advertised() {
  const cpu::CpuidResult l1 = cpu::cpuid(1, 0);
  const cpu::CpuidResult ext = cpu::cpuid(0x80000000u, 0);
  CpuFacts f;
  f.pat = l1.edx & (1u << 16);
  f.pse36 = l1.edx & (1u << 17);
  // §4.1.4: CPUID.80000008H:EAX[7:0] when that leaf exists; otherwise 36 with PAE, else 32.
  if (ext.eax >= 0x80000008u) {
    f.maxphyaddr = cpu::cpuid(0x80000008u, 0).eax & 0xFF;
  } else {
    f.maxphyaddr = (l1.edx & (1u << 6)) ? 36 : 32;
  }
  return f;
}

// What an extra bit of the leaf entry is: reserved (a #PF with RSVD when the entry is
// present), part of the page's physical address (`address`, the value it adds), or
// ignored. Bits P, R/W, U/S, PWT, PCD, A, D, PS, G and XD are not asked about.
struct BitMeaning {
  bool reserved = false;
  uint64_t address = 0;
};

inline BitMeaning leaf_bit(Mode m, unsigned bit, const CpuFacts& f) {
  BitMeaning r;
  const unsigned M = f.maxphyaddr;
  switch (m) {
    case Mode::Legacy4K:  // Table 4-6: 7 PAT (else reserved), 11:9 ignored, 31:12 address
      if (bit == 7) r.reserved = !f.pat;
      else if (bit >= 12) r.address = 1ull << bit;
      break;
    case Mode::Legacy4M: {  // Table 4-4: 12 PAT (else reserved); with PSE-36, bits (M-20):13
                            // hold address bits (M-1):32 and 21:(M-19) are reserved;
                            // without it 21:13 are reserved; 31:22 address
      const unsigned m32 = f.pse36 ? (M < 40 ? M : 40) : 32;
      if (bit == 12) r.reserved = !f.pat;
      else if (bit >= 13 && bit <= 21) {
        if (bit + 19 < m32) r.address = 1ull << (bit + 19);
        else r.reserved = true;
      } else if (bit >= 22) r.address = 1ull << bit;
      break;
    }
    case Mode::Pae4K:  // Table 4-11: 7 PAT (else reserved), 11:9 ignored, (M-1):12 address,
                       // 62:M reserved
      if (bit == 7) r.reserved = !f.pat;
      else if (bit >= 12 && bit < M) r.address = 1ull << bit;
      else if (bit >= M && bit <= 62) r.reserved = true;
      break;
    case Mode::Pae2M:  // Table 4-9: 12 PAT (else reserved), 20:13 reserved, (M-1):21
                       // address, 62:M reserved
      if (bit == 12) r.reserved = !f.pat;
      else if (bit >= 13 && bit <= 20) r.reserved = true;
      else if (bit >= 21 && bit < M) r.address = 1ull << bit;
      else if (bit >= M && bit <= 62) r.reserved = true;
      break;
  }
  return r;
}

// Table 4-8: a present PDPTE has bits 2:1, 8:5 and 63:M reserved.
inline bool pdpte_bit_reserved(unsigned bit, const CpuFacts& f) {
  return bit == 1 || bit == 2 || (bit >= 5 && bit <= 8) || bit >= f.maxphyaddr;
}

struct Outcome {
  bool ok = false;
  uint64_t phys = 0;   // on success
  uint32_t error = 0;  // on a fault
  // On a fault, the level whose entry stopped the walk (not present or reserved bit), or
  // kLevels when the walk completed and the access rights refused the access.
  unsigned stop = kLevels;
  bool rsvd_stop = false;
};

inline Outcome translate(const Case& c, uint32_t linear, Access acc, bool user, const CpuFacts& f) {
  const bool pae = is_pae(c.mode);
  const bool write = acc == Access::Write, fetch = acc == Access::Exec;
  // §4.7: W/R and U/S describe the access; I/D is set on any fetch fault when PAE paging
  // and EFER.NXE are both on (SMEP is not advertised).
  const uint32_t access_bits =
      (write ? kErrW : 0) | (user ? kErrU : 0) | (fetch && pae && c.nxe ? kErrId : 0);
  Outcome o;
  auto fault = [&](unsigned level, uint32_t bits) {
    o.ok = false;
    o.stop = level;
    o.rsvd_stop = bits & kErrRsvd;
    o.error = bits | access_bits;
    return o;
  };
  const unsigned leaf = leaf_level(c.mode);
  const BitMeaning extra =
      c.extra_bit >= 0 ? leaf_bit(c.mode, static_cast<unsigned>(c.extra_bit), f) : BitMeaning{};
  // §4.3 / §4.4.2: the walk goes outermost first; a clear P stops it with no other bit
  // looked at; a set P with a reserved bit stops it with RSVD. Without EFER.NXE, bit 63
  // of a PAE PDE or PTE is reserved.
  for (unsigned l = 0; l <= leaf; ++l) {
    if (!level_exists(c.mode, l)) continue;
    if (!c.present[l]) return fault(l, 0);
    bool reserved = l != kPdpte && pae && !c.nxe && c.xd[l];
    if (l == leaf && extra.reserved) reserved = true;
    if (reserved) return fault(l, kErrP | kErrRsvd);
  }
  // §4.6: a user-mode address has U/S = 1 at every level; writable means R/W = 1 at every
  // level; with NXE, XD = 1 at any level disables fetches.
  bool user_address = true, writable = true, exec_disabled = false;
  for (unsigned l = kPde; l <= leaf; ++l) {
    user_address = user_address && c.user[l];
    writable = writable && c.writable[l];
    exec_disabled = exec_disabled || (pae && c.nxe && c.xd[l]);
  }
  bool allowed;
  if (user) {
    // CPL 3: only user-mode addresses; writes need R/W (CR0.WP does not matter);
    // fetches need XD clear when NXE is on.
    allowed = user_address && (!write || writable) && (!fetch || !exec_disabled);
  } else {
    // CPL 0 without SMEP/SMAP: reads from any address; writes anywhere when CR0.WP = 0,
    // only where writable when CR0.WP = 1; fetches wherever XD allows.
    allowed = (!write || !c.wp || writable) && (!fetch || !exec_disabled);
  }
  if (!allowed) return fault(kLevels, kErrP);
  o.ok = true;
  o.phys = c.frame + extra.address + (linear & (page_size(c.mode) - 1));
  return o;
}

inline std::string error_text(uint32_t e) {
  char buf[80];
  std::snprintf(buf, sizeof buf, "#PF(0x%02x:%s%s%s%s%s)", e, e & kErrP ? " P" : " !P",
                e & kErrW ? " W" : " R", e & kErrU ? " U" : " S", e & kErrRsvd ? " RSVD" : "",
                e & kErrId ? " I/D" : "");
  return buf;
}

inline std::string describe(const Case& c) {
  std::string s = mode_name(c.mode);
  char buf[160];
  std::snprintf(buf, sizeof buf, "; CR0.WP=%d CR4.PSE=%d CR4.PGE=%d EFER.NXE=%d", c.wp, c.pse,
                c.pge, c.nxe);
  s += buf;
  const unsigned leaf = leaf_level(c.mode);
  for (unsigned l = 0; l <= leaf; ++l) {
    if (!level_exists(c.mode, l)) continue;
    s += "; ";
    s += level_name(l);
    s += c.present[l] ? " P=1" : " P=0";
    if (l != kPdpte) {
      std::snprintf(buf, sizeof buf, " U/S=%d R/W=%d", c.user[l], c.writable[l]);
      s += buf;
      if (is_pae(c.mode)) s += c.xd[l] ? " XD=1" : " XD=0";
    }
    if (l == leaf) {
      s += c.global ? " G=1" : " G=0";
      if (c.extra_bit >= 0) {
        std::snprintf(buf, sizeof buf, " +bit%d", c.extra_bit);
        s += buf;
      }
      std::snprintf(buf, sizeof buf, " frame=0x%llx", static_cast<unsigned long long>(c.frame));
      s += buf;
    }
  }
  return s;
}

}  // namespace popek::mmu::model
