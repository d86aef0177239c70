// The Beast transport against real servers: TLS verification (trusted, untrusted, wrong host
// name), streamed bodies, keep-alive reuse and connection failures.
#include "aws_env.hpp"
#include "kinesis/silent_listener.hpp"
#include "laredo/error.hpp"

namespace laredo::kinesis::it {
namespace {

class HttpIt : public AwsTest {
 protected:
  void SetUp() override {
    AwsTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    const char* endpoint = std::getenv("LAREDO_KINESIS_TLS_ENDPOINT");
    const char* ca = std::getenv("LAREDO_TLS_CA_FILE");
    if (endpoint != nullptr && ca != nullptr) {
      tls_endpoint_ = endpoint;
      ca_file_ = ca;
    }
  }

  bool NeedTls() {
    if (!tls_endpoint_.empty()) return true;
    if (UnderCi()) {
      ADD_FAILURE() << "LAREDO_KINESIS_TLS_ENDPOINT is not set (servers.sh needs openssl)";
    }
    return false;
  }

  aws::KinesisClient TlsKinesis(http::ClientOptions options, const std::string& endpoint) {
    auto config = Config(env_, "kinesis", endpoint);
    config.http = std::shared_ptr<http::Client>(http::MakeBeastClient(options));
    return aws::KinesisClient(std::move(config));
  }

  std::string tls_endpoint_;
  std::string ca_file_;
};

TEST_F(HttpIt, TlsWithATrustedCertificateWorks) {
  if (!NeedTls()) GTEST_SKIP() << "no TLS server";
  auto kinesis = TlsKinesis({.ca_file = ca_file_}, tls_endpoint_);
  kinesis.CreateStream(stream_, 1);
  EXPECT_TRUE(laredo::testing::Eventually(
      [&] { return kinesis.DescribeStreamStatus(stream_) == "ACTIVE"; }));
  // Several calls over one kept-alive TLS connection.
  for (int i = 0; i < 5; ++i) EXPECT_EQ(kinesis.ListShards(stream_).size(), 1U);
  // TearDown deletes streams on the plain server only; this server's shard limit (10) would
  // otherwise run out after a few runs against the same servers.
  kinesis.DeleteStream(stream_);
}

TEST_F(HttpIt, TlsRefusesAnUntrustedCertificate) {
  if (!NeedTls()) GTEST_SKIP() << "no TLS server";
  auto kinesis = TlsKinesis({}, tls_endpoint_);
  try {
    kinesis.DescribeStreamStatus(stream_);
    FAIL() << "an untrusted certificate was accepted";
  } catch (const RetryableError& e) {
    EXPECT_EQ(e.code(), "http_io");
    EXPECT_NE(std::string(e.what()).find("TLS handshake"), std::string::npos) << e.what();
  }
}

TEST_F(HttpIt, TlsRefusesACertificateForAnotherHost) {
  if (!NeedTls()) GTEST_SKIP() << "no TLS server";
  // The certificate names "localhost", not "127.0.0.1".
  std::string by_ip = tls_endpoint_;
  by_ip.replace(by_ip.find("localhost"), 9, "127.0.0.1");
  auto kinesis = TlsKinesis({.ca_file = ca_file_}, by_ip);
  EXPECT_THROW(kinesis.DescribeStreamStatus(stream_), RetryableError);
}

TEST_F(HttpIt, ObjectBodiesArriveInChunksNotWhole) {
  std::string big;
  for (int i = 0; big.size() < (1U << 20U); ++i) big += std::to_string(i) + "\n";
  s3_->PutObject(bucket_, "big.txt", big);
  std::size_t chunks = 0;
  std::size_t largest = 0;
  std::string got;
  s3_->GetObject(bucket_, "big.txt", [&](std::string_view chunk) {
    ++chunks;
    largest = std::max(largest, chunk.size());
    got.append(chunk);
  });
  EXPECT_EQ(got, big);
  EXPECT_GT(chunks, 10U);
  EXPECT_LE(largest, 64U * 1024U);
}

TEST_F(HttpIt, ConnectionRefusedIsRetryable) {
  auto client = http::MakeBeastClient({.connect_timeout = std::chrono::milliseconds(2000)});
  http::Request request;
  request.endpoint = http::Endpoint::Parse("http://127.0.0.1:1");
  try {
    client->Send(request, nullptr);
    FAIL() << "expected an error";
  } catch (const RetryableError& e) {
    EXPECT_EQ(e.code(), "http_io");
    EXPECT_NE(std::string(e.what()).find("connect"), std::string::npos) << e.what();
  }
}

// A Kinesis endpoint that accepts connections and never answers fails within the read timeout,
// naming itself: in validation and in the stream.
TEST_F(HttpIt, ASilentKinesisEndpointFailsWithinTheReadTimeout) {
  const testing::SilentListener silent;
  PutManifest({{"public.users", {{"columns", IdNameV()}, {"objects", nlohmann::json::array()}}}},
              nlohmann::json::object());
  auto options = Options();
  options.kinesis_endpoint = silent.Url();
  options.read_timeout = std::chrono::milliseconds(300);
  Source source(options);
  const auto users = Table("public", "users");
  source.Init(SourceConfig{.tables = {users}, .options = {}});
  const std::string expected = "timed out after 300 ms talking to " + silent.HostPort();

  const auto problems = source.ValidateTables({users});
  ASSERT_EQ(problems.size(), 1U);
  EXPECT_EQ(problems[0].code, "STREAM_UNREACHABLE");
  EXPECT_NE(problems[0].message.find(expected), std::string::npos) << problems[0].message;

  CollectingHandler handler;
  const auto start = std::chrono::steady_clock::now();
  try {
    source.Stream(std::stop_token(), Position(), handler);
    FAIL() << "expected a timeout";
  } catch (const RetryableError& e) {
    EXPECT_NE(std::string(e.what()).find(expected), std::string::npos) << e.what();
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(3));
}

TEST_F(HttpIt, NotFoundObjectIsAFatalNotFound) {
  try {
    s3_->GetObjectText(bucket_, "missing.jsonl");
    FAIL() << "expected an error";
  } catch (const FatalError& e) {
    EXPECT_EQ(e.code(), "not_found");
  }
}

}  // namespace
}  // namespace laredo::kinesis::it
