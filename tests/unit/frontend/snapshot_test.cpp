// Machine snapshots (frontend/snapshot.h): save -> load -> save gives the same bytes on a
// machine with pending PIT, RTC and UART events and a turn split in the middle; the
// restored machine runs on to the same state; each kind of bad file is refused with a
// line naming what is wrong, leaving the machine as it was.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "frontend/machine.h"
#include "frontend/snapshot.h"
#include "temp_files.h"
#include "tiny_kernel.h"

namespace popek::frontend {
namespace {

using Bytes = std::vector<uint8_t>;

// 32-bit code, interrupts off: the PIT's channel 0 at 100 Hz, the RTC's periodic
// interrupt, COM1 in loopback with its FIFO on and the slowest divisor (a byte sent to
// itself arms the character timeout for 23 s), then `iterations` rounds of a loop that
// acknowledges the RTC (so its events go on) and sums into EBX, and exit 33.
// Without the RTC (`rtc` false) the turns are a slice long (the PIT's period is longer).
Bytes guest(uint32_t iterations, bool rtc = true) {
  Bytes c = {
      0xB0, 0x34, 0xE6, 0x43, 0xB0, 0x9C, 0xE6, 0x40, 0xB0, 0x2E, 0xE6, 0x40,  // PIT ch0 mode 2
      0xB0, 0x0B, 0xE6, 0x70, 0xB0, static_cast<uint8_t>(rtc ? 0x42 : 0x02), 0xE6, 0x71,  // RTC B = PIE|24h
      0x66, 0xBA, 0xFB, 0x03, 0xB0, 0x80, 0xEE,                                // LCR = DLAB
      0x66, 0xBA, 0xF8, 0x03, 0xB0, 0xFF, 0xEE,                                // DLL = FF
      0x66, 0xBA, 0xF9, 0x03, 0xEE,                                            // DLM = FF
      0x66, 0xBA, 0xFB, 0x03, 0xB0, 0x03, 0xEE,                                // LCR = 8N1
      0x66, 0xBA, 0xFA, 0x03, 0xB0, 0xC1, 0xEE,                                // FCR: FIFO, 14
      0x66, 0xBA, 0xFC, 0x03, 0xB0, 0x10, 0xEE,                                // MCR: loopback
      0x66, 0xBA, 0xF8, 0x03, 0xB0, 0x41, 0xEE,                                // THR = 'A'
      0xB9,                                                                    // mov ecx, N
  };
  for (int i = 0; i < 4; ++i) c.push_back(static_cast<uint8_t>(iterations >> (8 * i)));
  const Bytes loop = {
      0xB0, 0x0C, 0xE6, 0x70, 0xE4, 0x71,  // read RTC register C
      0x01, 0xCB,                          // add ebx, ecx
      0x49,                                // dec ecx
      0x75, 0xF5,                          // jnz loop
      0xB0, 0x10, 0xE6, 0xF4, 0xF4,        // exit 33
  };
  c.insert(c.end(), loop.begin(), loop.end());
  return c;
}

class Snapshot : public ::testing::Test {
 protected:
  MachineConfig config(Engine engine = Engine::Interp) {
    MachineConfig c;
    c.ram_size = 4u << 20;
    c.kernel_path = kernel_path.empty() ? (kernel_path = files.write("kernel.bin", kludge_kernel(guest(400'000))))
                                        : kernel_path;
    c.debugcon = "none";
    c.serial = "none";
    c.engine = engine;
    return c;
  }
  // Run `m` into the middle of a turn past `icount`.
  static void run_into(Machine& m, uint64_t icount) {
    while (m.cpu().s.icount < icount) ASSERT_FALSE(m.run_step(Machine::kSlice).done);
    ASSERT_FALSE(m.run_step(777).done);  // a turn split: the snapshot holds the rest of it
  }
  static Bytes read(const std::string& path) {
    const std::string s = slurp(path);
    return Bytes(s.begin(), s.end());
  }
  static void write(const std::string& path, const Bytes& b) {
    FILE* f = fopen(path.c_str(), "wb");
    ASSERT_NE(f, nullptr);
    fwrite(b.data(), 1, b.size(), f);
    fclose(f);
  }
  // Offset of the first payload byte of section `name` in a snapshot file.
  static size_t payload_of(const Bytes& file, const std::string& name) {
    std::string hay(file.begin(), file.end());
    const std::string needle = std::string(1, static_cast<char>(name.size())) + std::string(1, '\0') + name;
    const size_t at = hay.find(needle);
    EXPECT_NE(at, std::string::npos) << name;
    return at + needle.size() + 4 + 8 + 8;
  }
  static std::string load_error(Machine& m, const std::string& path) {
    try {
      m.load_snapshot(path);
    } catch (const SnapshotError& e) {
      return e.what();
    }
    return "(loaded)";
  }

  TempFiles files;
  std::string kernel_path;
};

TEST_F(Snapshot, SaveLoadSaveGivesIdenticalBytesAndTheSameRun) {
  for (const Engine saver : {Engine::Interp, Engine::Jit}) {
    for (const Engine loader : {Engine::Interp, Engine::Jit}) {
      SCOPED_TRACE(std::string(saver == Engine::Jit ? "jit" : "interp") + " -> " +
                   (loader == Engine::Jit ? "jit" : "interp"));
      Machine a(config(saver));
      run_into(a, 1'000'000);
      // The snapshot catches events of all three timer-driven devices in flight.
      std::vector<std::string> pending;
      for (const auto& e : a.bus().clock().save().events) pending.push_back(e.name);
      for (const char* t : {"pit-ch0", "rtc", "uart3f8-timeout"})
        EXPECT_NE(std::find(pending.begin(), pending.end(), t), pending.end()) << t;
      const std::string f1 = files.path_for("one.snap"), f2 = files.path_for("two.snap");
      a.save_snapshot(f1);
      Machine b(config(loader));
      b.load_snapshot(f1);
      EXPECT_EQ(b.state_hash(), a.state_hash());
      b.save_snapshot(f2);
      const Bytes one = read(f1), two = read(f2);
      ASSERT_GT(one.size(), 0u);
      // (The header notes the engine that saved.)
      if (saver == loader) {
        EXPECT_TRUE(one == two) << "save -> load -> save changed the bytes";
      }
      EXPECT_EQ(a.run(), 33);
      EXPECT_EQ(b.run(), 33);
      EXPECT_EQ(b.cpu().s.icount, a.cpu().s.icount);
      EXPECT_EQ(b.state_hash(), a.state_hash());
    }
  }
}

// A snapshot taken in the middle of a turn goes on with that turn: the next turn starts
// where it would have (a new turn from the load would end a slice later).
TEST_F(Snapshot, ALoadedTurnGoesOn) {
  kernel_path = files.write("kernel.bin", kludge_kernel(guest(400'000, false)));
  for (const Engine engine : {Engine::Interp, Engine::Jit}) {
    Machine a(config(engine));
    // 300,000 instructions into the first turn, which ends at 1,000,000.
    while (a.cpu().s.icount < 300'000) ASSERT_FALSE(a.run_step(10'000).done);
    const std::string f = files.path_for("s.snap");
    a.save_snapshot(f);
    Machine b(config(engine));
    b.load_snapshot(f);
    ASSERT_FALSE(a.run_step(Machine::kSlice).done);
    ASSERT_FALSE(b.run_step(Machine::kSlice).done);
    EXPECT_EQ(b.cpu().s.icount, a.cpu().s.icount);
    // And through run(): the same end.
    Machine c(config(engine));
    c.load_snapshot(f);
    EXPECT_EQ(c.run(), 33);
    EXPECT_EQ(a.run(), 33);
    EXPECT_EQ(c.state_hash(), a.state_hash());
  }
}

// In-memory checkpoints (reverse execution) keep RAM as pages shared with the checkpoint
// given as `like` where equal; loading one brings back RAM and everything else exactly,
// whatever was written in between, and the run goes on as it did.
TEST_F(Snapshot, CheckpointsSharePagesAndLoadExactly) {
  for (const Engine engine : {Engine::Interp, Engine::Jit}) {
    SCOPED_TRACE(engine == Engine::Jit ? "jit" : "interp");
    Machine m(config(engine));
    run_into(m, 100'000);
    const uint8_t* ram = m.bus().ram();
    // A page the guest never touches (its code and data are below 1 MiB + a few pages),
    // written as a loader writes (marked dirty).
    const size_t spare = 3u << 20;
    ASSERT_TRUE(m.bus().fill(spare, 0x5A, 4096));
    const Machine::Checkpoint one = m.take_checkpoint(nullptr);
    const uint64_t hash_one = m.state_hash(), icount_one = m.cpu().s.icount;
    ASSERT_EQ(one.ram->size(), (4u << 20) / 4096);
    ASSERT_NE((*one.ram)[spare / 4096], nullptr);
    EXPECT_EQ((*one.ram)[spare / 4096 + 1], nullptr) << "a zero page was copied";

    run_into(m, 300'000);
    ASSERT_TRUE(m.bus().fill(spare + 7, 0xA5, 1));  // one byte of the spare page changes
    const Machine::Checkpoint two = m.take_checkpoint(&one);
    const uint64_t hash_two = m.state_hash();
    EXPECT_NE((*two.ram)[spare / 4096], (*one.ram)[spare / 4096]) << "a changed page was shared";
    size_t shared = 0;
    for (size_t p = 0; p < two.ram->size(); ++p) shared += (*two.ram)[p] && (*two.ram)[p] == (*one.ram)[p];
    EXPECT_GE(shared, 1u) << "no unchanged page was shared";

    ASSERT_TRUE(m.bus().fill(spare + 4096, 0x77, 4096));  // written after both: must go on load
    m.load_checkpoint(one);
    EXPECT_EQ(m.cpu().s.icount, icount_one);
    EXPECT_EQ(m.state_hash(), hash_one);
    EXPECT_EQ(ram[spare + 7], 0x5A);
    EXPECT_EQ(ram[spare + 4096], 0);
    m.load_checkpoint(two);
    EXPECT_EQ(m.state_hash(), hash_two);
    // And the run from a loaded checkpoint is the run.
    m.load_checkpoint(one);
    Machine ref(config(engine));
    run_into(ref, 100'000);
    ASSERT_TRUE(ref.bus().fill(spare, 0x5A, 4096));
    EXPECT_EQ(ref.state_hash(), hash_one);
    EXPECT_EQ(m.run(), 33);
    EXPECT_EQ(ref.run(), 33);
    EXPECT_EQ(m.state_hash(), ref.state_hash());
  }
}

TEST_F(Snapshot, ZeroPagesAreLeftOut) {
  Machine a(config());
  run_into(a, 10'000);
  const std::string f = files.path_for("s.snap");
  a.save_snapshot(f);
  const Bytes b = read(f);
  const size_t at = payload_of(b, "ram");
  uint64_t len = 0;
  for (int i = 0; i < 8; ++i) len |= uint64_t{b[at - 16 + i]} << (8 * i);
  // The RAM size, then (number, bytes) of the few pages the loader wrote (the kernel's
  // code, the multiboot information): 4 MiB of RAM is 1024 pages.
  EXPECT_EQ((len - 8) % (4 + 4096), 0u);
  EXPECT_GE((len - 8) / (4 + 4096), 1u);
  EXPECT_LE((len - 8) / (4 + 4096), 4u) << "zero pages were saved";
}

TEST_F(Snapshot, CorruptSectionIsNamed) {
  Machine a(config());
  run_into(a, 100'000);
  const std::string f = files.path_for("s.snap");
  a.save_snapshot(f);
  Bytes b = read(f);
  b[payload_of(b, "dev.pit") + 3] ^= 0x40;
  write(f, b);
  Machine m(config());
  const uint64_t before = m.state_hash();
  EXPECT_EQ(load_error(m, f), f + ": section dev.pit is corrupt (checksum mismatch)");
  EXPECT_EQ(m.state_hash(), before);
}

TEST_F(Snapshot, UnknownVersionsAreNamed) {
  Machine a(config());
  run_into(a, 100'000);
  const std::string f = files.path_for("s.snap");
  a.save_snapshot(f);
  const Bytes good = read(f);
  Bytes b = good;
  b[8] = 99;  // the format version
  write(f, b);
  Machine m(config());
  EXPECT_EQ(load_error(m, f), f + ": snapshot format version 99 is unknown (this popek reads version 1)");
  b = good;
  b[payload_of(b, "dev.rtc") - 20] = 77;  // the section's version
  write(f, b);
  EXPECT_EQ(load_error(m, f), f + ": section dev.rtc has version 77; this popek reads version 1");
  b = good;
  b[0] = 'X';
  write(f, b);
  EXPECT_EQ(load_error(m, f), f + ": not a popek snapshot (bad magic)");
  b = good;
  b.resize(b.size() - 100);
  write(f, b);
  EXPECT_NE(load_error(m, f).find("is truncated"), std::string::npos);
}

TEST_F(Snapshot, ChangedImageIsNamed) {
  Machine a(config());
  run_into(a, 100'000);
  const std::string f = files.path_for("s.snap");
  a.save_snapshot(f);
  // The same kernel file with one more loop round: loads, but is not the saved run's.
  files.write("kernel.bin", kludge_kernel(guest(400'001)));
  Machine m(config());
  const std::string err = load_error(m, f);
  EXPECT_EQ(err.find(f + ": the -kernel image " + kernel_path + " differs from the image the snapshot was taken with"), 0u)
      << err;
}

TEST_F(Snapshot, DifferentMachineIsNamed) {
  Machine a(config());
  run_into(a, 100'000);
  const std::string f = files.path_for("s.snap");
  a.save_snapshot(f);
  MachineConfig c = config();
  c.ram_size = 8u << 20;
  Machine m(c);
  EXPECT_EQ(load_error(m, f), f + ": guest RAM (-m, bytes) differs: the snapshot has \"4194304\", this machine \"8388608\"");
  c = config();
  c.serial_extra = {"none"};
  Machine two_ports(c);
  EXPECT_NE(load_error(two_ports, f).find("the number of serial ports (-serial) differs"), std::string::npos);
}

TEST_F(Snapshot, DisksWrittenInPlaceAreRefusedAndOverlaysAreSaved) {
  const std::string disk = files.write("disk.img", Bytes(64 * 512, 0x5A));
  MachineConfig c = config();
  c.drives.push_back({disk, 0, false});
  {
    Machine m(c);
    try {
      m.save_snapshot(files.path_for("s.snap"));
      FAIL() << "saved a machine whose disk is written in place";
    } catch (const SnapshotError& e) {
      EXPECT_NE(std::string(e.what()).find("the disk -hda " + disk + " is written in place"), std::string::npos)
          << e.what();
    }
  }
  c.snapshot = true;
  Machine a(c);
  uint8_t sector[512];
  std::memset(sector, 0xC3, sizeof sector);
  ASSERT_TRUE(a.disks()[0]->write(5, sector));  // as the guest's IDE write would
  const std::string f = files.path_for("s.snap");
  a.save_snapshot(f);
  Machine b(c);
  uint8_t other[512];
  std::memset(other, 0x11, sizeof other);
  ASSERT_TRUE(b.disks()[0]->write(6, other));  // written since start: gone after the load
  b.load_snapshot(f);
  uint8_t got[512];
  ASSERT_TRUE(b.disks()[0]->read(5, got));
  EXPECT_EQ(got[0], 0xC3);
  ASSERT_TRUE(b.disks()[0]->read(6, got));
  EXPECT_EQ(got[0], 0x5A);
  // The same drive written in place cannot take a snapshot's overlay either.
  c.snapshot = false;
  c.drives[0].readonly = true;
  Machine ro(c);
  EXPECT_NE(load_error(ro, f).find("the disks (index:sectors:mode) differs"), std::string::npos);
}

}  // namespace
}  // namespace popek::frontend
