#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "pg/connection.h"

namespace pgvigil::testing {

// The throwaway server scripts/test.sh starts. Roles and passwords are created there:
//   monitor (pg_monitor), plain (no pg_monitor), it_user (owns database pgvigil_it).
inline std::string TestDsn(const std::string& user, const std::string& password,
                           const std::string& dbname = "postgres") {
  const char* host = std::getenv("PGVIGIL_TEST_HOST");
  const char* port = std::getenv("PGVIGIL_TEST_PORT");
  if (host == nullptr || port == nullptr) {
    ADD_FAILURE() << "PGVIGIL_TEST_HOST and PGVIGIL_TEST_PORT are not set: run scripts/test.sh";
    return "host=/nonexistent";
  }
  return std::string("host=") + host + " port=" + port + " user=" + user + " password=" + password +
         " dbname=" + dbname;
}

inline std::string MonitorDsn(const std::string& dbname = "postgres") {
  return TestDsn("monitor", "monitor-pw", dbname);
}

inline pg::ConnectOptions Options(std::string dsn, bool monitoring = true) {
  pg::ConnectOptions options;
  options.dsn = std::move(dsn);
  options.connect_timeout = std::chrono::seconds(5);
  options.query_timeout = std::chrono::seconds(10);
  options.monitoring_session = monitoring;
  return options;
}

}  // namespace pgvigil::testing
