#pragma once

#include <string>
#include <string_view>

namespace pgvigil::pg {

// Quoting of names and values the agent splices into its SQL (a schema name read from
// pg_extension, the log_fdw schema and server from the config, a log file name).
//
// Ours rather than libpq's PQescapeIdentifier/PQescapeLiteral: those need the PGconn, and the
// SQL is built where there is none — collectors speak to a pg::Session (canned rows in unit
// tests), and the log_fdw source names its table when it is constructed. The rules are the
// server's and need no connection state: the text is copied byte for byte, which is right for
// UTF-8 and every other server encoding (none has a byte below 0x80 inside a multibyte
// character). A NUL byte cannot be sent at all (libpq reads a query up to it); the server's
// names hold none.

// "name", each " doubled: a delimited identifier, case and spaces kept. An empty name gives
// "", which the server refuses as a zero-length identifier (as it should: there is no such
// object).
[[nodiscard]] std::string QuoteIdentifier(std::string_view name);

// 'text', each ' doubled; when the text holds a backslash, E'…' with each \ doubled too, so the
// value reads the same whatever standard_conforming_strings says.
[[nodiscard]] std::string QuoteLiteral(std::string_view text);

}  // namespace pgvigil::pg
