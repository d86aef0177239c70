#pragma once

#include <cstdint>
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

/// "/bucket/key", percent-encoded for the request line.
std::string ObjectPath(const std::string& bucket, const std::string& key);

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

  /// Bytes `first` to `last` (inclusive) of the object; fewer at its end, "" when `first` is past
  /// it.
  std::string GetObjectRange(const std::string& bucket, const std::string& key, std::uint64_t first,
                             std::uint64_t last);

  void CreateBucket(const std::string& bucket);
  void PutObject(const std::string& bucket, const std::string& key, const std::string& body);
  /// Succeeds for a key that does not exist (as S3 does).
  void DeleteObject(const std::string& bucket, const std::string& key);

  // Multipart upload (s3_multipart.cpp), for objects too large for one request: every part but
  // the last must be at least 5 MiB (S3 refuses smaller ones at completion).
  /// Returns the upload id.
  std::string CreateMultipartUpload(const std::string& bucket, const std::string& key);
  /// Part numbers count from 1; returns the part's ETag for `CompleteMultipartUpload`.
  std::string UploadPart(const std::string& bucket, const std::string& key,
                         const std::string& upload_id, int part_number, std::string body);
  /// Assembles the parts (their ETags in part order) into the object.
  void CompleteMultipartUpload(const std::string& bucket, const std::string& key,
                               const std::string& upload_id, const std::vector<std::string>& etags);
  /// Discards the parts uploaded so far.
  void AbortMultipartUpload(const std::string& bucket, const std::string& key,
                            const std::string& upload_id);

 private:
  [[noreturn]] void Fail(std::string_view operation, const std::string& what,
                         const http::Response& response);

  SignedClient client_;
};

}  // namespace laredo::kinesis::aws
