// Command line -> MachineConfig.
//
// popek takes QEMU's spellings (-kernel FILE, -m 128, -d int,cpu, -no-reboot...) and the
// same options as --long forms. Boost.Program_options knows only --long options, so
// translate_args() first rewrites every option to "--long" or "--long=VALUE" (which also
// keeps values that start with '-', e.g. -append "-v", from looking like options).
#pragma once

#include <string>
#include <vector>

#include "frontend/machine_config.h"

namespace popek::frontend {

struct TranslatedArgs {
  std::vector<std::string> args;  // "--name" / "--name=value" tokens for Boost
  std::string error;              // non-empty: one "popek: ..." line
};

// Rewrite QEMU-style arguments (without argv[0]) into Boost's long form.
TranslatedArgs translate_args(const std::vector<std::string>& args);

struct CliResult {
  // Stop before running, printing `out` (stdout) and `error` (stderr), with `status`.
  bool exit = false;
  int status = 0;
  std::string out;    // --help, --version, -d help
  std::string error;  // one line starting with "popek: ", without the newline
  MachineConfig config;
};

// The firmware booted when neither -kernel nor -bios is given (Debian's seabios package).
inline constexpr const char* kDefaultBios = "/usr/share/seabios/bios.bin";

// Parse arguments (without argv[0]). Never throws and never exits. `default_bios` stands
// in for kDefaultBios (tests).
CliResult parse_cli(const std::vector<std::string>& args, const std::string& default_bios = kDefaultBios);

// Parse a -m value: a plain number is MiB; suffixes K, M, G. Returns false on bad syntax.
bool parse_ram_size(const std::string& text, uint64_t& bytes);

// The -d items and their bus::trace bits; "help" lists them.
std::string trace_help();

}  // namespace popek::frontend
