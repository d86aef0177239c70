#pragma once

#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "http_client.hpp"
#include "laredo/kinesis/aws_credentials.hpp"
#include "sigv4.hpp"

// Signed requests to one AWS service endpoint, and the JSON protocol that Kinesis and DynamoDB
// share. Private to laredo::kinesis.
namespace laredo::kinesis::aws {

/// Lets a test answer a request in place of the server (throttling, expired iterators). Called
/// with the operation ("GetRecords", "GetObject"); returning a response skips the network.
using FaultInjector = std::function<std::optional<http::Response>(std::string_view operation)>;

/// Everything needed to reach one service.
struct ServiceConfig {
  std::shared_ptr<http::Client> http;
  AwsCredentials credentials;
  /// When set, asked before every request instead of using `credentials`.
  AwsCredentialsProvider credentials_provider;
  std::string region;
  std::string service;  // signing name: "kinesis", "s3", "dynamodb"
  http::Endpoint endpoint;
  FaultInjector fault_injector;
};

/// Appends what keeps `credentials` out of a request header (see `http::HasControlCharacter`) to
/// `problems`, one problem per field ("`where`: secret_access_key contains a control
/// character"). Names fields, never their values.
void AddCredentialProblems(const AwsCredentials& credentials, std::string_view where,
                           std::vector<std::string>& problems);

/// Appends what keeps `region` out of the credential scope and the default host names (control
/// characters, spaces) to `problems`; `where` names the setting.
void AddRegionProblems(std::string_view region, std::string_view where,
                       std::vector<std::string>& problems);

/// The default endpoint of `service` in `region`, or `override_url` when it is not empty.
http::Endpoint ResolveEndpoint(std::string_view override_url, std::string_view service,
                               std::string_view region);

/// `ResolveEndpoint`, but a bad `override_url` is appended to `problems` ("`where`: why") instead
/// of thrown, so that it does not hide the next setting's problems. Returns an empty endpoint then.
http::Endpoint ResolveEndpoint(std::string_view override_url, std::string_view service,
                               std::string_view region, std::string_view where,
                               std::vector<std::string>& problems);

/// A request before signing: the endpoint comes from the service, the query is encoded by
/// the signer.
struct SignedRequest {
  std::string method;
  /// Already percent-encoded (`sigv4::EncodePath`).
  std::string path = "/";
  /// Decoded query parameters.
  sigv4::HeaderList query;
  http::HeaderList headers;
  std::string body;
};

/// Signs and sends. Thread-safe (the HTTP client is; the rest is immutable).
class SignedClient {
 public:
  explicit SignedClient(ServiceConfig config);

  /// Signs `request` for this service and sends it to the service's endpoint. S3 requests
  /// without a body send UNSIGNED-PAYLOAD, every other the body's hash. Credentials that cannot go
  /// into a header (a provider returned a control character) throw `laredo::ConfigError` before
  /// anything is sent.
  http::Response Send(std::string_view operation, const SignedRequest& request,
                      const http::BodyCallback* on_body);

  [[nodiscard]] const ServiceConfig& config() const noexcept { return config_; }

 private:
  ServiceConfig config_;
};

/// Throws the error an AWS JSON-protocol failure means. Codes:
///  - "throttled" (RetryableError): ProvisionedThroughputExceeded, LimitExceeded, Throttling,
///    RequestLimitExceeded, KMSThrottling, and HTTP 5xx ("server_error");
///  - "expired_iterator" (RetryableError): ExpiredIteratorException;
///  - "expired_credentials" (RetryableError): ExpiredTokenException and the like (temporary
///    credentials ran out; a credentials provider renews them for the next attempt);
///  - "not_found" (FatalError): ResourceNotFoundException;
///  - "conditional_check_failed" (FatalError): DynamoDB's failed ConditionExpression;
///  - "aws_error" (FatalError): any other client error.
/// An AWS error code saying that temporary credentials expired (JSON and XML services alike).
bool IsExpiredCredentials(std::string_view code);

[[noreturn]] void ThrowJsonError(std::string_view service, std::string_view operation,
                                 const http::Response& response);

/// The JSON protocol: POST / with X-Amz-Target "<prefix>.<Operation>".
class JsonApi {
 public:
  /// `target_prefix` "Kinesis_20131202" / "DynamoDB_20120810"; `content_type`
  /// "application/x-amz-json-1.1" / "application/x-amz-json-1.0".
  JsonApi(ServiceConfig config, std::string target_prefix, std::string content_type);

  /// Calls `operation` and returns the response document; failures throw (`ThrowJsonError`).
  nlohmann::json Call(std::string_view operation, const nlohmann::json& input);

 private:
  SignedClient client_;
  std::string target_prefix_;
  std::string content_type_;
};

}  // namespace laredo::kinesis::aws
