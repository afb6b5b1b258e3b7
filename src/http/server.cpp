#include "http/server.h"

#include <httplib.h>
#include <spdlog/spdlog.h>

#include <set>
#include <stdexcept>

#include "http/basic_auth.h"

namespace pgvigil::http {
namespace {

constexpr std::size_t kHttpThreads = 4;

const std::set<std::string> kPaths = {"/", "/metrics", "/health", "/health/live", "/health/ready"};

void Send(httplib::Response& response, const Page& page) {
  response.status = page.status;
  response.set_content(page.body, page.content_type);
}

void SendError(httplib::Response& response, int status, const std::string& message) {
  response.status = status;
  response.set_content(message + "\n", "text/plain; charset=utf-8");
}

std::pair<std::string, int> SplitAddress(const std::string& address) {
  const auto colon = address.rfind(':');
  if (colon == std::string::npos)
    throw std::runtime_error("listen address needs a port: " + address);
  std::string host = address.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (host.empty()) host = "0.0.0.0";
  int port = 0;
  try {
    port = std::stoi(address.substr(colon + 1));
  } catch (const std::exception&) {
    throw std::runtime_error("listen address has a bad port: " + address);
  }
  if (port < 0 || port > 65535)
    throw std::runtime_error("listen address has a bad port: " + address);
  return {host, port};
}

}  // namespace

Server::Server(Routes routes, const config::WebConfigFile& web) : routes_(std::move(routes)) {
  if (web.tls()) {
    auto tls = std::make_unique<httplib::SSLServer>(
        web.cert_file.c_str(), web.key_file.c_str(),
        web.client_ca_file.empty() ? nullptr : web.client_ca_file.c_str());
    if (!tls->is_valid()) {
      throw std::runtime_error("cannot load the TLS certificate or key from the web config file");
    }
    server_ = std::move(tls);
  } else {
    server_ = std::make_unique<httplib::Server>();
  }
  auto auth = std::make_shared<BasicAuth>(web.basic_auth_users);
  server_->set_pre_routing_handler(
      [auth](const httplib::Request& request, httplib::Response& response) {
        if (!kPaths.contains(request.path)) {
          SendError(response, 404, "not found: try /metrics or /health");
          return httplib::Server::HandlerResponse::Handled;
        }
        if (request.method != "GET" && request.method != "HEAD") {
          response.set_header("Allow", "GET, HEAD");
          SendError(response, 405, "method not allowed: use GET");
          return httplib::Server::HandlerResponse::Handled;
        }
        if (auth->Enabled() && !auth->Check(request.get_header_value("Authorization"))) {
          response.set_header("WWW-Authenticate", "Basic realm=\"pgvigil\"");
          SendError(response, 401, "unauthorized");
          return httplib::Server::HandlerResponse::Handled;
        }
        for (const auto& [name, value] : request.params) {
          if (!(request.path == "/health" && name == "target")) {
            SendError(response, 400, "unknown query parameter: " + name);
            return httplib::Server::HandlerResponse::Handled;
          }
        }
        return httplib::Server::HandlerResponse::Unhandled;
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
  // Without it a keep-alive response written in two parts waits out delayed ACK (~40 ms).
  server_->set_tcp_nodelay(true);
  // Scrapes are served from snapshots in about a millisecond; a few threads are plenty, and
  // each one costs a stack and malloc state.
  server_->new_task_queue = [] { return new httplib::ThreadPool(kHttpThreads); };
  server_->set_keep_alive_max_count(100);
  server_->set_read_timeout(std::chrono::seconds(10));
  server_->set_write_timeout(std::chrono::seconds(10));
  Install();
}

Server::~Server() { Stop(); }

void Server::Install() {
  server_->Get("/metrics", [this](const httplib::Request&, httplib::Response& response) {
    Send(response, routes_.metrics());
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
  server_->Get("/", [this](const httplib::Request&, httplib::Response& response) {
    Send(response, routes_.index());
  });
}

int Server::Listen(const std::string& listen_address) {
  auto [host, port] = SplitAddress(listen_address);
  int bound = port;
  if (port == 0) {
    bound = server_->bind_to_any_port(host);
    if (bound < 0) throw std::runtime_error("cannot listen on " + listen_address);
  } else if (!server_->bind_to_port(host, port)) {
    throw std::runtime_error("cannot listen on " + listen_address +
                             " (address in use or not available)");
  }
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  return bound;
}

void Server::Stop() {
  if (!thread_.joinable()) return;
  server_->stop();
  thread_.join();
}

}  // namespace pgvigil::http
