#pragma once

// What each endpoint answers, apart from the network: a request's method, target and
// Authorization header in, a response out. The Beast server (server.cpp) only moves bytes.

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "laredo/http/server.hpp"

namespace laredo::http::detail {

struct Request {
  std::string_view method;
  std::string_view target;  // path and query, as sent
  std::optional<std::string_view> authorization;
};

struct Response {
  unsigned status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

/// A plain-text response; `body` gets a final newline.
Response Text(unsigned status, std::string body);

/// Threading contract: `Handle` is const and thread-safe (the engine's methods are).
class Router {
 public:
  Router(Engine& engine, const ServerOptions& options);
  [[nodiscard]] Response Handle(const Request& request) const;

 private:
  [[nodiscard]] Response Admin(const Request& request, std::string_view path) const;
  /// The refusal of an admin request (method, admin off, token), or nullopt when allowed.
  [[nodiscard]] std::optional<Response> Authorize(const Request& request) const;
  /// POST /admin/snapshot: `Engine::CreateSnapshot`, its metadata as JSON.
  [[nodiscard]] Response CreateSnapshot() const;
  Engine& engine_;
  const ServerOptions& options_;
};

/// Compares in time that depends on the lengths only, not on where the texts differ.
bool ConstantTimeEquals(std::string_view a, std::string_view b) noexcept;

/// `%XX` escapes decoded; nullopt when one is malformed.
std::optional<std::string> PercentDecode(std::string_view text);

/// The /status document.
std::string StatusJson(Engine& engine);

}  // namespace laredo::http::detail
