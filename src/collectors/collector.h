#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "config/config.h"
#include "metrics/family_set.h"
#include "metrics/quantiles.h"
#include "pg/connection.h"

namespace pgvigil::collectors {

using SteadyClock = std::chrono::steady_clock;

// Facts the collectors learn that /health reports. One copy per target, owned by that target's
// worker thread; a copy of it is frozen into each published snapshot.
struct Observations {
  struct Probe {
    bool ran = false;
    bool last_ok = false;
    std::optional<SteadyClock::time_point> last_success;
    double last_seconds = 0;
    metrics::SlidingWindow latencies;              // successful probe round trips, seconds
    std::deque<SteadyClock::time_point> failures;  // within the health window
    // Probes within the health window that started late because the agent itself was busy.
    std::deque<SteadyClock::time_point> late;
    std::optional<double> connect_last_seconds;
    std::optional<std::string> connect_error;  // set while the last connect probe failed
  } probe;

  struct Connections {
    bool known = false;
    double used = 0;
    double max = 0;
    double active = 0;
    double idle = 0;
    double idle_in_transaction = 0;
    double waiting = 0;
    double slow_active = 0;
    double hidden = 0;  // other roles' sessions whose state the monitoring role may not see
    bool in_recovery = false;
    struct Application {
      std::string name;  // application_name; "" when the client set none
      double sessions = 0;
      double active = 0;
      double idle_in_transaction = 0;
    };
    std::vector<Application> by_application;  // the 10 holding the most sessions, most first
  } connections;

  struct Server {
    bool known = false;
    std::string version;
    int version_num = 0;
    bool in_recovery = false;
  } server;

  // What the monitoring role may do on this server, detected on each new connection (only
  // there: the worker's detection is their one writer). Whether pg_stat_statements is there
  // now is HasPgStatStatements: the statements collector looks again before every poll.
  struct Capabilities {
    bool known = false;
    bool pg_monitor = false;
    bool pg_stat_statements = false;  // installed in the monitored database, on connecting
  } capabilities;

  // pg_stat_database deltas per collection over (from, at], the agent's own transactions left out.
  struct DatabaseDelta {
    SteadyClock::time_point from;
    SteadyClock::time_point at;
    double commits = 0;
    double rollbacks = 0;
    double deadlocks = 0;
  };
  std::deque<DatabaseDelta> database;  // within the health window

  struct SlowStatement {
    std::string queryid;
    std::string datname;
    std::string user;
    double calls = 0;
    double mean_ms = 0;
    std::string query;  // truncated to 200 characters
  };
  // pg_stat_statements calls per collection over (from, at], split by kind (docs/configuration.md,
  // how the agent counts its own load): the application's work, its pools' housekeeping, and the
  // agent's own statements.
  struct StatementsDelta {
    SteadyClock::time_point from;
    SteadyClock::time_point at;
    // The same two reads on the server's clock, as the server log writes time (log_timezone,
    // milliseconds of that wall time as if it were UTC): log lines are matched to them.
    std::int64_t from_log_ms = 0;
    std::int64_t at_log_ms = 0;
    double work_calls = 0;
    double work_ms = 0;
    double housekeeping_calls = 0;
    double housekeeping_ms = 0;
    double agent_calls = 0;
    double agent_ms = 0;
    // pg_stat_database over the same interval, for the error ratio without a log source: the
    // application's transactions (the agent's own and the pools' housekeeping run as
    // transactions of their own left out) and its rollbacks.
    bool has_transactions = false;
    double transactions = 0;
    double rollbacks = 0;
  };
  struct Statements {
    // The statements collector's last look over this connection: the extension installed and
    // its library loaded; nullopt before its first (a new connection forgets it).
    std::optional<bool> extension;
    bool available = false;
    std::string unavailable;  // why not, in words an operator can act on
    std::deque<StatementsDelta> window;
    std::size_t over_threshold = 0;  // mean over the health window above the threshold
    std::vector<SlowStatement> top;  // the slowest of those, at most 10
  } statements;

  struct LogError {
    std::string at;
    std::string severity;
    std::string sqlstate;
    std::string message;
  };
  struct Log {
    bool available = false;                          // the last poll of the log succeeded
    std::optional<SteadyClock::time_point> started;  // the first poll: nothing before is seen
    // When each application error (ERROR, FATAL, PANIC not logged by the agent's sessions) was
    // logged, by the line's own time in the server's log_timezone as milliseconds of that wall
    // time read as UTC. By its own time, not by when the agent read it: the server's log
    // collector writes lines a little later than they happen.
    std::deque<std::int64_t> error_times;
    std::deque<LogError> recent;  // the last 100
    std::string source;           // file, syslog, drain or sql
    // The agent writes a heartbeat line through the server log (docs/logs.md): a statements
    // window is judged only once a heartbeat written after its end has been delivered.
    bool heartbeat = false;
    std::optional<std::int64_t> delivered_to_ms;       // the newest delivered heartbeat, log time
    std::optional<double> delay_seconds;               // how long that heartbeat took to arrive
    std::optional<SteadyClock::time_point> last_line;  // when a line last arrived
    std::optional<SteadyClock::time_point> last_heartbeat;  // when a heartbeat last arrived
    SteadyClock::duration silent_after{};  // no line for this long: the source is silent
    // Application errors whose lines carried no SQLSTATE (no %e, not verbose).
    double errors_without_sqlstate = 0;
  } log;

  // A PgBouncer target's pools (docs/configuration.md, PgBouncer targets), as its last collection
  // saw them.
  struct Pooler {
    bool known = false;
    struct Pool {
      std::string database;
      std::string user;
      double client_active = 0;
      double client_waiting = 0;
      double server_active = 0;  // serving a client, cancel requests included
      double server_idle = 0;
      double server_used = 0;
      double pool_size = 0;  // pool_size + reserve_pool of its database entry; 0 if unknown
      double max_wait_seconds = 0;
    };
    std::vector<Pool> pools;
    std::optional<double> clients;      // SHOW LISTS used_clients
    std::optional<double> max_clients;  // max_client_conn
    // SHOW commands the console refused this account (a stats_users account sees less than an
    // admin), each with the console's message.
    std::vector<std::string> unavailable;
  } pooler;

  // Wraparound ages, the xmin horizon's oldest holder, the archiver and pg_wal, as the
  // maintenance collector last read them (docs/metrics.md, maintenance collector).
  struct Maintenance {
    bool known = false;
    struct Age {
      std::string database;  // the database with the oldest age
      double age = 0;
    };
    std::optional<Age> xid_age;
    std::optional<Age> mxid_age;
    // The oldest of the holders the role may read. Fields a kind has no use for stay empty.
    struct Holder {
      std::string kind;  // transaction, replication_slot, prepared_transaction, standby_feedback
      double age = 0;
      std::optional<double> pid;
      std::optional<std::string> application;
      std::optional<std::string> user;
      std::optional<std::string> state;
      std::optional<std::string> since;  // ISO 8601, UTC
      std::optional<std::string> slot;
      std::optional<std::string> gid;
      std::optional<std::string> standby;
    };
    std::optional<Holder> xmin_horizon;
    bool xmin_horizon_readable = false;  // at least one kind of holder could be read
    struct Archiver {
      std::string mode;  // archive_mode
      double archived = 0;
      double failed = 0;
      bool failing = false;
      std::optional<double> ready_files;  // nullopt without pg_ls_archive_statusdir
      std::optional<std::string> last_failed_wal;
      std::optional<std::string> last_failed_time;
    };
    std::optional<Archiver> archiver;
    std::optional<double> wal_bytes;
    // What the role may not read, one sentence each (the target's notes).
    std::vector<std::string> unavailable;
  } maintenance;
  // The replication collector's last collection (docs/metrics.md, replication): the standbys of
  // a primary (or those cascading from a standby), a standby's WAL receiver, the slots. A value
  // the monitoring role may not read is nullopt and `notes` says why.
  struct Replication {
    bool known = false;
    bool in_recovery = false;
    struct Standby {
      std::string name;  // application_name
      std::optional<std::string> client_addr;
      std::string state;       // "" when hidden
      std::string sync_state;  // "" when hidden
      // sent, write, flush, replay: bytes behind the server's position
      std::array<std::optional<double>, 4> lag_bytes;
      // write, flush, replay: PostgreSQL's lag times, 0 once the stage is caught up
      std::array<std::optional<double>, 3> lag_seconds;
    };
    std::vector<Standby> standbys;
    struct Receiver {
      std::optional<bool> streaming;  // nullopt when the role may not read the status
      std::string status;             // "" when no WAL receiver runs
      std::optional<std::string> sender;
      std::optional<double> last_message_age_seconds;
      std::optional<double> replay_lag_bytes;
      std::optional<double> replay_lag_seconds;
      std::optional<double> since_last_replay_seconds;
    };
    std::optional<Receiver> receiver;  // on a standby only
    struct Slot {
      std::string name;
      std::string type;
      std::optional<std::string> database;
      bool active = false;
      std::optional<double> retained_bytes;
      std::optional<std::string> wal_status;  // 13+
      std::optional<double> safe_wal_bytes;   // 13+, with max_slot_wal_keep_size set
      double inactive_seconds = 0;
    };
    std::vector<Slot> slots;
    std::optional<std::string> max_slot_wal_keep_size;  // 13+; "-1" when unset
    std::optional<double> wal_bytes;
    std::vector<std::string> notes;
  } replication;

  std::optional<std::string> last_error;  // why the target is unreachable, if it is
};

// Whether pg_stat_statements can be read now: what the statements collector last saw over this
// connection (CREATE or DROP EXTENSION while the agent is connected), else what was detected on
// connecting.
[[nodiscard]] inline bool HasPgStatStatements(const Observations& observations) {
  return observations.statements.extension.value_or(observations.capabilities.pg_stat_statements);
}

// What one target's worker ran on a cluster (docs/configuration.md, how the agent counts its own
// load), as the statements collector attributes it: by the worker's role and database, as
// pg_stat_statements keys its entries.
struct OwnStatements {
  std::uint64_t member = 0;  // the worker, unique in the agent
  std::uint32_t userid = 0;
  std::uint32_t dbid = 0;
  pg::OwnLoad::ByFingerprint statements;
};

struct CollectContext {
  pg::Session* session;  // the monitoring connection; nullptr while the target is down
  const config::Target& target;
  const pg::ConnectOptions& connect_options;
  SteadyClock::time_point now;
  config::Duration health_window;
  Observations& observations;
  // Everything the agent has run against this target (docs/configuration.md, how the agent counts
  // its own load).
  const pg::OwnLoad& own_load;
  // Set where the collector reads a cluster for every target of the agent that shares it: what
  // each of those targets ran up to now. The agent's own load there is all of theirs.
  std::function<std::vector<OwnStatements>()> cluster_own_load = {};
};

// Turns one view of the server into metric families. Collectors own their state across runs
// (counters, histograms) and run on their target's worker thread only. The runner around them
// owns timing, error capture and the pgvigil_collector_* series.
class Collector {
 public:
  virtual ~Collector() = default;
  // A collector that needs no connection still runs while the target is down (the probe does,
  // to count the failure).
  [[nodiscard]] virtual bool NeedsConnection() const { return true; }
  // Adds this collection's samples to `out`. Throws (pg::Error or std::exception) on failure.
  virtual void Collect(CollectContext& context, metrics::FamilySet& out) = 0;
};

}  // namespace pgvigil::collectors
