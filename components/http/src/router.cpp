#include "router.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>

#include "laredo/engine.hpp"
#include "laredo/error.hpp"
#include "laredo/error_codes.hpp"
#include "laredo/metrics/registry.hpp"

namespace laredo::http::detail {
namespace {

constexpr std::string_view kAdminPrefix = "/admin/";
constexpr std::string_view kAdminSources = "/admin/sources/";
constexpr std::string_view kAdminSnapshot = "/admin/snapshot";
constexpr std::string_view kReadyPrefix = "/health/ready/";  // + a percent-encoded pipeline id

Response MethodNotAllowed(std::string_view allow) {
  auto response = Text(405, "method not allowed; use " + std::string(allow));
  response.headers.emplace_back("Allow", std::string(allow));
  return response;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

}  // namespace

Response Text(unsigned status, std::string body) {
  Response response;
  response.status = status;
  response.body = std::move(body);
  response.body += '\n';
  return response;
}

Router::Router(Engine& engine, const ServerOptions& options) : engine_(engine), options_(options) {}

Response Router::Handle(const Request& request) const {
  if (request.target.empty() || request.target[0] != '/') {
    return Text(400, "the request target must be an absolute path");
  }
  const auto path = request.target.substr(0, request.target.find('?'));
  if (path.rfind(kAdminPrefix, 0) == 0) return Admin(request, path);
  if (path.rfind(kReadyPrefix, 0) == 0 && path.size() > kReadyPrefix.size()) {
    if (request.method != "GET") return MethodNotAllowed("GET");
    const auto id = PercentDecode(path.substr(kReadyPrefix.size()));
    if (!id) return Text(400, "malformed percent-encoding in the pipeline id");
    try {
      const std::vector<std::string> ids{*id};
      if (engine_.AwaitReady(ids, std::chrono::milliseconds(0))) return Text(200, "ready");
      const auto reason = engine_.NotReadyReason(ids);
      return Text(503, reason.empty() ? "not ready" : reason);
    } catch (const ConfigError&) {
      return Text(404, "no such pipeline");
    }
  }
  const bool known =
      path == "/metrics" || path == "/health/live" || path == "/health/ready" || path == "/status";
  if (!known) return Text(404, "not found");
  if (request.method != "GET") return MethodNotAllowed("GET");

  if (path == "/metrics") {
    if (!options_.metrics) return Text(404, "no metrics registry configured");
    Response response;
    response.content_type = metrics::kTextFormatContentType;
    options_.metrics->RenderTo(response.body);
    return response;
  }
  if (path == "/health/live") return Text(200, "live");
  if (path == "/health/ready") {
    // A zero timeout: readiness probes must not block a serving thread.
    if (engine_.AwaitReady(std::chrono::milliseconds(0))) return Text(200, "ready");
    const auto reason = engine_.NotReadyReason();
    return Text(503, reason.empty() ? "not ready" : reason);
  }
  Response response;
  response.content_type = "application/json";
  response.body = StatusJson(engine_);
  return response;
}

std::optional<Response> Router::Authorize(const Request& request) const {
  if (request.method != "POST") return MethodNotAllowed("POST");
  if (!options_.admin_enabled) return Text(403, "admin endpoints are disabled");
  constexpr std::string_view kScheme = "Bearer ";
  if (!request.authorization || request.authorization->size() < kScheme.size() ||
      !EqualsIgnoreCase(request.authorization->substr(0, kScheme.size()), kScheme)) {
    auto response = Text(401, "admin endpoints need Authorization: Bearer <token>");
    response.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"laredo\"");
    return response;
  }
  if (!ConstantTimeEquals(request.authorization->substr(kScheme.size()), options_.bearer_token)) {
    return Text(403, "wrong token");
  }
  return std::nullopt;
}

Response Router::Admin(const Request& request, std::string_view path) const {
  if (path == kAdminSnapshot) {
    if (auto refused = Authorize(request)) return *refused;
    return CreateSnapshot();
  }
  // "/admin/sources/{id}/{action}": the id is percent-decoded, so ids with '/' can be addressed.
  if (!path.starts_with(kAdminSources)) return Text(404, "not found");
  const auto rest = path.substr(kAdminSources.size());
  const auto slash = rest.rfind('/');
  if (slash == std::string_view::npos || slash == 0) return Text(404, "not found");
  const auto action = rest.substr(slash + 1);
  if (action != "pause" && action != "resume" && action != "rebaseline" && action != "reset" &&
      action != "reload") {
    return Text(404, "not found");
  }
  const auto source_id = PercentDecode(rest.substr(0, slash));
  if (!source_id) return Text(400, "malformed percent-encoding in the source id");
  if (auto refused = Authorize(request)) return *refused;
  const auto sources = engine_.Sources();
  if (std::none_of(sources.begin(), sources.end(),
                   [&](const SourceStatus& s) { return s.id == *source_id; })) {
    return Text(404, "unknown source " + *source_id);
  }
  try {
    if (action == "pause") {
      engine_.Pause(*source_id);
      return Text(200, "paused source " + *source_id);
    }
    if (action == "resume") {
      engine_.Resume(*source_id);
      return Text(200, "resumed source " + *source_id);
    }
    if (action == "rebaseline") {
      engine_.Rebaseline(*source_id, "requested through the admin endpoint");
      return Text(202, "re-baselining source " + *source_id);
    }
    const auto query_at = request.target.find('?');
    const auto query = query_at == std::string_view::npos ? std::string_view()
                                                          : request.target.substr(query_at + 1);
    if (action == "reload") {
      // "table=schema.name", percent-encoded; the first '.' ends the schema.
      constexpr std::string_view kTable = "table=";
      const auto name = query.starts_with(kTable) ? PercentDecode(query.substr(kTable.size()))
                                                  : std::optional<std::string>();
      const auto dot = name ? name->find('.') : std::string::npos;
      if (!name || dot == std::string::npos || dot == 0 || dot + 1 == name->size() ||
          name->find('&') != std::string::npos) {
        return Text(400, "reload needs exactly one parameter: table=<schema>.<table>");
      }
      const auto table = Table(name->substr(0, dot), name->substr(dot + 1));
      engine_.ReloadTable(*source_id, table);
      return Text(202, "reloading " + table.ToString() + " of source " + *source_id);
    }
    if (!query.empty() && query != "drop_publication=true" && query != "drop_publication=false") {
      return Text(400, "the only parameter of reset is drop_publication=true|false");
    }
    engine_.ResetSource(*source_id, query == "drop_publication=true");
    return Text(202, "reset source " + *source_id + "; re-baselining");
  } catch (const ConfigError& e) {
    return Text(409, e.what());  // e.g. a source that cannot be reset
  } catch (const std::exception& e) {
    return Text(500, e.what());
  }
}

Response Router::CreateSnapshot() const {
  try {
    const auto metadata = engine_.CreateSnapshot();
    Response response;
    response.content_type = "application/json";
    response.body = metadata.ToJson();  // the snapshot's metadata document
    return response;
  } catch (const Error& e) {
    // Not ready (a baseline, a pause, snapshots off) is the caller's to retry later: 409.
    return Text(e.code() == codes::kSnapshotNotReady ? 409 : 500, e.what());
  }
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) noexcept {
  // Every byte of the longer text is compared: the time depends on the lengths, not the content.
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  const auto n = std::max(a.size(), b.size());
  for (std::size_t i = 0; i < n; ++i) {
    const auto x = static_cast<unsigned char>(i < a.size() ? a[i] : 0);
    const auto y = static_cast<unsigned char>(i < b.size() ? b[i] : 0);
    diff = static_cast<unsigned char>(diff | (x ^ y));
  }
  return diff == 0;
}

std::optional<std::string> PercentDecode(std::string_view text) {
  const auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out += text[i];
      continue;
    }
    if (i + 2 >= text.size() || hex(text[i + 1]) < 0 || hex(text[i + 2]) < 0) {
      return std::nullopt;
    }
    out += static_cast<char>(hex(text[i + 1]) * 16 + hex(text[i + 2]));
    i += 2;
  }
  return out;
}

}  // namespace laredo::http::detail
