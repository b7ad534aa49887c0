// Everything the command line decides, as plain data. The core never sees argv.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace popek::frontend {

enum class Engine : uint8_t { Interp, Jit };

// One IDE disk (-hda..-hdd, -drive).
struct DriveConfig {
  // Raw image file.
  std::string path;
  // 0 primary master, 1 primary slave, 2 secondary master, 3 secondary slave.
  unsigned index = 0;
  // Writes fail with an error to the guest instead of reaching the file (readonly=on).
  bool readonly = false;
};

// Record/replay (-icount rr=...; frontend/record_replay.h).
enum class RrMode : uint8_t { Off, Record, Replay };

// Where the RTC's clock starts (-rtc base=...).
enum class RtcBase : uint8_t { Utc, LocalTime, Fixed };

struct MachineConfig {
  // Guest RAM in bytes (-m; 1 MiB to 3 GiB).
  uint64_t ram_size = 128ull << 20;
  // Kernel to load directly (-kernel: a Linux bzImage or a multiboot ELF), or empty.
  std::string kernel_path;
  // Raw firmware image mapped below 1 MiB and 4 GiB (-bios; without -kernel and -bios the
  // frontend puts SeaBIOS here), or empty.
  std::string bios_path;
  // BIOS boot order, first to last, in QEMU's letters: a floppy, c disk, d CD-ROM,
  // n network (-boot order=; QEMU's PC default "cad").
  std::string boot_order = "cad";
  // A VGA adapter (-vga std, QEMU's isapc default) or none (-vga none). With SeaBIOS, its
  // BIOS (SeaBIOS's VGA ROM) goes to the firmware through fw_cfg as vgaroms/vgabios.bin.
  bool vga = true;
  std::string vga_bios_path = "/usr/share/seabios/vgabios-isavga.bin";
  // The VGA BIOS for a firmware that is not SeaBIOS (the Bochs BIOS): the LGPL VGABios,
  // read-only at 0xC0000 where the BIOS's option-ROM scan finds it.
  std::string isa_vga_bios_path = "/usr/share/vgabios/vgabios.bin";
  // The display (-display): none (no window; the firmware's console is also on COM1) or
  // curses (the VGA's text modes in the terminal).
  std::string display = "none";
  // The human monitor (-monitor): none, stdio or unix:PATH,server,nowait.
  std::string monitor = "none";
  // VNC server display (-vnc): [HOST]:N or unix:PATH (frontend/vnc.h), or empty: none.
  std::string vnc;
  // Initial ramdisk (Linux) or first module (multiboot) (-initrd), or empty.
  std::string initrd_path;
  // Kernel command line after the kernel's path (-append).
  std::string append;
  // Execution engine (--engine): the JIT by default, the reference interpreter on request.
  Engine engine = Engine::Jit;
  // Bound of the JIT's host code; beyond it the code is dropped and retranslated (--jit-cache).
  uint64_t jit_cache_bytes = 64ull << 20;
  // Executions of a block before the JIT translates it (no option: the fuzzer uses 1).
  unsigned jit_hot_threshold = 2;
  // Write /tmp/perf-PID.map so that perf can name the JIT's host code (-perfmap).
  bool perfmap = false;
  // Character backend of COM1 (-serial: stdio, file:PATH or none).
  std::string serial = "stdio";
  // Character backends of COM2..COM4 (second and later -serial options).
  std::vector<std::string> serial_extra;
  // Character backend of the debug console (-debugcon, or -device isa-debugcon with
  // -chardev file).
  std::string debugcon = "none";
  // Port of the debug console (-device isa-debugcon,iobase=N; 0xE9 by default).
  uint16_t debugcon_iobase = 0xE9;
  // First port of isa-debug-exit (-device isa-debug-exit,iobase=N).
  uint16_t debug_exit_iobase = 0xF4;
  // Number of ports of isa-debug-exit (-device isa-debug-exit,iosize=N).
  uint16_t debug_exit_iosize = 4;
  // Exit instead of resetting when the guest resets (-no-reboot).
  bool no_reboot = false;
  // Enabled -d channels (bus::trace bits).
  uint32_t trace_mask = 0;
  // File for -d output (-D), or empty for stderr.
  std::string trace_file;
  // IDE disks (-hda..-hdd, -drive), at most one per index.
  std::vector<DriveConfig> drives;
  // Keep disk writes in memory; the image files are never written (-snapshot).
  bool snapshot = false;
  // RTC start: the host's UTC or local time at start-up, or a fixed time (-rtc base=).
  RtcBase rtc_base = RtcBase::Utc;
  // With RtcBase::Fixed, seconds since 1970-01-01T00:00:00 (-rtc base=YYYY-MM-DDTHH:MM:SS).
  int64_t rtc_fixed_epoch = 0;
  // log2 of guest nanoseconds per retired instruction (-icount shift=N; default 3).
  unsigned icount_shift = 3;
  // Pace virtual time to the host clock while the guest idles (-icount sleep=on; also on
  // with -vnc unless -icount is given, so that an interactive guest does not spin a core).
  bool icount_sleep = false;
  // Print the sensitive-instruction census at exit (--pg-report).
  bool pg_report = false;
  // Record the run's host input into rr_file, or replay it from there (-icount
  // rr=record|replay,rrfile=FILE).
  RrMode rr_mode = RrMode::Off;
  std::string rr_file;
  // Instructions between two state-hash checkpoints of a recording (-icount rrcheck=N;
  // 0: RecordReplay::kDefaultCheck).
  uint64_t rr_check = 0;
  // Print execution statistics at exit (--stats).
  bool stats = false;
  // The gdb stub (-s, -gdb SPEC; frontend/gdb_stub.h): "" for none.
  std::string gdb;
  // -S: wait for the debugger before the first instruction.
  bool gdb_wait = false;
  // Print Machine::state_hash() and the instruction count at exit (--state-hash).
  bool state_hash = false;
  // Snapshot to restore before the first instruction (-loadvm), or empty.
  std::string loadvm;
  // Save a snapshot at the first turn start at or after instruction `savevm_at_icount`
  // to `savevm_at_path` (-savevm-at N,FILE; empty path: none).
  uint64_t savevm_at_icount = 0;
  std::string savevm_at_path;
  // Save a snapshot when the run ends (-savevm-on-exit FILE), or empty.
  std::string savevm_on_exit;
  // Run a shadow machine on the interpreter beside the JIT and stop at the first
  // difference between them (--lockstep; frontend/lockstep.h).
  bool lockstep = false;
};

}  // namespace popek::frontend
