#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "agent/history.h"
#include "agent/worker.h"
#include "config/config.h"
#include "health/health.h"
#include "http/page.h"
#include "logs/syslog_receiver.h"

namespace pgvigil::agent {

using http::Page;

// Connection attempts in flight at once, across every target (pg::ConnectSlots): enough for a
// thousand targets to connect within seconds, few enough that no server sees a burst.
inline constexpr std::size_t kConnectsInFlight = 16;

// The running agent: one worker per target, the pages built from their snapshots, and the
// status page's history, sampled on a thread of its own.
// Thread-safe: HTTP handler threads call the page methods while the main thread may Reload().
class Agent {
 public:
  // `open`: how workers open their sessions (pg::Connection::Open unless a test gives another).
  explicit Agent(const config::Config& config, SessionOpener open = {});
  ~Agent();
  Agent(const Agent&) = delete;
  Agent& operator=(const Agent&) = delete;

  void Start();
  void Stop();
  // --once: one pass of every target's collectors, in parallel, instead of Start(). True if every
  // target was up after it.
  bool CollectOnce();
  // Opens, keeps or closes the syslog listeners the config's targets name (docs/logs.md), and
  // routes each listener's messages to its targets. Throws config::ConfigError when a listener
  // cannot be opened or two targets disagree on one; the listeners that ran before stay as
  // they were.
  void OpenLogListeners(const config::Config& config);
  // Applies a new, already validated config: workers of unchanged targets keep running (and
  // keep their connections and counters); changed, added and removed targets are restarted.
  void Reload(const config::Config& config);

  // The exposition, gzip-encoded when `gzip` (the client accepts it): every target's series, then
  // the agent's own. Built at most once per change of the targets' series: scrapes between two
  // publishes reuse it. /metrics and --once both print it.
  [[nodiscard]] Page Metrics(bool gzip) const;
  // `target` empty: every target; otherwise that one (404 if unknown).
  [[nodiscard]] Page Health(const std::optional<std::string>& target) const;
  [[nodiscard]] Page Live() const;
  // Whether a drain for `target` with this Authorization header is taken: 0, or the status to
  // refuse it with (404: no such target or no drain; 401: wrong token).
  [[nodiscard]] int DrainAdmits(const std::string& target, const std::string& authorization) const;
  // POST /logs/<target>: a drain's messages for the target's log collector.
  [[nodiscard]] Page Drain(const std::string& target, const std::string& authorization,
                           const std::string& content_type, const std::string& body) const;
  [[nodiscard]] Page Ready() const;
  // The target's last hour for the status page (404 if unknown).
  [[nodiscard]] Page HistoryOf(const std::string& target) const;
  // Adds a point to every target's history (the sampler does, every History::kStep).
  void RecordHistory();

 private:
  struct State {
    config::HealthConfig health;
    std::vector<std::shared_ptr<Worker>> workers;
  };
  [[nodiscard]] std::shared_ptr<const State> Current() const;

  using Part = std::shared_ptr<const std::vector<metrics::SerializedFamily>>;
  // The targets' exposition as of the parts it was built from (held, so none is reused).
  struct Prepared {
    std::vector<Part> parts;
    std::optional<std::string> text;
    std::optional<metrics::GzipBuilder> gzip;  // unfinished: the agent's own series follow
  };

  // Declared before the state: workers use it until they are destroyed.
  pg::ConnectSlots connect_slots_{kConnectsInFlight};
  ClusterShares clusters_;
  mutable std::mutex prepared_mutex_;  // guards prepared_; scrapes arriving together build once
  mutable Prepared prepared_;
  mutable std::mutex mutex_;  // guards state_ (the pointer; a State never changes)
  std::shared_ptr<const State> state_;
  const std::chrono::steady_clock::time_point started_;
  const SessionOpener open_;
  History history_;
  std::atomic<bool> history_kept_{false};      // the sampler runs (not under --once)
  std::atomic<std::size_t> history_bytes_{0};  // as of the last sample
  mutable std::mutex listeners_mutex_;         // guards listeners_
  std::vector<std::unique_ptr<logs::SyslogListener>> listeners_;
  std::jthread sampler_;  // last: stopped before what it reads goes away
};

// The agent's own series, not a target's (docs/metrics.md): build, connect slots, history, the
// syslog listeners' and the process's.
[[nodiscard]] std::span<const metrics::Descriptor> AgentMetrics();

// Builds the /health report for the given snapshots (exposed for --once and tests).
[[nodiscard]] std::string HealthReport(
    const std::vector<std::shared_ptr<const TargetSnapshot>>& snapshots,
    const config::HealthConfig& health, double uptime_seconds, int* http_status);

// The status page's numbers for one target: its headline numbers, as /health reports them.
[[nodiscard]] History::Sample HistorySample(const health::Headline& headline,
                                            std::int64_t unix_seconds);

}  // namespace pgvigil::agent
