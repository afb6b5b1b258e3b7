#include "agent/agent.h"

#include <spdlog/spdlog.h>

#include <condition_variable>
#include <ctime>
#include <limits>
#include <set>

#include "agent/log_receivers.h"
#include "build_info.h"
#include "health/health.h"
#include "metrics/process.h"

namespace pgvigil::agent {
namespace {

using collectors::SteadyClock;
using json = nlohmann::ordered_json;

std::string IsoNow() {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return buffer;
}

// JSON text of a response. Server messages and request parameters may hold invalid UTF-8
// (a database's encoding, `?target=%FF`): replaced, never an exception and a 500.
std::string JsonText(const json& value, int indent = -1) {
  return value.dump(indent, ' ', false, json::error_handler_t::replace) + "\n";
}

health::TargetInput InputOf(const TargetSnapshot& snapshot) {
  health::TargetInput input;
  input.name = snapshot.name;
  input.kind = snapshot.kind;
  input.reachable = snapshot.up;
  input.observations = &snapshot.observations;
  input.collectors = snapshot.collectors;
  input.slow_query_threshold = snapshot.slow_query_threshold;
  input.connect_probe_enabled = snapshot.connect_probe_enabled;
  return input;
}

json TargetJson(const TargetSnapshot& snapshot, const config::HealthConfig& health) {
  return health::EvaluateTarget(InputOf(snapshot), health);
}

}  // namespace

std::string HealthReport(const std::vector<std::shared_ptr<const TargetSnapshot>>& snapshots,
                         const config::HealthConfig& health, double uptime_seconds,
                         int* http_status) {
  json targets = json::array();
  for (const auto& snapshot : snapshots) targets.push_back(TargetJson(*snapshot, health));
  const auto process = metrics::ReadProcessStats();
  const std::string status = health::WorstStatus(targets);
  json report = {{"status", status},
                 {"version", kVersion},
                 {"uptime_seconds", static_cast<long long>(uptime_seconds)},
                 {"checked_at", IsoNow()},
                 {"agent",
                  {{"rss_bytes", std::llround(process.resident_memory_bytes)},
                   {"cpu_seconds", std::round(process.cpu_seconds * 100) / 100}}},
                 {"targets", targets}};
  if (http_status != nullptr) *http_status = status == "down" ? 503 : 200;
  return JsonText(report, 2);
}

namespace {

using prometheus::MetricType;

const metrics::Descriptor kBuildInfo{"pgvigil_build_info",
                                     MetricType::Gauge,
                                     "pgvigil version and revision; always 1.",
                                     {"version", "revision"}};
const metrics::Descriptor kConnectSlots{"pgvigil_connect_slots",
                                        MetricType::Gauge,
                                        "Connection attempts the agent allows in flight at once.",
                                        {}};
const metrics::Descriptor kConnectSlotsInUse{
    "pgvigil_connect_slots_in_use", MetricType::Gauge, "Connection attempts in flight now.", {}};
const metrics::Descriptor kConnectQueueLength{"pgvigil_connect_queue_length",
                                              MetricType::Gauge,
                                              "Connection attempts waiting for a slot now.",
                                              {}};
const metrics::Descriptor kConnectQueueWaits{
    "pgvigil_connect_queue_waits_total",
    MetricType::Counter,
    "Connection attempts that waited for a slot (the cap on connects in flight).",
    {}};
const metrics::Descriptor kConnectQueueWaitSeconds{
    "pgvigil_connect_queue_wait_seconds_total",
    MetricType::Counter,
    "Time connection attempts spent waiting for a slot, in seconds.",
    {}};
const metrics::Descriptor kHistoryBytes{
    "pgvigil_history_bytes",
    MetricType::Gauge,
    "Memory held for the status page's last hour of every target, in bytes.",
    {}};

// The agent's own series (build, connect slots, process), serialized at each scrape: they
// follow the targets' (their names are the agent's alone, so no family is split).
std::vector<metrics::SerializedFamily> OwnSeries(
    const pg::ConnectSlots& slots, const std::size_t* history_bytes,
    const std::vector<std::pair<std::string, logs::SyslogListener::Counts>>& listeners = {}) {
  metrics::FamilySet own;
  AddLogReceiverSeries(listeners, own);
  own.Add(kBuildInfo, {{"version", kVersion}, {"revision", kRevision}}, 1);
  const auto connects = slots.stats();
  own.Add(kConnectSlots, {}, static_cast<double>(connects.limit));
  own.Add(kConnectSlotsInUse, {}, static_cast<double>(connects.in_flight));
  own.Add(kConnectQueueLength, {}, static_cast<double>(connects.waiting));
  own.Add(kConnectQueueWaits, {}, connects.waits_total);
  own.Add(kConnectQueueWaitSeconds, {}, connects.wait_seconds_total);
  if (history_bytes != nullptr) own.Add(kHistoryBytes, {}, static_cast<double>(*history_bytes));
  metrics::AddProcessMetrics(metrics::ReadProcessStats(), own);
  return metrics::SerializeEach(own.families());
}

}  // namespace

std::span<const metrics::Descriptor> AgentMetrics() {
  static const std::vector<metrics::Descriptor> all = [] {
    std::vector<metrics::Descriptor> metrics{kBuildInfo,         kConnectSlots,
                                             kConnectSlotsInUse, kConnectQueueLength,
                                             kConnectQueueWaits, kConnectQueueWaitSeconds,
                                             kHistoryBytes};
    const auto receivers = LogReceiverMetrics();
    const auto process = metrics::ProcessMetrics();
    metrics.insert(metrics.end(), receivers.begin(), receivers.end());
    metrics.insert(metrics.end(), process.begin(), process.end());
    return metrics;
  }();
  return all;
}

Agent::Agent(const config::Config& config, SessionOpener open)
    : started_(SteadyClock::now()), open_(std::move(open)) {
  auto state = std::make_shared<State>();
  state->health = config.health;
  for (const auto& target : config.targets) {
    state->workers.push_back(
        std::make_shared<Worker>(target, config.health.window, connect_slots_, clusters_, open_));
  }
  state_ = std::move(state);
}

Agent::~Agent() { Stop(); }

std::shared_ptr<const Agent::State> Agent::Current() const {
  std::lock_guard lock(mutex_);
  return state_;
}

void Agent::Start() {
  const auto state = Current();
  for (const auto& worker : state->workers) worker->Start();
  history_kept_ = true;
  sampler_ = std::jthread([this](const std::stop_token& stop) {
    std::mutex mutex;
    std::condition_variable_any wake;
    while (!stop.stop_requested()) {
      RecordHistory();
      std::unique_lock lock(mutex);
      wake.wait_for(lock, stop, History::kStep, [] { return false; });
    }
  });
}

bool Agent::CollectOnce() {
  const auto state = Current();
  {
    std::vector<std::jthread> threads;
    for (const auto& worker : state->workers) {
      threads.emplace_back([&worker] { worker->CollectOnce(); });
    }
  }
  return std::all_of(state->workers.begin(), state->workers.end(),
                     [](const auto& worker) { return worker->Snapshot()->up; });
}

void Agent::Stop() {
  if (sampler_.joinable()) {
    sampler_.request_stop();
    sampler_.join();
  }
  auto state = Current();
  // Ask every worker first so that they wind down in parallel.
  std::vector<std::jthread> stoppers;
  for (const auto& worker : state->workers) {
    stoppers.emplace_back([worker] { worker->Stop(); });
  }
}

void Agent::Reload(const config::Config& config) {
  OpenLogListeners(config);
  auto old_state = Current();
  auto state = std::make_shared<State>();
  state->health = config.health;
  std::vector<std::shared_ptr<Worker>> retired = old_state->workers;
  for (const auto& target : config.targets) {
    auto same = std::find_if(retired.begin(), retired.end(), [&](const auto& worker) {
      return worker->target() == target && old_state->health.window == config.health.window;
    });
    if (same != retired.end()) {
      state->workers.push_back(*same);
      retired.erase(same);
    } else {
      auto worker =
          std::make_shared<Worker>(target, config.health.window, connect_slots_, clusters_, open_);
      worker->Start();
      state->workers.push_back(std::move(worker));
      spdlog::info("target {}: started with the new config", target.name);
    }
  }
  {
    std::lock_guard lock(mutex_);
    state_ = state;
  }
  for (const auto& worker : retired) {
    worker->Stop();
    spdlog::info("target {}: stopped (removed or changed by the new config)",
                 worker->target().name);
  }
}

Page Agent::Metrics(bool gzip) const {
  // The state is held for the whole call: a reload may replace it meanwhile (never iterate a
  // temporary's member).
  const auto state = Current();
  std::vector<Part> parts;
  for (const auto& worker : state->workers) {
    const auto snapshot = worker->Snapshot();
    parts.insert(parts.end(), snapshot->exposition.begin(), snapshot->exposition.end());
  }
  std::vector<std::pair<std::string, logs::SyslogListener::Counts>> listener_counts;
  {
    std::lock_guard lock(listeners_mutex_);
    for (const auto& listener : listeners_) {
      listener_counts.emplace_back(listener->settings().address, listener->counts());
    }
  }
  // The status page's history is kept while the agent serves, not for --once.
  const std::size_t history_bytes = history_bytes_.load();
  const auto own =
      OwnSeries(connect_slots_, history_kept_ ? &history_bytes : nullptr, listener_counts);
  const std::vector<const std::vector<metrics::SerializedFamily>*> own_part{&own};
  Page page{200, "text/plain; version=0.0.4; charset=utf-8", "", ""};

  std::lock_guard lock(prepared_mutex_);
  if (prepared_.parts != parts) prepared_ = {std::move(parts), std::nullopt, std::nullopt};
  std::vector<const std::vector<metrics::SerializedFamily>*> raw;
  raw.reserve(prepared_.parts.size());
  for (const auto& part : prepared_.parts) raw.push_back(part.get());
  if (gzip) {
    if (!prepared_.gzip) {
      prepared_.gzip.emplace();
      metrics::JoinGzip(raw, *prepared_.gzip);
    }
    metrics::GzipBuilder body = *prepared_.gzip;
    metrics::JoinGzip(own_part, body);
    page.body = body.Finish();
    page.content_encoding = "gzip";
  } else {
    if (!prepared_.text) prepared_.text = metrics::Join(raw);
    page.body = *prepared_.text + metrics::Join(own_part);
  }
  return page;
}

Page Agent::Health(const std::optional<std::string>& target) const {
  auto state = Current();
  std::vector<std::shared_ptr<const TargetSnapshot>> snapshots;
  for (const auto& worker : state->workers) {
    if (!target || worker->target().name == *target) snapshots.push_back(worker->Snapshot());
  }
  if (target && snapshots.empty()) {
    json error = {{"error", "unknown target"}, {"target", *target}};
    return {404, "application/json", JsonText(error)};
  }
  int status = 200;
  const double uptime = std::chrono::duration<double>(SteadyClock::now() - started_).count();
  std::string body = HealthReport(snapshots, state->health, uptime, &status);
  return {status, "application/json", std::move(body)};
}

Page Agent::Live() const {
  const auto now = SteadyClock::now();
  json stuck = json::array();
  const auto state = Current();
  for (const auto& worker : state->workers) {
    if (now - worker->LastProgress() > worker->StallLimit()) stuck.push_back(worker->target().name);
  }
  json body = {{"status", stuck.empty() ? "live" : "stuck"}, {"stuck_targets", stuck}};
  return {stuck.empty() ? 200 : 503, "application/json", JsonText(body)};
}

Page Agent::Ready() const {
  const auto now = SteadyClock::now();
  json waiting = json::array();
  const auto state = Current();
  for (const auto& worker : state->workers) {
    auto snapshot = worker->Snapshot();
    const auto& last = snapshot->observations.probe.last_success;
    const bool ready = snapshot->probe_enabled ? last && now - *last <= 2 * snapshot->probe_interval
                                               : snapshot->up;
    if (!ready) waiting.push_back(snapshot->name);
  }
  json body = {{"status", waiting.empty() ? "ready" : "not ready"}, {"not_ready_targets", waiting}};
  return {waiting.empty() ? 200 : 503, "application/json", JsonText(body)};
}

namespace {

float Float(std::optional<double> value) {
  return value ? static_cast<float>(*value) : std::numeric_limits<float>::quiet_NaN();
}

}  // namespace

History::Sample HistorySample(const health::Headline& headline, std::int64_t unix_seconds) {
  History::Sample sample;
  sample.unix_seconds = unix_seconds;
  sample.connection_usage = Float(headline.connection_usage);
  sample.probe_ms = Float(headline.probe_ms);
  sample.connect_ms = Float(headline.connect_ms);
  sample.error_ratio = Float(headline.error_ratio);
  sample.pool_usage = Float(headline.pool_usage);
  sample.clients_waiting = Float(headline.clients_waiting);
  for (const auto& [name, sessions] : headline.applications) {
    if (sample.applications.size() == History::kApplications) break;
    sample.applications.emplace_back(name, static_cast<float>(sessions));
  }
  return sample;
}

void Agent::RecordHistory() {
  const auto state = Current();
  const std::int64_t now = std::time(nullptr);
  std::set<std::string> names;
  for (const auto& worker : state->workers) {
    const auto snapshot = worker->Snapshot();
    names.insert(snapshot->name);
    history_.Record(snapshot->name, HistorySample(health::HeadlineOf(InputOf(*snapshot)), now));
  }
  history_.Retain(names);
  // Counted here, by the sampler, so that a scrape does not walk every ring.
  history_bytes_ = history_.MemoryBytes();
}

Page Agent::HistoryOf(const std::string& target) const {
  auto body = history_.Json(target);
  if (!body) {
    json error = {{"error", "unknown target"}, {"target", target}};
    return {404, "application/json", JsonText(error)};
  }
  return {200, "application/json", std::move(*body) + "\n"};
}

}  // namespace pgvigil::agent
