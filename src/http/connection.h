#pragma once

#include <httplib.h>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>

struct ssl_ctx_st;

namespace pgvigil::http {

// How much a client may take from one connection.
struct ConnectionLimits {
  // Longest wait for the next bytes of a request, and for a write to make progress.
  std::chrono::milliseconds io_timeout{5000};
  // An idle keep-alive connection is closed after this.
  std::chrono::milliseconds keep_alive_timeout{5000};
  // A whole request (line, headers and body) must have arrived this long after its first byte
  // was awaited: a client dripping bytes fast enough to beat io_timeout still ends here.
  std::chrono::milliseconds request_deadline{10000};
  // Bytes of one request the parser may read; past it the client reads as end of stream, so an
  // endless request line or header ends as 414/400, never as memory. A body the server accepted
  // from the request's headers is added to it (AllowRequestBody).
  std::size_t max_request_bytes = 64 * 1024;
  // Requests per connection before it is closed.
  std::size_t keep_alive_max = 100;
};

// For the pre-routing handler, while it looks at a request's headers on its connection's thread
// (each connection runs on a thread of its own; elsewhere these do nothing):
//  - AllowRequestBody: the request's body, `bytes` long as announced, is accepted: the request
//    may read that much beyond max_request_bytes (so only an accepted body costs more than it);
//  - CloseAfterResponse: the connection ends once the response is sent, as when a body is
//    refused unread (its bytes must not be read as the next request);
//  - AtRequestEnd: `done` runs once the request is over, answered or not (at once when called
//    elsewhere).
void AllowRequestBody(std::size_t bytes);
void CloseAfterResponse();
void AtRequestEnd(std::function<void()> done);

// cpp-httplib's server with its connection loop replaced: every connection (plain, or TLS when
// given a context) is read under ConnectionLimits, which cpp-httplib 0.11 alone cannot bound
// (its reads wait per recv and its line reader grows without end). Routing, parsing and
// responses stay cpp-httplib's. BeginStop() makes every connection end at its next wait.
// Shared by the accept thread and the connection threads.
class GuardedServer final : public httplib::Server {
 public:
  // Takes ownership of `tls` (may be null: plain HTTP).
  GuardedServer(ssl_ctx_st* tls, ConnectionLimits limits);
  ~GuardedServer() override;
  GuardedServer(const GuardedServer&) = delete;
  GuardedServer& operator=(const GuardedServer&) = delete;

  void BeginStop() { stopping_.store(true); }
  // After bind_to_port()/bind_to_any_port(): replaces cpp-httplib's listen backlog of 5 with
  // ListenBacklog()'s (http/listen.h). False (errno set) if that failed.
  bool ApplyListenBacklog();

 private:
  bool process_and_close_socket(socket_t sock) override;

  ssl_ctx_st* tls_;
  ConnectionLimits limits_;
  std::atomic<bool> stopping_ = false;
};

}  // namespace pgvigil::http
