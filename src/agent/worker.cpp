#include "agent/worker.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

#include "collectors/registry.h"

namespace pgvigil::agent {
namespace {

using collectors::SteadyClock;
using std::chrono::milliseconds;

constexpr milliseconds kMaxSleep{5000};
// A probe whose thread woke this much after its time measured the agent's own delay too: the
// worker's thread was not scheduled.
constexpr double kLateProbe = 0.25;

// A shared collector that ran less than this share of its interval ago is this interval's run.
constexpr double kSharedFresh = 0.5;
// How often a worker waiting for another's run of a shared collector looks again (and at a stop).
constexpr milliseconds kLockPoll{5};

double UnixNow() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

using prometheus::MetricType;

const metrics::Descriptor kPgUp{
    "pg_up", MetricType::Gauge, "1 if the last probe of the target succeeded.", {}};
const metrics::Descriptor kPgBouncerUp{
    "pgbouncer_up",
    MetricType::Gauge,
    "1 if the last probe of the PgBouncer admin console succeeded.",
    {}};
const metrics::Descriptor kCapability{
    "pgvigil_capability",
    MetricType::Gauge,
    "1 if the monitoring connection has the capability (pg_monitor, pg_stat_statements), "
    "detected on each new connection.",
    {"capability"}};
const metrics::Descriptor kCollectorSuccess{"pgvigil_collector_success",
                                            MetricType::Gauge,
                                            "1 if the collector's last run succeeded.",
                                            {"collector"}};
const metrics::Descriptor kCollectorDuration{"pgvigil_collector_duration_seconds",
                                             MetricType::Gauge,
                                             "Duration of the collector's last run.",
                                             {"collector"}};
const metrics::Descriptor kCollectorLag{
    "pgvigil_collector_lag_seconds",
    MetricType::Gauge,
    "How late the worker woke for the collector's last run after its scheduled time: the "
    "agent's own delay (its thread was not scheduled).",
    {"collector"}};
const metrics::Descriptor kCollectorLastSuccess{
    "pgvigil_collector_last_success_timestamp_seconds",
    MetricType::Gauge,
    "Unix time of the collector's last successful run (0 if none).",
    {"collector"}};
const metrics::Descriptor kCollectorErrors{"pgvigil_collector_errors_total",
                                           MetricType::Counter,
                                           "Failed runs of the collector.",
                                           {"collector"}};

}  // namespace

std::span<const metrics::Descriptor> WorkerMetrics() {
  static const metrics::Descriptor all[] = {
      kPgUp,         kPgBouncerUp,          kCapability,     kCollectorSuccess, kCollectorDuration,
      kCollectorLag, kCollectorLastSuccess, kCollectorErrors};
  return all;
}

const TargetKindTraits& Traits(config::TargetKind kind) {
  static const TargetKindTraits postgres{&kPgUp, /*session_per_pass=*/false,
                                         /*has_catalogs=*/true};
  static const TargetKindTraits pgbouncer{&kPgBouncerUp, /*session_per_pass=*/true,
                                          /*has_catalogs=*/false};
  return kind == config::TargetKind::kPgBouncer ? pgbouncer : postgres;
}

Worker::Worker(config::Target target, config::Duration health_window, pg::ConnectSlots& slots,
               ClusterShares& clusters, SessionOpener open)
    : target_(std::move(target)),
      traits_(Traits(target_.kind)),
      health_window_(health_window),
      open_(std::move(open)),
      backoff_(kFirstBackoff),
      slots_(slots),
      clusters_(clusters),
      jitter_(std::random_device{}()),
      last_progress_(SteadyClock::now().time_since_epoch().count()) {
  base_labels_.push_back({"target", target_.name});
  for (const auto& [name, value] : target_.labels) base_labels_.push_back({name, value});
  for (const auto& info : collectors::CollectorTable()) {
    auto enabled = target_.settings.collectors.find(std::string(info.name));
    if (enabled == target_.settings.collectors.end() || !enabled->second) continue;
    if (!info.RunsOn(target_.kind)) continue;
    schedule_.emplace_back(
        info, info.make(target_),
        Schedule(target_.name, info.name, target_.settings.Interval(info.interval_key)));
  }
  config::Duration shortest = kMaxBackoff;
  for (const auto& entry : schedule_) shortest = std::min(shortest, entry.schedule.interval());
  // One collector may legitimately spend a connect and a query deadline on a hung server.
  const config::Duration one_call =
      target_.settings.connect_timeout + target_.settings.query_timeout + milliseconds(1000);
  stall_limit_ = 3 * std::max(shortest, one_call);
  Publish();
}

Worker::~Worker() { Stop(); }

void Worker::Start() {
  thread_ = std::jthread([this](const std::stop_token& stop) { Run(stop); });
}

void Worker::Stop() {
  if (!thread_.joinable()) return;
  thread_.request_stop();
  wake_.notify_all();
  thread_.join();
}

void Worker::Touch() {
  last_progress_.store(SteadyClock::now().time_since_epoch().count(), std::memory_order_relaxed);
}

SteadyClock::time_point Worker::LastProgress() const {
  return SteadyClock::time_point(SteadyClock::duration(last_progress_.load()));
}

std::shared_ptr<const TargetSnapshot> Worker::Snapshot() const {
  std::lock_guard lock(mutex_);
  return snapshot_;
}

bool Worker::Connected() const { return session_ && session_->Usable(); }

void Worker::Run(const std::stop_token& stop) {
  auto waited_from = SteadyClock::now();
  while (!stop.stop_requested()) {
    Step(stop, waited_from);
    // Wake at least every kMaxSleep, so that progress shows even with nothing scheduled.
    waited_from = SteadyClock::now();
    auto wake = waited_from + kMaxSleep;
    for (const auto& entry : schedule_) wake = std::min(wake, entry.next_due);
    if (!Connected() && !closed_after_pass_) wake = std::min(wake, reconnect_at_);
    std::unique_lock lock(wake_mutex_);
    wake_.wait_until(lock, stop, wake, [] { return false; });
  }
  session_.reset();
  spdlog::debug("target {}: worker stopped, connection closed", target_.name);
}

void Worker::CollectOnce() {
  const std::stop_token never;
  for (auto& entry : schedule_) entry.next_due = {};  // every collector, due or not
  Step(never, SteadyClock::now());
}

void Worker::Step(const std::stop_token& stop, SteadyClock::time_point waited_from) {
  Touch();
  const auto woke = SteadyClock::now();
  if (!Connected() && !closed_after_pass_ && woke >= reconnect_at_) Connect(woke, stop);
  for (auto& entry : schedule_) {
    if (stop.stop_requested()) return;
    if (SteadyClock::now() < entry.next_due) continue;
    // A session closed after the last pass is reopened by the first collector that is due.
    if (closed_after_pass_) Connect(SteadyClock::now(), stop);
    // The agent's own delay: how late the thread woke for a run that was due, counted from
    // when it could have (a previous step that ran long on the database is the server's time).
    entry.lag_seconds =
        entry.next_due == SteadyClock::time_point{}
            ? 0
            : std::max(0.0,
                       std::chrono::duration<double>(woke - std::max(entry.next_due, waited_from))
                           .count());
    RunCollector(entry, stop);
    Touch();
  }
  reachable_ = Connected();
  if (traits_.session_per_pass && reachable_) {
    session_.reset();
    closed_after_pass_ = true;
  }
  Publish();
}

void Worker::RunCollector(Scheduled& entry, const std::stop_token& stop) {
  const auto start = SteadyClock::now();
  std::uniform_real_distribution<double> jitter(0, 1);
  entry.next_due = entry.schedule.After(start, jitter(jitter_));
  if (entry.info->counts_late_runs && entry.lag_seconds > kLateProbe) {
    observations_.probe.late.push_back(start);
  }
  const bool was_connected = Connected();
  const pg::ConnectOptions options = Options(/*monitoring_session=*/false, stop);
  collectors::CollectContext context{Connected() ? session_.get() : nullptr,
                                     target_,
                                     options,
                                     start,
                                     health_window_,
                                     observations_,
                                     own_load_};
  metrics::FamilySet out(base_labels_);
  entry.ran = true;
  try {
    if (entry.collector->NeedsConnection() && context.session == nullptr) {
      throw pg::Error(pg::ErrorKind::kConnect,
                      "no connection: " + observations_.last_error.value_or("not connected yet"));
    }
    if (entry.shared) {
      CollectShared(entry, context, stop);
    } else {
      entry.collector->Collect(context, out);
      entry.exposition = std::make_shared<const std::vector<metrics::SerializedFamily>>(
          metrics::SerializeEach(out.families()));
    }
    entry.success = true;
    entry.error.clear();
    entry.last_success_unix = UnixNow();
    if (entry.failing_logged) {
      spdlog::info("target {}: collector {} recovered", target_.name, entry.name);
      entry.failing_logged = false;
    }
  } catch (const std::exception& error) {
    entry.success = false;
    entry.error = error.what();
    entry.errors_total += 1;
    entry.exposition.reset();
    if (!entry.failing_logged) {
      spdlog::warn("target {}: collector {} failed: {}", target_.name, entry.name, error.what());
      entry.failing_logged = true;
    } else {
      spdlog::debug("target {}: collector {} failed again: {}", target_.name, entry.name,
                    error.what());
    }
    if (const auto* db_error = dynamic_cast<const pg::Error*>(&error)) {
      if (db_error->kind() != pg::ErrorKind::kConnect) observations_.last_error = error.what();
    }
  }
  entry.duration_seconds = std::chrono::duration<double>(SteadyClock::now() - start).count();
  if (was_connected && !Connected()) Disconnected(SteadyClock::now());
}

void Worker::CollectShared(Scheduled& entry, collectors::CollectContext& context,
                           const std::stop_token& stop) {
  SharedCollector& shared = *entry.shared;
  std::unique_lock lock(shared.mutex, std::defer_lock);
  // Another target's worker may be reading the cluster: wait for its result, but not past a
  // stop.
  // Polled rather than std::timed_mutex::try_lock_for: libstdc++ implements that with
  // pthread_mutex_clocklock, which ThreadSanitizer does not see, and the waits are short.
  while (!lock.try_lock()) {
    if (stop.stop_requested()) throw pg::Error(pg::ErrorKind::kQuery, "the agent is stopping");
    std::this_thread::sleep_for(kLockPoll);
  }
  const bool fresh = shared.last_success && context.now - *shared.last_success <
                                                std::chrono::duration_cast<SteadyClock::duration>(
                                                    entry.schedule.interval() * kSharedFresh);
  if (!fresh) {
    const std::string cluster = membership_ ? membership_->cluster() : std::string();
    collectors::CollectContext on_cluster{
        context.session,         context.target,
        context.connect_options, context.now,
        context.health_window,   shared.observations,
        context.own_load,        [this, cluster] { return clusters_.OwnLoad(cluster); }};
    metrics::FamilySet out;  // no target's labels: each target adds its own
    shared.collector->Collect(on_cluster, out);
    shared.families = std::make_shared<const std::vector<prometheus::MetricFamily>>(out.Take());
    shared.last_success = context.now;
    ++shared.version;
  }
  entry.info->share(shared.observations, observations_);
  if (shared.version != entry.shared_version || !entry.exposition) {
    entry.exposition = std::make_shared<const std::vector<metrics::SerializedFamily>>(
        metrics::SerializeEach(metrics::WithBase(*shared.families, base_labels_)));
    entry.shared_version = shared.version;
  }
}

void Worker::Publish() {
  auto snapshot = std::make_shared<TargetSnapshot>();
  snapshot->name = target_.name;
  snapshot->kind = target_.kind;
  snapshot->observations = observations_;
  snapshot->slow_query_threshold = target_.settings.slow_query_threshold;
  snapshot->connect_probe_enabled =
      target_.settings.connect_probe_interval > config::Duration::zero();
  snapshot->probe_enabled = false;
  for (const auto& entry : schedule_) {
    if (!entry.info->decides_up) continue;
    snapshot->probe_enabled = true;
    snapshot->probe_interval = entry.schedule.interval();
  }
  const auto& probe = observations_.probe;
  snapshot->up = reachable_ && (!snapshot->probe_enabled || (probe.ran && probe.last_ok));

  metrics::FamilySet own(base_labels_);
  own.Add(*traits_.up, {}, snapshot->up ? 1 : 0);
  if (observations_.capabilities.known) {
    own.Add(kCapability, {{"capability", "pg_monitor"}},
            observations_.capabilities.pg_monitor ? 1 : 0);
    own.Add(kCapability, {{"capability", "pg_stat_statements"}},
            collectors::HasPgStatStatements(observations_) ? 1 : 0);
  }
  for (const auto& entry : schedule_) {
    snapshot->collectors.push_back({entry.name, entry.ran, entry.success, entry.error});
    if (!entry.ran) continue;
    const metrics::Labels labels{{"collector", entry.name}};
    own.Add(kCollectorSuccess, labels, entry.success ? 1 : 0);
    own.Add(kCollectorDuration, labels, entry.duration_seconds);
    own.Add(kCollectorLag, labels, entry.lag_seconds);
    own.Add(kCollectorLastSuccess, labels, entry.last_success_unix);
    own.Add(kCollectorErrors, labels, entry.errors_total);
  }
  snapshot->exposition.push_back(std::make_shared<const std::vector<metrics::SerializedFamily>>(
      metrics::SerializeEach(own.families())));
  for (const auto& entry : schedule_) {
    if (entry.exposition) snapshot->exposition.push_back(entry.exposition);
  }

  std::lock_guard lock(mutex_);
  snapshot_ = std::move(snapshot);
}

}  // namespace pgvigil::agent
