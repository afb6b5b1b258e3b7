#pragma once

#include <span>
#include <string>
#include <utility>
#include <vector>

#include "logs/syslog_receiver.h"
#include "metrics/family_set.h"

namespace pgvigil::agent {

// The series AddLogReceiverSeries adds.
[[nodiscard]] std::span<const metrics::Descriptor> LogReceiverMetrics();

// The syslog listeners' own series (docs/metrics.md): open connections, messages by outcome,
// connections closed, each by listen address.
void AddLogReceiverSeries(
    const std::vector<std::pair<std::string, logs::SyslogListener::Counts>>& listeners,
    metrics::FamilySet& out);

}  // namespace pgvigil::agent
