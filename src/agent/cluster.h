#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "collectors/collector.h"
#include "pg/own_load.h"

namespace pgvigil::agent {

// A collector of a cluster-wide view (pg_stat_activity, pg_stat_statements) that every target of
// the agent on the same cluster, as the same role and with the same settings, reads through:
// one read per interval for all of them instead of one per target. Its state (the statements'
// counters, their history) is kept once too. The worker that finds it due runs it on its own
// session; the others take its result.
struct SharedCollector {
  std::mutex mutex;  // held for a run; guards everything below
  std::unique_ptr<collectors::Collector> collector;
  collectors::Observations observations;  // what its runs observed
  // Start of the last successful run; a failed run leaves it, so the next target tries itself.
  std::optional<collectors::SteadyClock::time_point> last_success;
  // Its series from that run, without a target's labels.
  std::shared_ptr<const std::vector<prometheus::MetricFamily>> families;
  std::uint64_t version = 0;  // counts successful runs
};

// The agent's registry of clusters: which workers monitor which cluster (for the agent's own
// load, docs/configuration.md) and the collectors they share. Thread-safe.
class ClusterShares {
 public:
  ClusterShares();

  // A worker's place in a cluster, held while its session is connected there; leaving is
  // destroying it. Its load must outlive it.
  class Membership {
   public:
    ~Membership();
    Membership(const Membership&) = delete;
    Membership& operator=(const Membership&) = delete;
    [[nodiscard]] const std::string& cluster() const { return cluster_; }

   private:
    friend class ClusterShares;
    struct Registry;
    Membership(std::shared_ptr<Registry> registry, std::string cluster, std::uint64_t id)
        : registry_(std::move(registry)), cluster_(std::move(cluster)), id_(id) {}
    std::shared_ptr<Registry> registry_;
    std::string cluster_;
    std::uint64_t id_;
  };

  // `cluster`: the server's identity as the session saw it (see ClusterKey); `userid`, `dbid`:
  // the session's role and database, as pg_stat_statements keys the worker's statements.
  [[nodiscard]] std::unique_ptr<Membership> Join(const std::string& cluster, std::uint32_t userid,
                                                 std::uint32_t dbid, const pg::OwnLoad& load);
  // What every worker on `cluster` has run so far.
  [[nodiscard]] std::vector<collectors::OwnStatements> OwnLoad(const std::string& cluster) const;
  // The collector shared under `key` (a cluster and the collector's settings), made with
  // `make` by the first worker that asks; it lives while a worker holds it.
  [[nodiscard]] std::shared_ptr<SharedCollector> Collector(
      const std::string& key, const std::function<std::unique_ptr<collectors::Collector>()>& make);

 private:
  std::shared_ptr<Membership::Registry> registry_;
  mutable std::mutex mutex_;  // guards collectors_
  std::map<std::string, std::weak_ptr<SharedCollector>> collectors_;
};

// A cluster's identity from what a session reads of it: the system identifier (where the role
// may read pg_control_system(), else the postmaster's start time), the server address the
// session reached (empty over a Unix socket) and port, and the role. Targets that differ only in
// their database share it; a pooler that sends two databases to two servers does not.
[[nodiscard]] std::string ClusterKey(const std::string& system, const std::string& address,
                                     const std::string& port, std::uint32_t userid);

}  // namespace pgvigil::agent
