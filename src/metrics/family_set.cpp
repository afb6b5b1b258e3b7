#include "metrics/family_set.h"

#include <prometheus/text_serializer.h>

#include <map>

namespace pgvigil::metrics {

prometheus::ClientMetric& FamilySet::Add(const std::string& name, const std::string& help,
                                         prometheus::MetricType type, const Labels& labels) {
  prometheus::MetricFamily* family = nullptr;
  for (auto& candidate : families_) {
    if (candidate.name == name) family = &candidate;
  }
  if (family == nullptr) {
    family = &families_.emplace_back();
    family->name = name;
    family->help = help;
    family->type = type;
  }
  auto& metric = family->metric.emplace_back();
  metric.label.reserve(base_.size() + labels.size());
  metric.label.insert(metric.label.end(), base_.begin(), base_.end());
  metric.label.insert(metric.label.end(), labels.begin(), labels.end());
  return metric;
}

void FamilySet::Gauge(const std::string& name, const std::string& help, const Labels& labels,
                      double value) {
  Add(name, help, prometheus::MetricType::Gauge, labels).gauge.value = value;
}

void FamilySet::Counter(const std::string& name, const std::string& help, const Labels& labels,
                        double value) {
  Add(name, help, prometheus::MetricType::Counter, labels).counter.value = value;
}

void FamilySet::Histogram(const std::string& name, const std::string& help, const Labels& labels,
                          prometheus::ClientMetric metric) {
  Add(name, help, prometheus::MetricType::Histogram, labels).histogram =
      std::move(metric.histogram);
}

std::vector<prometheus::MetricFamily> Merge(
    const std::vector<const std::vector<prometheus::MetricFamily>*>& parts) {
  std::vector<prometheus::MetricFamily> merged;
  std::map<std::string, std::size_t> index;
  for (const auto* part : parts) {
    for (const auto& family : *part) {
      auto [it, inserted] = index.try_emplace(family.name, merged.size());
      if (inserted) {
        merged.push_back(family);
      } else {
        auto& into = merged[it->second].metric;
        into.insert(into.end(), family.metric.begin(), family.metric.end());
      }
    }
  }
  return merged;
}

std::string Serialize(const std::vector<prometheus::MetricFamily>& families) {
  return prometheus::TextSerializer().Serialize(families);
}

}  // namespace pgvigil::metrics
