#pragma once

#include <string>

#include "config/config.h"

namespace pgvigil::config {

// The effective config as YAML, with passwords in DSNs redacted and password files not read out.
[[nodiscard]] std::string ToRedactedYaml(const Config& config);

}  // namespace pgvigil::config
