// The gdb stub's requests, one packet at a time (GdbStub::handle): what it offers, the
// target description, registers in QEMU's i386 layout, memory errors, breakpoints and
// watchpoints reaching the CPU and the softmmu, and monitor commands. A real gdb drives
// it end to end in tests/guest/gdb_session.sh.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "frontend/gdb_stub.h"
#include "frontend/machine.h"
#include "frontend/record_replay.h"
#include "temp_files.h"
#include "tiny_kernel.h"

namespace popek::frontend {
namespace {

class GdbPackets : public ::testing::Test {
 protected:
  GdbPackets() {
    MachineConfig c;
    c.ram_size = 4u << 20;
    c.kernel_path = files.write("kernel.bin", kludge_kernel({0xF4}));  // hlt
    c.serial = "none";
    machine = std::make_unique<Machine>(c);
    stub = std::make_unique<GdbStub>(*machine, "unix:" + files.path_for("gdb.sock"));
  }
  TempFiles files;
  std::unique_ptr<Machine> machine;
  std::unique_ptr<GdbStub> stub;
};

TEST_F(GdbPackets, OffersWhatGdbNeeds) {
  const std::string s = stub->handle("qSupported:multiprocess+;swbreak+;hwbreak+;xmlRegisters=i386");
  for (const char* f : {"qXfer:features:read+", "swbreak+", "hwbreak+", "QStartNoAckMode+", "PacketSize="})
    EXPECT_NE(s.find(f), std::string::npos) << f << " in " << s;
  EXPECT_EQ(stub->handle("vCont?"), "vCont;c;C;s;S");
  EXPECT_EQ(stub->handle("qAttached"), "1");
  EXPECT_EQ(stub->handle("qfThreadInfo"), "m01");
  EXPECT_EQ(stub->handle("qsThreadInfo"), "l");
  EXPECT_EQ(stub->handle("?"), "T05thread:01;");
  EXPECT_EQ(stub->handle("qNoSuchThing"), "") << "unknown requests get the empty reply";
  EXPECT_NE(s.find("ReverseStep+;ReverseContinue+"), std::string::npos) << s;
  // No client, so no checkpoint was ever taken: reverse execution is refused, not faked.
  EXPECT_EQ(stub->handle("bs"), "E01");
  EXPECT_EQ(stub->handle("bc"), "E01");
}

TEST_F(GdbPackets, TargetDescriptionInPieces) {
  std::string xml;
  for (size_t off = 0;;) {
    char req[64];
    snprintf(req, sizeof req, "qXfer:features:read:target.xml:%zx,%x", off, 0x100);
    const std::string part = stub->handle(req);
    ASSERT_FALSE(part.empty());
    xml += part.substr(1);
    off += part.size() - 1;
    if (part[0] == 'l') break;
    ASSERT_EQ(part[0], 'm');
  }
  EXPECT_NE(xml.find("<architecture>i386</architecture>"), std::string::npos);
  EXPECT_NE(xml.find("org.gnu.gdb.i386.core"), std::string::npos);
  size_t regs = 0;
  for (size_t p = 0; (p = xml.find("<reg ", p)) != std::string::npos; ++p) ++regs;
  EXPECT_EQ(regs, 41u);
  EXPECT_LT(xml.find("name=\"eflags\""), xml.find("name=\"cs\""));
  EXPECT_LT(xml.find("name=\"efer\""), xml.find("name=\"st0\""));
}

TEST_F(GdbPackets, Registers) {
  cpu::CpuState& s = machine->cpu().s;
  s.gpr[cpu::EBX] = 0x11223344;
  s.eip = 0x00100010;
  const std::string g = stub->handle("g");
  EXPECT_EQ(g.size(), 2u * (33 * 4 + 8 * 10));
  EXPECT_EQ(g.substr(3 * 8, 8), "44332211") << "ebx is register 3, little-endian";
  EXPECT_EQ(g.substr(8 * 8, 8), "10001000") << "eip";
  EXPECT_EQ(stub->handle("P0=78563412"), "OK");
  EXPECT_EQ(s.gpr[cpu::EAX], 0x12345678u);
  EXPECT_EQ(stub->handle("p0"), "78563412");
  EXPECT_EQ(stub->handle("p8"), "10001000");
  EXPECT_EQ(stub->handle("p29"), "E45") << "past the last register (0x28)";
  EXPECT_EQ(stub->handle("P0=1234"), "E22") << "too short";
  EXPECT_EQ(stub->handle("P17=01000000"), "E22") << "cr8 stays 0";
  // G writes them all back unchanged.
  EXPECT_EQ(stub->handle("G" + stub->handle("g")), "OK");
  EXPECT_EQ(stub->handle("g"), stub->handle("g"));
  EXPECT_EQ(s.gpr[cpu::EAX], 0x12345678u);
}

TEST_F(GdbPackets, Memory) {
  EXPECT_EQ(stub->handle("M1000,4:deadbeef"), "OK");
  EXPECT_EQ(machine->bus().read_phys(0x1000, 4), 0xEFBEADDEu);
  EXPECT_EQ(stub->handle("m1000,4"), "deadbeef");
  // Binary (the packet reader has undone gdb's '}' escapes: 0x7d is a '}' itself).
  EXPECT_EQ(stub->handle(std::string("X1004,2:\x01\x7d")), "OK");
  EXPECT_EQ(stub->handle("m1004,2"), "017d");
  EXPECT_EQ(stub->handle("mf0000000,4"), "E14") << "no memory there";
  EXPECT_EQ(stub->handle("m3ffffe,4"), "0000") << "a read that runs off RAM returns what it read";
  EXPECT_EQ(stub->handle("M1000,4:dead"), "E22");
}

// A record/replay log holds what enters from the host between blocks; a debugger's
// write would make a recording that does not replay, or a replay that strays: refused,
// and the guest left as it was. Reads, and gdb's zero-length probe of X, go on.
TEST(GdbPacketsUnderRr, WritesAreRefused) {
  TempFiles files;
  MachineConfig c;
  c.ram_size = 4u << 20;
  c.kernel_path = files.write("kernel.bin", kludge_kernel({0xF4}));
  c.serial = "none";
  c.rr_mode = RrMode::Record;
  c.rr_file = files.path_for("run.rr");
  RecordReplay rr(c);
  Machine m(c, InputMirror{}, &rr);
  GdbStub stub(m, "unix:" + files.path_for("gdb.sock"));
  const uint32_t eax = m.cpu().s.gpr[cpu::EAX];
  EXPECT_EQ(stub.handle("P0=78563412"), "E01");
  EXPECT_EQ(stub.handle("G" + std::string(2 * (33 * 4 + 8 * 10), '0')), "E01");
  EXPECT_EQ(m.cpu().s.gpr[cpu::EAX], eax);
  EXPECT_EQ(stub.handle("M1000,4:deadbeef"), "E01");
  EXPECT_EQ(stub.handle("X1000,1:a"), "E01");
  EXPECT_EQ(stub.handle("m1000,4"), "00000000") << "memory stays as it was";
  EXPECT_EQ(stub.handle("X1000,0:"), "OK");
  EXPECT_NE(stub.handle("g"), "E01");
}

TEST_F(GdbPackets, BreakpointsAndWatchpointsReachTheCpuAndTheMmu) {
  cpu::Cpu& c = machine->cpu();
  EXPECT_EQ(stub->handle("Z0,100010,1"), "OK");
  EXPECT_EQ(stub->handle("Z1,100020,1"), "OK");
  EXPECT_EQ(c.debug.breakpoints.size(), 2u);
  EXPECT_EQ(stub->handle("Z2,2000,4"), "OK");
  EXPECT_EQ(stub->handle("Z4,3000,1"), "OK");
  ASSERT_EQ(machine->mmu().watches().size(), 2u);
  EXPECT_EQ(machine->mmu().watches()[0].kind, mmu::Mmu::kWatchWrite);
  EXPECT_EQ(machine->mmu().watches()[1].kind, mmu::Mmu::kWatchAccess);
  EXPECT_TRUE(c.debug_on());
  EXPECT_EQ(stub->handle("z0,100010,1"), "OK");
  EXPECT_EQ(stub->handle("z1,100020,1"), "OK");
  EXPECT_EQ(stub->handle("z2,2000,4"), "OK");
  EXPECT_EQ(stub->handle("z4,3000,1"), "OK");
  EXPECT_FALSE(c.debug_on());
  EXPECT_TRUE(machine->mmu().watches().empty());
  EXPECT_EQ(stub->handle("Z2,2000,0"), "E22");
}

TEST_F(GdbPackets, MonitorCommandsPassThrough) {
  // "info registers" in hex; its text goes out as an O packet (no client here), the
  // reply is OK.
  std::string hex;
  for (char ch : std::string("info registers")) {
    char b[3];
    snprintf(b, sizeof b, "%02x", static_cast<unsigned char>(ch));
    hex += b;
  }
  EXPECT_EQ(stub->handle("qRcmd," + hex), "OK");
  EXPECT_EQ(stub->handle("qRcmd,zz"), "E22");
}


// Whatever a client sends, the stub answers without crashing and leaves the machine
// usable: random packets built from the commands' first letters and hex-ish arguments.
TEST_F(GdbPackets, RandomPacketsGetAnAnswer) {
  static const char* const kHeads[] = {"m", "M", "X", "g", "G", "p", "P", "Z0,", "Z2,", "z4,", "Z9,", "c", "s",
                                       "C", "S", "vCont;", "qXfer:features:read:target.xml:", "qRcmd,", "H", "?",
                                       "qSupported", "T", "vKill"};
  static const char kChars[] = "0123456789abcdefABCDEF,:;=-xq}#$\x03 ";
  uint64_t x = 0x9E3779B97F4A7C15ull;
  auto next = [&x] {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    return x;
  };
  for (int i = 0; i < 20000; ++i) {
    std::string p = kHeads[next() % (sizeof kHeads / sizeof kHeads[0])];
    const size_t len = next() % 24;
    for (size_t k = 0; k < len; ++k) p += kChars[next() % (sizeof kChars - 1)];
    if (p == "vKill" || p.rfind("qRcmd,", 0) == 0) continue;  // would end the run / run commands
    stub->handle(p);
    machine->cpu().debug = {};
    machine->cpu().update_watches();
  }
  EXPECT_EQ(stub->handle("?").substr(0, 3), "T05");
}

}  // namespace
}  // namespace popek::frontend
