// SourceOptions checks that need no server: every problem reported in one ConfigError, nothing
// with a control character placed into a request header, and the HTTP time limits.
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "engine/test_util.hpp"
#include "laredo/error.hpp"
#include "laredo/kinesis/dynamodb_checkpoint_store.hpp"
#include "laredo/kinesis/source.hpp"
#include "silent_listener.hpp"

namespace laredo::kinesis {
namespace {

using namespace std::chrono_literals;

// Would split the signed request into an extra header line if it reached the wire.
constexpr std::string_view kInjected = "\r\nX-Injected: 1";

// Options that pass every check; nothing listens on port 1, so a request fails as retryable.
SourceOptions GoodOptions() {
  SourceOptions options;
  options.bucket = "bucket";
  options.region = "us-east-1";
  options.s3_endpoint = "http://127.0.0.1:1";
  options.kinesis_endpoint = "http://127.0.0.1:1";
  options.credentials = AwsCredentials{
      .access_key_id = "AKID", .secret_access_key = "SECRET", .session_token = "TOKEN"};
  return options;
}

ConfigError InitError(SourceOptions options) {
  Source source(std::move(options));
  try {
    source.Init(SourceConfig{.tables = {}, .options = {}});
  } catch (const ConfigError& e) {
    return e;
  } catch (const std::exception& e) {
    ADD_FAILURE() << "expected a ConfigError before any request, got: " << e.what();
    return ConfigError({});
  }
  ADD_FAILURE() << "expected a ConfigError";
  return ConfigError({});
}

TEST(SourceOptionsTest, EveryProblemIsReportedTogether) {
  SourceOptions options = GoodOptions();
  options.bucket = "";
  options.s3_endpoint = "ftp://s3";
  options.kinesis_endpoint = "http://kinesis:99999";
  options.max_records_per_call = 0;
  options.list_page_size = -1;
  options.read_timeout = 0ms;
  const ConfigError e = InitError(options);
  const auto& problems = e.problems();
  ASSERT_EQ(problems.size(), 6U) << e.what();
  const auto mentions = [&](std::string_view text) {
    return std::any_of(problems.begin(), problems.end(),
                       [&](const std::string& p) { return p.find(text) != std::string::npos; });
  };
  EXPECT_TRUE(mentions("SourceOptions.bucket")) << e.what();
  EXPECT_TRUE(mentions("SourceOptions.s3_endpoint")) << e.what();
  EXPECT_TRUE(mentions("SourceOptions.kinesis_endpoint")) << e.what();
  EXPECT_TRUE(mentions("SourceOptions.max_records_per_call")) << e.what();
  EXPECT_TRUE(mentions("SourceOptions.list_page_size")) << e.what();
  EXPECT_TRUE(mentions("SourceOptions.read_timeout")) << e.what();
}

TEST(SourceOptionsTest, ABadThrottleBackoffIsNamed) {
  SourceOptions options = GoodOptions();
  options.throttle_backoff = {.initial = 2s, .max = 1s, .multiplier = 0.5};
  const ConfigError e = InitError(options);
  ASSERT_EQ(e.problems().size(), 2U) << e.what();
  EXPECT_EQ(e.problems()[0], "SourceOptions.throttle_backoff.max must be at least .initial");
  EXPECT_EQ(e.problems()[1], "SourceOptions.throttle_backoff.multiplier must be >= 1");
}

TEST(SourceOptionsTest, ThrottleBackoffDefaultsTo100msDoublingUpTo5s) {
  const Backoff backoff = SourceOptions{}.throttle_backoff;
  EXPECT_EQ(backoff.Delay(1), 100ms);
  EXPECT_EQ(backoff.Delay(2), 200ms);
  EXPECT_EQ(backoff.Delay(6), 3200ms);
  EXPECT_EQ(backoff.Delay(7), 5000ms);
}

TEST(SourceOptionsTest, ControlCharactersInCredentialsAreRejectedBeforeAnyRequest) {
  const auto with = [](auto change) {
    SourceOptions options = GoodOptions();
    change(*options.credentials);
    return options;
  };
  for (const auto& options :
       {with([](AwsCredentials& c) { c.access_key_id += kInjected; }),
        with([](AwsCredentials& c) { c.secret_access_key += kInjected; }),
        with([](AwsCredentials& c) { c.session_token += kInjected; }),
        with([](AwsCredentials& c) { c.secret_access_key.insert(2, 1, '\n'); })}) {
    const ConfigError e = InitError(options);
    EXPECT_NE(std::string(e.what()).find("contains a control character"), std::string::npos)
        << e.what();
    // The credential itself stays out of the error.
    EXPECT_EQ(std::string(e.what()).find("X-Injected"), std::string::npos) << e.what();
    EXPECT_EQ(std::string(e.what()).find("SECRET"), std::string::npos) << e.what();
    EXPECT_EQ(std::string(e.what()).find("TOKEN"), std::string::npos) << e.what();
  }
}

TEST(SourceOptionsTest, ControlCharactersInOtherHeaderValuesAreRejected) {
  SourceOptions options = GoodOptions();
  options.region = "us-east-1\r\nX-Injected: 1";
  options.s3_endpoint = "http://s3\r\nX-Injected:1";
  options.kinesis_endpoint = "http://kinesis\tx:80";
  const ConfigError e = InitError(options);
  EXPECT_EQ(e.problems().size(), 3U) << e.what();
  EXPECT_EQ(std::string(e.what()).find("X-Injected"), std::string::npos) << e.what();
}

TEST(SourceOptionsTest, ACredentialsProviderReturningAControlCharacterFailsTheRequest) {
  SourceOptions options = GoodOptions();
  options.credentials_provider = [] {
    return AwsCredentials{.access_key_id = "AKID",
                          .secret_access_key = "SECRET",
                          .session_token = std::string("TOKEN") + std::string(kInjected)};
  };
  Source source(options);
  try {
    source.Init(SourceConfig{.tables = {}, .options = {}});
    FAIL() << "expected an error";
  } catch (const ConfigError& e) {
    EXPECT_FALSE(IsRetryable(e));
    EXPECT_NE(std::string(e.what()).find("credentials_provider(): session_token contains a "
                                         "control character"),
              std::string::npos)
        << e.what();
    EXPECT_EQ(std::string(e.what()).find("TOKEN"), std::string::npos) << e.what();
  } catch (const std::exception& e) {
    FAIL() << "expected a ConfigError, got: " << e.what();
  }
}

TEST(SourceOptionsTest, DynamoDbStoreRejectsControlCharactersWithTheOtherProblems) {
  try {
    DynamoDbCheckpointStore store(DynamoDbCheckpointOptions{
        .table = "",
        .key = "k",
        .key_attribute = "id",
        .region = "us-east-1",
        .endpoint = "http://dynamo\r\nX-Injected:1",
        .credentials = AwsCredentials{.access_key_id = "AKID",
                                      .secret_access_key = "SECRET\r\nX-Injected: 1",
                                      .session_token = ""},
        .read_timeout = 0ms});
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.problems().size(), 4U) << e.what();
    EXPECT_EQ(std::string(e.what()).find("X-Injected"), std::string::npos) << e.what();
  }
}

// Init with S3 at `listener` fails as retryable within 3 s, saying `expected` and where.
void ExpectInitTimesOut(const testing::SilentListener& listener, SourceOptions options,
                        const std::string& expected) {
  options.s3_endpoint = listener.Url();
  Source source(std::move(options));
  const auto start = std::chrono::steady_clock::now();
  try {
    source.Init(SourceConfig{.tables = {}, .options = {}});
    ADD_FAILURE() << "expected a timeout";
  } catch (const RetryableError& e) {
    EXPECT_NE(std::string(e.what()).find(expected + " talking to " + listener.HostPort()),
              std::string::npos)
        << e.what();
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
}

TEST(SourceOptionsTest, ASilentEndpointFailsInitWithinTheReadTimeout) {
  const testing::SilentListener silent;
  SourceOptions options = GoodOptions();
  options.read_timeout = 300ms;
  ExpectInitTimesOut(silent, options, "read response header timed out after 300 ms");
}

TEST(SourceOptionsTest, AnEndpointThatNeverAcceptsFailsWithinTheConnectTimeout) {
  testing::SilentListener silent(0);
  silent.FillBacklog();
  SourceOptions options = GoodOptions();
  options.connect_timeout = 300ms;
  ExpectInitTimesOut(silent, options, "connect timed out after 300 ms");
}

TEST(SourceOptionsTest, ASilentDynamoDbEndpointFailsWithinTheReadTimeout) {
  const testing::SilentListener silent;
  DynamoDbCheckpointStore store(DynamoDbCheckpointOptions{
      .table = "t",
      .key = "k",
      .key_attribute = "id",
      .region = "us-east-1",
      .endpoint = silent.Url(),
      .credentials = AwsCredentials{.access_key_id = "AKID", .secret_access_key = "SECRET"},
      .read_timeout = 200ms});
  try {
    (void)store.Load();
    FAIL() << "expected a timeout";
  } catch (const RetryableError& e) {
    EXPECT_NE(std::string(e.what()).find("timed out after 200 ms talking to " + silent.HostPort()),
              std::string::npos)
        << e.what();
  }
}

TEST(SourceOptionsTest, TheEngineReportsWhichEndpointTimedOut) {
  const testing::SilentListener silent;
  SourceOptions options = GoodOptions();
  options.s3_endpoint = silent.Url();
  options.read_timeout = 200ms;
  EngineOptions engine_options = laredo::testing::FastOptions();
  engine_options.source_max_retries = 0;
  Engine engine(engine_options);
  engine.AddSource("kinesis", std::make_shared<Source>(options));
  engine.AddPipeline("kinesis", Table("public", "users"),
                     std::make_shared<laredo::testing::RecordingTarget>());
  engine.Start();
  ASSERT_TRUE(
      laredo::testing::Eventually([&] { return engine.SourceError("kinesis").has_value(); }, 10s));
  const std::string error = engine.SourceError("kinesis").value_or("");
  EXPECT_NE(error.find("timed out after 200 ms talking to " + silent.HostPort()), std::string::npos)
      << error;
  engine.Stop();
}

}  // namespace
}  // namespace laredo::kinesis
