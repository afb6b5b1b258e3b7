#pragma once

#include <memory>
#include <string_view>
#include <vector>

#include "config/config.h"

namespace pgvigil::collectors {

class Collector;

// One row of the collector table: the only list of collectors there is. Config validation reads
// it (an unknown name is a config error) and each target's worker builds its collectors from it.
struct CollectorInfo {
  std::string_view name;
  bool enabled_by_default;
  config::Duration config::TargetSettings::*interval;
  std::unique_ptr<Collector> (*make)(const config::Target& target);
};

[[nodiscard]] const std::vector<CollectorInfo>& CollectorTable();

}  // namespace pgvigil::collectors
