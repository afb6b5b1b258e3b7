#include "collectors/probe.h"

namespace pgvigil::collectors {
namespace {

using prometheus::MetricType;

const metrics::Descriptor kProbeDuration{
    "pg_probe_duration_seconds",
    MetricType::Histogram,
    "Round trip of SELECT 1 on the monitoring connection, in seconds.",
    {}};
const metrics::Descriptor kConnectDuration{
    "pg_probe_connect_duration_seconds",
    MetricType::Histogram,
    "Opening a new connection (TCP, TLS, authentication) plus SELECT 1, in seconds.",
    {}};
const metrics::Descriptor kProbes{
    "pg_probes_total", MetricType::Counter, "Probes attempted (SELECT 1 and connect probes).", {}};
const metrics::Descriptor kFailures{
    "pg_probe_failures_total", MetricType::Counter, "Probes that failed, by reason.", {"reason"}};
const metrics::Descriptor kRefused{
    "pg_probe_connect_refused_total",
    MetricType::Counter,
    "Connect probes the server refused: SQLSTATE 53300 (too many connections) or 57P03 (cannot "
    "connect now).",
    {"sqlstate"}};

const prometheus::Histogram::BucketBoundaries kProbeBuckets = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5};
const prometheus::Histogram::BucketBoundaries kConnectBuckets = {
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

std::string Reason(pg::ErrorKind kind) {
  switch (kind) {
    case pg::ErrorKind::kConnect:
      return "connect";
    case pg::ErrorKind::kTimeout:
      return "timeout";
    case pg::ErrorKind::kQuery:
      break;
  }
  return "query";
}

double SecondsSince(SteadyClock::time_point start) {
  return std::chrono::duration<double>(SteadyClock::now() - start).count();
}

}  // namespace

std::span<const metrics::Descriptor> ProbeMetrics() {
  static const metrics::Descriptor all[] = {kProbeDuration, kConnectDuration, kProbes, kFailures,
                                            kRefused};
  return all;
}

ProbeCollector::ProbeCollector(const config::Target& target)
    : probe_sql_(target.kind == config::TargetKind::kPgBouncer ? "SHOW VERSION" : "SELECT 1"),
      connect_probe_interval_(target.settings.connect_probe_interval),
      probe_seconds_(kProbeBuckets),
      connect_seconds_(kConnectBuckets) {}

void ProbeCollector::RecordFailure(CollectContext& context, const std::string& reason) {
  failures_[reason] += 1;
  context.observations.probe.last_ok = false;
  context.observations.probe.failures.push_back(context.now);
}

void ProbeCollector::Collect(CollectContext& context, metrics::FamilySet& out) {
  auto& probe = context.observations.probe;
  probe.ran = true;
  probes_ += 1;
  if (context.session == nullptr) {
    RecordFailure(context, "connect");
  } else {
    const auto start = SteadyClock::now();
    try {
      (void)context.session->Query(probe_sql_);
      const double seconds = SecondsSince(start);
      probe_seconds_.Observe(seconds);
      probe.last_ok = true;
      probe.last_success = context.now;
      probe.last_seconds = seconds;
      probe.latencies.Add(context.now, seconds);
    } catch (const pg::Error& error) {
      RecordFailure(context, Reason(error.kind()));
      context.observations.last_error = error.what();
    }
  }
  if (connect_probe_interval_ > config::Duration::zero() &&
      (!next_connect_probe_ || context.now >= *next_connect_probe_)) {
    next_connect_probe_ = context.now + connect_probe_interval_;
    ConnectProbe(context);
  }
  probe.latencies.Trim(context.now, context.health_window);
  for (auto* times : {&probe.failures, &probe.late}) {
    while (!times->empty() && times->front() < context.now - context.health_window) {
      times->pop_front();
    }
  }

  out.Add(kProbeDuration, {}, probe_seconds_.Collect());
  out.Add(kConnectDuration, {}, connect_seconds_.Collect());
  out.Add(kProbes, {}, probes_);
  for (const auto& [reason, count] : failures_) out.Add(kFailures, {{"reason", reason}}, count);
  for (const auto& [sqlstate, count] : refused_) {
    out.Add(kRefused, {{"sqlstate", sqlstate}}, count);
  }
}

void ProbeCollector::ConnectProbe(CollectContext& context) {
  auto& probe = context.observations.probe;
  probes_ += 1;
  pg::ConnectOptions options = context.connect_options;
  options.monitoring_session = false;
  const auto start = SteadyClock::now();
  try {
    auto connection = pg::Connection::Open(options);
    (void)connection->Query(probe_sql_);
    // The wait for a connect slot is the agent's, not the server's.
    const double seconds =
        SecondsSince(start) - std::chrono::duration<double>(connection->queued()).count();
    connect_seconds_.Observe(seconds);
    probe.connect_last_seconds = seconds;
    probe.connect_error.reset();
  } catch (const pg::Error& error) {
    failures_[error.kind() == pg::ErrorKind::kTimeout ? "timeout" : "connect"] += 1;
    if (error.kind() == pg::ErrorKind::kConnect) {
      if (auto refusal = refused_.find(error.sqlstate()); refusal != refused_.end()) {
        refusal->second += 1;
      }
    }
    probe.failures.push_back(context.now);
    probe.connect_error = error.what();
  }
}

}  // namespace pgvigil::collectors
