#pragma once

#include <memory>
#include <string_view>
#include <vector>

#include "config/config.h"

namespace pgvigil::collectors {

class Collector;
struct Observations;

// One row of the collector table: the only list of collectors there is. Config validation reads
// it (an unknown name is a config error) and each target's worker builds its collectors from it.
struct CollectorInfo {
  [[nodiscard]] bool RunsOn(config::TargetKind kind) const {
    return kind == config::TargetKind::kPgBouncer ? on_pgbouncer : on_postgres;
  }

  std::string_view name;
  bool enabled_by_default;
  config::Duration config::TargetSettings::*interval;
  std::unique_ptr<Collector> (*make)(const config::Target& target);
  // The kinds of target it runs on (the probe on both; the rest on one).
  bool on_postgres = true;
  bool on_pgbouncer = false;
  // Set for a collector of a cluster-wide view, read once for every target on the cluster
  // (agent::SharedCollector): copies what its runs observed into a target's observations.
  void (*share)(const Observations& from, Observations& to) = nullptr;
};

[[nodiscard]] const std::vector<CollectorInfo>& CollectorTable();

}  // namespace pgvigil::collectors
