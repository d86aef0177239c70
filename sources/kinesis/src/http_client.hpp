#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

// A small HTTP/1.1 client interface, so that only one translation unit includes Boost.Beast (it
// costs ~20 s to compile) and so tests can put a fake transport under the AWS clients.
namespace laredo::kinesis::http {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

/// Whether `text` holds a control character (below 0x20, or DEL). Such a byte in a header value
/// would end the header line on the wire and let the rest pose as another header, so nothing
/// that holds one may become a header.
bool HasControlCharacter(std::string_view text);

/// Where requests go: scheme, host and port of an endpoint URL.
struct Endpoint {
  bool tls = true;
  std::string host;
  std::uint16_t port = 443;

  /// "https://kinesis.us-east-1.amazonaws.com", "http://127.0.0.1:4567". A path after the
  /// authority is not supported. Throws `laredo::ConfigError` for anything else, control
  /// characters and spaces included (the host becomes the Host header).
  static Endpoint Parse(std::string_view url);
  /// The Host header value: the host, plus ":port" unless it is the scheme's default.
  [[nodiscard]] std::string HostHeader() const;
  [[nodiscard]] std::string ToString() const;
};

struct Request {
  std::string method = "GET";
  Endpoint endpoint;
  /// Already percent-encoded, starting with '/'.
  std::string path = "/";
  /// Already encoded ("a=1&b=2"), without '?'; empty for none.
  std::string query;
  /// Sent as given; Host, Content-Length and User-Agent are added by the client.
  HeaderList headers;
  std::string body;
};

struct Response {
  unsigned status = 0;
  HeaderList headers;
  /// The body, unless it was handed to a body callback (2xx responses with one given).
  std::string body;

  /// First header named `name` (case-insensitive), or "".
  [[nodiscard]] std::string_view Header(std::string_view name) const;
};

/// Receives a successful response's body piece by piece, as it arrives.
using BodyCallback = std::function<void(std::string_view chunk)>;

struct ClientOptions {
  /// Limit for connecting: TCP and the TLS handshake (name resolution is synchronous, bounded
  /// only by the system resolver). Default 10 s.
  std::chrono::milliseconds connect_timeout{10'000};
  /// Limit for sending the request and for each read of the response. Default 30 s. A
  /// kept-alive connection that times out is not retried on a fresh one.
  std::chrono::milliseconds io_timeout{30'000};
  /// Idle keep-alive connections kept per endpoint. Default 4.
  std::size_t max_idle_per_endpoint = 4;
  /// Verify server certificates (chain and host name). Default on; never turn it off outside
  /// tests.
  bool verify_tls = true;
  /// Extra trusted CA certificates (PEM file), beside the system's trust store. Default: the
  /// AWS_CA_BUNDLE environment variable, as the AWS SDKs read it.
  std::string ca_file;
};

/// Sends requests and returns responses of any status; only transport failures throw.
///
/// Errors: resolving, connecting, TLS, timeouts and connections that break mid-response throw
/// `laredo::RetryableError` (code "http_io"), naming the endpoint; a timeout says "STEP timed out
/// after N ms talking to HOST:PORT". A header name or value with a control character throws
/// `laredo::ConfigError` before anything is sent (the value is not echoed).
/// Threading contract: `Send` may be called from several threads at once; each call uses its own
/// connection (idle ones are pooled and reused per endpoint). A body callback runs on the calling
/// thread and may throw to abandon the response (its connection is then closed).
class Client {
 public:
  virtual ~Client() = default;

  /// When `on_body` is given and the status is 2xx, the body goes through it and
  /// `Response::body` stays empty; otherwise the body is collected in `Response::body`.
  virtual Response Send(const Request& request, const BodyCallback* on_body) = 0;
};

/// The Boost.Beast implementation: plain HTTP and HTTPS (OpenSSL), keep-alive reuse.
std::unique_ptr<Client> MakeBeastClient(const ClientOptions& options = {});

}  // namespace laredo::kinesis::http
