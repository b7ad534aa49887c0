// The monitor's sendkey: keys pressed in order and released in reverse, at once or after
// the hold time, as the keyboard controller delivers them to the guest.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>
#include <vector>

#include "devices/i8042.h"
#include "frontend/machine.h"
#include "frontend/monitor.h"
#include "temp_files.h"
#include "tiny_kernel.h"

namespace popek::frontend {
namespace {

class MonitorSendkey : public ::testing::Test {
 protected:
  MonitorSendkey() {
    MachineConfig c;
    c.ram_size = 4u << 20;
    c.kernel_path = files.write("kernel.bin", kludge_kernel({0xF4}));
    c.serial = "none";
    machine = std::make_unique<Machine>(c);
    monitor = std::make_unique<Monitor>(*machine, "none");
    (void)drain();
  }
  // What the guest reads from the keyboard controller now.
  std::vector<uint8_t> drain() {
    std::vector<uint8_t> out;
    while (machine->bus().io_read(0x64, 1) & devices::kbc::ST_OBF)
      out.push_back(static_cast<uint8_t>(machine->bus().io_read(0x60, 1)));
    return out;
  }
  TempFiles files;
  std::unique_ptr<Machine> machine;
  std::unique_ptr<Monitor> monitor;
};

TEST_F(MonitorSendkey, PressedInOrderReleasedInReverse) {
  EXPECT_EQ(monitor->execute("sendkey shift-a"), "");
  EXPECT_EQ(drain(), (std::vector<uint8_t>{0x2A, 0x1E, 0x9E, 0xAA}));
}

TEST_F(MonitorSendkey, HeldKeysAreReleasedWhenTheirTimeIsUp) {
  EXPECT_EQ(monitor->execute("sendkey ctrl-c 100"), "");
  EXPECT_EQ(drain(), (std::vector<uint8_t>{0x1D, 0x2E})) << "pressed, not yet released";
  monitor->poll();
  EXPECT_EQ(drain(), std::vector<uint8_t>{}) << "released before its time";
  std::this_thread::sleep_for(std::chrono::milliseconds(120));
  monitor->poll();
  EXPECT_EQ(drain(), (std::vector<uint8_t>{0xAE, 0x9D}));
}

TEST_F(MonitorSendkey, ANewSendkeyFirstReleasesTheHeldKeys) {
  EXPECT_EQ(monitor->execute("sendkey a 5000"), "");
  EXPECT_EQ(monitor->execute("sendkey b"), "");
  EXPECT_EQ(drain(), (std::vector<uint8_t>{0x1E, 0x9E, 0x30, 0xB0}));
}

TEST_F(MonitorSendkey, BadKeysAndHoldTimesAreErrors) {
  EXPECT_EQ(monitor->execute("sendkey nosuchkey"), "sendkey: unknown key 'nosuchkey'\n");
  EXPECT_NE(monitor->execute("sendkey a soon").find("HOLD_MS"), std::string::npos);
  EXPECT_NE(monitor->execute("sendkey a 100000").find("HOLD_MS"), std::string::npos);
  EXPECT_EQ(drain(), std::vector<uint8_t>{});
}

}  // namespace
}  // namespace popek::frontend
