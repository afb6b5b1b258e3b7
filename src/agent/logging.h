#pragma once

#include <spdlog/formatter.h>

#include <memory>

#include "config/config.h"

namespace pgvigil::agent {

// One line per record whatever the message holds: logfmt (ts=… level=… msg="…", the Prometheus
// exporters' default) or one JSON object.
[[nodiscard]] std::unique_ptr<spdlog::formatter> MakeLogFormatter(
    const config::LogSettings& settings);

// The default spdlog logger writes to stderr in the configured format.
void SetUpLogging(const config::LogSettings& settings);

}  // namespace pgvigil::agent
