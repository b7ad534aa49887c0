// A small machine for the system-level CPU tests: RAM with a GDT, LDT, IDT and TSS built
// in guest memory, helpers to put the CPU in real mode or in protected mode at CPL 0 or 3,
// and two ways to run one instruction given as bytes:
//
//   exec(bytes)  decode at CS:EIP, call the semantic function, commit EIP on success; a
//                fault stays pending in s.exc (nothing is delivered), so a test can look at
//                the exception and at the state the instruction left behind.
//   step(bytes)  the same through Cpu::step, which delivers the exception (or double or
//                triple faults) as the run loop does.
//
// Failure messages: where() names the instruction bytes, CS:EIP and the mode; the
// Faulted()/Retired() predicates print both the expected and the actual outcome.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <initializer_list>
#include <string>
#include <vector>

#include "bus/bus.h"
#include "cpu/cpu.h"
#include "cpu/decoder.h"
#include "mmu/mmu.h"
#include "tests/unit/cpu/descriptors.h"

namespace popek::test {

class SysMachine {
 public:
  static constexpr uint32_t kRamSize = 2u << 20;
  static constexpr uint32_t kCode = 0x1000;
  static constexpr uint32_t kGdt = 0x10000;
  static constexpr uint32_t kIdt = 0x11000;
  static constexpr uint32_t kTss = 0x12000;
  static constexpr uint32_t kLdt = 0x13000;
  static constexpr uint32_t kStack0 = 0x9000;  // TSS ESP0
  static constexpr uint32_t kStack3 = 0x8000;  // ring-3 / ordinary stack pointer
  static constexpr uint16_t kGdtLimit = 0x20 * 8 - 1;

  // GDT layout.
  static constexpr uint16_t kCode0 = 0x08, kData0 = 0x10, kCode3 = 0x1B, kData3 = 0x23,
                            kTssSel = 0x28, kLdtSel = 0x30;
  // Index 8 and up are free for tests (selectors 0x40...0xF8).

  SysMachine() : bus_(kRamSize), mmu_(bus_), cpu_(bus_, mmu_) {}

  cpu::Cpu& cpu() { return cpu_; }
  cpu::CpuState& s() { return cpu_.s; }
  bus::Bus& bus() { return bus_; }
  mmu::Mmu& mmu() { return mmu_; }
  uint8_t* ram() { return bus_.ram(); }

  // --- memory
  void put(uint32_t phys, std::initializer_list<uint8_t> bytes) {
    std::memcpy(ram() + phys, std::data(bytes), bytes.size());
  }
  void put32(uint32_t phys, uint32_t v) { std::memcpy(ram() + phys, &v, 4); }
  void put16(uint32_t phys, uint16_t v) { std::memcpy(ram() + phys, &v, 2); }
  void put64(uint32_t phys, uint64_t v) { std::memcpy(ram() + phys, &v, 8); }
  uint32_t rd32(uint32_t phys) const {
    uint32_t v;
    std::memcpy(&v, bus_ram() + phys, 4);
    return v;
  }
  uint16_t rd16(uint32_t phys) const {
    uint16_t v;
    std::memcpy(&v, bus_ram() + phys, 2);
    return v;
  }
  uint8_t rd8(uint32_t phys) const { return bus_ram()[phys]; }

  // --- descriptor tables
  void set_gdt(unsigned index, uint64_t d) { put64(kGdt + index * 8, d); }
  void set_ldt(unsigned index, uint64_t d) { put64(kLdt + index * 8, d); }
  void set_idt(unsigned vector, uint64_t d) { put64(kIdt + vector * 8, d); }
  uint32_t gdt_hi(uint16_t sel) const { return rd32(kGdt + (sel & 0xFFF8) + 4); }

  // Real mode, CS = DS = ES = SS = 0, the IVT at 0, SP = kStack3.
  void real_mode() {
    cpu_.reset();
    for (unsigned i = 0; i < cpu::kNumSegRegs; ++i) cpu_.load_seg_real(i, 0);
    s().idtr = {0, 0x3FF};
    s().eip = kCode;
    s().gpr[cpu::ESP] = kStack3;
  }

  // Flat 32-bit protected mode at `cpl` (0 or 3) with the standard GDT, a 32-bit TSS
  // (ESP0 = kStack0, SS0 = kData0) loaded in TR, an empty IDT of 256 entries.
  void prot_mode(unsigned cpl = 0) {
    cpu_.reset();
    set_gdt(1, seg_desc(0, 0xFFFFF, acc::CODE_XR | acc::dpl(0), dflag::G | dflag::DB));
    set_gdt(2, seg_desc(0, 0xFFFFF, acc::DATA_RW | acc::dpl(0), dflag::G | dflag::DB));
    set_gdt(3, seg_desc(0, 0xFFFFF, acc::CODE_XR | acc::dpl(3), dflag::G | dflag::DB));
    set_gdt(4, seg_desc(0, 0xFFFFF, acc::DATA_RW | acc::dpl(3), dflag::G | dflag::DB));
    set_gdt(5, seg_desc(kTss, 0x67, acc::P | cpu::sys::TSS32_BUSY, 0));
    set_gdt(6, seg_desc(kLdt, 0xFF, acc::P | cpu::sys::LDT, 0));
    put32(kTss + 4, kStack0);
    put32(kTss + 8, kData0);
    put16(kTss + 0x66, 0x68);  // I/O bitmap base: past the limit (no bitmap)
    s().gdtr = {kGdt, kGdtLimit};
    s().idtr = {kIdt, 256 * 8 - 1};
    s().cr[0] |= cpu::cr0::PE;
    cpu_.set_cr0(s().cr[0]);
    const uint16_t cs = cpl == 3 ? kCode3 : kCode0;
    const uint16_t ds = cpl == 3 ? kData3 : kData0;
    load_cache(cpu::CS, cs);
    for (unsigned seg : {cpu::ES, cpu::SS, cpu::DS, cpu::FS, cpu::GS}) load_cache(seg, ds);
    cpu_.update_cpl();
    cpu::Descriptor t;
    t.lo = rd32(kGdt + kTssSel);
    t.hi = rd32(kGdt + kTssSel + 4);
    s().tr = cpu::SegmentCache{kTssSel, t.attr(), t.base(), t.limit(), 1};
    s().ldtr = cpu::SegmentCache{0, 0, 0, 0, 0};
    s().eip = kCode;
    s().gpr[cpu::ESP] = kStack3;
    s().eflags = cpu::flag::FIXED1;
  }

  // Load a segment cache straight from the GDT/LDT entry, without checks.
  void load_cache(unsigned seg, uint16_t sel) {
    const uint32_t base = (sel & 4) ? kLdt : kGdt;
    cpu::Descriptor d;
    d.lo = rd32(base + (sel & 0xFFF8));
    d.hi = rd32(base + (sel & 0xFFF8) + 4);
    s().seg[seg] = cpu::SegmentCache{sel, d.attr(), d.base(), d.limit(), 1};
    if (seg == cpu::CS) cpu_.update_cpl();
  }

  // Load LDTR with the standard LDT descriptor (GDT index 6).
  void use_ldt() {
    s().ldtr = cpu::SegmentCache{kLdtSel, static_cast<uint16_t>(acc::P | cpu::sys::LDT), kLdt, 0xFF, 1};
  }

  // Paging with one page table: linear = physical for the first 4 MiB, every page
  // present, writable and user (flags 7); set_pte changes one entry.
  static constexpr uint32_t kPd = 0x100000, kPt = 0x101000;
  void identity_paging() {
    put32(kPd, kPt | 7);
    for (uint32_t i = 0; i < 1024; ++i) put32(kPt + i * 4, (i << 12) | 7);
    cpu_.set_cr3(kPd);
    s().cr[0] |= cpu::cr0::PG;
    cpu_.set_cr0(s().cr[0]);
  }
  void set_pte(uint32_t linear, uint32_t pte) { put32(kPt + (linear >> 12) * 4, pte); }

  // --- running one instruction
  cpu::CodeMode mode() const {
    if (!(cpu_.s.cr[0] & cpu::cr0::PE) || (cpu_.s.eflags & cpu::flag::VM)) return cpu::CodeMode::Real16;
    return (cpu_.s.seg[cpu::CS].attr & cpu::attr::DB) ? cpu::CodeMode::Prot32 : cpu::CodeMode::Prot16;
  }

  // Copies `bytes` to CS:EIP (paging off or identity-mapped) and decodes them.
  bool prepare(std::initializer_list<uint8_t> bytes) {
    bytes_.assign(bytes.begin(), bytes.end());
    at_cs_ = s().seg[cpu::CS].selector;
    at_eip_ = s().eip;
    const uint32_t lin = s().seg[cpu::CS].base + s().eip;
    std::memcpy(ram() + lin, bytes_.data(), bytes_.size());
    s().exc = cpu::PendingException{};
    return decoder_.decode(bytes_.data(), bytes_.size(), mode(), insn_) == cpu::DecodeResult::Ok &&
           insn_.fn;
  }

  cpu::Status exec(std::initializer_list<uint8_t> bytes) {
    if (!prepare(bytes)) return cpu_.raise(cpu::vec::UD);
    cpu_.current = &insn_;
    uint32_t next = s().eip + insn_.len;
    if (mode() != cpu::CodeMode::Prot32) next &= 0xFFFF;
    cpu_.set_next_eip(next);
    const cpu::Status st = insn_.fn(cpu_, insn_);
    if (st == cpu::Status::Ok) {
      s().eip = cpu_.next_eip();
      ++s().icount;
    }
    cpu_.current = nullptr;
    return st;
  }

  // Runs the instruction through Cpu::step (exceptions delivered). Returns whether the
  // instruction retired.
  bool step(std::initializer_list<uint8_t> bytes) {
    if (!prepare(bytes)) {
      ADD_FAILURE() << "does not decode: " << where();
      return false;
    }
    const uint64_t before = s().icount;
    cpu_.step(insn_);
    return s().icount != before;
  }

  // "bytes 8e d8 at 0008:00001000 (prot32, CPL 0)"
  std::string where() const {
    std::string out = "bytes";
    for (uint8_t b : bytes_) {
      char h[4];
      snprintf(h, sizeof h, " %02x", b);
      out += h;
    }
    char buf[96];
    snprintf(buf, sizeof buf, " at %04x:%08x (%s, CPL %u)", at_cs_, at_eip_,
             mode() == cpu::CodeMode::Real16 ? "real" :
             mode() == cpu::CodeMode::Prot16 ? "prot16" : "prot32", cpu_.s.cpl);
    return out + buf;
  }

  uint32_t at_eip() const { return at_eip_; }

 private:
  const uint8_t* bus_ram() const { return const_cast<bus::Bus&>(bus_).ram(); }

  bus::Bus bus_;
  mmu::Mmu mmu_;
  cpu::Cpu cpu_;
  cpu::Decoder decoder_;
  cpu::Insn insn_;
  std::vector<uint8_t> bytes_;
  uint16_t at_cs_ = 0;
  uint32_t at_eip_ = 0;
};

inline const char* vector_name(uint8_t v) {
  static const char* const names[] = {"#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM",
                                      "#DF", "9",   "#TS", "#NP", "#SS", "#GP", "#PF"};
  return v < 15 ? names[v] : "vector";
}

inline std::string hex(uint32_t v) {
  char b[16];
  snprintf(b, sizeof b, "0x%x", v);
  return b;
}

// The instruction faulted with `vector` and error code `error` (no error code: pass -1),
// and EIP still points at it.
inline ::testing::AssertionResult Faulted(SysMachine& m, cpu::Status st, uint8_t vector,
                                          int64_t error) {
  const cpu::PendingException& e = m.s().exc;
  std::string want = std::string(vector_name(vector)) +
                     (error >= 0 ? "(" + hex(static_cast<uint32_t>(error)) + ")" : "");
  if (st != cpu::Status::Fault || !e.pending) {
    return ::testing::AssertionFailure()
           << m.where() << ": expected " << want << ", but status " << static_cast<int>(st)
           << " and no pending exception";
  }
  std::string got = std::string(vector_name(e.vector)) + (e.has_error ? "(" + hex(e.error) + ")" : "");
  const bool err_ok = error < 0 ? !e.has_error : (e.has_error && e.error == error);
  if (e.vector != vector || !err_ok) {
    return ::testing::AssertionFailure() << m.where() << ": expected " << want << ", got " << got;
  }
  if (m.s().eip != m.at_eip()) {
    return ::testing::AssertionFailure() << m.where() << ": " << got << " as expected but EIP "
                                         << hex(m.s().eip) << " moved from " << hex(m.at_eip());
  }
  return ::testing::AssertionSuccess();
}

inline ::testing::AssertionResult Retired(SysMachine& m, cpu::Status st) {
  if (st == cpu::Status::Ok) return ::testing::AssertionSuccess();
  const cpu::PendingException& e = m.s().exc;
  auto r = ::testing::AssertionFailure() << m.where() << ": expected to retire, got status "
                                         << static_cast<int>(st);
  if (e.pending) r << " with " << vector_name(e.vector) << (e.has_error ? "(" + hex(e.error) + ")" : "");
  return r;
}

}  // namespace popek::test
