#include "http/connection.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <vector>

#include "http/listen.h"

namespace pgvigil::http {
namespace {

using Clock = std::chrono::steady_clock;
// Waits are cut in slices this long, so a stop is seen promptly.
constexpr auto kStopCheck = std::chrono::milliseconds(100);

enum class Direction { kRead, kWrite };

// Waits until the socket is ready in `direction` (or reports an error or hang-up, which the
// next call then sees). False when `until` passes first, or when `stopping` is set.
bool Await(int fd, Direction direction, Clock::time_point until,
           const std::atomic<bool>* stopping) {
  while (stopping == nullptr || !stopping->load()) {
    const auto left = until - Clock::now();
    if (left <= Clock::duration::zero()) return false;
    const auto slice =
        std::chrono::ceil<std::chrono::milliseconds>(std::min<Clock::duration>(left, kStopCheck));
    pollfd request{fd, static_cast<short>(direction == Direction::kRead ? POLLIN : POLLOUT), 0};
    const int ready = ::poll(&request, 1, static_cast<int>(slice.count()));
    if (ready > 0) return true;
    if (ready < 0 && errno != EINTR) return false;
  }
  return false;
}

// One step of an OpenSSL call on a non-blocking socket: what to wait for before retrying.
enum class TlsStep { kDone, kWantRead, kWantWrite, kClosed, kFailed };

TlsStep Classify(SSL* ssl, int result) {
  if (result > 0) return TlsStep::kDone;
  switch (SSL_get_error(ssl, result)) {
    case SSL_ERROR_WANT_READ:
      return TlsStep::kWantRead;
    case SSL_ERROR_WANT_WRITE:
      return TlsStep::kWantWrite;
    case SSL_ERROR_ZERO_RETURN:
      return TlsStep::kClosed;
    default:
      return TlsStep::kFailed;
  }
}

// Runs an OpenSSL call until it completes, waiting between tries until `until`. Returns its
// result (> 0), 0 when the peer closed, -1 on failure or timeout.
template <typename Call>
int RunTls(SSL* ssl, int fd, Clock::time_point until, const std::atomic<bool>* stopping,
           Call call) {
  while (true) {
    ERR_clear_error();
    const int result = call();
    switch (Classify(ssl, result)) {
      case TlsStep::kDone:
        return result;
      case TlsStep::kClosed:
        return 0;
      case TlsStep::kFailed:
        return -1;
      case TlsStep::kWantRead:
        if (!Await(fd, Direction::kRead, until, stopping)) return -1;
        break;
      case TlsStep::kWantWrite:
        if (!Await(fd, Direction::kWrite, until, stopping)) return -1;
        break;
    }
  }
}

void Address(int fd, bool peer, std::string& ip, int& port) {
  sockaddr_storage address{};
  socklen_t length = sizeof(address);
  auto* raw = reinterpret_cast<sockaddr*>(&address);
  if ((peer ? ::getpeername(fd, raw, &length) : ::getsockname(fd, raw, &length)) != 0) return;
  std::array<char, NI_MAXHOST> host{};
  std::array<char, NI_MAXSERV> service{};
  if (::getnameinfo(raw, length, host.data(), host.size(), service.data(), service.size(),
                    NI_NUMERICHOST | NI_NUMERICSERV) == 0) {
    ip = host.data();
    port = std::atoi(service.data());
  }
}

// A connection's byte stream for cpp-httplib's parser: buffered reads under the current
// request's deadline and byte budget, writes that must make progress every io_timeout. Used by
// its connection's thread only.
class GuardedStream final : public httplib::Stream {
 public:
  GuardedStream(int fd, SSL* ssl, const ConnectionLimits& limits, const std::atomic<bool>& stopping)
      : fd_(fd), ssl_(ssl), limits_(limits), stopping_(stopping) {}

  // Whether the next request begins before the keep-alive timeout (bytes already buffered
  // count: a pipelined request).
  bool AwaitRequest() {
    return Buffered() ||
           Await(fd_, Direction::kRead, Clock::now() + limits_.keep_alive_timeout, &stopping_);
  }
  void BeginRequest() {
    deadline_ = Clock::now() + limits_.request_deadline;
    budget_ = limits_.max_request_bytes;
  }
  // Whether the connection must end: the request's budget is spent, a read failed (timed out,
  // passed the deadline, or the peer broke off), or the request asked to, whatever the parser
  // answered.
  [[nodiscard]] bool Finished() const { return budget_ == 0 || failed_ || close_; }
  // The current request's accepted body: this many bytes more may be read for it.
  void AllowBody(std::size_t bytes) {
    budget_ = bytes > SIZE_MAX - budget_ ? SIZE_MAX : budget_ + bytes;
  }
  void CloseAfterResponse() { close_ = true; }
  void AtRequestEnd(std::function<void()> done) { at_end_.push_back(std::move(done)); }
  // Runs what was to run once the current request is over.
  void EndRequest() {
    auto at_end = std::move(at_end_);
    at_end_.clear();
    for (auto& done : at_end) done();
  }

  bool is_readable() const override {
    return Buffered() || Await(fd_, Direction::kRead, ReadUntil(), &stopping_);
  }
  bool is_writable() const override {
    return Await(fd_, Direction::kWrite, Clock::now() + limits_.io_timeout, nullptr);
  }

  ssize_t read(char* ptr, size_t size) override {
    if (budget_ == 0) return 0;  // the parser sees the end: 414/400, and the connection closes
    if (begin_ == end_) {
      const ssize_t got = Fill();
      if (got < 0) failed_ = true;
      if (got <= 0) return got;
    }
    const std::size_t n = std::min({size, end_ - begin_, budget_});
    std::memcpy(ptr, buffer_.data() + begin_, n);
    begin_ += n;
    budget_ -= n;
    return static_cast<ssize_t>(n);
  }

  ssize_t write(const char* ptr, size_t size) override {
    std::size_t written = 0;
    while (written < size) {
      const auto until = Clock::now() + limits_.io_timeout;
      const ssize_t n = WriteSome(ptr + written, size - written, until);
      if (n <= 0) return -1;
      written += static_cast<std::size_t>(n);
    }
    return static_cast<ssize_t>(size);
  }

  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    Address(fd_, true, ip, port);
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    Address(fd_, false, ip, port);
  }
  socket_t socket() const override { return fd_; }

 private:
  [[nodiscard]] bool Buffered() const {
    return begin_ < end_ || (ssl_ != nullptr && SSL_pending(ssl_) > 0);
  }
  [[nodiscard]] Clock::time_point ReadUntil() const {
    return std::min(deadline_, Clock::now() + limits_.io_timeout);
  }

  // Reads what is there into the empty buffer: > 0 bytes, 0 at the peer's end, -1 on error,
  // timeout, deadline or stop.
  ssize_t Fill() {
    begin_ = end_ = 0;
    const auto until = ReadUntil();
    ssize_t got = -1;
    if (ssl_ != nullptr) {
      got = RunTls(ssl_, fd_, until, &stopping_, [&] {
        return SSL_read(ssl_, buffer_.data(), static_cast<int>(buffer_.size()));
      });
    } else {
      while (true) {
        got = ::recv(fd_, buffer_.data(), buffer_.size(), 0);
        if (got >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) break;
        if (!Await(fd_, Direction::kRead, until, &stopping_)) return -1;
      }
    }
    if (got > 0) end_ = static_cast<std::size_t>(got);
    return got;
  }

  ssize_t WriteSome(const char* ptr, std::size_t size, Clock::time_point until) {
    if (ssl_ != nullptr) {
      const int chunk = static_cast<int>(std::min<std::size_t>(size, 1 << 30));
      return RunTls(ssl_, fd_, until, nullptr, [&] { return SSL_write(ssl_, ptr, chunk); });
    }
    while (true) {
      const ssize_t n = ::send(fd_, ptr, size, MSG_NOSIGNAL);
      if (n >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) return n;
      if (!Await(fd_, Direction::kWrite, until, nullptr)) return -1;
    }
  }

  int fd_;
  SSL* ssl_;
  const ConnectionLimits& limits_;
  const std::atomic<bool>& stopping_;
  Clock::time_point deadline_ = Clock::time_point::max();
  std::size_t budget_ = 0;
  bool failed_ = false;
  bool close_ = false;
  std::vector<std::function<void()>> at_end_;
  std::array<char, 16 * 1024> buffer_{};
  std::size_t begin_ = 0;
  std::size_t end_ = 0;
};

// The stream of the request this thread is handling, while process_request runs.
thread_local GuardedStream* current_stream = nullptr;

// Makes `stream` the thread's current stream for as long as it lives.
class CurrentStream {
 public:
  explicit CurrentStream(GuardedStream& stream) : stream_(stream) { current_stream = &stream; }
  ~CurrentStream() {
    current_stream = nullptr;
    stream_.EndRequest();
  }
  CurrentStream(const CurrentStream&) = delete;
  CurrentStream& operator=(const CurrentStream&) = delete;

 private:
  GuardedStream& stream_;
};

}  // namespace

void AllowRequestBody(std::size_t bytes) {
  if (current_stream != nullptr) current_stream->AllowBody(bytes);
}

void CloseAfterResponse() {
  if (current_stream != nullptr) current_stream->CloseAfterResponse();
}

void AtRequestEnd(std::function<void()> done) {
  if (current_stream != nullptr) {
    current_stream->AtRequestEnd(std::move(done));
  } else {
    done();
  }
}

GuardedServer::GuardedServer(ssl_ctx_st* tls, ConnectionLimits limits)
    : tls_(tls), limits_(limits) {}

GuardedServer::~GuardedServer() {
  if (tls_ != nullptr) SSL_CTX_free(tls_);
}

bool GuardedServer::ApplyListenBacklog() { return http::ApplyListenBacklog(svr_sock_); }

bool GuardedServer::process_and_close_socket(socket_t sock) {
  const int flags = ::fcntl(sock, F_GETFL);
  ::fcntl(sock, F_SETFL, flags | O_NONBLOCK);
  const int on = 1;
  ::setsockopt(sock, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));

  std::unique_ptr<SSL, decltype(&SSL_free)> ssl(nullptr, SSL_free);
  bool ok = true;
  if (tls_ != nullptr) {
    ssl.reset(SSL_new(tls_));
    ok = ssl != nullptr && SSL_set_fd(ssl.get(), sock) == 1 &&
         RunTls(ssl.get(), sock, Clock::now() + limits_.request_deadline, &stopping_,
                [&] { return SSL_accept(ssl.get()); }) > 0;
  }
  if (ok) {
    GuardedStream stream(sock, ssl.get(), limits_, stopping_);
    for (std::size_t served = 0; served < limits_.keep_alive_max; ++served) {
      if (svr_sock_ == INVALID_SOCKET || stopping_.load() || !stream.AwaitRequest()) break;
      stream.BeginRequest();
      const bool last = served + 1 == limits_.keep_alive_max;
      bool closed = false;
      {
        const CurrentStream current(stream);
        ok = process_request(stream, last, closed, nullptr);
      }
      if (!ok || closed || stream.Finished()) break;
    }
    if (ssl) {
      ERR_clear_error();
      (void)SSL_shutdown(ssl.get());
    }
  }
  ERR_clear_error();
  ::shutdown(sock, SHUT_RDWR);
  ::close(sock);
  return ok;
}

}  // namespace pgvigil::http
