#pragma once

#include <algorithm>
#include <cstddef>
#include <map>
#include <set>
#include <utility>
#include <vector>

namespace pgvigil::collectors {

// Polls a key keeps its own series after it leaves the top N (docs/metrics.md: the applications
// of pg_stat_activity_application_sessions, the statements of pg_stat_statements_*).
inline constexpr int kTopNHysteresisPolls = 10;

// The `n` keys ranked first by `first` (a strict order on (rank, key) pairs): the ones with
// series of their own this poll, before hysteresis.
template <typename Key, typename First>
[[nodiscard]] std::set<Key> TopKeys(std::vector<std::pair<double, Key>> ranked, std::size_t n,
                                    First first) {
  const std::size_t top = std::min(ranked.size(), n);
  std::partial_sort(ranked.begin(), ranked.begin() + static_cast<std::ptrdiff_t>(top), ranked.end(),
                    first);
  std::set<Key> in_top;
  for (std::size_t i = 0; i < top; ++i) in_top.insert(ranked[i].second);
  return in_top;
}

// The keys with series of their own, and a `Value` each (what their series hold): a key joins
// when it enters the top N, and leaves kTopNHysteresisPolls polls after it left the top, so
// series do not churn; at most 2 × N keys at once, those longest out of the top leaving first.
// Templated over the key (a name, a statement) and so defined here, in the header.
template <typename Key, typename Value>
class TopNWithHysteresis {
 public:
  struct Member {
    Value value{};
    int polls_outside_top = 0;
  };

  explicit TopNWithHysteresis(std::size_t n) : n_(n) {}

  // One poll: `in_top` is this poll's top N (TopKeys). `join(key)` gives the value of a key
  // entering; `leave(key, value)` sees each key leaving, before it goes.
  template <typename Join, typename Leave>
  void Update(const std::set<Key>& in_top, Join join, Leave leave) {
    for (auto it = members_.begin(); it != members_.end();) {
      if (in_top.contains(it->first)) {
        it->second.polls_outside_top = 0;
        ++it;
      } else if (++it->second.polls_outside_top > kTopNHysteresisPolls) {
        leave(it->first, it->second.value);
        it = members_.erase(it);
      } else {
        ++it;
      }
    }
    for (const Key& key : in_top) {
      if (!members_.contains(key)) members_.emplace(key, Member{join(key), 0});
    }
    while (members_.size() > 2 * n_) {
      auto longest_out =
          std::max_element(members_.begin(), members_.end(), [](const auto& a, const auto& b) {
            return a.second.polls_outside_top < b.second.polls_outside_top;
          });
      leave(longest_out->first, longest_out->second.value);
      members_.erase(longest_out);
    }
  }

  [[nodiscard]] const std::map<Key, Member>& members() const { return members_; }
  [[nodiscard]] std::map<Key, Member>& members() { return members_; }

 private:
  std::size_t n_;
  std::map<Key, Member> members_;
};

}  // namespace pgvigil::collectors
