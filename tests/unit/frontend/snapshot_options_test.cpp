// How a user saves and loads snapshots: the command line (-loadvm, -savevm-at,
// -savevm-on-exit), the monitor's savevm/loadvm and the console's Ctrl-A w.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "devices/char_backend.h"
#include "frontend/cli.h"
#include "frontend/machine.h"
#include "frontend/monitor.h"
#include "frontend/snapshot.h"
#include "temp_files.h"
#include "tiny_kernel.h"

namespace popek::frontend {
namespace {

using Args = std::vector<std::string>;

class SnapshotOptions : public ::testing::Test {
 protected:
  void SetUp() override {
    kernel = files.write("k.elf", std::string("not checked here"));
    disk = files.write("disk.img", std::vector<uint8_t>(4096, 0));
  }
  std::string error_of(Args a) {
    a.insert(a.begin(), {"-kernel", kernel});
    const CliResult r = parse_cli(a);
    EXPECT_TRUE(r.exit);
    EXPECT_EQ(r.status, 1);
    EXPECT_EQ(r.error.find('\n'), std::string::npos) << r.error;
    return r.error;
  }
  MachineConfig config_of(Args a) {
    a.insert(a.begin(), {"-kernel", kernel});
    const CliResult r = parse_cli(a);
    EXPECT_FALSE(r.exit) << r.error;
    return r.config;
  }
  TempFiles files;
  std::string kernel, disk;
};

TEST_F(SnapshotOptions, Parsed) {
  const MachineConfig c = config_of({"-loadvm", "a.snap", "-savevm-at", "300000000,b.snap",
                                     "-savevm-on-exit", "c.snap"});
  EXPECT_EQ(c.loadvm, "a.snap");
  EXPECT_EQ(c.savevm_at_icount, 300000000u);
  EXPECT_EQ(c.savevm_at_path, "b.snap");
  EXPECT_EQ(c.savevm_on_exit, "c.snap");
  EXPECT_EQ(config_of({"-savevm-at", "0x1000,x"}).savevm_at_icount, 0x1000u);
}

TEST_F(SnapshotOptions, BadValuesAreErrorsNamingTheOption) {
  for (const char* bad : {"12", "12,", ",f", "-5,f", "12x,f", ""}) {
    EXPECT_EQ(error_of({"-savevm-at", bad}).rfind("popek: -savevm-at", 0), 0u) << bad;
  }
  EXPECT_EQ(error_of({"-loadvm", ""}), "popek: -loadvm: empty file name");
  EXPECT_EQ(error_of({"-savevm-on-exit", ""}), "popek: -savevm-on-exit: empty file name");
  EXPECT_EQ(error_of({"-loadvm", "a", "--lockstep"}), "popek: -loadvm and -savevm-* cannot be used with --lockstep");
  EXPECT_EQ(error_of({"-loadvm", "a", "-icount", "rr=record,rrfile=" + files.path_for("rr.log")}),
            "popek: -loadvm cannot be used with -icount rr=record|replay (a recording starts at power-on)");
}

TEST_F(SnapshotOptions, SavingADiskWrittenInPlaceIsRefusedUpFront) {
  EXPECT_EQ(error_of({"-hda", disk, "-savevm-on-exit", "s"}),
            "popek: -savevm-on-exit: the disk " + disk +
                " is written in place, so a snapshot could not restore it; use -snapshot or readonly=on");
  EXPECT_NE(error_of({"-hda", disk, "-savevm-at", "5,s"}).find("-savevm-at: the disk " + disk), std::string::npos);
  config_of({"-hda", disk, "-snapshot", "-savevm-on-exit", "s"});
  config_of({"-drive", "file=" + disk + ",format=raw,if=ide,index=1,readonly=on", "-savevm-on-exit", "s"});
}

TEST(SnapshotMonitor, SavevmAndLoadvm) {
  TempFiles files;
  MachineConfig c;
  c.ram_size = 4u << 20;
  // inc eax; jmp back: every run_step changes EAX.
  c.kernel_path = files.write("kernel.bin", kludge_kernel({0x40, 0xEB, 0xFD}));
  c.serial = "none";
  Machine m(c);
  Monitor monitor(m, "none");
  ASSERT_FALSE(m.run_step(1000).done);
  const uint32_t eax = m.cpu().s.gpr[cpu::EAX];
  const uint64_t hash = m.state_hash();
  const std::string f = files.path_for("m.snap");
  EXPECT_EQ(monitor.execute("savevm " + f), "");
  ASSERT_FALSE(m.run_step(1000).done);
  EXPECT_NE(m.cpu().s.gpr[cpu::EAX], eax);
  EXPECT_EQ(monitor.execute("loadvm " + f), "");
  EXPECT_EQ(m.cpu().s.gpr[cpu::EAX], eax);
  EXPECT_EQ(m.state_hash(), hash);
  EXPECT_EQ(monitor.execute("loadvm"), "loadvm: expected one FILE\n");
  const std::string missing = files.path_for("missing.snap");
  EXPECT_EQ(monitor.execute("loadvm " + missing).rfind("loadvm: " + missing + ": ", 0), 0u);
  EXPECT_NE(std::string(monitor.execute("help")).find("savevm FILE"), std::string::npos);
}

TEST(SnapshotEscape, CtrlAWAsksForASnapshotOnce) {
  devices::EscapeDecoder d;
  uint8_t out = 0;
  EXPECT_EQ(d.feed(0x01, out), devices::EscapeDecoder::Action::None);
  EXPECT_EQ(d.feed('w', out), devices::EscapeDecoder::Action::Save);
  EXPECT_NE(std::string(devices::EscapeDecoder::help()).find("C-a w"), std::string::npos);
  // On a terminal the stdio backend turns it into one request, which the machine takes
  // between two blocks (Machine::look_at_host).
  const int master = posix_openpt(O_RDWR | O_NOCTTY);
  if (master < 0 || grantpt(master) != 0 || unlockpt(master) != 0) GTEST_SKIP() << "no pseudo-terminals here";
  const int slave = open(ptsname(master), O_RDWR | O_NOCTTY);
  ASSERT_GE(slave, 0);
  {
    devices::StdioBackend b(stdout, slave);
    b.pump();  // raw mode
    EXPECT_FALSE(b.take_save_request());
    ASSERT_EQ(write(master, "\x01w", 2), 2);
    usleep(20000);
    b.pump();
    EXPECT_TRUE(b.take_save_request());
    EXPECT_FALSE(b.take_save_request());
    EXPECT_FALSE(b.input_ready()) << "the escape reached the guest";
    devices::restore_terminal();
  }
  close(slave);
  close(master);
}

}  // namespace
}  // namespace popek::frontend

namespace popek::frontend {
namespace {

// A debugger's stop inside a block: the CPU would go on with the rest of the block, a
// loaded snapshot would start a block there; the save is refused, and allowed again once
// the guest has run on to a block boundary.
TEST(SnapshotDebugStop, RefusedInsideABlock) {
  TempFiles files;
  MachineConfig c;
  c.ram_size = 4u << 20;
  c.kernel_path = files.write("kernel.bin", kludge_kernel({0x40, 0x40, 0x40, 0xEB, 0xFB}));  // inc eax x3; jmp
  c.serial = "none";
  Machine m(c);
  m.cpu().debug.breakpoints.push_back(0x100021);  // the second inc
  Machine::RunStep r = m.run_step(1000);
  ASSERT_FALSE(r.done);
  ASSERT_TRUE(m.cpu().in_block());
  const std::string f = files.path_for("s.snap");
  try {
    m.save_snapshot(f);
    FAIL() << "saved in the middle of a block";
  } catch (const SnapshotError& e) {
    EXPECT_NE(std::string(e.what()).find("in the middle of a block"), std::string::npos) << e.what();
  }
  m.cpu().debug.breakpoints.clear();
  ASSERT_FALSE(m.run_step(10).done);
  ASSERT_FALSE(m.cpu().in_block());
  m.save_snapshot(f);
}

}  // namespace
}  // namespace popek::frontend
