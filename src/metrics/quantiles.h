#pragma once

#include <chrono>
#include <deque>
#include <optional>
#include <utility>

namespace pgvigil::metrics {

// Recent observations kept for a sliding window, for the quantiles /health reports. At the
// default 5 s probe and 5 m window that is 60 values, so exact quantiles are cheap.
class SlidingWindow {
 public:
  using Clock = std::chrono::steady_clock;

  void Add(Clock::time_point at, double value);
  // Drops what is older than `window` before `now`.
  void Trim(Clock::time_point now, Clock::duration window);

  // Nearest-rank quantile, q in [0, 1]; nullopt when the window is empty.
  [[nodiscard]] std::optional<double> Quantile(double q) const;
  [[nodiscard]] std::size_t size() const { return values_.size(); }

 private:
  std::deque<std::pair<Clock::time_point, double>> values_;
};

}  // namespace pgvigil::metrics
