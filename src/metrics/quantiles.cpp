#include "metrics/quantiles.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace pgvigil::metrics {

void SlidingWindow::Add(Clock::time_point at, double value) { values_.emplace_back(at, value); }

void SlidingWindow::Trim(Clock::time_point now, Clock::duration window) {
  while (!values_.empty() && values_.front().first < now - window) values_.pop_front();
}

std::optional<double> SlidingWindow::Quantile(double q) const {
  if (values_.empty()) return std::nullopt;
  std::vector<double> sorted;
  sorted.reserve(values_.size());
  for (const auto& entry : values_) sorted.push_back(entry.second);
  std::sort(sorted.begin(), sorted.end());
  const auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(sorted.size())));
  return sorted[std::clamp<std::size_t>(rank, 1, sorted.size()) - 1];
}

}  // namespace pgvigil::metrics
