#include "frontend/monitor.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>

#include "devices/keys.h"
#include "frontend/machine.h"
#include "frontend/snapshot.h"
#include "frontend/screendump.h"

namespace popek::frontend {

namespace {

constexpr const char* kPrompt = "(popek) ";
constexpr const char* kHelp =
    "help                          list the commands\n"
    "info registers                the CPU's registers\n"
    "screendump FILE [-f FORMAT]   save the screen: PPM, PNG (FILE.png or -f png) or the\n"
    "                              text of a text mode (FILE.txt or -f txt)\n"
    "sendkey KEYS [HOLD_MS]        press keys together, QEMU's names joined by '-', and\n"
    "                              release them at once or after HOLD_MS milliseconds\n"
    "                              (sendkey ctrl-alt-delete, sendkey shift-8, sendkey ret)\n"
    "mouse_move DX DY [DZ]         move the mouse DX right and DY down, turn its wheel DZ\n"
    "                              clicks (up when positive)\n"
    "mouse_button STATE            hold the mouse buttons in STATE: 1 left, 2 right, 4 middle\n"
    "savevm FILE                   save the whole machine to a snapshot FILE\n"
    "loadvm FILE                   restore the machine from a snapshot FILE\n"
    "system_reset                  reset the machine\n"
    "quit                          end popek\n";

// "unix:PATH,server,nowait" (also server=on, wait=off): the path, or empty.
std::string unix_path(const std::string& spec, bool& ok) {
  ok = false;
  if (spec.rfind("unix:", 0) != 0) return {};
  std::string rest = spec.substr(5);
  const size_t comma = rest.find(',');
  const std::string path = rest.substr(0, comma);
  bool server = false, nowait = false;
  std::string opts = comma == std::string::npos ? "" : rest.substr(comma + 1);
  std::stringstream ss(opts);
  std::string o;
  while (std::getline(ss, o, ',')) {
    if (o == "server" || o == "server=on") server = true;
    else if (o == "nowait" || o == "wait=off") nowait = true;
    else return {};
  }
  ok = !path.empty() && server && nowait;
  return path;
}

std::vector<std::string> words(const std::string& line) {
  std::vector<std::string> w;
  std::stringstream ss(line);
  std::string s;
  while (ss >> s) w.push_back(s);
  return w;
}

std::string seg_line(const char* name, const cpu::SegmentCache& c) {
  char buf[96];
  snprintf(buf, sizeof buf, "%-3s=%04x %08x %08x %08x\n", name, c.selector, c.base, c.limit,
           static_cast<uint32_t>(c.attr) << 8);
  return buf;
}

}  // namespace

bool valid_monitor_spec(const std::string& spec) {
  bool ok;
  unix_path(spec, ok);
  return ok || spec == "stdio" || spec == "none";
}

Monitor::Monitor(Machine& machine, const std::string& spec) : m_(machine) {
  if (spec == "none") return;
  if (spec == "stdio") {
    in_fd_ = 0;
    out_fd_ = 1;
    stdin_flags_ = fcntl(0, F_GETFL);
    if (stdin_flags_ >= 0) fcntl(0, F_SETFL, stdin_flags_ | O_NONBLOCK);
    send(std::string("popek monitor - type 'help' for more information\n") + kPrompt);
    return;
  }
  bool ok;
  socket_path_ = unix_path(spec, ok);
  if (!ok) throw MonitorError("-monitor " + spec + ": expected stdio, none or unix:PATH,server,nowait");
  sockaddr_un addr{};
  if (socket_path_.size() >= sizeof addr.sun_path) {
    throw MonitorError("-monitor " + spec + ": " + socket_path_ + ": path too long for a socket");
  }
  listen_fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) throw MonitorError("-monitor " + spec + ": socket: " + strerror(errno));
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, socket_path_.c_str(), socket_path_.size() + 1);
  unlink(socket_path_.c_str());  // a socket left by an earlier run
  if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || listen(listen_fd_, 1) != 0) {
    const std::string err = strerror(errno);
    close(listen_fd_);
    listen_fd_ = -1;
    throw MonitorError("-monitor " + spec + ": " + socket_path_ + ": " + err);
  }
}

Monitor::~Monitor() {
  // Standard input's flags belong to the open file the shell shares: leave them as found.
  if (stdin_flags_ >= 0) fcntl(0, F_SETFL, stdin_flags_);
  close_client();
  if (listen_fd_ >= 0) {
    close(listen_fd_);
    unlink(socket_path_.c_str());
  }
}

void Monitor::send(const std::string& text) {
  if (out_fd_ < 0) return;
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = write(out_fd_, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (errno == EAGAIN) {  // a client that does not read: wait for it a little
        usleep(1000);
        continue;
      }
      if (listen_fd_ >= 0) close_client();
      return;
    }
    done += static_cast<size_t>(n);
  }
}

void Monitor::accept_client() {
  const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (fd < 0) return;
  if (in_fd_ >= 0) {  // one client at a time
    close(fd);
    return;
  }
  in_fd_ = out_fd_ = fd;
  pending_.clear();
  send(std::string("popek monitor - type 'help' for more information\n") + kPrompt);
}

void Monitor::close_client() {
  if (in_fd_ >= 0 && listen_fd_ >= 0) close(in_fd_);
  if (listen_fd_ >= 0) in_fd_ = out_fd_ = -1;
}

void Monitor::release_held(bool all) {
  const auto now = std::chrono::steady_clock::now();
  for (auto h = held_.begin(); h != held_.end();) {
    if (!all && h->until > now) {
      ++h;
      continue;
    }
    for (auto it = h->keys.rbegin(); it != h->keys.rend(); ++it) m_.input_key(**it, false);
    h = held_.erase(h);
  }
}

void Monitor::poll() {
  release_held(false);
  if (listen_fd_ >= 0) accept_client();
  if (in_fd_ < 0) return;
  char buf[4096];
  for (;;) {
    const ssize_t n = read(in_fd_, buf, sizeof buf);
    if (n == 0) {  // end of input: the client left (stdio: nothing more will come)
      if (listen_fd_ >= 0) close_client();
      else in_fd_ = -1;
      break;
    }
    if (n < 0) break;  // EAGAIN: nothing more now
    pending_.append(buf, static_cast<size_t>(n));
  }
  size_t nl;
  while ((nl = pending_.find('\n')) != std::string::npos && !quit_) {
    std::string line = pending_.substr(0, nl);
    pending_.erase(0, nl + 1);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    send(execute(line));
    if (!quit_) send(kPrompt);
  }
}

std::string Monitor::execute(const std::string& line) {
  const std::vector<std::string> w = words(line);
  if (w.empty()) return {};
  const std::string& cmd = w[0];
  if (cmd == "help" || cmd == "?") return kHelp;
  if (cmd == "quit" || cmd == "q") {
    quit_ = true;
    return {};
  }
  if (cmd == "savevm" || cmd == "loadvm") {
    if (w.size() != 2) return cmd + ": expected one FILE\n";
    try {
      if (cmd == "savevm") m_.save_snapshot(w[1]);
      else m_.load_snapshot(w[1]);
    } catch (const SnapshotError& e) {
      return cmd + ": " + e.what() + "\n";
    }
    return {};
  }
  if (cmd == "system_reset") {
    m_.input_reset("system_reset from the monitor");
    return {};
  }
  if (cmd == "info") {
    if (w.size() == 2 && w[1] == "registers") {
      const cpu::CpuState& s = m_.cpu().s;
      char buf[256];
      std::string out;
      snprintf(buf, sizeof buf, "EAX=%08x EBX=%08x ECX=%08x EDX=%08x\nESI=%08x EDI=%08x EBP=%08x ESP=%08x\n",
               s.gpr[cpu::EAX], s.gpr[cpu::EBX], s.gpr[cpu::ECX], s.gpr[cpu::EDX], s.gpr[cpu::ESI],
               s.gpr[cpu::EDI], s.gpr[cpu::EBP], s.gpr[cpu::ESP]);
      out += buf;
      snprintf(buf, sizeof buf, "EIP=%08x EFL=%08x CPL=%u A20=%d HLT=%u ICOUNT=%" PRIu64 "\n", s.eip, s.eflags,
               s.cpl, m_.bus().a20() ? 1 : 0, s.halted, s.icount);
      out += buf;
      static const char* kSeg[] = {"ES", "CS", "SS", "DS", "FS", "GS"};
      for (unsigned i = 0; i < cpu::kNumSegRegs; ++i) out += seg_line(kSeg[i], s.seg[i]);
      out += seg_line("LDT", s.ldtr);
      out += seg_line("TR", s.tr);
      snprintf(buf, sizeof buf, "GDT=     %08x %08x\nIDT=     %08x %08x\nCR0=%08x CR2=%08x CR3=%08x CR4=%08x\n",
               s.gdtr.base, s.gdtr.limit, s.idtr.base, s.idtr.limit, s.cr[0], s.cr[2], s.cr[3], s.cr[4]);
      out += buf;
      return out;
    }
    return "info: popek knows 'info registers'\n";
  }
  if (cmd == "screendump") {
    std::string file, format;
    for (size_t i = 1; i < w.size(); ++i) {
      if (w[i] == "-f" && i + 1 < w.size()) format = w[++i];
      else if (file.empty()) file = w[i];
      else return "screendump: unexpected argument '" + w[i] + "'\n";
    }
    if (file.empty()) return "screendump: usage: screendump FILE [-f ppm|png|txt]\n";
    DumpFormat f;
    if (!dump_format(file, format, f)) return "screendump: unknown format '" + format + "' (ppm, png or txt)\n";
    const devices::Vga* vga = m_.vga();
    if (!vga) return "screendump: this machine has no display adapter\n";
    const std::string err = write_screendump(*vga, file, f);
    return err.empty() ? std::string() : err + "\n";
  }
  if (cmd == "sendkey") {
    if (w.size() < 2 || w.size() > 3) return "sendkey: usage: sendkey KEYS [HOLD_MS]\n";
    std::vector<const devices::KeyCodes*> keys;
    std::stringstream ss(w[1]);
    std::string name;
    while (std::getline(ss, name, '-')) {
      if (name.empty() && w[1].back() == '-') name = "minus";  // "ctrl--" style
      const devices::KeyCodes* k = devices::find_key(name);
      if (!k) return "sendkey: unknown key '" + name + "'\n";
      keys.push_back(k);
    }
    unsigned long hold_ms = 0;
    if (w.size() == 3) {
      char* end = nullptr;
      hold_ms = std::strtoul(w[2].c_str(), &end, 10);
      if (w[2].empty() || *end || hold_ms > 60000) return "sendkey: HOLD_MS must be a number of milliseconds, at most 60000\n";
    }
    // Keys are pressed in order and released in reverse: the guest's keyboard driver sees
    // the sequence a person typing them would produce. Keys still held from an earlier
    // sendkey are released first.
    release_held(true);
    for (const devices::KeyCodes* k : keys) {
      if (!m_.input_key(*k, true)) return "sendkey: the keyboard is in scan code set 3, which popek does not produce\n";
    }
    if (hold_ms) {
      held_.push_back({std::chrono::steady_clock::now() + std::chrono::milliseconds(hold_ms), keys});
      return {};
    }
    for (auto it = keys.rbegin(); it != keys.rend(); ++it) m_.input_key(**it, false);
    return {};
  }
  if (cmd == "mouse_move" || cmd == "mouse_button") {
    const bool move = cmd == "mouse_move";
    if (move ? w.size() < 3 || w.size() > 4 : w.size() != 2)
      return move ? "mouse_move: usage: mouse_move DX DY [DZ]\n" : "mouse_button: usage: mouse_button STATE\n";
    long v[3] = {0, 0, 0};
    for (size_t i = 1; i < w.size(); ++i) {
      char* end = nullptr;
      errno = 0;
      v[i - 1] = std::strtol(w[i].c_str(), &end, 0);
      if (errno || !end || *end || w[i].empty() || v[i - 1] < -65536 || v[i - 1] > 65536)
        return cmd + ": bad number '" + w[i] + "' (-65536 to 65536)\n";
    }
    devices::I8042& kbc = m_.kbc();
    if (!move) {
      if (v[0] < 0 || v[0] > 7) return "mouse_button: STATE is 0 to 7 (1 left, 2 right, 4 middle)\n";
      m_.input_mouse(0, 0, 0, static_cast<unsigned>(v[0]));
    } else {
      // QEMU's DZ counts up (away from the user) as positive; PS/2's wheel byte the other way.
      m_.input_mouse(static_cast<int>(v[0]), static_cast<int>(v[1]), static_cast<int>(-v[2]), kbc.state.mouse_buttons);
    }
    return {};
  }
  return "unknown command: '" + cmd + "' (help lists the commands)\n";
}

}  // namespace popek::frontend
