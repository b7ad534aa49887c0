#include "devices/char_backend.h"

#include <poll.h>
#include <termios.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>

namespace popek::devices {

// --- input channel

bool CharBackend::take_input(uint8_t& byte) {
  if (replay) return replay->replay_take(byte);
  const bool got = take_host(byte);
  if (record) record->record_take(got, got ? byte : 0);
  return got;
}

bool CharBackend::take_host(uint8_t& byte) {
  if (input_.empty()) pump();
  if (input_.empty()) return false;
  byte = input_.front();
  input_.pop_front();
  return true;
}

bool CharBackend::input_open() const {
  if (replay) return replay->replay_open();
  const bool open = host_open();
  if (record) record->record_open(open);
  return open;
}

bool InputLog::replay_take(uint8_t& byte) {
  if (answers_.empty() || answers_.front() == kOpen || answers_.front() == kClosed) {
    ++mismatches_;
    return false;
  }
  const uint16_t a = answers_.front();
  answers_.pop_front();
  if (a == kNone) return false;
  byte = static_cast<uint8_t>(a);
  return true;
}

bool InputLog::replay_open() {
  if (answers_.empty() || (answers_.front() != kOpen && answers_.front() != kClosed)) {
    ++mismatches_;
    return false;
  }
  const bool open = answers_.front() == kOpen;
  answers_.pop_front();
  return open;
}

void CharBackend::push_input(uint8_t byte) {
  input_.push_back(byte);
  if (input_pushed) input_pushed();
}

uint8_t CharBackend::pop_input() {
  if (input_.empty()) return 0;
  const uint8_t b = input_.front();
  input_.pop_front();
  return b;
}

void CharBackend::request_quit() {
  if (quit_) return;
  quit_ = true;
  if (on_quit) on_quit();
}

// --- escapes

EscapeDecoder::Action EscapeDecoder::feed(uint8_t in, uint8_t& out) {
  if (!pending_) {
    if (in == kEscape) {
      pending_ = true;
      return Action::None;
    }
    out = in;
    return Action::Byte;
  }
  pending_ = false;
  switch (in) {
    case kEscape:
      out = kEscape;
      return Action::Byte;
    case 'x':
    case 'X':
      return Action::Quit;
    case 'h':
    case 'H':
    case '?':
      return Action::Help;
    case 'c':
    case 'C':
      return Action::Monitor;
    case 'w':
    case 'W':
      return Action::Save;
    default:
      return Action::None;  // unknown escapes are dropped
  }
}

const char* EscapeDecoder::help() {
  return "C-a h    print this help\n"
         "C-a x    exit the emulator\n"
         "C-a c    switch to the monitor (there is none)\n"
         "C-a w    save a machine snapshot to popek-N.snap (N: the instruction count)\n"
         "C-a C-a  send C-a to the guest\n";
}

// --- terminal state, shared with the atexit hook and signal handlers

namespace {
struct termios g_saved_termios;
int g_tty_fd = -1;
volatile std::sig_atomic_t g_raw = 0;
std::atomic<bool> g_stdin_claimed{false};
bool g_hooks_installed = false;
struct sigaction g_old_actions[5];
constexpr int kFatalSignals[5] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT};

void restore_at_exit() { restore_terminal(); }

// Restore the terminal, then let the signal do what it did before.
void on_fatal_signal(int sig) {
  restore_terminal();
  for (int i = 0; i < 5; ++i) {
    if (kFatalSignals[i] == sig) sigaction(sig, &g_old_actions[i], nullptr);
  }
  raise(sig);
}

void install_hooks() {
  if (g_hooks_installed) return;
  g_hooks_installed = true;
  atexit(restore_at_exit);
  for (int i = 0; i < 5; ++i) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_fatal_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_NODEFER;
    sigaction(kFatalSignals[i], nullptr, &g_old_actions[i]);
    // Leave alone a handler someone else installed (it may be how they catch faults).
    if (g_old_actions[i].sa_handler == SIG_DFL) sigaction(kFatalSignals[i], &sa, nullptr);
  }
}

bool enter_raw_mode(int fd) {
  if (g_raw) return false;
  struct termios t;
  if (tcgetattr(fd, &t) != 0) return false;
  g_saved_termios = t;
  g_tty_fd = fd;
  install_hooks();
  // Input raw; output processing (newline to CR LF) stays as it was.
  t.c_iflag &= ~static_cast<tcflag_t>(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR | ICRNL | IXON);
  t.c_lflag &= ~static_cast<tcflag_t>(ECHO | ECHONL | ICANON | ISIG | IEXTEN);
  t.c_cc[VMIN] = 1;
  t.c_cc[VTIME] = 0;
  if (tcsetattr(fd, TCSANOW, &t) != 0) return false;
  g_raw = 1;
  return true;
}
}  // namespace

void restore_terminal() {
  if (!g_raw) return;
  g_raw = 0;
  tcsetattr(g_tty_fd, TCSANOW, &g_saved_termios);
}

// --- stdio

StdioBackend::StdioBackend(FILE* out, int in_fd) : out_(out), in_fd_(-1), in_open_(false) {
  bool expected = false;
  if (in_fd >= 0 && g_stdin_claimed.compare_exchange_strong(expected, true)) {
    in_fd_ = in_fd;
    in_open_ = true;
    tty_ = isatty(in_fd) != 0;
  }
}

StdioBackend::~StdioBackend() {
  flush();
  if (raw_) restore_terminal();
  if (in_fd_ >= 0) g_stdin_claimed = false;
}

void StdioBackend::write(uint8_t byte) {
  fputc(byte, out_);
  if (byte == '\n') fflush(out_);
}

void StdioBackend::flush() { fflush(out_); }

void StdioBackend::pump() {
  // Hold input in the host (the pipe, the terminal) once plenty is queued.
  if (!in_open_ || queued() >= 4096) return;
  if (tty_ && !raw_) raw_ = enter_raw_mode(in_fd_);
  struct pollfd p = {in_fd_, POLLIN, 0};
  if (poll(&p, 1, 0) <= 0) return;
  uint8_t buf[256];
  const ssize_t n = read(in_fd_, buf, sizeof buf);
  if (n < 0) {
    if (errno != EINTR && errno != EAGAIN) in_open_ = false;
    return;
  }
  if (n == 0) {
    in_open_ = false;  // end of input
    return;
  }
  for (ssize_t i = 0; i < n; ++i) {
    if (!tty_) {
      queue_host_byte(buf[i]);
      continue;
    }
    uint8_t b = 0;
    switch (escapes_.feed(buf[i], b)) {
      case EscapeDecoder::Action::Byte:
        queue_host_byte(b);
        break;
      case EscapeDecoder::Action::Quit:
        request_quit();
        break;
      case EscapeDecoder::Action::Help:
        fputs(EscapeDecoder::help(), stderr);
        break;
      case EscapeDecoder::Action::Monitor:
        fputs("popek: no monitor\n", stderr);
        break;
      case EscapeDecoder::Action::Save:
        request_save();
        break;
      case EscapeDecoder::Action::None:
        break;
    }
  }
}

// --- file

FileBackend::FileBackend(const std::string& path) : path_(path) {}

void FileBackend::start() {
  if (f_) return;
  f_ = fopen(path_.c_str(), "wb");
  if (!f_) throw BackendError(path_ + ": cannot create: " + strerror(errno));
}

FileBackend::~FileBackend() {
  if (f_) fclose(f_);
}

void FileBackend::write(uint8_t byte) {
  if (!f_) start();
  fputc(byte, f_);
}

void FileBackend::flush() {
  if (f_) fflush(f_);
}

bool valid_backend_spec(const std::string& spec) {
  if (spec == "stdio" || spec == "none") return true;
  return spec.rfind("file:", 0) == 0 && spec.size() > 5;
}

std::unique_ptr<CharBackend> open_backend(const std::string& spec) {
  if (spec == "stdio") return std::make_unique<StdioBackend>(stdout, STDIN_FILENO);
  if (spec == "none") return std::make_unique<NullBackend>();
  if (spec.rfind("file:", 0) == 0 && spec.size() > 5)
    return std::make_unique<FileBackend>(spec.substr(5));
  throw BackendError("unsupported character backend '" + spec +
                     "' (use stdio, file:PATH or none)");
}

}  // namespace popek::devices
