// The whole PC: bus, MMU, CPU and devices, built from a MachineConfig, plus the run loop
// that turns machine stops (exit port, reset, halt, fatal guest state) into an exit
// status.
#pragma once

#include <chrono>
#include <csignal>
#include <memory>
#include <string>
#include <vector>

#include "bus/bus.h"
#include "cpu/cpu.h"
#include "devices/char_backend.h"
#include "devices/debug_exit.h"
#include "devices/debugcon.h"
#include "devices/disk_image.h"
#include "devices/ide.h"
#include "devices/i8042.h"
#include "devices/i8254.h"
#include "devices/i8259.h"
#include "devices/mc146818.h"
#include "devices/port61.h"
#include "devices/post_port.h"
#include "devices/system_control.h"
#include "devices/uart16550.h"
#include "frontend/machine_config.h"
#include "jit/call_threaded.h"
#include "mmu/mmu.h"

namespace popek::frontend {

// Seconds since 1970 at which the guest's RTC starts (-rtc base=...).
int64_t rtc_start_time(const MachineConfig& cfg);

class Machine {
 public:
  // Instructions per turn of the run loop: how often host signals and output flushing are
  // looked at.
  static constexpr uint64_t kSlice = 1'000'000;

  // Builds the machine and loads the guest. Throws LoadError or devices::BackendError
  // (one line naming the file or option) on bad input.
  explicit Machine(const MachineConfig& cfg);
  ~Machine();
  Machine(const Machine&) = delete;
  Machine& operator=(const Machine&) = delete;

  // Run the guest until it stops; returns the process exit status:
  //   isa-debug-exit         (value << 1) | 1
  //   HLT, nothing to wake   0 (no interrupt source exists yet)
  //   reset with -no-reboot  0 (as QEMU); without it the machine reboots and continues
  //   fatal guest state      1
  //   host signal            128 + signal number
  // Messages go to stderr after the guest's output is flushed.
  int run();

  // Set asynchronously by a signal handler to the signal's number; run() stops at the
  // end of the current slice.
  const volatile std::sig_atomic_t* stop_signal = nullptr;

  // Power-on state: CPU reset, A20 on, devices reset, the -kernel image loaded again
  // (RAM and the ROM keep their contents, as across a PC reset).
  void boot();
  // Push buffered guest output to the host.
  void flush_output();

  const MachineConfig& config() const { return cfg_; }
  bus::Bus& bus() { return bus_; }
  mmu::Mmu& mmu() { return mmu_; }
  cpu::Cpu& cpu() { return cpu_; }
  devices::Uart16550& serial() { return *uart_; }

 private:
  void pace_to(uint64_t ns);

  MachineConfig cfg_;
  std::chrono::steady_clock::time_point host_start_;
  bus::Bus bus_;
  mmu::Mmu mmu_;
  cpu::Cpu cpu_;
  // The JIT with --engine=jit (declared after the CPU: destroyed before it).
  std::unique_ptr<jit::CallThreaded> jit_;
  // The PC's chipset (created first: the other devices' IRQ lines reach the PIC).
  std::unique_ptr<devices::Pic8259> pic_;
  std::unique_ptr<devices::Pit8254> pit_;
  std::unique_ptr<devices::Port61> port61_;
  std::unique_ptr<devices::Mc146818> rtc_;
  std::unique_ptr<devices::I8042> kbc_;
  std::unique_ptr<bus::Device> fpu_port_;  // port F0h (IGNNE#)
  std::unique_ptr<devices::CharBackend> serial_out_;
  std::unique_ptr<devices::CharBackend> debugcon_out_;
  std::unique_ptr<devices::Debugcon> debugcon_;
  std::unique_ptr<devices::DebugExit> debug_exit_;
  std::unique_ptr<devices::PostPort> post_;
  std::unique_ptr<devices::SystemControlA> port92_;
  std::unique_ptr<devices::Uart16550> uart_;
  // COM2..COM4 with their backends.
  std::vector<std::unique_ptr<devices::CharBackend>> serial_extra_out_;
  std::vector<std::unique_ptr<devices::Uart16550>> uart_extra_;
  // IDE disks (declared before the channels, which point at them) and both channels.
  std::vector<std::unique_ptr<devices::DiskImage>> disks_;
  std::unique_ptr<devices::IdeChannel> ide_[2];
};

}  // namespace popek::frontend
