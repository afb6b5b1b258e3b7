#include "metrics/family_set.h"

#include <prometheus/text_serializer.h>

#include <map>
#include <stdexcept>
#include <string_view>
#include <unordered_map>

namespace pgvigil::metrics {

namespace {

const char* TypeName(prometheus::MetricType type) {
  switch (type) {
    case prometheus::MetricType::Counter:
      return "counter";
    case prometheus::MetricType::Gauge:
      return "gauge";
    case prometheus::MetricType::Histogram:
      return "histogram";
    case prometheus::MetricType::Summary:
      return "summary";
    case prometheus::MetricType::Untyped:
      break;
  }
  return "untyped";
}

std::string Names(const std::vector<std::string>& names) {
  std::string text;
  for (const auto& name : names) text += (text.empty() ? "" : ", ") + name;
  return "(" + text + ")";
}

// A sample that does not match its declaration is a mistake in the code that adds it: thrown
// as such, so that the collector's unit test fails on it.
void CheckSample(const Descriptor& metric, const Labels& labels, bool histogram) {
  const bool is_histogram = metric.type == prometheus::MetricType::Histogram;
  if (histogram != is_histogram || (!is_histogram && metric.type != prometheus::MetricType::Gauge &&
                                    metric.type != prometheus::MetricType::Counter)) {
    throw std::logic_error("metric " + metric.name + ": declared a " + TypeName(metric.type) +
                           ", added as a " + (histogram ? "histogram" : "gauge or counter"));
  }
  bool same = labels.size() == metric.labels.size();
  for (std::size_t i = 0; same && i < labels.size(); ++i) {
    same = labels[i].name == metric.labels[i];
  }
  if (!same) {
    std::vector<std::string> given;
    given.reserve(labels.size());
    for (const auto& label : labels) given.push_back(label.name);
    throw std::logic_error("metric " + metric.name + ": labels " + Names(given) + " given, " +
                           Names(metric.labels) + " declared");
  }
}

}  // namespace

void FamilySet::Add(const Descriptor& metric, const Labels& labels, double value) {
  CheckSample(metric, labels, /*histogram=*/false);
  auto& sample = Sample(metric.name, metric.help, metric.type, labels);
  if (metric.type == prometheus::MetricType::Counter) {
    sample.counter.value = value;
  } else {
    sample.gauge.value = value;
  }
}

void FamilySet::Add(const Descriptor& metric, const Labels& labels,
                    prometheus::ClientMetric histogram) {
  CheckSample(metric, labels, /*histogram=*/true);
  Sample(metric.name, metric.help, metric.type, labels).histogram = std::move(histogram.histogram);
}

prometheus::ClientMetric& FamilySet::Sample(const std::string& name, const std::string& help,
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
  Sample(name, help, prometheus::MetricType::Gauge, labels).gauge.value = value;
}

void FamilySet::Counter(const std::string& name, const std::string& help, const Labels& labels,
                        double value) {
  Sample(name, help, prometheus::MetricType::Counter, labels).counter.value = value;
}

void FamilySet::Histogram(const std::string& name, const std::string& help, const Labels& labels,
                          prometheus::ClientMetric metric) {
  Sample(name, help, prometheus::MetricType::Histogram, labels).histogram =
      std::move(metric.histogram);
}

std::vector<prometheus::MetricFamily> WithBase(
    const std::vector<prometheus::MetricFamily>& families, const Labels& base) {
  std::vector<prometheus::MetricFamily> out = families;
  for (auto& family : out) {
    for (auto& metric : family.metric)
      metric.label.insert(metric.label.begin(), base.begin(), base.end());
  }
  return out;
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

std::vector<SerializedFamily> SerializeEach(const std::vector<prometheus::MetricFamily>& families) {
  const prometheus::TextSerializer serializer;
  std::vector<SerializedFamily> out;
  out.reserve(families.size());
  for (const auto& family : families) {
    std::string text = serializer.Serialize({family});
    std::size_t header_end = 0;
    while (header_end < text.size() && text[header_end] == '#') {
      const auto newline = text.find('\n', header_end);
      header_end = newline == std::string::npos ? text.size() : newline + 1;
    }
    SerializedFamily& serialized = out.emplace_back();
    serialized.name = family.name;
    serialized.header = text.substr(0, header_end);
    serialized.samples_gzip = Deflate(std::string_view(text).substr(header_end));
  }
  return out;
}

namespace {

// Every family's pieces in order of first appearance: one header (the first part's), then every
// part's samples. Names are found by hash, and nothing is copied (a scrape of a thousand
// targets collates some 60,000 pieces).
struct Slot {
  const SerializedFamily* first;
  std::vector<const SerializedFamily*> parts;
};

std::vector<Slot> Collate(const std::vector<const std::vector<SerializedFamily>*>& parts) {
  std::vector<Slot> slots;
  std::unordered_map<std::string_view, std::size_t> index;
  index.reserve(256);
  for (const auto* part : parts) {
    for (const auto& family : *part) {
      auto [it, inserted] = index.try_emplace(family.name, slots.size());
      if (inserted) slots.push_back({&family, {}});
      slots[it->second].parts.push_back(&family);
    }
  }
  return slots;
}

}  // namespace

std::string Join(const std::vector<const std::vector<SerializedFamily>*>& parts) {
  GzipBuilder gzip;
  std::size_t length = 0;
  JoinGzip(parts, gzip, &length);
  return Gunzip(gzip.Finish(), length);
}

void JoinGzip(const std::vector<const std::vector<SerializedFamily>*>& parts, GzipBuilder& gzip,
              std::size_t* text_length) {
  const auto slots = Collate(parts);
  std::size_t size = 0;
  std::size_t length = 0;
  for (const auto& slot : slots) {
    size += slot.first->header.size() / 2;
    length += slot.first->header.size();
    for (const auto* family : slot.parts) {
      size += family->samples_gzip.data.size();
      length += family->samples_gzip.length;
    }
  }
  if (text_length != nullptr) *text_length = length;
  gzip.Reserve(gzip.size() + size + 64);
  for (const auto& slot : slots) {
    gzip.Add(Deflate(slot.first->header));
    for (const auto* family : slot.parts) gzip.Add(family->samples_gzip);
  }
}

}  // namespace pgvigil::metrics
