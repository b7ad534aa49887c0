// The whole PC: bus, MMU, CPU and devices, built from a MachineConfig, plus the run loop
// that turns machine stops (exit port, reset, halt, fatal guest state) into an exit
// status.
#pragma once

#include <array>
#include <chrono>
#include <functional>
#include <optional>
#include <memory>
#include <string>
#include <vector>

#include "bus/bus.h"
#include "cpu/cpu.h"
#include "devices/char_backend.h"
#include "devices/debug_exit.h"
#include "devices/debugcon.h"
#include "devices/disk_image.h"
#include "devices/fw_cfg.h"
#include "devices/ide.h"
#include "devices/i8042.h"
#include "devices/i8237.h"
#include "devices/i8254.h"
#include "devices/i8259.h"
#include "devices/keys.h"
#include "devices/mc146818.h"
#include "devices/pci_absent.h"
#include "devices/port61.h"
#include "devices/post_port.h"
#include "devices/system_control.h"
#include "devices/uart16550.h"
#include "devices/vga.h"
#include "frontend/host_attention.h"
#include "frontend/machine_config.h"
#include "jit/native.h"
#include "mmu/mmu.h"

namespace popek::frontend {

class Monitor;
class Display;
class GdbStub;
class RecordReplay;

// CMOS boot nibbles (devices::boot) of QEMU's -boot order letters ("cad").
std::array<uint8_t, 3> boot_devices(const std::string& order);

// Seconds since 1970 at which the guest's RTC starts (-rtc base=...).
int64_t rtc_start_time(const MachineConfig& cfg);

// How a machine's serial ports meet host input under --lockstep (frontend/lockstep.h):
// the primary records the answers of its ports' input channels into `logs`, the shadow
// takes no host input and gives the same answers back (devices::InputLog).
struct InputMirror {
  std::array<devices::InputLog, 4>* logs = nullptr;  // COM1..COM4; nullptr: no mirror
  bool replay = false;  // false: record (primary); true: replay (shadow, also quiet)
};

class Machine {
 public:
  // Instructions per turn of the run loop at most (a turn also ends at the next clock
  // deadline).
  static constexpr uint64_t kSlice = 1'000'000;

  // Builds the machine and loads the guest. Throws LoadError or devices::BackendError
  // (one line naming the file or option) on bad input.
  // `rr`: record or replay the run's host input (frontend/record_replay.h), or nullptr.
  explicit Machine(const MachineConfig& cfg, InputMirror mirror = {}, RecordReplay* rr = nullptr);
  ~Machine();
  Machine(const Machine&) = delete;
  Machine& operator=(const Machine&) = delete;

  // Run the guest until it stops; returns the process exit status:
  //   isa-debug-exit         (value << 1) | 1
  //   HLT, nothing to wake   0 (interrupts disabled, or no pending timer or device event)
  //   reset with -no-reboot  0 (as QEMU); without it the machine reboots and continues
  //   fatal guest state      1
  //   host signal            128 + signal number
  // Messages go to stderr after the guest's output is flushed.
  int run();

  // One turn of run()'s loop, or its next part: a turn runs the due clock events, the
  // CPU up to the next clock deadline (at most kSlice instructions), then handles why the
  // CPU stopped (a halt skips idle time, a reset reboots and continues). A call runs the
  // CPU for at most `max_instructions` (at least one block); a smaller budget splits the
  // turn across calls without changing what runs. run() is run_step(kSlice) until
  // `done`; --lockstep drives two machines with run_step(1), one block at a time.
  struct RunStep {
    bool done = false;    // the run is over with `status`
    int status = 0;       // as run() returns it
    bool host = false;    // ended by the host (a signal, Ctrl-A x), not by the guest
    std::string message;  // a "popek: ..." line for stderr (without newline), or empty
  };
  RunStep run_step(uint64_t max_instructions);
  // Forget a run in progress, so that the next run_step starts a new one (a turn split
  // by a small budget is not resumed). For callers that boot() the machine themselves
  // between guests: the fuzzer (tests/fuzz/) reuses one machine for many.
  void end_run() {
    running_ = false;
    in_turn_ = false;
  }

  // Where the host asks for attention (signals, the ticker; frontend/host_attention.h):
  // when its flag is set the run loop flushes output, pumps the console (Ctrl-A x) and
  // ends the run if a signal arrived. nullptr: the host is never looked at (tests, the
  // shadow machine of --lockstep).
  HostAttention* host = nullptr;
  // The human monitor, polled when the host is looked at (nullptr: none).
  Monitor* monitor = nullptr;
  // The gdb stub (nullptr: none): polled when the host is looked at, given the CPU's
  // debug stops, told when the run ends.
  GdbStub* gdb = nullptr;
  // Displays (frontend/display.h), refreshed when the host is looked at.
  std::vector<Display*> displays;

  // Host input that reaches the guest from the monitor and the displays (called when
  // the run loop looks at the host): a key pressed or released (false: scan code set 3,
  // nothing sent), a PS/2 mouse event, a reset. Recorded with -icount rr=record; ignored
  // (said once) while replaying, whose recorded input enters instead.
  bool input_key(const devices::KeyCodes& key, bool down);
  void input_mouse(int dx, int dy, int dz, unsigned buttons);
  void input_reset(const std::string& why);

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
  devices::I8042& kbc() { return *kbc_; }
  // The display adapter, or nullptr.
  devices::Vga* vga() { return vga_.get(); }
  devices::Mc146818& rtc() { return *rtc_; }
  devices::FwCfg& fw_cfg() { return *fw_cfg_; }
  // The JIT (--engine=jit), or nullptr.
  jit::Native* jit() { return jit_.get(); }
  // The IDE disks, in the order of MachineConfig::drives.
  const std::vector<std::unique_ptr<devices::DiskImage>>& disks() const { return disks_; }
  // IDE channel 0 (primary) or 1 (secondary).
  devices::IdeChannel& ide(unsigned channel) { return *ide_[channel & 1]; }

  // Visit every device's state (bus/state_archive.h), each under a stable name, in a
  // fixed order: what snapshots save and state hashes cover besides the CPU and RAM.
  template <class V>
  void visit_devices(V& v) {
    v("pic", pic_->state);
    v("pit", pit_->state);
    v("port61", port61_->state);
    v("rtc", rtc_->state);
    v("i8042", kbc_->state);
    if (vga_) v("vga", vga_->state);
    v("dma", dma_->state);
    v("fw_cfg", fw_cfg_->state);
    v("debugcon", debugcon_->state);
    v("debug_exit", debug_exit_->state);
    v("post", post_->state);
    v("port92", port92_->state);
    v("com1", uart_->state);
    static constexpr const char* kExtra[] = {"com2", "com3", "com4"};
    for (size_t i = 0; i < uart_extra_.size(); ++i) v(kExtra[i], uart_extra_[i]->state);
    v("ide0", ide_[0]->state);
    v("ide1", ide_[1]->state);
  }
  // A 64-bit hash of the machine's guest-visible state: the CPU's registers (CpuState,
  // with the retired-instruction count), RAM, every device's state, the A20 gate and the
  // virtual clock. Two runs that agree on it agree on everything the guest can see.
  uint64_t state_hash();

  // Reverse debugging (the gdb stub): run on without looking at the host and with the
  // guest's output muted, until the CPU stops for the debugger (true; the stop is in
  // cpu().debug.stop) or the run ends (false).
  bool run_to_debug_stop();
  bool traveling() const { return traveling_; }
  // Keys, mouse events and resets from the host so far that a run from an earlier
  // checkpoint would not see again (a gdb stub's history starts again after one). Under
  // -icount rr= none counts: the log gives them back (record) or they are ignored
  // (replay).
  uint64_t host_inputs() const { return host_inputs_; }
  // The record/replay log (-icount rr=), or nullptr.
  RecordReplay* record_replay() { return rr_; }

  // Snapshots (frontend/snapshot.h; defined in snapshot.cpp): the whole machine to one
  // file and back. Between two blocks only: before run(), at a turn's start, when the
  // host is looked at, after run(). Both throw SnapshotError (one line naming the file and
  // what is wrong); a failed load leaves the machine as it was.
  void save_snapshot(const std::string& path);
  void load_snapshot(const std::string& path);
  // The same in memory: a snapshot file's bytes (`header`: with the configuration and
  // image hashes a file needs; without, for checkpoints of this very run). `name` names
  // the image in errors.
  // `ram` false: without the RAM's pages (the caller keeps them, as checkpoints do).
  std::vector<uint8_t> snapshot_image(const std::string& name, bool header, bool ram = true);
  void load_snapshot_image(const std::string& name, const std::vector<uint8_t>& image, bool header,
                           bool ram = true);
  // Checkpoints in memory (reverse execution, frontend/gdb_stub.cpp): the snapshot image
  // without header and RAM, and RAM as 4 KiB pages, each shared with `like`'s page where
  // equal (nullptr: zeros), so that the checkpoints of a run hold each distinct page once
  // and taking one copies only the pages written since `like`.
  // Pages not written since the last checkpoint taken or loaded (the bus's dirty marks)
  // are shared without being compared, and a load writes only the marked pages and those
  // the two checkpoints do not share.
  using RamPage = std::array<uint8_t, 4096>;
  using RamPages = std::vector<std::shared_ptr<const RamPage>>;
  struct Checkpoint {
    std::vector<uint8_t> state;
    std::shared_ptr<const RamPages> ram;  // one per 4 KiB of RAM
  };
  Checkpoint take_checkpoint(const Checkpoint* like);
  void load_checkpoint(const Checkpoint& cp);

 private:
  // -savevm-at: save at the first turn start at or after the instruction count.
  std::optional<RunStep> snapshot_at_turn_start();
  // Ctrl-A w on the console: save to popek-ICOUNT.snap.
  void snapshot_from_console();
  bool savevm_at_done_ = false;
  bool state_loaded_ = false;  // a load ran while the host was looked at
  std::string vga_rom_path_;   // the VGA BIOS file read at start, or empty

  bool pace_to(uint64_t ns);
  RunStep finished(int status, std::string message = {}, bool host = false);
  // Look at the host if it asked for attention; a RunStep when the run must end.
  std::optional<RunStep> look_at_host();

  // The pages of the checkpoint last taken or loaded: RAM is these but for the pages the
  // bus marks dirty.
  std::shared_ptr<const RamPages> dirty_base_;
  bool traveling_ = false;     // run_to_debug_stop is running
  uint64_t host_inputs_ = 0;   // keys, mouse events and resets not in a log
  // Host input that came while a debugger held the CPU inside a block (input_*).
  std::vector<std::function<void()>> deferred_input_;
  MachineConfig cfg_;
  RecordReplay* rr_ = nullptr;
  // run_step's state across turns: set up by the first turn of a run.
  bool running_ = false;
  bool in_turn_ = false;     // a turn was split: its CPU part goes on up to turn_until_
  uint64_t turn_until_ = 0;
  // A device armed a timer (Clock's arm listener): a turn in progress ends at its
  // deadline when that is sooner, as it would have had the timer been armed before it.
  void timer_armed(uint64_t when_ns);
  std::chrono::steady_clock::time_point host_start_;
  bus::Bus bus_;
  mmu::Mmu mmu_;
  cpu::Cpu cpu_;
  // The JIT with --engine=jit (declared after the CPU: destroyed before it).
  std::unique_ptr<jit::Native> jit_;
  // The PC's chipset (created first: the other devices' IRQ lines reach the PIC).
  std::unique_ptr<devices::Pic8259> pic_;
  std::unique_ptr<devices::Pit8254> pit_;
  std::unique_ptr<devices::Port61> port61_;
  std::unique_ptr<devices::Mc146818> rtc_;
  std::unique_ptr<devices::I8042> kbc_;
  std::unique_ptr<devices::Vga> vga_;
  std::unique_ptr<bus::Device> fpu_port_;  // port F0h (IGNNE#)
  std::unique_ptr<devices::I8237> dma_;
  std::unique_ptr<devices::PciAbsent> pci_;
  // QEMU's firmware configuration device: what SeaBIOS learns about the machine.
  std::unique_ptr<devices::FwCfg> fw_cfg_;
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
