#include "config/yaml_reader.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "config/env_expansion.h"

namespace pgvigil::config {

void YamlReader::Fail(const YAML::Node& node, const std::string& key,
                      const std::string& what) const {
  std::ostringstream out;
  out << source_;
  if (node.IsDefined() && node.Mark().line >= 0) out << ':' << node.Mark().line + 1;
  out << ": " << key << ": " << what;
  throw ConfigError(out.str());
}

// Calls `handle(key, value, path)` for each entry; a key not in `known` is an error.
void YamlReader::ForEachKey(
    const YAML::Node& map, const std::string& path, const std::vector<std::string>& known,
    const std::function<void(const std::string&, const YAML::Node&, const std::string&)>& handle)
    const {
  if (map.IsNull()) return;
  if (!map.IsMap()) Fail(map, path.empty() ? "(top level)" : path, "expected a map of keys");
  for (const auto& entry : map) {
    if (!entry.first.IsScalar()) {
      Fail(entry.first, path.empty() ? "(top level)" : path,
           "expected a plain key, got a list or map");
    }
    const auto key = entry.first.Scalar();
    const std::string key_path = path.empty() ? key : path + "." + key;
    if (!known.empty() && std::find(known.begin(), known.end(), key) == known.end()) {
      std::string list;
      for (const auto& name : known) list += (list.empty() ? "" : ", ") + name;
      Fail(entry.first, key_path, "unknown key (expected one of: " + list + ")");
    }
    handle(key, entry.second, key_path);
  }
}

std::string YamlReader::String(const YAML::Node& node, const std::string& key) const {
  if (node.IsNull()) return "";
  if (!node.IsScalar()) Fail(node, key, "expected a string");
  try {
    return ExpandEnvironment(node.Scalar());
  } catch (const std::invalid_argument& e) {
    Fail(node, key, e.what());
  }
}

Duration YamlReader::DurationValue(const YAML::Node& node, const std::string& key) const {
  const std::string text = String(node, key);
  auto parsed = ParseDuration(text);
  if (!parsed) {
    Fail(node, key, "expected a duration such as 250ms, 5s, 1m or 1h, got '" + text + "'");
  }
  if (*parsed > kMaxDuration) Fail(node, key, "expected at most 365d, got '" + text + "'");
  return *parsed;
}

Duration YamlReader::PositiveDuration(const YAML::Node& node, const std::string& key) const {
  Duration value = DurationValue(node, key);
  if (value <= Duration::zero()) Fail(node, key, "expected a duration greater than 0s");
  return value;
}

double YamlReader::Number(const YAML::Node& node, const std::string& key) const {
  const std::string text = String(node, key);
  try {
    std::size_t used = 0;
    double value = std::stod(text, &used);
    if (used == text.size() && std::isfinite(value)) return value;
  } catch (const std::exception&) {
  }
  Fail(node, key, "expected a finite number, got '" + text + "'");
}

int YamlReader::Integer(const YAML::Node& node, const std::string& key, int min, int max) const {
  double value = Number(node, key);
  if (value != static_cast<int>(value) || value < min || value > max) {
    Fail(node, key,
         "expected a whole number from " + std::to_string(min) + " to " + std::to_string(max));
  }
  return static_cast<int>(value);
}

bool YamlReader::Bool(const YAML::Node& node, const std::string& key) const {
  std::string text = String(node, key);
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  if (text == "true" || text == "yes" || text == "on") return true;
  if (text == "false" || text == "no" || text == "off") return false;
  Fail(node, key, "expected true or false, got '" + text + "'");
}

std::string YamlReader::OneOf(const YAML::Node& node, const std::string& key,
                              const std::vector<std::string>& allowed) const {
  std::string value = String(node, key);
  if (std::find(allowed.begin(), allowed.end(), value) != allowed.end()) return value;
  std::string list;
  for (const auto& name : allowed) list += (list.empty() ? "" : ", ") + name;
  Fail(node, key, "expected one of " + list + ", got '" + value + "'");
}

std::string YamlReader::ReadPasswordFile(const YAML::Node& node, const std::string& key,
                                         const std::string& path) const {
  std::ifstream in(path, std::ios::binary);
  if (!in) Fail(node, key, "cannot read password file '" + path + "'");
  std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) Fail(node, key, "cannot read password file '" + path + "'");
  while (!content.empty() && (content.back() == '\n' || content.back() == '\r')) {
    content.pop_back();
  }
  return content;
}

}  // namespace pgvigil::config
