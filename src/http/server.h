#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "config/web_config.h"
#include "http/page.h"

namespace pgvigil::http {

class GuardedServer;

// A drain's POST /logs/<target> (docs/logs.md), its body read in full (kMaxDrainBody at most).
struct DrainRequest {
  std::string target;         // the path's segment: [A-Za-z0-9_.-]+
  std::string authorization;  // the Authorization header, checked by the route (a drain token)
  std::string content_type;
  std::string body;
  std::string frame_id;  // Logplex-Frame-Id, when the sender gives one
};

// What the server serves; each call must return quickly (they read snapshots only, or hand a
// drain's messages over).
struct Routes {
  std::function<Page(bool gzip)> metrics;  // gzip: the client accepts it
  std::function<Page(const std::optional<std::string>& target)> health;
  std::function<Page()> live;
  std::function<Page()> ready;
  // The status page's data: one target's last hour (404 if unknown).
  std::function<Page(const std::string& target)> history;
  // POST /logs/<target>: a drain's messages (unset: 404). The route checks the drain's token.
  std::function<Page(const DrainRequest&)> drain;
  // From the headers alone, before the body is read: 0 when the target takes drains and the
  // Authorization header carries its token, else the status to refuse with (404, 401), so a
  // client without the token never holds a drain slot while its body arrives.
  std::function<int(const std::string& target, const std::string& authorization)> drain_admits;
};

// The HTTP interface on cpp-httplib: GET (and HEAD) of /metrics, /health, /health/live,
// /health/ready, /history, and the status page (/ and /static/*, compiled in); other methods on
// those paths get 405, other paths 404, unknown query parameters 400. Every connection is served on
// a thread of its own (up to 512 at once), so slow or idle clients never hold the threads scrapes
// need; a read waits 5 s at most, a whole request must arrive within 10 s and 64 KiB
// (ConnectionLimits), an idle keep-alive connection is closed after 5 s, request bodies over 4 KiB
// are refused from the headers, unread, and Stop() returns within about 2 s whatever clients still
// hold open.
// The one exception is a drain's POST /logs/<target> (Routes::drain): no basic auth of the web
// config (the route checks the drain's own token), and a body up to logs::kMaxDrainBody with a
// Content-Length (411 without one or with Transfer-Encoding, 413 beyond, 415 when it is
// Content-Encoded), which alone widens its request's 64 KiB; other methods there get 405. A body
// refused unread ends its connection after the answer. Shared by the accept thread and the
// connection threads; the Routes' calls must be thread-safe.
class Server {
 public:
  Server(Routes routes, const config::WebConfigFile& web);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds HOST:PORT (":9432" is every address) and serves on a thread of its own. Returns the
  // bound port. Throws std::runtime_error if the address cannot be bound.
  int Listen(const std::string& listen_address);
  // Stops accepting, lets in-flight responses finish (2 s at most), and joins.
  void Stop();
  // After Stop(): whether clients still held connections open, whose threads run on.
  [[nodiscard]] bool ConnectionsLeftRunning() const { return connections_left_running_->load(); }

 private:
  void Install();

  Routes routes_;
  std::shared_ptr<std::atomic<bool>> connections_left_running_ =
      std::make_shared<std::atomic<bool>>(false);
  std::unique_ptr<GuardedServer> server_;
  std::thread thread_;
};

}  // namespace pgvigil::http
