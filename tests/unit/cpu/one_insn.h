// A CPU in 32-bit flat protected mode that executes single instructions given as bytes:
// decode with the real decoder, run the table's semantic function, commit EIP as the
// interpreter loop does. Used by the ALU unit tests and the host-CPU differential test.
#pragma once

#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <vector>

#include "bus/bus.h"
#include "cpu/cpu.h"
#include "cpu/decoder.h"
#include "mmu/mmu.h"

namespace popek::test {

class OneInsn {
 public:
  static constexpr uint32_t kRamSize = 1u << 20;
  static constexpr uint32_t kCodeAddr = 0x1000;

  OneInsn() : bus_(kRamSize), mmu_(bus_), cpu_(bus_, mmu_) {
    cpu::CpuState& s = cpu_.s;
    s.cr[0] |= cpu::cr0::PE;
    cpu_.set_cr0(s.cr[0]);
    const uint16_t common = cpu::attr::P | cpu::attr::S | cpu::attr::DB | cpu::attr::G |
                            cpu::attr::ACCESSED;
    for (unsigned i = 0; i < cpu::kNumSegRegs; ++i) {
      s.seg[i] = cpu::SegmentCache{0x10, static_cast<uint16_t>(common | cpu::attr::WRITABLE),
                                   0, 0xFFFFFFFFu, 1};
    }
    s.seg[cpu::CS] = cpu::SegmentCache{0x08,
                                      static_cast<uint16_t>(common | cpu::attr::CODE |
                                                            cpu::attr::READABLE),
                                      0, 0xFFFFFFFFu, 1};
    s.gpr[cpu::ESP] = 0x8000;
    cpu_.update_cpl();
  }

  cpu::Cpu& cpu() { return cpu_; }
  bus::Bus& bus() { return bus_; }
  uint8_t* ram() { return bus_.ram(); }

  // Decodes `bytes` at kCodeAddr and executes it. Returns the handler's status, or Fault
  // with exc.vector = #UD when the bytes do not decode to an implemented instruction.
  cpu::Status exec(const uint8_t* bytes, size_t len) {
    std::memcpy(ram() + kCodeAddr, bytes, len);
    cpu::CpuState& s = cpu_.s;
    s.eip = kCodeAddr;
    s.exc = cpu::PendingException{};
    if (decoder_.decode(bytes, len, cpu::CodeMode::Prot32, insn_) != cpu::DecodeResult::Ok ||
        !insn_.fn) {
      return cpu_.raise(cpu::vec::UD);
    }
    cpu_.current = &insn_;
    cpu_.set_next_eip(s.eip + insn_.len);
    const cpu::Status st = insn_.fn(cpu_, insn_);
    if (st == cpu::Status::Ok) {
      s.eip = cpu_.next_eip();
      ++s.icount;
    }
    cpu_.current = nullptr;
    return st;
  }
  cpu::Status exec(std::initializer_list<uint8_t> bytes) {
    const std::vector<uint8_t> v(bytes);
    return exec(v.data(), v.size());
  }

  const cpu::Insn& insn() const { return insn_; }

 private:
  bus::Bus bus_;
  mmu::Mmu mmu_;
  cpu::Cpu cpu_;
  cpu::Decoder decoder_;
  cpu::Insn insn_;
};

}  // namespace popek::test
