// When the run loop looks at the host: host signals, the console's Ctrl-A escapes and
// output flushing are looked at whenever `wanted` is set, whatever the guest is doing.
//
// The CPU polls `wanted` at every block boundary (Cpu::host_attention) and returns to the
// machine's run loop, which takes the flag, flushes output, pumps the console and checks
// `signal`. Two things set it: the SIGINT/SIGTERM handler (raise_signal), and a ticker
// thread every `period`, so that a guest that never reaches a check point of its own (a
// reboot loop, a REP of 4 G iterations, a spin loop, a halted guest paced to the host
// clock) is still looked at within a bounded host time. Looking is host-side only: the
// guest executes the same instructions at the same counts whether or when it happens.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>

namespace popek::frontend {

class HostAttention {
 public:
  HostAttention() = default;
  ~HostAttention() { stop_ticker(); }
  HostAttention(const HostAttention&) = delete;
  HostAttention& operator=(const HostAttention&) = delete;

  // Nonzero: the run loop should look at the host at the next block boundary.
  std::atomic<uint32_t> wanted{0};
  // The number of a signal that asked popek to stop (0: none).
  std::atomic<int> signal{0};

  // From a signal handler (lock-free atomics only: async-signal-safe).
  void raise_signal(int sig) {
    signal.store(sig, std::memory_order_relaxed);
    wanted.store(1, std::memory_order_release);
  }
  // Set `wanted` every `period` until stop_ticker() (idempotent).
  void start_ticker(std::chrono::milliseconds period);
  void stop_ticker();

  static_assert(std::atomic<uint32_t>::is_always_lock_free && std::atomic<int>::is_always_lock_free,
                "the signal handler needs lock-free atomics");

 private:
  std::thread ticker_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
};

}  // namespace popek::frontend
