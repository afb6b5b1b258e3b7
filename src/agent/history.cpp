#include "agent/history.h"

#include <algorithm>
#include <nlohmann/json.hpp>

namespace pgvigil::agent {
namespace {

// The columns of Point::values, in order, as /history names them.
constexpr std::array<const char*, 6> kColumns = {
    "connection_usage", "probe_ms", "connect_ms", "error_ratio", "pool_usage", "clients_waiting"};

// Distinct application names a ring may refer to before it drops the ones no point uses.
constexpr std::size_t kMaxNames = 2048;

nlohmann::json Number(float value) {
  return std::isnan(value) ? nlohmann::json(nullptr) : nlohmann::json(value);
}

}  // namespace

std::uint16_t History::Intern(Ring& ring, const std::string& name) {
  const auto found = std::find(ring.names.begin(), ring.names.end(), name);
  if (found != ring.names.end()) return static_cast<std::uint16_t>(found - ring.names.begin());
  if (ring.names.size() >= kMaxNames) {
    // Keep only the names some point still refers to, renumbered.
    std::vector<std::string> kept;
    std::vector<int> renumbered(ring.names.size(), -1);
    for (Point& point : ring.points) {
      for (std::size_t i = 0; i < point.applications; ++i) {
        int& id = renumbered[point.application_ids[i]];
        if (id < 0) {
          id = static_cast<int>(kept.size());
          kept.push_back(ring.names[point.application_ids[i]]);
        }
        point.application_ids[i] = static_cast<std::uint16_t>(id);
      }
    }
    ring.names = std::move(kept);
  }
  ring.names.push_back(name);
  return static_cast<std::uint16_t>(ring.names.size() - 1);
}

void History::Record(const std::string& target, const Sample& sample) {
  std::scoped_lock lock(mutex_);
  Ring& ring = rings_[target];
  if (ring.points.capacity() < kPoints) ring.points.reserve(kPoints);
  Point point;
  point.unix_seconds = sample.unix_seconds;
  point.values = {sample.connection_usage, sample.probe_ms,   sample.connect_ms,
                  sample.error_ratio,      sample.pool_usage, sample.clients_waiting};
  for (const auto& [name, sessions] : sample.applications) {
    if (point.applications == kApplications) break;
    point.application_ids[point.applications] = Intern(ring, name);
    point.application_sessions[point.applications] = sessions;
    ++point.applications;
  }
  if (ring.points.size() < kPoints) {
    ring.points.push_back(point);
  } else {
    ring.points[ring.next] = point;
    ring.next = (ring.next + 1) % kPoints;
  }
}

void History::Retain(const std::set<std::string>& targets) {
  std::scoped_lock lock(mutex_);
  std::erase_if(rings_, [&](const auto& entry) { return !targets.contains(entry.first); });
}

std::optional<std::string> History::Json(const std::string& target) const {
  std::scoped_lock lock(mutex_);
  const auto found = rings_.find(target);
  if (found == rings_.end()) return std::nullopt;
  const Ring& ring = found->second;
  const std::size_t count = ring.points.size();
  nlohmann::json times = nlohmann::json::array();
  std::array<nlohmann::json, kColumns.size()> columns;
  columns.fill(nlohmann::json::array());
  std::map<std::uint16_t, nlohmann::json> applications;  // id → column
  for (std::size_t i = 0; i < count; ++i) {
    const Point& point = ring.points[(ring.next + i) % count];
    times.push_back(point.unix_seconds);
    for (std::size_t c = 0; c < kColumns.size(); ++c) columns[c].push_back(Number(point.values[c]));
    for (std::size_t a = 0; a < point.applications; ++a) {
      auto& column = applications[point.application_ids[a]];
      // Not among the busiest at that time: unknown, not zero.
      if (column.is_null()) column = nlohmann::json(std::vector<std::nullptr_t>(count, nullptr));
      column[i] = point.application_sessions[a];
    }
  }
  nlohmann::json body = {
      {"target", target}, {"step_seconds", kStep.count()}, {"t", std::move(times)}};
  for (std::size_t c = 0; c < kColumns.size(); ++c) body[kColumns[c]] = std::move(columns[c]);
  nlohmann::json by_name = nlohmann::json::object();
  for (auto& [id, column] : applications) by_name[ring.names[id]] = std::move(column);
  body["applications"] = std::move(by_name);
  return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::size_t History::MemoryBytes() const {
  std::scoped_lock lock(mutex_);
  std::size_t bytes = 0;
  for (const auto& [name, ring] : rings_) {
    bytes += sizeof(ring) + name.capacity() + ring.points.capacity() * sizeof(Point);
    for (const auto& application : ring.names)
      bytes += sizeof(application) + application.capacity();
  }
  return bytes;
}

}  // namespace pgvigil::agent
