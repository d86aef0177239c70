#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "crypto.hpp"

// AWS Signature Version 4 for the Authorization header (not presigned URLs). Pure functions of
// their inputs: the caller passes the clock, so tests can reproduce AWS's published examples.
namespace laredo::kinesis::sigv4 {

/// Long-term (access key + secret) or temporary (plus session token) credentials.
struct Credentials {
  std::string access_key_id;
  std::string secret_access_key;
  /// Set for temporary credentials (STS, instance roles); then sent as x-amz-security-token.
  std::string session_token;
};

/// Where the request goes: the credential scope.
struct Scope {
  std::string region;   // "us-east-1"
  std::string service;  // "kinesis", "s3"
};

using HeaderList = std::vector<std::pair<std::string, std::string>>;

/// Payload hash that tells S3 the body is not signed (TLS already protects it).
inline constexpr std::string_view kUnsignedPayload = "UNSIGNED-PAYLOAD";

/// The request as it will be sent.
struct Request {
  std::string method;  // "GET", "POST", ...
  /// The path exactly as it goes on the request line, already percent-encoded (build it with
  /// `EncodePath` from a raw object key). Empty means "/". Dot segments are not normalized.
  std::string path = "/";
  /// Decoded query parameters; order does not matter. Send them as `CanonicalQueryString(query)`.
  HeaderList query;
  /// Every header to sign, any case, including Host. Must not contain the headers the signer adds
  /// (authorization, x-amz-date, x-amz-security-token, x-amz-content-sha256).
  HeaderList headers;
  /// Lower-case hex SHA-256 of the body (`PayloadHash`), or `kUnsignedPayload`.
  std::string payload_hash;
};

/// What to add to the request, plus the intermediate strings for tests and debugging (they hold
/// no secret).
struct Signature {
  /// Headers to add, lower-case names: x-amz-date, x-amz-content-sha256 (S3 only),
  /// x-amz-security-token (temporary credentials only) and authorization, in that order.
  HeaderList headers;
  std::string authorization;
  std::string canonical_request;
  std::string string_to_sign;
  std::string signed_headers;
  std::string signature;
};

/// Signs `request` at time `now`. Throws std::invalid_argument for a request it cannot sign
/// (no Host header, a signer-owned header given, a malformed payload hash).
Signature Sign(const Credentials& credentials, const Scope& scope, const Request& request,
               std::chrono::system_clock::time_point now);

/// Hex SHA-256 of a body, for `Request::payload_hash`.
std::string PayloadHash(std::string_view body);

/// "20150830T123600Z".
std::string FormatAmzDate(std::chrono::system_clock::time_point now);

/// kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request").
crypto::Digest DeriveSigningKey(std::string_view secret_access_key, std::string_view date_yyyymmdd,
                                std::string_view region, std::string_view service);

/// RFC 3986 percent-encoding as SigV4 defines it: A-Z a-z 0-9 - . _ ~ stay, every other byte
/// becomes %XX (upper-case hex); '/' stays only when `keep_slash`.
std::string UriEncode(std::string_view bytes, bool keep_slash);

/// Wire form of a raw path such as "/bucket/schema.table/part 1.jsonl": UriEncode keeping '/'.
inline std::string EncodePath(std::string_view raw_path) { return UriEncode(raw_path, true); }

/// The canonical URI of a wire path. S3 signs the path encoded once (the wire form, normalized);
/// every other service encodes the wire form a second time.
std::string CanonicalUri(std::string_view wire_path, std::string_view service);

/// Parameters encoded, sorted by name then value, joined with '&'. Also a valid wire query.
std::string CanonicalQueryString(const HeaderList& query);

}  // namespace laredo::kinesis::sigv4
