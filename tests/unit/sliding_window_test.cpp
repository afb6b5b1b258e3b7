#include <gtest/gtest.h>

#include "metrics/quantiles.h"

namespace pgvigil::metrics {
namespace {

using namespace std::chrono_literals;

TEST(SlidingWindowTest, NearestRankQuantiles) {
  SlidingWindow window;
  const auto start = SlidingWindow::Clock::time_point{};
  EXPECT_FALSE(window.Quantile(0.5).has_value());
  for (int i = 1; i <= 100; ++i) window.Add(start + i * 1s, i);
  EXPECT_DOUBLE_EQ(*window.Quantile(0.50), 50);
  EXPECT_DOUBLE_EQ(*window.Quantile(0.95), 95);
  EXPECT_DOUBLE_EQ(*window.Quantile(0.99), 99);
  EXPECT_DOUBLE_EQ(*window.Quantile(1.0), 100);
}

TEST(SlidingWindowTest, TrimDropsOldValues) {
  SlidingWindow window;
  const auto start = SlidingWindow::Clock::time_point{} + 1h;
  window.Add(start, 1000);
  window.Add(start + 200s, 1);
  window.Add(start + 400s, 2);
  window.Trim(start + 400s, 300s);
  EXPECT_EQ(window.size(), 2u);
  EXPECT_DOUBLE_EQ(*window.Quantile(1.0), 2);
}

}  // namespace
}  // namespace pgvigil::metrics
