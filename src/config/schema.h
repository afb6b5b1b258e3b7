#pragma once

// A config section as a table of fields (docs/configuration.md): each key is written once, as
// a row that says how its value is read and how --check-config prints it back. A field's default
// is its struct member's initializer (an interval's, the collector table's). yaml-cpp stays
// inside config/: no header outside it includes this one.

#include <yaml-cpp/yaml.h>

#include <functional>
#include <string>
#include <vector>

#include "config/config.h"
#include "config/yaml_reader.h"

namespace pgvigil::config {

template <typename Section>
struct Field {
  std::string key;
  // Reads `node` (the value under `key`, at `path`) into the section; a nested map merges key
  // by key into what the section already holds.
  std::function<void(const YamlReader&, const YAML::Node&, const std::string&, Section&)> read;
  // Prints the value (a secret never: a field holding one prints where it comes from).
  std::function<void(YAML::Emitter&, const Section&)> emit;
};

template <typename Section>
using Fields = std::vector<Field<Section>>;

template <typename Section>
[[nodiscard]] std::vector<std::string> Keys(const Fields<Section>& fields) {
  std::vector<std::string> keys;
  for (const auto& field : fields) keys.push_back(field.key);
  return keys;
}

// Reads the value of `key` through its field; false if no field has that key.
template <typename Section>
bool ReadField(const Fields<Section>& fields, const YamlReader& reader, const YAML::Node& node,
               const std::string& key, const std::string& path, Section& section) {
  for (const auto& field : fields) {
    if (field.key != key) continue;
    field.read(reader, node, path, section);
    return true;
  }
  return false;
}

// Reads a whole section; an unknown key is an error naming it.
template <typename Section>
void ReadSection(const Fields<Section>& fields, const YamlReader& reader, const YAML::Node& node,
                 const std::string& path, Section& section) {
  reader.ForEachKey(node, path, Keys(fields),
                    [&](const std::string& key, const YAML::Node& value, const std::string& p) {
                      ReadField(fields, reader, value, key, p, section);
                    });
}

// Prints every field as `key: value`, in table order, into the map being emitted.
template <typename Section>
void EmitFields(YAML::Emitter& out, const Fields<Section>& fields, const Section& section) {
  for (const auto& field : fields) {
    out << YAML::Key << field.key << YAML::Value;
    field.emit(out, section);
  }
}

// The shortest text that reads back as the same double (yaml-cpp prints 0.7 as
// 0.69999999999999996): what the operator wrote.
void EmitDouble(YAML::Emitter& out, double value);

// Fields of the common kinds.
template <typename Section>
Field<Section> DurationField(std::string key, Duration Section::*member, bool positive) {
  return {std::move(key),
          [member, positive](const YamlReader& r, const YAML::Node& n, const std::string& p,
                             Section& s) {
            s.*member = positive ? r.PositiveDuration(n, p) : r.DurationValue(n, p);
          },
          [member](YAML::Emitter& out, const Section& s) { out << FormatDuration(s.*member); }};
}

template <typename Section>
Field<Section> IntegerField(std::string key, int Section::*member, int min, int max) {
  return {std::move(key),
          [member, min, max](const YamlReader& r, const YAML::Node& n, const std::string& p,
                             Section& s) { s.*member = r.Integer(n, p, min, max); },
          [member](YAML::Emitter& out, const Section& s) { out << s.*member; }};
}

// A list of non-empty strings, each "a <what>".
template <typename Section>
Field<Section> StringListField(std::string key, std::vector<std::string> Section::*member,
                               std::string what) {
  return {
      std::move(key),
      [member, what](const YamlReader& r, const YAML::Node& n, const std::string& p, Section& s) {
        if (!n.IsSequence()) r.Fail(n, p, "expected a list of " + what + "s");
        std::vector<std::string> items;
        for (std::size_t i = 0; i < n.size(); ++i) {
          const std::string item_path = p + "[" + std::to_string(i) + "]";
          std::string item = r.String(n[i], item_path);
          if (item.empty()) r.Fail(n[i], item_path, "expected a " + what + ", got nothing");
          items.push_back(std::move(item));
        }
        s.*member = std::move(items);
      },
      [member](YAML::Emitter& out, const Section& s) {
        out << YAML::Flow << YAML::BeginSeq;
        for (const auto& item : s.*member) out << item;
        out << YAML::EndSeq;
      }};
}

// {warn, critical} with warn below critical: numbers from `min` to `max` (whole numbers when
// `whole`: counts of transactions or files, printed as such), or durations.
template <typename Section>
Field<Section> ThresholdsField(std::string key, Thresholds Section::*member, double min, double max,
                               bool whole = false) {
  return {std::move(key),
          [member, min, max, whole](const YamlReader& r, const YAML::Node& n, const std::string& p,
                                    Section& s) {
            Thresholds thresholds = s.*member;
            r.ForEachKey(n, p, {"warn", "critical"},
                         [&](const std::string& k, const YAML::Node& v, const std::string& vp) {
                           const double number = whole ? r.Integer(v, vp, static_cast<int>(min),
                                                                   static_cast<int>(max))
                                                       : r.Number(v, vp);
                           if (number < min || number > max) {
                             r.Fail(v, vp,
                                    max == 1 ? std::string("expected a ratio from 0 to 1")
                                             : "expected a number from " + std::to_string(min) +
                                                   " to " + std::to_string(max));
                           }
                           (k == "warn" ? thresholds.warn : thresholds.critical) = number;
                         });
            if (thresholds.warn >= thresholds.critical) {
              r.Fail(n, p, "warn must be below critical");
            }
            s.*member = thresholds;
          },
          [member, whole](YAML::Emitter& out, const Section& s) {
            const auto emit = [&](double value) {
              if (whole) {
                out << static_cast<long long>(value);
              } else {
                EmitDouble(out, value);
              }
            };
            out << YAML::Flow << YAML::BeginMap << YAML::Key << "warn" << YAML::Value;
            emit((s.*member).warn);
            out << YAML::Key << "critical" << YAML::Value;
            emit((s.*member).critical);
            out << YAML::EndMap;
          }};
}

template <typename Section>
Field<Section> DurationThresholdsField(std::string key, DurationThresholds Section::*member) {
  return {std::move(key),
          [member](const YamlReader& r, const YAML::Node& n, const std::string& p, Section& s) {
            DurationThresholds thresholds = s.*member;
            r.ForEachKey(n, p, {"warn", "critical"},
                         [&](const std::string& k, const YAML::Node& v, const std::string& vp) {
                           (k == "warn" ? thresholds.warn : thresholds.critical) =
                               r.DurationValue(v, vp);
                         });
            if (thresholds.warn >= thresholds.critical) {
              r.Fail(n, p, "warn must be below critical");
            }
            s.*member = thresholds;
          },
          [member](YAML::Emitter& out, const Section& s) {
            out << YAML::Flow << YAML::BeginMap;
            out << YAML::Key << "warn" << YAML::Value << FormatDuration((s.*member).warn);
            out << YAML::Key << "critical" << YAML::Value << FormatDuration((s.*member).critical);
            out << YAML::EndMap;
          }};
}

// The fields of `defaults:` and of each target (src/config/settings_fields.cpp), and of `health:`.
[[nodiscard]] const Fields<TargetSettings>& TargetSettingFields();
[[nodiscard]] const Fields<HealthConfig>& HealthFields();

}  // namespace pgvigil::config
