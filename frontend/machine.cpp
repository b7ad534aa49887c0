#include "frontend/machine.h"
#include "frontend/display.h"
#include "frontend/gdb_stub.h"
#include "frontend/monitor.h"

#include <algorithm>
#include <chrono>
#include <thread>

#include <cstdio>
#include <cstring>
#include <ctime>
#include <string>

#include <unistd.h>

#include "bus/state_archive.h"
#include "cpu/ops/x87.h"
#include "frontend/loader.h"
#include "frontend/record_replay.h"

namespace popek::frontend {

namespace {
// Port F0h of the PC/AT: a write clears the coprocessor error latch (FERR# on IRQ 13) and
// asserts IGNNE#, the legacy x87 error path of CR0.NE = 0. Reads float high.
class CoprocessorPort final : public bus::Device {
 public:
  CoprocessorPort(bus::Bus& bus, cpu::Cpu& cpu) : bus_(bus), cpu_(cpu) {
    bus.register_io(this, 0xF0, 1);
    bus.add_device(this);
  }
  const char* name() const override { return "coprocessor-port"; }
  void reset() override {}
  uint32_t io_read(uint16_t, unsigned size) override {
    return size == 4 ? 0xFFFFFFFFu : (1u << (size * 8)) - 1;
  }
  void io_write(uint16_t, unsigned, uint32_t) override { cpu::x87::ignne_write(cpu_); }

 private:
  bus::Bus& bus_;
  cpu::Cpu& cpu_;
};
}  // namespace

// QEMU's -boot letters as CMOS boot nibbles (the CLI has checked them).
std::array<uint8_t, 3> boot_devices(const std::string& order) {
  std::array<uint8_t, 3> out{};
  for (size_t i = 0; i < order.size() && i < out.size(); ++i) {
    switch (order[i]) {
      case 'a': case 'b': out[i] = devices::boot::FLOPPY; break;
      case 'c': out[i] = devices::boot::DISK; break;
      case 'd': out[i] = devices::boot::CDROM; break;
      case 'n': out[i] = devices::boot::NETWORK; break;
      default: break;
    }
  }
  return out;
}

// The RTC's start time, seconds since 1970 as the guest's clock shows it. The host's
// clock is read here and only here: it is an input from the host, like console input.
int64_t rtc_start_time(const MachineConfig& cfg) {
  if (cfg.rtc_base == RtcBase::Fixed) return cfg.rtc_fixed_epoch;
  const time_t now = time(nullptr);
  if (cfg.rtc_base == RtcBase::Utc) return now;
  struct tm local;
  localtime_r(&now, &local);
  return now + local.tm_gmtoff;
}

void Machine::timer_armed(uint64_t when_ns) {
  if (!in_turn_) return;  // a turn starting later looks at the deadline itself
  const uint64_t at = std::max(bus_.clock().icount_at(when_ns), cpu_.s.icount);
  if (at >= turn_until_) return;
  turn_until_ = at;
  cpu_.cut_run(at);
}

Machine::Machine(const MachineConfig& cfg, InputMirror mirror, RecordReplay* rr)
    : cfg_(cfg), rr_(rr), bus_(cfg.ram_size), mmu_(bus_), cpu_(bus_, mmu_) {
  bus_.clock().attach(&cpu_.s.icount, cfg_.icount_shift);
  bus_.clock().set_arm_listener([this](uint64_t when_ns) { timer_armed(when_ns); });
  bus_.log().mask = cfg_.trace_mask;
  bus_.log().quiet = mirror.logs && mirror.replay;
  // Before the port's UART is built: its reset already asks whether input may come.
  auto link_input = [&mirror, rr](devices::CharBackend& b, size_t com) {
    if (rr) rr->attach_serial(com, b);
    if (!mirror.logs) return;
    (mirror.replay ? b.replay : b.record) = &(*mirror.logs)[com];
  };
  pic_ = std::make_unique<devices::Pic8259>(bus_);
  pic_->on_intr = [this](bool level) { cpu_.set_intr(level); };
  cpu_.ack_interrupt = [this] { return pic_->acknowledge(); };
  pit_ = std::make_unique<devices::Pit8254>(bus_);
  port61_ = std::make_unique<devices::Port61>(bus_, *pit_);
  rtc_ = std::make_unique<devices::Mc146818>(bus_, rr_ ? rr_->rtc_start(cfg_) : rtc_start_time(cfg_));
  rtc_->set_memory_size(cfg_.ram_size);
  kbc_ = std::make_unique<devices::I8042>(bus_);
  if (cfg_.vga) {
    vga_ = std::make_unique<devices::Vga>(bus_);
    bus_.map_video(vga_.get());
  }
  fpu_port_ = std::make_unique<CoprocessorPort>(bus_, cpu_);
  dma_ = std::make_unique<devices::I8237>(bus_);
  pci_ = std::make_unique<devices::PciAbsent>(bus_);
  fw_cfg_ = std::make_unique<devices::FwCfg>(bus_);
  // Without a display the machine is "nographic" as under QEMU's -nographic.
  devices::add_pc_items(*fw_cfg_, cfg_.ram_size, cfg_.display == "none" && cfg_.vnc.empty());
  rtc_->set_boot_order(boot_devices(cfg_.boot_order));
  serial_out_ = devices::open_backend(cfg_.serial);
  link_input(*serial_out_, 0);
  // Two devices on one file share its backend (and so its write position).
  devices::CharBackend* debugcon_out = nullptr;
  if (cfg_.debugcon == cfg_.serial && cfg_.serial.rfind("file:", 0) == 0) {
    debugcon_out = serial_out_.get();
  } else {
    debugcon_out_ = devices::open_backend(cfg_.debugcon);
    debugcon_out = debugcon_out_.get();
  }
  debugcon_ = std::make_unique<devices::Debugcon>(bus_, *debugcon_out, cfg_.debugcon_iobase);
  post_ = std::make_unique<devices::PostPort>(bus_);
  port92_ = std::make_unique<devices::SystemControlA>(bus_);
  uart_ = std::make_unique<devices::Uart16550>(bus_, *serial_out_);
  for (size_t i = 0; i < cfg_.serial_extra.size(); ++i) {
    serial_extra_out_.push_back(devices::open_backend(cfg_.serial_extra[i]));
    link_input(*serial_extra_out_.back(), i + 1);
    uart_extra_.push_back(std::make_unique<devices::Uart16550>(
        bus_, *serial_extra_out_.back(), devices::Uart16550::kComBase[i + 1],
        devices::Uart16550::kComIrq[i + 1]));
  }
  // Ctrl-A x on the console: stop as a guest exit with status 0 (disks flushed on the way).
  serial_out_->on_quit = [this] { bus_.request_stop(bus::StopReason::Exit, 0, "quit from the console"); };
  ide_[0] = std::make_unique<devices::IdeChannel>(bus_, devices::IdeChannel::kPrimaryBase,
                                                  devices::IdeChannel::kPrimaryCtl,
                                                  devices::IdeChannel::kPrimaryIrq);
  ide_[1] = std::make_unique<devices::IdeChannel>(bus_, devices::IdeChannel::kSecondaryBase,
                                                  devices::IdeChannel::kSecondaryCtl,
                                                  devices::IdeChannel::kSecondaryIrq);
  for (const DriveConfig& d : cfg_.drives) {
    // A replay never writes the images: its disks are snapshots of the recording's start.
    disks_.push_back(std::make_unique<devices::DiskImage>(d.path, d.readonly, cfg_.snapshot || (rr_ && rr_->replaying())));
    if (rr_) rr_->attach_disk(disks_.size() - 1, *disks_.back());
    ide_[d.index / 2]->attach(d.index % 2, disks_.back().get());
    if (d.index < 2) {  // the CMOS describes the primary channel's two disks
      rtc_->set_disk(d.index, devices::default_cylinders(disks_.back()->sectors()),
                     devices::kDefaultHeads, devices::kDefaultSectorsPerTrack);
    }
    uint8_t mbr[512] = {};
    disks_.back()->read(0, mbr);  // an unreadable sector 0 is no partition table
    rtc_->set_disk_translation(d.index, devices::guess_bios_translation(mbr, disks_.back()->sectors()));
  }
  // Last, so that -device isa-debug-exit,iobase=N may take over any port.
  debug_exit_ =
      std::make_unique<devices::DebugExit>(bus_, cfg_.debug_exit_iobase, cfg_.debug_exit_iosize);
  bus_.on_a20_change = [this] {
    mmu_.flush_all(mmu::Mmu::FlushCause::A20);
    cpu_.flush_code_cache();
  };
  if (cfg_.engine == Engine::Jit) {
    jit_ = std::make_unique<jit::Native>(cpu_, cfg_.jit_hot_threshold, cfg_.jit_cache_bytes);
    cpu_.runner = jit_.get();
    if (cfg_.perfmap) jit_->open_perf_map("/tmp/perf-" + std::to_string(getpid()) + ".map");
  } else if (cfg_.perfmap) {
    bus_.log().warn("perfmap-interp", "-perfmap: the interpreter runs no host code of its own; no map is written");
  }
  if (!cfg_.bios_path.empty()) load_bios(bus_, cfg_.bios_path);
  if (vga_ && !cfg_.bios_path.empty()) {
    const std::vector<uint8_t>& firmware = bus_.bios_image();  // loaded and checked above
    static constexpr char kSeaBios[] = "SeaBIOS";
    const bool seabios = std::search(firmware.begin(), firmware.end(), kSeaBios, kSeaBios + 7) != firmware.end();
    std::vector<uint8_t> rom;
    if (seabios) {
      // SeaBIOS's VGA BIOS, handed over as QEMU does (SeaBIOS copies it to 0xC0000 and
      // runs it).
      try {
        rom = read_image("-vga std: the VGA BIOS", cfg_.vga_bios_path);
        vga_rom_path_ = cfg_.vga_bios_path;
      } catch (const LoadError& e) {
        throw LoadError(std::string(e.what()) + " (install Debian's seabios package, or use -vga none)");
      }
      fw_cfg_->add_file("vgaroms/vgabios.bin", std::move(rom));
    } else if (firmware.size() >= bus::Bus::kShadowMinSize) {
      // Another PC BIOS (the Bochs BIOS) scans 0xC0000 for option ROMs, where an ISA VGA
      // card's ROM sits: the LGPL VGABios goes there.
      try {
        rom = read_image("-vga std: the VGA BIOS", cfg_.isa_vga_bios_path);
        vga_rom_path_ = cfg_.isa_vga_bios_path;
      } catch (const LoadError& e) {
        throw LoadError(std::string(e.what()) + " (install Debian's vgabios package, or use -vga none)");
      }
      if (rom.size() > 0x20000 || rom.size() < 3 || rom[0] != 0x55 || rom[1] != 0xAA)
        throw LoadError("-vga std: the VGA BIOS " + cfg_.isa_vga_bios_path + ": not an option ROM (no 55 AA signature, or over 128 KiB)");
      bus_.map_option_rom(0xC0000, std::move(rom));
    }
  }
  boot();
  // Every input is read and checked: now the output files are created.
  auto start = [](devices::CharBackend* b, const std::string& option, const std::string& spec) {
    if (!b) return;
    try {
      b->start();
    } catch (const devices::BackendError& e) {
      throw devices::BackendError(option + " " + spec + ": " + e.what());
    }
  };
  if (rr_) rr_->start(*this);
  start(serial_out_.get(), "-serial", cfg_.serial);
  start(debugcon_out_.get(), "-debugcon", cfg_.debugcon);
  for (size_t i = 0; i < serial_extra_out_.size(); ++i) start(serial_extra_out_[i].get(), "-serial", cfg_.serial_extra[i]);
}

Machine::~Machine() {
  flush_output();
  cpu_.runner = nullptr;
}

void Machine::boot() {
  cpu_.reset();
  bus_.clock().reset();
  bus_.set_a20(true);
  bus_.reset_devices();
  bus_.clear_stop();
  if (bus_.bios_shadowed()) {
    bus_.restore_bios_copy();
    cpu_.flush_code_cache();
  }
  if (!cfg_.kernel_path.empty()) {
    load_kernel(bus_, cpu_.s, cfg_);
    cpu_.set_cr0(cpu_.s.cr[0]);
    cpu_.update_cpl();
    cpu_.flush_code_cache();
  }
}

uint64_t Machine::state_hash() {
  bus::StateHasher h;
  h("cpu", cpu_.s);
  visit_devices(h);
  bool a20 = bus_.a20();
  h("a20", a20);
  uint64_t idle = bus_.clock().idle_instructions();
  h("idle", idle);
  return bus::hash_bytes(h.value(), bus_.ram(), bus_.ram_size());
}

void Machine::flush_output() {
  for (auto& b : serial_extra_out_) b->flush();
  if (serial_out_) serial_out_->flush();
  if (debugcon_out_) debugcon_out_->flush();
  fflush(stdout);
}

// Sleep the host until its clock, measured from the start of the run, reaches the guest's
// virtual time `ns` (-icount sleep=on): pacing only, what executes does not change. One
// sleep lasts at most 10 ms, so that a paced halted guest still looks at the host often;
// false when the host clock has not reached `ns` yet.
bool Machine::pace_to(uint64_t ns) {
  const auto target = host_start_ + std::chrono::nanoseconds(ns);
  const auto now = std::chrono::steady_clock::now();
  if (target <= now) return true;
  const auto step = std::chrono::milliseconds(10);
  if (target - now > step) {
    std::this_thread::sleep_for(step);
    return false;
  }
  std::this_thread::sleep_for(target - now);
  return true;
}

Machine::RunStep Machine::finished(int status, std::string message, bool host) {
  flush_output();
  RunStep r;
  r.done = true;
  r.status = status;
  r.host = host;
  r.message = std::move(message);
  if (rr_) rr_->finish(*this, r);
  return r;
}

int Machine::run() {
  running_ = false;  // a turn in progress (split by the host, or loaded from a snapshot) goes on
  for (;;) {
    const RunStep r = run_step(kSlice);
    if (!r.done) continue;
    if (gdb) gdb->finished(r.status);
    if (!r.message.empty()) fprintf(stderr, "%s\n", r.message.c_str());
    return r.status;
  }
}

std::optional<Machine::RunStep> Machine::look_at_host() {
  if (!host || !host->wanted.exchange(0, std::memory_order_acquire)) return std::nullopt;
  serial_out_->pump();  // Ctrl-A x works even when the guest is not reading
  if (serial_out_->take_save_request()) snapshot_from_console();
  if (monitor) {
    monitor->poll();
    if (monitor->quit_requested()) return finished(0, {}, true);
  }
  if (gdb) {
    gdb->poll();  // may stop here for the debugger
    if (gdb->kill_requested()) return finished(0, {}, true);
  }
  for (Display* d : displays) {
    d->refresh();
    if (d->quit_requested()) return finished(0, {}, true);
  }
  flush_output();
  if (const int sig = host->signal.load(std::memory_order_relaxed)) return finished(128 + sig, {}, true);
  if (serial_out_->quit_requested()) return finished(0, {}, true);
  return std::nullopt;
}

bool Machine::run_to_debug_stop() {
  traveling_ = true;
  std::vector<devices::CharBackend*> outs = {serial_out_.get(), debugcon_out_.get()};
  for (auto& b : serial_extra_out_) outs.push_back(b.get());
  for (devices::CharBackend* b : outs) {
    if (b) b->muted = true;
  }
  bool stopped = false;
  for (;;) {
    const RunStep r = run_step(kSlice);
    if (cpu_.debug.stop != cpu::Cpu::Debug::Stop::None) {
      stopped = true;
      break;
    }
    if (r.done) break;
  }
  for (devices::CharBackend* b : outs) {
    if (b) b->muted = false;
  }
  traveling_ = false;
  return stopped;
}

Machine::RunStep Machine::run_step(uint64_t max_instructions) {
  if (!traveling_) {
    if (auto r = look_at_host()) return *r;
  }
  if (!deferred_input_.empty() && !cpu_.in_block()) {
    std::vector<std::function<void()>> inputs;
    inputs.swap(deferred_input_);
    for (auto& f : inputs) f();
  }
  if (rr_) {
    if (auto r = rr_->before_step(*this, in_turn_)) return finished(r->status, r->message, r->host);
  }
  bus::Clock& clock = bus_.clock();
  if (!running_) {
    running_ = true;
    host_start_ = std::chrono::steady_clock::now();
  }
  if (!in_turn_) {
    if (gdb) gdb->turn_start();  // reverse debugging's checkpoints
    if (auto r = snapshot_at_turn_start()) return *r;
    if (rr_) {
      if (auto r = rr_->turn_start(*this)) return finished(r->status, r->message, r->host);
    }
    clock.run_due();
    turn_until_ = cpu_.s.icount + kSlice;
    const uint64_t deadline = clock.next_deadline_ns();
    if (deadline != UINT64_MAX) {
      const uint64_t at = clock.icount_at(deadline);
      turn_until_ = std::min(turn_until_, std::max(at, cpu_.s.icount + 1));
    }
    in_turn_ = true;
  }
  const uint64_t budget = std::max<uint64_t>(max_instructions, 1);
  // (icount may be past turn_until_ when a debug stop left a block unfinished.)
  uint64_t until = turn_until_ > cpu_.s.icount && turn_until_ - cpu_.s.icount > budget
                             ? cpu_.s.icount + budget
                             : turn_until_;
  if (rr_) until = std::min(until, rr_->stop_at(cpu_.s.icount));  // replay: where input enters
  // A debugger's travel: translated code runs up to near the place, the checks from there.
  if (const uint64_t from = cpu_.debug.stop_from; from != UINT64_MAX && cpu_.s.icount + cpu::Cpu::kDebugNear < from)
    until = std::min(until, from - cpu::Cpu::kDebugNear);
  cpu_.host_attention = host && !traveling_ ? &host->wanted : nullptr;
  cpu::Cpu::RunExit why;
  for (;;) {
    why = cpu_.run(until);
    if (why != cpu::Cpu::RunExit::Stopped || bus_.stop_reason() != bus::StopReason::None) break;
    // The host asked for attention in the middle of the turn: look at it, then go on
    // with the same turn (the guest cannot tell). After a snapshot load the next call
    // goes on with the loaded turn.
    state_loaded_ = false;
    if (auto r = look_at_host()) return *r;
    if (state_loaded_) return {};
  }
  if (why == cpu::Cpu::RunExit::Debug) {
    // A breakpoint, watchpoint or single step: the turn goes on once the debugger resumes.
    if (traveling_) return {};  // run_to_debug_stop looks at the stop
    if (gdb) gdb->stopped();
    else cpu_.debug_resume();
    if (gdb && gdb->kill_requested()) return finished(0, {}, true);
    return {};
  }
  if (why == cpu::Cpu::RunExit::Budget && cpu_.s.icount < turn_until_) return {};
  in_turn_ = false;
  if (why == cpu::Cpu::RunExit::Budget) return {};
  char line[160];
  if (why == cpu::Cpu::RunExit::Halted) {
    if (!(cpu_.s.eflags & cpu::flag::IF)) {
      snprintf(line, sizeof line, "popek: guest halted with interrupts disabled at %04x:%08x",
               cpu_.s.seg[cpu::CS].selector, cpu_.s.eip);
      return finished(0, line);
    }
    if (!clock.pending()) {
      snprintf(line, sizeof line,
               "popek: guest halted (HLT with no interrupt source) at %04x:%08x",
               cpu_.s.seg[cpu::CS].selector, cpu_.s.eip);
      return finished(0, line);
    }
    // Idle: virtual time jumps to the next timer event, so an idle guest costs nothing.
    if (cfg_.icount_sleep) {
      flush_output();
      if (!pace_to(clock.next_deadline_ns())) return {};  // still halted on the next step
    }
    clock.skip_to_next_deadline();
    return {};
  }
  switch (bus_.stop_reason()) {
    case bus::StopReason::Exit:
      return finished(bus_.exit_status(), {}, serial_out_->quit_requested());
    case bus::StopReason::Reset:
      if (cfg_.no_reboot) {
        return finished(0, "popek: guest reset (" + bus_.stop_message() +
                               "); exiting because of -no-reboot");
      }
      flush_output();
      boot();  // the next run_step looks at the host first: a reset loop still hears it
      return {};
    case bus::StopReason::Fatal:
      return finished(1, "popek: " + bus_.stop_message());
    case bus::StopReason::None:
      break;
  }
  return finished(1, "popek: the CPU stopped without a reason (internal error)");
}

// Host input enters between two blocks. While a debugger holds the CPU in the middle of
// a block (gdb's `monitor sendkey`), it waits for the end of that block.
bool Machine::input_key(const devices::KeyCodes& key, bool down) {
  if (cpu_.in_block()) {
    deferred_input_.push_back([this, &key, down] { input_key(key, down); });
    return true;
  }
  if (!rr_) ++host_inputs_;
  else if (!rr_->host_key(*this, key, down, in_turn_)) return true;
  return devices::send_key(*kbc_, key, down);
}

void Machine::input_mouse(int dx, int dy, int dz, unsigned buttons) {
  if (cpu_.in_block()) {
    deferred_input_.push_back([=, this] { input_mouse(dx, dy, dz, buttons); });
    return;
  }
  if (!rr_) ++host_inputs_;
  else if (!rr_->host_mouse(*this, dx, dy, dz, buttons, in_turn_)) return;
  kbc_->mouse_event(dx, dy, dz, buttons);
}

void Machine::input_reset(const std::string& why) {
  if (cpu_.in_block()) {
    deferred_input_.push_back([this, why] { input_reset(why); });
    return;
  }
  if (!rr_) ++host_inputs_;
  else if (!rr_->host_reset(*this, why, in_turn_)) return;
  bus_.request_stop(bus::StopReason::Reset, 0, why);
}

}  // namespace popek::frontend
