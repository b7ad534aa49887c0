// popek_fuzz: the robustness fuzzing campaign (tests/fuzz/fuzz.h has the shape of a
// fuzzer; scripts/fuzz.sh runs long campaigns).
//
// Case i of a fuzzer is generated from (seed, fuzzer, i) alone, so a campaign is a pure
// function of its seed and ranges, and a slice of it can run anywhere (--first).
//
// The cases run in a child process, one machine per fuzzer reused from case to case.
// Before each case the child copies the input into memory it shares with the parent and
// notes the time; the parent watches. A child that dies (a crash, a sanitizer report, an
// internal assertion) or overruns the host-time watchdog (--timeout; the parent kills it)
// leaves its input behind: the parent writes it as a reproducer and starts a new child at
// the next case. What a fuzzer's own oracle finds (a broken invariant, the engines
// disagreeing) the child writes itself. A reproducer is one text line naming the fuzzer,
// seed, case and what happened, then the input bytes; --replay FILE runs one in this
// process, so that a debugger or the sanitizer sees it first hand.
#include <sys/mman.h>
#include <sys/time.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cinttypes>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/fuzz/fuzz.h"

// Sanitizer builds (-DPOPEK_SANITIZE=ON): a report ends the child (the parent keeps the
// input); leaks are not this harness's subject, and the child's exit must stay quick.
extern "C" const char* __asan_default_options() { return "detect_leaks=0:abort_on_error=1"; }
extern "C" const char* __ubsan_default_options() { return "print_stacktrace=1:halt_on_error=1"; }

namespace popek::fuzz {

// ---------------------------------------------------------------- MemFile

MemFile::MemFile() {
  fd_ = memfd_create("popek-fuzz", 0);
  if (fd_ < 0) {
    perror("popek_fuzz: memfd_create");
    exit(2);
  }
  path_ = "/proc/self/fd/" + std::to_string(fd_);
}

MemFile::~MemFile() { close(fd_); }

void MemFile::set(const std::vector<uint8_t>& bytes) {
  if (ftruncate(fd_, 0) != 0 || pwrite(fd_, bytes.data(), bytes.size(), 0) != static_cast<ssize_t>(bytes.size())) {
    perror("popek_fuzz: writing a memory file");
    exit(2);
  }
}

std::vector<uint8_t> MemFile::get() const {
  struct stat st;
  fstat(fd_, &st);
  std::vector<uint8_t> v(st.st_size);
  if (pread(fd_, v.data(), v.size(), 0) != static_cast<ssize_t>(v.size())) v.clear();
  return v;
}

// ---------------------------------------------------------------- SoftLimit

namespace {
constexpr long kTickUs = 1000;
popek::frontend::HostAttention g_soft_stop;
const volatile uint64_t* g_progress = nullptr;
uint64_t g_last = 0;
int g_still = 0;
long g_ticks_left = 0;

void on_tick(int) {
  if (--g_ticks_left <= 0) g_soft_stop.raise_signal(SIGPROF);
  if (!g_progress) return;
  const uint64_t now = *g_progress;
  if (now != g_last) {
    g_last = now;
    g_still = 0;
  } else if (++g_still >= 2) {
    g_soft_stop.raise_signal(SIGPROF);
  }
}
}  // namespace

void SoftLimit::arm(double seconds, const uint64_t* progress) {
  static bool installed = false;
  if (!installed) {
    struct sigaction sa;
    std::memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_tick;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGPROF, &sa, nullptr);
    installed = true;
  }
  g_soft_stop.signal = 0;
  g_soft_stop.wanted = 0;
  g_progress = progress;
  g_last = progress ? *progress : 0;
  g_still = 0;
  g_ticks_left = std::max(1L, static_cast<long>(seconds * 1e6 / kTickUs));
  itimerval t{};
  t.it_value.tv_usec = kTickUs;
  t.it_interval.tv_usec = kTickUs;
  setitimer(ITIMER_PROF, &t, nullptr);
}

void SoftLimit::disarm() {
  itimerval t{};
  setitimer(ITIMER_PROF, &t, nullptr);
  g_progress = nullptr;
}

popek::frontend::HostAttention* SoftLimit::host() { return &g_soft_stop; }

namespace {

// ---------------------------------------------------------------- the harness's own test
//
// A fuzzer whose inputs crash, hang or fail the oracle on purpose (first byte 5, 6, 7):
// the ctest fuzz_harness checks that each is caught, kept and replayed.
class SelfTestFuzzer final : public Fuzzer {
 public:
  const char* name() const override { return "selftest"; }
  std::vector<uint8_t> generate(Rng& r) override { return {static_cast<uint8_t>(r.below(8))}; }
  std::string run(const std::vector<uint8_t>& input, Counters& c) override {
    ++c.inputs;
    const uint8_t what = input.empty() ? 0 : input[0];
    if (what == 5) {
      // A heap overflow the sanitizer reports; without a sanitizer, an abort.
      std::unique_ptr<volatile char[]> p(new volatile char[4]);
      p[input.size() + 7] = 1;
      abort();
    }
    if (what == 6) {
      std::atomic<uint64_t> spin{0};
      for (;;) spin.fetch_add(1, std::memory_order_relaxed);
    }
    if (what == 7) return "the self-test's planted finding";
    return "";
  }
};

// ---------------------------------------------------------------- options

struct Options {
  std::vector<std::string> fuzzers = {"insn", "device", "loader"};
  uint64_t seed = 1;
  uint64_t runs = 1000;      // cases per fuzzer
  uint64_t first = 0;        // index of the first case
  double time_limit = 0;     // seconds for the whole campaign; 0: none
  uint64_t budget = 600;     // instructions per run of a stream
  uint64_t loader_budget = 20000;
  double timeout = 10;       // host seconds before a case is a hang
  double soft_limit = 0.02;  // host seconds of one guest run (SoftLimit)
  double slow_ms = 0;        // report cases slower than this
  std::string findings = "fuzz-findings";
  std::string replay;
  bool fork = true;
  bool quiet = false;
  bool plant_difference = false;
};

const char* kUsage =
    "usage: popek_fuzz [options]\n"
    "  --fuzzers=LIST    insn,device,loader (default: all three; selftest: the harness's test)\n"
    "  --seed=N          campaign seed (default 1)\n"
    "  --runs=N          cases per fuzzer (default 1000)\n"
    "  --first=K         index of the first case (default 0): slices of one campaign\n"
    "  --time=SECONDS    stop after this long, whatever is left (default: no limit)\n"
    "  --budget=N        instructions per engine per stream (default 600)\n"
    "  --loader-budget=N instructions run after a guest image loads (default 20000)\n"
    "  --timeout=SECONDS host time after which a case is a hang (default 10)\n"
    "  --soft-limit=S    host time after which a guest run is stopped and not compared (0.02)\n"
    "  --slow=MS         name every case that takes longer than MS milliseconds\n"
    "  --findings=DIR    where reproducers go (default fuzz-findings)\n"
    "  --replay FILE     run one reproducer in this process and report\n"
    "  --no-fork         run the cases in this process (no crash/hang recovery)\n"
    "  --quiet           no progress lines\n"
    "  --plant-difference  (harness test) change the JIT machine's EAX after every stream\n";

bool parse(int argc, char** argv, Options& o) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto val = [&](const char* name, std::string& out) {
      const std::string p = std::string(name) + "=";
      if (a.rfind(p, 0) == 0) {
        out = a.substr(p.size());
        return true;
      }
      if (a == name && i + 1 < argc) {
        out = argv[++i];
        return true;
      }
      return false;
    };
    std::string v;
    try {
      if (val("--fuzzers", v)) {
        o.fuzzers.clear();
        std::stringstream ss(v);
        for (std::string f; std::getline(ss, f, ',');) o.fuzzers.push_back(f);
      } else if (val("--seed", v)) o.seed = std::stoull(v, nullptr, 0);
      else if (val("--runs", v)) o.runs = static_cast<uint64_t>(std::stod(v));
      else if (val("--first", v)) o.first = std::stoull(v, nullptr, 0);
      else if (val("--time", v)) o.time_limit = std::stod(v);
      else if (val("--budget", v)) o.budget = std::stoull(v, nullptr, 0);
      else if (val("--loader-budget", v)) o.loader_budget = std::stoull(v, nullptr, 0);
      else if (val("--timeout", v)) o.timeout = std::stod(v);
      else if (val("--soft-limit", v)) o.soft_limit = std::stod(v);
      else if (val("--slow", v)) o.slow_ms = std::stod(v);
      else if (val("--findings", v)) o.findings = v;
      else if (val("--replay", v)) o.replay = v;
      else if (a == "--no-fork") o.fork = false;
      else if (a == "--quiet") o.quiet = true;
      else if (a == "--plant-difference") o.plant_difference = true;
      else if (a == "-h" || a == "--help") {
        fputs(kUsage, stdout);
        exit(0);
      } else {
        fprintf(stderr, "popek_fuzz: unknown option %s\n%s", a.c_str(), kUsage);
        return false;
      }
    } catch (const std::exception&) {
      fprintf(stderr, "popek_fuzz: bad value in %s\n", a.c_str());
      return false;
    }
  }
  return true;
}

std::unique_ptr<Fuzzer> make(const std::string& name, const Options& o) {
  if (name == "insn") return std::unique_ptr<Fuzzer>(make_insn_fuzzer(o.budget, o.soft_limit, o.plant_difference));
  if (name == "device") return std::unique_ptr<Fuzzer>(make_device_fuzzer());
  if (name == "loader") return std::unique_ptr<Fuzzer>(make_loader_fuzzer(o.loader_budget, o.soft_limit));
  if (name == "selftest") return std::make_unique<SelfTestFuzzer>();
  return nullptr;
}

// ---------------------------------------------------------------- shared with the child

constexpr size_t kMaxInput = 32u << 20;
constexpr int kMaxFuzzers = 4;

struct Shared {
  std::atomic<uint64_t> next;           // the next case (index * fuzzers + fuzzer) to run
  std::atomic<int64_t> started_ns;      // when the running case started; 0 when none runs
  std::atomic<uint32_t> done;           // the child finished its cases
  std::atomic<uint64_t> findings;       // oracle findings (the child wrote their files)
  int64_t t0_ns;                        // when the campaign started (--time counts from it)
  Counters counters[kMaxFuzzers];       // written by the child only
  uint64_t input_len;
  uint8_t input[kMaxInput];
};

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

uint64_t case_seed(uint64_t seed, unsigned fuzzer_id, uint64_t index) {
  return test::splitmix(test::splitmix(seed * 8 + fuzzer_id) ^ index);
}

// Stable ids for the seed: the position of a name in this list.
unsigned fuzzer_id(const std::string& name) {
  static const char* const kNames[] = {"insn", "device", "loader", "selftest"};
  for (unsigned i = 0; i < std::size(kNames); ++i)
    if (name == kNames[i]) return i;
  return 7;
}

std::string write_reproducer(const Options& o, const std::string& fuzzer, uint64_t index, const char* kind,
                             const std::string& what, const uint8_t* data, size_t len) {
  mkdir(o.findings.c_str(), 0777);
  char name[160];
  snprintf(name, sizeof name, "/%s-%s-s%" PRIu64 "-i%" PRIu64 ".case", kind, fuzzer.c_str(), o.seed, index);
  const std::string path = o.findings + name;
  FILE* f = fopen(path.c_str(), "wb");
  if (!f) {
    perror(("popek_fuzz: " + path).c_str());
    return path;
  }
  std::string line = what;
  for (char& ch : line)
    if (ch == '\n') ch = ' ';
  fprintf(f, "popek-fuzz-case 1 %s seed=%" PRIu64 " index=%" PRIu64 " %s: %s\n", fuzzer.c_str(), o.seed, index, kind,
          line.c_str());
  fwrite(data, 1, len, f);
  fclose(f);
  return path;
}

// The child: runs cases from sh->next on, round-robin over the fuzzers.
void run_cases(const Options& o, Shared* sh, bool supervised) {
  std::vector<std::unique_ptr<Fuzzer>> fz;
  for (const std::string& n : o.fuzzers) fz.push_back(make(n, o));
  const uint64_t total = o.runs * fz.size();
  const int64_t t0 = sh->t0_ns;
  int64_t last_report = now_ns();
  for (uint64_t k = sh->next.load(); k < total; k = sh->next.load()) {
    if (o.time_limit > 0 && (now_ns() - t0) / 1e9 >= o.time_limit) break;
    const unsigned f = static_cast<unsigned>(k % fz.size());
    const uint64_t index = o.first + k / fz.size();
    Rng r(case_seed(o.seed, fuzzer_id(o.fuzzers[f]), index));
    std::vector<uint8_t> input = fz[f]->generate(r);
    if (input.size() > kMaxInput) input.resize(kMaxInput);
    if (!input.empty()) std::memcpy(sh->input, input.data(), input.size());
    sh->input_len = input.size();
    sh->next = k + 1;  // a child that dies here is restarted past this case
    sh->started_ns = now_ns();
    const std::string bad = fz[f]->run(input, sh->counters[f]);
    const double ms = (now_ns() - sh->started_ns) / 1e6;
    sh->started_ns = 0;
    if (o.slow_ms > 0 && ms > o.slow_ms)
      fprintf(stderr, "popek_fuzz: slow: %s case %" PRIu64 " took %.1f ms\n", o.fuzzers[f].c_str(), index, ms);
    if (!bad.empty()) {
      ++sh->findings;
      const std::string path = write_reproducer(o, o.fuzzers[f], index, "finding", bad, input.data(), input.size());
      fprintf(stderr, "popek_fuzz: FINDING %s case %" PRIu64 ": %s\n  reproducer: %s\n", o.fuzzers[f].c_str(), index,
              bad.c_str(), path.c_str());
    }
    if (!o.quiet && now_ns() - last_report > 30'000'000'000) {
      last_report = now_ns();
      fprintf(stderr, "popek_fuzz: %" PRIu64 " of %" PRIu64 " cases, %.0f s\n", k + 1, total, (last_report - t0) / 1e9);
    }
  }
  sh->done = 1;
  if (supervised) {
    fflush(stdout);
    fflush(stderr);
    _exit(0);  // the parent reports; no destructors racing a sanitizer's exit checks
  }
}

int campaign(const Options& o) {
  for (const std::string& n : o.fuzzers) {
    if (!make(n, o)) {
      fprintf(stderr, "popek_fuzz: unknown fuzzer '%s'\n", n.c_str());
      return 2;
    }
  }
  if (o.fuzzers.size() > static_cast<size_t>(kMaxFuzzers)) {
    fprintf(stderr, "popek_fuzz: at most %d fuzzers at once\n", kMaxFuzzers);
    return 2;
  }
  void* mem = mmap(nullptr, sizeof(Shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) {
    perror("popek_fuzz: mmap");
    return 2;
  }
  Shared* sh = new (mem) Shared;  // the input buffer stays untouched (mmap gave zeros)
  const int64_t t0 = now_ns();
  sh->t0_ns = t0;
  uint64_t crashes = 0, hangs = 0;
  if (!o.fork) {
    run_cases(o, sh, false);
  } else {
    while (!sh->done) {
      const pid_t child = fork();
      if (child < 0) {
        perror("popek_fuzz: fork");
        return 2;
      }
      if (child == 0) {
        run_cases(o, sh, true);
        _exit(0);
      }
      int status = 0;
      const char* kind = nullptr;
      for (;;) {
        const pid_t w = waitpid(child, &status, WNOHANG);
        if (w == child) {
          if (!sh->done || !WIFEXITED(status) || WEXITSTATUS(status) != 0) kind = "crash";
          break;
        }
        const int64_t started = sh->started_ns;
        if (started && (now_ns() - started) / 1e9 > o.timeout) {
          kill(child, SIGKILL);
          waitpid(child, &status, 0);
          kind = "hang";
          break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
      if (!kind) break;
      // The case that was running is the one before sh->next.
      const uint64_t k = sh->next - 1;
      const size_t nf = o.fuzzers.size();
      const std::string& fname = o.fuzzers[k % nf];
      const uint64_t index = o.first + k / nf;
      char what[96];
      if (kind[0] == 'h') snprintf(what, sizeof what, "still running after %.0f s of host time", o.timeout);
      else if (WIFSIGNALED(status)) snprintf(what, sizeof what, "the process died of signal %d (%s)", WTERMSIG(status), strsignal(WTERMSIG(status)));
      else snprintf(what, sizeof what, "the process exited with status %d", WEXITSTATUS(status));
      kind[0] == 'h' ? ++hangs : ++crashes;
      const std::string path = write_reproducer(o, fname, index, kind, what, sh->input, sh->input_len);
      fprintf(stderr, "popek_fuzz: %s %s case %" PRIu64 ": %s\n  reproducer: %s (popek_fuzz --replay %s)\n",
              kind[0] == 'h' ? "HANG" : "CRASH", fname.c_str(), index, what, path.c_str(), path.c_str());
      sh->started_ns = 0;
    }
  }
  const double secs = (now_ns() - t0) / 1e9;
  Counters all;
  for (size_t f = 0; f < o.fuzzers.size(); ++f) {
    const Counters& c = sh->counters[f];
    all.streams += c.streams, all.inputs += c.inputs, all.guest_insns += c.guest_insns;
    all.rejected += c.rejected, all.fatal_stops += c.fatal_stops, all.resets += c.resets;
    all.cut += c.cut, all.idle += c.idle;
    all.end_real += c.end_real, all.end_cpl3 += c.end_cpl3, all.end_paging += c.end_paging;
    all.jit_blocks += c.jit_blocks, all.jit_block_runs += c.jit_block_runs;
  }
  const uint64_t findings = sh->findings;
  printf("popek_fuzz: seed %" PRIu64 ", cases %" PRIu64 "-%" PRIu64 " of %s, %.1f s\n", o.seed, o.first,
         o.first + o.runs - 1, [&] {
           std::string s;
           for (const std::string& n : o.fuzzers) s += (s.empty() ? "" : ",") + n;
           return s;
         }().c_str(), secs);
  printf("  runs: %" PRIu64 "\n", all.streams + all.inputs);
  printf("  instruction streams: %" PRIu64 " (each on the interpreter and the JIT), %" PRIu64
         " guest instructions in all\n", all.streams, all.guest_insns);
  if (all.streams) printf("  how guest runs ended early: %" PRIu64 " triple faults, %" PRIu64 " clean stops for what is not implemented, %"
         PRIu64 " halted for good, %" PRIu64 " stopped by the %.2f s soft limit (not compared)\n",
         all.resets, all.fatal_stops, all.idle, all.cut, o.soft_limit);
  if (all.streams) {
    printf("  where they ended: %" PRIu64 " in real mode, %" PRIu64 " at CPL 3, %" PRIu64 " with paging on; the JIT"
           " translated %" PRIu64 " blocks and ran them %" PRIu64 " times\n",
           all.end_real, all.end_cpl3, all.end_paging, all.jit_blocks, all.jit_block_runs);
  }
  for (size_t f = 0; f < o.fuzzers.size(); ++f) {
    const Counters& c = sh->counters[f];
    if (o.fuzzers[f] == "insn") continue;
    printf("  %s inputs: %" PRIu64, o.fuzzers[f].c_str(), c.inputs);
    if (o.fuzzers[f] == "loader") printf(" (%" PRIu64 " refused with a one-line error)", c.rejected);
    printf("\n");
  }
  printf("  device/loader inputs: %" PRIu64 "\n", all.inputs);
  printf("  crashes: %" PRIu64 ", hangs: %" PRIu64 ", findings: %" PRIu64 "%s%s\n", crashes, hangs, findings,
         crashes + hangs + findings ? "; reproducers in " : "", crashes + hangs + findings ? o.findings.c_str() : "");
  // For scripts/fuzz.sh, which adds up the figures of its jobs.
  printf("popek_fuzz totals: streams=%" PRIu64 " inputs=%" PRIu64 " insns=%" PRIu64 " cut=%" PRIu64
         " crashes=%" PRIu64 " hangs=%" PRIu64 " findings=%" PRIu64 "\n",
         all.streams, all.inputs, all.guest_insns, all.cut, crashes, hangs, findings);
  munmap(mem, sizeof(Shared));
  return crashes + hangs + findings ? 1 : 0;
}

int replay(const Options& o) {
  std::ifstream f(o.replay, std::ios::binary);
  if (!f) {
    fprintf(stderr, "popek_fuzz: cannot open %s\n", o.replay.c_str());
    return 2;
  }
  std::string line;
  std::getline(f, line);
  std::istringstream ls(line);
  std::string magic, version, name;
  ls >> magic >> version >> name;
  if (magic != "popek-fuzz-case") {
    fprintf(stderr, "popek_fuzz: %s is not a reproducer (no popek-fuzz-case line)\n", o.replay.c_str());
    return 2;
  }
  const std::vector<uint8_t> input((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  std::unique_ptr<Fuzzer> fz = make(name, o);
  if (!fz) {
    fprintf(stderr, "popek_fuzz: unknown fuzzer '%s' in %s\n", name.c_str(), o.replay.c_str());
    return 2;
  }
  printf("popek_fuzz: replaying %s (%zu bytes): %s\n", o.replay.c_str(), input.size(), line.c_str());
  fflush(stdout);
  Counters c;
  const std::string bad = fz->run(input, c);
  if (!bad.empty()) {
    printf("popek_fuzz: FINDING: %s\n", bad.c_str());
    return 1;
  }
  printf("popek_fuzz: the case runs cleanly\n");
  return 0;
}

}  // namespace
}  // namespace popek::fuzz

int main(int argc, char** argv) {
  popek::fuzz::Options o;
  if (!popek::fuzz::parse(argc, argv, o)) return 2;
  if (!o.replay.empty()) return popek::fuzz::replay(o);
  return popek::fuzz::campaign(o);
}
