#include <malloc.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <iostream>

#include "agent/logging.h"
#include "agent/run.h"
#include "build_info.h"
#include "config/config.h"
#include "config/listen_address.h"
#include "config/redacted_yaml.h"
#include "config/web_config.h"
#include "http/tls.h"

namespace {

constexpr int kRuntimeFailure = 1;
constexpr int kUsageError = 2;

}  // namespace

int main(int argc, char** argv) {
  // glibc gives every thread that allocates its own arena; with a worker thread per target that
  // is megabytes of mostly empty heaps for an agent that allocates little.
  mallopt(M_ARENA_MAX, 2);
  // A fleet's exposition is megabytes, built per change: blocks this large come from mmap and go
  // back to the system when freed, instead of raising glibc's dynamic threshold and staying in
  // the heap.
  mallopt(M_MMAP_THRESHOLD, 1 << 20);
  CLI::App app{"pgvigil: PostgreSQL monitoring and health-check agent", "pgvigil"};
  std::string config_file;
  bool check_config = false;
  bool once = false;
  bool version = false;
  pgvigil::agent::Overrides overrides;
  app.add_option("--config.file", config_file,
                 "YAML config file (none: one target from "
                 "PGVIGIL_DSN or libpq's environment)");
  app.add_option("--web.listen-address", overrides.listen_address,
                 "HOST:PORT to serve /metrics and /health on (default :9432)");
  app.add_option("--log.level", overrides.log_level, "debug, info, warn or error")
      ->check(CLI::IsMember({"debug", "info", "warn", "error"}));
  app.add_option("--log.format", overrides.log_format,
                 "logfmt or json (one line per record; text is an alias of logfmt)")
      ->check(CLI::IsMember({"logfmt", "json", "text"}));
  app.add_option("--web.config.file", overrides.web_config_file,
                 "TLS and basic auth, in the format of Prometheus' web-config.yml (wins over "
                 "web.config_file)");
  std::string shard;
  app.add_option("--targets.shard", shard,
                 "I/N: watch only shard I (0 to N-1) of N agents sharing the config (a "
                 "StatefulSet's ordinal): each target goes to exactly one shard");
  app.add_flag("--check-config", check_config,
               "validate the config, print it with secrets redacted, and exit");
  app.add_flag("--once", once, "collect once per target, print the metrics, and exit");
  app.add_flag("--version", version, "print the version and exit");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    const int code = app.exit(error);
    return code == 0 ? 0 : kUsageError;
  }
  if (version) {
    std::cout << pgvigil::VersionText();
    return 0;
  }

  pgvigil::config::Config config;
  try {
    if (!shard.empty()) overrides.shard = pgvigil::agent::ParseShard(shard);
    config = config_file.empty() ? pgvigil::config::ZeroConfig()
                                 : pgvigil::config::LoadFile(config_file);
    overrides.ApplyTo(config);
    (void)pgvigil::config::ParseListenAddress(config.web.listen_address);
    if (!config.web.config_file.empty()) {
      pgvigil::http::CheckWebConfig(pgvigil::config::LoadWebConfig(config.web.config_file));
    }
  } catch (const pgvigil::config::ConfigError& error) {
    std::cerr << "pgvigil: config error: " << error.what() << "\n";
    return kUsageError;
  }
  if (check_config) {
    std::cout << pgvigil::config::ToRedactedYaml(config);
    return 0;
  }

  pgvigil::agent::SetUpLogging(config.log);
  try {
    if (once) return pgvigil::agent::RunOnce(config);
    return pgvigil::agent::Run(config, overrides);
  } catch (const std::exception& error) {
    spdlog::error("{}", error.what());
    return kRuntimeFailure;
  }
}
