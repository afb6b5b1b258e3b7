#include "logs/inbox.h"

#include <map>
#include <set>

namespace pgvigil::logs {
namespace {

struct Registry {
  std::mutex mutex;
  std::map<std::string, std::weak_ptr<LogInbox>, std::less<>> inboxes;
};

Registry& TheRegistry() {
  static Registry registry;
  return registry;
}

}  // namespace

namespace {

// A drain carries the whole application's log (Heroku: the router, every dyno, the database's
// metrics samples); PostgreSQL's lines come from a process named postgres ("postgres.1234").
bool FromPostgres(std::string_view sender) {
  const std::size_t procid = sender.rfind('/');
  const std::string_view name = sender.substr(procid == std::string_view::npos ? 0 : procid + 1);
  return name.starts_with("postgres") || sender.find("/postgres/") != std::string_view::npos;
}

bool Kept(const LogRecord& record) {
  static const std::set<std::string, std::less<>> kSeverities = {"WARNING", "ERROR", "FATAL",
                                                                 "PANIC"};
  return kSeverities.contains(record.severity) ||
         (record.severity == "LOG" && record.message.starts_with(kHeartbeatTag));
}

}  // namespace

InboxMessage ToInboxMessage(const SyslogMessage& message) {
  std::string sender;
  sender.reserve(message.hostname.size() + message.app_name.size() + message.procid.size() + 2);
  sender.append(message.hostname)
      .append("/")
      .append(message.app_name)
      .append("/")
      .append(message.procid);
  return {std::move(sender), std::string(message.text), message.epoch_ms};
}

LogInbox::LogInbox()
    : prefix_(std::make_shared<const LinePrefix>("")),
      // A chunk that starts a line of its own parses with the prefix; one that does not
      // continues the line before it. Called with mutex_ held.
      joiner_(
          [this](std::string_view chunk) {
            return prefix_->Parse(chunk).kind != PrefixedLine::Kind::kUnparsed;
          },
          kMaxMessage) {}

void LogInbox::Configure(std::shared_ptr<const LinePrefix> prefix, bool postgres_only) {
  std::lock_guard lock(mutex_);
  prefix_ = std::move(prefix);
  postgres_only_ = postgres_only;
}

void LogInbox::Message(std::string_view text, std::optional<std::int64_t> epoch_ms) {
  std::size_t at = 0;
  while (at <= text.size()) {
    const std::size_t newline = text.find('\n', at);
    const std::size_t end = newline == std::string_view::npos ? text.size() : newline;
    Line(text.substr(at, end - at), epoch_ms);
    at = end + 1;
  }
}

void LogInbox::Line(std::string_view line, std::optional<std::int64_t> epoch_ms) {
  auto parsed = prefix_->Parse(line);
  if (parsed.kind == PrefixedLine::Kind::kUnparsed) {
    taken_.unparsed += 1;
    return;
  }
  taken_.parsed += 1;
  if (parsed.kind != PrefixedLine::Kind::kMessage || !Kept(parsed.record)) return;
  if (taken_.records.size() >= kMaxRecords) {
    taken_.dropped += 1;
    return;
  }
  if (!parsed.record.epoch_ms) parsed.record.epoch_ms = epoch_ms;
  if (parsed.record.message.size() > kKeptMessage) parsed.record.message.resize(kKeptMessage);
  taken_.records.push_back(std::move(parsed.record));
}

bool LogInbox::Push(const InboxMessage& message) {
  std::lock_guard lock(mutex_);
  if (postgres_only_ && !FromPostgres(message.sender)) {
    taken_.ignored += 1;
    return true;
  }
  if (taken_.records.size() >= kMaxRecords) {
    taken_.dropped += 1;
    return false;
  }
  joiner_.Feed(message.sender, message.text, message.epoch_ms,
               [this](std::string_view text, auto epoch_ms) { Message(text, epoch_ms); });
  return true;
}

void LogInbox::CountRejected(std::uint64_t count) {
  std::lock_guard lock(mutex_);
  taken_.unparsed += static_cast<double>(count);
}

LogInbox::Taken LogInbox::Take() {
  std::lock_guard lock(mutex_);
  joiner_.Flush([this](std::string_view text, auto epoch_ms) { Message(text, epoch_ms); });
  Taken taken = std::move(taken_);
  taken_ = Taken{};
  return taken;
}

std::shared_ptr<LogInbox> Inboxes::For(const std::string& target) {
  Registry& registry = TheRegistry();
  std::lock_guard lock(registry.mutex);
  auto& slot = registry.inboxes[target];
  auto inbox = slot.lock();
  if (!inbox) {
    inbox = std::make_shared<LogInbox>();
    slot = inbox;
  }
  return inbox;
}

}  // namespace pgvigil::logs
