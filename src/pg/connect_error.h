#pragma once

#include <string>
#include <string_view>

namespace pgvigil::pg {

// A failed connection as libpq described it. libpq gives no PGresult for a failed connection,
// but with PQERRORS_VERBOSE set before the server answers the startup packet, each error the
// server sent reads `<severity>:  <SQLSTATE>: <text>` (followed by a LOCATION line), e.g.
// `connection to server at "db", port 5432 failed: FATAL:  53300: too many connections for
// role "web"`. The severity word is translated by the server's lc_messages; the SQLSTATE is not,
// so that is what callers classify by, never the text.
struct ConnectFailure {
  std::string message;   // libpq's text without the LOCATION lines and trailing newlines
  std::string sqlstate;  // the last SQLSTATE a server sent; "" for network or client errors
};

// Never throws on any input (the text comes from the network through libpq).
[[nodiscard]] ConnectFailure ParseConnectError(std::string_view libpq_message);

}  // namespace pgvigil::pg
