#pragma once

#include <string>
#include <utility>
#include <vector>

#include "pg/result.h"

namespace pgvigil::testing {

// Canned rows for collector unit tests: the first response whose needle occurs in the SQL wins.
class FakeSession final : public pg::Session {
 public:
  explicit FakeSession(int server_version_num = 150000) : version_(server_version_num) {}

  // A needle given again keeps its place and takes the new rows.
  void Respond(std::string needle, pg::Rows rows) {
    for (auto& [known, canned] : responses_) {
      if (known == needle) {
        canned = std::move(rows);
        return;
      }
    }
    responses_.emplace_back(std::move(needle), std::move(rows));
  }
  pg::Rows Query(std::string_view sql) override {
    queries_.emplace_back(sql);
    for (const auto& [needle, rows] : responses_) {
      if (sql.find(needle) != std::string_view::npos) return rows;
    }
    throw pg::Error(pg::ErrorKind::kQuery, "no canned response for: " + std::string(sql));
  }
  [[nodiscard]] int ServerVersionNum() const override { return version_; }
  [[nodiscard]] const std::vector<std::string>& queries() const { return queries_; }

 private:
  int version_;
  std::vector<std::pair<std::string, pg::Rows>> responses_;
  std::vector<std::string> queries_;
};

using Row = std::vector<std::optional<std::string>>;

}  // namespace pgvigil::testing
