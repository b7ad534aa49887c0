// The VNC display's pieces: the -vnc spelling (command line and parser), the keysym
// table, the framebuffer's dirty rectangle, and the server's start-up errors. The whole
// display with a client is tests/guest/vnc_display.sh.
#include <gtest/gtest.h>

#include <sys/socket.h>
#include <netinet/in.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

#include "frontend/cli.h"
#include "frontend/machine.h"
#include "frontend/vnc.h"
#include "temp_files.h"
#include "tiny_kernel.h"

namespace popek::frontend {
namespace {

using Args = std::vector<std::string>;

TEST(VncSpec, QemuSpellings) {
  VncAddress a;
  EXPECT_EQ(parse_vnc_spec(":0", a), "");
  EXPECT_EQ(a.host, "127.0.0.1");  // QEMU would listen everywhere; popek on loopback only
  EXPECT_EQ(a.port, 5900);
  EXPECT_EQ(a.unix_path, "");
  EXPECT_EQ(parse_vnc_spec("0.0.0.0:17", a), "");
  EXPECT_EQ(a.host, "0.0.0.0");
  EXPECT_EQ(a.port, 5917);
  EXPECT_EQ(parse_vnc_spec("[::1]:2", a), "");
  EXPECT_EQ(a.host, "::1");
  EXPECT_EQ(a.port, 5902);
  EXPECT_EQ(parse_vnc_spec("localhost:59635", a), "");
  EXPECT_EQ(a.port, 65535);
  EXPECT_EQ(parse_vnc_spec("unix:/tmp/v.sock", a), "");
  EXPECT_EQ(a.unix_path, "/tmp/v.sock");
  EXPECT_EQ(parse_vnc_spec("none", a), "");
  EXPECT_EQ(a.port, 0);
  EXPECT_EQ(a.unix_path, "");
}

TEST(VncSpec, BadSpellings) {
  VncAddress a;
  EXPECT_EQ(parse_vnc_spec("5900", a), "expected [HOST]:N, unix:PATH or none");
  EXPECT_EQ(parse_vnc_spec(":", a), "display number '' is not a number");
  EXPECT_EQ(parse_vnc_spec(":x1", a), "display number 'x1' is not a number");
  EXPECT_EQ(parse_vnc_spec(":-1", a), "display number '-1' is not a number");
  EXPECT_EQ(parse_vnc_spec(":59636", a), "display number 59636 is too large (port 5900+N must be at most 65535)");
  EXPECT_EQ(parse_vnc_spec(":1,password=on", a),
            "option 'password=on' is not supported (popek takes [HOST]:N or unix:PATH)");
  EXPECT_EQ(parse_vnc_spec("unix:", a), "expected unix:PATH");
  EXPECT_NE(parse_vnc_spec("unix:/" + std::string(200, 'x'), a).find("path too long"), std::string::npos);
  EXPECT_EQ(parse_vnc_spec("[::1:2", a), "expected [HOST]:N, unix:PATH or none");
}

class VncCli : public ::testing::Test {
 protected:
  Args with_kernel(Args a) {
    a.insert(a.begin(), {"-kernel", files.write("k.elf", std::string("not checked here"))});
    return a;
  }
  TempFiles files;
};

TEST_F(VncCli, OptionAndIdlePacing) {
  CliResult r = parse_cli(with_kernel({"-vnc", ":3"}));
  ASSERT_FALSE(r.exit) << r.error;
  EXPECT_EQ(r.config.vnc, ":3");
  EXPECT_TRUE(r.config.icount_sleep);  // someone watches: an idle guest waits in host time
  r = parse_cli(with_kernel({"-vnc", ":3", "-icount", "shift=3"}));
  EXPECT_FALSE(r.config.icount_sleep);  // -icount given: its sleep= decides
  r = parse_cli(with_kernel({"-icount", "sleep=off", "--vnc=unix:/tmp/x"}));
  EXPECT_EQ(r.config.vnc, "unix:/tmp/x");
  EXPECT_FALSE(r.config.icount_sleep);
  r = parse_cli(with_kernel({}));
  EXPECT_EQ(r.config.vnc, "");
  EXPECT_FALSE(r.config.icount_sleep);
  r = parse_cli(with_kernel({"-vnc", "none"}));
  EXPECT_EQ(r.config.vnc, "");
  EXPECT_FALSE(r.config.icount_sleep);
}

TEST_F(VncCli, Errors) {
  CliResult r = parse_cli(with_kernel({"-vnc", "5900"}));
  EXPECT_TRUE(r.exit);
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.error, "popek: -vnc 5900: expected [HOST]:N, unix:PATH or none");
  r = parse_cli(with_kernel({"--lockstep", "-vnc", ":1"}));
  EXPECT_EQ(r.error, "popek: -vnc cannot be used with --lockstep (its keys would reach one machine only)");
  r = parse_cli(with_kernel({"-vnc"}));
  EXPECT_EQ(r.error, "popek: option '-vnc' requires a value");
}

TEST(VncKeysyms, UsLayout) {
  auto name = [](uint32_t keysym) {
    const devices::KeyCodes* k = key_for_keysym(keysym);
    return std::string(k ? k->name : "(none)");
  };
  EXPECT_EQ(name('a'), "a");
  EXPECT_EQ(name('A'), "a");  // Shift comes as its own key
  EXPECT_EQ(name('Z'), "z");
  EXPECT_EQ(name('0'), "0");
  EXPECT_EQ(name('!'), "1");
  EXPECT_EQ(name('@'), "2");
  EXPECT_EQ(name('('), "9");
  EXPECT_EQ(name(')'), "0");
  EXPECT_EQ(name('_'), "minus");
  EXPECT_EQ(name('+'), "equal");
  EXPECT_EQ(name('{'), "bracket_left");
  EXPECT_EQ(name('|'), "backslash");
  EXPECT_EQ(name(':'), "semicolon");
  EXPECT_EQ(name('"'), "apostrophe");
  EXPECT_EQ(name('~'), "grave_accent");
  EXPECT_EQ(name('<'), "comma");
  EXPECT_EQ(name('?'), "slash");
  EXPECT_EQ(name(' '), "spc");
  EXPECT_EQ(name(0xFF0D), "ret");
  EXPECT_EQ(name(0xFF08), "backspace");
  EXPECT_EQ(name(0xFFE1), "shift");
  EXPECT_EQ(name(0xFFE4), "ctrl_r");
  EXPECT_EQ(name(0xFE03), "alt_r");  // AltGr
  EXPECT_EQ(name(0xFF52), "up");
  EXPECT_EQ(name(0xFF97), "kp_8");   // keypad up with Num Lock off
  EXPECT_EQ(name(0xFFB8), "kp_8");
  EXPECT_EQ(name(0xFFC9), "f12");
  EXPECT_EQ(name(0xFFFF), "delete");
  EXPECT_EQ(name(0xFF13), "(none)");  // Pause: no make/break pair of its own
  EXPECT_EQ(name(0x00E9), "(none)");  // é: not on a US keyboard
  EXPECT_EQ(name(0x20AC), "(none)");
  // Every printable ASCII character has a key.
  for (uint32_t c = 0x20; c < 0x7F; ++c) EXPECT_NE(key_for_keysym(c), nullptr) << c;
}

TEST(VncBlit, DirtyRectangleIsTheBoundingBoxOfTheChange) {
  devices::VgaFrame f;
  f.width = 8;
  f.height = 6;
  f.rgb.assign(8 * 6 * 3, 0);
  std::vector<uint8_t> fb(8 * 6 * 4, 0);
  VncRect r = blit_frame(f, fb.data());
  EXPECT_TRUE(r.empty());  // black onto black
  auto px = [&](unsigned x, unsigned y, uint8_t v) { f.rgb[(y * 8 + x) * 3 + 1] = v; };
  px(2, 1, 9);
  px(5, 3, 7);
  r = blit_frame(f, fb.data());
  EXPECT_EQ((std::vector<unsigned>{r.x0, r.y0, r.x1, r.y1}), (std::vector<unsigned>{2, 1, 6, 4}));
  EXPECT_EQ(fb[(1 * 8 + 2) * 4 + 1], 9);  // R, G, B, 0
  EXPECT_EQ(fb[(3 * 8 + 5) * 4 + 1], 7);
  EXPECT_EQ(fb[(3 * 8 + 5) * 4 + 3], 0);
  EXPECT_TRUE(blit_frame(f, fb.data()).empty());  // nothing new
  px(7, 5, 1);
  r = blit_frame(f, fb.data());
  EXPECT_EQ((std::vector<unsigned>{r.x0, r.y0, r.x1, r.y1}), (std::vector<unsigned>{7, 5, 8, 6}));
  f.rgb[0] = 0xFF;  // red of pixel (0, 0)
  r = blit_frame(f, fb.data());
  EXPECT_EQ((std::vector<unsigned>{r.x0, r.y0, r.x1, r.y1}), (std::vector<unsigned>{0, 0, 1, 1}));
  EXPECT_EQ(fb[0], 0xFF);
}

class VncServer : public ::testing::Test {
 protected:
  VncServer() {
    MachineConfig c;
    c.ram_size = 4u << 20;
    c.kernel_path = files.write("kernel.bin", kludge_kernel({0xF4}));
    c.serial = "none";
    machine = std::make_unique<Machine>(c);
  }
  TempFiles files;
  std::unique_ptr<Machine> machine;
};

TEST_F(VncServer, APortInUseIsOneLine) {
  // Take a free loopback port, then ask the display for it.
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  uint16_t port = 0;
  for (unsigned d = 3100; d < 3200 && !port; ++d) {
    sa.sin_port = htons(static_cast<uint16_t>(5900 + d));
    if (bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0 && listen(fd, 1) == 0) port = static_cast<uint16_t>(5900 + d);
  }
  ASSERT_NE(port, 0);
  const std::string spec = "127.0.0.1:" + std::to_string(port - 5900);
  try {
    VncDisplay d(*machine, spec);
    ADD_FAILURE() << "no error";
  } catch (const VncError& e) {
    EXPECT_EQ(std::string(e.what()), "-vnc " + spec + ": 127.0.0.1 port " + std::to_string(port) +
                                         ": Address already in use");
  }
  close(fd);
  VncDisplay d(*machine, spec);  // free again
  d.refresh();
}

TEST_F(VncServer, UnixSocketPaths) {
  const std::string regular = files.write("not-a-socket", std::string("x"));
  try {
    VncDisplay d(*machine, "unix:" + regular);
    ADD_FAILURE() << "no error";
  } catch (const VncError& e) {
    EXPECT_EQ(std::string(e.what()), "-vnc unix:" + regular + ": " + regular + " exists and is not a socket");
  }
  EXPECT_EQ(slurp(regular), "x");  // left alone
  const std::string sock = files.path_for("vnc.sock");
  {
    VncDisplay d(*machine, "unix:" + sock);
    d.refresh();
    EXPECT_EQ(access(sock.c_str(), F_OK), 0);
  }
  EXPECT_NE(access(sock.c_str(), F_OK), 0);  // removed at the end
  try {
    VncDisplay d(*machine, "unix:/nonexistent-dir/v.sock");
    ADD_FAILURE() << "no error";
  } catch (const VncError& e) {
    EXPECT_EQ(std::string(e.what()),
              "-vnc unix:/nonexistent-dir/v.sock: /nonexistent-dir/v.sock: No such file or directory");
  }
}

}  // namespace
}  // namespace popek::frontend
