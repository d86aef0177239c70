// The small protocol pieces under the AWS clients: endpoint URLs, base64, the XML scanner, and
// how AWS error responses map onto laredo's error types.
#include <gtest/gtest.h>

#include <memory>
#include <mutex>
#include <vector>

#include "aws_client.hpp"
#include "base64.hpp"
#include "http_client.hpp"
#include "laredo/error.hpp"
#include "xml_scan.hpp"

namespace laredo::kinesis {
namespace {

TEST(EndpointTest, ParsesSchemesHostsAndPorts) {
  const auto plain = http::Endpoint::Parse("http://127.0.0.1:4567");
  EXPECT_FALSE(plain.tls);
  EXPECT_EQ(plain.host, "127.0.0.1");
  EXPECT_EQ(plain.port, 4567);
  EXPECT_EQ(plain.HostHeader(), "127.0.0.1:4567");

  const auto tls = http::Endpoint::Parse("https://kinesis.us-east-1.amazonaws.com/");
  EXPECT_TRUE(tls.tls);
  EXPECT_EQ(tls.port, 443);
  EXPECT_EQ(tls.HostHeader(), "kinesis.us-east-1.amazonaws.com");

  const auto v6 = http::Endpoint::Parse("http://[::1]:9000");
  EXPECT_EQ(v6.host, "::1");
  EXPECT_EQ(v6.HostHeader(), "[::1]:9000");
}

TEST(EndpointTest, RejectsWhatItCannotUse) {
  EXPECT_THROW(http::Endpoint::Parse("ftp://host"), ConfigError);
  EXPECT_THROW(http::Endpoint::Parse("http://host:0"), ConfigError);
  EXPECT_THROW(http::Endpoint::Parse("http://host:99999"), ConfigError);
  EXPECT_THROW(http::Endpoint::Parse("http://host/path"), ConfigError);
  EXPECT_THROW(http::Endpoint::Parse("http://"), ConfigError);
  // The host becomes the Host header: a CR/LF in it would add a header line.
  EXPECT_THROW(http::Endpoint::Parse("http://evil\r\nX-Injected:1"), ConfigError);
  EXPECT_THROW(http::Endpoint::Parse("http://a b:80"), ConfigError);
}

TEST(Base64Test, RoundTripsEveryLength) {
  std::string bytes;
  for (int i = 0; i < 40; ++i) {
    EXPECT_EQ(base64::Decode(base64::Encode(bytes)), bytes) << i;
    bytes += static_cast<char>(i * 37);
  }
  EXPECT_EQ(base64::Encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(base64::Encode("fo"), "Zm8=");
  EXPECT_EQ(base64::Decode("Zm8"), "fo");
  EXPECT_THROW(base64::Decode("Zm9v!mFy"), DataError);
  EXPECT_THROW(base64::Decode("Z"), DataError);
  EXPECT_EQ(base64::Decode("Zm8="), "fo");
  EXPECT_THROW(base64::Decode("Zm8=="), DataError);  // padding past the group
  EXPECT_THROW(base64::Decode("Zg=\x3d\x3d"), DataError);
}

TEST(XmlScanTest, FindsElementsWhateverTheirNamespace) {
  const std::string doc = R"(<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <IsTruncated>true</IsTruncated>
  <Contents><Key>a/part-0.jsonl</Key><Size>10</Size></Contents>
  <s3:Contents><s3:Key>a/b&amp;c &#x263A;.jsonl</s3:Key></s3:Contents>
  <CommonPrefixes><Prefix>a/</Prefix></CommonPrefixes>
  <NextContinuationToken>tok+/=</NextContinuationToken>
  <Empty/>
</ListBucketResult>)";
  EXPECT_EQ(xml::ElementTexts(doc, "Key"),
            (std::vector<std::string>{"a/part-0.jsonl", "a/b&c \xE2\x98\xBA.jsonl"}));
  EXPECT_EQ(xml::FirstElementText(doc, "IsTruncated"), "true");
  EXPECT_EQ(xml::FirstElementText(doc, "NextContinuationToken"), "tok+/=");
  EXPECT_EQ(xml::FirstElementText(doc, "Missing"), std::nullopt);
  EXPECT_EQ(xml::FirstElementText(doc, "Empty"), std::nullopt);
}

TEST(XmlScanTest, LeavesUnknownEntitiesAlone) {
  EXPECT_EQ(xml::Unescape("a &lt;b&gt; &quot;&apos; &bogus; &#65;&#x42; &"),
            "a <b> \"' &bogus; AB &");
}

template <class E>
E Thrown(const http::Response& response) {
  try {
    aws::ThrowJsonError("kinesis", "GetRecords", response);
  } catch (const E& e) {
    return e;
  }
  throw std::logic_error("did not throw the expected type");
}

http::Response JsonError(unsigned status, const std::string& type) {
  return {.status = status,
          .headers = {},
          .body = R"({"__type":")" + type + R"(","message":"details here"})"};
}

TEST(AwsErrorTest, ThrottlingAndExpiryAreRetryable) {
  EXPECT_EQ(Thrown<RetryableError>(JsonError(400, "ProvisionedThroughputExceededException")).code(),
            "throttled");
  EXPECT_EQ(Thrown<RetryableError>(JsonError(400, "LimitExceededException")).code(), "throttled");
  EXPECT_EQ(Thrown<RetryableError>(JsonError(400, "ExpiredIteratorException")).code(),
            "expired_iterator");
  EXPECT_EQ(Thrown<RetryableError>(JsonError(500, "InternalFailure")).code(), "server_error");
  EXPECT_EQ(Thrown<RetryableError>(JsonError(400, "ExpiredTokenException")).code(),
            "expired_credentials");
}

/// Answers every request with `status` and keeps what was sent.
class RecordingHttp final : public http::Client {
 public:
  http::Response Send(const http::Request& request, const http::BodyCallback*) override {
    std::lock_guard lock(mutex_);
    sent_.push_back(request);
    return {.status = 200, .headers = {}, .body = "{}"};
  }
  std::size_t Count() const {
    std::lock_guard lock(mutex_);
    return sent_.size();
  }
  std::string Header(std::size_t i, std::string_view name) const {
    std::lock_guard lock(mutex_);
    for (const auto& [key, value] : sent_.at(i).headers) {
      if (key == name) return value;
    }
    return {};
  }

 private:
  mutable std::mutex mutex_;
  std::vector<http::Request> sent_;
};

TEST(SignedClientTest, AsksTheCredentialsProviderBeforeEveryRequest) {
  auto http = std::make_shared<RecordingHttp>();
  int calls = 0;
  aws::SignedClient client(aws::ServiceConfig{
      .http = http,
      .credentials = {.access_key_id = "STATIC", .secret_access_key = "s", .session_token = ""},
      .credentials_provider =
          [&] {
            ++calls;
            return AwsCredentials{.access_key_id = "ROLE" + std::to_string(calls),
                                  .secret_access_key = "secret",
                                  .session_token = "token" + std::to_string(calls)};
          },
      .region = "us-east-1",
      .service = "kinesis",
      .endpoint = http::Endpoint::Parse("http://127.0.0.1:1"),
      .fault_injector = {}});
  const aws::SignedRequest request{.method = "POST", .path = "/", .body = "{}"};
  (void)client.Send("ListShards", request, nullptr);
  (void)client.Send("ListShards", request, nullptr);
  EXPECT_EQ(calls, 2);
  // Renewed credentials sign the next request: key id in the scope, token in its header.
  EXPECT_NE(http->Header(0, "authorization").find("Credential=ROLE1/"), std::string::npos)
      << http->Header(0, "authorization");
  EXPECT_NE(http->Header(1, "authorization").find("Credential=ROLE2/"), std::string::npos);
  EXPECT_EQ(http->Header(1, "x-amz-security-token"), "token2");
}

TEST(SignedClientTest, RefusesProviderCredentialsThatWouldSplitAHeader) {
  auto http = std::make_shared<RecordingHttp>();
  aws::SignedClient client(
      aws::ServiceConfig{.http = http,
                         .credentials = {},
                         .credentials_provider =
                             [] {
                               return AwsCredentials{.access_key_id = "ROLE\r\nX-Injected: 1",
                                                     .secret_access_key = "secret",
                                                     .session_token = "token"};
                             },
                         .region = "us-east-1",
                         .service = "kinesis",
                         .endpoint = http::Endpoint::Parse("http://127.0.0.1:1"),
                         .fault_injector = {}});
  const aws::SignedRequest request{.method = "POST", .path = "/", .body = "{}"};
  try {
    (void)client.Send("ListShards", request, nullptr);
    FAIL() << "sent";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()).find("X-Injected"), std::string::npos) << e.what();
  }
  EXPECT_EQ(http->Count(), 0U);
}

TEST(AwsErrorTest, ClientErrorsAreFatalAndNamed) {
  const auto e = Thrown<FatalError>(JsonError(400, "ResourceNotFoundException"));
  EXPECT_EQ(e.code(), "not_found");
  EXPECT_NE(std::string(e.what()).find("details here"), std::string::npos);
  // DynamoDB's prefixed form.
  EXPECT_EQ(Thrown<FatalError>(JsonError(400,
                                         "com.amazonaws.dynamodb.v20120810#"
                                         "ConditionalCheckFailedException"))
                .code(),
            "conditional_check_failed");
  EXPECT_EQ(Thrown<FatalError>(JsonError(400, "InvalidArgumentException")).code(), "aws_error");
  EXPECT_EQ(
      Thrown<FatalError>(http::Response{.status = 403, .headers = {}, .body = "not json"}).code(),
      "aws_error");
}

}  // namespace
}  // namespace laredo::kinesis
