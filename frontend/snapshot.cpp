// Machine snapshots: the file format (snapshot.h) and Machine::save_snapshot /
// load_snapshot.
#include "frontend/snapshot.h"

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <map>
#include <set>
#include <type_traits>
#include <utility>
#include <vector>

#include <unistd.h>

#include "bus/state_archive.h"
#include "frontend/machine.h"

namespace popek::frontend {

namespace {

constexpr char kMagic[8] = {'P', 'O', 'P', 'E', 'K', 'S', 'N', 'P'};
constexpr uint64_t kPage = 4096;
// Versions of the sections that are not a device state (a device's is its kVersion).
constexpr uint32_t kHeaderVersion = 1, kCpuVersion = 1, kRamVersion = 1, kBusVersion = 1,
                   kClockVersion = 1, kRunVersion = 1, kDiskVersion = 1;

template <class T>
constexpr uint32_t version_of() {
  if constexpr (requires { T::kVersion; }) return T::kVersion;
  else return 1;
}

// --- little-endian bytes

class Out {
 public:
  void u8(uint8_t v) { b_.push_back(v); }
  void u16(uint16_t v) { le(v, 2); }
  void u32(uint32_t v) { le(v, 4); }
  void u64(uint64_t v) { le(v, 8); }
  void bytes(const void* p, size_t n) {
    const uint8_t* c = static_cast<const uint8_t*>(p);
    b_.insert(b_.end(), c, c + n);
  }
  void str16(const std::string& s) {
    u16(static_cast<uint16_t>(s.size()));
    bytes(s.data(), s.size());
  }
  void str32(const std::string& s) {
    u32(static_cast<uint32_t>(s.size()));
    bytes(s.data(), s.size());
  }
  std::vector<uint8_t>& buf() { return b_; }

 private:
  void le(uint64_t v, unsigned n) {
    for (unsigned i = 0; i < n; ++i) b_.push_back(static_cast<uint8_t>(v >> (8 * i)));
  }
  std::vector<uint8_t> b_;
};

// Reads what Out wrote; a read past the end throws SnapshotError naming `what_`.
class In {
 public:
  In(const uint8_t* p, size_t n, std::string what) : p_(p), n_(n), what_(std::move(what)) {}
  uint8_t u8() { return static_cast<uint8_t>(le(1)); }
  uint16_t u16() { return static_cast<uint16_t>(le(2)); }
  uint32_t u32() { return static_cast<uint32_t>(le(4)); }
  uint64_t u64() { return le(8); }
  const uint8_t* bytes(size_t n) {
    need(n);
    const uint8_t* r = p_ + pos_;
    pos_ += n;
    return r;
  }
  std::string str16() { return str(u16()); }
  std::string str32() { return str(u32()); }
  size_t left() const { return n_ - pos_; }
  bool done() const { return pos_ == n_; }
  [[noreturn]] void fail(const std::string& why) const { throw SnapshotError(what_ + ": " + why); }

 private:
  std::string str(size_t n) {
    const uint8_t* p = bytes(n);
    return std::string(reinterpret_cast<const char*>(p), n);
  }
  void need(size_t n) const {
    if (n_ - pos_ < n) fail("ends early");
  }
  uint64_t le(unsigned n) {
    const uint8_t* p = bytes(n);
    uint64_t v = 0;
    for (unsigned i = 0; i < n; ++i) v |= static_cast<uint64_t>(p[i]) << (8 * i);
    return v;
  }
  const uint8_t* p_;
  size_t n_;
  size_t pos_ = 0;
  std::string what_;
};

// --- hashing files

struct FileHash {
  bool ok = false;
  uint64_t hash = 0;
};

FileHash hash_file(const std::string& path) {
  FileHash r;
  FILE* f = fopen(path.c_str(), "rb");
  if (!f) return r;
  std::vector<uint8_t> buf(1 << 20);
  // Streams the file through the checksum in 1 MiB pieces (one piece of all zeros
  // hashes as its bytes: the checksum below is defined over the whole stream).
  uint64_t h = 0xCBF29CE484222325ull;
  size_t n;
  uint64_t total = 0;
  while ((n = fread(buf.data(), 1, buf.size(), f)) > 0) {
    h ^= snapshot_checksum(buf.data(), n) + 0x9E3779B97F4A7C15ull + (h << 6) + (h >> 2);
    total += n;
  }
  r.ok = !ferror(f);
  fclose(f);
  r.hash = h ^ total;
  return r;
}

std::string hex64(uint64_t v) {
  char b[20];
  snprintf(b, sizeof b, "%016" PRIx64, v);
  return b;
}

// --- the header's keys

using Header = std::vector<std::pair<std::string, std::string>>;

const char* drive_option(unsigned index) {
  static constexpr const char* kNames[4] = {"-hda", "-hdb", "-hdc", "-hdd"};
  return index < 4 ? kNames[index] : "-drive";
}

// What a "machine." or "image." key means, for error lines.
std::string describe_key(const std::string& key) {
  static const std::map<std::string, std::string> kWhat = {
      {"machine.ram", "guest RAM (-m, bytes)"},
      {"machine.vga", "the display adapter (-vga)"},
      {"machine.serial_ports", "the number of serial ports (-serial)"},
      {"machine.icount_shift", "the time scale (-icount shift)"},
      {"machine.debugcon", "the debug console port (-device isa-debugcon,iobase)"},
      {"machine.debug_exit", "the isa-debug-exit ports (-device isa-debug-exit)"},
      {"machine.kernel", "-kernel"},
      {"machine.append", "the kernel command line (-append)"},
      {"machine.boot_order", "the boot order (-boot)"},
      {"machine.drives", "the disks (index:sectors:mode)"},
      {"image.bios", "the firmware (-bios)"},
      {"image.vga_bios", "the VGA BIOS"},
      {"image.kernel", "the -kernel image"},
      {"image.initrd", "the -initrd image"},
  };
  auto it = kWhat.find(key);
  if (it != kWhat.end()) return it->second;
  if (key.rfind("image.disk", 0) == 0) {
    const unsigned idx = static_cast<unsigned>(key.back() - '0');
    return std::string("the disk image of ") + drive_option(idx);
  }
  return key;
}

}  // namespace

uint64_t snapshot_checksum(const uint8_t* p, size_t n) {
  return bus::hash_bytes(0xCBF29CE484222325ull ^ n, p, n);
}

namespace {

// The header this machine writes, and what a snapshot's header must agree with.
Header machine_header(Machine& m, const std::string& vga_rom_path) {
  const MachineConfig& c = m.config();
  Header h;
  auto put = [&h](const std::string& k, const std::string& v) { h.emplace_back(k, v); };
  put("machine.ram", std::to_string(c.ram_size));
  put("machine.vga", c.vga ? "std" : "none");
  put("machine.serial_ports", std::to_string(1 + c.serial_extra.size()));
  put("machine.icount_shift", std::to_string(c.icount_shift));
  put("machine.debugcon", std::to_string(c.debugcon_iobase));
  put("machine.debug_exit", std::to_string(c.debug_exit_iobase) + "/" + std::to_string(c.debug_exit_iosize));
  put("machine.kernel", c.kernel_path.empty() ? "none" : "yes");
  put("machine.append", c.append);
  put("machine.boot_order", c.boot_order);
  std::string drives;
  for (size_t i = 0; i < c.drives.size(); ++i) {
    const DriveConfig& d = c.drives[i];
    const devices::DiskImage& img = *m.disks()[i];
    if (!drives.empty()) drives += ",";
    drives += std::to_string(d.index) + ":" + std::to_string(img.sectors()) + ":" +
              (img.snapshot() ? "snapshot" : img.readonly() ? "readonly" : "writable");
  }
  put("machine.drives", drives);
  // The images: the firmware as mapped; the others as their files are now (a disk in
  // -snapshot mode or read-only is its content at start).
  const std::vector<uint8_t>& bios = m.bus().bios_image();
  if (!bios.empty()) put("image.bios", hex64(snapshot_checksum(bios.data(), bios.size())));
  auto file = [&put](const std::string& key, const std::string& path) {
    if (path.empty()) return;
    const FileHash fh = hash_file(path);
    put(key, fh.ok ? hex64(fh.hash) : "unreadable");
  };
  file("image.vga_bios", vga_rom_path);
  file("image.kernel", c.kernel_path);
  file("image.initrd", c.initrd_path);
  for (const DriveConfig& d : c.drives) file("image.disk" + std::to_string(d.index), d.path);
  return h;
}

// The first disagreement between a snapshot's header and this machine's, or "".
std::string header_mismatch(const Header& saved, const Header& mine, const MachineConfig& c) {
  std::map<std::string, std::string> s(saved.begin(), saved.end()), m(mine.begin(), mine.end());
  auto path_of = [&c](const std::string& key) -> std::string {
    if (key == "image.kernel") return c.kernel_path;
    if (key == "image.initrd") return c.initrd_path;
    if (key == "image.bios") return c.bios_path;
    if (key.rfind("image.disk", 0) == 0) {
      const unsigned idx = static_cast<unsigned>(key.back() - '0');
      for (const DriveConfig& d : c.drives)
        if (d.index == idx) return d.path;
    }
    return {};
  };
  for (const auto& [key, value] : s) {
    if (key.rfind("note.", 0) == 0) continue;
    auto it = m.find(key);
    const bool image = key.rfind("image.", 0) == 0;
    if (it == m.end()) {
      if (image) return describe_key(key) + ": the snapshot was taken with one, this machine has none";
      return "unknown header entry " + key + " (a newer popek's snapshot?)";
    }
    if (it->second == value) continue;
    if (image) {
      const std::string path = path_of(key);
      return describe_key(key) + (path.empty() ? "" : " " + path) +
             " differs from the image the snapshot was taken with (content hash " + value +
             ", now " + it->second + ")";
    }
    return describe_key(key) + " differs: the snapshot has \"" + value + "\", this machine \"" + it->second + "\"";
  }
  for (const auto& [key, value] : m) {
    if (key.rfind("note.", 0) == 0 || s.count(key)) continue;
    return describe_key(key) + ": this machine has one, the snapshot was taken without";
  }
  return {};
}

struct Section {
  std::string name;
  uint32_t version = 0;
  std::vector<uint8_t> payload;
};

// Visits every device state into a section each.
struct DeviceSaver {
  std::vector<Section>* out;
  template <class T>
  void operator()(const char* name, T& state) {
    bus::StateWriter w;
    state.visit(w);
    out->push_back({std::string("dev.") + name, version_of<T>(), w.bytes()});
  }
};

// Checks (apply = false) or loads (apply = true) every device state from its section.
struct DeviceLoader {
  const std::map<std::string, const Section*>* sections;
  std::string file;
  bool apply;
  template <class T>
  void operator()(const char* name, T& state) {
    const std::string sec = std::string("dev.") + name;
    auto it = sections->find(sec);
    if (it == sections->end()) throw SnapshotError(file + ": the snapshot has no section " + sec);
    const Section& s = *it->second;
    if (s.version != version_of<T>())
      throw SnapshotError(file + ": section " + sec + " has version " + std::to_string(s.version) +
                          "; this popek reads version " + std::to_string(version_of<T>()));
    bus::StateReader r(s.payload);
    if (apply) {
      state.visit(r);
      return;
    }
    T copy = state;
    try {
      copy.visit(r);
    } catch (const bus::StateError& e) {
      throw SnapshotError(file + ": section " + sec + ": " + e.what());
    }
    if (!r.done()) throw SnapshotError(file + ": section " + sec + " is longer than its state");
  }
};

// Collects the device sections' names.
struct DeviceNamer {
  std::set<std::string>* known;
  template <class T>
  void operator()(const char* name, T&) { known->insert(std::string("dev.") + name); }
};

std::vector<uint8_t> encode_file(const std::vector<Section>& sections) {
  Out o;
  o.bytes(kMagic, sizeof kMagic);
  o.u32(kSnapshotFormat);
  o.u32(static_cast<uint32_t>(sections.size()));
  for (const Section& s : sections) {
    o.str16(s.name);
    o.u32(s.version);
    o.u64(s.payload.size());
    o.u64(snapshot_checksum(s.payload.data(), s.payload.size()));
    o.bytes(s.payload.data(), s.payload.size());
  }
  return std::move(o.buf());
}

void write_file_atomically(const std::string& path, const std::vector<uint8_t>& bytes) {
  const std::string tmp = path + ".tmp" + std::to_string(getpid());
  FILE* f = fopen(tmp.c_str(), "wb");
  if (!f) throw SnapshotError(path + ": cannot create " + tmp + ": " + strerror(errno));
  const bool ok = fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size() && fflush(f) == 0 &&
                  fsync(fileno(f)) == 0;
  const int err = errno;
  if (fclose(f) != 0 || !ok) {
    unlink(tmp.c_str());
    throw SnapshotError(path + ": cannot write: " + strerror(ok ? errno : err));
  }
  if (rename(tmp.c_str(), path.c_str()) != 0) {
    const int e = errno;
    unlink(tmp.c_str());
    throw SnapshotError(path + ": cannot rename " + tmp + " to it: " + strerror(e));
  }
}

std::vector<uint8_t> read_whole_file(const std::string& path) {
  FILE* f = fopen(path.c_str(), "rb");
  if (!f) throw SnapshotError(path + ": " + strerror(errno));
  std::vector<uint8_t> all;
  uint8_t buf[1 << 16];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) all.insert(all.end(), buf, buf + n);
  const bool bad = ferror(f);
  fclose(f);
  if (bad) throw SnapshotError(path + ": read error");
  return all;
}

std::vector<Section> decode_file(const std::string& path, const std::vector<uint8_t>& bytes) {
  if (bytes.size() < 16 || std::memcmp(bytes.data(), kMagic, sizeof kMagic) != 0)
    throw SnapshotError(path + ": not a popek snapshot (bad magic)");
  In in(bytes.data() + 8, bytes.size() - 8, path);
  const uint32_t format = in.u32();
  if (format != kSnapshotFormat)
    throw SnapshotError(path + ": snapshot format version " + std::to_string(format) +
                        " is unknown (this popek reads version " + std::to_string(kSnapshotFormat) + ")");
  const uint32_t count = in.u32();
  std::vector<Section> out;
  std::set<std::string> seen;
  for (uint32_t i = 0; i < count; ++i) {
    Section s;
    s.name = in.str16();
    s.version = in.u32();
    const uint64_t len = in.u64();
    const uint64_t sum = in.u64();
    if (len > in.left()) throw SnapshotError(path + ": section " + s.name + " is truncated");
    const uint8_t* p = in.bytes(len);
    if (snapshot_checksum(p, len) != sum)
      throw SnapshotError(path + ": section " + s.name + " is corrupt (checksum mismatch)");
    if (!seen.insert(s.name).second) throw SnapshotError(path + ": section " + s.name + " appears twice");
    s.payload.assign(p, p + len);
    out.push_back(std::move(s));
  }
  if (!in.done()) throw SnapshotError(path + ": bytes after the last section");
  return out;
}

Header decode_header(const std::string& path, const Section& s) {
  if (s.version != kHeaderVersion)
    throw SnapshotError(path + ": section header has version " + std::to_string(s.version) +
                        "; this popek reads version " + std::to_string(kHeaderVersion));
  In in(s.payload.data(), s.payload.size(), path + ": section header");
  Header h;
  const uint32_t n = in.u32();
  for (uint32_t i = 0; i < n; ++i) {
    std::string k = in.str16();
    std::string v = in.str32();
    h.emplace_back(std::move(k), std::move(v));
  }
  if (!in.done()) in.fail("longer than its entries");
  return h;
}

void check_version(const std::string& path, const Section& s, uint32_t want) {
  if (s.version != want)
    throw SnapshotError(path + ": section " + s.name + " has version " + std::to_string(s.version) +
                        "; this popek reads version " + std::to_string(want));
}

}  // namespace

void Machine::save_snapshot(const std::string& path) {
  // Stopped by a debugger inside a block, the CPU would go on with the rest of that block;
  // a load starts blocks at CS:EIP, and interrupts are taken between blocks: the restored
  // run would not be the one that saved.
  if (cpu_.in_block())
    throw SnapshotError(path + ": the CPU is stopped by the debugger in the middle of a block; "
                        "let the guest run on and save when it is between two blocks (from the monitor, or at exit)");
  // A disk written in place holds the present, not the moment of the snapshot: a load
  // could not give the guest back what it had written (QEMU refuses savevm on raw too).
  for (size_t i = 0; i < disks_.size(); ++i) {
    if (!disks_[i]->snapshot() && !disks_[i]->readonly())
      throw SnapshotError(path + ": the disk " + std::string(drive_option(cfg_.drives[i].index)) + " " +
                          disks_[i]->path() +
                          " is written in place, so a snapshot could not restore it; "
                          "run with -snapshot or make the drive readonly=on");
  }
  write_file_atomically(path, snapshot_image(path, true));
}

std::vector<uint8_t> Machine::snapshot_image(const std::string& path, bool header, bool with_ram) {
  std::vector<Section> secs;
  if (header) {
    Header h = machine_header(*this, vga_rom_path_);
    h.emplace_back("note.engine", cfg_.engine == Engine::Jit ? "jit" : "interp");
    h.emplace_back("note.icount", std::to_string(cpu_.s.icount));
    Out o;
    o.u32(static_cast<uint32_t>(h.size()));
    for (const auto& [k, v] : h) {
      o.str16(k);
      o.str32(v);
    }
    secs.push_back({"header", kHeaderVersion, std::move(o.buf())});
  }
  {
    bus::StateWriter w;
    w("cpu", cpu_.s);
    secs.push_back({"cpu", kCpuVersion, w.bytes()});
  }
  {
    Out o;
    const uint64_t size = bus_.ram_size();
    o.u64(size);
    const uint8_t* ram = bus_.ram();
    static const uint8_t kZero[kPage] = {};
    for (uint64_t p = 0; with_ram && p * kPage < size; ++p) {
      const uint64_t n = std::min<uint64_t>(kPage, size - p * kPage);
      if (std::memcmp(ram + p * kPage, kZero, n) == 0) continue;
      o.u32(static_cast<uint32_t>(p));
      o.bytes(ram + p * kPage, n);
    }
    secs.push_back({"ram", kRamVersion, std::move(o.buf())});
  }
  {
    Out o;
    o.u8(bus_.a20() ? 1 : 0);
    secs.push_back({"bus", kBusVersion, std::move(o.buf())});
  }
  DeviceSaver saver{&secs};
  visit_devices(saver);
  {
    const bus::Clock::Saved c = bus_.clock().save();
    Out o;
    o.u64(c.idle);
    o.u64(c.next_seq);
    o.u32(static_cast<uint32_t>(c.events.size()));
    for (const auto& e : c.events) {
      o.str16(e.name);
      o.u64(e.when);
      o.u64(e.seq);
    }
    secs.push_back({"clock", kClockVersion, std::move(o.buf())});
  }
  {
    Out o;
    o.u8(in_turn_ ? 1 : 0);
    o.u64(turn_until_);
    secs.push_back({"run", kRunVersion, std::move(o.buf())});
  }
  for (size_t i = 0; i < disks_.size(); ++i) {
    const devices::DiskImage& d = *disks_[i];
    Out o;
    o.u64(d.sectors());
    o.u32(static_cast<uint32_t>(d.overlay().size()));
    for (const auto& [lba, sector] : d.overlay()) {
      o.u64(lba);
      o.bytes(sector.data(), sector.size());
    }
    secs.push_back({"disk." + std::to_string(cfg_.drives[i].index), kDiskVersion, std::move(o.buf())});
  }
  return encode_file(secs);
}

Machine::Checkpoint Machine::take_checkpoint(const Checkpoint* like) {
  Checkpoint cp;
  cp.state = snapshot_image("checkpoint", false, false);
  const uint8_t* ram = bus_.ram();
  const uint64_t size = bus_.ram_size();
  static const RamPage kZero{};
  const uint64_t count = (size + kPage - 1) / kPage;
  auto pages = std::make_shared<RamPages>(count);
  const RamPages* before = like && like->ram && like->ram->size() == count ? like->ram.get() : nullptr;
  // RAM is `like` but for its dirty pages when `like` is where the marks were cleared.
  const bool marked = before && like->ram == dirty_base_;
  for (uint64_t p = 0; p < count; ++p) {
    const std::shared_ptr<const RamPage>* old = before ? &(*before)[p] : nullptr;
    if (marked && !bus_.dirty(p)) {
      (*pages)[p] = *old;
      continue;
    }
    const uint64_t n = std::min<uint64_t>(kPage, size - p * kPage);
    const uint8_t* q = ram + p * kPage;
    if (old && *old && std::memcmp(q, (*old)->data(), n) == 0) {
      (*pages)[p] = *old;
    } else if (std::memcmp(q, kZero.data(), n) != 0) {
      auto page = std::make_shared<RamPage>();
      std::memcpy(page->data(), q, n);
      (*pages)[p] = std::move(page);
    }
  }
  cp.ram = std::move(pages);
  dirty_base_ = cp.ram;
  mmu_.clear_dirty();
  return cp;
}

void Machine::load_checkpoint(const Checkpoint& cp) {
  load_snapshot_image("checkpoint", cp.state, false, false);
  // RAM after the rest (which cannot fail then). Only the pages that differ are written:
  // with marks, those marked and those the two checkpoints do not share. Code decoded
  // from a page written goes as a guest store into it would make it go.
  uint8_t* ram = bus_.ram();
  const uint64_t size = bus_.ram_size();
  static const RamPage kZero{};
  const RamPages& want = *cp.ram;
  const RamPages* base = dirty_base_ && dirty_base_->size() == want.size() ? dirty_base_.get() : nullptr;
  for (uint64_t p = 0; p < want.size() && p * kPage < size; ++p) {
    if (base && !bus_.dirty(p) && (*base)[p] == want[p]) continue;
    const uint64_t n = std::min<uint64_t>(kPage, size - p * kPage);
    const uint8_t* src = want[p] ? want[p]->data() : kZero.data();
    if (std::memcmp(ram + p * kPage, src, n) == 0) continue;
    std::memcpy(ram + p * kPage, src, n);
    if (mmu_.is_code_page(static_cast<uint32_t>(p)) && mmu_.on_code_write)
      mmu_.on_code_write(static_cast<uint32_t>(p), 0, static_cast<unsigned>(n));
  }
  dirty_base_ = cp.ram;
  mmu_.clear_dirty();
}

void Machine::load_snapshot(const std::string& path) {
  // A recording logs host input against one run's guest time, a replay feeds it back to
  // that run: a machine that jumps elsewhere would be neither.
  if (rr_)
    throw SnapshotError(path + ": cannot load a snapshot while recording or replaying (-icount rr=...)");
  load_snapshot_image(path, read_whole_file(path), true);
}

void Machine::load_snapshot_image(const std::string& path, const std::vector<uint8_t>& image, bool header,
                                  bool with_ram) {
  const std::vector<Section> secs = decode_file(path, image);
  std::map<std::string, const Section*> by_name;
  for (const Section& s : secs) by_name[s.name] = &s;
  auto need = [&](const std::string& name) -> const Section& {
    auto it = by_name.find(name);
    if (it == by_name.end()) throw SnapshotError(path + ": the snapshot has no section " + name);
    return *it->second;
  };

  // Check everything before changing anything.
  if (header) {
    const std::string mismatch =
        header_mismatch(decode_header(path, need("header")), machine_header(*this, vga_rom_path_), cfg_);
    if (!mismatch.empty()) throw SnapshotError(path + ": " + mismatch);
  }
  std::set<std::string> known = {"header", "cpu", "ram", "bus", "clock", "run"};

  const Section& cpu_sec = need("cpu");
  check_version(path, cpu_sec, kCpuVersion);
  cpu::CpuState cpu_state = cpu_.s;
  {
    bus::StateReader r(cpu_sec.payload);
    try {
      r("cpu", cpu_state);
    } catch (const bus::StateError& e) {
      throw SnapshotError(path + ": section cpu: " + e.what());
    }
    if (!r.done()) throw SnapshotError(path + ": section cpu is longer than the CPU state");
  }

  const Section& ram_sec = need("ram");
  check_version(path, ram_sec, kRamVersion);
  const uint64_t size = bus_.ram_size();
  std::vector<std::pair<uint32_t, const uint8_t*>> pages;
  {
    In in(ram_sec.payload.data(), ram_sec.payload.size(), path + ": section ram");
    if (in.u64() != size) in.fail("a different RAM size");
    int64_t last = -1;
    while (!in.done()) {
      const uint32_t p = in.u32();
      if (static_cast<int64_t>(p) <= last || uint64_t{p} * kPage >= size) in.fail("a page number out of order or range");
      last = p;
      pages.emplace_back(p, in.bytes(std::min<uint64_t>(kPage, size - uint64_t{p} * kPage)));
    }
  }

  const Section& bus_sec = need("bus");
  check_version(path, bus_sec, kBusVersion);
  bool a20;
  {
    In in(bus_sec.payload.data(), bus_sec.payload.size(), path + ": section bus");
    const uint8_t b = in.u8();
    if (b > 1 || !in.done()) in.fail("is malformed");
    a20 = b != 0;
  }

  DeviceLoader check{&by_name, path, false};
  visit_devices(check);
  DeviceNamer namer{&known};
  visit_devices(namer);

  const Section& clock_sec = need("clock");
  check_version(path, clock_sec, kClockVersion);
  bus::Clock::Saved clock;
  {
    In in(clock_sec.payload.data(), clock_sec.payload.size(), path + ": section clock");
    clock.idle = in.u64();
    clock.next_seq = in.u64();
    const uint32_t n = in.u32();
    for (uint32_t i = 0; i < n; ++i) {
      bus::Clock::SavedEvent e;
      e.name = in.str16();
      e.when = in.u64();
      e.seq = in.u64();
      clock.events.push_back(std::move(e));
    }
    if (!in.done()) in.fail("longer than its events");
  }

  const Section& run_sec = need("run");
  check_version(path, run_sec, kRunVersion);
  bool in_turn;
  uint64_t turn_until;
  {
    In in(run_sec.payload.data(), run_sec.payload.size(), path + ": section run");
    const uint8_t b = in.u8();
    turn_until = in.u64();
    if (b > 1 || !in.done()) in.fail("is malformed");
    in_turn = b != 0;
  }

  std::vector<std::map<uint64_t, devices::DiskImage::Sector>> overlays(disks_.size());
  for (size_t i = 0; i < disks_.size(); ++i) {
    const std::string name = "disk." + std::to_string(cfg_.drives[i].index);
    known.insert(name);
    const Section& s = need(name);
    check_version(path, s, kDiskVersion);
    In in(s.payload.data(), s.payload.size(), path + ": section " + name);
    if (in.u64() != disks_[i]->sectors()) in.fail("a different disk size");
    const uint32_t n = in.u32();
    if (n && !disks_[i]->snapshot()) in.fail("sectors written to a disk that is not in -snapshot mode");
    for (uint32_t k = 0; k < n; ++k) {
      const uint64_t lba = in.u64();
      if (lba >= disks_[i]->sectors()) in.fail("a sector beyond the disk");
      const uint8_t* p = in.bytes(devices::DiskImage::kSectorSize);
      std::memcpy(overlays[i][lba].data(), p, devices::DiskImage::kSectorSize);
    }
    if (!in.done()) in.fail("longer than its sectors");
  }
  for (const Section& s : secs) {
    if (!known.count(s.name)) throw SnapshotError(path + ": unknown section " + s.name + " (another machine's snapshot?)");
  }

  // Apply. The clock goes first: Clock::load checks the events against this machine's
  // timers before it changes anything, and nothing after it can fail.
  try {
    bus_.clock().load(clock);
  } catch (const bus::StateError& e) {
    throw SnapshotError(path + ": section " + e.what());
  }
  // Decoded and translated code is kept by phys address and code mode, and the JIT checks
  // the privilege it assumed: it holds across a load as across a task switch, but for a
  // change of what CR0 says about paging and protection (as Cpu::set_cr0) and for the
  // pages RAM brings back, which the caller of a load without RAM drops (load_checkpoint).
  const bool code_holds = !with_ram && !((cpu_.s.cr[0] ^ cpu_state.cr[0]) & (cpu::cr0::PE | cpu::cr0::PG | cpu::cr0::WP));
  cpu_.s = cpu_state;
  uint8_t* ram = bus_.ram();
  if (with_ram) {
    size_t next = 0;
    for (uint64_t p = 0; p * kPage < size; ++p) {
      const uint64_t n = std::min<uint64_t>(kPage, size - p * kPage);
      if (next < pages.size() && pages[next].first == p) {
        std::memcpy(ram + p * kPage, pages[next].second, n);
        ++next;
        continue;
      }
      // Untouched pages of the anonymous mapping read as zeros: write only the others.
      const uint8_t* q = ram + p * kPage;
      bool zero = true;
      for (uint64_t k = 0; k < n && zero; k += 8) {
        uint64_t w;
        std::memcpy(&w, q + k, 8);
        zero = w == 0;
      }
      if (!zero) std::memset(ram + p * kPage, 0, n);
    }
    bus_.mark_dirty(0, size);
  }
  bus_.set_a20(a20);
  DeviceLoader load{&by_name, path, true};
  visit_devices(load);
  for (size_t i = 0; i < disks_.size(); ++i) {
    if (disks_[i]->snapshot()) disks_[i]->replace_overlay(std::move(overlays[i]));
  }
  // Derived state: the INTR line, every device's IRQ line and timers. The devices re-arm
  // their timers from their states; the clock's own record then sets every deadline and
  // tie order exactly as saved.
  pic_->post_load();
  pit_->post_load();
  rtc_->post_load();
  kbc_->post_load();
  uart_->post_load();
  for (auto& u : uart_extra_) u->post_load();
  ide_[0]->post_load();
  ide_[1]->post_load();
  bus_.clock().load(clock);
  // The MMU's control from the CRs, no cached translation or decoded block left.
  mmu_.set_control(cpu_.s.cr[0], cpu_.s.cr[3], cpu_.s.cr[4], cpu_.s.msr.efer);
  mmu_.flush_all(mmu::Mmu::FlushCause::Other);
  if (!code_holds) cpu_.flush_code_cache();
  cpu_.update_watches();  // the guest's DR7 data breakpoints, as the loaded DRs say
  cpu_.debug_leave_block();
  deferred_input_.clear();  // host input for the run that was left
  bus_.clear_stop();
  in_turn_ = in_turn;
  turn_until_ = turn_until;
  state_loaded_ = true;
}

std::optional<Machine::RunStep> Machine::snapshot_at_turn_start() {
  if (cfg_.savevm_at_path.empty() || savevm_at_done_ || cpu_.s.icount < cfg_.savevm_at_icount)
    return std::nullopt;
  savevm_at_done_ = true;
  try {
    save_snapshot(cfg_.savevm_at_path);
  } catch (const SnapshotError& e) {
    return finished(1, std::string("popek: -savevm-at: ") + e.what());
  }
  return std::nullopt;
}

void Machine::snapshot_from_console() {
  const std::string path = "popek-" + std::to_string(cpu_.s.icount) + ".snap";
  try {
    save_snapshot(path);
    fprintf(stderr, "popek: snapshot saved to %s\r\n", path.c_str());
  } catch (const SnapshotError& e) {
    fprintf(stderr, "popek: snapshot not saved: %s\r\n", e.what());
  }
}

}  // namespace popek::frontend
