#pragma once

#include <string>
#include <vector>

#include "config/config.h"

namespace pgvigil::config {

// The regular files the config's `targets_files` globs match now, sorted and without
// duplicates; relative globs are resolved against the config file's directory
// (docs/configuration.md, `targets_files`).
[[nodiscard]] std::vector<std::string> MatchTargetFiles(const Config& config);

// The files `targets_files` matches now, each with its modification time and size: when this
// changes, the running agent reloads. Sorted; "" if there are none.
[[nodiscard]] std::string TargetFilesState(const Config& config);

// A targets file's whole text. Throws ConfigError naming the file when it is larger than
// 64 MiB or cannot be opened.
[[nodiscard]] std::string ReadTargetsFile(const std::string& file);

}  // namespace pgvigil::config
