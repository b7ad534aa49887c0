#include "frontend/gdb_stub.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <optional>

#include "frontend/machine.h"
#include "frontend/monitor.h"
#include "frontend/record_replay.h"

namespace popek::frontend {

namespace {

// Registers in the order the target description lists them (QEMU's i386 order).
enum Reg : unsigned {
  kEax = 0,          // .. kEdi = 7, in the CPU's GPR order
  kEip = 8,
  kEflags = 9,
  kCs = 10,          // cs ss ds es fs gs
  kFsBase = 16,
  kGsBase = 17,
  kKGsBase = 18,
  kCr0 = 19,
  kCr2 = 20,
  kCr3 = 21,
  kCr4 = 22,
  kCr8 = 23,
  kEfer = 24,
  kSt0 = 25,         // .. st7 = 32, 80 bits each
  kFctrl = 33,
  kFstat = 34,
  kFtag = 35,
  kFiseg = 36,
  kFioff = 37,
  kFoseg = 38,
  kFooff = 39,
  kFop = 40,
  kNumRegs = 41,
};
// gdb's order of the segment registers; the CPU's (cpu::ES..GS) differs.
constexpr unsigned kSegOrder[6] = {cpu::CS, cpu::SS, cpu::DS, cpu::ES, cpu::FS, cpu::GS};

unsigned reg_size(unsigned n) { return n >= kSt0 && n < kSt0 + 8 ? 10 : 4; }

std::string target_xml() {
  std::string x =
      "<?xml version=\"1.0\"?>\n<!DOCTYPE target SYSTEM \"gdb-target.dtd\">\n"
      "<target version=\"1.0\">\n<architecture>i386</architecture>\n"
      "<feature name=\"org.gnu.gdb.i386.core\">\n"
      "<flags id=\"i386_eflags\" size=\"4\">"
      "<field name=\"CF\" start=\"0\" end=\"0\"/><field name=\"\" start=\"1\" end=\"1\"/>"
      "<field name=\"PF\" start=\"2\" end=\"2\"/><field name=\"AF\" start=\"4\" end=\"4\"/>"
      "<field name=\"ZF\" start=\"6\" end=\"6\"/><field name=\"SF\" start=\"7\" end=\"7\"/>"
      "<field name=\"TF\" start=\"8\" end=\"8\"/><field name=\"IF\" start=\"9\" end=\"9\"/>"
      "<field name=\"DF\" start=\"10\" end=\"10\"/><field name=\"OF\" start=\"11\" end=\"11\"/>"
      "<field name=\"NT\" start=\"14\" end=\"14\"/><field name=\"RF\" start=\"16\" end=\"16\"/>"
      "<field name=\"VM\" start=\"17\" end=\"17\"/><field name=\"AC\" start=\"18\" end=\"18\"/>"
      "<field name=\"VIF\" start=\"19\" end=\"19\"/><field name=\"VIP\" start=\"20\" end=\"20\"/>"
      "<field name=\"ID\" start=\"21\" end=\"21\"/></flags>\n";
  static const char* const kGprs[8] = {"eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi"};
  for (unsigned i = 0; i < 8; ++i) {
    const char* type = i == 4 || i == 5 ? "data_ptr" : "int32";
    x += std::string("<reg name=\"") + kGprs[i] + "\" bitsize=\"32\" type=\"" + type + "\"" +
         (i == 0 ? " regnum=\"0\"" : "") + "/>\n";
  }
  x += "<reg name=\"eip\" bitsize=\"32\" type=\"code_ptr\"/>\n"
       "<reg name=\"eflags\" bitsize=\"32\" type=\"i386_eflags\"/>\n";
  for (const char* s : {"cs", "ss", "ds", "es", "fs", "gs", "fs_base", "gs_base", "k_gs_base",
                        "cr0", "cr2", "cr3", "cr4", "cr8", "efer"}) {
    x += std::string("<reg name=\"") + s + "\" bitsize=\"32\" type=\"int32\"/>\n";
  }
  for (int i = 0; i < 8; ++i) x += "<reg name=\"st" + std::to_string(i) + "\" bitsize=\"80\" type=\"i387_ext\"/>\n";
  for (const char* s : {"fctrl", "fstat", "ftag", "fiseg", "fioff", "foseg", "fooff", "fop"}) {
    x += std::string("<reg name=\"") + s + "\" bitsize=\"32\" type=\"int\" group=\"float\"/>\n";
  }
  x += "</feature>\n</target>\n";
  return x;
}

void put_hex_le(std::string& out, const uint8_t* p, unsigned n) {
  static const char kHex[] = "0123456789abcdef";
  for (unsigned i = 0; i < n; ++i) {
    out += kHex[p[i] >> 4];
    out += kHex[p[i] & 15];
  }
}

void put_u32(std::string& out, uint32_t v) {
  uint8_t b[4] = {static_cast<uint8_t>(v), static_cast<uint8_t>(v >> 8), static_cast<uint8_t>(v >> 16),
                  static_cast<uint8_t>(v >> 24)};
  put_hex_le(out, b, 4);
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool parse_hex_bytes(const std::string& hex, std::vector<uint8_t>& out) {
  if (hex.size() % 2) return false;
  out.clear();
  for (size_t i = 0; i < hex.size(); i += 2) {
    const int hi = hex_digit(hex[i]), lo = hex_digit(hex[i + 1]);
    if (hi < 0 || lo < 0) return false;
    out.push_back(static_cast<uint8_t>(hi * 16 + lo));
  }
  return true;
}

// A hex number (big-endian text, as gdb writes addresses and lengths).
bool parse_num(const std::string& s, uint64_t& v) {
  if (s.empty() || s.size() > 16) return false;
  v = 0;
  for (char c : s) {
    const int d = hex_digit(c);
    if (d < 0) return false;
    v = v * 16 + static_cast<unsigned>(d);
  }
  return true;
}

uint32_t le32(const std::vector<uint8_t>& b) {
  return b[0] | (b[1] << 8) | (b[2] << 16) | (static_cast<uint32_t>(b[3]) << 24);
}

std::string hex_of(const std::string& text) {
  std::string out;
  put_hex_le(out, reinterpret_cast<const uint8_t*>(text.data()), static_cast<unsigned>(text.size()));
  return out;
}

}  // namespace

std::string check_gdb_spec(const std::string& spec) {
  if (spec == "stdio") return "";
  if (spec.rfind("unix:", 0) == 0) return spec.size() > 5 ? "" : "unix: needs a path";
  if (spec.rfind("tcp:", 0) == 0) {
    const std::string rest = spec.substr(4);
    const size_t colon = rest.rfind(':');
    if (colon == std::string::npos) return "expected tcp:[HOST]:PORT";
    uint64_t port = 0;
    const std::string p = rest.substr(colon + 1);
    if (p.empty() || p.find_first_not_of("0123456789") != std::string::npos || (port = std::stoull(p)) > 65535)
      return "the port must be a number from 0 to 65535";
    return "";
  }
  return "expected tcp:[HOST]:PORT, unix:PATH or stdio";
}

GdbStub::GdbStub(Machine& machine, const std::string& spec) : m_(machine) {
  const std::string err = check_gdb_spec(spec);
  if (!err.empty()) throw GdbError("-gdb " + spec + ": " + err);
  if (spec == "stdio") {
    stdio_ = true;
    fd_in_ = 0;
    fd_out_ = 1;
    return;
  }
  if (spec.rfind("unix:", 0) == 0) {
    socket_path_ = spec.substr(5);
    if (const size_t comma = socket_path_.find(','); comma != std::string::npos) socket_path_.resize(comma);
    sockaddr_un addr{};
    if (socket_path_.size() >= sizeof addr.sun_path) throw GdbError("-gdb " + spec + ": path too long for a socket");
    listen_fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (listen_fd_ < 0) throw GdbError("-gdb " + spec + ": socket: " + strerror(errno));
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, socket_path_.c_str(), socket_path_.size() + 1);
    unlink(socket_path_.c_str());
    if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || listen(listen_fd_, 1) != 0) {
      const std::string e = strerror(errno);
      close(listen_fd_);
      listen_fd_ = -1;
      throw GdbError("-gdb " + spec + ": " + socket_path_ + ": " + e);
    }
    return;
  }
  // tcp:[HOST]:PORT; without HOST, the loopback interface only (as -vnc).
  const std::string rest = spec.substr(4);
  const size_t colon = rest.rfind(':');
  std::string host = rest.substr(0, colon);
  const std::string port = rest.substr(colon + 1);
  if (host.empty()) host = "127.0.0.1";
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* res = nullptr;
  if (const int rc = getaddrinfo(host.c_str(), port.c_str(), &hints, &res); rc != 0)
    throw GdbError("-gdb " + spec + ": " + gai_strerror(rc));
  std::string last = "no address";
  for (addrinfo* a = res; a; a = a->ai_next) {
    const int fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    const int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, a->ai_addr, a->ai_addrlen) == 0 && listen(fd, 1) == 0) {
      listen_fd_ = fd;
      break;
    }
    last = strerror(errno);
    close(fd);
  }
  freeaddrinfo(res);
  if (listen_fd_ < 0) throw GdbError("-gdb " + spec + ": " + last);
}

GdbStub::~GdbStub() {
  if (!stdio_) close_client();
  if (listen_fd_ >= 0) close(listen_fd_);
  if (!socket_path_.empty()) unlink(socket_path_.c_str());
}

void GdbStub::close_client() {
  if (stdio_) {
    fd_in_ = fd_out_ = -1;
    return;
  }
  if (fd_in_ >= 0) close(fd_in_);
  fd_in_ = fd_out_ = -1;
  inbuf_.clear();
  no_ack_ = false;
}

void GdbStub::accept_client() {
  const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
  if (fd < 0) return;
  const int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);  // fails harmlessly on unix sockets
  fd_in_ = fd_out_ = fd;
  inbuf_.clear();
  no_ack_ = false;
}

// -------------------------------------------------------------- packets

bool GdbStub::write_all(const std::string& bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = write(fd_out_, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

void GdbStub::send_packet(const std::string& payload) {
  if (fd_out_ < 0) return;
  uint8_t sum = 0;
  std::string out = "$";
  for (char c : payload) {
    if (c == '$' || c == '#' || c == '}' || c == '*') {
      out += '}';
      out += static_cast<char>(c ^ 0x20);
      sum = static_cast<uint8_t>(sum + '}' + (c ^ 0x20));
    } else {
      out += c;
      sum = static_cast<uint8_t>(sum + static_cast<uint8_t>(c));
    }
  }
  char tail[4];
  snprintf(tail, sizeof tail, "#%02x", sum);
  out += tail;
  if (!write_all(out)) close_client();
}

// Reads one packet (blocking). `interrupt` is set instead when gdb sent Ctrl-C. False when
// the connection ended.
bool GdbStub::read_packet(std::string& out, bool& interrupt) {
  interrupt = false;
  for (;;) {
    // Skip acknowledgements and noise up to a packet start or Ctrl-C.
    while (!inbuf_.empty() && inbuf_[0] != '$' && inbuf_[0] != '\x03') inbuf_.erase(0, 1);
    if (!inbuf_.empty() && inbuf_[0] == '\x03') {
      inbuf_.erase(0, 1);
      interrupt = true;
      return true;
    }
    const size_t hash = inbuf_.find('#');
    if (!inbuf_.empty() && hash != std::string::npos && inbuf_.size() >= hash + 3) {
      std::string body = inbuf_.substr(1, hash - 1);
      const int hi = hex_digit(inbuf_[hash + 1]), lo = hex_digit(inbuf_[hash + 2]);
      inbuf_.erase(0, hash + 3);
      uint8_t sum = 0;
      for (char c : body) sum = static_cast<uint8_t>(sum + static_cast<uint8_t>(c));
      if (!no_ack_) {
        if (hi < 0 || lo < 0 || sum != hi * 16 + lo) {
          if (!write_all("-")) return false;
          continue;
        }
        if (!write_all("+")) return false;
      }
      // Binary data (X packets) escapes with '}'.
      out.clear();
      for (size_t i = 0; i < body.size(); ++i) {
        if (body[i] == '}' && i + 1 < body.size()) out += static_cast<char>(body[++i] ^ 0x20);
        else out += body[i];
      }
      return true;
    }
    char buf[4096];
    const ssize_t n = read(fd_in_, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) {
      pollfd p{fd_in_, POLLIN, 0};
      ::poll(&p, 1, -1);
      continue;
    }
    if (n <= 0) return false;
    inbuf_.append(buf, static_cast<size_t>(n));
    // A packet is at most PacketSize (4000) bytes, escaped: a client that sends far more
    // without a checksum is not speaking the protocol.
    if (inbuf_.size() > (1u << 20)) return false;
  }
}

// -------------------------------------------------------------- running and stopping

void GdbStub::wait_for_debugger() {
  // Until a debugger lets the guest go: one that connects and leaves without a word
  // (a port probe) does not.
  resume_ = false;
  while (!resume_ && !kill_) {
    while (fd_in_ < 0 && !stdio_) {
      pollfd p{listen_fd_, POLLIN, 0};
      if (::poll(&p, 1, 100) > 0) accept_client();
      if (m_.host && m_.host->signal.load()) return;
    }
    stop_signal_ = 5;
    serve();
    if (stdio_ && fd_in_ < 0) return;  // standard input ended
  }
}

void GdbStub::poll() {
  if (fd_in_ < 0 && !stdio_) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (::poll(&p, 1, 0) <= 0) return;
    accept_client();
    if (fd_in_ < 0) return;
    // A debugger that attaches finds the guest stopped (as under QEMU).
    stop_signal_ = 2;
    serve();
    return;
  }
  if (fd_in_ < 0) return;
  pollfd p{fd_in_, POLLIN, 0};
  if (::poll(&p, 1, 0) <= 0) return;
  char buf[4096];
  const ssize_t n = read(fd_in_, buf, sizeof buf);
  if (n <= 0) {
    close_client();  // gdb went away: the guest runs on
    m_.cpu().debug = {};
    m_.cpu().update_watches();
    return;
  }
  inbuf_.append(buf, static_cast<size_t>(n));
  if (inbuf_.find('\x03') != std::string::npos) {
    inbuf_.erase(0, inbuf_.find('\x03') + 1);
    stop_signal_ = 2;
    send_packet(stop_reply());
    serve();
  }
}

void GdbStub::stopped() {
  stop_signal_ = 5;
  m_.cpu().debug.single_step = false;
  if (fd_in_ < 0) {  // nobody listens any more
    m_.cpu().debug_resume();
    return;
  }
  if (m_.cpu().debug.stop == cpu::Cpu::Debug::Stop::Watch && m_.cpu().debug.watch_coarse) refine_watch_stop();
  send_packet(stop_reply());
  serve();
}

void GdbStub::finished(int status) {
  if (fd_in_ < 0) return;
  char reply[8];
  snprintf(reply, sizeof reply, "W%02x", status & 0xFF);
  send_packet(reply);
  close_client();
}

void GdbStub::serve() {
  resume_ = false;
  detached_ = false;
  while (fd_in_ >= 0 && !resume_ && !kill_) {
    std::string packet;
    bool interrupt = false;
    if (!read_packet(packet, interrupt)) {
      close_client();
      break;
    }
    if (interrupt) {
      send_packet(stop_reply());  // already stopped: say so again
      continue;
    }
    const std::string reply = handle(packet);
    if (kill_) break;  // k: no reply
    if (resume_ && reply.empty()) break;  // c, s, vCont: the reply is the next stop
    send_packet(reply);
    if (enter_no_ack_) {
      no_ack_ = true;
      enter_no_ack_ = false;
    }
    if (detached_) {
      close_client();
      break;
    }
  }
  if (fd_in_ < 0 || detached_) {
    // Without a debugger the guest runs free.
    m_.cpu().debug = {};
    m_.cpu().update_watches();
    sw_breaks_.clear();
    hw_breaks_.clear();
    watches_.clear();
  }
  m_.cpu().debug_resume();
}

std::string GdbStub::stop_reply() const {
  char head[32];
  snprintf(head, sizeof head, "T%02xthread:01;", stop_signal_);
  std::string r = head;
  const cpu::Cpu& c = m_.cpu();
  if (stop_signal_ != 5) return r;
  switch (c.debug.stop) {
    case cpu::Cpu::Debug::Stop::Breakpoint:
      r += break_reason(c.s.seg[cpu::CS].base + c.s.eip);
      break;
    case cpu::Cpu::Debug::Stop::Watch:
      r += watch_reason(c.debug.watch_hits);
      break;
    default:
      break;
  }
  return r;
}

// A stop reply's reason for a breakpoint at `linear`.
std::string GdbStub::break_reason(uint32_t linear) const {
  const bool sw = std::find(sw_breaks_.begin(), sw_breaks_.end(), linear) != sw_breaks_.end();
  return sw ? "swbreak:;" : "hwbreak:;";
}

// A stop reply's reason for a Watch stop: the first watchpoint hit (bit i: watches_[i]).
std::string GdbStub::watch_reason(uint32_t hits) const {
  for (size_t i = 0; i < watches_.size(); ++i) {
    if (!(hits & (1u << i))) continue;
    const char* what = watches_[i].kind == mmu::Mmu::kWatchWrite  ? "watch"
                       : watches_[i].kind == mmu::Mmu::kWatchRead ? "rwatch"
                                                                  : "awatch";
    char w[48];
    snprintf(w, sizeof w, "%s:%x;", what, watches_[i].addr);
    return w;
  }
  return "";
}

void GdbStub::resume(bool step) {
  cpu::Cpu& c = m_.cpu();
  c.debug.single_step = step;
  // A continue with a watchpoint runs per block (translated code) when history can take
  // it back to the instruction that hit (refine_watch_stop); else on the interpreter.
  const bool coarse = c.debug.watches.empty() || (!step && rescan_possible());
  if (coarse != c.debug.coarse) {
    c.debug.coarse = coarse;
    c.debug_changed();
  }
  resume_icount_ = c.s.icount;
  resume_ = true;
}

bool GdbStub::rescan_possible() {
  if (!history_.empty() && history_.front().icount <= m_.cpu().s.icount) return reverse_refusal().empty();
  // No history yet (a debugger's write clears it, or nothing ran): it can begin here,
  // between two blocks (a checkpoint's run starts a block at its EIP).
  if (!history_.empty() || m_.cpu().in_block() || !rerun_refusal().empty()) return false;
  history_began_ = last_taken_ = std::chrono::steady_clock::now();
  checkpoint_time_ = {};
  history_.push_back(checkpoint_here());
  return true;
}

// The guest stopped at the end of a block that made a watched access (or an interrupt
// delivery that did): go back to the checkpoint before it, on to a few instructions
// before it with the checks off, then on with exact checks to the stop a continue on the
// interpreter would have made. (Nothing between the resume and that block hit: its checks
// would have stopped the run there.)
void GdbStub::refine_watch_stop() {
  cpu::Cpu& c = m_.cpu();
  const Checks checks{c.debug.breakpoints, c.debug.watches};
  const uint64_t end = c.s.icount, w = c.debug.watch_icount;
  const uint64_t from = std::max(resume_icount_, w >= 2 ? w - 2 : 0);
  auto it = std::upper_bound(history_.begin(), history_.end(), from,
                             [](uint64_t v, const Checkpoint& cp) { return v < cp.icount; });
  if (it == history_.begin()) {
    m_.bus().log().warn("gdb-watch-refine", "gdb stub: no checkpoint before a watchpoint hit at instruction "
                        "%" PRIu64 ": the stop is at the end of its block", w);
    return;
  }
  const Checkpoint cp = *std::prev(it);  // (a copy: the travel may add a checkpoint)
  travel(cp, {from, kAnyEip});
  arm(checks, false, end + 1);
  c.debug_resume();  // (a breakpoint here is where the guest was resumed, or is none)
  const bool found = m_.run_to_debug_stop() && c.debug.stop != cpu::Cpu::Debug::Stop::Position;
  c.debug.stop_from = UINT64_MAX;
  if (!found) {
    m_.bus().log().warn("gdb-watch-refine", "gdb stub: the watchpoint hit near instruction %" PRIu64
                        " was not found again: the stop is after it", w);
  }
}

void GdbStub::sync_breakpoints() {
  cpu::Cpu::Debug& d = m_.cpu().debug;
  d.breakpoints = sw_breaks_;
  d.breakpoints.insert(d.breakpoints.end(), hw_breaks_.begin(), hw_breaks_.end());
  d.watches.clear();
  for (const WatchSpec& s : watches_) d.watches.push_back({s.addr, s.len, s.kind});
  // Breakpoints alone are checked per block (translated code runs between them); a
  // watchpoint must stop right after its instruction, so with one the interpreter runs
  // (but see resume).
  d.coarse = d.watches.empty();
  m_.cpu().debug_changed();
  m_.cpu().update_watches();
}

// -------------------------------------------------------------- requests

std::string GdbStub::handle(const std::string& p) {
  if (p.empty()) return "";
  auto length_zero = [&p] {  // M/X ADDR,0: (gdb probes X so)
    const size_t comma = p.find(','), colon = p.find(':');
    return comma != std::string::npos && colon != std::string::npos && p.compare(comma + 1, colon - comma - 1, "0") == 0;
  };
  const bool write = p[0] == 'G' || p[0] == 'P' || ((p[0] == 'M' || p[0] == 'X') && !length_zero());
  if (write && m_.record_replay()) {
    // A log holds what enters from the host at points between blocks; a debugger writes
    // wherever the guest stopped, and a replay would not repeat it.
    m_.bus().log().warn("gdb-write-rr", "gdb stub: writes to registers or memory are refused while "
                        "recording or replaying (-icount rr=): the log could not replay them");
    return "E01";
  }
  // A debugger's write makes a run of its own: re-running from a checkpoint would not
  // repeat it, so history starts again.
  if (write) history_.clear();
  cpu::Cpu& c = m_.cpu();
  switch (p[0]) {
    case '?':
      return stop_reply();
    case 'g':
      return read_registers();
    case 'G': {
      std::string rest = p.substr(1);
      size_t pos = 0;
      for (unsigned n = 0; n < kNumRegs && pos < rest.size(); ++n) {
        const size_t len = reg_size(n) * 2;
        if (pos + len > rest.size()) return "E22";
        if (!write_register(n, rest.substr(pos, len))) return "E22";
        pos += len;
      }
      return "OK";
    }
    case 'p': {
      uint64_t n;
      if (!parse_num(p.substr(1), n)) return "E22";
      if (n >= kNumRegs) return "E45";
      const std::string all = read_registers();
      size_t off = 0;
      for (unsigned i = 0; i < n; ++i) off += reg_size(i) * 2;
      return all.substr(off, reg_size(static_cast<unsigned>(n)) * 2);
    }
    case 'P': {
      const size_t eq = p.find('=');
      uint64_t n;
      if (eq == std::string::npos || !parse_num(p.substr(1, eq - 1), n)) return "E22";
      if (n >= kNumRegs) return "E45";
      const std::string v = p.substr(eq + 1);
      if (v.size() != reg_size(static_cast<unsigned>(n)) * 2) return "E22";
      return write_register(static_cast<unsigned>(n), v) ? "OK" : "E22";
    }
    case 'm': {
      const size_t comma = p.find(',');
      uint64_t a, n;
      if (comma == std::string::npos || !parse_num(p.substr(1, comma - 1), a) || !parse_num(p.substr(comma + 1), n))
        return "E22";
      if (n > 0x10000) n = 0x10000;
      const std::string r = read_memory(static_cast<uint32_t>(a), static_cast<uint32_t>(n));
      return r.empty() && n ? "E14" : r;
    }
    case 'M':
    case 'X': {
      const size_t comma = p.find(','), colon = p.find(':');
      uint64_t a, n;
      if (comma == std::string::npos || colon == std::string::npos || colon < comma ||
          !parse_num(p.substr(1, comma - 1), a) || !parse_num(p.substr(comma + 1, colon - comma - 1), n))
        return "E22";
      std::vector<uint8_t> bytes;
      if (p[0] == 'M') {
        if (!parse_hex_bytes(p.substr(colon + 1), bytes)) return "E22";
      } else {
        bytes.assign(p.begin() + static_cast<std::ptrdiff_t>(colon) + 1, p.end());
      }
      if (bytes.size() != n) return "E22";
      return write_memory(static_cast<uint32_t>(a), bytes) ? "OK" : "E14";
    }
    case 'c':
    case 's':
    case 'C':
    case 'S': {
      // An address to resume at (c ADDR) moves EIP; a signal (C sig) is meaningless for a
      // machine and dropped.
      std::string arg = p.substr(1);
      if (p[0] == 'C' || p[0] == 'S') {
        const size_t semi = arg.find(';');
        arg = semi == std::string::npos ? "" : arg.substr(semi + 1);
      }
      if (!arg.empty()) {
        uint64_t a;
        if (!parse_num(arg, a)) return "E22";
        c.s.eip = static_cast<uint32_t>(a);
        c.debug_leave_block();
      }
      resume(p[0] == 's' || p[0] == 'S');
      return "";
    }
    case 'D':
      detached_ = true;
      resume_ = true;
      return "OK";
    case 'k':
      kill_ = true;
      return "";
    case 'H':
    case 'T':
      return "OK";
    case 'Z':
    case 'z':
      return insert(p[0] == 'Z', p.substr(1));
    default:
      break;
  }
  if (p.rfind("qSupported", 0) == 0)
    return "PacketSize=4000;qXfer:features:read+;QStartNoAckMode+;swbreak+;hwbreak+;vContSupported+;"
           "ReverseStep+;ReverseContinue+";
  if (p == "bs" || p == "bc") return reverse(p == "bs");
  if (p == "QStartNoAckMode") {
    enter_no_ack_ = true;  // after this reply
    return "OK";
  }
  if (p.rfind("qXfer:features:read:target.xml:", 0) == 0) {
    const std::string range = p.substr(std::strlen("qXfer:features:read:target.xml:"));
    const size_t comma = range.find(',');
    uint64_t off, len;
    if (comma == std::string::npos || !parse_num(range.substr(0, comma), off) || !parse_num(range.substr(comma + 1), len))
      return "E22";
    const std::string xml = target_xml();
    if (off >= xml.size()) return "l";
    const std::string part = xml.substr(off, len);
    return (off + part.size() >= xml.size() ? "l" : "m") + part;
  }
  if (p.rfind("qXfer:", 0) == 0) return "E00";
  if (p == "qAttached" || p.rfind("qAttached:", 0) == 0) return "1";
  if (p == "qC") return "QC01";
  if (p == "qfThreadInfo") return "m01";
  if (p == "qsThreadInfo") return "l";
  if (p.rfind("qRcmd,", 0) == 0) return monitor_command(p.substr(6));
  if (p == "vCont?") return "vCont;c;C;s;S";
  if (p.rfind("vCont;", 0) == 0) {
    // All-stop with one thread: the first action decides.
    const char a = p.size() > 6 ? p[6] : 'c';
    if (a != 'c' && a != 'C' && a != 's' && a != 'S') return "E22";
    resume(a == 's' || a == 'S');
    return "";
  }
  if (p.rfind("vKill", 0) == 0) {
    kill_ = true;
    return "OK";
  }
  return "";  // not supported: gdb falls back
}

std::string GdbStub::read_registers() {
  const cpu::CpuState& s = m_.cpu().s;
  std::string out;
  for (unsigned i = 0; i < 8; ++i) put_u32(out, s.gpr[i]);
  put_u32(out, s.eip);
  put_u32(out, s.eflags);
  for (unsigned seg : kSegOrder) put_u32(out, s.seg[seg].selector);
  put_u32(out, s.seg[cpu::FS].base);
  put_u32(out, s.seg[cpu::GS].base);
  put_u32(out, 0);  // k_gs_base: no such MSR on a 32-bit CPU
  put_u32(out, s.cr[0]);
  put_u32(out, s.cr[2]);
  put_u32(out, s.cr[3]);
  put_u32(out, s.cr[4]);
  put_u32(out, 0);  // cr8: none without long mode
  put_u32(out, static_cast<uint32_t>(s.msr.efer));
  const unsigned top = (s.fpu.sw & cpu::fsw::TOP_MASK) >> cpu::fsw::TOP_SHIFT;
  for (unsigned i = 0; i < 8; ++i) put_hex_le(out, s.fpu.r[(top + i) & 7], 10);
  put_u32(out, s.fpu.cw);
  put_u32(out, s.fpu.sw);
  put_u32(out, s.fpu.tw);
  put_u32(out, s.fpu.fcs);
  put_u32(out, s.fpu.fip);
  put_u32(out, s.fpu.fds);
  put_u32(out, s.fpu.fdp);
  put_u32(out, s.fpu.fop);
  return out;
}

bool GdbStub::write_register(unsigned n, const std::string& hex) {
  std::vector<uint8_t> b;
  if (!parse_hex_bytes(hex, b) || b.size() != reg_size(n)) return false;
  cpu::Cpu& c = m_.cpu();
  cpu::CpuState& s = c.s;
  if (n >= kSt0 && n < kSt0 + 8) {
    const unsigned top = (s.fpu.sw & cpu::fsw::TOP_MASK) >> cpu::fsw::TOP_SHIFT;
    std::memcpy(s.fpu.r[(top + n - kSt0) & 7], b.data(), 10);
    return true;
  }
  const uint32_t v = le32(b);
  if (n < 8) {
    s.gpr[n] = v;
    return true;
  }
  switch (n) {
    case kEip:
      if (s.eip != v) c.debug_leave_block();
      s.eip = v;
      return true;
    case kEflags:
      if (s.eflags != (v | 2u)) c.debug_leave_block();
      s.eflags = v | 2u;  // bit 1 reads as 1
      return true;
    case kFsBase:
    case kGsBase:
      s.seg[n == kFsBase ? cpu::FS : cpu::GS].base = v;
      c.debug_leave_block();
      return true;
    case kKGsBase:
    case kCr8:
      return v == 0;
    case kCr0:
      if (v == s.cr[0]) return true;
      c.debug_leave_block();
      if (c.set_cr0(v) != cpu::Status::Ok) return false;
      c.update_cpl();
      return true;
    case kCr2:
      s.cr[2] = v;
      return true;
    case kCr3:
      if (v == s.cr[3]) return true;
      c.debug_leave_block();
      return c.set_cr3(v) == cpu::Status::Ok;
    case kCr4:
      if (v == s.cr[4]) return true;
      c.debug_leave_block();
      return c.set_cr4(v) == cpu::Status::Ok;
    case kEfer:
      if (v == static_cast<uint32_t>(s.msr.efer)) return true;
      return c.set_efer(v) == cpu::Status::Ok;
    case kFctrl: s.fpu.cw = static_cast<uint16_t>(v); return true;
    case kFstat: s.fpu.sw = static_cast<uint16_t>(v); return true;
    case kFtag: s.fpu.tw = static_cast<uint16_t>(v); return true;
    case kFiseg: s.fpu.fcs = static_cast<uint16_t>(v); return true;
    case kFioff: s.fpu.fip = v; return true;
    case kFoseg: s.fpu.fds = static_cast<uint16_t>(v); return true;
    case kFooff: s.fpu.fdp = v; return true;
    case kFop: s.fpu.fop = static_cast<uint16_t>(v & 0x7FF); return true;
    default:
      break;
  }
  if (n >= kCs && n < kCs + 6) {
    const unsigned seg = kSegOrder[n - kCs];
    const uint16_t sel = static_cast<uint16_t>(v);
    if (s.seg[seg].selector == sel) return true;
    c.debug_leave_block();
    if (!c.protected_mode() || c.v86()) {
      c.load_seg_real(seg, sel);
    } else {
      // As a debugger would: the descriptor is loaded without the checks of a MOV.
      cpu::Descriptor d;
      if (c.read_descriptor(sel, d) != cpu::Status::Ok) {
        s.exc = {};
        return false;
      }
      c.load_cache(seg, sel, d);
      if (seg == cpu::CS) c.update_cpl();
    }
    c.flush_code_cache();
    return true;
  }
  return false;
}

std::string GdbStub::read_memory(uint32_t addr, uint32_t len) {
  std::string out;
  uint32_t page = 1, phys_page = 0;
  bool mapped = false;
  for (uint32_t i = 0; i < len; ++i) {
    const uint32_t a = addr + i;
    if ((a & ~0xFFFu) != page) {
      page = a & ~0xFFFu;
      uint32_t ph;
      mapped = m_.mmu().peek_translate(page, ph);
      phys_page = ph & ~0xFFFu;
    }
    if (!mapped) break;
    const uint32_t phys = phys_page | (a & 0xFFF);
    const uint8_t* h = m_.bus().ram_ptr(phys);
    if (!h) h = m_.bus().rom_ptr(phys);
    if (!h) break;  // device memory: a read could change it
    put_hex_le(out, h, 1);
  }
  return out;
}

bool GdbStub::write_memory(uint32_t addr, const std::vector<uint8_t>& bytes) {
  for (size_t i = 0; i < bytes.size(); ++i) {
    uint32_t phys;
    if (!m_.mmu().peek_translate(addr + static_cast<uint32_t>(i), phys)) return false;
    if (!m_.mmu().debug_write_phys(phys, bytes[i])) return false;
  }
  return true;
}

std::string GdbStub::insert(bool add, const std::string& args) {
  // TYPE,ADDR,KIND
  const size_t c1 = args.find(','), c2 = args.find(',', c1 == std::string::npos ? 0 : c1 + 1);
  uint64_t type, addr, kind;
  if (c1 == std::string::npos || c2 == std::string::npos || !parse_num(args.substr(0, c1), type) ||
      !parse_num(args.substr(c1 + 1, c2 - c1 - 1), addr) || !parse_num(args.substr(c2 + 1, args.find(';') - c2 - 1), kind))
    return "E22";
  const uint32_t a = static_cast<uint32_t>(addr);
  if (type <= 1) {
    std::vector<uint32_t>& v = type == 0 ? sw_breaks_ : hw_breaks_;
    auto it = std::find(v.begin(), v.end(), a);
    if (add && it == v.end()) v.push_back(a);
    if (!add && it != v.end()) v.erase(it);
  } else if (type <= 4) {
    if (kind == 0 || kind > 0x10000) return "E22";
    const uint8_t k = type == 2 ? mmu::Mmu::kWatchWrite : type == 3 ? mmu::Mmu::kWatchRead : mmu::Mmu::kWatchAccess;
    auto it = std::find_if(watches_.begin(), watches_.end(), [&](const WatchSpec& w) {
      return w.addr == a && w.len == kind && w.kind == k;
    });
    if (add && it == watches_.end()) {
      if (watches_.size() >= 32) return "E28";
      watches_.push_back({a, static_cast<uint32_t>(kind), k});
    }
    if (!add && it != watches_.end()) watches_.erase(it);
  } else {
    return "";
  }
  sync_breakpoints();
  return "OK";
}

std::string GdbStub::monitor_command(const std::string& hex) {
  std::vector<uint8_t> b;
  if (!parse_hex_bytes(hex, b)) return "E22";
  const std::string line(b.begin(), b.end());
  Monitor* mon = m_.monitor;
  if (!mon) {
    if (!own_monitor_) own_monitor_ = std::make_unique<Monitor>(m_, "none");
    mon = own_monitor_.get();
  }
  const std::string out = mon->execute(line);
  if (!out.empty()) send_packet("O" + hex_of(out));
  if (mon->quit_requested()) kill_ = true;
  return "OK";
}

// -------------------------------------------------------------- reverse debugging

// Under -icount rr= the log holds the serial input (record) or gives it (replay), and the
// log's cursor goes with each checkpoint (RecordReplay::cursor).
// A disk whose writes go to its image: a second run would find them there.
const devices::DiskImage* GdbStub::disk_written_in_place() const {
  for (const auto& d : m_.disks()) {
    if (!d->snapshot() && !d->readonly()) return d.get();
  }
  return nullptr;
}

std::string GdbStub::reverse_refusal() const {
  if (const std::string why = rerun_refusal(); !why.empty()) return why;
  if (history_.empty()) return "no history yet";
  return "";
}

std::string GdbStub::rerun_refusal() const {
  const MachineConfig& cfg = m_.config();
  auto live = [](const std::string& spec) { return spec == "stdio"; };
  if (cfg.rr_mode == RrMode::Off &&
      (live(cfg.serial) || std::any_of(cfg.serial_extra.begin(), cfg.serial_extra.end(), live)))
    return "a serial port reads standard input, which a second run could not read again (use -serial file:PATH or none, "
           "or record the run: -icount rr=record)";
  if (const devices::DiskImage* d = disk_written_in_place())
    return "the disk " + d->path() + " is written in place (use -snapshot or readonly=on)";
  return "";
}

void GdbStub::turn_start() {
  if ((fd_in_ < 0 && !stdio_) || disk_written_in_place()) return;
  const uint64_t now = m_.cpu().s.icount;
  const uint64_t from = m_.cpu().debug.stop_from;
  if (m_.traveling()) {
    if (scanning_) return;
    // On the way to a place in history: a checkpoint just before it makes the next reverse
    // step from there short (history is the same run, so it slots in between).
    if (from == UINT64_MAX || now + kNearPlace < from) return;
    auto it = std::upper_bound(history_.begin(), history_.end(), now,
                               [](uint64_t v, const Checkpoint& c) { return v < c.icount; });
    // One is enough (each costs a snapshot): none when one is that close already.
    if (it != history_.begin() && from - std::prev(it)->icount <= kNearPlace) return;
    history_.insert(it, checkpoint_here());
  } else {
    if (!history_.empty() && history_.back().inputs != m_.host_inputs()) history_.clear();
    // Going forward again through history already checkpointed (after a travel back).
    if (!history_.empty() && now <= history_.back().icount) return;
    // A reverse step replays from the last checkpoint: one every kEvery of the host's
    // time keeps that replay short, whatever the engine's speed (when checkpoints are
    // taken changes nothing the guest sees, only how far a travel has to go). And one
    // every 1/64 of the history, for the runs that go fast through much of it.
    const auto t0 = std::chrono::steady_clock::now();
    if (!history_.empty()) {
      const uint64_t span = now - history_.front().icount, since = now - history_.back().icount;
      if (since < kMinInterval || (since < span / 64 && t0 - last_taken_ < kEvery)) return;
    }
    // At most a tenth of the host's time since history began goes into checkpoints.
    // Their cost varies with the pages written since the last: the budget is the sum.
    if (history_.empty()) {
      history_began_ = t0;
      checkpoint_time_ = {};
    } else if (10 * checkpoint_time_ > t0 - history_began_) {
      return;
    }
    history_.push_back(checkpoint_here());
    last_taken_ = std::chrono::steady_clock::now();
    checkpoint_time_ += last_taken_ - t0;
  }
  // Thinning: drop the checkpoint (never the first or the last) whose gap to its
  // predecessor is smallest for its age, so that checkpoints stay dense near the present
  // (where reverse steps go) and spread out into the past.
  const uint64_t present = history_.back().icount;
  while (history_.size() > kMaxCheckpoints) {
    size_t best = 1;
    double best_score = 0;
    for (size_t i = 1; i + 1 < history_.size(); ++i) {
      const double gap = static_cast<double>(history_[i].icount - history_[i - 1].icount);
      const double age = static_cast<double>(present - history_[i].icount) + 1;
      if (i == 1 || gap / age < best_score) best = i, best_score = gap / age;
    }
    history_.erase(history_.begin() + static_cast<std::ptrdiff_t>(best));
  }
}

GdbStub::Checkpoint GdbStub::checkpoint_here() {
  Checkpoint cp{m_.cpu().s.icount, m_.host_inputs(), m_.take_checkpoint(&last_), nullptr};
  if (const RecordReplay* rr = m_.record_replay()) cp.rr = std::make_shared<const RrCursor>(rr->cursor());
  last_ = cp.machine;
  return cp;
}

void GdbStub::load_checkpoint(const Checkpoint& cp) {
  RecordReplay* rr = m_.record_replay();
  if (rr) rr->leave_present();
  m_.load_checkpoint(cp.machine);
  last_ = cp.machine;
  if (rr && cp.rr) rr->rewind(*cp.rr);
}

GdbStub::Pos GdbStub::here() const {
  const cpu::Cpu& c = m_.cpu();
  return {c.s.icount, c.s.seg[cpu::CS].base + c.s.eip};
}

void GdbStub::arm(const Checks& checks, bool coarse, uint64_t stop_from) {
  cpu::Cpu& c = m_.cpu();
  c.debug.breakpoints = checks.breaks;
  c.debug.watches = checks.watches;
  c.debug.coarse = coarse;
  c.debug.stop_from = stop_from;
  c.debug_changed();
  c.update_watches();
}

void GdbStub::start(const Checkpoint& cp, uint64_t from, const Checks* armed, bool exact) {
  cpu::Cpu& c = m_.cpu();
  load_checkpoint(cp);
  c.debug = {};
  if (armed) {
    arm(*armed, !exact, from);
  } else {
    c.update_watches();
    c.debug.stop_from = from;
  }
  c.debug_forget_resume_point();
}

bool GdbStub::reached(Pos p, Pos to) {
  return p.first > to.first || (p.first == to.first && (to.second == kAnyEip || p.second == to.second));
}

void GdbStub::travel(const Checkpoint& cp, Pos to) {
  start(cp, to.first, nullptr);
  while (m_.run_to_debug_stop()) {
    if (reached(here(), to)) break;
    m_.cpu().debug_resume();
  }
}

std::string GdbStub::reverse(bool step) {
  const std::string why = reverse_refusal();
  if (!why.empty()) {
    send_packet("O" + hex_of("popek: reverse execution: " + why + "\n"));
    return "E01";
  }
  cpu::Cpu& c = m_.cpu();
  const Checks checks{c.debug.breakpoints, c.debug.watches};
  const std::vector<uint32_t>& breaks = checks.breaks;
  const bool forward_coarse = c.debug.coarse;
  auto finish = [&](const std::string& reply) {
    arm(checks, forward_coarse, UINT64_MAX);
    return reply;
  };
  const Pos now = here();
  // The checkpoints before the present: [0, j).
  size_t j = 0;
  while (j < history_.size() && history_[j].icount < now.first) ++j;
  if (j == 0) {
    travel(history_.front(), {history_.front().icount, kAnyEip});
    c.debug.stop = cpu::Cpu::Debug::Stop::Step;
    return finish("T05replaylog:begin;");
  }
  if (step) {
    // The boundary just before the present: scan from the instruction count before it.
    // (The scan leaves a checkpoint near the present when the last was far: the travel
    // then starts there.)
    start(history_[j - 1], now.first ? now.first - 1 : 0, nullptr);
    std::optional<Pos> prev;
    while (m_.run_to_debug_stop()) {
      const Pos p = here();
      if (reached(p, now)) break;
      prev = p;
      c.debug_resume();
    }
    if (!prev) {
      travel(history_.front(), {history_.front().icount, kAnyEip});
      return finish("T05replaylog:begin;");
    }
    size_t from = 0;
    while (from + 1 < history_.size() && history_[from + 1].icount < prev->first) ++from;
    travel(history_[from], *prev);
    c.debug.stop = cpu::Cpu::Debug::Stop::Step;
    return finish("T05thread:01;");
  }
  // reverse-continue: the last breakpoint or watchpoint hit before the present, segment
  // by segment from the newest checkpoint back. A segment is scanned with per-block
  // checks (translated code runs); a watch hit found that way is only known to the
  // block, so the few instructions around it are scanned again with exact checks.
  struct Hit {
    Pos at;
    std::string reason;
    uint64_t coarse_to = 0;  // a per-block watch hit: at.first..coarse_to holds it
  };
  auto is_break = [&](uint32_t linear) {
    return std::find(breaks.begin(), breaks.end(), linear) != breaks.end();
  };
  // The last hit from `cp` up to `limit`; with `window_to` set, only those from the
  // instruction count `from` (exact checks from there) up to window_to.
  auto scan = [&](const Checkpoint& cp, Pos limit, bool exact, uint64_t from, uint64_t window_to) {
    const bool window = window_to != 0;
    start(cp, window ? from : limit.first, &checks, exact);
    std::optional<Hit> last;
    scanning_ = true;
    while (m_.run_to_debug_stop()) {
      const Pos p = here();
      const auto stop = c.debug.stop;
      if (reached(p, limit) || (window && p.first > window_to)) break;
      if (stop == cpu::Cpu::Debug::Stop::Watch) {
        const Pos w{c.debug.watch_icount, c.debug.watch_linear};
        const std::string r = watch_reason(c.debug.watch_hits);
        if (!c.debug.watch_coarse && (!window || w.first >= from)) last = Hit{w, r};
        if (c.debug.watch_coarse && !window) last = Hit{w, r, std::max(p.first, w.first)};
      } else if (!window || p.first >= from) {
        // In a window every boundary is a Position stop: breakpoints are looked up here.
        if (stop == cpu::Cpu::Debug::Stop::Breakpoint || (window && is_break(p.second)))
          last = Hit{p, break_reason(p.second)};
      }
      c.debug_resume();
    }
    scanning_ = false;
    return last;
  };
  Pos limit = now;
  for (size_t k = j; k-- > 0;) {
    const Checkpoint& cp = history_[k];
    std::optional<Hit> last = scan(cp, limit, false, 0, 0);
    if (last && last->coarse_to) {
      // The watch hit's instruction, or for an interrupt's delivery the one before it.
      const uint64_t from = std::max(cp.icount, last->at.first >= 2 ? last->at.first - 2 : 0);
      std::optional<Hit> exact = scan(cp, limit, false, from, last->coarse_to + 1);
      // (None there would be a wrong window: the whole segment then, exactly.)
      last = exact ? exact : scan(cp, limit, true, 0, 0);
    }
    if (last) {
      travel(cp, last->at);
      c.debug.stop = cpu::Cpu::Debug::Stop::Breakpoint;
      return finish("T05thread:01;" + last->reason);
    }
    limit = {cp.icount, kAnyEip};  // the older segment ends where this one began
  }
  travel(history_.front(), {history_.front().icount, kAnyEip});
  c.debug.stop = cpu::Cpu::Debug::Stop::Step;
  return finish("T05replaylog:begin;");
}

}  // namespace popek::frontend
