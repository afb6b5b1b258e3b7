#pragma once

#include <optional>
#include <string>

#include "config/config.h"

namespace pgvigil::agent {

// Command-line settings that win over the config file, on start and on every reload.
struct Overrides {
  std::optional<std::string> listen_address;
  std::optional<std::string> log_level;
  std::optional<std::string> log_format;
  std::optional<std::string> web_config_file;
  struct Shard {
    unsigned index = 0;
    unsigned count = 1;
  };
  std::optional<Shard> shard;  // --targets.shard: keep only this shard's targets

  void ApplyTo(config::Config& config) const;
};

// "I/N" with 0 <= I < N. Throws config::ConfigError.
[[nodiscard]] Overrides::Shard ParseShard(const std::string& text);

// Serves until SIGTERM or SIGINT, reloading the config file on SIGHUP. Returns the exit code.
[[nodiscard]] int Run(const config::Config& config, const Overrides& overrides);

// --once: every enabled collector once per target, exposition on stdout. 0 if every target was
// reachable, 1 otherwise.
[[nodiscard]] int RunOnce(const config::Config& config);

}  // namespace pgvigil::agent
