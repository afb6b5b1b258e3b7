#include "agent/schedule.h"

#include <algorithm>

namespace pgvigil::agent {

Schedule::Schedule(std::string_view target, std::string_view collector, config::Duration interval)
    : interval_(std::max(interval, config::Duration(1))) {
  std::string key(target);
  key += '\0';
  key += collector;
  phase_ = config::Duration(StableHash(key) % static_cast<std::uint64_t>(interval_.count()));
}

config::Duration Schedule::max_jitter() const {
  return std::min(interval_ / 20, config::Duration(std::chrono::milliseconds(500)));
}

Schedule::TimePoint Schedule::After(TimePoint start, double jitter_fraction) const {
  const auto earliest =
      std::chrono::duration_cast<config::Duration>((start + interval_ / 2).time_since_epoch()) -
      phase_;
  // The first k with phase + k·interval >= earliest.
  auto k = earliest.count() / interval_.count();
  if (k * interval_.count() < earliest.count()) ++k;
  const config::Duration grid = phase_ + k * interval_;
  const auto jitter = std::chrono::duration_cast<config::Duration>(
      std::chrono::duration<double, config::Duration::period>(
          std::clamp(jitter_fraction, 0.0, 1.0) * static_cast<double>(max_jitter().count())));
  return TimePoint(std::chrono::duration_cast<TimePoint::duration>(grid + jitter));
}

}  // namespace pgvigil::agent
