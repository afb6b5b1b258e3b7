#pragma once

#include <optional>
#include <string_view>

#include "logs/record.h"

namespace pgvigil::logs {

// One jsonlog record (PostgreSQL 15+). A truncated or malformed record still yields its
// severity and SQLSTATE when they are in the kept part (they come early in each line).
[[nodiscard]] std::optional<LogRecord> ParseJsonlog(std::string_view record, bool truncated);

}  // namespace pgvigil::logs
