// The Machine's run loop end to end on tiny multiboot kernels: exit port, HLT, reset with
// and without -no-reboot, host signals. Needs the interpreter (cpu/).
#include <gtest/gtest.h>

#include <algorithm>
#include <csignal>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "devices/keys.h"
#include "frontend/loader.h"
#include "frontend/machine.h"
#include "temp_files.h"
#include "tiny_kernel.h"

namespace popek::frontend {
namespace {

using Bytes = std::vector<uint8_t>;

class MachineRun : public ::testing::Test {
 protected:
  MachineConfig config(const Bytes& code) {
    MachineConfig c;
    c.ram_size = 4u << 20;
    c.kernel_path = files.write("kernel.bin", kludge_kernel(code));
    debugcon_path = files.path_for("debugcon.txt");
    serial_path = files.path_for("serial.txt");
    c.debugcon = "file:" + debugcon_path;
    c.serial = "file:" + serial_path;
    return c;
  }

  TempFiles files;
  std::string debugcon_path, serial_path;
};

TEST_F(MachineRun, ExitPortGivesTheStatusAndOutputReachesTheBackends) {
  const Bytes code = {
      0xB0, 'A', 0xE6, 0xE9,              // mov al,'A'; out 0xE9,al
      0x66, 0xBA, 0xF8, 0x03,             // mov dx,0x3F8
      0xB0, 'S', 0xEE,                    // mov al,'S'; out dx,al
      0xB0, 0x10, 0xE6, 0xF4,             // mov al,0x10; out 0xF4,al
      0xF4,                               // hlt (not reached)
  };
  {
    Machine m(config(code));
    EXPECT_EQ(m.run(), 33);
  }
  EXPECT_EQ(slurp(debugcon_path), "A");
  EXPECT_EQ(slurp(serial_path), "S");
}

TEST_F(MachineRun, MovedExitPort) {
  MachineConfig c = config({0x66, 0xBA, 0x01, 0x05, 0xB0, 0x02, 0xEE, 0xF4});  // out 0x501, 2
  c.debug_exit_iobase = 0x501;
  c.debug_exit_iosize = 2;
  Machine m(c);
  EXPECT_EQ(m.run(), 5);
}

TEST_F(MachineRun, HaltWithNoInterruptSourceStopsWithStatusZero) {
  Machine m(config({0xFA, 0xF4}));  // cli; hlt
  EXPECT_EQ(m.run(), 0);
  EXPECT_EQ(m.cpu().s.eip, 0x100000u + 32 + 2);
}

TEST_F(MachineRun, ResetWithNoRebootExitsZero) {
  MachineConfig c = config({0xB0, 0x01, 0xE6, 0x92, 0xF4});  // port 0x92 bit 0
  c.no_reboot = true;
  Machine m(c);
  EXPECT_EQ(m.run(), 0);
  EXPECT_EQ(m.bus().stop_reason(), bus::StopReason::Reset);
}

TEST_F(MachineRun, ResetRebootsAndReloadsTheKernel) {
  const Bytes code = {
      0x80, 0x3D, 0x00, 0x05, 0x00, 0x00, 0x00,  // cmp byte [0x500],0
      0x75, 0x0F,                                // jne second
      0xC6, 0x05, 0x00, 0x05, 0x00, 0x00, 0x01,  // mov byte [0x500],1
      0xB0, 'R', 0xE6, 0xE9,                     // mov al,'R'; out 0xE9,al
      0xB0, 0x01, 0xE6, 0x92,                    // reset through port 0x92 (A20 off too)
      0xB0, 'X', 0xE6, 0xE9,                     // second: mov al,'X'; out 0xE9,al
      0xB0, 0x10, 0xE6, 0xF4,                    // exit 33
      0xF4,
  };
  {
    Machine m(config(code));
    EXPECT_EQ(m.run(), 33);
    EXPECT_TRUE(m.bus().a20());  // the reboot turned A20 back on
  }
  EXPECT_EQ(slurp(debugcon_path), "RX");
}

// A pending signal stops the run at the next block boundary, not at the next slice.
TEST_F(MachineRun, HostSignalStopsTheRun) {
  Machine m(config({0xEB, 0xFE}));  // jmp $
  HostAttention host;
  host.raise_signal(SIGTERM);
  m.host = &host;
  EXPECT_EQ(m.run(), 128 + SIGTERM);
  EXPECT_LT(m.cpu().s.icount, Machine::kSlice);
}

// Looking at the host (the ticker sets the flag every millisecond here) stops the CPU at
// block boundaries in the middle of turns; the guest cannot tell: the same instructions
// retire, to the same state, on both engines.
TEST_F(MachineRun, LookingAtTheHostDoesNotChangeTheRun) {
  const Bytes code = {
      0xB9, 0x40, 0x42, 0x0F, 0x00,  // mov ecx,1000000
      0x31, 0xC0,                    // xor eax,eax
      0x01, 0xC8,                    // loop: add eax,ecx
      0x49,                          // dec ecx
      0x75, 0xFB,                    // jnz loop
      0x89, 0xC3,                    // mov ebx,eax
      0xB0, 0x10, 0xE6, 0xF4,        // exit 33
      0xF4,
  };
  for (const Engine engine : {Engine::Interp, Engine::Jit}) {
    SCOPED_TRACE(engine == Engine::Jit ? "jit" : "interp");
    MachineConfig c = config(code);
    c.engine = engine;
    Machine quiet(c);
    EXPECT_EQ(quiet.run(), 33);
    Machine looked_at(c);
    HostAttention host;
    looked_at.host = &host;
    host.start_ticker(std::chrono::milliseconds(1));
    EXPECT_EQ(looked_at.run(), 33);
    host.stop_ticker();
    EXPECT_EQ(quiet.cpu().s.icount, looked_at.cpu().s.icount);
    EXPECT_EQ(quiet.cpu().s.gpr[cpu::EBX], looked_at.cpu().s.gpr[cpu::EBX]);
    EXPECT_EQ(quiet.cpu().s.eip, looked_at.cpu().s.eip);
    EXPECT_EQ(quiet.cpu().s.icount, 3'000'000u + 5);
  }
}

TEST_F(MachineRun, BadBackendIsAnErrorNamingTheFile) {
  MachineConfig c = config({0xF4});
  c.serial = "file:/nonexistent-dir/serial.txt";
  try {
    Machine m(c);
    FAIL() << "no error";
  } catch (const devices::BackendError& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent-dir/serial.txt"), std::string::npos);
  }
}

// A reset (boot()) returns every device to its power-on state, whatever the guest did to
// it before: after thousands of random port writes and a boot, every port reads as on a
// machine just built. (Except the CMOS memory, battery-backed on a PC: the RTC keeps it.) (The fuzzer reuses machines across guests: a device state that
// outlives a reset shows there as engines disagreeing after different earlier guests.)
TEST_F(MachineRun, BootReturnsEveryPortToPowerOn) {
  MachineConfig c = config({0xF4});
  c.serial = "none";
  c.debugcon = "none";
  for (const Engine engine : {Engine::Interp, Engine::Jit}) {
    c.engine = engine;
    Machine fresh(c), used(c);
    fresh.bus().log().quiet = true;
    used.bus().log().quiet = true;
    uint32_t x = 12345;
    const auto next = [&x] { return x = x * 1103515245u + 12345u, x >> 8; };
    for (unsigned i = 0; i < 200000; ++i) {
      static constexpr uint16_t kHigh[] = {0x402, 0x510, 0x511, 0xCF8, 0xCF9, 0xCFC, 0xCFD};
      const uint16_t port = next() % 8 == 0 ? kHigh[next() % 7] : static_cast<uint16_t>(next() % 0x400);
      const uint8_t v = static_cast<uint8_t>(next());
      if (port >= 0x70 && port <= 0x77) continue;  // the CMOS keeps its memory across resets, as a PC's
      if (next() % 4 == 0) (void)used.bus().io_read(port, 1);
      else used.bus().io_write(port, 1, v);
    }
    used.boot();
    std::vector<uint16_t> ports;
    for (uint16_t p = 0; p < 0x400; ++p) ports.push_back(p);
    for (uint16_t p : {0x402, 0x510, 0x511, 0xCF8, 0xCF9, 0xCFC, 0xCFD}) ports.push_back(p);
    for (const uint16_t port : ports) {
      for (unsigned k = 0; k < 3; ++k) {  // queues: a few bytes deep
        const uint32_t want = fresh.bus().io_read(static_cast<uint16_t>(port), 1);
        const uint32_t got = used.bus().io_read(static_cast<uint16_t>(port), 1);
        ASSERT_EQ(got, want) << "port 0x" << std::hex << port << " read " << std::dec << k
                             << " after a reset differs from power-on ("
                             << (engine == Engine::Jit ? "jit" : "interp") << " machine)";
      }
    }
  }
}

TEST_F(MachineRun, BiosStartsAtTheResetVector) {
  MachineConfig c;
  c.ram_size = 1u << 20;
  Bytes rom(4096, 0xF4);  // hlt everywhere
  c.bios_path = files.write("bios.bin", rom);
  c.serial = "none";
  Machine m(c);
  EXPECT_EQ(m.cpu().s.seg[cpu::CS].selector, 0xF000);
  EXPECT_EQ(m.cpu().s.eip, 0xFFF0u);
  EXPECT_EQ(m.run(), 0);
  EXPECT_EQ(m.cpu().s.eip, 0xFFF1u);
}


// A SeaBIOS-sized firmware: it reads fw_cfg, logs through isa-debugcon at 0x402 and
// writes into its own copy below 1 MiB (RAM, as on QEMU isapc); a reset reloads the copy.
TEST_F(MachineRun, LargeBiosRunsFromWritableCopyAndSeesFwCfg) {
  MachineConfig c;
  c.ram_size = 2u << 20;
  Bytes rom(128 * 1024, 0xF4);
  const Bytes code = {
      0xB8, 0x00, 0x00,                    // mov ax, 0 (fw_cfg signature)
      0xBA, 0x10, 0x05, 0xEF,              // mov dx, 0x510; out dx, ax
      0xBA, 0x11, 0x05, 0xEC,              // mov dx, 0x511; in al, dx
      0xBA, 0x02, 0x04, 0xEE,              // mov dx, 0x402; out dx, al
      0x2E, 0xC6, 0x06, 0x00, 0x80, 'W',   // mov byte [cs:0x8000], 'W'
      0xB0, 0x00, 0xE6, 0xF4,              // mov al, 0; out 0xF4, al
  };
  std::copy(code.begin(), code.end(), rom.begin() + 0x10000);   // F000:0000
  const Bytes reset = {0xEA, 0x00, 0x00, 0x00, 0xF0};          // jmp F000:0000
  std::copy(reset.begin(), reset.end(), rom.begin() + 0x1FFF0);
  c.bios_path = files.write("bios.bin", rom);
  c.serial = "none";
  debugcon_path = files.path_for("debugcon.txt");
  c.debugcon = "file:" + debugcon_path;
  c.debugcon_iobase = 0x402;
  c.boot_order = "dc";
  {
    Machine m(c);
    EXPECT_EQ(m.run(), 1);
    EXPECT_EQ(m.bus().read_phys(0xF8000, 1), static_cast<uint32_t>('W'));
    m.boot();
    EXPECT_EQ(m.bus().read_phys(0xF8000, 1), 0xF4u);
    EXPECT_EQ(m.rtc().cmos(0x3D), 0x23);
    const Bytes ram = m.fw_cfg().item(devices::fw_cfg::RAM_SIZE);
    EXPECT_EQ(ram, (Bytes{0, 0, 0x20, 0, 0, 0, 0, 0}));
  }
  EXPECT_EQ(slurp(debugcon_path), "Q");
}


// --state-hash: two machines that ran the same guest agree; a difference in RAM, a register
// or a device state each changes the hash.
TEST_F(MachineRun, StateHashCoversRegistersRamAndDevices) {
  const Bytes code = {
      0xB0, 'A', 0xE6, 0xE9,   // mov al,'A'; out 0xE9,al
      0xB0, 0x10, 0xE6, 0xF4,  // mov al,0x10; out 0xF4,al
  };
  Machine a(config(code));
  Machine b(config(code));
  EXPECT_EQ(a.run(), 33);
  EXPECT_EQ(b.run(), 33);
  const uint64_t h = a.state_hash();
  EXPECT_EQ(h, b.state_hash());
  b.bus().ram()[0x7000] ^= 1;
  EXPECT_NE(h, b.state_hash()) << "RAM";
  b.bus().ram()[0x7000] ^= 1;
  EXPECT_EQ(h, b.state_hash());
  b.cpu().s.gpr[cpu::EBX] ^= 1;
  EXPECT_NE(h, b.state_hash()) << "EBX";
  b.cpu().s.gpr[cpu::EBX] ^= 1;
  b.cpu().s.icount += 1;
  EXPECT_NE(h, b.state_hash()) << "instruction count";
  b.cpu().s.icount -= 1;
  b.kbc().state.command_byte ^= 1;
  EXPECT_NE(h, b.state_hash()) << "i8042 state";
  b.kbc().state.command_byte ^= 1;
  EXPECT_EQ(h, b.state_hash());
}


// A key sent while a debugger holds the CPU in the middle of a block (gdb's `monitor
// sendkey` at a breakpoint) enters at the end of that block, between two blocks as all
// host input does, not where the debugger stopped.
TEST_F(MachineRun, HostInputWaitsForTheEndOfABlockADebuggerStoppedIn) {
  const Bytes code = {
      0x90, 0x90, 0x90, 0x90,  // nop x4 (one block with the jmp)
      0xEB, 0xFA,              // jmp back to the second nop
  };
  MachineConfig c = config(code);
  Machine m(c);
  // Stop before the third nop: inside the first block.
  const uint32_t entry = m.cpu().s.seg[cpu::CS].base + m.cpu().s.eip;
  m.cpu().debug.breakpoints = {entry + 2};
  for (int i = 0; i < 10 && !m.cpu().in_block(); ++i) m.run_step(1);
  ASSERT_TRUE(m.cpu().in_block());
  m.cpu().debug.breakpoints.clear();
  ASSERT_TRUE(m.input_key(*devices::find_key("a"), true));
  EXPECT_EQ(m.kbc().state.output_full, 0) << "the key entered inside the block";
  m.run_step(1);  // finishes the block
  m.run_step(1);  // between two blocks: the key enters
  EXPECT_EQ(m.kbc().state.output_full, 1);
}

}  // namespace
}  // namespace popek::frontend
