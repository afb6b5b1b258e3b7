#pragma once

#include <prometheus/metric_type.h>

#include <string>
#include <string_view>
#include <vector>

namespace pgvigil::metrics {

// One metric family as its collector declares it, once, beside the code that fills it
// (docs/architecture.md): its name, type, help and the names of its labels after the target's
// own. Every sample of the family is added through it, so no help text or label name is retyped.
struct Descriptor {
  std::string name;
  prometheus::MetricType type;
  std::string help;
  std::vector<std::string> labels;
};

}  // namespace pgvigil::metrics
