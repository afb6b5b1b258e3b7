#pragma once

#include "config/config.h"

namespace pgvigil::agent {

// The default spdlog logger writes to stderr, as text or as one JSON object per line.
void SetUpLogging(const config::LogSettings& settings);

}  // namespace pgvigil::agent
