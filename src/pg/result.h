#pragma once

#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace pgvigil::pg {

// Why a database call failed; the probe turns this into its `reason` label.
enum class ErrorKind {
  kConnect,  // could not open or authenticate a connection
  kTimeout,  // statement_timeout fired, or the server stopped answering within the deadline
  kQuery,    // the server answered with an error, or the connection broke mid-query
};

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, const std::string& message, std::string sqlstate = "")
      : std::runtime_error(message), kind_(kind), sqlstate_(std::move(sqlstate)) {}

  [[nodiscard]] ErrorKind kind() const { return kind_; }
  [[nodiscard]] const std::string& sqlstate() const { return sqlstate_; }

 private:
  ErrorKind kind_;
  std::string sqlstate_;
};

// A query's rows as text, copied out of libpq so that nothing outside pg/ sees a PGresult.
// NULL is std::nullopt, never an empty string or 0.
class Rows {
 public:
  Rows() = default;
  Rows(std::vector<std::string> columns, std::vector<std::vector<std::optional<std::string>>> rows)
      : columns_(std::move(columns)), rows_(std::move(rows)) {}

  [[nodiscard]] std::size_t size() const { return rows_.size(); }
  [[nodiscard]] bool empty() const { return rows_.empty(); }

  // Index of a column by name; throws Error(kQuery) if the query did not return it.
  [[nodiscard]] std::size_t Column(std::string_view name) const;
  // The column's index, or nullopt where this server version has no such column.
  [[nodiscard]] std::optional<std::size_t> FindColumn(std::string_view name) const;

  [[nodiscard]] const std::optional<std::string>& At(std::size_t row, std::size_t column) const {
    return rows_.at(row).at(column);
  }
  // The value as a number; nullopt for NULL. Throws Error(kQuery) for text that is not a number.
  [[nodiscard]] std::optional<double> Number(std::size_t row, std::size_t column) const;
  // The value as text; `if_null` for NULL.
  [[nodiscard]] std::string Text(std::size_t row, std::size_t column,
                                 std::string_view if_null = "") const;
  // PostgreSQL's boolean text ("t" / "f"); nullopt for NULL.
  [[nodiscard]] std::optional<bool> Bool(std::size_t row, std::size_t column) const;

 private:
  std::vector<std::string> columns_;
  std::vector<std::vector<std::optional<std::string>>> rows_;
};

// What collectors talk to: the monitoring connection in production, canned rows in unit tests.
// Used by one thread at a time.
class Session {
 public:
  virtual ~Session() = default;
  // Runs SQL (one or more statements) and returns the rows of the last one. Throws Error.
  virtual Rows Query(std::string_view sql) = 0;
  // server_version_num of the connected server, e.g. 150018.
  [[nodiscard]] virtual int ServerVersionNum() const = 0;
  // False once the session broke; it never recovers.
  [[nodiscard]] virtual bool Usable() const { return true; }
};

}  // namespace pgvigil::pg
