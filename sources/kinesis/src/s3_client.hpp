#pragma once

#include <optional>
#include <string>
#include <vector>

#include "aws_client.hpp"

// The S3 operations the baseline needs (path-style addressing: /bucket/key), plus the few the
// tests use to publish a snapshot.
namespace laredo::kinesis::aws {

struct ListPage {
  std::vector<std::string> keys;
  bool truncated = false;
  std::string next_continuation_token;
};

/// Thread-safe: every call is one independent request.
class S3Client {
 public:
  explicit S3Client(ServiceConfig config);

  /// Streams the object's bytes to `on_chunk` as they arrive. Throws FatalError "not_found" for a
  /// missing bucket or key, RetryableError for transport failures and 5xx.
  void GetObject(const std::string& bucket, const std::string& key,
                 const http::BodyCallback& on_chunk);
  /// The whole object; for small ones such as the manifest.
  std::string GetObjectText(const std::string& bucket, const std::string& key);

  /// One ListObjectsV2 page. `max_keys` 0 leaves the server's default (1000).
  ListPage ListObjects(const std::string& bucket, const std::string& prefix,
                       const std::string& continuation_token, int max_keys);
  /// Every key under `prefix`, in key order, following every page.
  std::vector<std::string> ListAllObjects(const std::string& bucket, const std::string& prefix,
                                          int page_size);

  void CreateBucket(const std::string& bucket);
  void PutObject(const std::string& bucket, const std::string& key, const std::string& body);

 private:
  [[noreturn]] void Fail(std::string_view operation, const std::string& what,
                         const http::Response& response);

  SignedClient client_;
};

}  // namespace laredo::kinesis::aws
