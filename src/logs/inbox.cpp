#include "logs/inbox.h"

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

bool LogInbox::Push(InboxMessage message) {
  const std::size_t size = message.text.size() + message.sender.size();
  std::lock_guard lock(mutex_);
  if (bytes_ + size > kMaxBytes) {
    ++dropped_;
    return false;
  }
  bytes_ += size;
  messages_.push_back(std::move(message));
  return true;
}

std::vector<InboxMessage> LogInbox::Take() {
  std::lock_guard lock(mutex_);
  std::vector<InboxMessage> taken(std::make_move_iterator(messages_.begin()),
                                  std::make_move_iterator(messages_.end()));
  messages_.clear();
  bytes_ = 0;
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

std::shared_ptr<LogInbox> Inboxes::Find(const std::string& target) {
  Registry& registry = TheRegistry();
  std::lock_guard lock(registry.mutex);
  const auto it = registry.inboxes.find(target);
  return it == registry.inboxes.end() ? nullptr : it->second.lock();
}

}  // namespace pgvigil::logs
