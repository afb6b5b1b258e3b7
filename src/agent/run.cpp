#include "agent/run.h"

#include <signal.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <iostream>

#include "agent/agent.h"
#include "agent/logging.h"
#include "config/sharding.h"
#include "config/targets_files.h"
#include "config/web_config.h"
#include "http/server.h"

namespace pgvigil::agent {
namespace {

// How often the targets files are looked at for changes.
constexpr std::chrono::seconds kTargetFilesPoll{2};

}  // namespace

void Overrides::ApplyTo(config::Config& config) const {
  if (listen_address) config.web.listen_address = *listen_address;
  if (log_level) config.log.level = *log_level;
  if (log_format) config.log.format = config::LogFormat(*log_format);
  if (web_config_file) config.web.config_file = *web_config_file;
  if (shard) {
    std::erase_if(config.targets, [&](const config::Target& target) {
      return !config::InShard(target.name, shard->index, shard->count);
    });
  }
}

Overrides::Shard ParseShard(const std::string& text) {
  const auto slash = text.find('/');
  auto number = [&](const std::string& digits) -> std::optional<unsigned> {
    if (digits.empty() || digits.size() > 6 ||
        !std::all_of(digits.begin(), digits.end(),
                     [](unsigned char c) { return std::isdigit(c); })) {
      return std::nullopt;
    }
    return static_cast<unsigned>(std::stoul(digits));
  };
  const auto index = slash == std::string::npos ? std::nullopt : number(text.substr(0, slash));
  const auto count = slash == std::string::npos ? std::nullopt : number(text.substr(slash + 1));
  if (!index || !count || *count == 0 || *index >= *count) {
    throw config::ConfigError("--targets.shard: expected I/N with 0 <= I < N (such as 2/3), got '" +
                              text + "'");
  }
  return {*index, *count};
}

int Run(const config::Config& initial, const Overrides& overrides) {
  // Signals are taken synchronously by this thread alone; every thread started below
  // inherits the blocked mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  config::WebConfigFile web;
  if (!initial.web.config_file.empty()) web = config::LoadWebConfig(initial.web.config_file);

  Agent agent(initial);
  http::Routes routes{
      [&agent](bool gzip) { return agent.Metrics(gzip); },
      [&agent](const std::optional<std::string>& target) { return agent.Health(target); },
      [&agent] { return agent.Live(); },
      [&agent] { return agent.Ready(); },
      [&agent](const std::string& target) { return agent.HistoryOf(target); },
      [&agent](const http::DrainRequest& r) {
        return agent.Drain(r.target, r.authorization, r.content_type, r.body);
      },
      [&agent](const std::string& target, const std::string& authorization) {
        return agent.DrainAdmits(target, authorization);
      },
  };
  http::Server server(routes, web);
  int port = 0;
  try {
    agent.OpenLogListeners(initial);
    port = server.Listen(initial.web.listen_address);
  } catch (const std::exception& error) {
    spdlog::error("{}", error.what());
    return 1;
  }
  agent.Start();
  spdlog::info("pgvigil listening on {}://{} (port {}) with {} target(s)",
               web.tls() ? "https" : "http", initial.web.listen_address, port,
               initial.targets.size());

  config::Config current = initial;
  std::string files_state = config::TargetFilesState(current);
  while (true) {
    // Waits for a signal, looking at the targets files every few seconds meanwhile.
    const timespec poll{kTargetFilesPoll.count(), 0};
    const int signal_number = sigtimedwait(&signals, nullptr, &poll);
    const char* why = "SIGHUP";
    if (signal_number < 0) {
      if (current.targets_files.empty()) continue;
      const std::string state = config::TargetFilesState(current);
      if (state == files_state) continue;
      files_state = state;
      why = "targets files changed";
    } else if (signal_number != SIGHUP) {
      spdlog::info("received signal {}, shutting down", signal_number);
      break;
    }
    if (current.source.empty()) {
      spdlog::info("SIGHUP: no config file to reload");
      continue;
    }
    try {
      config::Config next = config::LoadFile(current.source);
      overrides.ApplyTo(next);
      if (next.web != current.web) {
        spdlog::warn("{}: web settings changed; they take effect after a restart", why);
      }
      SetUpLogging(next.log);
      agent.Reload(next);
      current = std::move(next);
      files_state = config::TargetFilesState(current);
      spdlog::info("{}: configuration reloaded ({} target(s))", why, current.targets.size());
    } catch (const config::ConfigError& error) {
      spdlog::error("{}: new configuration rejected, keeping the running one: {}", why,
                    error.what());
    }
  }
  server.Stop();
  agent.Stop();
  spdlog::info("stopped");
  if (server.ConnectionsLeftRunning()) {
    // Connection threads of clients that would not finish still run: end the process here,
    // before destructors free what those threads could still touch.
    spdlog::shutdown();
    std::_Exit(0);
  }
  return 0;
}

int RunOnce(const config::Config& config) {
  // The agent as it serves, without its threads: the exposition is /metrics' own.
  Agent agent(config);
  const bool all_up = agent.CollectOnce();
  std::cout << agent.Metrics(/*gzip=*/false).body << std::flush;
  return all_up ? 0 : 1;
}

}  // namespace pgvigil::agent
