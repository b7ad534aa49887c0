#include "frontend/vnc.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <rfb/rfb.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdarg>
#include <cstring>
#include <deque>
#include <vector>

#include "frontend/machine.h"

namespace popek::frontend {

namespace {

using Clock = std::chrono::steady_clock;

// The screen at most this often (about 30 frames a second).
constexpr auto kFrameInterval = std::chrono::milliseconds(33);
// Text blink and the cursor change phase this often (QEMU's VGA: 16 frames at 60 Hz).
constexpr auto kBlinkHalfPeriod = std::chrono::milliseconds(266);
// The framebuffer before the first frame, and while the adapter shows nothing.
constexpr unsigned kDefaultWidth = 640, kDefaultHeight = 480;
// Rounds of client messages read per refresh: enough for a burst of pointer motion, and a
// bound, so that a client that never stops sending cannot hold the machine.
constexpr int kMessageRounds = 64;
// Key events waiting for room in the keyboard's buffer (a paste arrives faster than a
// guest reads), at most.
constexpr size_t kMaxPendingKeys = 1024;
// How long a client that neither reads nor completes its message may stall a refresh
// before it is dropped (libvncserver's default is 20 s).
constexpr int kMaxClientWaitMs = 2000;

// X keysyms (X11/keysymdef.h, as RFB sends them) and QEMU's names of the keys a US keyboard
// has them on.
struct KeysymKey {
  uint32_t keysym;
  const char* key;
};
constexpr KeysymKey kKeysyms[] = {
    // ASCII punctuation: the shifted symbols are on the key of their unshifted partner.
    {' ', "spc"},           {'!', "1"},           {'"', "apostrophe"},    {'#', "3"},
    {'$', "4"},             {'%', "5"},           {'&', "7"},             {'\'', "apostrophe"},
    {'(', "9"},             {')', "0"},           {'*', "8"},             {'+', "equal"},
    {',', "comma"},         {'-', "minus"},       {'.', "dot"},           {'/', "slash"},
    {':', "semicolon"},     {';', "semicolon"},   {'<', "comma"},         {'=', "equal"},
    {'>', "dot"},           {'?', "slash"},       {'@', "2"},             {'[', "bracket_left"},
    {'\\', "backslash"},    {']', "bracket_right"}, {'^', "6"},           {'_', "minus"},
    {'`', "grave_accent"},  {'{', "bracket_left"}, {'|', "backslash"},    {'}', "bracket_right"},
    {'~', "grave_accent"},
    // TTY functions, cursor control, modifiers
    {0xFF08, "backspace"},  {0xFF09, "tab"},      {0xFE20, "tab"},        {0xFF0D, "ret"},
    {0xFF1B, "esc"},        {0xFFFF, "delete"},   {0xFF50, "home"},       {0xFF51, "left"},
    {0xFF52, "up"},         {0xFF53, "right"},    {0xFF54, "down"},       {0xFF55, "pgup"},
    {0xFF56, "pgdn"},       {0xFF57, "end"},      {0xFF63, "insert"},     {0xFF67, "menu"},
    {0xFF7F, "num_lock"},   {0xFF14, "scroll_lock"}, {0xFFE5, "caps_lock"},
    {0xFFE1, "shift"},      {0xFFE2, "shift_r"},  {0xFFE3, "ctrl"},       {0xFFE4, "ctrl_r"},
    {0xFFE7, "meta_l"},     {0xFFE8, "meta_r"},   {0xFFE9, "alt"},        {0xFFEA, "alt_r"},
    {0xFFEB, "meta_l"},     {0xFFEC, "meta_r"},   {0xFE03, "alt_r"},      {0xFF7E, "alt_r"},
    // Keypad, with Num Lock on (digits) and off (cursor keys)
    {0xFF8D, "kp_enter"},   {0xFFAA, "kp_multiply"}, {0xFFAB, "kp_add"},  {0xFFAC, "kp_decimal"},
    {0xFFAD, "kp_subtract"}, {0xFFAE, "kp_decimal"}, {0xFFAF, "kp_divide"},
    {0xFFB0, "kp_0"},       {0xFFB1, "kp_1"},     {0xFFB2, "kp_2"},       {0xFFB3, "kp_3"},
    {0xFFB4, "kp_4"},       {0xFFB5, "kp_5"},     {0xFFB6, "kp_6"},       {0xFFB7, "kp_7"},
    {0xFFB8, "kp_8"},       {0xFFB9, "kp_9"},     {0xFF95, "kp_7"},       {0xFF96, "kp_4"},
    {0xFF97, "kp_8"},       {0xFF98, "kp_6"},     {0xFF99, "kp_2"},       {0xFF9A, "kp_9"},
    {0xFF9B, "kp_3"},       {0xFF9C, "kp_1"},     {0xFF9D, "kp_5"},       {0xFF9E, "kp_0"},
    {0xFF9F, "kp_decimal"},
    // Function keys
    {0xFFBE, "f1"},  {0xFFBF, "f2"},  {0xFFC0, "f3"},  {0xFFC1, "f4"},  {0xFFC2, "f5"},  {0xFFC3, "f6"},
    {0xFFC4, "f7"},  {0xFFC5, "f8"},  {0xFFC6, "f9"},  {0xFFC7, "f10"}, {0xFFC8, "f11"}, {0xFFC9, "f12"},
};

// libvncserver's log lines would land on the guest's console.
void discard_log(const char*, ...) {}

struct ClientState {
  int last_x = -1, last_y = -1;  // the pointer's last position (-1: none yet)
  int mask = 0;                  // RFB button mask as last sent
  std::vector<const devices::KeyCodes*> held;  // keys this client holds down
};

std::string errno_text() { return std::strerror(errno); }

}  // namespace

std::string parse_vnc_spec(const std::string& spec, VncAddress& out) {
  out = VncAddress{};
  if (spec == "none") return {};
  const size_t comma = spec.find(',');
  if (comma != std::string::npos)
    return "option '" + spec.substr(comma + 1) + "' is not supported (popek takes [HOST]:N or unix:PATH)";
  if (spec.rfind("unix:", 0) == 0) {
    out.unix_path = spec.substr(5);
    if (out.unix_path.empty()) return "expected unix:PATH";
    if (out.unix_path.size() >= sizeof(sockaddr_un::sun_path)) return out.unix_path + ": path too long for a socket";
    return {};
  }
  std::string display;
  if (!spec.empty() && spec[0] == '[') {  // [IPv6 address]:N
    const size_t close = spec.find("]:");
    if (close == std::string::npos) return "expected [HOST]:N, unix:PATH or none";
    out.host = spec.substr(1, close - 1);
    display = spec.substr(close + 2);
  } else {
    const size_t colon = spec.rfind(':');
    if (colon == std::string::npos) return "expected [HOST]:N, unix:PATH or none";
    out.host = spec.substr(0, colon);
    display = spec.substr(colon + 1);
  }
  if (display.empty() || display.size() > 5 || !std::all_of(display.begin(), display.end(), ::isdigit))
    return "display number '" + display + "' is not a number";
  const unsigned long n = std::stoul(display);
  if (n > 65535 - 5900) return "display number " + display + " is too large (port 5900+N must be at most 65535)";
  out.port = static_cast<uint16_t>(5900 + n);
  if (out.host.empty()) out.host = "127.0.0.1";
  return {};
}

const devices::KeyCodes* key_for_keysym(uint32_t keysym) {
  if ((keysym >= 'a' && keysym <= 'z') || (keysym >= '0' && keysym <= '9'))
    return devices::find_key(std::string(1, static_cast<char>(keysym)));
  if (keysym >= 'A' && keysym <= 'Z') return devices::find_key(std::string(1, static_cast<char>(keysym - 'A' + 'a')));
  for (const KeysymKey& k : kKeysyms) {
    if (k.keysym == keysym) return devices::find_key(k.key);
  }
  return nullptr;
}

VncRect blit_frame(const devices::VgaFrame& frame, uint8_t* fb) {
  VncRect r;
  r.x0 = frame.width;
  r.y0 = frame.height;
  std::vector<uint8_t> row(static_cast<size_t>(frame.width) * 4);
  for (unsigned y = 0; y < frame.height; ++y) {
    const uint8_t* src = &frame.rgb[static_cast<size_t>(y) * frame.width * 3];
    for (unsigned x = 0; x < frame.width; ++x) {
      row[x * 4 + 0] = src[x * 3 + 0];
      row[x * 4 + 1] = src[x * 3 + 1];
      row[x * 4 + 2] = src[x * 3 + 2];
      row[x * 4 + 3] = 0;
    }
    uint8_t* dst = fb + static_cast<size_t>(y) * frame.width * 4;
    if (std::memcmp(dst, row.data(), row.size()) == 0) continue;
    unsigned first = 0, last = frame.width;
    while (std::memcmp(dst + first * 4, &row[first * 4], 4) == 0) ++first;
    while (std::memcmp(dst + (last - 1) * 4, &row[(last - 1) * 4], 4) == 0) --last;
    std::memcpy(dst, row.data(), row.size());
    r.x0 = std::min(r.x0, first);
    r.x1 = std::max(r.x1, last);
    r.y0 = std::min(r.y0, y);
    r.y1 = y + 1;
  }
  if (r.empty()) r = VncRect{};
  return r;
}

struct VncDisplay::Impl {
  Impl(Machine& machine, const std::string& spec);
  ~Impl() { close_all(); }
  void close_all();
  void listen_tcp();
  void listen_unix();
  void accept_clients();
  void draw();
  void resize(unsigned width, unsigned height);

  static Impl& of(rfbClientPtr cl) { return *static_cast<Impl*>(cl->screen->screenData); }
  static rfbNewClientAction new_client(rfbClientPtr cl);
  static void client_gone(rfbClientPtr cl);
  static void key_event(rfbBool down, rfbKeySym keysym, rfbClientPtr cl);
  static void pointer_event(int mask, int x, int y, rfbClientPtr cl);
  void release_keys(ClientState& c);
  void queue_key(const devices::KeyCodes* key, bool down);
  void feed_keys();

  Machine& m;
  std::string spec;
  VncAddress addr;
  std::vector<int> listen_fds;
  rfbScreenInfoPtr screen = nullptr;
  std::vector<uint8_t> fb;  // what the clients see: 4 bytes per pixel
  unsigned width = kDefaultWidth, height = kDefaultHeight;
  devices::VgaFrame frame;
  std::deque<std::pair<const devices::KeyCodes*, bool>> keys;  // key events not sent yet
  uint64_t generation = 0;
  bool blink_on = true;
  bool force = true;     // draw at the next chance (a new client, the first frame)
  bool closing = false;  // the machine is no business of the clients any more
  Clock::time_point start = Clock::now(), last_frame;
};

VncDisplay::Impl::Impl(Machine& machine, const std::string& s) : m(machine), spec(s) {
  const std::string err = parse_vnc_spec(spec, addr);
  if (!err.empty()) throw VncError("-vnc " + spec + ": " + err);
  rfbLog = discard_log;
  rfbErr = discard_log;
  if (addr.unix_path.empty()) listen_tcp();
  else listen_unix();
  screen = rfbGetScreen(nullptr, nullptr, static_cast<int>(width), static_cast<int>(height), 8, 3, 4);
  if (!screen) {
    close_all();  // no destructor runs for a constructor that throws
    throw VncError("-vnc " + spec + ": cannot create the VNC server (out of memory)");
  }
  fb.assign(static_cast<size_t>(width) * height * 4, 0);
  screen->frameBuffer = reinterpret_cast<char*>(fb.data());
  screen->desktopName = "popek";
  screen->screenData = this;
  // popek listens and accepts; libvncserver speaks RFB on the connections it is given.
  screen->port = 0;
  screen->ipv6port = 0;
  screen->autoPort = FALSE;
  screen->cursor = nullptr;  // the guest draws its own pointer: the screen is the VGA's, exactly
  screen->alwaysShared = TRUE;  // a client asking for the screen alone does not end the others
  screen->deferUpdateTime = 0;
  screen->maxClientWait = kMaxClientWaitMs;
  screen->newClientHook = new_client;
  screen->kbdAddEvent = key_event;
  screen->ptrAddEvent = pointer_event;
  screen->ignoreSIGPIPE = TRUE;  // a client that goes away mid-write is an error, not a signal
  rfbInitServer(screen);
}

void VncDisplay::Impl::close_all() {
  closing = true;
  if (screen) {
    rfbShutdownServer(screen, TRUE);
    rfbScreenCleanup(screen);
    screen = nullptr;
  }
  for (int fd : listen_fds) close(fd);
  if (!addr.unix_path.empty() && !listen_fds.empty()) unlink(addr.unix_path.c_str());
  listen_fds.clear();
}

void VncDisplay::Impl::listen_tcp() {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* list = nullptr;
  const std::string port = std::to_string(addr.port);
  const std::string where = "-vnc " + spec + ": " + addr.host + " port " + port + ": ";
  if (const int e = getaddrinfo(addr.host.c_str(), port.c_str(), &hints, &list)) throw VncError(where + gai_strerror(e));
  std::string error;
  for (addrinfo* ai = list; ai; ai = ai->ai_next) {
    const int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
      error = errno_text();
      continue;
    }
    const int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (ai->ai_family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 8) != 0) {
      const int e = errno;
      close(fd);
      if (e == EADDRINUSE) {  // another server has (part of) this address: refuse all of it
        freeaddrinfo(list);
        for (int l : listen_fds) close(l);
        listen_fds.clear();
        throw VncError(where + std::strerror(e));
      }
      error = std::strerror(e);
      continue;
    }
    listen_fds.push_back(fd);
  }
  freeaddrinfo(list);
  if (listen_fds.empty()) throw VncError(where + (error.empty() ? "no address to listen on" : error));
}

void VncDisplay::Impl::listen_unix() {
  const std::string& path = addr.unix_path;
  const std::string where = "-vnc " + spec + ": ";
  struct stat st;
  if (lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) throw VncError(where + path + " exists and is not a socket");
    unlink(path.c_str());  // a socket left by an earlier run
  }
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) throw VncError(where + "socket: " + errno_text());
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  std::memcpy(sa.sun_path, path.c_str(), path.size() + 1);
  if (bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 || listen(fd, 8) != 0) {
    const std::string err = errno_text();
    close(fd);
    throw VncError(where + path + ": " + err);
  }
  listen_fds.push_back(fd);
}

void VncDisplay::Impl::accept_clients() {
  for (int l : listen_fds) {
    for (;;) {
      const int fd = accept4(l, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) break;
      if (fd >= FD_SETSIZE) {  // libvncserver keeps its connections in an fd_set
        close(fd);
        m.bus().log().warn("vnc-fd", "-vnc: too many open files; a VNC client was turned away");
        continue;
      }
      rfbNewClient(screen, fd);  // sets it non-blocking; new_client() below
    }
  }
}

rfbNewClientAction VncDisplay::Impl::new_client(rfbClientPtr cl) {
  cl->clientData = new ClientState;
  cl->clientGoneHook = client_gone;
  of(cl).force = true;  // its first update shows the screen as it is now
  return RFB_CLIENT_ACCEPT;
}

void VncDisplay::Impl::client_gone(rfbClientPtr cl) {
  auto* c = static_cast<ClientState*>(cl->clientData);
  if (!c) return;
  if (!of(cl).closing) of(cl).release_keys(*c);
  delete c;
  cl->clientData = nullptr;
}

void VncDisplay::Impl::release_keys(ClientState& c) {
  // The keys a client held when it left come up, as if released.
  for (auto it = c.held.rbegin(); it != c.held.rend(); ++it) queue_key(*it, false);
  c.held.clear();
}

void VncDisplay::Impl::queue_key(const devices::KeyCodes* key, bool down) {
  if (keys.size() >= kMaxPendingKeys) {
    m.bus().log().warn("vnc-keys", "-vnc: the guest does not read its keyboard; keys typed are dropped");
    return;
  }
  keys.emplace_back(key, down);
}

// Key events go to the keyboard while its buffer has room for one more (at most three
// bytes: E0 F0 code): in order and whole, however fast they came.
void VncDisplay::Impl::feed_keys() {
  devices::I8042& kbc = m.kbc();
  while (!keys.empty() && kbc.state.kbd.count + 3u <= devices::kbc::kQueueSize) {
    const auto [key, down] = keys.front();
    keys.pop_front();
    if (!m.input_key(*key, down)) {
      m.bus().log().unimp("vnc-scancode-set-3",
                          "vnc: the keyboard is in scan code set 3, which popek does not produce; key ignored");
    }
  }
}

void VncDisplay::Impl::key_event(rfbBool down, rfbKeySym keysym, rfbClientPtr cl) {
  Impl& d = of(cl);
  auto* c = static_cast<ClientState*>(cl->clientData);
  if (!c) return;
  const devices::KeyCodes* k = key_for_keysym(keysym);
  if (!k) {
    d.m.bus().log().unimp("vnc-keysym-" + std::to_string(keysym),
                          "vnc: keysym 0x%x is on no key of the US keyboard popek models; ignored",
                          static_cast<unsigned>(keysym));
    return;
  }
  const auto held = std::find(c->held.begin(), c->held.end(), k);
  if (down) {
    if (held == c->held.end()) c->held.push_back(k);
  } else {
    if (held == c->held.end()) return;  // pressed before this client connected, or never
    c->held.erase(held);
  }
  d.queue_key(k, down);
}

void VncDisplay::Impl::pointer_event(int mask, int x, int y, rfbClientPtr cl) {
  Impl& d = of(cl);
  auto* c = static_cast<ClientState*>(cl->clientData);
  if (!c) return;
  // A PS/2 mouse moves relatively: the difference between two absolute positions.
  int dx = 0, dy = 0;
  if (c->last_x >= 0) {
    dx = x - c->last_x;
    dy = y - c->last_y;
  }
  c->last_x = x;
  c->last_y = y;
  // RFB buttons: 1 left, 2 middle, 3 right; 4 and 5 the wheel (a press per click).
  const int pressed = mask & ~c->mask;
  int dz = 0;
  if (pressed & 0x08) --dz;  // up: away from the user
  if (pressed & 0x10) ++dz;
  const auto ps2 = [](int m) {
    return static_cast<unsigned>((m & 1) | ((m & 4) ? 2 : 0) | ((m & 2) ? 4 : 0));
  };
  const bool buttons_changed = ps2(mask) != ps2(c->mask);
  c->mask = mask;
  if (dx || dy || dz || buttons_changed) d.m.input_mouse(dx, dy, dz, ps2(mask));
}

void VncDisplay::Impl::resize(unsigned w, unsigned h) {
  std::vector<uint8_t> next(static_cast<size_t>(w) * h * 4, 0);
  rfbNewFramebuffer(screen, reinterpret_cast<char*>(next.data()), static_cast<int>(w), static_cast<int>(h), 8, 3, 4);
  fb.swap(next);  // libvncserver now reads the new buffer; the old one goes
  width = w;
  height = h;
}

void VncDisplay::Impl::draw() {
  const Clock::time_point now = Clock::now();
  const bool blink = ((now - start) / kBlinkHalfPeriod) % 2 == 0;
  const devices::Vga* vga = m.vga();
  const bool changed = force || (vga && (vga->generation != generation || (!vga->graphics_mode() && blink != blink_on)));
  if (!changed || (!force && now - last_frame < kFrameInterval)) return;
  force = false;
  last_frame = now;
  blink_on = blink;
  if (vga) {
    generation = vga->generation;
    vga->render(frame, blink_on);
  } else {
    frame.width = 0;
  }
  if (frame.width == 0 || frame.height == 0) {  // nothing shows: black
    frame.width = width ? width : kDefaultWidth;
    frame.height = height ? height : kDefaultHeight;
    frame.rgb.assign(static_cast<size_t>(frame.width) * frame.height * 3, 0);
  }
  if (frame.width != width || frame.height != height) resize(frame.width, frame.height);
  const VncRect r = blit_frame(frame, fb.data());
  if (!r.empty())
    rfbMarkRectAsModified(screen, static_cast<int>(r.x0), static_cast<int>(r.y0), static_cast<int>(r.x1),
                          static_cast<int>(r.y1));
}

VncDisplay::VncDisplay(Machine& machine, const std::string& spec) : impl_(std::make_unique<Impl>(machine, spec)) {}

VncDisplay::~VncDisplay() = default;

void VncDisplay::refresh() {
  Impl& d = *impl_;
  d.accept_clients();
  if (d.screen->clientHead) d.draw();  // nobody watching: nothing to draw
  for (int i = 0; i < kMessageRounds; ++i) {
    if (rfbCheckFds(d.screen, 0) <= 0) break;
  }
  rfbProcessEvents(d.screen, 0);  // sends the updates, forgets the clients that left
  d.feed_keys();
}

}  // namespace popek::frontend
