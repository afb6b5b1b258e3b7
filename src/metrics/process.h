#pragma once

#include <span>

#include "metrics/family_set.h"

namespace pgvigil::metrics {

struct ProcessStats {
  double resident_memory_bytes = 0;
  double virtual_memory_bytes = 0;
  double cpu_seconds = 0;
  double start_time_seconds = 0;
  double open_fds = 0;
  double max_fds = 0;
};

// The agent's own process, read from /proc/self (Linux).
[[nodiscard]] ProcessStats ReadProcessStats();

// The series AddProcessMetrics adds.
[[nodiscard]] std::span<const Descriptor> ProcessMetrics();

// The standard process_* series, as every Prometheus client library names them.
void AddProcessMetrics(const ProcessStats& stats, FamilySet& out);

}  // namespace pgvigil::metrics
