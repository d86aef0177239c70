#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace laredo {
class Engine;
namespace metrics {
class Registry;
}  // namespace metrics
}  // namespace laredo

namespace laredo::http {

/// Settings of `Server`. The defaults are safe to expose on a host: loopback only, admin off.
struct ServerOptions {
  /// Address to listen on (IPv4 or IPv6 literal). Default "127.0.0.1": local clients only; bind
  /// "0.0.0.0" deliberately, behind a firewall or proxy, to let a remote Prometheus scrape.
  std::string bind_address{"127.0.0.1"};
  /// TCP port. Default 0: the OS picks a free one, which `Server::Port()` tells.
  std::uint16_t port{0};
  /// Connections served at once; further ones are closed as soon as they are accepted. Default 64.
  std::size_t max_connections{64};
  /// Largest request head (request line and headers), and separately largest body, in bytes;
  /// larger requests get 413. Default 16 KiB.
  std::size_t max_request_bytes{16 * 1024};
  /// Time a client has to send one complete request, and how long an idle keep-alive connection
  /// stays open; then the connection is closed (this is what stops slow clients). Default 10 s.
  std::chrono::milliseconds read_timeout{10'000};
  /// Time a client has to take one response. Default 10 s.
  std::chrono::milliseconds write_timeout{10'000};
  /// Threads serving connections. Default 1 (requests are small and quick).
  std::size_t threads{1};
  /// Serves `POST /admin/sources/{id}/pause` and `/resume`. Default false: they answer 403.
  bool admin_enabled{false};
  /// The token admin requests must send as `Authorization: Bearer <token>`; required (non-empty)
  /// when `admin_enabled`. Default empty.
  std::string bearer_token{};
  /// Rendered on `/metrics` (e.g. `PrometheusObserver::GetRegistry()`). Default none: 404.
  std::shared_ptr<const metrics::Registry> metrics{};
};

/// An HTTP/1.1 server for operations: `/metrics` (Prometheus text format), `/health/live`,
/// `/health/ready`, `/status` (JSON) and, when enabled, the admin endpoints. See
/// docs/operations.md.
///
/// Lifecycle (RAII): the constructor validates the options (throwing `laredo::ConfigError`),
/// binds and listens (throwing `laredo::Error` with code `laredo::codes::kHttpListen` when it
/// cannot) and starts serving before it returns; the destructor (or `Stop()`) closes the listener
/// and every connection and joins the threads.
///
/// Threading contract: requests are served on `ServerOptions::threads` std::jthreads of the
/// server's own, which call the engine's thread-safe methods, so construct the server after
/// `Engine::Start()` and destroy it before the engine. `Port()` and `Stop()` are thread-safe;
/// `Stop()` is idempotent and must not be called from the server's threads.
class Server {
 public:
  explicit Server(Engine& engine, ServerOptions options = {});
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  /// The port the server listens on (the chosen one when `ServerOptions::port` was 0).
  [[nodiscard]] std::uint16_t Port() const noexcept;

  /// Stops serving: closes the listener and the connections, joins the threads.
  void Stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace laredo::http
