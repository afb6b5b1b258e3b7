#include "pg/connection.h"

#include <libpq-fe.h>
#include <poll.h>

#include <array>
#include <cerrno>
#include <cmath>

#include "pg/connect_error.h"

namespace pgvigil::pg {
namespace {

using Clock = std::chrono::steady_clock;

// Time the client grants beyond statement_timeout before it decides the server is gone.
constexpr std::chrono::milliseconds kQueryGrace{1000};

struct ResultDeleter {
  void operator()(PGresult* result) const noexcept { PQclear(result); }
};
using ResultPtr = std::unique_ptr<PGresult, ResultDeleter>;

std::string Trimmed(const char* message) {
  std::string text = message != nullptr ? message : "";
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text.empty() ? "unknown libpq error" : text;
}

enum class WaitResult { kReady, kTimedOut, kStopped, kFailed };

constexpr long long kStopCheckMillis = 100;

WaitResult WaitForSocket(int socket, short events, Clock::time_point deadline,
                         const std::stop_token& stop) {
  if (socket < 0) return WaitResult::kFailed;
  while (true) {
    if (stop.stop_requested()) return WaitResult::kStopped;
    auto remaining =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (remaining <= 0) return WaitResult::kTimedOut;
    pollfd fd{socket, events, 0};
    int ready = ::poll(&fd, 1, static_cast<int>(std::min<long long>(remaining, kStopCheckMillis)));
    if (ready > 0) return WaitResult::kReady;
    if (ready < 0 && errno != EINTR) return WaitResult::kFailed;
  }
}

constexpr std::string_view kStatementMarker = "/* pgvigil */ ";

// A failed connect, with the SQLSTATE the server sent (too many connections, starting up…).
Error ConnectError(PGconn* conn) {
  ConnectFailure failure = ParseConnectError(PQerrorMessage(conn));
  return Error(ErrorKind::kConnect, failure.message, std::move(failure.sqlstate));
}

const char* kStoppedMessage = "the agent is shutting down";

std::string Milliseconds(std::chrono::milliseconds duration) {
  return std::to_string(duration.count()) + "ms";
}

Rows ToRows(const PGresult* result) {
  const int fields = PQnfields(result);
  const int tuples = PQntuples(result);
  std::vector<std::string> columns;
  columns.reserve(static_cast<std::size_t>(fields));
  for (int f = 0; f < fields; ++f) columns.emplace_back(PQfname(result, f));
  std::vector<std::vector<std::optional<std::string>>> rows(static_cast<std::size_t>(tuples));
  for (int t = 0; t < tuples; ++t) {
    auto& row = rows[static_cast<std::size_t>(t)];
    row.reserve(static_cast<std::size_t>(fields));
    for (int f = 0; f < fields; ++f) {
      if (PQgetisnull(result, t, f)) {
        row.emplace_back(std::nullopt);
      } else {
        row.emplace_back(std::string(PQgetvalue(result, t, f),
                                     static_cast<std::size_t>(PQgetlength(result, t, f))));
      }
    }
  }
  return Rows(std::move(columns), std::move(rows));
}

}  // namespace

void Connection::Finisher::operator()(pg_conn* conn) const noexcept { PQfinish(conn); }

Connection::Connection(std::unique_ptr<pg_conn, Finisher> conn,
                       std::chrono::milliseconds query_deadline, std::stop_token stop,
                       OwnLoad* own_load)
    : conn_(std::move(conn)),
      query_deadline_(query_deadline),
      stop_(std::move(stop)),
      own_load_(own_load) {}

std::unique_ptr<Connection> Connection::Open(const ConnectOptions& options) {
  const auto queued_from = Clock::now();
  const std::optional<ConnectSlots::Slot> slot =
      options.slots != nullptr ? options.slots->Acquire(options.stop) : std::nullopt;
  if (options.slots != nullptr && !slot) throw Error(ErrorKind::kConnect, kStoppedMessage);
  const auto queued = Clock::now() - queued_from;
  // libpq's own connect_timeout (whole seconds, at least 2) backs up the deadline below.
  const auto libpq_timeout = std::to_string(std::max<long long>(
      2, static_cast<long long>(std::ceil(options.connect_timeout.count() / 1000.0))));
  // Later keywords override what the expanded DSN in `dbname` sets.
  std::vector<const char*> keywords = {"dbname", "application_name", "connect_timeout"};
  std::vector<const char*> values = {options.dsn.c_str(), kApplicationName.data(),
                                     libpq_timeout.c_str()};
  if (!options.password.empty()) {
    keywords.push_back("password");
    values.push_back(options.password.c_str());
  }
  keywords.push_back(nullptr);
  values.push_back(nullptr);

  std::unique_ptr<pg_conn, Finisher> conn(
      PQconnectStartParams(keywords.data(), values.data(), /*expand_dbname=*/1));
  if (!conn) throw Error(ErrorKind::kConnect, "out of memory opening a connection");
  if (PQstatus(conn.get()) == CONNECTION_BAD) throw ConnectError(conn.get());
  // Before the server answers the startup packet: its refusal then carries the SQLSTATE
  // (docs/metrics.md, pg_probe_connect_refused_total). Queries go back to the default below.
  PQsetErrorVerbosity(conn.get(), PQERRORS_VERBOSE);
  const auto deadline = Clock::now() + options.connect_timeout;
  PostgresPollingStatusType status = PGRES_POLLING_WRITING;
  while (status != PGRES_POLLING_OK) {
    if (status == PGRES_POLLING_FAILED) throw ConnectError(conn.get());
    const short events = status == PGRES_POLLING_READING ? POLLIN : POLLOUT;
    switch (WaitForSocket(PQsocket(conn.get()), events, deadline, options.stop)) {
      case WaitResult::kReady:
        break;
      case WaitResult::kStopped:
        throw Error(ErrorKind::kConnect, kStoppedMessage);
      case WaitResult::kTimedOut:
        throw Error(ErrorKind::kConnect,
                    "connection not established within " + Milliseconds(options.connect_timeout));
      case WaitResult::kFailed:
        throw ConnectError(conn.get());
    }
    status = PQconnectPoll(conn.get());
  }
  PQsetErrorVerbosity(conn.get(), PQERRORS_DEFAULT);
  if (PQsetnonblocking(conn.get(), 1) != 0) {
    throw Error(ErrorKind::kConnect, Trimmed(PQerrorMessage(conn.get())));
  }

  // Its server log lines are the agent's own even where the log line prefix has no %a.
  if (options.own_load != nullptr && !options.admin_console) {
    options.own_load->RecordBackend(PQbackendPID(conn.get()));
  }
  // The backend ran a start-up transaction of its own, counted in pg_stat_database.
  if (options.own_load != nullptr && !options.admin_console) options.own_load->RecordSession();
  std::unique_ptr<Connection> connection(new Connection(
      std::move(conn), options.query_timeout + kQueryGrace, options.stop, options.own_load));
  connection->queued_ = queued;
  connection->admin_console_ = options.admin_console;
  if (options.monitoring_session && !options.admin_console) {
    // One statement (not three SETs), so the agent's own load holds it exactly; plain SQL, so
    // it passes through a pooler that refuses startup options.
    const std::string timeout = "'" + std::to_string(options.query_timeout.count()) + "'";
    try {
      (void)connection->Query("SELECT set_config('statement_timeout', " + timeout +
                              ", false), set_config('lock_timeout', " + timeout +
                              ", false), set_config('default_transaction_read_only', 'on', false)");
    } catch (const Error& e) {
      throw Error(ErrorKind::kConnect, std::string("setting up the session: ") + e.what());
    }
  }
  return connection;
}

bool Connection::Usable() const { return conn_ && PQstatus(conn_.get()) == CONNECTION_OK; }

int Connection::ServerVersionNum() const { return conn_ ? PQserverVersion(conn_.get()) : 0; }

void Connection::FailBroken(ErrorKind kind, const std::string& message) {
  conn_.reset();
  throw Error(kind, message);
}

Rows Connection::Query(std::string_view sql) {
  if (!Usable()) throw Error(ErrorKind::kQuery, "no connection to the server");
  const std::string fingerprint = own_load_ != nullptr ? own_load_->Begin(sql) : std::string();
  const auto start = Clock::now();
  try {
    Rows rows = Send(sql);
    if (own_load_ != nullptr) {
      own_load_->End(fingerprint, true,
                     std::chrono::duration<double>(Clock::now() - start).count());
    }
    return rows;
  } catch (const Error&) {
    if (own_load_ != nullptr) own_load_->End(fingerprint, false, 0);
    throw;
  }
}

Rows Connection::Send(std::string_view sql) {
  PGconn* conn = conn_.get();
  const std::string text =
      admin_console_ ? std::string(sql) : std::string(kStatementMarker) + std::string(sql);
  if (PQsendQuery(conn, text.c_str()) == 0) {
    FailBroken(ErrorKind::kQuery, Trimmed(PQerrorMessage(conn)));
  }
  const auto deadline = Clock::now() + query_deadline_;
  const std::string late = "server did not answer within " + Milliseconds(query_deadline_);
  auto wait = [&](short events) {
    switch (WaitForSocket(PQsocket(conn), events, deadline, stop_)) {
      case WaitResult::kReady:
        return;
      case WaitResult::kStopped:
        FailBroken(ErrorKind::kQuery, kStoppedMessage);
      case WaitResult::kTimedOut:
        FailBroken(ErrorKind::kTimeout, late);
      case WaitResult::kFailed:
        FailBroken(ErrorKind::kQuery, Trimmed(PQerrorMessage(conn)));
    }
  };
  for (int pending = PQflush(conn); pending != 0; pending = PQflush(conn)) {
    if (pending < 0) FailBroken(ErrorKind::kQuery, Trimmed(PQerrorMessage(conn)));
    wait(POLLIN | POLLOUT);
    if (PQconsumeInput(conn) == 0) FailBroken(ErrorKind::kQuery, Trimmed(PQerrorMessage(conn)));
  }

  ResultPtr last;
  std::optional<Error> failure;
  while (true) {
    while (PQisBusy(conn) != 0) {
      wait(POLLIN);
      if (PQconsumeInput(conn) == 0) FailBroken(ErrorKind::kQuery, Trimmed(PQerrorMessage(conn)));
    }
    ResultPtr result(PQgetResult(conn));
    if (!result) break;
    const ExecStatusType status = PQresultStatus(result.get());
    if (status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK) {
      last = std::move(result);
    } else if (!failure) {
      const char* state = PQresultErrorField(result.get(), PG_DIAG_SQLSTATE);
      std::string sqlstate = state != nullptr ? state : "";
      // 57014 query_canceled: statement_timeout fired on the server.
      const ErrorKind kind = sqlstate == "57014" ? ErrorKind::kTimeout : ErrorKind::kQuery;
      failure.emplace(kind, Trimmed(PQresultErrorMessage(result.get())), sqlstate);
    }
  }
  if (PQstatus(conn) != CONNECTION_OK) {
    FailBroken(ErrorKind::kQuery, failure ? failure->what() : Trimmed(PQerrorMessage(conn)));
  }
  if (failure) throw *failure;
  if (!last) return Rows();
  return ToRows(last.get());
}

}  // namespace pgvigil::pg
