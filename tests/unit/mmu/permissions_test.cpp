// Translation outcomes against a reference model (paging_model.h), over every combination
// of paging mode, CR0.WP, CR4.PSE/PGE, EFER.NXE, the G bit, U/S, R/W and XD at each level,
// which level (if any) is not present, an extra (reserved, ignored or address) bit in the
// leaf, access kind and privilege. Each case runs on a fresh Mmu: the access, the same
// access again (answered by the TLB or, for frames outside RAM, which never enter the TLB,
// by the shadow table), then a write after it and a user access after a supervisor one.
// After every access the entries in memory are compared with what the SDM allows for the
// accessed and dirty flags (§4.8). A failing test prints the first failing case of each
// mode and extra bit in full (every access, both outcomes, the entries) and a tally of the
// rest.
//
// Then the caches' exactness: guest stores to paging entries take effect without INVLPG,
// CR3 switches reuse warm shadows and see stores made from other address spaces, and a
// PAE PDPTE with a reserved bit refuses the new control.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "bus/bus.h"
#include "mmu/mmu.h"
#include "tests/unit/mmu/paging_model.h"

namespace popek::mmu {
namespace {

using model::Case;
using model::kLevels;
using model::kPde;
using model::kPdpte;
using model::kPte;
using model::Mode;

constexpr uint64_t kRamSize = 8u << 20;

constexpr uint64_t kP = 1, kRW = 2, kUS = 4, kA = 0x20, kD = 0x40, kPS = 0x80, kG = 0x100;
constexpr uint64_t kXD = 1ull << 63;
constexpr uint32_t kCr0Pe = 1, kCr0Wp = 1u << 16, kCr0Pg = 1u << 31;
constexpr uint32_t kCr4Pse = 1u << 4, kCr4Pae = 1u << 5, kCr4Pge = 1u << 7;
constexpr uint64_t kEferNxe = 1u << 11;

// Layout. 32-bit paging: directory, table, and the table of an identity mapping of the
// first MiB's table pages (PDE 0). PAE: the PDPT (32-byte aligned, not page aligned),
// directory and table, and for the identity mapping PDPTE 0's directory and table.
constexpr uint32_t kPd = 0x10000, kPt = 0x11000, kPt0 = 0x12000;
constexpr uint32_t kPdpt = 0x20040, kPaePd = 0x21000, kPaePt = 0x22000;
constexpr uint32_t kPaePd0 = 0x23000, kPaePt0 = 0x24000;
constexpr uint32_t kIdentityFirst = 0x10, kIdentityLast = 0x2F;  // pages the identity map covers
// Linear addresses with non-zero, distinct indices at every level.
constexpr uint32_t kLegacyLinear = 0x12345678, kPaeLinear = 0x52345678;
// Frames: 0 and 2 in RAM; 1 the last page below 4 GiB (every address bit set), outside
// RAM, so never entered in the front TLB.
uint64_t frame(Mode m, unsigned which) {
  uint64_t a, b;
  switch (m) {
    case Mode::Legacy4M: a = 0x400000, b = 0x000000; break;
    case Mode::Pae2M: a = 0x600000, b = 0x200000; break;
    default: a = 0x456000, b = 0x3A5000; break;
  }
  return which == 0 ? a : which == 1 ? (1ull << 32) - model::page_size(m) : b;
}

// Extra leaf bits tried per mode: the PAT bit, ignored bits, reserved and address bits.
std::vector<int> extra_bits(Mode m) {
  switch (m) {
    case Mode::Legacy4K: return {7, 9};
    case Mode::Legacy4M: return {12, 13, 21};
    case Mode::Pae4K: return {7, 9, 36, 62};
    case Mode::Pae2M: return {12, 13, 20, 36};
  }
  return {};
}

const char* access_name(Access a) {
  return a == Access::Read ? "read" : a == Access::Write ? "write" : "fetch";
}

std::string hex(uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

// What the SDM lets a flag be after the accesses so far.
enum class Flag : uint8_t { Clear, Set, Either };

// Builds a Case's paging structures in RAM, runs accesses on a fresh Mmu, compares each
// with the model, and reports failing cases (the first few in full).
class Harness {
 public:
  static constexpr int kMaxReports = 6;

  Harness() : bus_(kRamSize), facts_(model::advertised()) {}
  ~Harness() { finish(); }

  Case kase;
  Mmu& mmu() { return *mmu_; }
  bus::Bus& bus() { return bus_; }
  bool pae() const { return model::is_pae(kase.mode); }
  uint32_t linear() const { return pae() ? kPaeLinear : kLegacyLinear; }
  uint64_t target() const {  // the physical address the access reaches if allowed
    return kase.frame + (linear() & (model::page_size(kase.mode) - 1));
  }

  uint32_t entry_addr(unsigned level) const {
    const uint32_t lin = linear();
    if (!pae()) return level == kPde ? kPd + (lin >> 22) * 4 : kPt + ((lin >> 12) & 0x3FF) * 4;
    switch (level) {
      case kPdpte: return kPdpt + (lin >> 30) * 8;
      case kPde: return kPaePd + ((lin >> 21) & 0x1FF) * 8;
      default: return kPaePt + ((lin >> 12) & 0x1FF) * 8;
    }
  }
  unsigned entry_size() const { return pae() ? 8 : 4; }

  // The entry the case describes at `level`, with A and D clear. An entry that is not
  // present keeps its other bits (the processor must ignore them); a PDPTE that is not
  // present is filled with bits that would be reserved in a present one.
  uint64_t entry_value(unsigned level) const {
    const Case& c = kase;
    const unsigned leaf = model::leaf_level(c.mode);
    if (level == kPdpte)
      return c.present[kPdpte] ? (kPaePd | kP) : (kPaePd | 0xFFFFFFF0000001E6ull);
    uint64_t e = level == leaf ? c.frame : (pae() ? kPaePt : kPt);
    if (c.user[level]) e |= kUS;
    if (c.writable[level]) e |= kRW;
    if (c.xd[level]) e |= kXD;
    if (level == leaf) {
      if (c.global) e |= kG;
      if (leaf == kPde) e |= kPS;
      if (c.extra_bit >= 0) e |= 1ull << c.extra_bit;
    }
    if (c.present[level]) e |= kP;
    return e;
  }
  uint64_t entry_in_memory(unsigned level) {
    uint64_t v = 0;
    std::memcpy(&v, bus_.ram() + entry_addr(level), entry_size());
    return v;
  }
  void put_entry(uint32_t addr, uint64_t v) { std::memcpy(bus_.ram() + addr, &v, entry_size()); }
  uint32_t rd32(uint64_t phys) {
    uint32_t v = 0;
    if (phys + 4 <= kRamSize) std::memcpy(&v, bus_.ram() + phys, 4);
    return v;
  }
  void put32(uint64_t phys, uint32_t v) {
    if (phys + 4 <= kRamSize) std::memcpy(bus_.ram() + phys, &v, 4);
  }

  uint32_t cr0() const { return kCr0Pg | kCr0Pe | (kase.wp ? kCr0Wp : 0); }
  uint32_t cr3() const { return pae() ? kPdpt : kPd; }
  uint32_t cr4() const {
    return (kase.pse ? kCr4Pse : 0) | (pae() ? kCr4Pae : 0) | (kase.pge ? kCr4Pge : 0);
  }
  uint64_t efer() const { return kase.nxe ? kEferNxe : 0; }

  // Starts a reported case: `context` says what was done before its accesses.
  void begin_case(std::string context = {}) {
    context_ = std::move(context);
    records_.clear();
    failed_ = false;
  }
  void end_case() {
    ++cases_;
    if (!failed_) return;
    ++failures_;
    // Failures are tallied by mode, extra leaf bit and first difference; the first case of
    // each mode and extra bit is printed in full, so that one departure does not hide
    // another.
    const std::string kind =
        std::string(model::mode_name(kase.mode)) +
        (kase.extra_bit >= 0 ? ", leaf bit " + std::to_string(kase.extra_bit) : std::string());
    ++tally_[kind + ": " + (records_.empty() ? std::string("setup") : first_diff_)];
    if (reported_kinds_.insert(kind).second && reports_ < kMaxReports) {
      ++reports_;
      ADD_FAILURE() << report();
    }
  }
  void fail_setup(const std::string& why) {
    failed_ = true;
    first_diff_ = why;
    setup_note_ += why + "\n";
  }

  // Writes the case's entries (and, with `identity`, an identity mapping of the table
  // pages for guest stores) and loads its control registers into a fresh Mmu.
  bool load(bool identity = false) {
    setup_note_.clear();
    const unsigned leaf = model::leaf_level(kase.mode);
    if (pae()) {
      for (unsigned i = 0; i < 4; ++i) put_entry(kPdpt + i * 8, 0);
    }
    for (unsigned l = 0; l <= leaf; ++l) {
      if (model::level_exists(kase.mode, l)) put_entry(entry_addr(l), entry_value(l));
    }
    if (identity) map_identity();
    for (unsigned f = 0; f < 3; ++f) {
      const uint64_t p = frame(kase.mode, f) + (linear() & (model::page_size(kase.mode) - 1));
      put32(p, 0x5EED0000u ^ static_cast<uint32_t>(p));
    }
    for (unsigned l = 0; l < kLevels; ++l) a_[l] = d_[l] = Flag::Clear;
    mmu_ = std::make_unique<Mmu>(bus_);
    const bool ok = mmu_->set_control(cr0(), cr3(), cr4(), efer());
    if (!ok) fail_setup("set_control refused the case's control registers");
    return ok;
  }

  // A supervisor store, through the identity mapping, of the case's entry at `level` (with
  // A and D clear), as guest code would write it.
  bool store_entry(unsigned level) {
    PageFault f{};
    const uint64_t v = entry_value(level);
    if (!mmu_->write(entry_addr(level), entry_size(), false, v, f)) {
      fail_setup("the guest store to the " + std::string(model::level_name(level)) +
                 " faulted: " + model::error_text(f.error));
      return false;
    }
    a_[level] = d_[level] = Flag::Clear;
    return true;
  }

  // One 4-byte access at linear(), through translate() or read()/write(), checked against
  // the model, with the entries in memory checked afterwards. `repeat`: the same access
  // was just made, so a success must come from a cache, with no page walk.
  bool step(Access acc, bool user, bool via_translate, bool repeat) {
    const uint32_t lin = linear();
    const model::Outcome want = model::translate(kase, lin, acc, user, facts_);
    const uint64_t walks_before = mmu_->stats.walks;
    const uint32_t wval = 0xC0DE0000u | (++serial_ & 0xFFFF);
    const uint32_t target_before = rd32(target());
    PageFault f{};
    bool ok;
    uint64_t phys = 0, value = 0;
    if (via_translate) {
      uint32_t p = 0;
      ok = mmu_->translate(lin, acc, user, p, f);
      phys = p;
    } else if (acc == Access::Write) {
      ok = mmu_->write(lin, 4, user, wval, f);
    } else {
      ok = mmu_->read(lin, 4, acc, user, value, f);
    }
    std::string diffs;
    if (ok != want.ok) {
      diffs += " outcome;";
    } else if (ok) {
      if (via_translate && phys != want.phys) diffs += " physical address;";
      if (!via_translate && want.phys + 4 <= kRamSize) {
        if (acc == Access::Write && rd32(want.phys) != wval)
          diffs += " stored data not at the physical address;";
        if (acc != Access::Write && static_cast<uint32_t>(value) != rd32(want.phys))
          diffs += " data read;";
      }
    } else {
      if (f.error != want.error) diffs += " error code;";
      if (f.linear != lin) diffs += " fault address;";
    }
    if (!ok && acc == Access::Write && !via_translate && rd32(target()) != target_before) {
      diffs += " a faulting write changed memory;";
    }
    if (repeat && ok && want.ok && mmu_->stats.walks != walks_before)
      diffs += " the repeat walked again;";
    expect_flags(want, acc);
    check_entries(diffs);

    Record r;
    r.acc = acc;
    r.user = user;
    r.via_translate = via_translate;
    r.repeat = repeat;
    r.want = want;
    r.ok = ok;
    r.phys = phys;
    r.value = value;
    r.error = f.error;
    r.diffs = diffs;
    records_.push_back(r);
    if (!diffs.empty() && !failed_) first_diff_ = diffs;
    if (!diffs.empty()) failed_ = true;
    return diffs.empty();
  }

  // An access and its repeat through the other interface.
  void pair(Access acc, bool user, bool translate_first) {
    step(acc, user, translate_first, false);
    step(acc, user, !translate_first, true);
  }

  int cases() const { return cases_; }
  Stats totals;  // summed over the cases' Mmus, to show both cache layers were exercised
  void add_stats() {
    totals.tlb_hits += mmu_->stats.tlb_hits;
    totals.shadow_hits += mmu_->stats.shadow_hits;
    totals.walks += mmu_->stats.walks;
  }

  void finish() {
    if (finished_) return;
    finished_ = true;
    std::string summary;
    for (const auto& [key, n] : tally_) summary += "  " + std::to_string(n) + " x " + key + "\n";
    EXPECT_EQ(failures_, 0) << failures_ << " of " << cases_ << " cases departed from the model ("
                            << reports_
                            << " shown above); by mode, extra leaf bit and first difference:\n"
                            << summary;
  }

 private:
  struct Record {
    Access acc;
    bool user, via_translate, repeat;
    model::Outcome want;
    bool ok;
    uint64_t phys, value;
    uint32_t error;
    std::string diffs;
  };

  void map_identity() {
    if (!pae()) {
      put_entry(kPd, kPt0 | kP | kRW);
      for (uint32_t pg = kIdentityFirst; pg <= kIdentityLast; ++pg)
        put_entry(kPt0 + pg * 4, (pg << 12) | kP | kRW);
    } else {
      put_entry(kPdpt, kPaePd0 | kP);
      put_entry(kPaePd0, kPaePt0 | kP | kRW);
      for (uint32_t pg = kIdentityFirst; pg <= kIdentityLast; ++pg)
        put_entry(kPaePt0 + pg * 8, (pg << 12) | kP | kRW);
    }
  }

  // §4.8: a translation that succeeds sets A in every entry it used and, for a write, D in
  // the entry that maps the page; a fault leaves the leaf's A and D alone; an entry the
  // walk went through before stopping may or may not get A; an entry not present or not
  // reached is not written.
  void expect_flags(const model::Outcome& want, Access acc) {
    const unsigned leaf = model::leaf_level(kase.mode);
    for (unsigned l = kPde; l <= leaf; ++l) {
      if (!model::level_exists(kase.mode, l)) continue;
      if (want.ok) {
        a_[l] = Flag::Set;
        if (l == leaf && acc == Access::Write) d_[l] = Flag::Set;
      } else if (l != leaf && (l < want.stop || (l == want.stop && want.rsvd_stop)) &&
                 a_[l] == Flag::Clear) {
        a_[l] = Flag::Either;
      }
    }
  }

  void check_entries(std::string& diffs) {
    const unsigned leaf = model::leaf_level(kase.mode);
    for (unsigned l = 0; l <= leaf; ++l) {
      if (!model::level_exists(kase.mode, l)) continue;
      const uint64_t mem = entry_in_memory(l), built = entry_value(l);
      const std::string name = model::level_name(l);
      if (l == kPdpte) {
        if (mem != built) diffs += " PDPTE written;";
        continue;
      }
      // D of a PDE that maps a table is an ignored bit: the processor never writes it.
      const uint64_t mask = kA | (l == leaf ? kD : 0);
      if ((mem & ~mask) != (built & ~mask)) diffs += " " + name + " bits other than A/D changed;";
      auto check = [&](Flag want, uint64_t bit, const char* what) {
        if (want == Flag::Set && !(mem & bit)) diffs += " " + name + " " + what + " not set;";
        if (want == Flag::Clear && (mem & bit)) diffs += " " + name + " " + what + " set;";
      };
      check(a_[l], kA, "A");
      if (l == leaf) check(d_[l], kD, "D");
    }
  }

  std::string outcome_text(bool ok, uint64_t phys, uint32_t error, bool have_phys, uint64_t value,
                           bool stored = false) const {
    if (!ok) return model::error_text(error);
    if (have_phys) return "ok, physical " + hex(phys);
    if (stored) return "ok (stored)";
    return "ok (read " + hex(value & 0xFFFFFFFFu) + ")";
  }

  std::string report() {
    std::string s = "case: " + model::describe(kase) + "\n";
    if (!context_.empty()) s += "before: " + context_ + "\n";
    s += setup_note_;
    int n = 0;
    for (const Record& r : records_) {
      char head[96];
      std::snprintf(head, sizeof head, "  %d. %-5s CPL %d via %-9s%s", ++n, access_name(r.acc),
                    r.user ? 3 : 0,
                    r.via_translate ? "translate" : (r.acc == Access::Write ? "write" : "read"),
                    r.repeat ? " (repeat)" : "         ");
      s += head;
      s += "  model: " + outcome_text(r.want.ok, r.want.phys, r.want.error, true, 0);
      s += "  popek: " +
           outcome_text(r.ok, r.phys, r.error, r.via_translate, r.value, r.acc == Access::Write);
      if (!r.diffs.empty()) s += "   <-" + r.diffs;
      s += "\n";
    }
    s += "entries now:";
    const unsigned leaf = model::leaf_level(kase.mode);
    for (unsigned l = 0; l <= leaf; ++l) {
      if (!model::level_exists(kase.mode, l)) continue;
      s += std::string(" ") + model::level_name(l) + "@" + hex(entry_addr(l)) + "=" +
           hex(entry_in_memory(l)) + " (built " + hex(entry_value(l)) + ")";
    }
    return s;
  }

  bus::Bus bus_;
  model::CpuFacts facts_;
  std::unique_ptr<Mmu> mmu_;
  Flag a_[kLevels] = {}, d_[kLevels] = {};
  std::vector<Record> records_;
  std::string context_, setup_note_, first_diff_;
  bool failed_ = false, finished_ = false;
  int cases_ = 0, failures_ = 0, reports_ = 0;
  std::set<std::string> reported_kinds_;
  uint32_t serial_ = 0;
  std::map<std::string, int> tally_;
};

// Mixed-radix decoding of a case number into its dimensions.
struct Picker {
  uint64_t rest;
  unsigned pick(unsigned n) {
    const unsigned v = static_cast<unsigned>(rest % n);
    rest /= n;
    return v;
  }
  bool flag() { return pick(2) != 0; }
};

struct Attempt {
  Access acc;
  bool user;
};

// Case number `i` of `mode`; false once the numbers are exhausted.
bool decode(Mode mode, uint64_t i, Case& c, Attempt& a) {
  Picker p{i};
  c = Case{};
  c.mode = mode;
  c.pge = p.flag();
  c.global = p.flag();
  c.wp = p.flag();
  c.nxe = p.flag();  // with 32-bit paging it must change nothing
  // CR4.PSE: needed for 4 MiB pages, free with 32-bit 4 KiB pages, ignored by PAE (there
  // it follows PGE and G, so both values meet every permission combination).
  c.pse = mode == Mode::Legacy4M ? true : mode == Mode::Legacy4K ? p.flag() : (c.pge != c.global);
  // Presence: every level present, or the outermost one that is not (the levels below a
  // missing one are present; whether they are cannot matter, as the walk never reads them).
  const unsigned leaf = model::leaf_level(mode);
  const unsigned first = model::is_pae(mode) ? kPdpte : kPde;
  const unsigned missing = first + p.pick(leaf - first + 2);  // leaf + 1: none missing
  for (unsigned l = first; l <= leaf; ++l) c.present[l] = l != missing;
  for (unsigned l = kPde; l <= leaf; ++l) {
    c.user[l] = p.flag();
    c.writable[l] = p.flag();
    if (model::is_pae(mode)) c.xd[l] = p.flag();
  }
  const std::vector<int> extras = extra_bits(mode);
  const unsigned e = p.pick(static_cast<unsigned>(extras.size()) + 1);
  c.extra_bit = e == 0 ? -1 : extras[e - 1];
  a.acc = static_cast<Access>(p.pick(3));
  a.user = p.flag();
  // G and PGE do not change permissions, so they also choose how the case is run: with
  // PGE the frame lies outside RAM (every repeat then comes from the shadow table), and
  // G says whether the first access of each pair goes through translate() or read/write.
  c.frame = frame(mode, c.pge ? 1 : 0);
  return p.rest == 0;
}

void run_mode(Mode mode) {
  Harness h;
  Case c;
  Attempt a;
  for (uint64_t i = 0; decode(mode, i, c, a); ++i) {
    h.kase = c;
    h.begin_case();
    if (h.load()) {
      const bool translate_first = !c.global;
      h.pair(a.acc, a.user, translate_first);
      if (a.acc != Access::Write) h.pair(Access::Write, a.user, translate_first);  // D set now
      if (!a.user) h.pair(a.acc, true, translate_first);  // user after supervisor
      h.add_stats();
    }
    h.end_case();
  }
  EXPECT_GT(h.cases(), 1000);
  EXPECT_GT(h.totals.tlb_hits, 0u) << "no repeat came from the front TLB";
  EXPECT_GT(h.totals.shadow_hits, 0u) << "no repeat came from the shadow table";
  std::printf("[ model    ] %s: %d cases\n", model::mode_name(mode), h.cases());
}

TEST(MmuPermissions, Legacy4K) { run_mode(Mode::Legacy4K); }
TEST(MmuPermissions, Legacy4M) { run_mode(Mode::Legacy4M); }
TEST(MmuPermissions, Pae4K) { run_mode(Mode::Pae4K); }
TEST(MmuPermissions, Pae2M) { run_mode(Mode::Pae2M); }

// ------------------------------------------------------------------ cache exactness

// A case that allows everything, for a mode.
Case open_case(Mode mode, bool wp, bool nxe) {
  Case c;
  c.mode = mode;
  c.wp = wp;
  c.nxe = nxe;
  c.pse = mode == Mode::Legacy4M;
  c.pge = true;
  c.global = true;
  for (unsigned l = kPde; l < kLevels; ++l) c.user[l] = c.writable[l] = true;
  c.frame = frame(mode, 0);
  return c;
}

// All six access kinds and privileges, each twice, in an order that rotates with `k`.
void check_all(Harness& h, unsigned k) {
  for (unsigned j = 0; j < 6; ++j) {
    const unsigned n = (j + k) % 6;
    h.pair(static_cast<Access>(n / 2), n & 1, (k + j) & 1);
  }
}

TEST(MmuCacheExactness, StoresToEntriesAndControlChangesTakeEffectWithoutInvlpg) {
  Harness h;
  uint32_t rng = 12345;
  auto next = [&] { return rng = rng * 1103515245u + 12345u, rng >> 16; };
  for (Mode mode : {Mode::Legacy4K, Mode::Legacy4M, Mode::Pae4K, Mode::Pae2M}) {
    for (unsigned ctl = 0; ctl < 4; ++ctl) {
      h.kase = open_case(mode, ctl & 1, ctl & 2);
      h.begin_case("fresh Mmu");
      if (!h.load(/*identity=*/true)) {
        h.end_case();
        continue;
      }
      // Stores to the table pages before any walk has read them: write entries for those
      // pages enter the TLB, and must leave it when a walk starts tracking the pages.
      const unsigned leaf = model::leaf_level(mode);
      for (unsigned l = kPde; l <= leaf; ++l) h.store_entry(l);
      check_all(h, 0);
      h.end_case();
      // The PAT bit's meaning is MmuPermissions' business; here it would only repeat it.
      std::vector<int> extras;
      for (int b : extra_bits(mode)) {
        if (b != (model::has_pte(mode) ? 7 : 12)) extras.push_back(b);
      }
      unsigned extra_i = 0, frame_i = 0;
      for (unsigned k = 1; k <= 150; ++k) {
        Case& c = h.kase;
        if (k % 5 == 0) {
          // Every fifth change is to a control bit (CR4.PSE only where it cannot change
          // the meaning of the entries).
          const unsigned choices = mode == Mode::Legacy4K ? 4 : 3;
          std::string what;
          switch (next() % choices) {
            case 0:
              c.wp = !c.wp;
              what = "CR0.WP";
              break;
            case 1:
              c.nxe = !c.nxe;
              what = "EFER.NXE";
              break;
            case 2:
              c.pge = !c.pge;
              what = "CR4.PGE";
              break;
            default:
              c.pse = !c.pse;
              what = "CR4.PSE";
              break;
          }
          h.begin_case("change #" + std::to_string(k) + ": " + what + " toggled by set_control");
          if (h.mmu().set_control(h.cr0(), h.cr3(), h.cr4(), h.efer())) {
            check_all(h, k);
          } else {
            h.fail_setup("set_control refused " + what);
          }
          h.end_case();
          continue;
        }
        // One change to one entry, chosen at random among the fields of the levels.
        const unsigned level = kPde + next() % (leaf - kPde + 1);
        const unsigned fields = level == leaf ? 7 : 4;
        const unsigned field = next() % fields;
        std::string what;
        switch (field) {
          case 0:
            c.present[level] = !c.present[level];
            what = "P";
            break;
          case 1:
            c.user[level] = !c.user[level];
            what = "U/S";
            break;
          case 2:
            c.writable[level] = !c.writable[level];
            what = "R/W";
            break;
          case 3:
            c.xd[level] = model::is_pae(mode) && !c.xd[level];
            what = "XD";
            break;
          case 4:
            c.global = !c.global;
            what = "G";
            break;
          case 5:
            extra_i = (extra_i + 1) % (extras.size() + 1);
            c.extra_bit = extra_i == 0 ? -1 : extras[extra_i - 1];
            what = "extra bit";
            break;
          default:
            frame_i = (frame_i + 1) % 3;
            c.frame = frame(mode, frame_i);
            what = "frame";
            break;
        }
        h.begin_case("change #" + std::to_string(k) + ": a store changed " + what + " of the " +
                     model::level_name(level) + " (no INVLPG)");
        if (h.store_entry(level)) check_all(h, k);
        h.end_case();
      }
      EXPECT_EQ(h.mmu().stats.inval_invlpg, 0u);
      EXPECT_GT(h.mmu().stats.inval_pt_write, 0u) << model::mode_name(mode);
    }
  }
}

// A store through a translation to its own PTE: the page maps the page table that maps it.
TEST(MmuCacheExactness, StoreThroughTheMappingItChanges) {
  for (Mode mode : {Mode::Legacy4K, Mode::Pae4K}) {
    Harness h;
    h.kase = open_case(mode, true, false);
    h.kase.frame = model::is_pae(mode) ? kPaePt : kPt;
    ASSERT_TRUE(h.load());
    const uint32_t lin = h.linear();
    const uint32_t self = (lin & ~0xFFFu) | (h.entry_addr(kPte) & 0xFFF);  // lin's own PTE
    uint32_t phys;
    PageFault f;
    ASSERT_TRUE(h.mmu().translate(lin, Access::Write, false, phys, f));
    EXPECT_EQ(phys, (h.kase.frame | (lin & 0xFFF)));
    // The store rewrites the PTE that translated it: the page now maps frame A.
    const uint64_t new_pte = frame(mode, 0) | kP | kRW | kUS;
    ASSERT_TRUE(h.mmu().write(self, h.entry_size(), false, new_pte, f));
    EXPECT_EQ(h.entry_in_memory(kPte) & ~(kA | kD), new_pte) << "the store went to the PTE";
    ASSERT_TRUE(h.mmu().translate(lin, Access::Read, false, phys, f));
    EXPECT_EQ(phys, frame(mode, 0) | (lin & 0xFFF))
        << model::mode_name(mode) << ": stale read translation";
    ASSERT_TRUE(h.mmu().translate(lin, Access::Write, false, phys, f));
    EXPECT_EQ(phys, frame(mode, 0) | (lin & 0xFFF))
        << model::mode_name(mode) << ": stale write translation";
    uint64_t v = 0;
    ASSERT_TRUE(h.mmu().read(self, h.entry_size(), Access::Read, false, v, f));
    uint64_t in_frame_a = 0;
    std::memcpy(&in_frame_a, h.bus().ram() + frame(mode, 0) + (self & 0xFFF), h.entry_size());
    EXPECT_EQ(v, in_frame_a) << "reads through the page now reach frame A";
  }
}

// Two address spaces mapping the same linear page to different frames, then more CR3
// values sharing one set of tables than the Mmu keeps address spaces.
TEST(MmuCacheExactness, Cr3SwitchesReuseShadowsAndSeeStoresFromOtherSpaces) {
  for (Mode mode : {Mode::Legacy4K, Mode::Pae4K}) {
    SCOPED_TRACE(model::mode_name(mode));
    Harness h;
    h.kase = open_case(mode, true, true);
    ASSERT_TRUE(h.load(/*identity=*/true));
    const bool pae = model::is_pae(mode);
    const uint32_t lin = h.linear();
    const uint32_t off = lin & 0xFFF;
    Mmu& m = h.mmu();
    // Space B: copies of A's tables (B's directory and table in identity-mapped pages)
    // whose PTE maps frame B.
    const uint32_t dir_a = pae ? kPaePd : kPd, table_a = pae ? kPaePt : kPt;
    const uint32_t dir_b = 0x25000, table_b = 0x26000, cr3_b = pae ? 0x20000 : dir_b;
    uint8_t* ram = h.bus().ram();
    std::memcpy(ram + dir_b, ram + dir_a, 4096);
    std::memcpy(ram + table_b, ram + table_a, 4096);
    if (pae) {
      std::memcpy(ram + cr3_b, ram + kPdpt, 32);
      h.put_entry(cr3_b + (h.entry_addr(kPdpte) - kPdpt), dir_b | kP);
    }
    h.put_entry(dir_b + (h.entry_addr(kPde) - dir_a), table_b | kP | kRW | kUS);
    h.put_entry(table_b + (h.entry_addr(kPte) - table_a), frame(mode, 2) | kP | kRW | kUS);

    uint32_t phys = 0;
    PageFault f{};
    auto translate = [&](Access acc, bool user) -> int64_t {
      phys = 0;
      return m.translate(lin, acc, user, phys, f) ? -1 : static_cast<int64_t>(f.error);
    };
    const uint64_t frame_a = frame(mode, 0), frame_b = frame(mode, 2);
    ASSERT_EQ(translate(Access::Read, true), -1);
    EXPECT_EQ(phys, frame_a | off);
    ASSERT_EQ(translate(Access::Write, false), -1);
    ASSERT_TRUE(m.set_control(h.cr0(), cr3_b, h.cr4(), h.efer()));
    ASSERT_EQ(translate(Access::Read, true), -1);
    EXPECT_EQ(phys, frame_b | off) << "space B";

    uint64_t reuses = m.stats.shadow_reuses, walks = m.stats.walks;
    ASSERT_TRUE(m.set_control(h.cr0(), h.cr3(), h.cr4(), h.efer()));
    EXPECT_EQ(m.stats.shadow_reuses, reuses + 1) << "back to space A";
    ASSERT_EQ(translate(Access::Read, true), -1);
    EXPECT_EQ(phys, frame_a | off);
    ASSERT_EQ(translate(Access::Write, false), -1);
    EXPECT_EQ(phys, frame_a | off);
    EXPECT_EQ(m.stats.walks, walks) << "space A's translations survived the switch";

    // From space B, a store to A's PTE: frame B, read-only. Back in A, both show.
    ASSERT_TRUE(m.set_control(h.cr0(), cr3_b, h.cr4(), h.efer()));
    EXPECT_EQ(m.stats.shadow_reuses, reuses + 2);
    ASSERT_TRUE(m.write(h.entry_addr(kPte), h.entry_size(), false, frame_b | kP | kUS, f));
    ASSERT_EQ(translate(Access::Read, true), -1);
    EXPECT_EQ(phys, frame_b | off) << "space B unchanged";
    ASSERT_TRUE(m.set_control(h.cr0(), h.cr3(), h.cr4(), h.efer()));
    EXPECT_EQ(m.stats.shadow_reuses, reuses + 3);
    ASSERT_EQ(translate(Access::Read, true), -1);
    EXPECT_EQ(phys, frame_b | off) << "A's PTE was changed from space B";
    EXPECT_EQ(translate(Access::Write, false), static_cast<int64_t>(pf::P | pf::W))
        << "A's page is now read-only (WP=1)";
    EXPECT_EQ(translate(Access::Write, true), static_cast<int64_t>(pf::P | pf::W | pf::U));

    // More CR3 values than the Mmu keeps address spaces, all naming the same tables (the
    // low CR3 bits differ; for PAE, copies of the PDPT). Each translates right; returning
    // to a recent one reuses its shadow; a store made in the last one is seen in every
    // other, recent or evicted.
    const uint32_t spaces = kMaxContexts + 4;
    std::vector<uint32_t> cr3s;
    for (uint32_t k = 0; k < spaces; ++k) {
      uint32_t v;
      if (pae) {
        v = 0x20400 + k * 32;
        std::memcpy(ram + v, ram + kPdpt, 32);
      } else {
        v = kPd | (k & 7) | ((k >> 3) << 5);  // bits 2:0 and 11:5 are ignored
      }
      cr3s.push_back(v);
      ASSERT_TRUE(m.set_control(h.cr0(), v, h.cr4(), h.efer()));
      ASSERT_EQ(translate(Access::Read, false), -1) << "CR3 " << hex(v);
      EXPECT_EQ(phys, frame_b | off) << "CR3 " << hex(v);
    }
    ASSERT_TRUE(m.write(h.entry_addr(kPte), h.entry_size(), false, frame_a | kP | kRW | kUS, f));
    for (uint32_t k = spaces - kMaxContexts + 1; k + 1 < spaces; ++k) {
      reuses = m.stats.shadow_reuses;
      ASSERT_TRUE(m.set_control(h.cr0(), cr3s[k], h.cr4(), h.efer()));
      EXPECT_EQ(m.stats.shadow_reuses, reuses + 1)
          << "CR3 " << hex(cr3s[k]) << " was recently used";
      ASSERT_EQ(translate(Access::Write, true), -1) << "CR3 " << hex(cr3s[k]);
      EXPECT_EQ(phys, frame_a | off)
          << "CR3 " << hex(cr3s[k]) << ": store from another space not seen";
    }
    for (uint32_t k = 0; k < spaces - kMaxContexts; ++k) {  // evicted: found again by a walk
      ASSERT_TRUE(m.set_control(h.cr0(), cr3s[k], h.cr4(), h.efer()));
      ASSERT_EQ(translate(Access::Read, true), -1) << "CR3 " << hex(cr3s[k]);
      EXPECT_EQ(phys, frame_a | off) << "CR3 " << hex(cr3s[k]);
    }
  }
}

// Table 4-8: loading CR3 with PAE paging on reads the four PDPTEs; a present one with a
// reserved bit set is #GP(0), so set_control refuses it and the previous control stays.
TEST(MmuCacheExactness, PdpteReservedBitsRefuseTheNewControl) {
  const model::CpuFacts facts = model::advertised();
  constexpr uint32_t kNewPdpt = 0x20400;
  int refused = 0, accepted = 0;
  Harness h;
  for (unsigned bit = 1; bit < 64; ++bit) {
    for (unsigned index = 0; index < 4; ++index) {
      for (unsigned present = 0; present < 2; ++present) {
        SCOPED_TRACE("PDPTE " + std::to_string(index) + " bit " + std::to_string(bit) +
                     (present ? " P=1" : " P=0"));
        // The control in force before: 32-bit or PAE paging, by the bit's parity.
        h.kase = open_case(bit & 1 ? Mode::Legacy4K : Mode::Pae4K, true, true);
        ASSERT_TRUE(h.load());
        Mmu& m = h.mmu();
        const Control before = m.control();
        const uint32_t lin = h.linear();
        uint32_t phys;
        PageFault f;
        ASSERT_TRUE(m.translate(lin, Access::Read, true, phys, f));
        uint8_t* ram = h.bus().ram();
        for (unsigned i = 0; i < 4; ++i) {
          const uint64_t e = (kPaePd | kP) | (i == index ? (1ull << bit) : 0);
          const uint64_t v = i == index && !present ? e & ~kP : e;
          std::memcpy(ram + kNewPdpt + i * 8, &v, 8);
        }
        const bool want = !(present && model::pdpte_bit_reserved(bit, facts));
        const bool got =
            m.set_control(kCr0Pg | kCr0Pe | kCr0Wp, kNewPdpt, kCr4Pae | kCr4Pge, kEferNxe);
        EXPECT_EQ(got, want);
        if (got) {
          ++accepted;
          EXPECT_EQ(m.control().cr3, kNewPdpt);
          continue;
        }
        ++refused;
        const Control& now = m.control();
        EXPECT_TRUE(now.cr0 == before.cr0 && now.cr3 == before.cr3 && now.cr4 == before.cr4 &&
                    now.efer == before.efer)
            << "control changed to CR0 " << hex(now.cr0) << " CR3 " << hex(now.cr3) << " CR4 "
            << hex(now.cr4) << " EFER " << hex(now.efer);
        // The previous tables still translate, through a fresh walk too.
        m.invlpg(lin);
        const uint64_t walks = m.stats.walks;
        ASSERT_TRUE(m.translate(lin, Access::Read, true, phys, f));
        EXPECT_EQ(phys, h.target());
        EXPECT_EQ(m.stats.walks, walks + 1);
      }
    }
  }
  EXPECT_GT(refused, 0);
  EXPECT_GT(accepted, 0);
}

// §4.4.1: PAE walks use the PDPTEs loaded at the last CR3 load, not the PDPT in memory.
TEST(MmuCacheExactness, PaeWalksUseThePdptesLoadedWithCr3) {
  Harness h;
  h.kase = open_case(Mode::Pae4K, true, true);
  ASSERT_TRUE(h.load(/*identity=*/true));
  Mmu& m = h.mmu();
  const uint32_t lin = h.linear();
  uint32_t phys;
  PageFault f{};
  ASSERT_TRUE(m.translate(lin, Access::Read, false, phys, f));
  // A guest store clears P in the PDPTE; the loaded copy still holds.
  ASSERT_TRUE(m.write(h.entry_addr(kPdpte), 8, false, kPaePd, f));
  m.invlpg(lin);
  ASSERT_TRUE(m.translate(lin, Access::Read, false, phys, f)) << "walk read the PDPT from memory";
  EXPECT_EQ(phys, h.target());
  // Reloading CR3 (same value) loads the new PDPTE.
  ASSERT_TRUE(m.set_control(h.cr0(), h.cr3(), h.cr4(), h.efer()));
  EXPECT_FALSE(m.translate(lin, Access::Read, false, phys, f))
      << "CR3 reload did not load the PDPTEs";
  EXPECT_EQ(f.error, 0u);
  EXPECT_FALSE(m.translate(lin, Access::Exec, true, phys, f));
  EXPECT_EQ(f.error, pf::U | pf::ID);
}

}  // namespace
}  // namespace popek::mmu
