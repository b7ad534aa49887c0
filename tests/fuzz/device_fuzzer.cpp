// Random port I/O and ATA traffic, driven straight into the bus of a whole machine.
//
// No CPU runs: an input is a list of operations on the machine's ports, the way a guest
// driver (or a hostile guest) would issue them, with virtual time moving between them so
// that the devices' timers fire (PIT, UART, RTC, the IDE's command completion):
//   OUT / IN      any size at a port of the PC's devices, or any port;
//   ATA command   the task-file registers (LBA28/LBA48 with the HOB bytes, CHS, counts,
//                 features, device/head) then a command byte, then a burst of data-port
//                 reads or writes of random length against the disk;
//   soft reset    SRST through the device-control register;
//   time          the clock moved on and due events run;
//   video         bursts of reads and writes in the VGA's window at A0000 and its VBE
//                 linear frame buffer, and the display side (render, text) looking at
//                 whatever mode the registers now describe.
// The machine has two IDE disks (primary master read-write, secondary master read-only)
// of an odd number of sectors, both in memory files reset before every input, and all
// four serial ports. Besides the supervisor's crash and hang oracle, the IDE's transfer
// state is checked after every operation: its buffer indices must stay inside the
// buffer (an overflow there stays inside the channel object, out of ASan's sight).
#include <memory>
#include <string>

#include "devices/ide.h"
#include "devices/vga.h"
#include "frontend/machine.h"
#include "tests/fuzz/fuzz.h"

namespace popek::fuzz {
namespace {

using frontend::Machine;

constexpr unsigned kDiskSectors = 257;

constexpr uint16_t kDevicePorts[] = {
    0x20,  0x21,  0xA0,  0xA1,  0x40,  0x41,  0x42,  0x43,  0x61,  0x60,  0x64,  0x70,
    0x71,  0x80,  0x92,  0xE9,  0xF0,  0xF4,  0xF5,  0x1F0, 0x1F1, 0x1F2, 0x1F3, 0x1F4,
    0x1F5, 0x1F6, 0x1F7, 0x3F6, 0x3F7, 0x170, 0x171, 0x172, 0x173, 0x174, 0x175, 0x176,
    0x177, 0x376, 0x3F8, 0x3F9, 0x3FA, 0x3FB, 0x3FC, 0x3FD, 0x3FE, 0x3FF, 0x2F8, 0x2F9,
    0x2FA, 0x2FB, 0x2FC, 0x2FD, 0x3E8, 0x3EB, 0x3ED, 0x2E8, 0x2EB, 0x2ED, 0xCF9, 0x4D0,
    // the VGA and its VBE extension
    0x3C0, 0x3C1, 0x3C2, 0x3C3, 0x3C4, 0x3C5, 0x3C6, 0x3C7, 0x3C8, 0x3C9, 0x3CA, 0x3CC,
    0x3CE, 0x3CF, 0x3B4, 0x3B5, 0x3BA, 0x3D4, 0x3D5, 0x3DA, 0x1CE, 0x1CF, 0x1CF, 0x1CF};

// ATA commands popek implements, and some it does not.
constexpr uint8_t kAtaCommands[] = {0x20, 0x21, 0x24, 0x29, 0x30, 0x31, 0x34, 0x39, 0x40, 0x41,
                                    0x42, 0xC4, 0xC5, 0xC6, 0xC8, 0xCA, 0x91, 0xEC, 0xA1, 0xE7,
                                    0xEA, 0xEF, 0x08, 0x90, 0x10, 0x70, 0xE0, 0xE1, 0xE2, 0xE3,
                                    0xE5, 0xF8, 0x27, 0xDA, 0x00, 0xFF};

// Operation codes; 0 (also what Input reads past the end) ends the list.
enum Op : uint8_t { kEnd, kOut, kIn, kAta, kSoftReset, kTime, kVideo, kNumOps };

class DeviceFuzzer final : public Fuzzer {
 public:
  DeviceFuzzer() {
    frontend::MachineConfig cfg;
    cfg.ram_size = 2u << 20;
    cfg.serial = "none";
    cfg.serial_extra = {"none", "none", "none"};
    cfg.debugcon = "none";
    cfg.no_reboot = true;
    cfg.rtc_base = frontend::RtcBase::Fixed;
    cfg.engine = frontend::Engine::Interp;
    for (auto& d : disk_) d.set(std::vector<uint8_t>(kDiskSectors * 512));
    cfg.drives.push_back({disk_[0].path(), 0, false});
    cfg.drives.push_back({disk_[1].path(), 2, true});
    m_ = std::make_unique<Machine>(cfg);
    m_->bus().log().quiet = true;
    rtc_ = m_->rtc().state;
  }

  const char* name() const override { return "device"; }

  std::vector<uint8_t> generate(Rng& r) override {
    Output o;
    o.u8(r.u32());  // the disks' fill pattern
    const unsigned n = 1 + r.below(r.chance(20) ? 400 : 60);
    for (unsigned i = 0; i < n; ++i) {
      const unsigned k = r.below(100);
      if (k < 30) {
        o.u8(kOut), port(o, r), o.u8(size(r)), o.u32(r.chance(50) ? r.below(256) : r.u32());
      } else if (k < 50) {
        o.u8(kIn), port(o, r), o.u8(size(r));
      } else if (k < 85) {
        o.u8(kAta);
        o.u8(r.below(2));                                    // channel
        o.u8(r.chance(80) ? 0xA0 | 0x40 * r.below(2) | 0x10 * r.chance(20) | r.below(16) : r.u32());  // device/head
        o.u8(r.chance(70) ? 0 : r.u32());                    // features
        o.u8(r.chance(30) ? r.below(3) : r.u32());           // sector count
        for (int b = 0; b < 3; ++b) o.u8(r.chance(50) ? r.below(2) : r.u32());  // LBA bytes
        o.u8(r.chance(30));                                  // write HOB bytes first (LBA48)
        for (int b = 0; b < 4; ++b) o.u8(r.chance(60) ? 0 : r.u32());
        o.u8(r.chance(90) ? kAtaCommands[r.below(std::size(kAtaCommands))] : r.u32());
        o.u8(r.below(3));                                    // data: none, read, write
        o.u16(r.chance(50) ? 256 * r.below(4) : r.below(5000));  // words
        o.u8(r.chance(70) ? 2 : r.chance(50) ? 4 : 1);       // access size
        o.u8(r.u32());                                       // written data seed
      } else if (k < 88) {
        o.u8(kSoftReset), o.u8(r.below(2)), o.u8(r.u32());
      } else if (k < 95) {
        o.u8(kVideo);
        o.u8(r.below(5));                                    // window write/read, LFB write/read, display
        o.u32(r.chance(50) ? r.below(0x20000) : r.u32());    // offset
        o.u8(size(r));
        o.u16(r.chance(70) ? r.below(64) : r.below(4096));   // accesses in the burst
        o.u32(r.u32());                                      // data seed
      } else {
        o.u8(kTime), o.u32(r.chance(50) ? r.below(1000) : r.u32());
      }
    }
    return o.v;
  }

  std::string run(const std::vector<uint8_t>& input, Counters& c) override {
    ++c.inputs;
    Input in(input);
    const uint8_t fill = in.u8();
    for (unsigned i = 0; i < 2; ++i) {
      std::vector<uint8_t> img(kDiskSectors * 512);
      for (size_t j = 0; j < img.size(); ++j) img[j] = static_cast<uint8_t>(fill + j / 512 * (i + 1));
      disk_[i].set(img);
    }
    Machine& m = *m_;
    m.boot();
    m.end_run();
    m.rtc().state = rtc_;  // CMOS and RTC time as built (a reset keeps them)
    m.rtc().post_load();
    bus::Bus& bus = m.bus();
    std::string bad;
    for (unsigned n = 0; n < 100000 && bad.empty(); ++n) {
      uint8_t op = in.u8();
      if (op == kEnd) break;
      op = static_cast<uint8_t>(1 + (op - 1) % (kNumOps - 1));  // any byte is an operation
      switch (op) {
        case kOut: {
          const uint16_t p = in.u16();
          const unsigned s = sizes(in.u8());
          bus.io_write(p, s, in.u32());
          break;
        }
        case kIn: {
          const uint16_t p = in.u16();
          const unsigned s = sizes(in.u8());
          bus.io_read(p, s);
          break;
        }
        case kAta: ata(bus, in); break;
        case kSoftReset: {
          const uint16_t ctl = in.u8() & 1 ? devices::IdeChannel::kSecondaryCtl : devices::IdeChannel::kPrimaryCtl;
          const uint8_t v = in.u8();
          bus.io_write(ctl, 1, v | devices::ata::CTL_SRST);
          bus.io_write(ctl, 1, v & ~devices::ata::CTL_SRST);
          break;
        }
        case kTime: {
          // Virtual time is the CPU's instruction count: move it on, run what is due.
          m.cpu().s.icount += in.u32() & 0xFFFFF;
          bus.clock().run_due();
          break;
        }
        case kVideo: video(m, in); break;
      }
      if (bus.stop_reason() != bus::StopReason::None) bus.clear_stop();  // debug exit, reset port
      bad = check_ide(m);
    }
    return bad;
  }

 private:
  static void port(Output& o, Rng& r) {
    o.u16(r.chance(85) ? kDevicePorts[r.below(std::size(kDevicePorts))] : r.u32());
  }
  static unsigned size(Rng& r) { return r.chance(70) ? 1 : r.chance(60) ? 2 : 4; }
  static unsigned sizes(uint8_t x) { return x == 4 ? 4 : x == 2 ? 2 : 1; }

  void video(Machine& m, Input& in) {
    const unsigned kind = in.u8() % 5;
    const uint32_t offset = in.u32();
    const unsigned size = sizes(in.u8());
    const unsigned count = in.u16() % 4097;
    uint32_t seed = in.u32();
    bus::Bus& bus = m.bus();
    if (kind == 4) {  // the display side: it must cope with any register contents
      if (devices::Vga* vga = m.vga()) {
        devices::VgaFrame frame;
        vga->render(frame, seed & 1);
        devices::VgaTextScreen screen;
        vga->text_screen(screen);
        std::vector<std::string> rows;
        vga->text(rows);
      }
      return;
    }
    const uint32_t base = kind < 2 ? bus::Bus::kVideoWindow + offset % 0x20000
                                   : devices::Vga::kLfbBase + offset % devices::Vga::kVbeMemory;
    for (unsigned i = 0; i < count; ++i) {
      const uint32_t a = base + i * size;
      seed = seed * 1103515245u + 12345u;
      if (kind % 2 == 0) bus.write_phys(a, size, seed);
      else bus.read_phys(a, size);
    }
  }

  void ata(bus::Bus& bus, Input& in) {
    const bool secondary = in.u8() & 1;
    const uint16_t base = secondary ? devices::IdeChannel::kSecondaryBase : devices::IdeChannel::kPrimaryBase;
    const uint8_t device = in.u8(), feature = in.u8(), count = in.u8();
    uint8_t lba[3];
    for (uint8_t& b : lba) b = in.u8();
    const bool hob = in.u8() & 1;
    uint8_t high[4];
    for (uint8_t& b : high) b = in.u8();
    const uint8_t command = in.u8();
    const uint8_t data = in.u8() % 3;
    const unsigned words = in.u16();
    const unsigned access = sizes(in.u8());
    uint32_t seed = in.u8() * 0x01010101u;
    bus.io_write(base + 6, 1, device);
    if (hob) {  // the previous contents of the FIFO registers: the high bytes of LBA48
      bus.io_write(base + 1, 1, high[0]);
      bus.io_write(base + 2, 1, high[1]);
      bus.io_write(base + 3, 1, high[2]);
      bus.io_write(base + 4, 1, high[3]);
      bus.io_write(base + 5, 1, high[0] ^ high[3]);
    }
    bus.io_write(base + 1, 1, feature);
    bus.io_write(base + 2, 1, count);
    bus.io_write(base + 3, 1, lba[0]);
    bus.io_write(base + 4, 1, lba[1]);
    bus.io_write(base + 5, 1, lba[2]);
    bus.io_write(base + 7, 1, command);
    for (unsigned i = 0; i < words; i += access == 4 ? 2 : 1) {
      if (data == 1) {
        bus.io_read(base, access);
      } else if (data == 2) {
        seed = seed * 1103515245u + 12345u;
        bus.io_write(base, access, seed);
      }
      if (i % 256 == 255) {  // between sectors: status, and sometimes the time to complete
        bus.io_read(base + 7, 1);
        bus.clock().run_due();
      }
    }
    bus.io_read(base + 7, 1);
  }

  // The IDE's transfer indices stay inside its buffer.
  static std::string check_ide(Machine& m) {
    for (unsigned ch = 0; ch < 2; ++ch) {
      const devices::IdeChannelState& st = m.ide(ch).state;
      for (unsigned u = 0; u < 2; ++u) {
        const devices::IdeDriveState& d = st.drive[u];
        if (d.size > sizeof d.buffer || d.pos > d.size) {
          return "ide channel " + std::to_string(ch) + " unit " + std::to_string(u) + ": transfer position " +
                 std::to_string(d.pos) + " / block " + std::to_string(d.size) + " outside the " +
                 std::to_string(sizeof d.buffer) + "-byte buffer";
        }
      }
    }
    return "";
  }

  MemFile disk_[2];
  std::unique_ptr<Machine> m_;
  devices::RtcState rtc_;
};

}  // namespace

Fuzzer* make_device_fuzzer() { return new DeviceFuzzer(); }

}  // namespace popek::fuzz
