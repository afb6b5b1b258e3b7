#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <stop_token>
#include <string>

#include "pg/result.h"

struct pg_conn;

namespace pgvigil::pg {

struct ConnectOptions {
  std::string dsn;       // any libpq connection string or URI; "" means libpq's defaults
  std::string password;  // from password_file; overrides the DSN's when set
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds query_timeout{3000};
  // The persistent monitoring session also sets statement_timeout, lock_timeout and
  // default_transaction_read_only; the connect probe leaves its session as the server made it.
  bool monitoring_session = true;
  // Requests to stop (agent shutdown) abort a wait within 100 ms instead of at its deadline.
  std::stop_token stop;
};

// One PostgreSQL connection, owned by one thread at a time (a target's worker).
//
// No call blocks past its deadline: connecting is bounded by connect_timeout, and a query by
// query_timeout plus a short grace. The server enforces query_timeout itself as
// statement_timeout; the client-side deadline catches a server that stopped answering at all
// (a frozen host, SIGSTOP, a dead network path). Such a connection is closed rather than
// cancelled, because libpq's PQcancel waits for the server without any timeout.
class Connection final : public Session {
 public:
  // Throws Error(kConnect) if the server cannot be reached or refuses the session.
  [[nodiscard]] static std::unique_ptr<Connection> Open(const ConnectOptions& options);

  // Every statement is sent with a leading "/* pgvigil */" comment, which pg_stat_statements
  // keeps in its query text: that is how the agent recognises its own statements there.
  Rows Query(std::string_view sql) override;
  [[nodiscard]] int ServerVersionNum() const override;
  // Queries sent on this connection so far.
  [[nodiscard]] std::uint64_t QueriesSent() const { return queries_sent_; }

  // False once the connection broke or was closed after a deadline; it never recovers.
  [[nodiscard]] bool Usable() const;

 private:
  struct Finisher {
    void operator()(pg_conn* conn) const noexcept;
  };

  Connection(std::unique_ptr<pg_conn, Finisher> conn, std::chrono::milliseconds query_deadline,
             std::stop_token stop);
  [[noreturn]] void FailBroken(ErrorKind kind, const std::string& message);

  std::unique_ptr<pg_conn, Finisher> conn_;
  std::chrono::milliseconds query_deadline_;
  std::stop_token stop_;
  std::uint64_t queries_sent_ = 0;
};

}  // namespace pgvigil::pg
