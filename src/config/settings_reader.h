#pragma once

#include <string>
#include <vector>

#include "config/config.h"
#include "config/yaml_reader.h"

namespace pgvigil::config {

// The keys of `defaults:`, each of which a target may override (docs/configuration.md).
[[nodiscard]] const std::vector<std::string>& SettingKeys();

// Reads the value of `key`, one of SettingKeys(), into `settings`; nested maps (collectors,
// log_source) merge key by key into what `settings` already holds.
void ReadSetting(const YamlReader& reader, const YAML::Node& node, const std::string& key,
                 const std::string& path, TargetSettings& settings);

}  // namespace pgvigil::config
