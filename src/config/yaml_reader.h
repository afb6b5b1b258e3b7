#pragma once

// Reading YAML for the config loader: yaml-cpp stays inside config/ (no header outside it
// includes this one).

#include <yaml-cpp/yaml.h>

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "config/config.h"
#include "config/duration.h"

namespace pgvigil::config {

// Parses one YAML document and hands it to `read`. Malformed YAML, and anything yaml-cpp still
// throws while reading (a conversion the reader did not foresee), are config errors naming
// `source` and the line, never an abort: at start that is exit 2, on SIGHUP a rejected reload.
template <typename Read>
auto ReadYaml(const std::string& text, const std::string& source, Read read) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    throw ConfigError(source + ":" + std::to_string(e.mark.line + 1) +
                      ": malformed YAML: " + e.msg);
  }
  try {
    return read(root);
  } catch (const YAML::Exception& e) {
    throw ConfigError(source + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
}

// Reads the scalars of one YAML document, failing with file:line: key: reason. Every string goes
// through ${VAR} expansion (config/env_expansion.h).
class YamlReader {
 public:
  explicit YamlReader(std::string source) : source_(std::move(source)) {}

  [[nodiscard]] const std::string& source() const { return source_; }

  [[noreturn]] void Fail(const YAML::Node& node, const std::string& key,
                         const std::string& what) const;

  // Calls `handle(key, value, path)` for each entry; a key not in `known` is an error.
  void ForEachKey(
      const YAML::Node& map, const std::string& path, const std::vector<std::string>& known,
      const std::function<void(const std::string&, const YAML::Node&, const std::string&)>& handle)
      const;

  [[nodiscard]] std::string String(const YAML::Node& node, const std::string& key) const;
  [[nodiscard]] Duration DurationValue(const YAML::Node& node, const std::string& key) const;
  [[nodiscard]] Duration PositiveDuration(const YAML::Node& node, const std::string& key) const;
  [[nodiscard]] double Number(const YAML::Node& node, const std::string& key) const;
  [[nodiscard]] int Integer(const YAML::Node& node, const std::string& key, int min, int max) const;
  [[nodiscard]] bool Bool(const YAML::Node& node, const std::string& key) const;
  [[nodiscard]] std::string OneOf(const YAML::Node& node, const std::string& key,
                                  const std::vector<std::string>& allowed) const;
  // A password or token file's content without its trailing newlines.
  [[nodiscard]] std::string ReadPasswordFile(const YAML::Node& node, const std::string& key,
                                             const std::string& path) const;

 private:
  std::string source_;
};

}  // namespace pgvigil::config
