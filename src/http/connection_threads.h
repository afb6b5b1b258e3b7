#pragma once

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

namespace pgvigil::http {

// Connections served at once, each on a thread of its own (as Go's server does): slow or idle
// clients hold their own threads, never the ones scrapes need. Beyond this, new connections
// wait for a free thread.
constexpr std::size_t kMaxConnections = 512;
// How long a stop waits for connections still open; the rest are left to the process exit.
constexpr auto kStopGrace = std::chrono::seconds(2);

// httplib's task queue, one detached thread per connection. The threads share their
// bookkeeping through a shared_ptr, so a thread that outlives a timed-out shutdown touches
// nothing freed. Shared by the accept thread and the connection threads.
class ConnectionThreads final : public httplib::TaskQueue {
 public:
  explicit ConnectionThreads(std::shared_ptr<std::atomic<bool>> left_running)
      : state_(std::make_shared<State>()), left_running_(std::move(left_running)) {}

  void enqueue(std::function<void()> fn) override {
    std::lock_guard lock(state_->mutex);
    if (state_->running >= kMaxConnections) {
      state_->waiting.push_back(std::move(fn));
      return;
    }
    ++state_->running;
    Spawn(state_, std::move(fn));
  }

  void shutdown() override {
    std::unique_lock lock(state_->mutex);
    const bool done = state_->idle.wait_for(
        lock, kStopGrace, [&] { return state_->running == 0 && state_->waiting.empty(); });
    state_->waiting.clear();
    if (!done) left_running_->store(true);
  }

 private:
  struct State {
    std::mutex mutex;
    std::condition_variable idle;
    std::size_t running = 0;
    std::deque<std::function<void()>> waiting;
  };

  static void Spawn(const std::shared_ptr<State>& state, std::function<void()> fn) {
    std::thread([state, fn = std::move(fn)]() mutable {
      while (fn) {
        fn();
        std::lock_guard lock(state->mutex);
        if (state->waiting.empty()) {
          fn = nullptr;
          --state->running;
          state->idle.notify_all();
        } else {
          fn = std::move(state->waiting.front());
          state->waiting.pop_front();
        }
      }
    }).detach();
  }

  std::shared_ptr<State> state_;
  std::shared_ptr<std::atomic<bool>> left_running_;
};

}  // namespace pgvigil::http
