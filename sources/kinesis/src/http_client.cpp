#include "http_client.hpp"

#include <fmt/format.h>
#include <strings.h>

#include <algorithm>
#include <charconv>

#include "laredo/error.hpp"

namespace laredo::kinesis::http {

bool HasControlCharacter(std::string_view text) {
  return std::any_of(text.begin(), text.end(), [](char c) {
    const auto byte = static_cast<unsigned char>(c);
    return byte < 0x20 || byte == 0x7f;
  });
}

Endpoint Endpoint::Parse(std::string_view url) {
  // Not echoed: a control character would reach the log as well.
  if (HasControlCharacter(url)) throw ConfigError({"endpoint URL contains a control character"});
  const auto bad = [&](std::string_view why) {
    return ConfigError({fmt::format("endpoint '{}': {}", url, why)});
  };
  Endpoint endpoint;
  std::string_view rest = url;
  if (rest.starts_with("https://")) {
    rest.remove_prefix(8);
  } else if (rest.starts_with("http://")) {
    endpoint.tls = false;
    endpoint.port = 80;
    rest.remove_prefix(7);
  } else {
    throw bad("must start with http:// or https://");
  }
  if (rest.ends_with('/')) rest.remove_suffix(1);
  if (rest.find('/') != std::string_view::npos) throw bad("a path is not supported");
  std::string_view host = rest;
  // A port follows the last ':' unless that ':' is inside an IPv6 literal "[...]".
  const std::size_t colon = rest.rfind(':');
  if (colon != std::string_view::npos && rest.find(']', colon) == std::string_view::npos) {
    host = rest.substr(0, colon);
    const std::string_view digits = rest.substr(colon + 1);
    unsigned port = 0;
    const auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
    if (ec != std::errc() || ptr != digits.data() + digits.size() || port == 0 || port > 65535) {
      throw bad("bad port");
    }
    endpoint.port = static_cast<std::uint16_t>(port);
  }
  if (host.starts_with('[') && host.ends_with(']')) host = host.substr(1, host.size() - 2);
  if (host.empty()) throw bad("no host");
  if (host.find(' ') != std::string_view::npos) throw bad("the host contains a space");
  endpoint.host = std::string(host);
  return endpoint;
}

std::string Endpoint::HostHeader() const {
  const bool default_port = port == (tls ? 443 : 80);
  const bool v6 = host.find(':') != std::string::npos;
  const std::string h = v6 ? "[" + host + "]" : host;
  return default_port ? h : fmt::format("{}:{}", h, port);
}

std::string Endpoint::ToString() const {
  return fmt::format("{}://{}", tls ? "https" : "http", HostHeader());
}

std::string_view Response::Header(std::string_view name) const {
  for (const auto& [n, v] : headers) {
    if (n.size() == name.size() && ::strncasecmp(n.data(), name.data(), n.size()) == 0) return v;
  }
  return {};
}

}  // namespace laredo::kinesis::http
