#include "aws_client.hpp"

#include <fmt/format.h>

#include <chrono>

#include "laredo/error.hpp"
#include "laredo/error_codes.hpp"

namespace laredo::kinesis::aws {

void AddCredentialProblems(const AwsCredentials& credentials, std::string_view where,
                           std::vector<std::string>& problems) {
  const auto check = [&](std::string_view value, std::string_view field) {
    // The value itself never goes into the message: it is a secret.
    if (http::HasControlCharacter(value)) {
      problems.push_back(fmt::format("{}: {} contains a control character", where, field));
    }
  };
  check(credentials.access_key_id, "access_key_id");
  check(credentials.secret_access_key, "secret_access_key");
  check(credentials.session_token, "session_token");
}

void AddRegionProblems(std::string_view region, std::string_view where,
                       std::vector<std::string>& problems) {
  if (http::HasControlCharacter(region) || region.find(' ') != std::string_view::npos) {
    problems.push_back(fmt::format("{} must not contain control characters or spaces", where));
  }
}

http::Endpoint ResolveEndpoint(std::string_view override_url, std::string_view service,
                               std::string_view region) {
  if (!override_url.empty()) return http::Endpoint::Parse(override_url);
  return http::Endpoint{
      .tls = true, .host = fmt::format("{}.{}.amazonaws.com", service, region), .port = 443};
}

http::Endpoint ResolveEndpoint(std::string_view override_url, std::string_view service,
                               std::string_view region, std::string_view where,
                               std::vector<std::string>& problems) {
  try {
    return ResolveEndpoint(override_url, service, region);
  } catch (const ConfigError& e) {
    for (const auto& problem : e.problems()) {
      problems.push_back(fmt::format("{}: {}", where, problem));
    }
    return {};
  }
}

SignedClient::SignedClient(ServiceConfig config) : config_(std::move(config)) {}

http::Response SignedClient::Send(std::string_view operation, const SignedRequest& request,
                                  const http::BodyCallback* on_body) {
  if (config_.fault_injector) {
    if (auto injected = config_.fault_injector(operation)) return std::move(*injected);
  }
  sigv4::Request to_sign{.method = request.method,
                         .path = request.path,
                         .query = request.query,
                         .headers = request.headers,
                         .payload_hash = config_.service == "s3" && request.body.empty()
                                             ? std::string(sigv4::kUnsignedPayload)
                                             : sigv4::PayloadHash(request.body)};
  to_sign.headers.emplace_back("host", config_.endpoint.HostHeader());
  const AwsCredentials current =
      config_.credentials_provider ? config_.credentials_provider() : config_.credentials;
  std::vector<std::string> problems;
  AddCredentialProblems(
      current, config_.credentials_provider ? "credentials_provider()" : "credentials", problems);
  if (!problems.empty()) throw ConfigError(std::move(problems));
  const sigv4::Credentials credentials{current.access_key_id, current.secret_access_key,
                                       current.session_token};
  const auto signature = sigv4::Sign(credentials, {config_.region, config_.service}, to_sign,
                                     std::chrono::system_clock::now());
  http::Request wire{.method = request.method,
                     .endpoint = config_.endpoint,
                     .path = request.path,
                     .query = sigv4::CanonicalQueryString(request.query),
                     .headers = request.headers,
                     .body = request.body};
  wire.headers.insert(wire.headers.end(), signature.headers.begin(), signature.headers.end());
  try {
    return config_.http->Send(wire, on_body);
  } catch (const RetryableError& e) {
    // Transport failures get the operation as context; errors thrown by a body callback (a bad
    // line in an object) pass through untouched.
    throw RetryableError(e.code(), fmt::format("{} {}: {}", config_.service, operation, e.what()));
  }
}

bool IsExpiredCredentials(std::string_view code) {
  return code == "ExpiredTokenException" || code == "ExpiredToken" || code == "RequestExpired" ||
         code == "TokenRefreshRequired";
}

void ThrowJsonError(std::string_view service, std::string_view operation,
                    const http::Response& response) {
  std::string type;
  std::string message;
  try {
    const auto doc = nlohmann::json::parse(response.body);
    if (doc.is_object()) {
      type = doc.value("__type", "");
      // Kinesis says "message", some services "Message".
      message = doc.contains("message") ? doc.value("message", "") : doc.value("Message", "");
    }
  } catch (const nlohmann::json::exception&) {
    message = response.body.substr(0, 200);
  }
  // DynamoDB prefixes the type: "com.amazonaws.dynamodb.v20120810#ResourceNotFoundException".
  if (const auto hash = type.rfind('#'); hash != std::string::npos) type.erase(0, hash + 1);
  if (type.empty()) type = std::string(response.Header("x-amzn-ErrorType"));
  if (const auto colon = type.find(':'); colon != std::string::npos) type.erase(colon);

  const std::string text =
      fmt::format("{} {} failed with HTTP {} {}: {}", service, operation, response.status,
                  type.empty() ? "(no error type)" : type, message);
  if (type == "ProvisionedThroughputExceededException" || type == "LimitExceededException" ||
      type == "ThrottlingException" || type == "RequestLimitExceeded" ||
      type == "KMSThrottlingException") {
    throw RetryableError(codes::kThrottled, text);
  }
  if (type == "ExpiredIteratorException") throw RetryableError(codes::kExpiredIterator, text);
  if (IsExpiredCredentials(type)) throw RetryableError(codes::kExpiredCredentials, text);
  if (type == "ResourceNotFoundException") throw FatalError(codes::kNotFound, text);
  if (type == "ConditionalCheckFailedException") {
    throw FatalError(codes::kConditionalCheckFailed, text);
  }
  if (response.status >= 500) throw RetryableError(codes::kServerError, text);
  throw FatalError(codes::kAwsError, text);
}

JsonApi::JsonApi(ServiceConfig config, std::string target_prefix, std::string content_type)
    : client_(std::move(config)),
      target_prefix_(std::move(target_prefix)),
      content_type_(std::move(content_type)) {}

nlohmann::json JsonApi::Call(std::string_view operation, const nlohmann::json& input) {
  const SignedRequest request{
      .method = "POST",
      .path = "/",
      .query = {},
      .headers = {{"content-type", content_type_},
                  {"x-amz-target", fmt::format("{}.{}", target_prefix_, operation)}},
      .body = input.dump()};
  const http::Response response = client_.Send(operation, request, nullptr);
  if (response.status != 200) ThrowJsonError(client_.config().service, operation, response);
  try {
    return response.body.empty() ? nlohmann::json::object() : nlohmann::json::parse(response.body);
  } catch (const nlohmann::json::exception& e) {
    throw RetryableError(codes::kBadResponse,
                         fmt::format("{} {}: response is not JSON: {}", client_.config().service,
                                     operation, e.what()));
  }
}

}  // namespace laredo::kinesis::aws
