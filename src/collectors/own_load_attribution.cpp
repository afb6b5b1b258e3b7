#include "collectors/own_load_attribution.h"

#include <algorithm>
#include <functional>
#include <limits>
#include <set>

namespace pgvigil::collectors {

std::size_t FingerprintHash(const std::string& fingerprint) {
  return std::hash<std::string>{}(fingerprint);
}

std::map<std::uint64_t, std::map<std::string, double>> AnsweredDuring(
    const std::vector<OwnStatements>& before, const std::vector<OwnStatements>& after) {
  std::map<std::uint64_t, std::map<std::string, double>> extras;
  for (const OwnStatements& later : after) {
    const auto earlier = std::find_if(before.begin(), before.end(), [&](const OwnStatements& own) {
      return own.member == later.member;
    });
    if (earlier == before.end()) continue;  // joined meanwhile: all it ran is uncertain anyway
    for (const auto& [fingerprint, counts] : later.statements) {
      const auto it = earlier->statements.find(fingerprint);
      const double answered =
          it == earlier->statements.end() ? 0.0 : static_cast<double>(it->second.ok);
      const double extra = static_cast<double>(counts.ok + counts.in_flight) - answered;
      if (extra > 0) extras[later.member][fingerprint] = extra;
    }
  }
  return extras;
}

void OwnLoadAttribution::Prepare(const std::vector<OwnStatements>& own_now,
                                 const std::vector<OwnStatements>& own_after) {
  // What the agent ran since the last read, by the role and database it ran in, by fingerprint.
  // A worker not seen at the last read started after it: all it ran is new.
  pending_.clear();
  smallest_ = std::numeric_limits<double>::max();
  const auto extras = AnsweredDuring(own_now, own_after);
  for (std::size_t member = 0; member < own_now.size(); ++member) {
    const OwnStatements& own = own_now[member];
    const auto before_member = own_before_.find(own.member);
    const bool joined = before_member == own_before_.end() && !own_before_.empty();
    const auto carried_member = baseline_extras_.find(own.member);
    auto counted = [](const auto& by_member, std::uint64_t id, const std::string& fingerprint) {
      const auto found = by_member.find(id);
      if (found == by_member.end()) return 0.0;
      const auto it = found->second.find(fingerprint);
      return it == found->second.end() ? 0.0 : it->second;
    };
    std::set<std::string> fingerprints;
    for (const auto& [fingerprint, counts] : own.statements) fingerprints.insert(fingerprint);
    if (const auto found = extras.find(own.member); found != extras.end()) {
      for (const auto& [fingerprint, count] : found->second) fingerprints.insert(fingerprint);
    }
    for (const std::string& fingerprint : fingerprints) {
      const auto now_it = own.statements.find(fingerprint);
      const pg::OwnLoad::Counts now =
          now_it == own.statements.end() ? pg::OwnLoad::Counts{} : now_it->second;
      pg::OwnLoad::Counts previous;
      if (before_member != own_before_.end()) {
        const auto it = before_member->second.find(fingerprint);
        if (it != before_member->second.end()) previous = it->second;
      }
      const double calls = static_cast<double>(now.ok) - static_cast<double>(previous.ok);
      const double extra = counted(extras, own.member, fingerprint);
      // Answered while the baseline was read: in it, or in this delta.
      const double carried =
          carried_member == baseline_extras_.end()
              ? 0.0
              : std::min(std::max(calls, 0.0), counted(baseline_extras_, own.member, fingerprint));
      if (calls <= 0 && extra <= 0) continue;
      auto& into = pending_[{own.userid, own.dbid}][FingerprintHash(fingerprint)];
      const bool uncertain = joined;
      if (calls > carried && !uncertain) {
        into.calls += calls - carried;
        into.ms += (now.seconds - previous.seconds) * 1000 * (calls - carried) / calls;
      }
      for (double i = 0; i < (uncertain ? calls : carried); ++i) {
        into.maybe.push_back({member, fingerprint, false});
      }
      for (double i = 0; i < extra; ++i) into.maybe.push_back({member, fingerprint, true});
      smallest_ = std::min(smallest_, std::max(1.0, calls));
    }
  }
  baseline_extras_.clear();
  for (auto& [database, by_fingerprint] : pending_) {
    for (auto& [hash, ran] : by_fingerprint) {
      std::stable_partition(ran.maybe.begin(), ran.maybe.end(),
                            [](const auto& maybe) { return !maybe.after; });
    }
  }
}

std::vector<StatementKey> OwnLoadAttribution::Candidates(const TrackedStatements& statements,
                                                         const TextOf& text_of) const {
  std::vector<std::pair<double, StatementKey>> candidates;
  for (const auto& [key, statement] : statements) {
    if (key.queryid == kHiddenQueryId || !pending_.contains({key.userid, key.dbid})) continue;
    if (!text_of(key) && statement.delta.calls >= smallest_) {
      candidates.emplace_back(statement.delta.calls, key);
    }
  }
  std::sort(candidates.begin(), candidates.end(), std::greater<>());
  std::vector<StatementKey> wanted;
  for (const auto& [count, key] : candidates) wanted.push_back(key);
  return wanted;
}

OwnLoadAttribution::Unmatched OwnLoadAttribution::Attribute(TrackedStatements& statements,
                                                            const TextOf& text_of,
                                                            std::vector<OwnStatements>& own_now) {
  Unmatched unmatched;
  for (auto& [key, statement] : statements) {
    if (key.queryid == kHiddenQueryId) continue;
    const auto in_database = pending_.find({key.userid, key.dbid});
    if (in_database == pending_.end()) continue;
    auto& in_entry_database = in_database->second;
    const auto fingerprint = text_of(key);
    if (!fingerprint) continue;
    auto it = in_entry_database.find(*fingerprint);
    if (it == in_entry_database.end() || statement.delta.calls <= 0) continue;
    Pending& ran = it->second;
    const double answered = std::min(ran.calls, statement.delta.calls);
    double calls = answered;
    // Calls beyond the answered ones are the agent's statements the server counted already of
    // those it may have: the agent's, and not to be counted again once answered (their
    // worker's last-read counts take them in).
    // Oldest first: what ran before this read (while the last one was read, or before a worker
    // joined) is counted by now if ever; what ran during it may still come in the next.
    while (calls < statement.delta.calls && !ran.maybe.empty()) {
      const auto& maybe = ran.maybe.front();
      if (maybe.after) own_now[maybe.member].statements[maybe.fingerprint].ok += 1;
      ran.maybe.pop_front();
      calls += 1;
    }
    // Time: the entry's mean per call, exact when the entry holds only the agent's calls.
    const double share = calls / statement.delta.calls;
    statement.own_delta = {calls, statement.delta.exec_ms * share, statement.delta.rows * share};
    ran.calls -= answered;
    if (ran.calls <= 0 && ran.maybe.empty()) in_entry_database.erase(it);
  }
  for (const auto& [database, left] : pending_) {
    for (const auto& [hash, ran] : left) {
      if (ran.calls <= 0) continue;  // only in-flight ones left: counted at a later read
      unmatched.calls += ran.calls;
      unmatched.ms += ran.ms;
    }
  }
  pending_.clear();
  return unmatched;
}

void OwnLoadAttribution::Remember(const std::vector<OwnStatements>& own_now,
                                  const std::vector<OwnStatements>& own_after, bool baseline) {
  // What the agent answered or ran while the baseline was read may be in it or not: the first
  // delta tells.
  if (baseline) baseline_extras_ = AnsweredDuring(own_now, own_after);
  own_before_.clear();
  for (const OwnStatements& own : own_now) own_before_[own.member] = own.statements;
}

}  // namespace pgvigil::collectors
