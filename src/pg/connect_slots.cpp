#include "pg/connect_slots.h"

#include <algorithm>

namespace pgvigil::pg {

ConnectSlots::ConnectSlots(std::size_t limit) : limit_(std::max<std::size_t>(limit, 1)) {}

ConnectSlots::Slot::~Slot() {
  if (owner_ != nullptr) owner_->Release();
}

std::optional<ConnectSlots::Slot> ConnectSlots::Acquire(const std::stop_token& stop) {
  std::unique_lock lock(mutex_);
  if (queue_.empty() && in_flight_ < limit_) {
    ++in_flight_;
    return Slot(this);
  }
  const auto start = std::chrono::steady_clock::now();
  const auto me = queue_.insert(queue_.end(), 0);
  const bool admitted =
      changed_.wait(lock, stop, [&] { return queue_.begin() == me && in_flight_ < limit_; });
  queue_.erase(me);
  changed_.notify_all();  // the next in line may be admitted now, or move to the front
  waits_total_ += 1;
  wait_seconds_total_ +=
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!admitted) return std::nullopt;
  ++in_flight_;
  return Slot(this);
}

void ConnectSlots::Release() {
  {
    std::lock_guard lock(mutex_);
    --in_flight_;
  }
  changed_.notify_all();
}

ConnectSlots::Stats ConnectSlots::stats() const {
  std::lock_guard lock(mutex_);
  return {limit_, in_flight_, queue_.size(), waits_total_, wait_seconds_total_};
}

}  // namespace pgvigil::pg
