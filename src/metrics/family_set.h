#pragma once

#include <prometheus/client_metric.h>
#include <prometheus/metric_family.h>

#include <string>
#include <vector>

#include "metrics/descriptor.h"
#include "metrics/gzip.h"

namespace pgvigil::metrics {

using Label = prometheus::ClientMetric::Label;
using Labels = std::vector<Label>;

// Collects the samples of one collection into metric families. Every sample gets the base
// labels first (for a target: target="<name>" and its constant labels). Not thread-safe: one
// collector fills it, then it is frozen into a snapshot.
class FamilySet {
 public:
  explicit FamilySet(Labels base = {}) : base_(std::move(base)) {}

  // A sample of the gauge or counter family `metric` declares, with its labels' values: the
  // label names must be the descriptor's, in its order (std::logic_error naming the metric if
  // not, or if `metric` is a histogram).
  void Add(const Descriptor& metric, const Labels& labels, double value);
  // A sample of a histogram family: `histogram` as prometheus::Histogram::Collect() returns it.
  void Add(const Descriptor& metric, const Labels& labels, prometheus::ClientMetric histogram);

  // The way being replaced: name and help typed at the emit. Kept while collectors written
  // against it are converted to descriptors; new code adds samples through a Descriptor.
  void Gauge(const std::string& name, const std::string& help, const Labels& labels, double value);
  void Counter(const std::string& name, const std::string& help, const Labels& labels,
               double value);
  // `metric` as prometheus::Histogram::Collect() returns it; labels are added here.
  void Histogram(const std::string& name, const std::string& help, const Labels& labels,
                 prometheus::ClientMetric metric);

  [[nodiscard]] const std::vector<prometheus::MetricFamily>& families() const { return families_; }
  [[nodiscard]] std::vector<prometheus::MetricFamily> Take() { return std::move(families_); }

 private:
  prometheus::ClientMetric& Sample(const std::string& name, const std::string& help,
                                   prometheus::MetricType type, const Labels& labels);

  Labels base_;
  std::vector<prometheus::MetricFamily> families_;
};

// The families with `base` put before every sample's labels, as a FamilySet with that base
// would have made them: one collection read once, reported for several targets.
[[nodiscard]] std::vector<prometheus::MetricFamily> WithBase(
    const std::vector<prometheus::MetricFamily>& families, const Labels& base);

// Joins families of the same name (one per target) so each name has one HELP/TYPE block.
[[nodiscard]] std::vector<prometheus::MetricFamily> Merge(
    const std::vector<const std::vector<prometheus::MetricFamily>*>& parts);

// One family in text format, split so that several parts can share one HELP/TYPE header.
struct SerializedFamily {
  std::string name;
  std::string header;  // its "# HELP" and "# TYPE" lines
  // Its sample lines, compressed on their own and kept only so (a thousand targets' text is
  // some 60 MB, compressed 9): the gzip exposition is assembled from these pieces, the text one
  // inflated from that. A header, used once per scrape whatever the number of targets, is
  // compressed there.
  DeflatedPiece samples_gzip;
};

// Serializes each family on its own (prometheus-cpp), once, where the data is produced: a
// target's worker does it when it publishes a snapshot, so that a scrape only joins text.
[[nodiscard]] std::vector<SerializedFamily> SerializeEach(
    const std::vector<prometheus::MetricFamily>& families);

// Prometheus text format 0.0.4: the same text prometheus-cpp gives for Merge() of the families
// the parts were made from. Each family name once, with its header from the first part that has
// it, then every part's samples.
[[nodiscard]] std::string Join(const std::vector<const std::vector<SerializedFamily>*>& parts);

// The same text compressed: appends the pieces compressed at serialization to `gzip`, whose
// Finish() then gives one gzip member.
// `text_length`, if given, receives the length of the text compressed.
void JoinGzip(const std::vector<const std::vector<SerializedFamily>*>& parts, GzipBuilder& gzip,
              std::size_t* text_length = nullptr);

}  // namespace pgvigil::metrics
