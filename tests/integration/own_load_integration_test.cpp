#include <gtest/gtest.h>

#include <set>

#include "collectors/collector.h"
#include "collectors/registry.h"
#include "metrics/family_set.h"
#include "pg/own_load.h"
#include "test_server.h"

namespace pgvigil::collectors {
namespace {

using testing::MonitorDsn;
using testing::Options;
using testing::TestDsn;
using namespace std::chrono_literals;

// docs/configuration.md (how the agent counts its own load): the agent recognises its own
// statements in pg_stat_statements by fingerprint (pg::Fingerprint of what it sent against that of
// the text the server shows). A statement whose text the server shows differently (a typed literal,
// EXTRACT's field on 14+) is counted as the application's work at every poll. Every collector that
// talks to PostgreSQL runs here against this server version, and every statement it sent must be
// found.
TEST(OwnLoadIntegrationTest, EveryStatementOfTheAgentIsRecognisedInPgStatStatements) {
  pg::OwnLoad own_load;
  pg::ConnectOptions options = Options(MonitorDsn());
  options.own_load = &own_load;
  auto session = pg::Connection::Open(options);
  config::Target target;
  target.name = "own";
  target.dsn = MonitorDsn();
  target.settings = config::DefaultSettings();
  Observations observations;
  for (const auto& info : CollectorTable()) {
    // The log collector reads a file; the pgbouncer one talks to PgBouncer.
    if (info.name == "log" || !info.RunsOn(config::TargetKind::kPostgres)) continue;
    auto collector = info.make(target);
    // Twice: the statements collector reads texts only from its second poll on.
    for (int poll = 0; poll < 2; ++poll) {
      CollectContext context{session.get(), target,       options, SteadyClock::now(),
                             5min,          observations, own_load};
      metrics::FamilySet out;
      ASSERT_NO_THROW(collector->Collect(context, out)) << info.name;
    }
  }

  auto reader = pg::Connection::Open(Options(TestDsn("postgres", "postgres-pw")));
  const pg::Rows rows = reader->Query(
      "SELECT query FROM pg_stat_statements WHERE userid = "
      "(SELECT oid FROM pg_roles WHERE rolname = 'monitor') AND dbid = "
      "(SELECT oid FROM pg_database WHERE datname = current_database())");
  std::set<std::string> shown;
  for (std::size_t row = 0; row < rows.size(); ++row) {
    shown.insert(pg::Fingerprint(rows.Text(row, 0)));
  }
  const auto sent = own_load.Statements();
  ASSERT_GE(sent.size(), 10u);
  for (const auto& [fingerprint, counts] : sent) {
    if (counts.ok == 0) continue;
    EXPECT_TRUE(shown.contains(fingerprint))
        << "the server shows this statement of the agent's differently: " << fingerprint;
  }
}

}  // namespace
}  // namespace pgvigil::collectors
