#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <vector>

#include "collectors/statements_delta.h"
#include "pg/connection.h"

namespace pgvigil::collectors {

// What the agent keeps of a statement's text: enough to show it and to tell its kind.
struct StatementText {
  std::string display;  // the first 200 characters
  std::size_t fingerprint =
      0;  // FingerprintHash of pg::Fingerprint of the (first 4 KiB of the) text
  bool housekeeping = false;
  double transactions = 0;   // transactions of its own per call, for housekeeping (0 or 1)
  bool opens_block = false;  // BEGIN, START TRANSACTION
};

// Whether a statement opens a transaction block: the block is one transaction, however many
// statements it holds.
[[nodiscard]] bool OpensBlock(const std::string& fingerprint);
// Transactions of its own that one call of a housekeeping statement is (docs/metrics.md).
[[nodiscard]] double TransactionsPerCall(const std::string& fingerprint);

// Statement texts, read only for the statements that need one (the busiest unclassified, those
// that may hold the agent's statements, the slowest) and cached while their entry is tracked.
class StatementTexts {
 public:
  // Statement texts read per query at most.
  static constexpr std::size_t kPerPoll = 200;

  // `housekeeping_statements` as configured (docs/configuration.md): a statement, or a prefix
  // ending in " *".
  explicit StatementTexts(const std::vector<std::string>& housekeeping_statements);

  [[nodiscard]] bool IsHousekeeping(const std::string& fingerprint) const;
  // Reads the texts of `wanted` not known yet (kPerPoll at most, in that order) of the entries in
  // `statements`. A text asked for and not returned (evicted meanwhile, or hidden from this
  // role) is not asked again while tracked: it stays known as empty.
  void Fetch(pg::Session& session, const std::string& schema, std::vector<StatementKey> wanted,
             const TrackedStatements& statements);
  // nullptr while unknown.
  [[nodiscard]] const StatementText* Find(const StatementKey& key) const;
  // Keeps only the texts of the statements still tracked: the cache is bounded like them.
  void Prune(const TrackedStatements& statements);

 private:
  struct Pattern {
    std::string fingerprint;
    bool prefix = false;
  };
  std::vector<Pattern> housekeeping_;
  std::map<StatementKey, StatementText> texts_;
};

}  // namespace pgvigil::collectors
