// S3Client's multipart upload: create, upload parts, complete (or abort). Used by the snapshot
// store for table files larger than one part.
#include <fmt/format.h>

#include "laredo/error.hpp"
#include "laredo/error_codes.hpp"
#include "s3_client.hpp"
#include "xml_scan.hpp"

namespace laredo::kinesis::aws {

std::string S3Client::CreateMultipartUpload(const std::string& bucket, const std::string& key) {
  const SignedRequest request{
      .method = "POST", .path = ObjectPath(bucket, key), .query = {{"uploads", ""}}};
  const auto response = client_.Send("CreateMultipartUpload", request, nullptr);
  const std::string what = fmt::format("s3://{}/{}", bucket, key);
  if (response.status / 100 != 2) Fail("CreateMultipartUpload", what, response);
  auto upload_id = xml::FirstElementText(response.body, "UploadId");
  if (!upload_id || upload_id->empty()) {
    throw RetryableError(codes::kBadResponse,
                         "s3 CreateMultipartUpload " + what + ": no UploadId in the answer");
  }
  return *upload_id;
}

std::string S3Client::UploadPart(const std::string& bucket, const std::string& key,
                                 const std::string& upload_id, int part_number, std::string body) {
  const SignedRequest request{
      .method = "PUT",
      .path = ObjectPath(bucket, key),
      .query = {{"partNumber", std::to_string(part_number)}, {"uploadId", upload_id}},
      .headers = {},
      .body = std::move(body)};
  const auto response = client_.Send("UploadPart", request, nullptr);
  const std::string what = fmt::format("s3://{}/{} part {}", bucket, key, part_number);
  if (response.status / 100 != 2) Fail("UploadPart", what, response);
  const std::string_view etag = response.Header("ETag");
  if (etag.empty()) {
    throw RetryableError(codes::kBadResponse, "s3 UploadPart " + what + ": no ETag in the answer");
  }
  return std::string(etag);
}

void S3Client::CompleteMultipartUpload(const std::string& bucket, const std::string& key,
                                       const std::string& upload_id,
                                       const std::vector<std::string>& etags) {
  std::string body = "<CompleteMultipartUpload>";
  for (std::size_t i = 0; i < etags.size(); ++i) {
    // ETags are quoted hex digests: nothing in them needs escaping but the quotes, which XML
    // text may hold as they are.
    body += fmt::format("<Part><PartNumber>{}</PartNumber><ETag>{}</ETag></Part>", i + 1, etags[i]);
  }
  body += "</CompleteMultipartUpload>";
  const SignedRequest request{.method = "POST",
                              .path = ObjectPath(bucket, key),
                              .query = {{"uploadId", upload_id}},
                              .headers = {{"Content-Type", "application/xml"}},
                              .body = std::move(body)};
  const auto response = client_.Send("CompleteMultipartUpload", request, nullptr);
  const std::string what = fmt::format("s3://{}/{}", bucket, key);
  if (response.status / 100 != 2) Fail("CompleteMultipartUpload", what, response);
  // S3 may answer 200 and report a failure in the body (it found a problem after it started
  // answering).
  if (xml::FirstElementText(response.body, "Code").has_value()) {
    Fail("CompleteMultipartUpload", what, response);
  }
}

void S3Client::AbortMultipartUpload(const std::string& bucket, const std::string& key,
                                    const std::string& upload_id) {
  const SignedRequest request{
      .method = "DELETE", .path = ObjectPath(bucket, key), .query = {{"uploadId", upload_id}}};
  const auto response = client_.Send("AbortMultipartUpload", request, nullptr);
  if (response.status / 100 != 2 && response.status != 404) {
    Fail("AbortMultipartUpload", fmt::format("s3://{}/{}", bucket, key), response);
  }
}

}  // namespace laredo::kinesis::aws
