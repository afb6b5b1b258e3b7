#include "logs/syslog_receiver.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <stdexcept>

#include "logs/syslog_framing.h"
#include "logs/syslog_message.h"

namespace pgvigil::logs {
namespace {

using Clock = std::chrono::steady_clock;

// The kernel caps a listen backlog at net.core.somaxconn: asking for more gets exactly that,
// so many senders connecting at once never wait for a SYN retransmit.
constexpr int kBacklog = 65535;
constexpr std::size_t kReadChunk = 64 * 1024;

std::string Errno(const std::string& what) { return what + ": " + std::strerror(errno); }

int Bind(const std::string& host, int port, int type, int* bound_port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = type;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const std::string service = std::to_string(port);
  if (::getaddrinfo(host.empty() ? nullptr : host.c_str(), service.c_str(), &hints, &found) != 0 ||
      found == nullptr) {
    throw std::runtime_error("cannot resolve " + host);
  }
  // Every address: the IPv6 wildcard accepts IPv4 too where the system allows it.
  addrinfo* chosen = found;
  for (addrinfo* ai = found; host.empty() && ai != nullptr; ai = ai->ai_next) {
    if (ai->ai_family == AF_INET6) chosen = ai;
  }
  const int fd = ::socket(chosen->ai_family, chosen->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
                          chosen->ai_protocol);
  if (fd < 0) {
    ::freeaddrinfo(found);
    throw std::runtime_error(Errno("socket"));
  }
  const int on = 1;
  const int off = 0;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  if (chosen->ai_family == AF_INET6) ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off);
  if (::bind(fd, chosen->ai_addr, chosen->ai_addrlen) != 0) {
    const std::string error = Errno("bind");
    ::close(fd);
    ::freeaddrinfo(found);
    throw std::runtime_error(error);
  }
  ::freeaddrinfo(found);
  if (type == SOCK_STREAM && ::listen(fd, kBacklog) != 0) {
    const std::string error = Errno("listen");
    ::close(fd);
    throw std::runtime_error(error);
  }
  sockaddr_storage address{};
  socklen_t length = sizeof address;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  *bound_port =
      ntohs(address.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&address)->sin6_port
                                          : reinterpret_cast<sockaddr_in*>(&address)->sin_port);
  return fd;
}

std::string OpenSslError() {
  const unsigned long code = ERR_get_error();
  if (code == 0) return "unknown TLS error";
  std::array<char, 256> text{};
  ERR_error_string_n(code, text.data(), text.size());
  return text.data();
}

SSL_CTX* MakeTls(const SyslogListenerSettings& settings) {
  if (settings.cert_file.empty()) return nullptr;
  SSL_CTX* tls = SSL_CTX_new(TLS_server_method());
  if (tls == nullptr) throw std::runtime_error("cannot create a TLS context");
  SSL_CTX_set_min_proto_version(tls, TLS1_2_VERSION);
  SSL_CTX_set_options(tls, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
  auto fail = [&](const std::string& what) {
    const std::string error = what + ": " + OpenSslError();
    SSL_CTX_free(tls);
    throw std::runtime_error(error);
  };
  if (SSL_CTX_use_certificate_chain_file(tls, settings.cert_file.c_str()) != 1) {
    fail("syslog tls.cert_file " + settings.cert_file);
  }
  if (SSL_CTX_use_PrivateKey_file(tls, settings.key_file.c_str(), SSL_FILETYPE_PEM) != 1 ||
      SSL_CTX_check_private_key(tls) != 1) {
    fail("syslog tls.key_file " + settings.key_file);
  }
  if (!settings.client_ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(tls, settings.client_ca_file.c_str(), nullptr) != 1) {
      fail("syslog tls.client_ca_file " + settings.client_ca_file);
    }
    SSL_CTX_set_verify(tls, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  }
  return tls;
}

}  // namespace

struct SyslogListener::Connection {
  explicit Connection(int fd_) : fd(fd_), framer(kMaxFrame) {}
  ~Connection() {
    if (ssl != nullptr) SSL_free(ssl);
    if (fd >= 0) ::close(fd);
  }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  int fd;
  SSL* ssl = nullptr;
  bool handshaken = false;
  bool closed = false;
  short events = POLLIN;  // what the TLS layer waits for
  Clock::time_point opened = Clock::now();
  Clock::time_point last_data = Clock::now();
  SyslogFramer framer;
  std::size_t counted_oversized = 0;
  std::size_t counted_malformed = 0;
};

SyslogListener::SyslogListener(const SyslogListenerSettings& settings) : settings_(settings) {
  tls_ = MakeTls(settings);
  try {
    tcp_fd_ = Bind(settings.bind_host, settings.bind_port, SOCK_STREAM, &port_);
    if (settings.udp) {
      int udp_port = 0;
      udp_fd_ = Bind(settings.bind_host, port_, SOCK_DGRAM, &udp_port);
    }
    if (::pipe2(wake_, O_CLOEXEC | O_NONBLOCK) != 0) throw std::runtime_error(Errno("pipe"));
  } catch (const std::exception& e) {
    if (tcp_fd_ >= 0) ::close(tcp_fd_);
    if (udp_fd_ >= 0) ::close(udp_fd_);
    if (tls_ != nullptr) SSL_CTX_free(tls_);
    throw std::runtime_error("syslog listener " + settings.address + ": " + e.what());
  }
  routes_ = std::make_shared<const std::vector<SyslogRoute>>();
  thread_ = std::thread([this] { Run(); });
}

SyslogListener::~SyslogListener() {
  stopping_ = true;
  const char byte = 0;
  (void)!::write(wake_[1], &byte, 1);
  if (thread_.joinable()) thread_.join();
  connections_.clear();
  for (int fd : {tcp_fd_, udp_fd_, wake_[0], wake_[1]}) {
    if (fd >= 0) ::close(fd);
  }
  if (tls_ != nullptr) SSL_CTX_free(tls_);
}

void SyslogListener::SetRoutes(std::vector<SyslogRoute> routes) {
  auto shared = std::make_shared<const std::vector<SyslogRoute>>(std::move(routes));
  std::lock_guard lock(routes_mutex_);
  routes_ = std::move(shared);
}

SyslogListener::Counts SyslogListener::counts() const {
  return {open_.load(),      routed_.load(),    unmatched_.load(),
          malformed_.load(), oversized_.load(), rejected_.load()};
}

void SyslogListener::Deliver(std::string_view frame) {
  const auto message = ParseSyslogMessage(frame);
  if (!message) {
    ++malformed_;
    return;
  }
  std::shared_ptr<const std::vector<SyslogRoute>> routes;
  {
    std::lock_guard lock(routes_mutex_);
    routes = routes_;
  }
  const SyslogRoute* chosen = nullptr;
  for (const auto& route : *routes) {
    if (!route.match.empty() &&
        (route.match == message->hostname || route.match == message->app_name)) {
      chosen = &route;
      break;
    }
    if (route.match.empty() && chosen == nullptr) chosen = &route;
  }
  if (chosen == nullptr) {
    ++unmatched_;
    return;
  }
  if (chosen->inbox->Push(ToInboxMessage(*message))) {
    ++routed_;
  }
}

void SyslogListener::Accept() {
  while (true) {
    const int fd = ::accept4(tcp_fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) return;  // EAGAIN, or a connection that went away before it was taken
    if (connections_.size() >= kMaxConnections) {
      // The sender that has been quiet longest makes room: a busy forwarder is never evicted by
      // connections that only sit there.
      auto idlest = std::min_element(
          connections_.begin(), connections_.end(),
          [](const auto& a, const auto& b) { return a->last_data < b->last_data; });
      (*idlest)->closed = true;
      ++rejected_;
      connections_.erase(idlest);
    }
    auto connection = std::make_unique<Connection>(fd);
    if (tls_ != nullptr) {
      connection->ssl = SSL_new(tls_);
      if (connection->ssl == nullptr || SSL_set_fd(connection->ssl, fd) != 1) {
        ++rejected_;
        continue;
      }
    } else {
      connection->handshaken = true;
    }
    connections_.push_back(std::move(connection));
  }
}

void SyslogListener::Serve(Connection& connection) {
  if (!connection.handshaken) {
    ERR_clear_error();
    const int result = SSL_accept(connection.ssl);
    if (result != 1) {
      const int error = SSL_get_error(connection.ssl, result);
      if (error == SSL_ERROR_WANT_READ) {
        connection.events = POLLIN;
      } else if (error == SSL_ERROR_WANT_WRITE) {
        connection.events = POLLOUT;
      } else {
        ++rejected_;
        connection.closed = true;
      }
      return;
    }
    connection.handshaken = true;
    connection.events = POLLIN;
  }
  std::array<char, kReadChunk> buffer{};
  const SyslogFramer::Sink deliver = [this](std::string_view frame) { Deliver(frame); };
  // At most a few reads per wake-up, so one flooding sender cannot hold the loop.
  for (int round = 0; round < 4 && !connection.closed; ++round) {
    ssize_t got = 0;
    if (connection.ssl != nullptr) {
      ERR_clear_error();
      const int result = SSL_read(connection.ssl, buffer.data(), static_cast<int>(buffer.size()));
      if (result <= 0) {
        const int error = SSL_get_error(connection.ssl, result);
        if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) {
          connection.events = error == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT;
          return;
        }
        got = 0;
      } else {
        got = result;
      }
    } else {
      got = ::recv(connection.fd, buffer.data(), buffer.size(), 0);
      if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return;
    }
    if (got <= 0) {
      connection.framer.Finish(deliver);
      connection.closed = true;
      break;
    }
    connection.last_data = Clock::now();
    if (!connection.framer.Feed(std::string_view(buffer.data(), static_cast<std::size_t>(got)),
                                deliver)) {
      ++rejected_;
      ++malformed_;
      connection.closed = true;
    }
    if (static_cast<std::size_t>(got) < buffer.size() &&
        (connection.ssl == nullptr || SSL_pending(connection.ssl) == 0)) {
      break;
    }
  }
  const auto& counts = connection.framer.counts();
  oversized_ += counts.oversized - connection.counted_oversized;
  malformed_ += counts.malformed - connection.counted_malformed;
  connection.counted_oversized = counts.oversized;
  connection.counted_malformed = counts.malformed;
}

void SyslogListener::ReadDatagrams() {
  std::array<char, kMaxFrame> buffer{};
  for (int round = 0; round < 256; ++round) {
    const ssize_t got = ::recv(udp_fd_, buffer.data(), buffer.size(), MSG_TRUNC);
    if (got < 0) return;
    if (static_cast<std::size_t>(got) > buffer.size()) {
      ++oversized_;
      continue;
    }
    Deliver(std::string_view(buffer.data(), static_cast<std::size_t>(got)));
  }
}

void SyslogListener::Run() {
  std::vector<pollfd> fds;
  while (!stopping_) {
    fds.clear();
    fds.push_back({wake_[0], POLLIN, 0});
    fds.push_back({tcp_fd_, POLLIN, 0});
    if (udp_fd_ >= 0) fds.push_back({udp_fd_, POLLIN, 0});
    const std::size_t first_connection = fds.size();
    for (const auto& connection : connections_)
      fds.push_back({connection->fd, connection->events, 0});
    if (::poll(fds.data(), fds.size(), 1000) < 0 && errno != EINTR) break;
    if (stopping_) break;
    for (std::size_t i = first_connection; i < fds.size(); ++i) {
      if (fds[i].revents != 0) Serve(*connections_[i - first_connection]);
    }
    if (udp_fd_ >= 0 && (fds[2].revents & POLLIN) != 0) ReadDatagrams();
    const auto now = Clock::now();
    std::erase_if(connections_, [&](const auto& connection) {
      if (connection->closed) return true;
      const bool handshake_late =
          !connection->handshaken &&
          now - connection->opened > std::chrono::milliseconds(kHandshakeDeadlineMs);
      const bool idle = now - connection->last_data > std::chrono::milliseconds(kIdleTimeoutMs);
      if (handshake_late || idle) ++rejected_;
      return handshake_late || idle;
    });
    if ((fds[1].revents & POLLIN) != 0) Accept();
    open_ = connections_.size();
  }
}

}  // namespace pgvigil::logs
