#pragma once

#include <prometheus/metric_family.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace pgvigil::testing {

// The value of the one sample of `name` whose labels include all of `labels`; nullopt if none.
inline std::optional<double> SampleValue(const std::vector<prometheus::MetricFamily>& families,
                                         const std::string& name,
                                         const std::map<std::string, std::string>& labels = {}) {
  for (const auto& family : families) {
    if (family.name != name) continue;
    for (const auto& metric : family.metric) {
      std::size_t matched = 0;
      for (const auto& label : metric.label) {
        auto it = labels.find(label.name);
        if (it != labels.end() && it->second == label.value) ++matched;
      }
      if (matched != labels.size()) continue;
      switch (family.type) {
        case prometheus::MetricType::Counter:
          return metric.counter.value;
        case prometheus::MetricType::Histogram:
          return static_cast<double>(metric.histogram.sample_count);
        default:
          return metric.gauge.value;
      }
    }
  }
  return std::nullopt;
}

// The same over exposition text (a snapshot's series are kept serialized only): the value of the
// first sample line of `name` whose labels include all of `labels`. Label values must not hold
// '"' or ','.
inline std::optional<double> SampleValue(const std::string& exposition, const std::string& name,
                                         const std::map<std::string, std::string>& labels = {}) {
  std::size_t start = 0;
  while (start < exposition.size()) {
    std::size_t end = exposition.find('\n', start);
    if (end == std::string::npos) end = exposition.size();
    const std::string line = exposition.substr(start, end - start);
    start = end + 1;
    if (line.empty() || line[0] == '#') continue;
    const std::size_t name_end = line.find_first_of("{ ");
    if (line.compare(0, name_end, name) != 0 || name_end != name.size()) continue;
    bool all = true;
    for (const auto& [label, value] : labels) {
      all = all && line.find(label + "=\"" + value + "\"") != std::string::npos;
    }
    if (all) return std::stod(line.substr(line.rfind(' ') + 1));
  }
  return std::nullopt;
}

inline std::size_t SampleCount(const std::vector<prometheus::MetricFamily>& families,
                               const std::string& name) {
  for (const auto& family : families) {
    if (family.name == name) return family.metric.size();
  }
  return 0;
}

}  // namespace pgvigil::testing
