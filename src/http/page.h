#pragma once

#include <string>

namespace pgvigil::http {

// A response body and its status, built without any HTTP library types.
struct Page {
  int status = 200;
  std::string content_type;
  std::string body;
};

}  // namespace pgvigil::http
