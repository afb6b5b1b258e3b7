// An HTTPS drain's request body, as logplex frames and as newline-separated syslog messages.
#include <cstdint>
#include <string_view>
#include <vector>

#include "logs/drain.h"
#include "logs/inbox.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  for (const std::string_view type : {"application/logplex-1", "text/plain"}) {
    std::vector<pgvigil::logs::InboxMessage> taken;
    const auto result =
        pgvigil::logs::ReceiveDrain(type, body, [&](const pgvigil::logs::InboxMessage& message) {
          taken.push_back(message);
          return true;
        });
    // What was accepted is what the inbox holds; an error takes nothing.
    if (taken.size() != result.accepted || (!result.error.empty() && !taken.empty())) {
      __builtin_trap();
    }
    for (const auto& message : taken) {
      if (message.text.size() > size) __builtin_trap();
    }
  }
  return 0;
}
