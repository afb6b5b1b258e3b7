#include "health/pgbouncer_checks.h"

#include <string>

namespace pgvigil::health {

using json = nlohmann::ordered_json;

Checks PgBouncerChecks(const TargetInput& input, const config::HealthConfig& config) {
  const auto& pooler = input.observations->pooler;
  Checks checks;
  checks.Add(Reachable(input), "");
  if (!input.reachable || !pooler.known) {
    const std::string why =
        input.reachable ? MissingData(input, "pgbouncer") : "the target is unreachable";
    for (const char* name : {"pool_usage", "clients_waiting", "client_connections"}) {
      checks.Add(Unknown(name, why), "");
    }
    return checks;
  }
  // The worst pool: server connections serving a client against what the pool may open.
  const collectors::Observations::Pooler::Pool* worst = nullptr;
  double worst_ratio = -1;
  double max_wait = 0;
  const collectors::Observations::Pooler::Pool* longest = nullptr;
  for (const auto& pool : pooler.pools) {
    const bool sized = pool.pool_size > 0;
    const double ratio = sized ? pool.server_active / pool.pool_size : 0;
    if (sized && ratio > worst_ratio) {
      worst_ratio = ratio;
      worst = &pool;
    }
    if (pool.max_wait_seconds >= max_wait) {
      max_wait = pool.max_wait_seconds;
      longest = &pool;
    }
  }
  if (worst != nullptr) {
    checks.Ratio("pool_usage", worst_ratio, config.connection_usage,
                 "pool " + worst->database + "/" + worst->user + " has " +
                     Format(worst->server_active, 0) + " of " + Format(worst->pool_size, 0) +
                     " server connections serving clients (" + Format(worst_ratio, 3),
                 {{"pool", worst->database + "/" + worst->user}});
  } else {
    checks.Add(Unknown("pool_usage", pooler.pools.empty()
                                         ? "no pool yet (pools open with their first client)"
                                         : "no pool size: SHOW DATABASES was not readable"),
               "");
  }
  const bool waiting = max_wait > 1.0;
  checks.Add({"clients_waiting",
              waiting ? Level::kWarn : Level::kOk,
              std::nullopt,
              {{"value_seconds", Rounded(max_wait)}}},
             longest == nullptr ? ""
                                : Format(longest->client_waiting, 0) + " clients waiting in " +
                                      longest->database + "/" + longest->user +
                                      ", the oldest for " + Format(max_wait, 1) + " s (> 1 s)");
  if (pooler.clients && pooler.max_clients && *pooler.max_clients > 0) {
    const double ratio = *pooler.clients / *pooler.max_clients;
    checks.Ratio("client_connections", ratio, config.connection_usage,
                 Format(*pooler.clients, 0) + " of max_client_conn " +
                     Format(*pooler.max_clients, 0) + " client connections (" + Format(ratio, 3));
  } else {
    checks.Add(
        Unknown("client_connections", "SHOW LISTS or SHOW CONFIG was not readable by this account"),
        "");
  }
  return checks;
}

json PgBouncerNotes(const TargetInput& input) {
  json notes = json::array();
  for (const auto& refused : input.observations->pooler.unavailable) {
    notes.push_back("the admin console refused " + refused);
  }
  return notes;
}

}  // namespace pgvigil::health
