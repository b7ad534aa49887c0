#include "frontend/host_attention.h"

namespace popek::frontend {

void HostAttention::start_ticker(std::chrono::milliseconds period) {
  stop_ticker();
  stopping_ = false;
  ticker_ = std::thread([this, period] {
    std::unique_lock lock(mutex_);
    while (!wake_.wait_for(lock, period, [this] { return stopping_; })) {
      wanted.store(1, std::memory_order_release);
    }
  });
}

void HostAttention::stop_ticker() {
  if (!ticker_.joinable()) return;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  ticker_.join();
}

}  // namespace popek::frontend
