// Everything the command line decides, as plain data. The core never sees argv.
#pragma once

#include <cstdint>
#include <string>

namespace popek::frontend {

enum class Engine : uint8_t { Interp, Jit };

struct MachineConfig {
  // Guest RAM in bytes (-m; 1 MiB to 3 GiB).
  uint64_t ram_size = 128ull << 20;
  // Multiboot ELF kernel to load directly (-kernel), or empty.
  std::string kernel_path;
  // Raw firmware image mapped below 1 MiB and 4 GiB (-bios), or empty.
  std::string bios_path;
  // File loaded as the kernel's first module (-initrd), or empty.
  std::string initrd_path;
  // Kernel command line after the kernel's path (-append).
  std::string append;
  // Execution engine (--engine).
  Engine engine = Engine::Interp;
  // Character backend of COM1 (-serial: stdio, file:PATH or none).
  std::string serial = "stdio";
  // Character backend of the port 0xE9 debug console (-debugcon).
  std::string debugcon = "none";
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
  // Print the sensitive-instruction census at exit (--pg-report).
  bool pg_report = false;
  // Print execution statistics at exit (--stats).
  bool stats = false;
};

}  // namespace popek::frontend
