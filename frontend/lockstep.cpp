#include "frontend/lockstep.h"

#include <cinttypes>
#include <cstddef>
#include <cstring>

#include "cpu/block_cache.h"

namespace popek::frontend {

namespace {

// One compared field of CpuState. Groups: the first four are always shown in a report,
// the others only when one of their fields differs.
enum class Group : uint8_t { Core, Segments, Control, Exception, Tables, Debug, Msrs, Fpu };

struct Field {
  std::string name;
  size_t offset;
  uint8_t size;
  Group group;
  bool if_pending = false;  // compared only while an exception is pending on either side
};

std::vector<Field> make_fields() {
  using cpu::CpuState;
  std::vector<Field> f;
  auto add = [&f](std::string name, size_t off, size_t size, Group g, bool if_pending = false) {
    f.push_back({std::move(name), off, static_cast<uint8_t>(size), g, if_pending});
  };
  static const char* const kGpr[] = {"EAX", "ECX", "EDX", "EBX", "ESP", "EBP", "ESI", "EDI"};
  for (unsigned i = 0; i < 8; ++i) add(kGpr[i], offsetof(CpuState, gpr) + 4 * i, 4, Group::Core);
  add("EIP", offsetof(CpuState, eip), 4, Group::Core);
  add("EFLAGS", offsetof(CpuState, eflags), 4, Group::Core);
  add("icount", offsetof(CpuState, icount), 8, Group::Core);
  add("CPL", offsetof(CpuState, cpl), 1, Group::Core);
  add("halted", offsetof(CpuState, halted), 1, Group::Core);
  add("irq_shadow", offsetof(CpuState, irq_shadow), 1, Group::Core);
  auto add_cache = [&add](const std::string& name, size_t off, Group g) {
    using cpu::SegmentCache;
    add(name + ".sel", off + offsetof(SegmentCache, selector), 2, g);
    add(name + ".attr", off + offsetof(SegmentCache, attr), 2, g);
    add(name + ".base", off + offsetof(SegmentCache, base), 4, g);
    add(name + ".limit", off + offsetof(SegmentCache, limit), 4, g);
    add(name + ".valid", off + offsetof(SegmentCache, valid), 4, g);
  };
  static const char* const kSeg[] = {"ES", "CS", "SS", "DS", "FS", "GS"};
  for (unsigned i = 0; i < cpu::kNumSegRegs; ++i)
    add_cache(kSeg[i], offsetof(CpuState, seg) + sizeof(cpu::SegmentCache) * i, Group::Segments);
  for (unsigned i : {0u, 2u, 3u, 4u})
    add("CR" + std::to_string(i), offsetof(CpuState, cr) + 4 * i, 4, Group::Control);
  add("exc.pending", offsetof(CpuState, exc) + offsetof(cpu::PendingException, pending), 1,
      Group::Exception);
  add("exc.vector", offsetof(CpuState, exc) + offsetof(cpu::PendingException, vector), 1,
      Group::Exception, true);
  add("exc.has_error", offsetof(CpuState, exc) + offsetof(cpu::PendingException, has_error), 1,
      Group::Exception, true);
  add("exc.error", offsetof(CpuState, exc) + offsetof(cpu::PendingException, error), 4,
      Group::Exception, true);
  add("GDTR.base", offsetof(CpuState, gdtr) + offsetof(cpu::TableRegister, base), 4, Group::Tables);
  add("GDTR.limit", offsetof(CpuState, gdtr) + offsetof(cpu::TableRegister, limit), 4, Group::Tables);
  add("IDTR.base", offsetof(CpuState, idtr) + offsetof(cpu::TableRegister, base), 4, Group::Tables);
  add("IDTR.limit", offsetof(CpuState, idtr) + offsetof(cpu::TableRegister, limit), 4, Group::Tables);
  add_cache("LDTR", offsetof(CpuState, ldtr), Group::Tables);
  add_cache("TR", offsetof(CpuState, tr), Group::Tables);
  for (unsigned i = 0; i < 8; ++i)
    add("DR" + std::to_string(i), offsetof(CpuState, dr) + 4 * i, 4, Group::Debug);
  const size_t msr = offsetof(CpuState, msr);
  add("TSC offset", msr + offsetof(cpu::Msrs, tsc_offset), 8, Group::Msrs);
  add("SYSENTER_CS", msr + offsetof(cpu::Msrs, sysenter_cs), 4, Group::Msrs);
  add("SYSENTER_ESP", msr + offsetof(cpu::Msrs, sysenter_esp), 4, Group::Msrs);
  add("SYSENTER_EIP", msr + offsetof(cpu::Msrs, sysenter_eip), 4, Group::Msrs);
  add("MTRRdefType", msr + offsetof(cpu::Msrs, mtrr_def_type), 8, Group::Msrs);
  add("PAT", msr + offsetof(cpu::Msrs, pat), 8, Group::Msrs);
  add("EFER", msr + offsetof(cpu::Msrs, efer), 8, Group::Msrs);
  const size_t fpu = offsetof(CpuState, fpu);
  for (unsigned i = 0; i < 8; ++i)
    add("FPU.R" + std::to_string(i), fpu + offsetof(cpu::Fpu, r) + 10 * i, 10, Group::Fpu);
  add("FPU.cw", fpu + offsetof(cpu::Fpu, cw), 2, Group::Fpu);
  add("FPU.sw", fpu + offsetof(cpu::Fpu, sw), 2, Group::Fpu);
  add("FPU.tw", fpu + offsetof(cpu::Fpu, tw), 2, Group::Fpu);
  add("FPU.fop", fpu + offsetof(cpu::Fpu, fop), 2, Group::Fpu);
  add("FPU.fip", fpu + offsetof(cpu::Fpu, fip), 4, Group::Fpu);
  add("FPU.fdp", fpu + offsetof(cpu::Fpu, fdp), 4, Group::Fpu);
  add("FPU.fcs", fpu + offsetof(cpu::Fpu, fcs), 2, Group::Fpu);
  add("FPU.fds", fpu + offsetof(cpu::Fpu, fds), 2, Group::Fpu);
  add("FPU.ferr", fpu + offsetof(cpu::Fpu, ferr), 1, Group::Fpu);
  add("FPU.ignne", fpu + offsetof(cpu::Fpu, ignne), 1, Group::Fpu);
  return f;
}

const std::vector<Field>& fields() {
  static const std::vector<Field> f = make_fields();
  return f;
}

// The field as hex, most significant byte first (x87 registers: 20 digits).
std::string hex(const cpu::CpuState& s, const Field& f) {
  const auto* p = reinterpret_cast<const uint8_t*>(&s) + f.offset;
  std::string out;
  for (unsigned i = f.size; i-- > 0;) {
    char b[3];
    snprintf(b, sizeof b, "%02x", p[i]);
    out += b;
  }
  return out;
}

bool field_differs(const cpu::CpuState& a, const cpu::CpuState& b, const Field& f) {
  if (f.if_pending && !a.exc.pending && !b.exc.pending) return false;
  return std::memcmp(reinterpret_cast<const uint8_t*>(&a) + f.offset,
                     reinterpret_cast<const uint8_t*>(&b) + f.offset, f.size) != 0;
}

std::string describe(const Lockstep::Event& e) {
  char line[96];
  if (e.kind == 'x') {
    if (e.value == 0xFFFFFFFFu)
      snprintf(line, sizeof line, "icount %" PRIu64 ": interrupt acknowledge, no vector", e.icount);
    else
      snprintf(line, sizeof line, "icount %" PRIu64 ": interrupt acknowledge, vector 0x%02x",
               e.icount, e.value);
  } else {
    snprintf(line, sizeof line, "icount %" PRIu64 ": %s port 0x%04x size %u value 0x%0*x",
             e.icount, e.kind == 'o' ? "out" : "in ", e.port, e.size, e.size * 2, e.value);
  }
  return line;
}

// The side of a machine outside CpuState that the guest can see.
struct MachineSide {
  uint64_t now_ns;
  bool a20;
};

MachineSide side_of(Machine& m) { return {m.bus().clock().now_ns(), m.bus().a20()}; }

const char* mode_name(const cpu::Cpu::LastBlock& lb, const cpu::CpuState& s) {
  if (lb.v86) return "v86";
  if (lb.block) {
    switch (lb.block->mode) {
      case cpu::CodeMode::Real16: return "real";
      case cpu::CodeMode::Prot16: return "prot16";
      case cpu::CodeMode::Prot32: return "prot32";
    }
  }
  if (!(s.cr[0] & cpu::cr0::PE)) return "real";
  return (s.seg[cpu::CS].attr & cpu::attr::DB) ? "prot32" : "prot16";
}

// Marks "no block ran during this step" (a halted CPU) in Cpu::last_block.
constexpr uint16_t kNoBlockCs = 0xFFFF;
constexpr uint32_t kNoBlockEip = 0xFFFFFFFFu;

}  // namespace

Lockstep::Lockstep(const MachineConfig& cfg) {
  MachineConfig p = cfg;
  p.engine = Engine::Jit;
  p.lockstep = false;
  // One reading of the host clock for both RTCs.
  p.rtc_fixed_epoch = rtc_start_time(cfg);
  p.rtc_base = RtcBase::Fixed;
  primary_ = std::make_unique<Machine>(p, InputMirror{&input_logs_, false});

  MachineConfig s = p;
  s.engine = Engine::Interp;
  s.serial = "none";
  for (std::string& extra : s.serial_extra) extra = "none";
  s.debugcon = "none";
  s.snapshot = true;
  // A disk the primary could not open for writing refuses writes there: here too.
  for (size_t i = 0; i < s.drives.size(); ++i)
    s.drives[i].readonly = primary_->disks()[i]->readonly();
  s.trace_mask = 0;
  s.trace_file.clear();
  s.icount_sleep = false;
  s.pg_report = false;
  s.stats = false;
  shadow_ = std::make_unique<Machine>(s, InputMirror{&input_logs_, true});

  watch(*primary_, events_[0]);
  watch(*shadow_, events_[1]);
}

Lockstep::~Lockstep() = default;

void Lockstep::watch(Machine& m, std::vector<Event>& events) {
  const uint64_t* icount = &m.cpu().s.icount;
  m.bus().io_observer = [&events, icount](bool write, uint16_t port, unsigned size, uint32_t v) {
    events.push_back({*icount, write ? 'o' : 'i', static_cast<uint8_t>(size), port, v});
  };
  m.cpu().ack_interrupt = [&events, icount, ack = std::move(m.cpu().ack_interrupt)] {
    const int v = ack ? ack() : -1;
    events.push_back({*icount, 'x', 0, 0, static_cast<uint32_t>(v)});
    return v;
  };
}

int Lockstep::run() {
  for (;;) {
    events_[0].clear();
    events_[1].clear();
    for (Machine* m : {primary_.get(), shadow_.get()}) {
      m->cpu().last_block = {};
      m->cpu().last_block.cs = kNoBlockCs;
      m->cpu().last_block.eip = kNoBlockEip;
    }
    const Machine::RunStep p = primary_->run_step(1);
    ++blocks_;
    if (after_primary_block) after_primary_block(*primary_, blocks_);
    if (p.done && p.host) return p.status;  // a signal or Ctrl-A x: the shadow cannot follow
    const Machine::RunStep s = shadow_->run_step(1);
    std::string what = compare(p, s);
    if (what.empty() && (p.done || (ram_interval && blocks_ % ram_interval == 0)))
      what = compare_ram();
    if (!what.empty()) return differ(what);
    if (p.done) {
      if (!p.message.empty()) fprintf(stderr, "%s\n", p.message.c_str());
      return p.status;
    }
  }
}

std::string Lockstep::compare(const Machine::RunStep& p, const Machine::RunStep& s) {
  std::string what;
  const cpu::CpuState& a = primary_->cpu().s;
  const cpu::CpuState& b = shadow_->cpu().s;
  // Field by field only when the bytes differ (padding, or a stale exception record,
  // may differ without a difference).
  if (std::memcmp(&a, &b, sizeof a) != 0) {
    for (const Field& f : fields()) {
      if (field_differs(a, b, f)) what += (what.empty() ? "" : ", ") + f.name;
    }
  }
  const MachineSide ma = side_of(*primary_), mb = side_of(*shadow_);
  if (ma.now_ns != mb.now_ns) what += std::string(what.empty() ? "" : ", ") + "virtual time";
  if (ma.a20 != mb.a20) what += std::string(what.empty() ? "" : ", ") + "A20";
  if (!what.empty()) what = "state: " + what;
  auto also = [&what](const std::string& more) { what += (what.empty() ? "" : "; ") + more; };
  if (events_[0] != events_[1]) also("port I/O or interrupts");
  if (p.done != s.done || (p.done && p.status != s.status)) {
    char line[128];
    snprintf(line, sizeof line, "the run: the JIT's %s, the interpreter's %s",
             p.done ? ("ended with status " + std::to_string(p.status)).c_str() : "goes on",
             s.done ? ("ended with status " + std::to_string(s.status)).c_str() : "goes on");
    also(line);
  }
  for (size_t i = 0; i < input_logs_.size(); ++i) {
    const devices::InputLog& log = input_logs_[i];
    if (log.pending() != 0 || log.mismatches() != input_mismatches_[i]) {
      also("COM" + std::to_string(i + 1) + " input: the ports asked for input differently (" +
           std::to_string(log.pending()) + " answers of the JIT's not asked for by the interpreter, " +
           std::to_string(log.mismatches() - input_mismatches_[i]) + " questions of the interpreter's unanswered)");
      input_mismatches_[i] = log.mismatches();
    }
  }
  return what;
}

std::string Lockstep::compare_ram() {
  const uint64_t size = primary_->bus().ram_size();
  const uint8_t* a = primary_->bus().ram();
  const uint8_t* b = shadow_->bus().ram();
  if (std::memcmp(a, b, size) == 0) return {};
  constexpr uint64_t kPage = 4096;
  uint64_t at = 0;
  while (std::memcmp(a + at, b + at, std::min(kPage, size - at)) == 0) at += kPage;
  while (a[at] == b[at]) ++at;
  uint64_t last = at;
  for (uint64_t i = at; i < size; ++i)
    if (a[i] != b[i]) last = i;
  const uint64_t row = at & ~uint64_t{15};
  std::string dump[2];
  for (int m = 0; m < 2; ++m) {
    const uint8_t* r = m == 0 ? a : b;
    for (uint64_t i = row; i < std::min(row + 16, size); ++i) {
      char x[4];
      snprintf(x, sizeof x, " %02x", r[i]);
      dump[m] += x;
    }
  }
  char line[200];
  snprintf(line, sizeof line,
           "guest RAM at physical 0x%08" PRIx64 " (last difference at 0x%08" PRIx64
           "; RAM is compared every %" PRIu64 " blocks and at the end)\n"
           "    %08" PRIx64 "  jit   :",
           at, last, ram_interval, row);
  std::string out = line;
  out += dump[0] + "\n";
  snprintf(line, sizeof line, "    %08" PRIx64 "  interp:", row);
  out += line + dump[1];
  return out;
}

int Lockstep::differ(const std::string& what) {
  difference_ = report(what);
  primary_->flush_output();
  if (report_to) {
    fputs(difference_.c_str(), report_to);
    fflush(report_to);
  }
  return kDiffer;
}

std::string Lockstep::report(const std::string& what) {
  const cpu::Cpu::LastBlock& lb = primary_->cpu().last_block;
  const cpu::Cpu::LastBlock& lb_shadow = shadow_->cpu().last_block;
  const cpu::CpuState& a = primary_->cpu().s;
  const cpu::CpuState& b = shadow_->cpu().s;
  std::string out;
  char line[256];
  const bool no_block = !lb.block && lb.cs == kNoBlockCs && lb.eip == kNoBlockEip;
  if (no_block) {
    snprintf(line, sizeof line,
             "popek: lockstep: engines differ after block at %04x:%08x (no block ran: the CPU "
             "halted), block %" PRIu64 " of the run\n",
             a.seg[cpu::CS].selector, a.eip, blocks_);
  } else {
    snprintf(line, sizeof line,
             "popek: lockstep: engines differ after block at %04x:%08x (%s, CPL %u), block %" PRIu64
             " of the run\n",
             lb.cs, lb.eip, mode_name(lb, a), lb.cpl, blocks_);
  }
  out += line;
  out += "  differs: " + what + "\n";

  // The block's instructions.
  const cpu::Block* block = lb.block ? lb.block : lb_shadow.block;
  if (block) {
    out += "  guest code:\n";
    uint32_t eip = lb.block ? lb.eip : lb_shadow.eip;
    for (const cpu::Insn& in : block->insns) {
      snprintf(line, sizeof line, "    %08x ", eip);
      out += line;
      for (unsigned i = 0; i < in.len; ++i) {
        snprintf(line, sizeof line, " %02x", in.bytes[i]);
        out += line;
      }
      out += "\n";
      eip += in.len;
    }
  } else if (!no_block) {
    out += "  guest code: not available (a fetch fault, or the block wrote its own code)\n";
  }

  // Both states; the always-shown groups, then any other group with a difference.
  snprintf(line, sizeof line, "  %-14s %-22s %s\n", "", "jit (primary)", "interp (shadow)");
  out += line;
  const std::vector<Field>& fs = fields();
  for (size_t i = 0; i < fs.size();) {
    size_t end = i;
    bool group_differs = false;
    while (end < fs.size() && fs[end].group == fs[i].group) {
      group_differs |= field_differs(a, b, fs[end]);
      ++end;
    }
    const bool always = fs[i].group <= Group::Exception;
    if (always || group_differs) {
      for (; i < end; ++i) {
        const bool d = field_differs(a, b, fs[i]);
        snprintf(line, sizeof line, "%s %-14s %-22s %s\n", d ? "*" : " ", fs[i].name.c_str(),
                 hex(a, fs[i]).c_str(), hex(b, fs[i]).c_str());
        out += line;
      }
    }
    i = end;
  }
  const MachineSide ma = side_of(*primary_), mb = side_of(*shadow_);
  snprintf(line, sizeof line, "%s %-14s %-22" PRIu64 " %" PRIu64 "\n",
           ma.now_ns != mb.now_ns ? "*" : " ", "time (ns)", ma.now_ns, mb.now_ns);
  out += line;
  snprintf(line, sizeof line, "%s %-14s %-22s %s\n", ma.a20 != mb.a20 ? "*" : " ", "A20",
           ma.a20 ? "on" : "off", mb.a20 ? "on" : "off");
  out += line;

  if (events_[0] != events_[1]) {
    const char* who[2] = {"jit", "interp"};
    for (int m = 0; m < 2; ++m) {
      out += std::string("  port I/O and interrupts of the block, ") + who[m] + ":\n";
      if (events_[m].empty()) out += "    none\n";
      for (size_t i = 0; i < events_[m].size() && i < 32; ++i) out += "    " + describe(events_[m][i]) + "\n";
      if (events_[m].size() > 32) out += "    ...\n";
    }
  }

  const std::string host = lb.block && primary_->jit() ? primary_->jit()->disassemble(*lb.block) : "";
  if (host.empty()) {
    out += "  host code: none (the JIT did not translate this block)\n";
  } else {
    out += "  host code:\n";
    size_t pos = 0;
    while (pos < host.size()) {
      size_t nl = host.find('\n', pos);
      if (nl == std::string::npos) nl = host.size();
      out += "  " + host.substr(pos, nl - pos) + "\n";
      pos = nl + 1;
    }
  }
  return out;
}

}  // namespace popek::frontend
