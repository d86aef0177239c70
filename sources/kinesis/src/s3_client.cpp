#include "s3_client.hpp"

#include <fmt/format.h>

#include "laredo/error.hpp"
#include "laredo/error_codes.hpp"
#include "xml_scan.hpp"

namespace laredo::kinesis::aws {
namespace {}  // namespace

std::string ObjectPath(const std::string& bucket, const std::string& key) {
  return sigv4::EncodePath("/" + bucket + "/" + key);
}

S3Client::S3Client(ServiceConfig config) : client_(std::move(config)) {}

void S3Client::Fail(std::string_view operation, const std::string& what,
                    const http::Response& response) {
  const std::string code = xml::FirstElementText(response.body, "Code").value_or("");
  const std::string message = xml::FirstElementText(response.body, "Message").value_or("");
  const std::string text = fmt::format("s3 {} {} failed with HTTP {} {}: {}", operation, what,
                                       response.status, code.empty() ? "(no code)" : code, message);
  if (response.status == 404 || code == "NoSuchKey" || code == "NoSuchBucket") {
    throw FatalError(codes::kNotFound, text);
  }
  if (response.status == 503 || code == "SlowDown") throw RetryableError(codes::kThrottled, text);
  if (IsExpiredCredentials(code)) throw RetryableError(codes::kExpiredCredentials, text);
  if (response.status >= 500) throw RetryableError(codes::kServerError, text);
  throw FatalError(codes::kAwsError, text);
}

void S3Client::GetObject(const std::string& bucket, const std::string& key,
                         const http::BodyCallback& on_chunk) {
  const SignedRequest request{.method = "GET", .path = ObjectPath(bucket, key)};
  const auto response = client_.Send("GetObject", request, &on_chunk);
  if (response.status / 100 != 2)
    Fail("GetObject", fmt::format("s3://{}/{}", bucket, key), response);
}

std::string S3Client::GetObjectText(const std::string& bucket, const std::string& key) {
  std::string text;
  GetObject(bucket, key, [&](std::string_view chunk) { text.append(chunk); });
  return text;
}

std::string S3Client::GetObjectRange(const std::string& bucket, const std::string& key,
                                     std::uint64_t first, std::uint64_t last) {
  const SignedRequest request{.method = "GET",
                              .path = ObjectPath(bucket, key),
                              .query = {},
                              .headers = {{"Range", fmt::format("bytes={}-{}", first, last)}},
                              .body = {}};
  const auto response = client_.Send("GetObject", request, nullptr);
  if (response.status == 416) return {};  // the range starts past the end
  if (response.status / 100 != 2) {
    Fail("GetObject", fmt::format("s3://{}/{} bytes {}-{}", bucket, key, first, last), response);
  }
  // A server that ignores the range answers 200 with the whole object.
  if (response.status == 200 && first > 0) {
    if (first >= response.body.size()) return {};
    return response.body.substr(first, last - first + 1);
  }
  return response.body;
}

ListPage S3Client::ListObjects(const std::string& bucket, const std::string& prefix,
                               const std::string& continuation_token, int max_keys) {
  SignedRequest request{.method = "GET",
                        .path = sigv4::EncodePath("/" + bucket),
                        .query = {{"list-type", "2"}, {"prefix", prefix}}};
  if (!continuation_token.empty()) {
    request.query.emplace_back("continuation-token", continuation_token);
  }
  if (max_keys > 0) request.query.emplace_back("max-keys", std::to_string(max_keys));
  const auto response = client_.Send("ListObjectsV2", request, nullptr);
  if (response.status != 200) {
    Fail("ListObjectsV2", fmt::format("s3://{}/{}", bucket, prefix), response);
  }
  ListPage page;
  // Only <Contents> elements hold <Key>; common prefixes use <Prefix>.
  page.keys = xml::ElementTexts(response.body, "Key");
  page.truncated = xml::FirstElementText(response.body, "IsTruncated").value_or("") == "true";
  page.next_continuation_token =
      xml::FirstElementText(response.body, "NextContinuationToken").value_or("");
  if (page.truncated && page.next_continuation_token.empty()) {
    throw RetryableError(codes::kBadResponse,
                         "s3 ListObjectsV2: truncated listing without NextContinuationToken");
  }
  return page;
}

std::vector<std::string> S3Client::ListAllObjects(const std::string& bucket,
                                                  const std::string& prefix, int page_size) {
  std::vector<std::string> keys;
  std::string token;
  do {
    ListPage page = ListObjects(bucket, prefix, token, page_size);
    keys.insert(keys.end(), std::make_move_iterator(page.keys.begin()),
                std::make_move_iterator(page.keys.end()));
    token = page.truncated ? page.next_continuation_token : std::string();
  } while (!token.empty());
  return keys;
}

void S3Client::CreateBucket(const std::string& bucket) {
  const SignedRequest request{.method = "PUT", .path = sigv4::EncodePath("/" + bucket)};
  const auto response = client_.Send("CreateBucket", request, nullptr);
  if (response.status / 100 != 2) Fail("CreateBucket", bucket, response);
}

void S3Client::PutObject(const std::string& bucket, const std::string& key,
                         const std::string& body) {
  const SignedRequest request{
      .method = "PUT", .path = ObjectPath(bucket, key), .query = {}, .headers = {}, .body = body};
  const auto response = client_.Send("PutObject", request, nullptr);
  if (response.status / 100 != 2)
    Fail("PutObject", fmt::format("s3://{}/{}", bucket, key), response);
}

void S3Client::DeleteObject(const std::string& bucket, const std::string& key) {
  const SignedRequest request{.method = "DELETE", .path = ObjectPath(bucket, key)};
  const auto response = client_.Send("DeleteObject", request, nullptr);
  if (response.status / 100 != 2 && response.status != 404) {
    Fail("DeleteObject", fmt::format("s3://{}/{}", bucket, key), response);
  }
}

}  // namespace laredo::kinesis::aws
