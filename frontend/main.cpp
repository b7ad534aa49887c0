// popek: parse the command line, build the machine, run it, report.
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "frontend/cli.h"
#include "frontend/curses_display.h"
#include "frontend/gdb_stub.h"
#include "frontend/host_attention.h"
#include "frontend/lockstep.h"
#include "frontend/machine.h"
#include "frontend/monitor.h"
#include "frontend/record_replay.h"
#include "frontend/report.h"
#include "frontend/snapshot.h"
#include "frontend/vnc.h"

namespace {

popek::frontend::HostAttention g_host;

void on_signal(int sig) { g_host.raise_signal(sig); }

// SIGINT/SIGTERM end the run at the next block boundary; a second one kills (SA_RESETHAND).
void install_signal_handlers() {
  struct sigaction sa;
  std::memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sa.sa_flags = SA_RESETHAND;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

int run(int argc, char** argv) {
  using namespace popek::frontend;
  const CliResult cli = parse_cli(std::vector<std::string>(argv + 1, argv + argc));
  if (cli.exit) {
    fputs(cli.out.c_str(), stdout);
    if (!cli.error.empty()) fprintf(stderr, "%s\n", cli.error.c_str());
    return cli.status;
  }
  const MachineConfig& cfg = cli.config;
  FILE* trace = nullptr;
  int status;
  {
    // With --lockstep the user sees the primary machine; a shadow runs beside it.
    std::unique_ptr<Lockstep> lockstep;
    std::unique_ptr<RecordReplay> rr;  // -icount rr=record|replay (outlives the machine)
    std::unique_ptr<Machine> machine;
    if (cfg.rr_mode != RrMode::Off) rr = std::make_unique<RecordReplay>(cfg);
    if (cfg.lockstep) lockstep = std::make_unique<Lockstep>(cfg);
    else machine = std::make_unique<Machine>(cfg, InputMirror{}, rr.get());
    Machine& m = lockstep ? lockstep->primary() : *machine;
    // The -D file is created once the machine's inputs are all read (as the -serial and
    // -debugcon files), so that a failed start leaves the previous log alone.
    if (!cfg.trace_file.empty()) {
      trace = fopen(cfg.trace_file.c_str(), "w");
      if (!trace) {
        fprintf(stderr, "popek: -D %s: cannot create: %s\n", cfg.trace_file.c_str(), strerror(errno));
        return 1;
      }
    }
    if (trace) m.bus().log().out = trace;
    std::unique_ptr<Monitor> monitor;
    if (cfg.monitor != "none") {
      monitor = std::make_unique<Monitor>(m, cfg.monitor);
      m.monitor = monitor.get();
    }
    std::unique_ptr<Display> display;
    if (cfg.display == "curses") {
      display = std::make_unique<CursesDisplay>(m);
      m.displays.push_back(display.get());
    }
    std::unique_ptr<VncDisplay> vnc;
    if (!cfg.vnc.empty()) {
      vnc = std::make_unique<VncDisplay>(m, cfg.vnc);
      m.displays.push_back(vnc.get());
    }
    if (!cfg.loadvm.empty()) {
      try {
        m.load_snapshot(cfg.loadvm);
      } catch (const SnapshotError& e) {
        fprintf(stderr, "popek: -loadvm %s\n", e.what());
        return 1;
      }
    }
    install_signal_handlers();
    m.host = &g_host;
    std::unique_ptr<GdbStub> gdb;
    if (!cfg.gdb.empty()) {
      gdb = std::make_unique<GdbStub>(m, cfg.gdb);
      m.gdb = gdb.get();
      if (cfg.gdb_wait) gdb->wait_for_debugger();
    }
    // How often the run loop looks at the host when nothing else asks: output flushing,
    // the console's Ctrl-A escapes, and the upper bound of a signal's delay.
    g_host.start_ticker(std::chrono::milliseconds(20));
    status = gdb && gdb->kill_requested() ? 0 : lockstep ? lockstep->run() : m.run();
    g_host.stop_ticker();
    m.flush_output();
    if (!cfg.savevm_on_exit.empty()) {
      try {
        m.save_snapshot(cfg.savevm_on_exit);
      } catch (const SnapshotError& e) {
        fprintf(stderr, "popek: -savevm-on-exit: %s\n", e.what());
        if (status == 0) status = 1;
      }
    }
    if (cfg.pg_report) fputs(pg_report(m.cpu()).c_str(), stderr);
    if (cfg.stats) fputs(stats_report(m.cpu()).c_str(), stderr);
    if (cfg.state_hash) {
      fprintf(stderr, "popek: state hash %016llx at instruction %llu\n",
              static_cast<unsigned long long>(m.state_hash()),
              static_cast<unsigned long long>(m.cpu().s.icount));
    }
  }
  if (trace) fclose(trace);
  return status & 0xFF;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::bad_alloc&) {
    fflush(stdout);
    fprintf(stderr, "popek: out of host memory (is -m too large for this host?)\n");
  } catch (const std::exception& e) {
    fflush(stdout);
    fprintf(stderr, "popek: %s\n", e.what());
  } catch (...) {
    fflush(stdout);
    fprintf(stderr, "popek: internal error: unknown exception\n");
  }
  return 1;
}
