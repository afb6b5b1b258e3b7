#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <stop_token>
#include <string>

#include "pg/connect_slots.h"
#include "pg/own_load.h"
#include "pg/result.h"

struct pg_conn;

namespace pgvigil::pg {

// The application_name of every session the agent opens: how its own log lines are told apart.
inline constexpr std::string_view kApplicationName = "pgvigil";

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
  // Where every statement sent on the connection is recorded (the agent's own load); optional.
  OwnLoad* own_load = nullptr;
  // The agent's cap on connects in flight; the attempt waits for a slot (its connect_timeout
  // starts once it has one). Optional.
  ConnectSlots* slots = nullptr;
  // PgBouncer's admin console: it takes SHOW commands only, so no session setup is sent and
  // statements go without the agent's leading comment.
  bool admin_console = false;
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

  // Every statement is sent with a leading "/* pgvigil */" comment, so that a DBA looking at
  // pg_stat_activity sees whose it is, and recorded in ConnectOptions::own_load.
  Rows Query(std::string_view sql) override;
  [[nodiscard]] int ServerVersionNum() const override;

  // False once the connection broke or was closed after a deadline; it never recovers.
  [[nodiscard]] bool Usable() const override;
  // How long Open() waited for a connect slot: the agent's own delay, not the server's.
  [[nodiscard]] std::chrono::steady_clock::duration queued() const { return queued_; }

 private:
  struct Finisher {
    void operator()(pg_conn* conn) const noexcept;
  };

  Connection(std::unique_ptr<pg_conn, Finisher> conn, std::chrono::milliseconds query_deadline,
             std::stop_token stop, OwnLoad* own_load);
  Rows Send(std::string_view sql);
  [[noreturn]] void FailBroken(ErrorKind kind, const std::string& message);

  std::unique_ptr<pg_conn, Finisher> conn_;
  std::chrono::milliseconds query_deadline_;
  std::stop_token stop_;
  OwnLoad* own_load_;
  std::chrono::steady_clock::duration queued_{};
  bool admin_console_ = false;
};

}  // namespace pgvigil::pg
