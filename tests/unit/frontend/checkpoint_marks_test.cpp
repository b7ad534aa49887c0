// Checkpoints and the bus's dirty marks (Machine::take_checkpoint, bus/bus.h): a checkpoint
// shares the pages of the last one that are not marked, without comparing them, so a
// write that reaches RAM without a mark would leave a stale page in every later
// checkpoint. The bare-metal guest programs (tests/guest/) write RAM every way a guest
// can: stores through the TLB's fast path and generated code, the slow path, page walks
// setting accessed and dirty bits, interrupt and task-switch frames, string instructions,
// code that rewrites itself. Each runs on both engines with a checkpoint every few
// thousand instructions; every checkpoint must hold RAM exactly, and loading an older one
// must bring RAM back exactly and then run on to the end as the uninterrupted run does.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "frontend/machine.h"
#include "temp_files.h"
#include "tiny_kernel.h"

namespace popek::frontend {
namespace {

MachineConfig config(const std::string& kernel, Engine engine) {
  MachineConfig c;
  c.ram_size = 16u << 20;
  c.kernel_path = kernel;
  c.debugcon = "none";
  c.serial = "none";
  c.engine = engine;
  c.rtc_base = RtcBase::Fixed;  // the same start for the reference run
  c.rtc_fixed_epoch = 1'700'000'000;
  return c;
}

// The first page where `cp` and RAM differ, or -1.
long first_difference(Machine& m, const Machine::Checkpoint& cp) {
  static const Machine::RamPage kZero{};
  const uint8_t* ram = m.bus().ram();
  for (size_t p = 0; p < cp.ram->size(); ++p) {
    const uint8_t* want = (*cp.ram)[p] ? (*cp.ram)[p]->data() : kZero.data();
    if (std::memcmp(ram + p * 4096, want, 4096) != 0) return static_cast<long>(p);
  }
  return -1;
}

// Run `kernel` to its end with about 64 checkpoints, each checked against RAM; load the
// 20th and run to the end again, checkpointing on; the end must be the reference's.
void checkpoint_all_along(const std::string& kernel) {
  for (const Engine engine : {Engine::Interp, Engine::Jit}) {
    SCOPED_TRACE(engine == Engine::Jit ? "jit" : "interp");
    Machine ref(config(kernel, engine));
    const int want_status = ref.run();
    const uint64_t want_hash = ref.state_hash();
    const uint64_t every = std::max<uint64_t>(ref.cpu().s.icount / 64, 1);

    Machine m(config(kernel, engine));
    Machine::Checkpoint last, early;
    unsigned taken = 0;
    Machine::RunStep step;
    while (!(step = m.run_step(every)).done) {
      last = m.take_checkpoint(taken ? &last : nullptr);
      ASSERT_EQ(first_difference(m, last), -1)
          << "checkpoint " << taken << " at instruction " << m.cpu().s.icount
          << ": this page of RAM was written without a dirty mark";
      if (++taken == 20) early = last;
    }
    ASSERT_GT(taken, 20u) << "the guest ran too few turns to test anything";
    ASSERT_EQ(step.status, want_status);

    // Back to an early checkpoint (the marks now count from there), and on to the end.
    m.load_checkpoint(early);
    ASSERT_EQ(first_difference(m, early), -1) << "a load left a page as it was";
    last = early;
    unsigned again = 0;
    while (!(step = m.run_step(every)).done) {
      if (++again % 3) continue;
      last = m.take_checkpoint(&last);
      ASSERT_EQ(first_difference(m, last), -1) << "after the load, at instruction " << m.cpu().s.icount;
    }
    EXPECT_EQ(step.status, want_status);
    EXPECT_EQ(m.state_hash(), want_hash) << "the run from a loaded checkpoint is not the run";
  }
}

class CheckpointMarks : public ::testing::TestWithParam<const char*> {};

TEST_P(CheckpointMarks, CheckpointsHoldRamExactly) {
  checkpoint_all_along(std::string(POPEK_GUEST_DIR) + "/" + GetParam() + ".elf");
}

// Code kept across a load (decoded blocks, host code) must not outlive the bytes it was
// decoded from: half-way through, this loop rewrites its first MOV's immediate once, so
// the code cached at the end is not the code of the checkpoint loaded (taken before), and
// nothing writes it again before it runs.
TEST(CheckpointCode, CodeWrittenSinceALoadedCheckpointIsDecodedAgain) {
  const std::vector<uint8_t> code = {
      0xB9, 0x20, 0x4E, 0x00, 0x00,                                // 100020: mov ecx, 20000
      0xB8, 0x01, 0x00, 0x00, 0x00,                                // 100025: mov eax, 1
      0x01, 0xC3,                                                  //         add ebx, eax
      0x81, 0xF9, 0x10, 0x27, 0x00, 0x00,                          //         cmp ecx, 10000
      0x75, 0x0A,                                                  //         jne 10003e
      0xC7, 0x05, 0x26, 0x00, 0x10, 0x00, 0x02, 0x00, 0x00, 0x00,  //         mov dword [100026], 2
      0x49,                                                        // 10003e: dec ecx
      0x75, 0xE4,                                                  //         jnz 100025
      0xB0, 0x10, 0xE6, 0xF4, 0xF4,                                //         exit 33
  };
  TempFiles files;
  checkpoint_all_along(files.write("kernel.bin", kludge_kernel(code)));
}

INSTANTIATE_TEST_SUITE_P(Guests, CheckpointMarks,
                         ::testing::Values("paging_ad", "paging_smc", "paging_tlb", "smc_page", "string", "tasks",
                                           "v86", "exceptions", "rings", "gdb_target"),
                         [](const auto& info) { return std::string(info.param); });

}  // namespace
}  // namespace popek::frontend
