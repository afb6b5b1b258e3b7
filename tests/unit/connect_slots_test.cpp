#include "pg/connect_slots.h"

#include <gtest/gtest.h>

#include <atomic>
#include <optional>
#include <thread>
#include <vector>

namespace pgvigil::pg {
namespace {

using namespace std::chrono_literals;

TEST(ConnectSlotsTest, NeverMoreInFlightThanTheLimit) {
  ConnectSlots slots(3);
  // The three slots held first, so that every one of the 21 attempts has to wait (however the
  // threads happen to be scheduled: under TSan a late thread could otherwise find a slot free).
  std::vector<std::optional<ConnectSlots::Slot>> held;
  for (int i = 0; i < 3; ++i) held.push_back(slots.Acquire(std::stop_token()));
  std::atomic<int> in_flight = 0;
  std::atomic<int> most = 0;
  std::vector<std::jthread> threads;
  for (int i = 0; i < 21; ++i) {
    threads.emplace_back([&] {
      auto slot = slots.Acquire(std::stop_token());
      ASSERT_TRUE(slot.has_value());
      const int now = ++in_flight;
      int seen = most.load();
      while (now > seen && !most.compare_exchange_weak(seen, now)) {
      }
      std::this_thread::sleep_for(5ms);
      --in_flight;
    });
  }
  while (slots.stats().waiting < 21) std::this_thread::sleep_for(1ms);
  EXPECT_EQ(slots.stats().in_flight, 3u);
  held.clear();
  threads.clear();
  EXPECT_LE(most.load(), 3);
  EXPECT_GE(most.load(), 1);
  const auto stats = slots.stats();
  EXPECT_EQ(stats.in_flight, 0u);
  EXPECT_EQ(stats.waiting, 0u);
  EXPECT_EQ(stats.waits_total, 21);
}

TEST(ConnectSlotsTest, FirstComeFirstServed) {
  ConnectSlots slots(1);
  auto held = slots.Acquire(std::stop_token());
  std::vector<int> order;
  std::mutex mutex;
  std::vector<std::jthread> threads;
  for (int i = 0; i < 5; ++i) {
    threads.emplace_back([&, i] {
      auto slot = slots.Acquire(std::stop_token());
      std::lock_guard lock(mutex);
      order.push_back(i);
    });
    // Each waiter is queued before the next one arrives.
    while (slots.stats().waiting != static_cast<std::size_t>(i + 1)) std::this_thread::yield();
  }
  held.reset();
  threads.clear();
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4}));
}

TEST(ConnectSlotsTest, AStopEndsTheWaitAndLetsTheNextInLine) {
  ConnectSlots slots(1);
  auto held = slots.Acquire(std::stop_token());
  std::stop_source stop_first;
  std::atomic<bool> first_admitted = true;
  std::jthread first([&] { first_admitted = slots.Acquire(stop_first.get_token()).has_value(); });
  while (slots.stats().waiting != 1) std::this_thread::yield();
  std::atomic<bool> second_admitted = false;
  std::jthread second([&] {
    auto slot = slots.Acquire(std::stop_token());
    second_admitted = slot.has_value();
  });
  while (slots.stats().waiting != 2) std::this_thread::yield();
  stop_first.request_stop();
  first.join();
  EXPECT_FALSE(first_admitted.load());
  held.reset();
  second.join();
  EXPECT_TRUE(second_admitted.load());
  EXPECT_EQ(slots.stats().in_flight, 0u);
}

// pgvigil_connect_queue_wait_seconds_total: the time a waiter spent queued, bracketed by what the
// test sees — at least from when it was seen queued to the release, at most from before it
// asked to after it was admitted. The bounds follow from the order of events, not from timing.
TEST(ConnectSlotsTest, WaitSecondsAreTheTimeSpentQueued) {
  using Clock = std::chrono::steady_clock;
  ConnectSlots slots(1);
  auto held = slots.Acquire(std::stop_token());
  EXPECT_EQ(slots.stats().waits_total, 0);  // a free slot is not a wait
  const auto asked = Clock::now();
  Clock::time_point admitted;
  std::jthread waiter([&] {
    auto slot = slots.Acquire(std::stop_token());
    admitted = Clock::now();
  });
  while (slots.stats().waiting != 1) std::this_thread::yield();
  const auto queued = Clock::now();
  std::this_thread::sleep_for(150ms);
  const auto released = Clock::now();
  held.reset();
  waiter.join();
  const auto stats = slots.stats();
  const auto seconds = [](Clock::duration d) { return std::chrono::duration<double>(d).count(); };
  EXPECT_EQ(stats.waits_total, 1);
  EXPECT_GE(stats.wait_seconds_total, seconds(released - queued));
  EXPECT_LE(stats.wait_seconds_total, seconds(admitted - asked));
}

}  // namespace
}  // namespace pgvigil::pg
