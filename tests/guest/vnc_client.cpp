// A VNC client for the -vnc test (libvncclient): connects to a server, keeps its copy of
// the framebuffer up to date, and runs steps given on the command line in order:
//
//   frame FILE.ppm    wait until FILE exists and the framebuffer equals it pixel for
//                     pixel (size included); after 60 s, fail, leaving the framebuffer in
//                     FILE.vnc.ppm and saying where they differ
//   type TEXT         press and release the keys of TEXT's characters, with Shift around
//                     upper-case letters and shifted symbols (US layout), as a client
//                     on a US keyboard sends them, all at once (as a paste)
//   key KEYSYM        press and release an X keysym (a number: 0xff0d is Return)
//   pointer X Y MASK  a pointer event: absolute position and RFB button mask
//   sleep MS          keep the connection serviced for MS milliseconds
//   plain-resize      ask for lossless encodings and the plain desktop-size change only
//                     (libvncclient 0.9.14 ignores an extended desktop size whose screen
//                     id is 0, which is what QEMU sends)
//
// usage: vnc_client SERVER STEP...   (SERVER: a unix socket's path, or HOST:PORT)
// Exit status 0 when every step passed, 1 otherwise (with a line on stderr).
#include <rfb/rfbclient.h>

#include <sys/stat.h>

#include <chrono>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Image {
  unsigned width = 0, height = 0;
  std::vector<uint8_t> rgb;
};

void quiet(const char*, ...) {}

// Framebuffer updates received, for the failure message.
unsigned g_updates = 0;
void count_update(rfbClient*, int, int, int, int) { ++g_updates; }

bool read_ppm(const std::string& path, Image& img) {
  std::ifstream f(path, std::ios::binary);
  std::string magic;
  unsigned maxval = 0;
  if (!(f >> magic >> img.width >> img.height >> maxval) || magic != "P6" || maxval != 255) return false;
  f.get();  // the single whitespace after the header
  img.rgb.resize(static_cast<size_t>(img.width) * img.height * 3);
  f.read(reinterpret_cast<char*>(img.rgb.data()), static_cast<std::streamsize>(img.rgb.size()));
  return static_cast<size_t>(f.gcount()) == img.rgb.size();
}

// The client's framebuffer as RGB (it asked for 32-bit pixels, red in the low byte).
Image framebuffer(rfbClient* cl) {
  Image img;
  img.width = static_cast<unsigned>(cl->width);
  img.height = static_cast<unsigned>(cl->height);
  img.rgb.resize(static_cast<size_t>(img.width) * img.height * 3);
  const rfbPixelFormat& f = cl->format;
  for (size_t i = 0; i < static_cast<size_t>(img.width) * img.height; ++i) {
    uint32_t p;
    std::memcpy(&p, cl->frameBuffer + i * 4, 4);
    img.rgb[i * 3 + 0] = static_cast<uint8_t>((p >> f.redShift) & f.redMax);
    img.rgb[i * 3 + 1] = static_cast<uint8_t>((p >> f.greenShift) & f.greenMax);
    img.rgb[i * 3 + 2] = static_cast<uint8_t>((p >> f.blueShift) & f.blueMax);
  }
  return img;
}

void write_ppm(const std::string& path, const Image& img) {
  std::ofstream f(path, std::ios::binary);
  f << "P6\n" << img.width << " " << img.height << "\n255\n";
  f.write(reinterpret_cast<const char*>(img.rgb.data()), static_cast<std::streamsize>(img.rgb.size()));
}

// Read what the server sent for up to `ms` milliseconds. False when the connection broke.
bool service(rfbClient* cl, int ms) {
  const auto until = Clock::now() + std::chrono::milliseconds(ms);
  do {
    const int n = WaitForMessage(cl, 20000);
    if (n < 0) return false;
    if (n > 0 && !HandleRFBServerMessage(cl)) return false;
  } while (Clock::now() < until);
  return true;
}

// Where two images differ, in words.
std::string difference(const Image& got, const Image& want) {
  if (got.width != want.width || got.height != want.height) {
    return "size " + std::to_string(got.width) + "x" + std::to_string(got.height) + ", want " +
           std::to_string(want.width) + "x" + std::to_string(want.height);
  }
  size_t count = 0, first = 0;
  for (size_t i = 0; i < static_cast<size_t>(got.width) * got.height; ++i) {
    if (std::memcmp(&got.rgb[i * 3], &want.rgb[i * 3], 3) != 0 && count++ == 0) first = i;
  }
  if (!count) return {};
  return std::to_string(count) + " pixels differ, the first at (" + std::to_string(first % got.width) + ", " +
         std::to_string(first / got.width) + ")";
}

bool step_frame(rfbClient* cl, const std::string& path) {
  const auto deadline = Clock::now() + std::chrono::seconds(60);
  std::string why = path + " never appeared";
  while (Clock::now() < deadline) {
    if (!service(cl, 50)) {
      fprintf(stderr, "vnc_client: the connection broke while waiting for %s\n", path.c_str());
      return false;
    }
    struct stat st;
    if (stat(path.c_str(), &st) != 0) continue;
    Image want;
    if (!read_ppm(path, want)) {
      why = path + " is not a binary PPM";
      continue;
    }
    why = difference(framebuffer(cl), want);
    if (why.empty()) {
      printf("vnc_client: framebuffer equals %s (%ux%u)\n", path.c_str(), want.width, want.height);
      return true;
    }
  }
  write_ppm(path + ".vnc.ppm", framebuffer(cl));
  fprintf(stderr, "vnc_client: the framebuffer does not equal %s: %s (it is in %s.vnc.ppm; %u rectangles received)\n",
          path.c_str(), why.c_str(), path.c_str(), g_updates);
  return false;
}

// The keysym of a character, and whether a US keyboard needs Shift for it.
bool keysym_of(char c, uint32_t& sym, bool& shift) {
  static const char kShifted[] = "~!@#$%^&*()_+{}|:\"<>?";
  if (c < 0x20 || c > 0x7E) return false;
  sym = static_cast<unsigned char>(c);
  shift = (c >= 'A' && c <= 'Z') || std::strchr(kShifted, c);
  return true;
}

bool step_type(rfbClient* cl, const std::string& text) {
  for (char c : text) {
    uint32_t sym;
    bool shift;
    if (!keysym_of(c, sym, shift)) {
      fprintf(stderr, "vnc_client: cannot type '%c'\n", c);
      return false;
    }
    if (shift) SendKeyEvent(cl, XK_Shift_L, TRUE);
    SendKeyEvent(cl, sym, TRUE);
    SendKeyEvent(cl, sym, FALSE);
    if (shift) SendKeyEvent(cl, XK_Shift_L, FALSE);
  }
  return service(cl, 30);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: vnc_client SERVER STEP...\n");
    return 2;
  }
  rfbClientLog = quiet;
  rfbClient* cl = rfbGetClient(8, 3, 4);
  cl->appData.enableJPEG = FALSE;  // lossless encodings only: the pixels are compared
  cl->GotFrameBufferUpdate = count_update;
  const std::string server = argv[1];
  const size_t colon = server.rfind(':');
  if (server.find('/') == std::string::npos && colon != std::string::npos) {
    cl->serverHost = strdup(server.substr(0, colon).c_str());
    cl->serverPort = std::atoi(server.c_str() + colon + 1);
  } else {
    cl->serverHost = strdup(server.c_str());  // a unix socket
  }
  if (!rfbInitClient(cl, nullptr, nullptr)) {  // frees the client
    fprintf(stderr, "vnc_client: cannot connect to %s\n", server.c_str());
    return 1;
  }
  bool ok = true;
  for (int i = 2; ok && i < argc; ++i) {
    const std::string step = argv[i];
    auto arg = [&](int k) -> std::string { return i + k < argc ? argv[i + k] : ""; };
    if (step == "frame" && i + 1 < argc) {
      ok = step_frame(cl, arg(1));
      i += 1;
    } else if (step == "type" && i + 1 < argc) {
      ok = step_type(cl, arg(1));
      i += 1;
    } else if (step == "key" && i + 1 < argc) {
      const uint32_t sym = static_cast<uint32_t>(std::strtoul(arg(1).c_str(), nullptr, 0));
      ok = SendKeyEvent(cl, sym, TRUE) && SendKeyEvent(cl, sym, FALSE) && service(cl, 30);
      i += 1;
    } else if (step == "pointer" && i + 3 < argc) {
      ok = SendPointerEvent(cl, std::atoi(arg(1).c_str()), std::atoi(arg(2).c_str()), std::atoi(arg(3).c_str())) &&
           service(cl, 30);
      i += 3;
    } else if (step == "plain-resize") {
      const uint32_t encodings[] = {rfbEncodingZRLE, rfbEncodingHextile, rfbEncodingRaw, rfbEncodingNewFBSize};
      std::vector<char> msg(4 + 4 * std::size(encodings));
      msg[0] = rfbSetEncodings;
      msg[3] = static_cast<char>(std::size(encodings));
      for (size_t e = 0; e < std::size(encodings); ++e) {
        const uint32_t v = encodings[e];
        for (int b = 0; b < 4; ++b) msg[4 + e * 4 + b] = static_cast<char>(v >> (24 - 8 * b));
      }
      ok = WriteToRFBServer(cl, msg.data(), static_cast<unsigned>(msg.size())) && service(cl, 30);
    } else if (step == "sleep" && i + 1 < argc) {
      ok = service(cl, std::atoi(arg(1).c_str()));
      i += 1;
    } else {
      fprintf(stderr, "vnc_client: bad step '%s'\n", step.c_str());
      ok = false;
    }
    if (!ok && step != "frame") fprintf(stderr, "vnc_client: step '%s' failed\n", step.c_str());
  }
  rfbClientCleanup(cl);
  return ok ? 0 : 1;
}
