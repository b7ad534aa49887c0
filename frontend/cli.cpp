#include "frontend/cli.h"
#include "frontend/gdb_stub.h"
#include "frontend/monitor.h"
#include "frontend/vnc.h"

#include <sys/stat.h>

#include <boost/program_options.hpp>
#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>

#include "bus/log.h"
#include "devices/char_backend.h"

namespace popek::frontend {

namespace po = boost::program_options;

namespace {

struct OptionSpec {
  const char* qemu;  // spelling after a single dash, or nullptr: --name only
  const char* name;  // Boost's long name
  bool takes_value;
  const char* help;
};

// Every option popek knows. Both "-qemu" and "--name" select a row (and "--qemu").
constexpr OptionSpec kOptions[] = {
    {"m", "memory", true, "guest RAM: a number of MiB, or with a K, M or G suffix (default 128)"},
    {"kernel", "kernel", true, "Linux bzImage or multiboot ELF kernel to boot"},
    {"initrd", "initrd", true, "initial ramdisk (Linux) or first module (multiboot)"},
    {"append", "append", true, "kernel command line"},
    {"bios", "bios", true, "raw firmware image (a multiple of 4 KiB, at most 1 MiB; default: SeaBIOS)"},
    {"boot", "boot", true, "[order=]DRIVES: BIOS boot order, up to three of a (floppy), c (disk), d (CD-ROM), n (network); default cad"},
    {"serial", "serial", true, "COM1 backend (again for COM2..COM4): stdio, file:PATH or none (default stdio)"},
    {"debugcon", "debugcon", true, "port 0xE9 backend: stdio, file:PATH or none (default none)"},
    {"device", "device", true,
     "isa-debug-exit[,iobase=N][,iosize=N] (present at 0xf4 by default), or isa-debugcon[,iobase=N],chardev=ID"},
    {"chardev", "chardev", true, "file,id=ID,path=PATH | stdio,id=ID | null,id=ID: a backend for -device ...,chardev=ID"},
    {"hda", "hda", true, "raw disk image on the primary IDE master"},
    {"hdb", "hdb", true, "raw disk image on the primary IDE slave"},
    {"hdc", "hdc", true, "raw disk image on the secondary IDE master"},
    {"hdd", "hdd", true, "raw disk image on the secondary IDE slave"},
    {"drive", "drive", true, "file=F,format=raw,if=ide,index=N[,readonly=on]"},
    {"snapshot", "snapshot", false, "keep disk writes in memory; never write the images"},
    {"rtc", "rtc", true, "base=utc|localtime|YYYY-MM-DDTHH:MM:SS (default utc)"},
    {"icount", "icount", true, "shift=N[,sleep=on|off][,rr=record|replay,rrfile=FILE[,rrcheck=N]]: 2^N ns of guest time per instruction (default 3); record the run's host input into FILE or replay it"},
    {"vga", "vga", true, "display adapter: std (a VGA, the default) or none"},
    {"monitor", "monitor", true, "human monitor: stdio, unix:PATH,server,nowait or none (default none)"},
    {"display", "display", true, "curses (the VGA's text modes in this terminal, keys to the guest) or none (the default)"},
    {"gdb", "gdb", true, "gdb stub: tcp:[HOST]:PORT (on 127.0.0.1 unless HOST is given), unix:PATH or stdio"},
    {"s", "gdb-default", false, "gdb stub on TCP port 1234 (-gdb tcp::1234)"},
    {"S", "wait-for-gdb", false, "do not start the guest until gdb lets it run"},
    {"vnc", "vnc", true, "VNC server: [HOST]:N (TCP port 5900+N, on 127.0.0.1 unless HOST is given) or unix:PATH"},
    {"nographic", "nographic", false, "no display (popek's default; the serial console stays on stdio)"},
    {"no-reboot", "no-reboot", false, "exit instead of resetting when the guest resets"},
    {"d", "debug", true, "log channels, comma separated (-d help lists them)"},
    {"D", "logfile", true, "write -d output to FILE instead of stderr"},
    {"engine", "engine", true, "execution engine: jit or interp (default jit)"},
    {"pg-report", "pg-report", false, "print the sensitive-instruction census at exit"},
    {"stats", "stats", false, "print execution statistics at exit"},
    {nullptr, "state-hash", false, "print a hash of the whole machine state (CPU, RAM, devices) at exit"},
    {nullptr, "jit-cache", true, "host code cache of the JIT (MiB, or K/M/G suffix; default 64M)"},
    {"loadvm", "loadvm", true, "restore the machine from a snapshot FILE before the first instruction"},
    {"savevm-at", "savevm-at", true, "N,FILE: save a snapshot at the first turn boundary at or after instruction N"},
    {"savevm-on-exit", "savevm-on-exit", true, "save a snapshot to FILE when the run ends"},
    {nullptr, "lockstep", false, "run the interpreter beside the JIT, stop at the first difference"},
    {"perfmap", "perfmap", false, "write /tmp/perf-PID.map naming the JIT's host code for perf"},
    {"h", "help", false, "print this help and exit"},
    {"help", "help", false, nullptr},
    {"version", "version", false, "print the version and exit"},
};

const OptionSpec* find_option(const std::string& name, bool double_dash) {
  for (const OptionSpec& o : kOptions) {
    if (o.qemu && name == o.qemu) return &o;
    if (double_dash && name == o.name) return &o;
  }
  return nullptr;
}

struct TraceItem {
  const char* name;
  uint32_t bit;
  const char* help;
};

constexpr TraceItem kTraceItems[] = {
    {"in_asm", bus::trace::IN_ASM, "show the guest instructions of each decoded block"},
    {"int", bus::trace::INT, "show interrupts and exceptions"},
    {"exec", bus::trace::EXEC, "show each block executed"},
    {"cpu", bus::trace::CPU, "show the CPU registers before each block"},
    {"guest_errors", bus::trace::GUEST_ERRORS,
     "show guest misuse: absent ports and memory, read-only registers, rejected commands"},
    {"unimp", bus::trace::UNIMP, "show device features and MSRs the guest asks for and popek does not model"},
    {"ioport", bus::trace::IOPORT, "show POST codes"},
};

std::string usage() {
  std::ostringstream o;
  o << "usage: popek [options] [-kernel FILE | -bios FILE] [-hda DISK]\n"
       "Without -kernel and -bios the machine boots through SeaBIOS (" << kDefaultBios << ").\n"
       "Options (a single or a double dash both work):\n";
  for (const OptionSpec& s : kOptions) {
    if (!s.help) continue;
    std::string left = s.qemu ? std::string("-") + s.qemu + ", --" + s.name : std::string("--") + s.name;
    if (s.takes_value) left += " VALUE";
    char line[256];
    snprintf(line, sizeof line, "  %-24s %s\n", left.c_str(), s.help);
    o << line;
  }
  return o.str();
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    const size_t pos = s.find(sep, start);
    out.push_back(s.substr(start, pos == std::string::npos ? std::string::npos : pos - start));
    if (pos == std::string::npos) break;
    start = pos + 1;
  }
  return out;
}

// "key=value" (or "key" with an empty value) of a comma-separated option property.
std::pair<std::string, std::string> split_property(const std::string& part) {
  const size_t eq = part.find('=');
  return {part.substr(0, eq), eq == std::string::npos ? "" : part.substr(eq + 1)};
}

// Unsigned number in C syntax (decimal, 0x hex, 0 octal), whole string.
bool parse_number(const std::string& s, unsigned long& v) {
  if (s.empty() || s[0] == '-' || s[0] == '+') return false;
  errno = 0;
  char* end = nullptr;
  v = std::strtoul(s.c_str(), &end, 0);
  return errno == 0 && end && *end == '\0';
}

// Empty when `path` names a readable, non-empty regular file.
std::string check_input_file(const char* option, const std::string& path) {
  const std::string what = std::string("popek: -") + option + " " + path + ": ";
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return what + std::strerror(errno);
  if (!S_ISREG(st.st_mode)) return what + "not a regular file";
  FILE* f = fopen(path.c_str(), "rb");
  if (!f) return what + std::strerror(errno);
  fclose(f);
  if (st.st_size == 0) return what + "file is empty";
  return {};
}

// -chardev BACKEND,id=ID[,path=PATH]: the backend spec ("file:PATH", "stdio", "none")
// under its id.
std::string parse_chardev(const std::string& spec, std::vector<std::pair<std::string, std::string>>& chardevs) {
  const std::vector<std::string> parts = split(spec, ',');
  const std::string what = "popek: -chardev " + spec + ": ";
  std::string id, path;
  for (size_t i = 1; i < parts.size(); ++i) {
    const auto [key, val] = split_property(parts[i]);
    if (key == "id") id = val;
    else if (key == "path" && parts[0] == "file") path = val;
    else return what + "unknown property '" + key + "'";
  }
  if (id.empty()) return what + "missing id=";
  for (const auto& c : chardevs)
    if (c.first == id) return what + "duplicate id '" + id + "'";
  if (parts[0] == "file") {
    if (path.empty()) return what + "missing path=";
    chardevs.emplace_back(id, "file:" + path);
  } else if (parts[0] == "stdio") {
    chardevs.emplace_back(id, "stdio");
  } else if (parts[0] == "null") {
    chardevs.emplace_back(id, "none");
  } else {
    return what + "unsupported backend '" + parts[0] + "' (use file, stdio or null)";
  }
  return {};
}

// -device isa-debugcon[,iobase=N],chardev=ID
std::string parse_debugcon_device(const std::string& spec, const std::vector<std::pair<std::string, std::string>>& chardevs,
                                  MachineConfig& c) {
  const std::string what = "popek: -device " + spec + ": ";
  const std::vector<std::string> parts = split(spec, ',');
  unsigned long base = 0xE9;
  std::string chardev;
  for (size_t i = 1; i < parts.size(); ++i) {
    const auto [key, val] = split_property(parts[i]);
    if (key == "iobase") {
      if (!parse_number(val, base) || base > 0xFFFF) return what + "bad iobase value '" + val + "'";
    } else if (key == "chardev") {
      chardev = val;
    } else {
      return what + "unknown property '" + key + "' (use iobase=N, chardev=ID)";
    }
  }
  if (chardev.empty()) return what + "missing chardev=ID";
  const auto it = std::find_if(chardevs.begin(), chardevs.end(), [&](const auto& p) { return p.first == chardev; });
  if (it == chardevs.end()) return what + "no -chardev with id '" + chardev + "'";
  if (c.debugcon != "none") return what + "popek has one debug console, already given (-debugcon or isa-debugcon)";
  c.debugcon = it->second;
  c.debugcon_iobase = static_cast<uint16_t>(base);
  return {};
}

// -boot [order=]DRIVES[,menu=off]: QEMU's letters for the BIOS boot order.
std::string parse_boot(const std::string& spec, MachineConfig& c) {
  const std::string what = "popek: -boot " + spec + ": ";
  for (const std::string& part : split(spec, ',')) {
    auto [key, val] = split_property(part);
    if (part.find('=') == std::string::npos) {
      val = key;  // QEMU's implied "order="
      key = "order";
    }
    if (key == "order") {
      if (val.empty() || val.size() > 3) return what + "give one to three boot devices (a, c, d, n)";
      for (size_t i = 0; i < val.size(); ++i) {
        if (std::string("abcdn").find(val[i]) == std::string::npos)
          return what + "invalid boot device '" + std::string(1, val[i]) + "' (use a, c, d or n)";
        if (val.find(val[i]) != i) return what + "boot device '" + std::string(1, val[i]) + "' given twice";
      }
      c.boot_order = val;
    } else if (key == "menu") {
      if (val != "off") return what + "menu=" + val + " is not supported (the BIOS boots without a menu)";
    } else {
      return what + "unknown property '" + key + "' (use order=DRIVES)";
    }
  }
  return {};
}

std::string parse_device(const std::string& spec, MachineConfig& c) {
  const std::vector<std::string> parts = split(spec, ',');
  const std::string what = "popek: -device " + spec + ": ";
  if (parts[0] != "isa-debug-exit")
    return what + "unsupported device '" + parts[0] + "' (popek has isa-debug-exit and isa-debugcon)";
  unsigned long base = c.debug_exit_iobase, size = c.debug_exit_iosize;
  for (size_t i = 1; i < parts.size(); ++i) {
    const auto [key, val] = split_property(parts[i]);
    unsigned long* dst = key == "iobase" ? &base : key == "iosize" ? &size : nullptr;
    if (!dst) return what + "unknown property '" + key + "' (use iobase=N, iosize=N)";
    if (!parse_number(val, *dst)) return what + "bad " + key + " value '" + val + "'";
  }
  if (base > 0xFFFF) return what + "iobase must be at most 0xffff";
  if (size == 0 || base + size > 0x10000) return what + "iosize must be 1 to 0x10000 - iobase";
  c.debug_exit_iobase = static_cast<uint16_t>(base);
  c.debug_exit_iosize = static_cast<uint16_t>(size);
  return {};
}

// -drive file=F,format=raw,if=ide,index=N[,readonly=on][,media=disk]
std::string parse_drive(const std::string& spec, DriveConfig& d) {
  const std::string what = "popek: -drive " + spec + ": ";
  bool have_index = false;
  for (const std::string& part : split(spec, ',')) {
    const auto [key, val] = split_property(part);
    if (key == "file") {
      d.path = val;
    } else if (key == "format") {
      if (val != "raw") return what + "format '" + val + "' is not supported (use format=raw)";
    } else if (key == "if") {
      if (val != "ide") return what + "interface '" + val + "' is not supported (use if=ide)";
    } else if (key == "index") {
      unsigned long n;
      if (!parse_number(val, n) || n > 3) return what + "index must be 0 to 3";
      d.index = static_cast<unsigned>(n);
      have_index = true;
    } else if (key == "readonly") {
      if (val == "on") d.readonly = true;
      else if (val == "off") d.readonly = false;
      else return what + "readonly must be on or off";
    } else if (key == "media") {
      if (val != "disk") return what + "media '" + val + "' is not supported (use media=disk)";
    } else {
      return what + "unknown property '" + key + "'";
    }
  }
  if (d.path.empty()) return what + "missing file=";
  if (!have_index) return what + "missing index= (0 to 3)";
  return {};
}

// Empty when `path` is a readable raw image of a whole number of 512-byte sectors.
std::string check_disk_image(const std::string& path) {
  const std::string what = "popek: disk image " + path + ": ";
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return what + std::strerror(errno);
  if (!S_ISREG(st.st_mode)) return what + "not a regular file";
  FILE* f = fopen(path.c_str(), "rb");
  if (!f) return what + std::strerror(errno);
  fclose(f);
  if (st.st_size == 0) return what + "file is empty";
  if (st.st_size % 512 != 0)
    return what + "size " + std::to_string(st.st_size) + " is not a multiple of 512 bytes";
  if (st.st_size > (1ll << 48) * 512) return what + "too large for LBA48";
  return {};
}

// An output file (-serial file:, -debugcon file:, -D) that is also an input (-kernel,
// -initrd, -bios, a disk image) would be truncated before it is read: refused, whatever
// path names it. Returns the error line, or "".
std::string output_overwrites_input(const MachineConfig& c) {
  std::vector<std::pair<std::string, std::string>> inputs = {
      {"-kernel", c.kernel_path}, {"-initrd", c.initrd_path}, {"-bios", c.bios_path}};
  for (const DriveConfig& d : c.drives) inputs.emplace_back("disk image", d.path);
  std::vector<std::pair<std::string, std::string>> outputs = {{"-D", c.trace_file}};
  auto file_of = [](const std::string& spec) { return spec.rfind("file:", 0) == 0 ? spec.substr(5) : std::string(); };
  outputs.emplace_back("-serial " + c.serial, file_of(c.serial));
  for (const std::string& s : c.serial_extra) outputs.emplace_back("-serial " + s, file_of(s));
  outputs.emplace_back("-debugcon " + c.debugcon, file_of(c.debugcon));
  for (const auto& [out_opt, out_path] : outputs) {
    struct stat so;
    if (out_path.empty() || stat(out_path.c_str(), &so) != 0) continue;  // a new file is no input
    for (const auto& [in_opt, in_path] : inputs) {
      struct stat si;
      if (in_path.empty() || stat(in_path.c_str(), &si) != 0) continue;
      if (so.st_dev == si.st_dev && so.st_ino == si.st_ino)
        return "popek: " + out_opt + ": " + out_path + " is also the " + in_opt + " " + in_path +
               "; refusing to overwrite an input";
    }
  }
  return {};
}

// -loadvm FILE, -savevm-at N,FILE, -savevm-on-exit FILE (frontend/snapshot.h). A disk
// written in place cannot be snapshotted (Machine::save_snapshot says so too).
std::string parse_snapshot_options(const po::variables_map& vm, MachineConfig& c) {
  auto str = [&vm](const char* k) { return vm[k].as<std::string>(); };
  if (vm.count("loadvm")) {
    c.loadvm = str("loadvm");
    if (c.loadvm.empty()) return "popek: -loadvm: empty file name";
  }
  if (vm.count("savevm-at")) {
    const std::string spec = str("savevm-at");
    const size_t comma = spec.find(',');
    const std::string n = spec.substr(0, comma);
    char* end = nullptr;
    errno = 0;
    const unsigned long long v = n.empty() ? 0 : strtoull(n.c_str(), &end, 0);
    if (n.empty() || errno || *end || n[0] == '-' || comma == std::string::npos || comma + 1 == spec.size())
      return "popek: -savevm-at " + spec + ": expected N,FILE (N an instruction count)";
    c.savevm_at_icount = v;
    c.savevm_at_path = spec.substr(comma + 1);
  }
  if (vm.count("savevm-on-exit")) {
    c.savevm_on_exit = str("savevm-on-exit");
    if (c.savevm_on_exit.empty()) return "popek: -savevm-on-exit: empty file name";
  }
  const bool saving = !c.savevm_at_path.empty() || !c.savevm_on_exit.empty();
  if (saving && !c.snapshot) {
    for (const DriveConfig& d : c.drives) {
      if (d.readonly) continue;
      return std::string("popek: ") + (c.savevm_at_path.empty() ? "-savevm-on-exit" : "-savevm-at") +
             ": the disk " + d.path +
             " is written in place, so a snapshot could not restore it; use -snapshot or readonly=on";
    }
  }
  if (c.lockstep && (saving || !c.loadvm.empty()))
    return "popek: -loadvm and -savevm-* cannot be used with --lockstep";
  if (c.rr_mode != RrMode::Off && !c.loadvm.empty())
    return "popek: -loadvm cannot be used with -icount rr=record|replay (a recording starts at power-on)";
  return {};
}

// -rtc base=utc|localtime|YYYY-MM-DDTHH:MM:SS
std::string parse_rtc(const std::string& spec, MachineConfig& c) {
  const std::string what = "popek: -rtc " + spec + ": ";
  for (const std::string& part : split(spec, ',')) {
    const auto [key, val] = split_property(part);
    if (key != "base") return what + "unknown property '" + key + "' (use base=...)";
    if (val == "utc") {
      c.rtc_base = RtcBase::Utc;
    } else if (val == "localtime") {
      c.rtc_base = RtcBase::LocalTime;
    } else {
      int y, mo, d, h, mi, sec;
      char tail;
      if (std::sscanf(val.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%c", &y, &mo, &d, &h, &mi, &sec, &tail) != 6 ||
          y < 1970 || y > 2099 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 59)
        return what + "base must be utc, localtime or YYYY-MM-DDTHH:MM:SS (1970 to 2099)";
      const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
      static constexpr int kDays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
      if (d > kDays[mo - 1] + (mo == 2 && leap ? 1 : 0)) return what + "no such date";
      if (h < 0 || mi < 0 || sec < 0) return what + "base must be utc, localtime or YYYY-MM-DDTHH:MM:SS (1970 to 2099)";
      // Days from the civil date (proleptic Gregorian), as seconds since the epoch.
      const int yy = mo <= 2 ? y - 1 : y;
      const int era = yy / 400;
      const int yoe = yy - era * 400;
      const int doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1;
      const int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
      const int64_t days = static_cast<int64_t>(era) * 146097 + doe - 719468;
      c.rtc_base = RtcBase::Fixed;
      c.rtc_fixed_epoch = days * 86400 + h * 3600 + mi * 60 + sec;
    }
  }
  return {};
}

// -icount shift=N[,sleep=on|off][,rr=record|replay,rrfile=FILE[,rrcheck=N]]
std::string parse_icount(const std::string& spec, MachineConfig& c) {
  const std::string what = "popek: -icount " + spec + ": ";
  for (const std::string& part : split(spec, ',')) {
    const auto [key, val] = split_property(part);
    if (key == "shift") {
      unsigned long n;
      if (!parse_number(val, n) || n > 10) return what + "shift must be 0 to 10";
      c.icount_shift = static_cast<unsigned>(n);
    } else if (key == "sleep") {
      if (val == "on") c.icount_sleep = true;
      else if (val == "off") c.icount_sleep = false;
      else return what + "sleep must be on or off";
    } else if (key == "rr") {
      if (val == "record") c.rr_mode = RrMode::Record;
      else if (val == "replay") c.rr_mode = RrMode::Replay;
      else if (val == "off") c.rr_mode = RrMode::Off;
      else return what + "rr must be record, replay or off";
    } else if (key == "rrfile") {
      if (val.empty()) return what + "rrfile needs a file name";
      c.rr_file = val;
    } else if (key == "rrcheck") {
      unsigned long n;
      if (!parse_number(val, n) || n < 1000) return what + "rrcheck must be a number of instructions, at least 1000";
      c.rr_check = n;
    } else {
      return what + "unknown property '" + key + "' (use shift=N, sleep=on|off, rr=record|replay, rrfile=FILE, rrcheck=N)";
    }
  }
  if (c.rr_mode != RrMode::Off && c.rr_file.empty()) return what + "rr= needs rrfile=FILE";
  if (c.rr_mode == RrMode::Off && !c.rr_file.empty()) return what + "rrfile= needs rr=record or rr=replay";
  if (c.rr_mode == RrMode::Replay && c.rr_check) return what + "rrcheck= is for rr=record (a replay checks where the recording did)";
  return {};
}

CliResult fail(std::string message) {
  CliResult r;
  r.exit = true;
  r.status = 1;
  r.error = std::move(message);
  return r;
}

CliResult finish(std::string out) {
  CliResult r;
  r.exit = true;
  r.status = 0;
  r.out = std::move(out);
  return r;
}

}  // namespace

TranslatedArgs translate_args(const std::vector<std::string>& args) {
  TranslatedArgs t;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& tok = args[i];
    if (tok.size() < 2 || tok[0] != '-') {
      t.error = "popek: unexpected argument '" + tok + "' (options start with '-')";
      return t;
    }
    const bool double_dash = tok[1] == '-';
    const std::string body = tok.substr(double_dash ? 2 : 1);
    const size_t eq = body.find('=');
    const std::string name = body.substr(0, eq);
    const OptionSpec* o = find_option(name, double_dash);
    if (!o) {
      t.error = "popek: unknown option '" + tok + "' (try --help)";
      return t;
    }
    const std::string shown = std::string(double_dash ? "--" : "-") + name;
    if (!o->takes_value) {
      if (eq != std::string::npos) {
        t.error = "popek: option '" + shown + "' takes no value";
        return t;
      }
      t.args.push_back(std::string("--") + o->name);
      continue;
    }
    std::string value;
    if (eq != std::string::npos) {
      value = body.substr(eq + 1);
    } else if (i + 1 < args.size()) {
      value = args[++i];
    } else {
      t.error = "popek: option '" + shown + "' requires a value";
      return t;
    }
    // "--name=" with nothing after it is a Boost syntax error: an empty value (-append "")
    // goes as the next token instead.
    if (value.empty()) {
      t.args.push_back(std::string("--") + o->name);
      t.args.push_back(value);
    } else {
      t.args.push_back(std::string("--") + o->name + "=" + value);
    }
  }
  return t;
}

bool parse_ram_size(const std::string& text, uint64_t& bytes) {
  if (text.empty() || !std::isdigit(static_cast<unsigned char>(text[0]))) return false;
  size_t i = 0;
  uint64_t n = 0;
  while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
    n = n * 10 + static_cast<uint64_t>(text[i] - '0');
    if (n > (1ull << 40)) return false;
    ++i;
  }
  unsigned shift = 20;  // a plain number is MiB, as on QEMU
  if (i < text.size()) {
    switch (text[i]) {
      case 'K': case 'k': shift = 10; break;
      case 'M': case 'm': shift = 20; break;
      case 'G': case 'g': shift = 30; break;
      default: return false;
    }
    ++i;
  }
  if (i != text.size()) return false;
  if (n > (~0ull >> shift)) return false;  // the size in bytes would not fit in 64 bits
  bytes = n << shift;
  return true;
}

std::string trace_help() {
  std::ostringstream o;
  o << "Log items (comma separated) for -d:\n";
  for (const TraceItem& t : kTraceItems) {
    char line[160];
    snprintf(line, sizeof line, "%-13s %s\n", t.name, t.help);
    o << line;
  }
  return o.str();
}

CliResult parse_cli(const std::vector<std::string>& raw, const std::string& default_bios) {
  const TranslatedArgs t = translate_args(raw);
  if (!t.error.empty()) return fail(t.error);

  po::options_description desc;
  for (const OptionSpec& o : kOptions) {
    if (!o.help) continue;  // an alias of the row before
    if (!o.takes_value) desc.add_options()(o.name, "");
    else if (std::strcmp(o.name, "device") == 0 || std::strcmp(o.name, "drive") == 0 ||
             std::strcmp(o.name, "serial") == 0 || std::strcmp(o.name, "chardev") == 0)
      desc.add_options()(o.name, po::value<std::vector<std::string>>()->composing(), "");
    else desc.add_options()(o.name, po::value<std::string>(), "");
  }
  po::variables_map vm;
  try {
    const auto style = po::command_line_style::allow_long | po::command_line_style::long_allow_adjacent |
                       po::command_line_style::long_allow_next;
    po::store(po::command_line_parser(t.args).options(desc).style(style).run(), vm);
    po::notify(vm);
  } catch (const std::exception& e) {
    return fail(std::string("popek: ") + e.what());
  }

  if (vm.count("help")) return finish(usage());
  if (vm.count("version")) return finish(std::string("popek ") + POPEK_VERSION + "\n");

  CliResult r;
  MachineConfig& c = r.config;
  auto str = [&](const char* name) { return vm[name].as<std::string>(); };

  if (vm.count("debug")) {
    const std::string list = str("debug");
    for (const std::string& item : split(list, ',')) {
      if (item == "help") return finish(trace_help());
    }
    for (const std::string& item : split(list, ',')) {
      const TraceItem* found = nullptr;
      for (const TraceItem& ti : kTraceItems)
        if (item == ti.name) found = &ti;
      if (!found) return fail("popek: -d: unknown log item '" + item + "' (try -d help)");
      c.trace_mask |= found->bit;
    }
  }
  if (vm.count("logfile")) {
    c.trace_file = str("logfile");
    if (c.trace_file.empty()) return fail("popek: -D: empty file name");
  }
  if (vm.count("memory")) {
    const std::string m = str("memory");
    uint64_t bytes = 0;
    if (!parse_ram_size(m, bytes))
      return fail("popek: -m " + m + ": bad size (a number of MiB, or with a K, M or G suffix)");
    if (bytes < (1ull << 20) || bytes > (3ull << 30))
      return fail("popek: -m " + m + ": guest RAM must be between 1 MiB and 3 GiB");
    c.ram_size = bytes;
  }
  if (vm.count("jit-cache")) {
    const std::string m = str("jit-cache");
    uint64_t bytes = 0;
    if (!parse_ram_size(m, bytes) || bytes < 4096 || bytes > (4ull << 30))
      return fail("popek: --jit-cache " + m + ": bad size (4K to 4G; MiB, or with a K, M or G suffix)");
    c.jit_cache_bytes = bytes;
  }
  c.perfmap = vm.count("perfmap") != 0;
  if (vm.count("engine")) {
    const std::string e = str("engine");
    if (e == "interp") c.engine = Engine::Interp;
    else if (e == "jit") c.engine = Engine::Jit;
    else return fail("popek: --engine " + e + ": unknown engine (use interp or jit)");
  }
  auto bad_backend = [](const char* opt, const std::string& spec) {
    return fail(std::string("popek: -") + opt + " " + spec +
                ": unsupported backend (use stdio, file:PATH or none)");
  };
  if (vm.count("debugcon")) {
    c.debugcon = str("debugcon");
    if (!devices::valid_backend_spec(c.debugcon)) return bad_backend("debugcon", c.debugcon);
  }
  if (vm.count("serial")) {
    const auto& specs = vm["serial"].as<std::vector<std::string>>();
    if (specs.size() > 4) return fail("popek: -serial: at most four serial ports (COM1..COM4)");
    for (size_t i = 0; i < specs.size(); ++i) {
      if (!devices::valid_backend_spec(specs[i])) return bad_backend("serial", specs[i]);
      if (i == 0) c.serial = specs[i];
      else c.serial_extra.push_back(specs[i]);
    }
  }
  for (const char* opt : {"hda", "hdb", "hdc", "hdd"}) {
    if (!vm.count(opt)) continue;
    DriveConfig d;
    d.path = str(opt);
    d.index = static_cast<unsigned>(opt[2] - 'a');
    c.drives.push_back(d);
  }
  if (vm.count("drive")) {
    for (const std::string& spec : vm["drive"].as<std::vector<std::string>>()) {
      DriveConfig d;
      const std::string err = parse_drive(spec, d);
      if (!err.empty()) return fail(err);
      c.drives.push_back(d);
    }
  }
  for (size_t i = 0; i < c.drives.size(); ++i) {
    for (size_t j = 0; j < i; ++j) {
      if (c.drives[i].index == c.drives[j].index)
        return fail("popek: two disks on IDE index " + std::to_string(c.drives[i].index) + ": " +
                    c.drives[j].path + " and " + c.drives[i].path);
    }
    const std::string err = check_disk_image(c.drives[i].path);
    if (!err.empty()) return fail(err);
  }
  c.snapshot = vm.count("snapshot") > 0;
  if (vm.count("rtc")) {
    const std::string err = parse_rtc(str("rtc"), c);
    if (!err.empty()) return fail(err);
  }
  if (vm.count("icount")) {
    const std::string err = parse_icount(str("icount"), c);
    if (!err.empty()) return fail(err);
  }
  std::vector<std::pair<std::string, std::string>> chardevs;  // -chardev id -> backend spec
  if (vm.count("chardev")) {
    for (const std::string& spec : vm["chardev"].as<std::vector<std::string>>()) {
      const std::string err = parse_chardev(spec, chardevs);
      if (!err.empty()) return fail(err);
    }
  }
  if (vm.count("device")) {
    for (const std::string& d : vm["device"].as<std::vector<std::string>>()) {
      const bool debugcon = d == "isa-debugcon" || d.rfind("isa-debugcon,", 0) == 0;
      const std::string err = debugcon ? parse_debugcon_device(d, chardevs, c) : parse_device(d, c);
      if (!err.empty()) return fail(err);
    }
  }
  if (vm.count("boot")) {
    const std::string err = parse_boot(str("boot"), c);
    if (!err.empty()) return fail(err);
  }
  if (vm.count("vga")) {
    const std::string v = str("vga");
    if (v == "std") c.vga = true;
    else if (v == "none") c.vga = false;
    else return fail("popek: -vga " + v + ": expected std or none");
  }
  if (vm.count("display")) {
    const std::string d = str("display");
    if (d != "curses" && d != "none") return fail("popek: -display " + d + ": expected curses or none");
    if (d == "curses" && vm.count("nographic")) return fail("popek: -display curses cannot be used with -nographic");
    c.display = d;
  }
  if (c.display == "curses") {
    // The terminal shows the screen: the serial console moves off it (QEMU puts it on a
    // virtual console), and nothing else may read or write it.
    if (!vm.count("serial")) c.serial = "none";
    if (c.serial == "stdio" || c.debugcon == "stdio" || std::find(c.serial_extra.begin(), c.serial_extra.end(), "stdio") != c.serial_extra.end())
      return fail("popek: -display curses: the terminal shows the screen; -serial and -debugcon cannot use stdio");
    if (vm.count("monitor") && str("monitor") == "stdio")
      return fail("popek: -display curses: the terminal shows the screen; use -monitor unix:PATH,server,nowait");
    if (!c.vga) return fail("popek: -display curses needs a display adapter (not -vga none)");
    // A person is looking: an idle guest waits in real time instead of racing ahead.
    if (!vm.count("icount")) c.icount_sleep = true;
  }
  if (vm.count("monitor")) {
    c.monitor = str("monitor");
    if (!valid_monitor_spec(c.monitor))
      return fail("popek: -monitor " + c.monitor + ": expected stdio, none or unix:PATH,server,nowait");
    if (c.monitor == "stdio" && (c.serial == "stdio" || c.debugcon == "stdio"))
      return fail("popek: -monitor stdio: standard input and output already belong to the serial console "
                  "or debugcon (use -serial none or -serial file:PATH)");
  }
  if (vm.count("vnc")) {
    VncAddress where;
    const std::string err = parse_vnc_spec(str("vnc"), where);
    if (!err.empty()) return fail("popek: -vnc " + str("vnc") + ": " + err);
    if (str("vnc") != "none") c.vnc = str("vnc");
    // Someone watches and types: an idle guest waits in host time instead of spinning.
    if (!c.vnc.empty() && !vm.count("icount")) c.icount_sleep = true;
  }
  c.no_reboot = vm.count("no-reboot") > 0;
  c.pg_report = vm.count("pg-report") > 0;
  if (vm.count("gdb-default")) c.gdb = "tcp::1234";
  if (vm.count("gdb")) {
    c.gdb = str("gdb");
    if (c.gdb == "none") c.gdb.clear();
    const std::string err = c.gdb.empty() ? "" : check_gdb_spec(c.gdb);
    if (!err.empty()) return fail("popek: -gdb " + c.gdb + ": " + err);
  }
  c.gdb_wait = vm.count("wait-for-gdb") > 0;
  if (c.gdb_wait && c.gdb.empty()) return fail("popek: -S waits for gdb: give -s or -gdb too");
  if (c.gdb == "stdio" && (c.serial == "stdio" || c.debugcon == "stdio" || c.monitor == "stdio"))
    return fail("popek: -gdb stdio: standard input and output already belong to the serial console, "
                "the debug console or the monitor (move them with -serial file:PATH or -serial none)");
  c.stats = vm.count("stats") > 0;
  c.state_hash = vm.count("state-hash") > 0;
  c.lockstep = vm.count("lockstep") > 0;
  {
    const std::string err = parse_snapshot_options(vm, c);
    if (!err.empty()) return fail(err);
  }
  if (c.lockstep) {
    if (vm.count("engine") && c.engine != Engine::Jit)
      return fail("popek: --lockstep compares the JIT with the interpreter: use it with --engine=jit");
    c.engine = Engine::Jit;
    if (c.monitor != "none")
      return fail("popek: -monitor cannot be used with --lockstep (its keys would reach one machine only)");
    if (c.rr_mode != RrMode::Off) return fail("popek: -icount rr= cannot be used with --lockstep");
    if (c.display != "none")
      return fail("popek: -display cannot be used with --lockstep (its keys would reach one machine only)");
    if (!c.vnc.empty())
      return fail("popek: -vnc cannot be used with --lockstep (its keys would reach one machine only)");
    if (!c.gdb.empty())
      return fail("popek: -gdb cannot be used with --lockstep (the debugger would drive one machine only)");
  }
  if (vm.count("kernel")) c.kernel_path = str("kernel");
  if (vm.count("bios")) c.bios_path = str("bios");
  if (vm.count("initrd")) c.initrd_path = str("initrd");
  if (vm.count("append")) c.append = str("append");

  for (const char* opt : {"kernel", "bios", "initrd"}) {
    if (vm.count(opt) && str(opt).empty())
      return fail(std::string("popek: -") + opt + ": empty file name");
  }
  if (c.kernel_path.empty() && c.bios_path.empty()) {
    struct stat st;
    if (::stat(default_bios.c_str(), &st) != 0)
      return fail("popek: no -kernel or -bios given, and the default firmware " + default_bios +
                  " is missing (install Debian's seabios package)");
    c.bios_path = default_bios;
  }
  if (c.kernel_path.empty() && !c.initrd_path.empty())
    return fail("popek: -initrd is only allowed with -kernel");
  if (c.kernel_path.empty() && vm.count("append"))
    return fail("popek: -append is only allowed with -kernel");
  const std::pair<const char*, const std::string*> files[] = {
      {"kernel", &c.kernel_path}, {"bios", &c.bios_path}, {"initrd", &c.initrd_path}};
  for (const auto& [opt, path] : files) {
    if (path->empty()) continue;
    const std::string err = check_input_file(opt, *path);
    if (!err.empty()) return fail(err);
  }
  const std::string conflict = output_overwrites_input(c);
  if (!conflict.empty()) return fail(conflict);
  return r;
}

}  // namespace popek::frontend
