// The monitor's mouse commands (QEMU's mouse_move and mouse_button) reach the PS/2 mouse
// as a guest's driver sees it through the i8042.
#include <gtest/gtest.h>

#include <vector>

#include "frontend/machine.h"
#include "frontend/monitor.h"
#include "temp_files.h"
#include "tiny_kernel.h"

namespace popek::frontend {
namespace {

using Bytes = std::vector<uint8_t>;

class MonitorMouse : public ::testing::Test {
 protected:
  MonitorMouse() {
    MachineConfig c;
    c.ram_size = 4u << 20;
    c.kernel_path = files.write("kernel.bin", kludge_kernel({0xF4}));
    c.serial = "none";
    machine = std::make_unique<Machine>(c);
    monitor = std::make_unique<Monitor>(*machine, "none");
  }
  void aux(uint8_t v) {
    machine->bus().io_write(0x64, 1, 0xD4);
    machine->bus().io_write(0x60, 1, v);
  }
  Bytes drain() {
    Bytes b;
    while (machine->bus().io_read(0x64, 1) & 0x01) b.push_back(static_cast<uint8_t>(machine->bus().io_read(0x60, 1)));
    return b;
  }

  TempFiles files;
  std::unique_ptr<Machine> machine;
  std::unique_ptr<Monitor> monitor;
};

TEST_F(MonitorMouse, MoveAndButtons) {
  for (uint8_t b : {0xF3, 200, 0xF3, 100, 0xF3, 80, 0xF4}) aux(b);  // wheel mouse, reporting on
  EXPECT_EQ(drain(), Bytes(7, 0xFA));
  EXPECT_EQ(monitor->execute("mouse_move 10 -20"), "");
  EXPECT_EQ(drain(), (Bytes{0x08, 10, 20, 0}));  // up is positive on PS/2
  EXPECT_EQ(monitor->execute("mouse_button 1"), "");
  EXPECT_EQ(drain(), (Bytes{0x09, 0, 0, 0}));
  EXPECT_EQ(monitor->execute("mouse_move -1 0 1"), "");  // QEMU: DZ > 0 is the wheel up
  EXPECT_EQ(drain(), (Bytes{0x19, 0xFF, 0, 0xFF}));    // the left button stays held
  EXPECT_EQ(monitor->execute("mouse_button 0"), "");
  EXPECT_EQ(drain(), (Bytes{0x08, 0, 0, 0}));
}

TEST_F(MonitorMouse, BadArguments) {
  EXPECT_EQ(monitor->execute("mouse_move 1"), "mouse_move: usage: mouse_move DX DY [DZ]\n");
  EXPECT_EQ(monitor->execute("mouse_move 1 x"), "mouse_move: bad number 'x' (-65536 to 65536)\n");
  EXPECT_EQ(monitor->execute("mouse_move 1 99999999999"), "mouse_move: bad number '99999999999' (-65536 to 65536)\n");
  EXPECT_EQ(monitor->execute("mouse_button"), "mouse_button: usage: mouse_button STATE\n");
  EXPECT_EQ(monitor->execute("mouse_button 8"), "mouse_button: STATE is 0 to 7 (1 left, 2 right, 4 middle)\n");
  EXPECT_NE(monitor->execute("help").find("mouse_move DX DY [DZ]"), std::string::npos);
}

}  // namespace
}  // namespace popek::frontend
