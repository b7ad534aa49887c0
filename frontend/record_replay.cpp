#include "frontend/record_replay.h"

#include <cpuid.h>
#include <unistd.h>

#include <cerrno>
#include <cinttypes>
#include <cstring>
#include <sstream>

#include "bus/state_archive.h"
#include "devices/disk_image.h"
#include "devices/keys.h"

namespace popek::frontend {

namespace {

// Four independent lanes of a multiply-xorshift mix, eight bytes at a time: RAM at memory
// speed (a checkpoint of 256 MiB takes tens of milliseconds).
uint64_t mix_hash(const uint8_t* p, uint64_t n, uint64_t seed = 0) {
  constexpr uint64_t K = 0x9E3779B97F4A7C15ull;
  uint64_t h[4] = {seed ^ 1, seed ^ 2, seed ^ 3, seed ^ 4};
  uint64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    for (int l = 0; l < 4; ++l) {
      uint64_t w;
      std::memcpy(&w, p + i + 8 * l, 8);
      h[l] = (h[l] ^ w) * K;
      h[l] ^= h[l] >> 29;
    }
  }
  uint64_t r = n;
  for (int l = 0; l < 4; ++l) r = (r ^ h[l]) * K;
  for (; i < n; ++i) r = (r ^ p[i]) * 0x100000001B3ull;
  return r ^ (r >> 31);
}

std::string hex64(uint64_t v) {
  char b[17];
  snprintf(b, sizeof b, "%016" PRIx64, v);
  return b;
}

std::string to_hex(const uint8_t* p, size_t n) {
  static const char* d = "0123456789abcdef";
  std::string s(2 * n, '0');
  for (size_t i = 0; i < n; ++i) {
    s[2 * i] = d[p[i] >> 4];
    s[2 * i + 1] = d[p[i] & 15];
  }
  return s;
}

bool from_hex(const std::string& s, std::vector<uint8_t>& out) {
  if (s.size() % 2) return false;
  out.resize(s.size() / 2);
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (v < 0) return false;
    if (i % 2 == 0) out[i / 2] = static_cast<uint8_t>(v << 4);
    else out[i / 2] = static_cast<uint8_t>(out[i / 2] | v);
  }
  return true;
}

// A file's hash, "none" for no file, "unreadable" when it cannot be read. Disk images are
// hashed in 1 MiB pieces with `originals` (sector -> contents) in place of what is there.
std::string hash_file(const std::string& path, const std::map<uint64_t, const std::vector<uint8_t>*>& originals = {}) {
  if (path.empty()) return "none";
  FILE* f = fopen(path.c_str(), "rb");
  if (!f) return "unreadable";
  constexpr size_t kChunk = 1u << 20;
  std::vector<uint8_t> buf(kChunk);
  uint64_t h = 0, off = 0;
  for (;;) {
    const size_t n = fread(buf.data(), 1, kChunk, f);
    if (n == 0) break;
    for (auto it = originals.lower_bound(off / 512); it != originals.end() && it->first * 512 < off + n; ++it) {
      const uint64_t at = it->first * 512 - off;
      std::memcpy(buf.data() + at, it->second->data(), std::min<uint64_t>(512, n - at));
    }
    h = (h ^ mix_hash(buf.data(), n, off)) * 0x9E3779B97F4A7C15ull;
    off += n;
  }
  const bool bad = ferror(f);
  fclose(f);
  if (bad) return "unreadable";
  return hex64(h) + " " + std::to_string(off);
}

// The host CPU facts x87 results may depend on (the transcendental instructions' last
// bit): vendor, family and model.
std::string host_cpu() {
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (!__get_cpuid(0, &a, &b, &c, &d)) return "unknown";
  char vendor[13];
  std::memcpy(vendor, &b, 4);
  std::memcpy(vendor + 4, &d, 4);
  std::memcpy(vendor + 8, &c, 4);
  vendor[12] = 0;
  __get_cpuid(1, &a, &b, &c, &d);
  unsigned family = (a >> 8) & 15, model = (a >> 4) & 15;
  if (family == 15) family += (a >> 20) & 0xFF;
  if (family == 6 || family >= 15) model |= ((a >> 16) & 15) << 4;
  return std::string(vendor) + " family " + std::to_string(family) + " model " + std::to_string(model);
}

// Every scalar of a state with its path ("seg.selector#1"), for naming what differs.
class FieldLister {
 public:
  template <class T>
  void operator()(const char* name, T& field) {
    const size_t len = path_.size();
    if (!path_.empty()) path_ += '.';
    path_ += name;
    bus::archive_detail::walk(*this, name, field);
    path_.resize(len);
  }
  void scalar(const char*, uint8_t* b, size_t n) {
    const unsigned k = seen_[path_]++;
    uint64_t v = 0;
    for (size_t i = 0; i < n && i < 8; ++i) v |= static_cast<uint64_t>(b[i]) << (8 * i);
    fields.push_back({path_, k, v, static_cast<unsigned>(n)});
  }
  template <class Vec>
  void resize(const char*, Vec&, uint32_t) {}
  [[noreturn]] void fail(const char* name, const char* what) {
    throw bus::StateError(std::string("listing ") + name + ": " + what);
  }
  struct Field {
    std::string path;
    unsigned index;
    uint64_t value;
    unsigned size;
  };
  std::vector<Field> fields;

 private:
  std::string path_;
  std::map<std::string, unsigned> seen_;
};

// A CPU field's name for a person: EAX, CS.selector, cr[3], fpu.r#2...
std::string cpu_field_name(const FieldLister::Field& f) {
  static const char* kGpr[] = {"EAX", "ECX", "EDX", "EBX", "ESP", "EBP", "ESI", "EDI"};
  static const char* kSeg[] = {"ES", "CS", "SS", "DS", "FS", "GS"};
  const std::string p = f.path.substr(f.path.find('.') + 1);  // without "cpu."
  if (p == "gpr" && f.index < 8) return kGpr[f.index];
  if (p == "eip") return "EIP";
  if (p == "eflags") return "EFLAGS";
  if (p.rfind("seg.", 0) == 0 && f.index < 6) return std::string(kSeg[f.index]) + p.substr(3);
  if (p == "cr" || p == "dr") return (p == "cr" ? "CR" : "DR") + std::to_string(f.index);
  return f.index ? p + "#" + std::to_string(f.index) : p;
}

std::string checkpoint_line(char kind, const RrCheckpoint& c) {
  std::string s(1, kind);
  s += " " + std::to_string(c.icount) + " " + std::to_string(c.idle) + " " + to_hex(c.cpu.data(), c.cpu.size()) + " " +
       hex64(c.ram);
  for (const auto& [name, h] : c.devices) s += " " + name + "=" + hex64(h);
  return s;
}

bool parse_u64(const std::string& s, uint64_t& v, int base = 10) {
  if (s.empty() || s.size() > 20) return false;
  char* end = nullptr;
  errno = 0;
  v = std::strtoull(s.c_str(), &end, base);
  return !errno && end && !*end && s[0] != '-' && s[0] != '+';
}

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> w;
  std::istringstream in(s);
  std::string t;
  while (in >> t) w.push_back(t);
  return w;
}

// A state's hash: FNV-1a over small fields, mix_hash over byte buffers (video memory
// would cost a checkpoint milliseconds byte by byte).
class FastHasher {
 public:
  template <class T>
  void operator()(const char* name, T& field) { bus::archive_detail::walk(*this, name, field); }
  uint64_t value() const { return h_; }
  void scalar(const char*, uint8_t* b, size_t n) {
    if (n >= 256) {
      h_ = (h_ ^ mix_hash(b, n)) * 0x100000001B3ull;
      return;
    }
    for (size_t i = 0; i < n; ++i) h_ = (h_ ^ b[i]) * 0x100000001B3ull;
  }
  template <class Vec>
  void resize(const char*, Vec&, uint32_t) {}
  [[noreturn]] void fail(const char* name, const char* what) {
    throw bus::StateError(std::string("hashing ") + name + ": " + what);
  }

 private:
  uint64_t h_ = 0xCBF29CE484222325ull;
};

// Each device state's hash under its name (a second "com" is "com2").
struct DeviceHashes {
  std::vector<std::pair<std::string, uint64_t>>& out;
  std::map<std::string, unsigned>& seen;
  template <class T>
  void operator()(const char* name, T& state) {
    FastHasher h;
    h(name, state);
    const unsigned k = seen[name]++;
    out.emplace_back(k ? std::string(name) + std::to_string(k + 1) : std::string(name), h.value());
  }
};

}  // namespace

// ------------------------------------------------------------------ header, checkpoints

RrHeader rr_header(const MachineConfig& cfg,
                   const std::map<std::pair<unsigned, uint64_t>, std::vector<uint8_t>>& disk_originals) {
  RrHeader h;
  auto add = [&h](const std::string& k, const std::string& v) { h.emplace_back(k, v); };
  add("ram", std::to_string(cfg.ram_size));
  add("kernel", hash_file(cfg.kernel_path));
  add("initrd", hash_file(cfg.initrd_path));
  add("append", cfg.append.empty() ? "-" : cfg.append);
  add("bios", hash_file(cfg.bios_path));
  add("vga", cfg.vga ? "std" : "none");
  if (cfg.vga && !cfg.bios_path.empty()) {
    add("vga-bios", hash_file(cfg.vga_bios_path));
    add("isa-vga-bios", hash_file(cfg.isa_vga_bios_path));
  }
  add("boot", cfg.boot_order);
  add("nographic", cfg.display == "none" && cfg.vnc.empty() ? "1" : "0");
  add("com-ports", std::to_string(1 + cfg.serial_extra.size()));
  add("debugcon-iobase", std::to_string(cfg.debugcon_iobase));
  add("debug-exit", std::to_string(cfg.debug_exit_iobase) + " " + std::to_string(cfg.debug_exit_iosize));
  add("no-reboot", cfg.no_reboot ? "1" : "0");
  add("icount-shift", std::to_string(cfg.icount_shift));
  for (size_t i = 0; i < cfg.drives.size(); ++i) {
    std::map<uint64_t, const std::vector<uint8_t>*> orig;
    for (const auto& [key, data] : disk_originals)
      if (key.first == i) orig[key.second] = &data;
    const DriveConfig& d = cfg.drives[i];
    add("drive" + std::to_string(i), "index " + std::to_string(d.index) + (d.readonly ? " readonly " : " rw ") +
                                         hash_file(d.path, orig));
  }
  add("host-cpu", host_cpu());
  return h;
}

RrCheckpoint rr_checkpoint(Machine& m) {
  RrCheckpoint c;
  c.icount = m.cpu().s.icount;
  c.idle = m.bus().clock().idle_instructions();
  bus::StateWriter w;
  w("cpu", m.cpu().s);
  c.cpu = w.bytes();
  c.ram = mix_hash(m.bus().ram(), m.bus().ram_size());
  std::map<std::string, unsigned> seen;
  DeviceHashes v{c.devices, seen};
  m.visit_devices(v);
  bool a20 = m.bus().a20();
  uint64_t idle = c.idle;
  v("a20", a20);
  v("idle", idle);
  return c;
}

std::string rr_compare(const RrCheckpoint& want, const RrCheckpoint& got) {
  std::string out;
  if (want.cpu != got.cpu) {
    cpu::CpuState a{}, b{};
    FieldLister la, lb;
    try {
      bus::StateReader ra(want.cpu), rb(got.cpu);
      ra("cpu", a);
      rb("cpu", b);
      la("cpu", a);
      lb("cpu", b);
    } catch (const bus::StateError& e) {
      out += "  CPU: the recorded state cannot be read (" + std::string(e.what()) + ")\n";
    }
    for (size_t i = 0; i < la.fields.size() && i < lb.fields.size(); ++i) {
      const auto& fa = la.fields[i];
      const auto& fb = lb.fields[i];
      if (fa.value == fb.value) continue;
      char line[200];
      const int w = static_cast<int>(2 * fa.size);
      snprintf(line, sizeof line, "  CPU %-16s recorded %0*" PRIx64 "  replayed %0*" PRIx64 "\n", cpu_field_name(fa).c_str(),
               w, fa.value, w, fb.value);
      out += line;
    }
    if (out.empty()) out += "  CPU: the state differs\n";
  }
  if (want.ram != got.ram) out += "  RAM differs (hash recorded " + hex64(want.ram) + ", replayed " + hex64(got.ram) + ")\n";
  std::string devs;
  for (size_t i = 0; i < want.devices.size() || i < got.devices.size(); ++i) {
    if (i < want.devices.size() && i < got.devices.size() && want.devices[i] == got.devices[i]) continue;
    const auto& d = i < want.devices.size() ? want.devices[i] : got.devices[i];
    devs += (devs.empty() ? "" : ", ") + d.first;
  }
  if (!devs.empty()) out += "  devices differ: " + devs + "\n";
  return out;
}

// ------------------------------------------------------------------ setting up

RecordReplay::RecordReplay(const MachineConfig& cfg)
    : mode_(cfg.rr_mode == RrMode::Replay ? Mode::Replay : Mode::Record), path_(cfg.rr_file) {
  if (mode_ == Mode::Record) {
    header_ = rr_header(cfg);
    check_ = cfg.rr_check ? cfg.rr_check : kDefaultCheck;
  } else {
    parse_log(cfg);
  }
  next_check_ = check_;
}

RecordReplay::~RecordReplay() {
  if (out_) fclose(out_);
}

int64_t RecordReplay::rtc_start(const MachineConfig& cfg) {
  if (mode_ == Mode::Record) rtc_ = rtc_start_time(cfg);
  return rtc_;
}

void RecordReplay::attach_serial(size_t com, devices::CharBackend& backend) {
  if (com >= serial_.size()) return;
  if (!serial_[com]) serial_[com] = std::make_unique<SerialChannel>(*this, com);
  serial_[com]->backend = &backend;
  // Both modes answer through the log: record asks the host itself past the frontier.
  backend.replay = serial_[com].get();
}

void RecordReplay::attach_disk(size_t index, devices::DiskImage& disk) {
  if (disks_.size() <= index) disks_.resize(index + 1);
  disks_[index] = &disk;
  if (mode_ == Mode::Replay) {
    for (const auto& [key, data] : disk_originals_)
      if (key.first == index) disk.preload(key.second, data.data());
    return;
  }
  disk.before_write = [this, index, &disk](uint64_t lba, unsigned count) {
    for (unsigned i = 0; i < count; ++i) {
      auto [it, fresh] = disk_originals_.try_emplace({static_cast<unsigned>(index), lba + i});
      if (!fresh) continue;
      it->second.resize(devices::DiskImage::kSectorSize);
      if (!disk.read(lba + i, it->second.data())) continue;
      write_line("D " + std::to_string(index) + " " + std::to_string(lba + i) + " " +
                 to_hex(it->second.data(), it->second.size()));
    }
  };
}

void RecordReplay::start(Machine& m) {
  m_ = &m;
  if (mode_ != Mode::Record) return;
  out_ = fopen(path_.c_str(), "w");
  if (!out_) throw RrError("-icount rrfile=" + path_ + ": cannot create: " + strerror(errno));
  std::string head = "popek-rr 1\n";
  for (const auto& [k, v] : header_) head += "cfg " + k + " " + v + "\n";
  head += "rtc " + std::to_string(rtc_) + "\ncheck " + std::to_string(check_) + "\nbegin\n";
  fputs(head.c_str(), out_);
  head_bytes_ = head.size();
  fputs(pending_.c_str(), out_);
  pending_.clear();
}

RecordReplay::Point RecordReplay::now() const {
  if (!m_) return {};
  return {m_->cpu().s.icount, m_->bus().clock().idle_instructions()};
}

void RecordReplay::write_line(const std::string& line) {
  if (mode_ != Mode::Record) return;
  body_bytes_ += line.size() + 1;
  if (!out_) {
    pending_ += line + "\n";
    return;
  }
  fputs(line.c_str(), out_);
  fputc('\n', out_);
}

// ------------------------------------------------------------------ reading a log

void RecordReplay::parse_log(const MachineConfig& cfg) {
  const std::string what = "-icount rrfile=" + path_ + ": ";
  FILE* f = fopen(path_.c_str(), "rb");
  if (!f) throw RrError(what + "cannot open: " + strerror(errno));
  std::string text;
  char buf[1 << 16];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) text.append(buf, n);
  fclose(f);
  if (text.find('\0') != std::string::npos) throw RrError(what + "not a popek record/replay log (binary data)");
  size_t line_no = 0, pos = 0;
  auto fail = [&](const std::string& why) -> RrError {
    return RrError(what + "line " + std::to_string(line_no) + ": " + why);
  };
  enum { Magic, Header, Body, Ended, Done } stage = Magic;
  bool have_rtc = false, have_check = false;
  RrHeader recorded;
  auto point = [&](const std::vector<std::string>& w, Point& p) {
    if (w.size() < 3 || !parse_u64(w[1], p.icount) || !parse_u64(w[2], p.idle)) throw fail("bad instruction count");
  };
  auto checkpoint = [&](const std::vector<std::string>& w) {
    RrCheckpoint c;
    Point p;
    point(w, p);
    c.icount = p.icount;
    c.idle = p.idle;
    if (w.size() < 5 || !from_hex(w[3], c.cpu) || c.cpu.empty() || !parse_u64(w[4], c.ram, 16))
      throw fail("bad checkpoint");
    for (size_t i = 5; i < w.size(); ++i) {
      const size_t eq = w[i].find('=');
      uint64_t h;
      if (eq == std::string::npos || !parse_u64(w[i].substr(eq + 1), h, 16)) throw fail("bad device hash '" + w[i] + "'");
      c.devices.emplace_back(w[i].substr(0, eq), h);
    }
    return c;
  };
  Point last{};
  auto in_order = [&](const Point& p) {
    if (p < last) throw fail("records out of order");
    last = p;
  };
  while (pos < text.size()) {
    const size_t nl = text.find('\n', pos);
    ++line_no;
    if (nl == std::string::npos) throw fail("truncated (the last line is incomplete)");
    const std::string line = text.substr(pos, nl - pos);
    pos = nl + 1;
    const std::vector<std::string> w = split(line);
    if (w.empty()) throw fail("empty line");
    const std::string& k = w[0];
    if (stage == Magic) {
      if (line != "popek-rr 1") throw fail("not a popek record/replay log (version 1)");
      stage = Header;
    } else if (stage == Header) {
      if (k == "cfg" && w.size() >= 3) {
        recorded.emplace_back(w[1], line.substr(line.find(w[1], 4) + w[1].size() + 1));
      } else if (k == "rtc" && w.size() == 2) {
        char* end = nullptr;
        errno = 0;
        rtc_ = std::strtoll(w[1].c_str(), &end, 10);
        if (errno || *end) throw fail("bad RTC time");
        have_rtc = true;
      } else if (k == "check" && w.size() == 2) {
        if (!parse_u64(w[1], check_) || !check_) throw fail("bad checkpoint interval");
        have_check = true;
      } else if (k == "begin" && w.size() == 1) {
        if (!have_rtc || !have_check) throw fail("the header lacks rtc or check");
        stage = Body;
      } else {
        throw fail("unexpected header line");
      }
    } else if (stage == Body) {
      if (k == "S") {
        SerialEntry e;
        uint64_t sub, com, v;
        point(w, e.at);
        if (w.size() != 7 || !parse_u64(w[3], sub) || sub > UINT32_MAX || !parse_u64(w[4], com) || com >= 4 ||
            (w[5] != "take" && w[5] != "open") || !parse_u64(w[6], v) || v > (w[5] == "open" ? 1u : 255u))
          throw fail("bad serial input record");
        in_order(e.at);
        e.sub = static_cast<uint32_t>(sub);
        e.open = w[5] == "open";
        e.byte = static_cast<uint8_t>(v);
        if (!serial_[com]) serial_[com] = std::make_unique<SerialChannel>(*this, com);
        serial_[com]->entries.push_back(e);
      } else if (k == "I") {
        InputEntry e;
        point(w, e.at);
        if (w.size() < 5 || (w[3] != "0" && w[3] != "1")) throw fail("bad input record");
        in_order(e.at);
        e.in_turn = w[3] == "1";
        e.kind = w[4];
        e.args.assign(w.begin() + 5, w.end());
        e.line = line_no;
        uint64_t v;
        if (e.kind == "key") {
          if (e.args.size() != 2 || !devices::find_key(e.args[0]) || (e.args[1] != "0" && e.args[1] != "1"))
            throw fail("bad key record");
        } else if (e.kind == "mouse") {
          if (e.args.size() != 4) throw fail("bad mouse record");
          for (const std::string& a : e.args) {
            char* end = nullptr;
            errno = 0;
            const long x = std::strtol(a.c_str(), &end, 10);
            if (errno || *end || a.empty() || x < -65536 || x > 65536) throw fail("bad mouse record");
          }
          if (!parse_u64(e.args[3], v) || v > 7) throw fail("bad mouse record");
        } else if (e.kind != "reset") {
          throw fail("unknown input '" + e.kind + "'");
        }
        inputs_.push_back(std::move(e));
      } else if (k == "D") {
        uint64_t disk, lba;
        std::vector<uint8_t> data;
        if (w.size() != 4 || !parse_u64(w[1], disk) || disk >= cfg.drives.size() || !parse_u64(w[2], lba) ||
            !from_hex(w[3], data) || data.size() != devices::DiskImage::kSectorSize)
          throw fail("bad disk sector record");
        disk_originals_[{static_cast<unsigned>(disk), lba}] = std::move(data);
      } else if (k == "C") {
        RrCheckpoint c = checkpoint(w);
        in_order({c.icount, c.idle});
        checks_.push_back({std::move(c), 0});
      } else if (k == "E") {
        uint64_t status, host;
        point(w, end_.at);
        if (w.size() < 6 || !parse_u64(w[3], status) || status > 255 || !parse_u64(w[4], host) || host > 1)
          throw fail("bad end record");
        in_order(end_.at);
        end_.status = static_cast<int>(status);
        end_.host = host != 0;
        end_.why = w[5];
        const size_t at = line.find(w[5], 2);
        end_.message = line.size() > at + w[5].size() + 1 ? line.substr(at + w[5].size() + 1) : "";
        stage = Ended;
      } else {
        throw fail("unknown record '" + k + "'");
      }
    } else if (stage == Ended) {
      if (k != "F") throw fail("the end record must be followed by the final state");
      final_ = checkpoint(w);
      if (Point{final_.icount, final_.idle} != end_.at) throw fail("the final state is not where the run ended");
      stage = Done;
    } else {
      throw fail("records after the final state");
    }
  }
  if (stage != Done) throw RrError(what + "truncated (the recording's end is missing)");
  // What must not change.
  const RrHeader now = rr_header(cfg, disk_originals_);
  for (const auto& [k, v] : recorded) {
    std::string have = "(nothing)";
    for (const auto& [k2, v2] : now)
      if (k2 == k) have = v2;
    if (have != v) throw RrError(what + "recorded with " + k + " " + v + "; this run has " + have);
  }
  for (const auto& [k, v] : now) {
    bool found = false;
    for (const auto& r : recorded) found = found || r.first == k;
    if (!found) throw RrError(what + "recorded without " + k + "; this run has " + k + " " + v);
  }
}

// ------------------------------------------------------------------ serial input

uint32_t RecordReplay::SerialChannel::next_sub() {
  const Point p = rr_.now();
  if (p != last_) {
    last_ = p;
    sub_ = 0;
  }
  return sub_++;
}

// Questions come in the order of guest time, and a run asks the same ones again after a
// rewind: one past the last the host answered is new. (Behind the run's frontier none
// can be; one that is anyway, because the run strayed, gets the log's answer: none.)
bool RecordReplay::SerialChannel::new_question(uint32_t sub) const {
  if (rr_.mode_ != Mode::Record) return false;
  if (last_ < reach_at_ || (last_ == reach_at_ && sub < reach_sub_)) return false;
  return last_ >= rr_.frontier_;
}

void RecordReplay::SerialChannel::log(uint32_t sub, bool open, uint8_t byte) {
  entries.push_back({last_, sub, open, byte, rr_.body_bytes_});
  next = entries.size();
  rr_.write_line("S " + std::to_string(last_.icount) + " " + std::to_string(last_.idle) + " " + std::to_string(sub) +
                 " " + std::to_string(com_) + (open ? " open " : " take ") + std::to_string(byte));
}

void RecordReplay::SerialChannel::load(const RrCursor::Channel& c) {
  next = c.next;
  last_ = c.last;
  sub_ = c.sub;
  open_ = c.open;
}

bool RecordReplay::SerialChannel::replay_take(uint8_t& byte) {
  const uint32_t sub = next_sub();
  if (new_question(sub)) {
    reach_at_ = last_;
    reach_sub_ = sub + 1;
    const bool got = backend->take_host(byte);
    if (got) log(sub, false, byte);
    return got;
  }
  if (next == entries.size()) return false;
  const SerialEntry& e = entries[next];
  if (e.at < last_ || (e.at == last_ && e.sub < sub)) {
    rr_.diverge("COM" + std::to_string(com_ + 1) + "'s input recorded at instruction " + std::to_string(e.at.icount) +
                " was not asked for at that point");
    return false;
  }
  if (e.at != last_ || e.sub != sub) return false;
  if (e.open) {
    rr_.diverge("COM" + std::to_string(com_ + 1) + " asked for a byte at instruction " + std::to_string(e.at.icount) +
                " where the recording asked whether input is open");
    return false;
  }
  byte = e.byte;
  ++next;
  return true;
}

bool RecordReplay::SerialChannel::replay_open() {
  const uint32_t sub = next_sub();
  if (new_question(sub)) {
    reach_at_ = last_;
    reach_sub_ = sub + 1;
    const bool open = backend->host_open();
    if (open_ != static_cast<int>(open)) {
      open_ = open;
      log(sub, true, open ? 1 : 0);
    }
    return open;
  }
  if (next < entries.size()) {
    const SerialEntry& e = entries[next];
    if (e.at < last_ || (e.at == last_ && e.sub < sub)) {
      rr_.diverge("COM" + std::to_string(com_ + 1) + "'s input recorded at instruction " +
                  std::to_string(e.at.icount) + " was not asked for at that point");
    } else if (e.at == last_ && e.sub == sub) {
      if (!e.open) {
        rr_.diverge("COM" + std::to_string(com_ + 1) + " asked whether input is open at instruction " +
                    std::to_string(e.at.icount) + " where the recording took a byte");
      } else {
        open_ = e.byte;
        ++next;
      }
    }
  }
  return open_ == 1;
}

// ------------------------------------------------------------------ the run

std::string RecordReplay::report(const std::string& what) const {
  const Point p = now();
  std::string r = (mode_ == Mode::Replay ? "popek: replay of " + path_
                                         : "popek: the run through the history recorded in " + path_) +
                  " diverged at instruction " + std::to_string(p.icount);
  if (p.idle) r += " (idle " + std::to_string(p.idle) + ")";
  r += ": " + what;
  if (r.back() == '\n') r.pop_back();
  r += "\npopek: the last checkpoint that matched: ";
  r += have_match_ ? "instruction " + std::to_string(last_match_) : std::string("none (the run diverged before the first)");
  return r;
}

void RecordReplay::diverge(const std::string& what) {
  if (!divergence_.empty()) return;
  divergence_ = report(what);
  if (m_) m_->bus().request_stop(bus::StopReason::Fatal, 0, "replay diverged");
}

void RecordReplay::note_ignored(const char* what) {
  if (mode_ == Mode::Record) {
    if (said_behind_) return;
    said_behind_ = true;
    fprintf(stderr, "popek: recording %s: %s from the host is ignored while the run goes through history "
                    "already recorded\n", path_.c_str(), what);
    return;
  }
  if (said_ignored_) return;
  said_ignored_ = true;
  fprintf(stderr, "popek: replaying %s: %s from the host is ignored\n", path_.c_str(), what);
}

void RecordReplay::apply(Machine& m, const InputEntry& e) {
  if (e.kind == "key") {
    devices::send_key(m.kbc(), *devices::find_key(e.args[0]), e.args[1] == "1");
  } else if (e.kind == "mouse") {
    m.kbc().mouse_event(std::stoi(e.args[0]), std::stoi(e.args[1]), std::stoi(e.args[2]),
                        static_cast<unsigned>(std::stoul(e.args[3])));
  } else if (e.kind == "reset") {
    std::string why;
    for (const std::string& a : e.args) why += (why.empty() ? "" : " ") + a;
    m.bus().request_stop(bus::StopReason::Reset, 0, why);
  }
}

std::optional<Machine::RunStep> RecordReplay::before_step(Machine& m, bool in_turn) {
  m_ = &m;
  const Point p = now();
  if (mode_ == Mode::Replay) {
    // Live serial input is not fed (the log is): say so once.
    for (const auto& s : serial_)
      if (s && s->backend && s->backend->input_ready()) note_ignored("serial input");
  }
  // The recorded input due here (record: behind the frontier, after a rewind).
  auto key = [](const Point& at, bool turn) { return std::make_tuple(at.icount, at.idle, turn ? 0 : 1); };
  while (divergence_.empty() && next_input_ < inputs_.size()) {
    const InputEntry& e = inputs_[next_input_];
    if (key(e.at, e.in_turn) < key(p, in_turn)) {
      diverge("the recording's input " + (e.line ? "on line " + std::to_string(e.line) + " " : std::string()) + "(" +
              e.kind + ") at instruction " + std::to_string(e.at.icount) + " was not reached at the same point");
      break;
    }
    if (key(e.at, e.in_turn) != key(p, in_turn)) break;
    apply(m, e);
    ++next_input_;
  }
  if (mode_ == Mode::Replay && divergence_.empty() && end_.at < p)
    diverge("the recording ended at instruction " + std::to_string(end_.at.icount) + " (" + end_.why +
            "), the replay went on");
  Machine::RunStep r;
  r.done = true;
  if (!divergence_.empty()) {
    r.status = kDiverged;
    return r;
  }
  if (mode_ == Mode::Replay && p == end_.at && end_.host) {
    r.status = end_.status;
    r.host = true;
    r.message = end_.message;
    ended_by_log_ = true;
    return r;
  }
  return std::nullopt;
}

uint64_t RecordReplay::stop_at(uint64_t icount) const {
  uint64_t at = UINT64_MAX;
  if (next_input_ < inputs_.size() && inputs_[next_input_].at.icount > icount) at = inputs_[next_input_].at.icount;
  if (mode_ == Mode::Replay && end_.at.icount > icount) at = std::min(at, end_.at.icount);
  return at;
}

// A checkpoint the run passes again after a rewind is compared again (record: with the
// one kept in memory): a travel through history that strays from the run is reported as
// a replay's divergence is, at the cost of hashing RAM once more.
std::optional<Machine::RunStep> RecordReplay::turn_start(Machine& m) {
  m_ = &m;
  const uint64_t icount = m.cpu().s.icount;
  if (icount < next_check_) return std::nullopt;
  next_check_ = (icount / check_ + 1) * check_;
  ++checkpoints_;
  RrCheckpoint c = rr_checkpoint(m);
  if (mode_ == Mode::Record && next_check_index_ == checks_.size() && now() >= frontier_) {
    const uint64_t pos = body_bytes_;
    write_line(checkpoint_line('C', c));
    last_match_ = c.icount;  // (for a re-run's report: the last it can match)
    have_match_ = true;
    checks_.push_back({std::move(c), pos});
    next_check_index_ = checks_.size();
    return std::nullopt;
  }
  if (next_check_index_ == checks_.size()) {
    diverge("the recording has no checkpoint here (its last was before)");
  } else if (const RrCheckpoint& want = checks_[next_check_index_].state;
             want.icount != c.icount || want.idle != c.idle) {
    diverge("a checkpoint was due here; the recording's next is at instruction " + std::to_string(want.icount));
  } else {
    const std::string diff = rr_compare(want, c);
    if (!diff.empty()) diverge("the state differs from the recording's checkpoint:\n" + diff);
    else {
      last_match_ = c.icount;
      have_match_ = true;
      ++next_check_index_;
    }
  }
  if (divergence_.empty()) return std::nullopt;
  Machine::RunStep r;
  r.done = true;
  r.status = kDiverged;
  return r;
}

void RecordReplay::finish(Machine& m, Machine::RunStep& r) {
  m_ = &m;
  const Point p = now();
  if (mode_ == Mode::Record) {
    if (!out_) return;
    cut_log();
    const char* why = !r.host ? "guest" : r.status >= 128 ? "signal" : "quit";
    std::string msg = r.message;
    for (char& ch : msg)
      if (ch == '\n') ch = ' ';
    write_line("E " + std::to_string(p.icount) + " " + std::to_string(p.idle) + " " + std::to_string(r.status & 0xFF) +
               " " + (r.host ? "1 " : "0 ") + why + (msg.empty() ? "" : " " + msg));
    write_line(checkpoint_line('F', rr_checkpoint(m)));
    fclose(out_);
    out_ = nullptr;
    if (!divergence_.empty()) {
      r.status = kDiverged;
      r.host = false;
      r.message = divergence_;
    }
    return;
  }
  if (divergence_.empty()) {
    if (r.host && !ended_by_log_) {
      r.message = "popek: replay of " + path_ + " interrupted at instruction " + std::to_string(p.icount) +
                  " (the recording ends at " + std::to_string(end_.at.icount) + ")";
      return;
    }
    if (p != end_.at || (r.status & 0xFF) != end_.status) {
      divergence_ = report("the run ended with status " + std::to_string(r.status & 0xFF) + "; the recording ended at instruction " +
                           std::to_string(end_.at.icount) + " with status " + std::to_string(end_.status) + " (" +
                           end_.why + ")");
    } else {
      std::string left;
      for (const auto& s : serial_)
        if (s && s->next < s->entries.size())
          left = "serial input recorded at instruction " + std::to_string(s->entries[s->next].at.icount);
      if (next_input_ < inputs_.size()) left = "input recorded at instruction " + std::to_string(inputs_[next_input_].at.icount);
      if (next_check_index_ < checks_.size())
        left = "the checkpoint at instruction " + std::to_string(checks_[next_check_index_].state.icount);
      const std::string diff = rr_compare(final_, rr_checkpoint(m));
      if (!diff.empty()) divergence_ = report("the final state differs from the recording's:\n" + diff);
      else if (!left.empty()) divergence_ = report("the run ended before " + left + " was reached");
    }
  }
  if (!divergence_.empty()) {
    r.status = kDiverged;
    r.host = false;
    r.message = divergence_;
  }
}

// The records not reached yet start where the first of them starts (the log is in the
// order of guest time): the file ends there. What the disks' originals past it say is
// lost with them, which is right, the present has not written those sectors yet.
void RecordReplay::cut_log() {
  uint64_t cut = UINT64_MAX;
  for (const auto& s : serial_)
    if (s && s->next < s->entries.size()) cut = std::min(cut, s->entries[s->next].pos);
  if (next_input_ < inputs_.size()) cut = std::min(cut, inputs_[next_input_].pos);
  if (next_check_index_ < checks_.size()) cut = std::min(cut, checks_[next_check_index_].pos);
  if (cut == UINT64_MAX) return;
  fflush(out_);
  if (ftruncate(fileno(out_), static_cast<off_t>(head_bytes_ + cut)) != 0 || fseek(out_, 0, SEEK_END) != 0)
    fprintf(stderr, "popek: -icount rrfile=%s: cannot cut the log at the present: %s\n", path_.c_str(), strerror(errno));
  body_bytes_ = cut;
}

bool RecordReplay::host_key(Machine&, const devices::KeyCodes& key, bool down, bool in_turn) {
  if (mode_ == Mode::Replay || !at_frontier()) {
    note_ignored("keyboard input");
    return false;
  }
  record_input(in_turn, "key", {key.name, down ? "1" : "0"});
  return true;
}

bool RecordReplay::host_mouse(Machine&, int dx, int dy, int dz, unsigned buttons, bool in_turn) {
  if (mode_ == Mode::Replay || !at_frontier()) {
    note_ignored("mouse input");
    return false;
  }
  record_input(in_turn, "mouse", {std::to_string(dx), std::to_string(dy), std::to_string(dz), std::to_string(buttons)});
  return true;
}

bool RecordReplay::host_reset(Machine&, const std::string& why, bool in_turn) {
  if (mode_ == Mode::Replay || !at_frontier()) {
    note_ignored("a reset");
    return false;
  }
  std::string text = why;
  for (char& ch : text)
    if (ch == '\n') ch = ' ';
  record_input(in_turn, "reset", split(text));
  return true;
}

void RecordReplay::record_input(bool in_turn, const std::string& kind, std::vector<std::string> args) {
  InputEntry e;
  e.at = now();
  e.in_turn = in_turn;
  e.kind = kind;
  e.pos = body_bytes_;
  std::string line = "I " + std::to_string(e.at.icount) + " " + std::to_string(e.at.idle) + (in_turn ? " 1 " : " 0 ") + kind;
  for (const std::string& a : args) line += " " + a;
  e.args = std::move(args);
  write_line(line);
  inputs_.push_back(std::move(e));
  next_input_ = inputs_.size();
}

// ------------------------------------------------------------------ reverse debugging

RrCursor RecordReplay::cursor() const {
  RrCursor c;
  for (size_t i = 0; i < serial_.size(); ++i)
    if (serial_[i]) serial_[i]->save(c.serial[i]);
  c.input = next_input_;
  c.check = next_check_index_;
  c.next_check = next_check_;
  c.checkpoints = checkpoints_;
  c.last_match = last_match_;
  c.have_match = have_match_;
  return c;
}

void RecordReplay::leave_present() {
  if (mode_ == Mode::Record) frontier_ = std::max(frontier_, now());
}

void RecordReplay::rewind(const RrCursor& c) {
  for (size_t i = 0; i < serial_.size(); ++i)
    if (serial_[i]) serial_[i]->load(c.serial[i]);
  next_input_ = c.input;
  next_check_index_ = c.check;
  next_check_ = c.next_check;
  checkpoints_ = c.checkpoints;
  last_match_ = c.last_match;
  have_match_ = c.have_match;
}

}  // namespace popek::frontend
