#include "collectors/statement_texts.h"

#include <algorithm>
#include <set>
#include <string_view>

#include "collectors/own_load_attribution.h"
#include "collectors/statements_sql.h"
#include "pg/own_load.h"

namespace pgvigil::collectors {
namespace {

constexpr std::size_t kDisplayLength = 200;

bool StartsWithWords(const std::string& fingerprint, std::string_view words) {
  return fingerprint.starts_with(words) &&
         (fingerprint.size() == words.size() || fingerprint[words.size()] == ' ' ||
          fingerprint[words.size()] == ';');
}

}  // namespace

bool OpensBlock(const std::string& fingerprint) {
  return StartsWithWords(fingerprint, "begin") || StartsWithWords(fingerprint, "start transaction");
}

// By what the statement is: none for transaction control (it runs inside, or ends, a transaction
// block the application opened) and for what has effect only inside a block (SET LOCAL, SET
// TRANSACTION, SET CONSTRAINTS); one for the rest. DISCARD ALL cannot run inside a block, so that
// one is exact; a validation SELECT 1, SET, RESET, SHOW, DEALLOCATE, UNLISTEN or CLOSE ALL is
// taken to run outside the application's transactions, as pools send them (before a checkout,
// after a release): one sent inside a block is counted as a transaction it was not
// (docs/metrics.md).
double TransactionsPerCall(const std::string& fingerprint) {
  if (StartsWithWords(fingerprint, "commit prepared") ||
      StartsWithWords(fingerprint, "rollback prepared")) {
    return 1;  // runs outside any block, as a transaction of its own
  }
  for (const std::string_view control :
       {"begin", "start transaction", "commit", "end", "rollback", "abort", "savepoint", "release",
        "prepare transaction", "set local", "set transaction", "set constraints"}) {
    if (StartsWithWords(fingerprint, control)) return 0;
  }
  return 1;
}

StatementTexts::StatementTexts(const std::vector<std::string>& housekeeping_statements) {
  for (std::string statement : housekeeping_statements) {
    const bool prefix = statement.ends_with(" *");
    if (prefix) statement.resize(statement.size() - 2);
    housekeeping_.push_back({pg::Fingerprint(statement), prefix});
  }
}

bool StatementTexts::IsHousekeeping(const std::string& fingerprint) const {
  return std::any_of(housekeeping_.begin(), housekeeping_.end(), [&](const Pattern& pattern) {
    return fingerprint == pattern.fingerprint ||
           (pattern.prefix && fingerprint.starts_with(pattern.fingerprint + " "));
  });
}

void StatementTexts::Fetch(pg::Session& session, const std::string& schema,
                           std::vector<StatementKey> wanted, const TrackedStatements& statements) {
  std::erase_if(wanted, [&](const StatementKey& key) {
    return key.queryid == kHiddenQueryId || texts_.contains(key);
  });
  if (wanted.size() > kPerPoll) wanted.resize(kPerPoll);
  if (wanted.empty()) return;
  std::set<std::int64_t> ids;
  for (const StatementKey& key : wanted) ids.insert(key.queryid);
  const pg::Rows rows = session.Query(StatementTextsSql(schema, ids));
  for (std::size_t row = 0; row < rows.size(); ++row) {
    const auto& id = rows.At(row, 2);
    if (!id) continue;
    const StatementKey key{ToOid(rows.Number(row, 0)), ToOid(rows.Number(row, 1)), std::stoll(*id)};
    if (!statements.contains(key)) continue;
    const std::string query = rows.Text(row, 3);
    const std::string fingerprint = pg::Fingerprint(query);
    texts_[key] = {query.substr(0, kDisplayLength), FingerprintHash(fingerprint),
                   IsHousekeeping(fingerprint), TransactionsPerCall(fingerprint),
                   OpensBlock(fingerprint)};
  }
  // Keys beyond this poll's cap were not asked, and stay unknown.
  for (const StatementKey& key : wanted) texts_.try_emplace(key);
}

const StatementText* StatementTexts::Find(const StatementKey& key) const {
  const auto it = texts_.find(key);
  return it == texts_.end() ? nullptr : &it->second;
}

void StatementTexts::Prune(const TrackedStatements& statements) {
  for (auto it = texts_.begin(); it != texts_.end();) {
    it = statements.contains(it->first) ? std::next(it) : texts_.erase(it);
  }
}

}  // namespace pgvigil::collectors
