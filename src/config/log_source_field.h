#pragma once

#include <string>

#include "config/config.h"
#include "config/yaml_reader.h"

namespace pgvigil::config {

// `log_source:` (docs/logs.md): read key by key into what `source` already holds (a target's
// keys merge into the defaults'), checked for one source at most and a format it can read.
void ReadLogSource(const YamlReader& reader, const YAML::Node& node, const std::string& path,
                   LogSource& source);

// Prints it back for --check-config: the drain's token file's path, never the token.
void EmitLogSource(YAML::Emitter& out, const LogSource& log);

}  // namespace pgvigil::config
