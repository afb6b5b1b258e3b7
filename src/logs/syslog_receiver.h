#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "logs/inbox.h"

struct ssl_ctx_st;

namespace pgvigil::logs {

// Where a listener sends a message: the target whose `match` equals the message's HOSTNAME or
// APP-NAME, else the target with an empty match, else nowhere (counted as unmatched).
struct SyslogRoute {
  std::string match;
  std::string target;
  std::shared_ptr<LogInbox> inbox;
};

struct SyslogListenerSettings {
  std::string address;    // as configured: names the listener in metrics and logs
  std::string bind_host;  // "" = every address
  int bind_port = 0;
  bool udp = false;
  std::string cert_file;
  std::string key_file;
  std::string client_ca_file;  // client certificates required and verified against it

  bool operator==(const SyslogListenerSettings&) const = default;
};

// One syslog listen address (docs/logs.md): TCP, with TLS when given a certificate, and UDP on
// the same port when asked. Frames (octet-counted or newline, RFC 6587) and parses messages
// (RFC 5424, RFC 3164) and leaves them in the inbox of the target they route to. One thread
// serves every connection from a poll loop, so idle or slow senders cost a descriptor and a
// bounded buffer each, never a thread: at most kMaxConnections (beyond, the one idle longest is
// closed), kMaxFrame bytes per message, a TLS handshake within kHandshakeDeadline, an idle
// connection closed after kIdleTimeout. Shared: the agent's thread sets routes and reads the
// counts while the listener's thread runs.
class SyslogListener {
 public:
  static constexpr std::size_t kMaxConnections = 512;
  static constexpr std::size_t kMaxFrame = 64 * 1024;
  static constexpr int kHandshakeDeadlineMs = 10000;
  static constexpr int kIdleTimeoutMs = 15 * 60 * 1000;

  // Binds at once; throws std::runtime_error when it cannot (address taken, bad TLS material).
  explicit SyslogListener(const SyslogListenerSettings& settings);
  ~SyslogListener();
  SyslogListener(const SyslogListener&) = delete;
  SyslogListener& operator=(const SyslogListener&) = delete;

  void SetRoutes(std::vector<SyslogRoute> routes);
  [[nodiscard]] const SyslogListenerSettings& settings() const { return settings_; }
  // The TCP port bound (the one asked for, or the one the system chose for port 0).
  [[nodiscard]] int port() const { return port_; }

  struct Counts {
    std::uint64_t connections = 0;  // open now
    std::uint64_t routed = 0;
    std::uint64_t unmatched = 0;  // no target's match
    std::uint64_t malformed = 0;  // not syslog, or not framed
    std::uint64_t oversized = 0;  // longer than kMaxFrame
    std::uint64_t rejected = 0;   // connections closed: framing broken, TLS failed, evicted
  };
  [[nodiscard]] Counts counts() const;

 private:
  struct Connection;
  void Run();
  void Accept();
  void Serve(Connection& connection);
  void ReadDatagrams();
  void Deliver(std::string_view frame);

  SyslogListenerSettings settings_;
  int port_ = 0;
  int tcp_fd_ = -1;
  int udp_fd_ = -1;
  int wake_[2] = {-1, -1};
  ssl_ctx_st* tls_ = nullptr;
  std::vector<std::unique_ptr<Connection>> connections_;  // the listener's thread only
  mutable std::mutex routes_mutex_;
  std::shared_ptr<const std::vector<SyslogRoute>> routes_;
  std::atomic<std::uint64_t> open_ = 0, routed_ = 0, unmatched_ = 0, malformed_ = 0, oversized_ = 0,
                             rejected_ = 0;
  std::atomic<bool> stopping_ = false;
  std::thread thread_;
};

}  // namespace pgvigil::logs
