#include "http/server.h"

#include <httplib.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <semaphore>
#include <set>
#include <stdexcept>

#include "config/config.h"
#include "config/listen_address.h"
#include "http/assets.h"
#include "http/basic_auth.h"
#include "http/connection.h"
#include "http/connection_threads.h"
#include "http/tls.h"
#include "logs/drain.h"

namespace pgvigil::http {
namespace {

// GET needs no body; a request announcing more is refused (413) before anything is read.
constexpr std::size_t kMaxBody = 4096;
// Drain requests whose bodies are read at once (each up to logs::kMaxDrainBody, held twice while
// it is handed over): the memory that drains, or clients posing as one, can take. Beyond, a
// request waits kDrainSlotWait for a slot, then is refused (503), its body unread.
constexpr std::ptrdiff_t kConcurrentDrains = 16;
constexpr auto kDrainSlotWait = std::chrono::seconds(2);
using DrainSlots = std::counting_semaphore<kConcurrentDrains>;
std::string AssetPath(const Asset& asset) {
  return asset.name == "index.html" ? "/" : "/static/" + std::string(asset.name);
}

// Every path served: the routes, and the status page's files.
const std::set<std::string>& ServedPaths() {
  static const std::set<std::string> paths = [] {
    std::set<std::string> all = {"/metrics", "/health", "/health/live", "/health/ready",
                                 "/history"};
    for (const Asset& asset : Assets()) all.insert(AssetPath(asset));
    return all;
  }();
  return paths;
}

std::string ContentType(std::string_view name) {
  if (name.ends_with(".html")) return "text/html; charset=utf-8";
  if (name.ends_with(".js")) return "text/javascript; charset=utf-8";
  if (name.ends_with(".css")) return "text/css; charset=utf-8";
  return "text/plain; charset=utf-8";
}

// The page and its files come from the agent alone (no inline script, no other origin), and are
// never framed by another site.
const std::vector<std::pair<std::string, std::string>> kPageHeaders = {
    {"Content-Security-Policy",
     "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
     "frame-ancestors 'none'"},
    {"X-Content-Type-Options", "nosniff"},
    {"Referrer-Policy", "no-referrer"},
};

Page AssetPage(const Asset& asset) {
  Page page{200, ContentType(asset.name), std::string(asset.body)};
  page.headers = kPageHeaders;
  // Compiled into this binary: a browser may keep it until the agent is upgraded or restarted.
  page.headers.emplace_back("Cache-Control", "no-cache");
  return page;
}

void Send(httplib::Response& response, Page page) {
  response.status = page.status;
  for (const auto& [name, value] : page.headers) response.set_header(name, value);
  if (page.status == 204) return;  // no content
  // Sent as it is: httplib would compress a body given as content by itself (gzip whenever the
  // header mentions it, q=0 or not), at scrape time; /metrics comes gzip-encoded already when
  // the client accepts it.
  if (!page.content_encoding.empty()) {
    response.set_header("Content-Encoding", page.content_encoding);
    response.set_header("Vary", "Accept-Encoding");
  }
  auto body = std::make_shared<const std::string>(std::move(page.body));
  response.set_content_provider(
      body->size(), page.content_type,
      [body](std::size_t offset, std::size_t length, httplib::DataSink& sink) {
        return sink.write(body->data() + offset, length);
      });
}

// Whether an Accept-Encoding header admits gzip (RFC 9110: "gzip" or "*", without q=0).
bool AcceptsGzip(const std::string& header) {
  std::size_t start = 0;
  while (start <= header.size()) {
    std::size_t end = header.find(',', start);
    if (end == std::string::npos) end = header.size();
    std::string item = header.substr(start, end - start);
    start = end + 1;
    std::string coding = item.substr(0, item.find(';'));
    std::erase_if(coding, [](unsigned char c) { return std::isspace(c); });
    std::transform(coding.begin(), coding.end(), coding.begin(),
                   [](unsigned char c) { return std::tolower(c); });
    if (coding != "gzip" && coding != "*") continue;
    std::string params = item.find(';') == std::string::npos ? "" : item.substr(item.find(';'));
    std::erase_if(params, [](unsigned char c) { return std::isspace(c); });
    const bool refused =
        params.starts_with(";q=0") && params.find_first_not_of("0.", 4) == std::string::npos;
    if (!refused) return true;
  }
  return false;
}

void SendError(httplib::Response& response, int status, const std::string& message) {
  response.status = status;
  response.set_content(message + "\n", "text/plain; charset=utf-8");
}

// POST /logs/<target>: the target is one path segment of [A-Za-z0-9_.-].
constexpr std::string_view kDrainPrefix = "/logs/";
constexpr const char* kDrainRoute = R"(/logs/([A-Za-z0-9_.\-]+))";
// The target a drain path names, or "" when the path is not /logs/ and one such segment. Read
// by hand: std::regex here trips GCC 12's false -Wmaybe-uninitialized in sanitizer builds
// (httplib matches kDrainRoute itself, in its own library).
std::string DrainTarget(const std::string& path) {
  if (!path.starts_with(kDrainPrefix) || path.size() == kDrainPrefix.size()) return "";
  const std::string target = path.substr(kDrainPrefix.size());
  const bool valid = std::all_of(target.begin(), target.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '.' || c == '-';
  });
  return valid ? target : "";
}

bool IsDrainPath(const std::string& path) { return path.starts_with(kDrainPrefix); }

bool AnnouncesBody(const httplib::Request& request) {
  return request.has_header("Transfer-Encoding") ||
         request.get_header_value<std::uint64_t>("Content-Length") > 0;
}

// A drain request, from its headers alone. With `slots`, the body is then to be read: it waits
// for a slot, held until the request is over, and its length is added to the request's byte
// budget. Anything refused ends the connection after the answer, its body unread.
httplib::Server::HandlerResponse ScreenDrain(const httplib::Request& request,
                                             httplib::Response& response, const Routes& routes,
                                             const std::shared_ptr<DrainSlots>& slots) {
  const bool drains = static_cast<bool>(routes.drain);
  const auto refuse = [&](int status, const std::string& message) {
    CloseAfterResponse();
    response.set_header("Connection", "close");
    SendError(response, status, message);
    return httplib::Server::HandlerResponse::Handled;
  };
  const std::string target = DrainTarget(request.path);
  if (!drains || target.empty()) {
    return refuse(404, "not found: a drain posts to /logs/<target>");
  }
  if (request.method != "POST") {
    response.set_header("Allow", "POST");
    return refuse(405, "method not allowed: a drain uses POST");
  }
  if (request.has_header("Transfer-Encoding")) {
    return refuse(411, "a drain request needs Content-Length, not Transfer-Encoding");
  }
  if (!request.has_header("Content-Length")) return refuse(411, "Content-Length required");
  const std::string length_text = request.get_header_value("Content-Length");
  if (request.get_header_value_count("Content-Length") != 1 || length_text.empty() ||
      length_text.size() > 19 || length_text.find_first_not_of("0123456789") != std::string::npos) {
    return refuse(400, "bad Content-Length");
  }
  const std::uint64_t length = std::stoull(length_text);
  if (length > logs::kMaxDrainBody) {
    return refuse(413, "request body too large: a drain sends " +
                           std::to_string(logs::kMaxDrainBody) + " bytes at most");
  }
  const std::string encoding = request.get_header_value("Content-Encoding");
  if (!encoding.empty() && encoding != "identity") {
    return refuse(415, "Content-Encoding is not taken: send the body as it is");
  }
  if (!request.params.empty()) {
    return refuse(400, "unknown query parameter: " + request.params.begin()->first);
  }
  if (routes.drain_admits) {
    const int refused = routes.drain_admits(target, request.get_header_value("Authorization"));
    if (refused == 401) response.set_header("WWW-Authenticate", "Basic realm=\"pgvigil drain\"");
    if (refused == 401) return refuse(401, "wrong or missing drain token");
    if (refused != 0) return refuse(refused, "no drain for this target");
  }
  if (slots) {
    if (!slots->try_acquire_for(kDrainSlotWait)) {
      response.set_header("Retry-After", "1");
      return refuse(503, "too many drain requests at once; retry");
    }
    AtRequestEnd([slots] { slots->release(); });
    AllowRequestBody(static_cast<std::size_t>(length));
  }
  return httplib::Server::HandlerResponse::Unhandled;
}

}  // namespace

Server::Server(Routes routes, const config::WebConfigFile& web) : routes_(std::move(routes)) {
  SSL_CTX* tls = nullptr;
  if (web.tls()) {
    tls = SSL_CTX_new(TLS_server_method());
    if (tls == nullptr) throw config::ConfigError(web.source + ": cannot create a TLS context");
    SSL_CTX_set_options(tls, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
    try {
      ConfigureTls(*tls, web);
    } catch (...) {
      SSL_CTX_free(tls);
      throw;
    }
  }
  // Each read waits 5 s at most, a whole request must arrive within 10 s and 64 KiB, an idle
  // keep-alive connection is closed after 5 s (ConnectionLimits' defaults).
  server_ = std::make_unique<GuardedServer>(tls, ConnectionLimits{});
  httplib::Headers headers;
  for (const auto& [name, value] : web.headers) headers.emplace(name, value);
  server_->set_default_headers(std::move(headers));
  auto auth = std::make_shared<BasicAuth>(web.basic_auth_users);
  auto slots = std::make_shared<DrainSlots>(kConcurrentDrains);
  server_->set_pre_routing_handler(
      [this, auth, slots](const httplib::Request& request, httplib::Response& response) {
        if (IsDrainPath(request.path)) return ScreenDrain(request, response, routes_, slots);
        // GET needs no body: one it announces is not read, so the connection ends after the answer
        // (its bytes would otherwise be read as the next request).
        if (AnnouncesBody(request)) CloseAfterResponse();
        if (!ServedPaths().contains(request.path)) {
          SendError(response, 404, "not found: try /metrics or /health");
          return httplib::Server::HandlerResponse::Handled;
        }
        // One announced beyond the limit is refused from the headers.
        if (request.has_header("Transfer-Encoding") ||
            request.get_header_value<std::uint64_t>("Content-Length") > kMaxBody) {
          response.set_header("Connection", "close");
          SendError(response, 413, "request body too large");
          return httplib::Server::HandlerResponse::Handled;
        }
        if (request.method != "GET" && request.method != "HEAD") {
          response.set_header("Allow", "GET, HEAD");
          SendError(response, 405, "method not allowed: use GET");
          return httplib::Server::HandlerResponse::Handled;
        }
        if (auth->Enabled()) {
          switch (auth->Check(request.get_header_value("Authorization"))) {
            case BasicAuth::Result::kAllowed:
              break;
            case BasicAuth::Result::kBusy:
              response.set_header("Retry-After", "1");
              SendError(response, 429, "too many password checks at once; retry");
              return httplib::Server::HandlerResponse::Handled;
            case BasicAuth::Result::kDenied:
              response.set_header("WWW-Authenticate", "Basic realm=\"pgvigil\"");
              SendError(response, 401, "unauthorized");
              return httplib::Server::HandlerResponse::Handled;
          }
        }
        for (const auto& [name, value] : request.params) {
          if (!((request.path == "/health" || request.path == "/history") && name == "target")) {
            SendError(response, 400, "unknown query parameter: " + name);
            return httplib::Server::HandlerResponse::Handled;
          }
        }
        return httplib::Server::HandlerResponse::Unhandled;
      });
  // A drain sending "Expect: 100-continue" hears a refusal before it sends the body.
  server_->set_expect_100_continue_handler(
      [this](const httplib::Request& request, httplib::Response& response) {
        if (IsDrainPath(request.path) && ScreenDrain(request, response, routes_, nullptr) ==
                                             httplib::Server::HandlerResponse::Handled) {
          return response.status;
        }
        return 100;
      });
  server_->set_exception_handler(
      [](const httplib::Request& request, httplib::Response& response, std::exception_ptr error) {
        std::string what = "unknown error";
        try {
          std::rethrow_exception(error);
        } catch (const std::exception& e) {
          what = e.what();
        } catch (...) {
        }
        spdlog::error("http: {} {} failed: {}", request.method, request.path, what);
        SendError(response, 500, "internal error");
      });
  server_->new_task_queue = [left = connections_left_running_] {
    return new ConnectionThreads(left);
  };
  // What a drain may send; every other body is refused from its headers (kMaxBody).
  server_->set_payload_max_length(logs::kMaxDrainBody);
  // Our connection loop enforces these (ConnectionLimits); httplib only announces them in the
  // Keep-Alive header, so they must say the same.
  server_->set_keep_alive_max_count(ConnectionLimits{}.keep_alive_max);
  server_->set_keep_alive_timeout(
      std::chrono::duration_cast<std::chrono::seconds>(ConnectionLimits{}.keep_alive_timeout)
          .count());
  Install();
}

Server::~Server() { Stop(); }

void Server::Install() {
  server_->Get("/metrics", [this](const httplib::Request& request, httplib::Response& response) {
    Send(response, routes_.metrics(AcceptsGzip(request.get_header_value("Accept-Encoding"))));
  });
  server_->Get("/health", [this](const httplib::Request& request, httplib::Response& response) {
    std::optional<std::string> target;
    if (request.has_param("target")) {
      if (request.get_param_value_count("target") != 1 ||
          request.get_param_value("target").empty()) {
        SendError(response, 400, "give one non-empty target name");
        return;
      }
      target = request.get_param_value("target");
    }
    Send(response, routes_.health(target));
  });
  server_->Get("/health/live", [this](const httplib::Request&, httplib::Response& response) {
    Send(response, routes_.live());
  });
  server_->Get("/health/ready", [this](const httplib::Request&, httplib::Response& response) {
    Send(response, routes_.ready());
  });
  server_->Get("/history", [this](const httplib::Request& request, httplib::Response& response) {
    if (request.get_param_value_count("target") != 1 || request.get_param_value("target").empty()) {
      SendError(response, 400, "give one non-empty target name");
      return;
    }
    Send(response, routes_.history(request.get_param_value("target")));
  });
  server_->Post(kDrainRoute, [this](const httplib::Request& request, httplib::Response& response) {
    DrainRequest drain;
    drain.target = request.matches[1];
    drain.authorization = request.get_header_value("Authorization");
    drain.content_type = request.get_header_value("Content-Type");
    drain.body = request.body;
    drain.frame_id = request.get_header_value("Logplex-Frame-Id");
    Send(response, routes_.drain(drain));
  });
  for (const Asset& asset : Assets()) {
    server_->Get(AssetPath(asset), [&asset](const httplib::Request&, httplib::Response& response) {
      Send(response, AssetPage(asset));
    });
  }
}

int Server::Listen(const std::string& listen_address) {
  auto [host, port] = config::ParseListenAddress(listen_address);
  int bound = port;
  if (port == 0) {
    bound = server_->bind_to_any_port(host);
    if (bound < 0) throw std::runtime_error("cannot listen on " + listen_address);
  } else if (!server_->bind_to_port(host, port)) {
    throw std::runtime_error("cannot listen on " + listen_address +
                             " (address in use or not available)");
  }
  // cpp-httplib listens with a backlog of 5: a burst of scrapers beyond it (a fleet of
  // Prometheus servers, or a federation) waits a second for each SYN to be sent again.
  if (!server_->ApplyListenBacklog()) {
    spdlog::warn("http: cannot raise the listen backlog of {}: {}", listen_address,
                 std::strerror(errno));
  }
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  return bound;
}

void Server::Stop() {
  if (!thread_.joinable()) return;
  server_->BeginStop();
  server_->stop();
  thread_.join();
  // Connections still open after the grace (a client dripping a request) keep running on
  // their own threads until the process exits; they must find the server where it was.
  if (connections_left_running_->load()) (void)server_.release();
}

}  // namespace pgvigil::http
