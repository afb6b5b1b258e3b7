// The agent's side of receiving server logs (docs/logs.md): the syslog listeners the targets
// name, the drains' route, and the listeners' own series.
#include "agent/log_receivers.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "agent/agent.h"
#include "config/listen_address.h"
#include "http/basic_auth.h"
#include "logs/drain.h"

namespace pgvigil::agent {
namespace {

using prometheus::MetricType;

const metrics::Descriptor kConnections{"pgvigil_log_receiver_connections",
                                       MetricType::Gauge,
                                       "Open connections of a syslog listener.",
                                       {"listener"}};
const metrics::Descriptor kMessages{
    "pgvigil_log_receiver_messages_total",
    MetricType::Counter,
    "Messages a syslog listener received: routed to a target, matching no target, malformed "
    "(not syslog, or not framed), oversized (dropped).",
    {"listener", "outcome"}};
const metrics::Descriptor kRejected{
    "pgvigil_log_receiver_rejected_connections_total",
    MetricType::Counter,
    "Connections a syslog listener closed: framing broken, TLS failed, idle too long, or "
    "evicted to make room.",
    {"listener"}};

}  // namespace

std::span<const metrics::Descriptor> LogReceiverMetrics() {
  static const metrics::Descriptor all[] = {kConnections, kMessages, kRejected};
  return all;
}

void AddLogReceiverSeries(
    const std::vector<std::pair<std::string, logs::SyslogListener::Counts>>& listeners,
    metrics::FamilySet& own) {
  for (const auto& [listener, counts] : listeners) {
    own.Add(kConnections, {{"listener", listener}}, static_cast<double>(counts.connections));
  }
  for (const auto& [listener, counts] : listeners) {
    for (const auto& [outcome, count] :
         {std::pair{"routed", counts.routed}, std::pair{"unmatched", counts.unmatched},
          std::pair{"malformed", counts.malformed}, std::pair{"oversized", counts.oversized}}) {
      own.Add(kMessages, {{"listener", listener}, {"outcome", outcome}},
              static_cast<double>(count));
    }
  }
  for (const auto& [listener, counts] : listeners) {
    own.Add(kRejected, {{"listener", listener}}, static_cast<double>(counts.rejected));
  }
}

void Agent::OpenLogListeners(const config::Config& config) {
  // Each listen address once, with the routes of every target that names it.
  std::vector<std::pair<logs::SyslogListenerSettings, std::vector<logs::SyslogRoute>>> wanted;
  for (const auto& target : config.targets) {
    const auto& source = target.settings.log_source;
    if (!target.settings.collectors.at("log") || source.Kind() != "syslog") continue;
    const auto address = config::ParseListenAddress(source.syslog.listen);
    const logs::SyslogListenerSettings settings{source.syslog.listen,
                                                address.host,
                                                address.port,
                                                source.syslog.udp,
                                                source.syslog.tls.cert_file,
                                                source.syslog.tls.key_file,
                                                source.syslog.tls.client_ca_file};
    auto same = std::find_if(wanted.begin(), wanted.end(), [&](const auto& entry) {
      return entry.first.address == settings.address;
    });
    if (same == wanted.end()) {
      wanted.emplace_back(settings, std::vector<logs::SyslogRoute>{});
      same = wanted.end() - 1;
    } else if (!(same->first == settings)) {
      throw config::ConfigError("target " + target.name + ": log_source.syslog.listen " +
                                settings.address +
                                " is shared with another target but its udp or tls differ");
    }
    same->second.push_back({source.syslog.match, target.name, logs::Inboxes::For(target.name)});
  }
  std::lock_guard lock(listeners_mutex_);
  std::vector<std::unique_ptr<logs::SyslogListener>> next;
  for (auto& entry : wanted) {
    const logs::SyslogListenerSettings& settings = entry.first;
    auto kept = std::find_if(listeners_.begin(), listeners_.end(), [&](const auto& listener) {
      return listener && listener->settings() == settings;
    });
    if (kept != listeners_.end()) {
      next.push_back(std::move(*kept));
    } else {
      try {
        next.push_back(std::make_unique<logs::SyslogListener>(settings));
      } catch (const std::exception& e) {
        // Put back what was taken, so the running listeners stay as they were.
        for (auto& listener : next) {
          auto slot = std::find(listeners_.begin(), listeners_.end(), nullptr);
          if (listener && slot != listeners_.end()) *slot = std::move(listener);
        }
        throw config::ConfigError(e.what());
      }
      spdlog::info("syslog listener on {} (port {}{}{})", settings.address, next.back()->port(),
                   settings.udp ? ", UDP too" : "", settings.cert_file.empty() ? "" : ", TLS");
    }
    next.back()->SetRoutes(std::move(entry.second));
  }
  listeners_ = std::move(next);
}

int Agent::DrainAdmits(const std::string& target, const std::string& authorization) const {
  const auto state = Current();
  const auto worker = std::find_if(state->workers.begin(), state->workers.end(),
                                   [&](const auto& w) { return w->target().name == target; });
  if (worker == state->workers.end()) return 404;
  const auto& settings = (*worker)->target().settings;
  if (!settings.collectors.at("log") || settings.log_source.Kind() != "drain") return 404;
  return http::TokenMatches(authorization, settings.log_source.drain.token) ? 0 : 401;
}

Page Agent::Drain(const std::string& target, const std::string& authorization,
                  const std::string& content_type, const std::string& body) const {
  // Checked again: a reload may have changed the target while the body arrived.
  switch (DrainAdmits(target, authorization)) {
    case 0:
      break;
    case 401:
      return {401, "text/plain; charset=utf-8", "wrong or missing drain token\n"};
    default:
      return {404, "text/plain; charset=utf-8", "no drain for this target\n"};
  }
  const auto inbox = logs::Inboxes::For(target);
  const logs::DrainResult result = logs::ReceiveDrain(
      content_type, body,
      [&inbox](const logs::InboxMessage& message) { return inbox->Push(message); });
  inbox->CountRejected(result.rejected);
  if (!result.error.empty()) {
    const int status = result.error.starts_with("content type") ? 415 : 400;
    return {status, "text/plain; charset=utf-8", result.error + "\n"};
  }
  return {204, "text/plain; charset=utf-8", ""};
}

}  // namespace pgvigil::agent
