#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <random>
#include <span>
#include <thread>

#include "agent/cluster.h"
#include "agent/schedule.h"
#include "collectors/collector.h"
#include "collectors/registry.h"
#include "config/config.h"
#include "health/health.h"

namespace pgvigil::agent {

// What one target looks like after its latest collection. Immutable once published: /metrics
// and /health read it from any thread without touching the database.
struct TargetSnapshot {
  std::string name;
  config::TargetKind kind = config::TargetKind::kPostgres;
  bool up = false;
  collectors::Observations observations;
  std::vector<health::CollectorStatus> collectors;
  // Every series of this target, serialized once where it was produced: one part for the
  // worker's own series, one per collector (shared with the next snapshots until it runs
  // again, so a publish re-serializes only what changed).
  std::vector<std::shared_ptr<const std::vector<metrics::SerializedFamily>>> exposition;
  config::Duration slow_query_threshold{};
  config::Duration probe_interval{};
  bool probe_enabled = true;
  bool connect_probe_enabled = true;
};

// What the worker does differently for each kind of target, said once (docs/architecture.md).
struct TargetKindTraits {
  const metrics::Descriptor* up;  // the series that says whether the last probe succeeded
  // A session opened for a pass and closed after it, never held between polls: PgBouncer 1.23+
  // shuts down on SIGTERM (a rolling restart) only once every client has gone.
  bool session_per_pass;
  // A server with catalogs: capabilities to detect and a cluster to share collectors on.
  bool has_catalogs;
};
[[nodiscard]] const TargetKindTraits& Traits(config::TargetKind kind);

// The series a worker exports about its target besides its collectors' (docs/metrics.md): pg_up
// or pgbouncer_up, capabilities, and each collector's runs.
[[nodiscard]] std::span<const metrics::Descriptor> WorkerMetrics();

// Opens the monitoring session of a target: pg::Connection::Open unless a test gives another.
using SessionOpener = std::function<std::unique_ptr<pg::Session>(const pg::ConnectOptions&)>;

// Polls one target. Owns its monitoring connection and its collectors, and runs them on their
// intervals on its own thread; other threads only call Snapshot(), LastProgress() and Stop().
class Worker {
 public:
  // `slots` (the agent's cap on connects in flight) and `clusters` must outlive the worker.
  Worker(config::Target target, config::Duration health_window, pg::ConnectSlots& slots,
         ClusterShares& clusters, SessionOpener open = {});
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  void Start();
  // Requests a stop, interrupts any database wait within 100 ms, and joins the thread.
  void Stop();
  // One pass of every enabled collector, due or not, on the calling thread (for --once).
  void CollectOnce();

  [[nodiscard]] std::shared_ptr<const TargetSnapshot> Snapshot() const;
  [[nodiscard]] collectors::SteadyClock::time_point LastProgress() const;
  // No progress for this long means the worker is stuck (README, the health report: /health/live).
  // Fixed at construction: HTTP threads ask while the worker's thread re-phases its schedule.
  [[nodiscard]] collectors::SteadyClock::duration StallLimit() const { return stall_limit_; }
  [[nodiscard]] const config::Target& target() const { return target_; }

 private:
  // Reconnects back off from the first to the longest wait, doubling, with jitter.
  static constexpr std::chrono::milliseconds kFirstBackoff{1000};
  static constexpr std::chrono::milliseconds kMaxBackoff{30000};

  struct Scheduled {
    Scheduled(const collectors::CollectorInfo& info_,
              std::unique_ptr<collectors::Collector> collector_, Schedule schedule_)
        : name(info_.name.data()),
          info(&info_),
          collector(std::move(collector_)),
          schedule(schedule_) {}

    const char* name;
    const collectors::CollectorInfo* info;
    std::unique_ptr<collectors::Collector> collector;
    Schedule schedule;
    // A cluster-wide collector's share, once connected (it then runs instead of `collector`),
    // and the run of it whose series `exposition` holds.
    std::shared_ptr<SharedCollector> shared;
    std::uint64_t shared_version = 0;
    collectors::SteadyClock::time_point next_due;  // the epoch: at once
    double lag_seconds = 0;  // how late the worker woke for its last run: the agent's delay
    bool ran = false;
    bool success = false;
    bool failing_logged = false;
    std::string error;
    double duration_seconds = 0;
    double last_success_unix = 0;
    double errors_total = 0;
    // Its series from the last successful run, serialized; null after a failure.
    std::shared_ptr<const std::vector<metrics::SerializedFamily>> exposition;
  };

  void Run(const std::stop_token& stop);
  // One pass: every collector that is due. `waited_from`: when the thread began waiting for it.
  void Step(const std::stop_token& stop, collectors::SteadyClock::time_point waited_from);
  bool Connected() const;
  [[nodiscard]] pg::ConnectOptions Options(bool monitoring_session, const std::stop_token& stop);
  void Connect(collectors::SteadyClock::time_point now, const std::stop_token& stop);
  void DetectCapabilities();
  void Disconnected(collectors::SteadyClock::time_point now);
  // Joins the cluster the new session reached, and its shared collectors.
  void JoinCluster(const pg::Rows& identity);
  void RunCollector(Scheduled& entry, const std::stop_token& stop);
  // Runs a shared collector, or takes the result another target's worker read this interval.
  void CollectShared(Scheduled& entry, collectors::CollectContext& context,
                     const std::stop_token& stop);
  void Publish();
  void Touch();

  const config::Target target_;
  const TargetKindTraits& traits_;
  const config::Duration health_window_;
  metrics::Labels base_labels_;  // target="<name>" and the target's constant labels
  std::vector<Scheduled> schedule_;
  SessionOpener open_;
  std::unique_ptr<pg::Session> session_;
  collectors::Observations observations_;
  collectors::SteadyClock::time_point reconnect_at_{};
  config::Duration backoff_;
  bool connect_failing_logged_ = false;
  bool reachable_ = false;          // connected at the end of the last pass
  bool closed_after_pass_ = false;  // a PgBouncer console session, closed after its pass
  bool ever_connected_ = false;
  pg::OwnLoad own_load_;  // every statement this worker sent, on any of its connections
  pg::ConnectSlots& slots_;
  ClusterShares& clusters_;
  std::unique_ptr<ClusterShares::Membership> membership_;  // after own_load_: it refers to it
  std::mt19937 jitter_;
  collectors::SteadyClock::duration stall_limit_{};

  mutable std::mutex mutex_;  // guards snapshot_
  std::shared_ptr<const TargetSnapshot> snapshot_;
  std::atomic<collectors::SteadyClock::rep> last_progress_;
  std::condition_variable_any wake_;
  std::mutex wake_mutex_;
  std::jthread thread_;
};

}  // namespace pgvigil::agent
