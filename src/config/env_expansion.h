#pragma once

#include <string>

namespace pgvigil::config {

// Replaces ${VAR} with the environment variable's value and ${VAR:-default} with the value, or
// the default when VAR is unset or empty; "$$" is a literal dollar sign and any other '$' stays
// as it is (docs/configuration.md, Rules). A variable name is letters, digits and '_', not starting
// with a digit. Throws std::invalid_argument naming what is wrong: an unterminated "${", a bad
// variable name, or a variable that is unset and has no default.
[[nodiscard]] std::string ExpandEnvironment(const std::string& text);

}  // namespace pgvigil::config
