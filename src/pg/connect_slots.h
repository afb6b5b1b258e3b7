#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <list>
#include <mutex>
#include <optional>
#include <stop_token>

namespace pgvigil::pg {

// Caps the connection attempts in flight across every target of the agent (monitoring
// sessions, reconnects and connect probes alike), first come first served. A thousand targets
// starting together, or reconnecting after their server restarted, then queue in the agent
// instead of bursting at the server: no connect times out because the agent opened hundreds
// at once, and no connect latency measures the agent's own burst (the time in the queue is
// kept apart). Thread-safe: every worker shares one.
class ConnectSlots {
 public:
  explicit ConnectSlots(std::size_t limit);
  ConnectSlots(const ConnectSlots&) = delete;
  ConnectSlots& operator=(const ConnectSlots&) = delete;

  // A slot held until destroyed.
  class Slot {
   public:
    Slot(Slot&& other) noexcept : owner_(other.owner_) { other.owner_ = nullptr; }
    Slot& operator=(Slot&&) = delete;
    Slot(const Slot&) = delete;
    Slot& operator=(const Slot&) = delete;
    ~Slot();

   private:
    friend class ConnectSlots;
    explicit Slot(ConnectSlots* owner) : owner_(owner) {}
    ConnectSlots* owner_;
  };

  // Waits for a free slot, after every caller that came earlier. Empty if `stop` was requested
  // first.
  [[nodiscard]] std::optional<Slot> Acquire(const std::stop_token& stop);

  struct Stats {
    std::size_t limit = 0;
    std::size_t in_flight = 0;
    std::size_t waiting = 0;
    double waits_total = 0;         // acquisitions that had to wait
    double wait_seconds_total = 0;  // time spent waiting, all of them
  };
  [[nodiscard]] Stats stats() const;

 private:
  void Release();

  const std::size_t limit_;
  mutable std::mutex mutex_;
  std::condition_variable_any changed_;
  std::size_t in_flight_ = 0;
  std::list<int> queue_;  // one entry per waiter, in arrival order
  double waits_total_ = 0;
  double wait_seconds_total_ = 0;
};

}  // namespace pgvigil::pg
