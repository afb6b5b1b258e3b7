#include "config/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

#include "config/redacted_yaml.h"

namespace pgvigil::config {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using namespace std::chrono_literals;

class ConfigFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("pgvigil-config-test-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string Write(const std::string& name, const std::string& text) {
    const auto path = (dir_ / name).string();
    std::ofstream(path) << text;
    return path;
  }

  // The ConfigError message for loading `text` from a file; fails the test if it loads.
  std::string ErrorOf(const std::string& text) {
    const std::string path = Write("bad.yaml", text);
    try {
      (void)LoadFile(path);
    } catch (const ConfigError& error) {
      return error.what();
    }
    ADD_FAILURE() << "config loaded but should have been rejected:\n" << text;
    return "";
  }

  std::filesystem::path dir_;
};

constexpr const char* kTarget = "targets:\n  - name: primary\n    dsn: \"host=db\"\n";

TEST_F(ConfigFileTest, DesignExampleLoadsWithEveryKey) {
  const std::string path = Write("full.yaml", R"(web:
  listen_address: "127.0.0.1:9500"
  config_file: ""
log:
  level: debug
  format: json
defaults:
  probe_interval: 2s
  connect_probe_interval: 0s
  activity_interval: 10s
  database_interval: 15s
  statements_interval: 30s
  settings_interval: 5m
  connect_timeout: 4s
  query_timeout: 1500ms
  slow_query_threshold: 250ms
  statements_top_n: 20
  applications_top_n: 5
  collectors: {probe: true, activity: false, settings: true}
  log_source: {path: /var/log/postgresql/pg.json, format: jsonlog}
health:
  window: 10m
  connection_usage: {warn: 0.6, critical: 0.8}
  error_ratio: {warn: 0.02, critical: 0.1}
  probe_latency: {warn: 50ms, critical: 200ms}
  mean_query_time: {warn: 300ms, critical: 2s}
targets:
  - name: primary
    dsn: "postgresql://monitor@db.internal:5432/postgres?sslmode=verify-full"
    labels: {cluster: main, env: prod}
  - name: replica
    dsn: "host=replica"
    probe_interval: 10s
    collectors: {activity: true}
)");
  const Config config = LoadFile(path);
  EXPECT_EQ(config.web.listen_address, "127.0.0.1:9500");
  EXPECT_EQ(config.log.level, "debug");
  EXPECT_EQ(config.log.format, "json");
  EXPECT_EQ(config.defaults.Interval("probe_interval"), 2s);
  EXPECT_EQ(config.defaults.connect_probe_interval, 0s);
  EXPECT_EQ(config.defaults.query_timeout, 1500ms);
  EXPECT_EQ(config.defaults.slow_query_threshold, 250ms);
  EXPECT_EQ(config.defaults.Interval("settings_interval"), 5min);
  EXPECT_EQ(config.defaults.statements_top_n, 20);
  EXPECT_EQ(config.defaults.applications_top_n, 5);
  EXPECT_EQ(config.defaults.log_source.path, "/var/log/postgresql/pg.json");
  EXPECT_EQ(config.health.window, 10min);
  EXPECT_DOUBLE_EQ(config.health.connection_usage.critical, 0.8);
  EXPECT_DOUBLE_EQ(config.health.error_ratio.warn, 0.02);
  EXPECT_EQ(config.health.probe_latency.critical, 200ms);
  EXPECT_EQ(config.health.mean_query_time.critical, 2s);
  ASSERT_EQ(config.targets.size(), 2u);
  const Target& primary = config.targets[0];
  EXPECT_EQ(primary.settings.Interval("probe_interval"), 2s);
  EXPECT_FALSE(primary.settings.collectors.at("activity"));
  ASSERT_EQ(primary.labels.size(), 2u);
  EXPECT_EQ(primary.labels[0], (std::pair<std::string, std::string>{"cluster", "main"}));
  // A target overrides key by key; nested maps merge key by key too.
  const Target& replica = config.targets[1];
  EXPECT_EQ(replica.settings.Interval("probe_interval"), 10s);
  EXPECT_EQ(replica.settings.query_timeout, 1500ms);
  EXPECT_TRUE(replica.settings.collectors.at("activity"));
  EXPECT_TRUE(replica.settings.collectors.at("probe"));
  EXPECT_TRUE(replica.settings.collectors.at("settings"));
}

TEST_F(ConfigFileTest, DefaultsMatchTheDesign) {
  const Config config = LoadFile(Write("min.yaml", kTarget));
  const TargetSettings& s = config.targets[0].settings;
  EXPECT_EQ(config.web.listen_address, ":9432");
  EXPECT_EQ(s.Interval("probe_interval"), 5s);
  EXPECT_EQ(s.connect_probe_interval, 60s);
  EXPECT_EQ(s.Interval("activity_interval"), 10s);
  EXPECT_EQ(s.Interval("settings_interval"), 5min);
  EXPECT_EQ(s.connect_timeout, 5s);
  EXPECT_EQ(s.query_timeout, 3s);
  EXPECT_EQ(s.slow_query_threshold, 1s);
  EXPECT_EQ(s.statements_top_n, 50);
  EXPECT_EQ(s.applications_top_n, 20);
  EXPECT_EQ(config.health.window, 5min);
  EXPECT_DOUBLE_EQ(config.health.connection_usage.warn, 0.70);
  EXPECT_DOUBLE_EQ(config.health.connection_usage.critical, 0.90);
  EXPECT_DOUBLE_EQ(config.health.error_ratio.critical, 0.05);
  EXPECT_EQ(config.log.format, "logfmt");
}

TEST_F(ConfigFileTest, LogFormatTextIsTheLogfmtAlias) {
  const Config config =
      LoadFile(Write("text.yaml", std::string("log: {format: text}\n") + kTarget));
  EXPECT_EQ(config.log.format, "logfmt");
}

TEST_F(ConfigFileTest, ReadsPasswordFileWithoutTrailingNewline) {
  const std::string secret = Write("secret", "s3cret-value\n");
  const Config config =
      LoadFile(Write("pw.yaml", std::string(kTarget) + "    password_file: " + secret + "\n"));
  EXPECT_EQ(config.targets[0].password, "s3cret-value");
}

TEST_F(ConfigFileTest, MalformedYamlNamesFileAndLine) {
  const std::string message = ErrorOf("targets:\n  - name: a\n    dsn: [unclosed\n");
  EXPECT_THAT(message, HasSubstr("bad.yaml:"));
  EXPECT_THAT(message, HasSubstr("malformed YAML"));
  EXPECT_THAT(message, ::testing::MatchesRegex(".*bad\\.yaml:[34]:.*"));
}

TEST_F(ConfigFileTest, UnknownKeyNamesFileLineAndKey) {
  const std::string message = ErrorOf(std::string(kTarget) + "defaults:\n  probe_intreval: 5s\n");
  EXPECT_THAT(message, HasSubstr("bad.yaml:5: defaults.probe_intreval: unknown key"));
}

TEST_F(ConfigFileTest, UnknownTopLevelAndTargetKeys) {
  EXPECT_THAT(ErrorOf(std::string(kTarget) + "extra: 1\n"), HasSubstr(":4: extra: unknown key"));
  EXPECT_THAT(ErrorOf(std::string(kTarget) + "    passwrd: x\n"),
              HasSubstr(":4: targets[0].passwrd: unknown key"));
}

TEST_F(ConfigFileTest, BadDuration) {
  const std::string message = ErrorOf(std::string(kTarget) + "defaults:\n  query_timeout: 3 s\n");
  EXPECT_THAT(message, HasSubstr("bad.yaml:5: defaults.query_timeout: expected a duration"));
  EXPECT_THAT(ErrorOf(std::string(kTarget) + "defaults:\n  probe_interval: 0s\n"),
              HasSubstr("greater than 0s"));
}

TEST_F(ConfigFileTest, UnsetVariableWithoutDefault) {
  ::unsetenv("PGVIGIL_TEST_MISSING");
  const std::string message =
      ErrorOf("targets:\n  - name: a\n    dsn: \"host=${PGVIGIL_TEST_MISSING}\"\n");
  EXPECT_THAT(message, HasSubstr("bad.yaml:3: targets[0].dsn: environment variable "
                                 "PGVIGIL_TEST_MISSING is not set"));
}

TEST_F(ConfigFileTest, DuplicateTargetNames) {
  const std::string message =
      ErrorOf("targets:\n  - name: a\n    dsn: \"host=x\"\n  - name: a\n    dsn: \"host=y\"\n");
  EXPECT_THAT(message, HasSubstr("bad.yaml:4: targets[1].name: duplicate target name 'a'"));
}

TEST_F(ConfigFileTest, WarnMustBeBelowCritical) {
  EXPECT_THAT(
      ErrorOf(std::string(kTarget) + "health:\n  connection_usage: {warn: 0.95, critical: 0.9}\n"),
      HasSubstr("bad.yaml:5: health.connection_usage: warn must be below critical"));
  EXPECT_THAT(ErrorOf(std::string(kTarget) + "health:\n  probe_latency: {warn: 1s}\n"),
              HasSubstr("health.probe_latency: warn must be below critical"));
  EXPECT_THAT(ErrorOf(std::string(kTarget) + "health:\n  error_ratio: {warn: 2, critical: 3}\n"),
              HasSubstr("expected a ratio from 0 to 1"));
}

TEST_F(ConfigFileTest, MaintenanceIntervalAndThresholds) {
  const Config defaults = LoadString(kTarget, "defaults.yaml");
  EXPECT_EQ(defaults.defaults.Interval("maintenance_interval"), 1min);
  EXPECT_TRUE(defaults.targets[0].settings.collectors.at("maintenance"));
  EXPECT_DOUBLE_EQ(defaults.health.wraparound.warn, 0.5);
  EXPECT_DOUBLE_EQ(defaults.health.xmin_horizon.critical, 100000000);
  EXPECT_DOUBLE_EQ(defaults.health.archive_ready_files.warn, 16);
  const Config config =
      LoadString(std::string("defaults:\n  maintenance_interval: 30s\n") + kTarget +
                     "health:\n  wraparound: {warn: 0.4, critical: 0.6}\n"
                     "  xmin_horizon: {warn: 5000000, critical: 50000000}\n"
                     "  archive_ready_files: {warn: 8, critical: 64}\n",
                 "maintenance.yaml");
  EXPECT_EQ(config.targets[0].settings.Interval("maintenance_interval"), 30s);
  EXPECT_DOUBLE_EQ(config.health.wraparound.critical, 0.6);
  EXPECT_DOUBLE_EQ(config.health.xmin_horizon.warn, 5000000);
  EXPECT_DOUBLE_EQ(config.health.archive_ready_files.critical, 64);
  const std::string yaml = ToRedactedYaml(config);
  EXPECT_THAT(yaml, HasSubstr("xmin_horizon: {warn: 5000000, critical: 50000000}"));
  EXPECT_THAT(yaml, HasSubstr("maintenance_interval: 30s"));
  EXPECT_EQ(LoadString(yaml, "redacted").health, config.health);
  EXPECT_THAT(ErrorOf(std::string(kTarget) + "health:\n  xmin_horizon: {warn: 1.5}\n"),
              HasSubstr("health.xmin_horizon.warn"));
  EXPECT_THAT(ErrorOf(std::string(kTarget) + "health:\n  wraparound: {warn: 0.9}\n"),
              HasSubstr("health.wraparound: warn must be below critical"));
}

TEST_F(ConfigFileTest, UnknownCollector) {
  const std::string message =
      ErrorOf(std::string(kTarget) + "defaults:\n  collectors: {probe: true, activty: true}\n");
  EXPECT_THAT(
      message,
      HasSubstr("defaults.collectors.activty: unknown key (expected one of: "
                "probe, activity, database, statements, settings, replication, maintenance, log, "
                "pgbouncer)"));
}

TEST_F(ConfigFileTest, UnreadablePasswordFile) {
  const std::string message =
      ErrorOf(std::string(kTarget) + "    password_file: /nonexistent/pgvigil-secret\n");
  EXPECT_THAT(message, HasSubstr("bad.yaml:4: targets[0].password_file: cannot read password "
                                 "file '/nonexistent/pgvigil-secret'"));
}

TEST_F(ConfigFileTest, TargetsFilesAddTargetsAndNameTheirOwnErrors) {
  std::filesystem::create_directories(dir_ / "targets.d");
  Write("targets.d/b.yml", "- name: b1\n  dsn: \"host=b1\"\n- name: b2\n  dsn: \"host=b2\"\n");
  Write("targets.d/a.yml", "- name: a1\n  dsn: \"host=a1\"\n  labels: {team: pay}\n");
  Write("targets.d/empty.yml", "");
  Write("targets.d/ignored.txt", "not yaml: [");
  const std::string main =
      Write("fleet.yaml", std::string(kTarget) + "targets_files: [\"targets.d/*.yml\"]\n" +
                              "defaults:\n  probe_interval: 2s\n");
  Config config = LoadFile(main);
  ASSERT_EQ(config.targets.size(), 4u);
  // The main file's first, then the files in name order; each inherits `defaults`.
  EXPECT_EQ(config.targets[0].name, "primary");
  EXPECT_EQ(config.targets[1].name, "a1");
  ASSERT_EQ(config.targets[1].labels.size(), 1u);
  EXPECT_EQ(config.targets[1].labels[0].second, "pay");
  EXPECT_EQ(config.targets[3].name, "b2");
  EXPECT_EQ(config.targets[3].settings.Interval("probe_interval"), 2s);

  // A file added is read at the next load.
  Write("targets.d/c.yml", "- name: c1\n  dsn: \"host=c1\"\n");
  EXPECT_EQ(LoadFile(main).targets.size(), 5u);

  // A duplicate name, or a bad key, names the targets file and its line.
  Write("targets.d/d.yml", "- name: c2\n  dsn: host=x\n- name: a1\n  dsn: host=x\n");
  auto load_error = [&] {
    try {
      (void)LoadFile(main);
    } catch (const ConfigError& error) {
      return std::string(error.what());
    }
    return std::string("(loaded)");
  };
  std::string message = load_error();
  EXPECT_THAT(message, HasSubstr("targets.d/d.yml:3:"));
  EXPECT_THAT(message, HasSubstr("duplicate target name 'a1'"));
  Write("targets.d/d.yml", "- name: d1\n  dsn: host=x\n  prob_interval: 1s\n");
  message = load_error();
  EXPECT_THAT(message, HasSubstr("targets.d/d.yml:3:"));
  EXPECT_THAT(message, HasSubstr("prob_interval: unknown key"));
  // Malformed YAML in a targets file is that file's error, not the main file's.
  Write("targets.d/d.yml", "- name: d1\n  dsn: [unclosed\n");
  message = load_error();
  EXPECT_THAT(message, HasSubstr("targets.d/d.yml:"));
  EXPECT_THAT(message, HasSubstr("malformed YAML"));
  EXPECT_THAT(message, Not(HasSubstr("fleet.yaml")));
}

TEST_F(ConfigFileTest, MissingConfigFile) {
  try {
    (void)LoadFile((dir_ / "absent.yaml").string());
    FAIL() << "a missing file loaded";
  } catch (const ConfigError& error) {
    EXPECT_THAT(error.what(), HasSubstr("absent.yaml: cannot open config file"));
  }
}

TEST_F(ConfigFileTest, OtherValidation) {
  EXPECT_THAT(ErrorOf("web:\n  listen_address: \":9432\"\n"),
              HasSubstr("targets: expected at least one target"));
  EXPECT_THAT(ErrorOf("targets:\n  - dsn: \"host=x\"\n"), HasSubstr("every target needs a name"));
  EXPECT_THAT(ErrorOf("targets:\n  - name: a\n    dsn: \"host='x\"\n"),
              HasSubstr("targets[0].dsn: not a libpq connection string"));
  EXPECT_THAT(ErrorOf(std::string(kTarget) + "    kind: pgpool\n"),
              HasSubstr("targets[0].kind: expected postgres or pgbouncer, got 'pgpool'"));
  EXPECT_THAT(ErrorOf(std::string(kTarget) + "    labels: {target: x}\n"),
              HasSubstr("label name is used by the agent's own series"));
  for (const char* bad :
       {"\"bad-name\"", "\"1st\"", "__meta_zone", "\"caf\u00e9\"", "\"a:b\"", "\"\""}) {
    EXPECT_THAT(ErrorOf(std::string(kTarget) + "    labels: {" + bad + ": x}\n"),
                HasSubstr("not a valid Prometheus label name"))
        << bad;
  }
  for (const char* good : {"_zone", "Zone_2", "a"}) {
    EXPECT_EQ(LoadFile(Write("good.yaml", std::string(kTarget) + "    labels: {" + good + ": x}\n"))
                  .targets[0]
                  .labels[0]
                  .first,
              good);
  }
  EXPECT_THAT(ErrorOf(std::string(kTarget) + "log:\n  level: loud\n"),
              HasSubstr("log.level: expected one of debug, info, warn, error"));
  EXPECT_THAT(ErrorOf(std::string(kTarget) + "defaults:\n  statements_top_n: 0\n"),
              HasSubstr("expected a whole number from 1 to 10000"));
  EXPECT_THAT(ErrorOf(std::string(kTarget) + "defaults:\n  collectors: {probe: maybe}\n"),
              HasSubstr("expected true or false"));
}

TEST_F(ConfigFileTest, LogFdwSource) {
  const Config config = LoadFile(
      Write("fdw.yaml", std::string(kTarget) + "    log_source: {sql: log_fdw, format: csvlog, "
                                               "log_fdw: {schema: monitoring}}\n"));
  const auto& source = config.targets[0].settings.log_source;
  EXPECT_EQ(source.Kind(), "sql");
  EXPECT_EQ(source.sql, "log_fdw");
  EXPECT_EQ(source.log_fdw.server, "log_server");
  EXPECT_EQ(source.log_fdw.schema, "monitoring");
  EXPECT_THAT(ErrorOf(std::string(kTarget) + "    log_source: {sql: log_fdw}\n"),
              HasSubstr("log_fdw reads csvlog or stderr files"));
  EXPECT_THAT(ErrorOf(std::string(kTarget) +
                      "    log_source: {sql: log_fdw, format: stderr, log_fdw: {server: \"\"}}\n"),
              HasSubstr("expected a name"));
  EXPECT_THAT(ErrorOf(std::string(kTarget) + "    log_source: {sql: log_fwd}\n"),
              HasSubstr("log_source.sql"));
}

TEST_F(ConfigFileTest, TypeConfusedYamlIsAConfigErrorNeverAnAbort) {
  EXPECT_THAT(ErrorOf("? [a, b]\n: c\n"),
              HasSubstr("bad.yaml:1: (top level): expected a plain key"));
  EXPECT_THAT(ErrorOf("defaults:\n  ? {x: 1}\n  : 5s\n"), HasSubstr("expected a plain key"));
  EXPECT_THAT(ErrorOf("targets:\n  - name: [a]\n"), HasSubstr("targets[0].name"));
  EXPECT_THAT(ErrorOf("defaults:\n  housekeeping_statements: {a: b}\n"),
              HasSubstr("defaults.housekeeping_statements: expected a list"));
  EXPECT_THAT(ErrorOf("defaults:\n  housekeeping_statements: [[BEGIN]]\n"),
              HasSubstr("defaults.housekeeping_statements[0]: expected a string"));
}

TEST_F(ConfigFileTest, MonitoringRolesAreAListOfRoleNames) {
  const auto config = config::LoadString(
      "defaults:\n  monitoring_roles: [pgvigil_b, exporter]\ntargets:\n  - name: a\n"
      "    dsn: \"host=x\"\n  - name: b\n    dsn: \"host=y\"\n    monitoring_roles: []\n",
      "roles.yaml");
  EXPECT_EQ(config.targets[0].settings.monitoring_roles,
            (std::vector<std::string>{"pgvigil_b", "exporter"}));
  EXPECT_TRUE(config.targets[1].settings.monitoring_roles.empty());
  EXPECT_THAT(config::ToRedactedYaml(config), HasSubstr("monitoring_roles: [pgvigil_b, exporter]"));
  EXPECT_THAT(ErrorOf("defaults:\n  monitoring_roles: pgvigil_b\n"),
              HasSubstr("bad.yaml:2: defaults.monitoring_roles: expected a list of role names"));
  EXPECT_THAT(ErrorOf("defaults:\n  monitoring_roles: [\"\"]\n"),
              HasSubstr("defaults.monitoring_roles[0]: expected a role name"));
}

TEST_F(ConfigFileTest, ReplicationIntervalAndThresholds) {
  const Config defaults = LoadFile(Write("min.yaml", kTarget));
  EXPECT_EQ(defaults.targets[0].settings.Interval("replication_interval"), 15s);
  EXPECT_TRUE(defaults.targets[0].settings.collectors.at("replication"));
  EXPECT_EQ(defaults.health.replication_lag.warn, 30s);
  EXPECT_EQ(defaults.health.replication_lag.critical, 5min);
  EXPECT_EQ(defaults.health.replication_slot_inactive.warn, 10min);
  EXPECT_EQ(defaults.health.replication_slot_inactive.critical, 1h);
  const Config config = LoadString(
      "defaults:\n  replication_interval: 5s\n  collectors: {replication: false}\n"
      "health:\n  replication_lag: {warn: 10s, critical: 1m}\n"
      "  replication_slot_inactive: {warn: 30m, critical: 6h}\n" +
          std::string(kTarget),
      "replication.yaml");
  EXPECT_EQ(config.targets[0].settings.Interval("replication_interval"), 5s);
  EXPECT_FALSE(config.targets[0].settings.collectors.at("replication"));
  EXPECT_EQ(config.health.replication_lag.critical, 1min);
  EXPECT_EQ(config.health.replication_slot_inactive.warn, 30min);
  const std::string yaml = ToRedactedYaml(config);
  EXPECT_THAT(yaml, HasSubstr("replication_interval: 5s"));
  EXPECT_THAT(yaml, HasSubstr("replication_lag: {warn: 10s, critical: 1m}"));
  EXPECT_THAT(yaml, HasSubstr("replication_slot_inactive: {warn: 30m, critical: 6h}"));
  EXPECT_EQ(LoadString(yaml, "redacted").health, config.health);
  EXPECT_THAT(ErrorOf("health:\n  replication_lag: {warn: 5m, critical: 30s}\n"),
              HasSubstr("health.replication_lag: warn must be below critical"));
}

TEST_F(ConfigFileTest, HugeDurationsAndNonFiniteThresholdsAreRefused) {
  EXPECT_THAT(ErrorOf("defaults:\n  connect_timeout: 1000000000d\n"),
              HasSubstr("defaults.connect_timeout: expected a duration"));
  EXPECT_THAT(ErrorOf("defaults:\n  connect_timeout: 400d\n"),
              HasSubstr("defaults.connect_timeout: expected at most 365d"));
  for (const char* value : {".nan", "nan", "inf", "-.inf"}) {
    EXPECT_THAT(ErrorOf(std::string("health:\n  error_ratio: {warn: ") + value + "}\n"),
                HasSubstr("health.error_ratio.warn: expected a finite number"))
        << value;
  }
}

TEST_F(ConfigFileTest, BadListenAddressNamesFileLineAndKey) {
  EXPECT_THAT(ErrorOf("web:\n  listen_address: \"[::1]:56218x\"\n"),
              HasSubstr("bad.yaml:2: web.listen_address: listen address '[::1]:56218x'"));
}

TEST_F(ConfigFileTest, RedactedYamlHidesEveryPassword) {
  const std::string secret = Write("secret", "file-secret\n");
  const Config config = LoadFile(Write("redact.yaml", R"(targets:
  - name: uri
    dsn: "postgresql://monitor:uri-secret@db:5432/postgres?sslmode=require"
  - name: keywords
    dsn: "host=db user=monitor password=kw-secret"
    password_file: )" + secret + "\n"));
  const std::string yaml = ToRedactedYaml(config);
  EXPECT_THAT(yaml, Not(HasSubstr("uri-secret")));
  EXPECT_THAT(yaml, Not(HasSubstr("kw-secret")));
  EXPECT_THAT(yaml, Not(HasSubstr("file-secret")));
  EXPECT_THAT(yaml, HasSubstr("REDACTED"));
  EXPECT_THAT(yaml, HasSubstr("password_file: " + secret));
  // What --check-config prints is itself a loadable config with the same settings.
  const Config again = LoadString(yaml, "redacted");
  EXPECT_EQ(again.targets[0].settings, config.targets[0].settings);
  EXPECT_EQ(again.health, config.health);
}

TEST(ZeroConfigTest, UsesPgvigilDsnOrLibpqDefaults) {
  ::setenv("PGVIGIL_DSN", "host=somewhere port=5433", 1);
  Config config = ZeroConfig();
  ASSERT_EQ(config.targets.size(), 1u);
  EXPECT_EQ(config.targets[0].name, "default");
  EXPECT_EQ(config.targets[0].dsn, "host=somewhere port=5433");
  ::unsetenv("PGVIGIL_DSN");
  config = ZeroConfig();
  EXPECT_EQ(config.targets[0].dsn, "");
  EXPECT_TRUE(config.targets[0].settings.collectors.at("probe"));
}

TEST(ExampleConfigTest, ShippedExampleLoads) {
  const Config config = LoadFile(std::string(PGVIGIL_SOURCE_DIR) + "/config/pgvigil.example.yaml");
  EXPECT_FALSE(config.targets.empty());
}

}  // namespace
}  // namespace pgvigil::config
