#pragma once

#include <chrono>
#include <cstdint>
#include <string_view>

#include "collectors/collector.h"
#include "config/config.h"
#include "config/duration.h"
#include "config/sharding.h"

namespace pgvigil::agent {

// When a target's collector runs. Every collector of every target has a phase of its own, a
// stable hash of target and collector names modulo the interval, so that a thousand targets
// started together do not poll (and probe, and measure one another's load) in the same second:
// runs fall on the grid phase + k·interval of the steady clock, plus a small jitter that keeps
// targets whose phases happen to be close from staying in lockstep. Pure: the tests drive it
// with a fake clock.
class Schedule {
 public:
  using TimePoint = collectors::SteadyClock::time_point;

  Schedule(std::string_view target, std::string_view collector, config::Duration interval);

  // The run after one that started at `start` (its first run is at once, docs/architecture.md): the
  // first grid point at least half an interval after `start`, plus `jitter_fraction` (in [0, 1)) of
  // the jitter allowance (5% of the interval, 500 ms at most).
  [[nodiscard]] TimePoint After(TimePoint start, double jitter_fraction) const;

  [[nodiscard]] config::Duration phase() const { return phase_; }
  [[nodiscard]] config::Duration interval() const { return interval_; }
  [[nodiscard]] config::Duration max_jitter() const;

 private:
  config::Duration interval_;
  config::Duration phase_;
};

using config::StableHash;

}  // namespace pgvigil::agent
