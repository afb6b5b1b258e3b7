#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "config/duration.h"
#include "metrics/descriptor.h"

// The table knows targets and settings by name only: config reads the table (the keys it
// accepts), so the table must not need config's definitions (docs/architecture.md).
namespace pgvigil::config {
struct Target;
struct TargetSettings;
enum class TargetKind;
}  // namespace pgvigil::config

namespace pgvigil::collectors {

class Collector;
struct Observations;

// One row of the collector table: the only list of collectors there is, and everything the
// rest of the agent needs to know about one (docs/architecture.md, adding a collector). Config
// learns `<interval_key>` and `collectors.<name>` from it; each target's worker builds, paces
// and shares its collectors from it; docs and tests check the metrics it declares.
struct CollectorInfo {
  [[nodiscard]] bool RunsOn(config::TargetKind kind) const;

  std::string_view name;
  bool enabled_by_default;
  // The setting that paces it, and that setting's default. A collector may follow another's
  // interval (the log follows the probe's): then the default is left zero and the owner's holds.
  std::string_view interval_key;
  config::Duration default_interval;
  std::unique_ptr<Collector> (*make)(const config::Target& target);
  // The kinds of target it runs on (the probe on both; the rest on one).
  bool on_postgres = true;
  bool on_pgbouncer = false;
  // Set for a collector of a cluster-wide view, read once for every target on the cluster
  // (agent::SharedCollector): copies what its runs observed into a target's observations.
  void (*share)(const Observations& from, Observations& to) = nullptr;
  // For a shared collector: what, besides the cluster and its interval, must be equal for two
  // targets to share its reads (the settings that change what it reports).
  std::string (*share_key)(const config::TargetSettings& settings,
                           const Observations& observations) = nullptr;
  // Whether a late run measures the agent's own delay (the probe: its latency would include it).
  bool counts_late_runs = false;
  // Whether its last run decides pg_up and readiness (the probe), at its interval.
  bool decides_up = false;
  // The series it exports, each declared once (name, type, help, label names).
  std::span<const metrics::Descriptor> metrics = {};
};

[[nodiscard]] const std::vector<CollectorInfo>& CollectorTable();

// The interval settings the table defines, each once, with its default, in table order.
struct IntervalSetting {
  std::string_view key;
  config::Duration default_value;
};
[[nodiscard]] std::vector<IntervalSetting> IntervalSettings();

// The row named `name`, or nullptr.
[[nodiscard]] const CollectorInfo* FindCollector(std::string_view name);

}  // namespace pgvigil::collectors
