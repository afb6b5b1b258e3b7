#pragma once

#include <string>

namespace pgvigil::pg {

// The DSN with any password replaced by "REDACTED", for logs and --check-config. A DSN libpq
// cannot parse is returned as a fixed placeholder rather than echoed, since it may hold a secret.
[[nodiscard]] std::string RedactDsn(const std::string& dsn);

// libpq's own complaint about a DSN, or "" when it parses.
[[nodiscard]] std::string DsnError(const std::string& dsn);

}  // namespace pgvigil::pg
