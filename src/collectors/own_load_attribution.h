#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "collectors/collector.h"
#include "collectors/statements_delta.h"
#include "pg/own_load.h"

namespace pgvigil::collectors {

// The hash a statement's fingerprint (pg::Fingerprint) is matched by.
[[nodiscard]] std::size_t FingerprintHash(const std::string& fingerprint);

// Per worker and fingerprint: statements answered or in flight in `after` that were not
// answered in `before` (the agent's load read around one read of the counters).
[[nodiscard]] std::map<std::uint64_t, std::map<std::string, double>> AnsweredDuring(
    const std::vector<OwnStatements>& before, const std::vector<OwnStatements>& after);

// Takes the agent's own statements out of pg_stat_statements' deltas (docs/configuration.md, how
// the agent counts its own load): exactly what the agent's own load says it ran since the last
// read, out of the entry whose text has the same fingerprint in the same role and database, so an
// application statement sharing that entry keeps its calls. A statement answered or still running
// while the counters were read may be in this read or the next: it is taken where the entry
// shows calls beyond the answered ones, and then not again.
//
// One poll: Prepare, then (texts of Candidates fetched) Attribute, then Remember; on the
// baseline, Remember only.
class OwnLoadAttribution {
 public:
  struct Unmatched {
    double calls = 0;  // the agent's answered statements whose entry was not found
    double ms = 0;     // their client-side time
  };
  // The fingerprint hash of an entry's text; nullopt while its text is unknown.
  using TextOf = std::function<std::optional<std::size_t>(const StatementKey&)>;

  // What the agent ran since the last read (`own_now`, read just before the counters;
  // `own_after`, just after), by role, database and fingerprint.
  void Prepare(const std::vector<OwnStatements>& own_now,
               const std::vector<OwnStatements>& own_after);
  // Entries that could hold the agent's statements and whose text is not known, most calls
  // first; empty when the agent ran nothing since the last read.
  [[nodiscard]] std::vector<StatementKey> Candidates(const TrackedStatements& statements,
                                                     const TextOf& text_of) const;
  // Sets own_delta of the entries holding the agent's statements. Statements counted here that
  // were answered or in flight after `own_now` was read are added to `own_now`, so the next read
  // takes them as answered before.
  [[nodiscard]] Unmatched Attribute(TrackedStatements& statements, const TextOf& text_of,
                                    std::vector<OwnStatements>& own_now);
  // The agent's load as this poll leaves it: the next poll counts from `own_now`.
  void Remember(const std::vector<OwnStatements>& own_now,
                const std::vector<OwnStatements>& own_after, bool baseline);

 private:
  // What one worker ran of one fingerprint in one role and database since the last read.
  struct Pending {
    double calls = 0;  // answered: the server counted them before this read
    double ms = 0;     // their client-side time
    // Statements the server may or may not have counted in this read's delta, each as
    // (worker's index in own_now, fingerprint, after): answered or in flight after the agent's
    // load was read (`after`; counted here, they are added to what the next read takes as
    // answered before), or answered before their worker joined the cluster (after the last
    // read, or before it: a worker's statements are not timed).
    struct Maybe {
      std::size_t member;
      std::string fingerprint;
      bool after;
    };
    std::deque<Maybe> maybe;  // the older first
  };

  // By (userid, dbid), then fingerprint hash.
  std::map<std::pair<std::uint32_t, std::uint32_t>, std::map<std::size_t, Pending>> pending_;
  double smallest_ = 0;  // the fewest calls an entry holding the agent's statements can show
  // The agent's own load at the last read, per worker (OwnStatements::member).
  std::map<std::uint64_t, pg::OwnLoad::ByFingerprint> own_before_;
  // Per worker and fingerprint, its statements answered or in flight while the baseline was
  // read (they may be in it or not); cleared by the first delta.
  std::map<std::uint64_t, std::map<std::string, double>> baseline_extras_;
};

}  // namespace pgvigil::collectors
