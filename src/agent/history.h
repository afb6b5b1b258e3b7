#pragma once

#include <array>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace pgvigil::agent {

// The last hour of every target's headline numbers, one point every kStep, kept in the agent's
// memory for the status page: a fixed ring per target (about 30 KB), so the memory is bounded
// by the number of targets whatever runs. Thread-safe: the sampler records while HTTP threads
// read.
class History {
 public:
  static constexpr std::chrono::seconds kStep{10};
  static constexpr std::size_t kPoints = 360;  // an hour
  static constexpr std::size_t kApplications = 5;

  // One sample; NaN where a number is unknown (down, not collected, not this kind of target).
  struct Sample {
    std::int64_t unix_seconds = 0;
    float connection_usage = NAN;  // used / max
    float probe_ms = NAN;          // the last SELECT 1 (PgBouncer: SHOW VERSION)
    float connect_ms = NAN;        // the last connect probe
    float error_ratio = NAN;       // over the health window, as /health reports it
    float pool_usage = NAN;        // PgBouncer: the busiest pool's server connections / size
    float clients_waiting = NAN;   // PgBouncer: across every pool
    // Sessions of the applications holding the most, most first.
    std::vector<std::pair<std::string, float>> applications;
  };

  void Record(const std::string& target, const Sample& sample);
  // Forgets targets not in `targets` (removed by a reload).
  void Retain(const std::set<std::string>& targets);
  // The target's points as columns (uPlot's data layout), oldest first; nullopt if unknown.
  [[nodiscard]] std::optional<std::string> Json(const std::string& target) const;
  // Bytes held, for the bench.
  [[nodiscard]] std::size_t MemoryBytes() const;

 private:
  struct Point {
    std::int64_t unix_seconds = 0;
    std::array<float, 6> values{};
    std::array<std::uint16_t, kApplications> application_ids{};
    std::array<float, kApplications> application_sessions{};
    std::uint8_t applications = 0;
  };
  struct Ring {
    std::vector<Point> points;       // capacity kPoints from the start
    std::size_t next = 0;            // where the next point goes once full
    std::vector<std::string> names;  // application names the points refer to by index
  };
  static std::uint16_t Intern(Ring& ring, const std::string& name);

  mutable std::mutex mutex_;
  std::map<std::string, Ring> rings_;
};

}  // namespace pgvigil::agent
