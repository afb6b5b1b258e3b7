#pragma once

#include <string_view>
#include <vector>

namespace pgvigil::http {

// A file of the status page, compiled into the binary (cmake/embed_assets.cmake): the page
// needs nothing from outside the agent.
struct Asset {
  std::string_view name;  // served as /static/<name>, index.html as /
  std::string_view body;
};

[[nodiscard]] const std::vector<Asset>& Assets();

}  // namespace pgvigil::http
