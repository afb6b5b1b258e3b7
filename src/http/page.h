#pragma once

#include <string>
#include <utility>
#include <vector>

namespace pgvigil::http {

// A response body and its status, built without any HTTP library types.
struct Page {
  Page() = default;
  Page(int status_, std::string content_type_, std::string body_,
       std::string content_encoding_ = {})
      : status(status_),
        content_type(std::move(content_type_)),
        body(std::move(body_)),
        content_encoding(std::move(content_encoding_)) {}

  int status = 200;
  std::string content_type;
  std::string body;
  // When set, `body` is this encoding of the content (gzip), sent with Content-Encoding.
  std::string content_encoding;
  std::vector<std::pair<std::string, std::string>> headers;  // sent as they are
};

}  // namespace pgvigil::http
