#pragma once

#include <optional>
#include <string_view>

#include "logs/record.h"

namespace pgvigil::logs {

// One csvlog record: fields 1 (time), 4 (pid), 12 (severity), 13 (SQLSTATE), 14 (message) and
// 23 (application_name).
[[nodiscard]] std::optional<LogRecord> ParseCsvlog(std::string_view record);

}  // namespace pgvigil::logs
