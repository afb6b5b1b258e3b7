#include "pg/own_load.h"

#include <algorithm>
#include <cctype>

namespace pgvigil::pg {
namespace {

bool IsIdentifierChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '$' ||
         static_cast<unsigned char>(c) >= 0x80;
}

bool IsSpace(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }

// Length of the comment starting at `at` ("/* … */", nested as PostgreSQL nests them, or
// "-- …" to the end of the line), or 0 if none starts there.
std::size_t CommentLength(std::string_view sql, std::size_t at) {
  if (sql.substr(at, 2) == "--") {
    const std::size_t end = sql.find('\n', at);
    return (end == std::string_view::npos ? sql.size() : end + 1) - at;
  }
  if (sql.substr(at, 2) != "/*") return 0;
  int depth = 0;
  std::size_t i = at;
  while (i + 1 < sql.size()) {
    if (sql.substr(i, 2) == "/*") {
      ++depth;
      i += 2;
    } else if (sql.substr(i, 2) == "*/") {
      i += 2;
      if (--depth == 0) return i - at;
    } else {
      ++i;
    }
  }
  return sql.size() - at;
}

// End of the quoted text starting at `at` (a ' or "), doubled quotes inside; backslash escapes
// too for E'…' strings.
std::size_t QuotedEnd(std::string_view sql, std::size_t at, bool backslash_escapes) {
  const char quote = sql[at];
  std::size_t i = at + 1;
  while (i < sql.size()) {
    if (backslash_escapes && sql[i] == '\\') {
      i += 2;
    } else if (sql[i] == quote) {
      if (i + 1 < sql.size() && sql[i + 1] == quote) {
        i += 2;
      } else {
        return i + 1;
      }
    } else {
      ++i;
    }
  }
  return sql.size();
}

// End of a dollar-quoted string ($tag$ … $tag$) starting at `at`, or 0 if none starts there.
std::size_t DollarQuotedEnd(std::string_view sql, std::size_t at) {
  std::size_t tag_end = at + 1;
  while (tag_end < sql.size() && sql[tag_end] != '$' &&
         (std::isalnum(static_cast<unsigned char>(sql[tag_end])) != 0 || sql[tag_end] == '_')) {
    ++tag_end;
  }
  if (tag_end >= sql.size() || sql[tag_end] != '$') return 0;
  if (tag_end > at + 1 && std::isdigit(static_cast<unsigned char>(sql[at + 1])) != 0) return 0;
  const std::string_view tag = sql.substr(at, tag_end - at + 1);
  const std::size_t close = sql.find(tag, tag_end + 1);
  return close == std::string_view::npos ? sql.size() : close + tag.size();
}

// PostgreSQL 18 shows a list of constants as its first one and a comment, IN ($1 /*, ... */)
// or ARRAY[$1 /*, ... */]: every bracketed list of constants becomes one "?", on every version.
std::string SquashLists(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    const char open = text[i];
    out += open;
    ++i;
    if (open != '(' && open != '[') continue;
    const char close = open == '(' ? ')' : ']';
    // "?", then any number of ", ?", with optional spaces, up to the closing bracket.
    std::size_t j = i;
    bool constant = false;
    bool expect_constant = true;
    while (j < text.size()) {
      if (text[j] == ' ') {
        ++j;
      } else if (expect_constant && text[j] == '?') {
        constant = true;
        expect_constant = false;
        ++j;
      } else if (!expect_constant && text[j] == ',') {
        expect_constant = true;
        ++j;
      } else {
        break;
      }
    }
    if (constant && !expect_constant && j < text.size() && text[j] == close) {
      out += '?';
      i = j;  // the closing bracket is copied next
    }
  }
  return out;
}

}  // namespace

std::string Fingerprint(std::string_view sql) {
  std::string out;
  out.reserve(sql.size());
  std::size_t i = 0;
  auto space = [&] {
    if (!out.empty() && out.back() != ' ') out += ' ';
  };
  while (i < sql.size()) {
    const char c = sql[i];
    if (IsSpace(c)) {
      space();
      ++i;
    } else if (const std::size_t comment = CommentLength(sql, i); comment > 0) {
      space();
      i += comment;
    } else if (c == '\'') {
      out += '?';
      i = QuotedEnd(sql, i, false);
    } else if (c == '"') {
      const std::size_t end = QuotedEnd(sql, i, false);
      out.append(sql.substr(i, end - i));
      i = end;
    } else if (c == '$' && i + 1 < sql.size() &&
               std::isdigit(static_cast<unsigned char>(sql[i + 1])) != 0) {
      out += '?';
      for (++i; i < sql.size() && std::isdigit(static_cast<unsigned char>(sql[i])) != 0;) ++i;
    } else if (const std::size_t dollar = c == '$' ? DollarQuotedEnd(sql, i) : 0; dollar > 0) {
      out += '?';
      i = dollar;
    } else if (std::isdigit(static_cast<unsigned char>(c)) != 0 ||
               (c == '.' && i + 1 < sql.size() &&
                std::isdigit(static_cast<unsigned char>(sql[i + 1])) != 0)) {
      out += '?';
      while (i < sql.size() &&
             (IsIdentifierChar(sql[i]) || sql[i] == '.' ||
              ((sql[i] == '+' || sql[i] == '-') && (sql[i - 1] == 'e' || sql[i - 1] == 'E')))) {
        ++i;
      }
    } else if (IsIdentifierChar(c)) {
      std::size_t end = i;
      while (end < sql.size() && IsIdentifierChar(sql[end])) ++end;
      // E'…', B'…', X'…', N'…' and U&'…' strings: the prefix belongs to the constant.
      const std::string_view word = sql.substr(i, end - i);
      const bool escaped = word.size() == 1 && (word[0] == 'e' || word[0] == 'E');
      const bool prefix =
          word.size() == 1 && std::string_view("eEbBxXnN").find(word[0]) != std::string_view::npos;
      if (prefix && end < sql.size() && sql[end] == '\'') {
        out += '?';
        i = QuotedEnd(sql, end, escaped);
        continue;
      }
      std::string lower;
      for (const char w : word)
        lower += static_cast<char>(std::tolower(static_cast<unsigned char>(w)));
      out += lower == "true" || lower == "false" || lower == "null" ? "?" : lower;
      i = end;
    } else {
      out += c;
      ++i;
    }
  }
  while (!out.empty() && (out.back() == ' ' || out.back() == ';')) out.pop_back();
  return SquashLists(out);
}

void OwnLoad::Record(std::string_view sql, bool ok, double seconds, Clock::time_point at) {
  End(Begin(sql), ok, seconds, at);
}

std::string OwnLoad::Begin(std::string_view sql) {
  std::string key = Fingerprint(sql);
  std::lock_guard lock(mutex_);
  statements_[key].in_flight += 1;
  return key;
}

void OwnLoad::End(const std::string& fingerprint, bool ok, double seconds, Clock::time_point at) {
  std::lock_guard lock(mutex_);
  auto it = statements_.find(fingerprint);
  if (it == statements_.end()) it = statements_.emplace(fingerprint, Counts{}).first;
  if (it->second.in_flight > 0) it->second.in_flight -= 1;
  for (Counts* counts : {&it->second, &total_}) {
    if (ok) {
      counts->ok += 1;
      counts->seconds += seconds;
    } else {
      counts->failed += 1;
    }
  }
  AppendHistory(at);
}

void OwnLoad::RecordSession(Clock::time_point at) {
  std::lock_guard lock(mutex_);
  total_.sessions += 1;
  AppendHistory(at);
}

void OwnLoad::AppendHistory(Clock::time_point at) {
  // Statements of one collection come in bursts: one entry per 100 ms keeps the history to a
  // few dozen entries a minute.
  if (!history_.empty() && at - history_.back().first < kResolution) {
    history_.back().second = total_;
  } else {
    history_.emplace_back(at, total_);
  }
  while (!history_.empty() && history_.front().first < at - kHistory) {
    before_history_ = history_.front().second;
    history_.pop_front();
  }
}

OwnLoad::ByFingerprint OwnLoad::Statements() const {
  std::lock_guard lock(mutex_);
  return statements_;
}

OwnLoad::Counts OwnLoad::Total() const {
  std::lock_guard lock(mutex_);
  return total_;
}

OwnLoad::Counts OwnLoad::TotalAt(Clock::time_point at) const {
  std::lock_guard lock(mutex_);
  // The last entry completed by `at` (entries are in completion order).
  auto after =
      std::upper_bound(history_.begin(), history_.end(), at,
                       [](Clock::time_point t, const auto& entry) { return t < entry.first; });
  return after == history_.begin() ? before_history_ : std::prev(after)->second;
}

void OwnLoad::RecordBackend(int pid) {
  if (pid <= 0) return;
  std::lock_guard lock(mutex_);
  backends_.push_back(pid);
  if (backends_.size() > kBackends) backends_.pop_front();
}

bool OwnLoad::IsOwnBackend(int pid) const {
  if (pid <= 0) return false;
  std::lock_guard lock(mutex_);
  return std::find(backends_.begin(), backends_.end(), pid) != backends_.end();
}

double OwnTransactions::TakeFrom(std::deque<Pending>& pending, double observed) {
  double taken = 0;
  while (!pending.empty() && taken < observed) {
    const double take = std::min(pending.front().count, observed - taken);
    taken += take;
    pending.front().count -= take;
    if (pending.front().count <= 0) pending.pop_front();
  }
  return taken;
}

OwnTransactions::Taken OwnTransactions::Take(const OwnLoad& own_load, Clock::time_point now,
                                             double commits, double rollbacks) {
  const OwnLoad::Counts own = own_load.TotalAt(now - kFlushLag);
  Taken taken;
  if (started_) {
    for (auto* pending : {&commits_, &rollbacks_}) {
      while (!pending->empty() && pending->front().due < now - kLagLimit) pending->pop_front();
    }
    commits_.push_back(
        {now, static_cast<double>((own.ok + own.sessions) - (previous_.ok + previous_.sessions))});
    rollbacks_.push_back({now, static_cast<double>(own.failed - previous_.failed)});
    taken.commits = TakeFrom(commits_, commits);
    taken.rollbacks = TakeFrom(rollbacks_, rollbacks);
  }
  started_ = true;
  previous_ = own;
  return taken;
}

}  // namespace pgvigil::pg
