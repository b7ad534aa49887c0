// Self-modifying code through the run loop and the decoded-block cache (Cpu::run): a
// store into an instruction later in the same block, and into a block that already ran
// and is cached, must execute the new bytes (SDM vol. 3 §11.6).
#include <gtest/gtest.h>

#include "cpu/block_cache.h"
#include "tests/unit/cpu/sys_machine.h"

namespace popek::cpu {
namespace {

using test::SysMachine;

class Smc : public ::testing::Test {
 protected:
  void SetUp() override { m_.prot_mode(0); }
  CpuState& s() { return m_.s(); }
  // Runs from kCode until HLT (or a budget of 100 instructions).
  Cpu::RunExit run() { return m_.cpu().run(s().icount + 100); }
  SysMachine m_;
};

TEST_F(Smc, StoreIntoLaterInstructionOfTheSameBlock) {
  // 1000: mov byte [0x100B], 0x42   ; the low immediate byte of the MOV below
  // 1007: nop x4
  // 100A: mov eax, 0x11111111
  // 100F: hlt
  m_.put(0x1000, {0xC6, 0x05, 0x0B, 0x10, 0x00, 0x00, 0x42, 0x90, 0x90, 0x90,
                  0xB8, 0x11, 0x11, 0x11, 0x11, 0xF4});
  ASSERT_EQ(run(), Cpu::RunExit::Halted);
  EXPECT_EQ(s().eip, 0x1010u);
  EXPECT_EQ(s().gpr[EAX], 0x11111142u) << "the modified immediate must execute";
}

TEST_F(Smc, StoreIntoABlockThatAlreadyRan) {
  // 1000: call 0x2000
  // 1005: mov ebx, eax
  // 1007: mov byte [0x2001], 0x02   ; mov eax, 1 -> mov eax, 2
  // 100E: call 0x2000
  // 1013: hlt
  // 2000: mov eax, 1 ; ret
  m_.put(0x1000, {0xE8, 0xFB, 0x0F, 0x00, 0x00, 0x89, 0xC3, 0xC6, 0x05, 0x01, 0x20, 0x00,
                  0x00, 0x02, 0xE8, 0xED, 0x0F, 0x00, 0x00, 0xF4});
  m_.put(0x2000, {0xB8, 0x01, 0x00, 0x00, 0x00, 0xC3});
  ASSERT_EQ(run(), Cpu::RunExit::Halted);
  EXPECT_EQ(s().gpr[EBX], 1u) << "first call ran the original code";
  EXPECT_EQ(s().gpr[EAX], 2u) << "second call must run the modified code";
}

TEST_F(Smc, UnmodifiedCodeRunsFromTheCache) {
  // The same program without the store: both calls return 1, and the block at 0x2000 is
  // decoded once (the second call finds it in the cache).
  m_.put(0x1000, {0xE8, 0xFB, 0x0F, 0x00, 0x00, 0x89, 0xC3, 0x90, 0x90, 0x90, 0x90, 0x90,
                  0x90, 0x90, 0xE8, 0xED, 0x0F, 0x00, 0x00, 0xF4});
  m_.put(0x2000, {0xB8, 0x01, 0x00, 0x00, 0x00, 0xC3});
  ASSERT_EQ(run(), Cpu::RunExit::Halted);
  EXPECT_EQ(s().gpr[EBX], 1u);
  EXPECT_EQ(s().gpr[EAX], 1u);
  EXPECT_EQ(s().eip, 0x1014u);
  EXPECT_EQ(m_.cpu().blocks_decoded, 4u) << "1000, 2000, 1005, 1013: no block decoded twice";
}

TEST_F(Smc, StoreIntoTheBytesThatMadeAnInstructionInvalid) {
  // 1000: 0F 04 -- no such opcode: the block raises #UD. The decoder looked at more than
  // its first byte, so a store into the second byte (making it 0F 1F 00, a NOP) must
  // drop the block, or the new instruction would keep raising #UD.
  m_.put(0x1000, {0x0F, 0x04, 0x00, 0xF4});
  (void)run();
  const Block* bad = m_.cpu().find_block(0x1000, CodeMode::Prot32);
  ASSERT_NE(bad, nullptr);
  ASSERT_TRUE(bad->insns[0].bad) << "0F 04 decodes as invalid";
  ASSERT_EQ(m_.cpu().write_linear(0x1001, 1, 0x1F, false), Status::Ok);
  EXPECT_EQ(m_.cpu().find_block(0x1000, CodeMode::Prot32), nullptr)
      << "the store into byte 1 of the invalid instruction left its block cached";
}

}  // namespace
}  // namespace popek::cpu
