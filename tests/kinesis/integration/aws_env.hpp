#pragma once

// What the integration tests share: the servers started by tests/kinesis/servers.sh (found
// through LAREDO_*_ENDPOINT), clients to produce with, unique resource names, a snapshot writer
// and a handler that collects events.
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "engine/test_util.hpp"
#include "http_client.hpp"
#include "kinesis_client.hpp"
#include "laredo/kinesis/source.hpp"
#include "s3_client.hpp"

namespace laredo::kinesis::it {

struct AwsEnv {
  std::string kinesis_endpoint;
  std::string s3_endpoint;
  std::string dynamodb_endpoint;
  std::string region;
};

/// The endpoints, or nullopt when the servers are not running.
inline std::optional<AwsEnv> FindEnv() {
  const auto get = [](const char* name) {
    const char* v = std::getenv(name);
    return std::string(v == nullptr ? "" : v);
  };
  AwsEnv env{get("LAREDO_KINESIS_ENDPOINT"), get("LAREDO_S3_ENDPOINT"),
             get("LAREDO_DYNAMODB_ENDPOINT"), get("AWS_REGION")};
  if (env.kinesis_endpoint.empty() || env.s3_endpoint.empty() || env.dynamodb_endpoint.empty()) {
    return std::nullopt;
  }
  if (env.region.empty()) env.region = "us-east-1";
  return env;
}

inline bool UnderCi() {
  const char* ci = std::getenv("CI");
  return ci != nullptr && std::string(ci) == "true";
}

/// "laredo-<test>-<pid>-<n>", lower case and within S3's and Kinesis's name rules.
inline std::string UniqueName(std::string_view hint) {
  static std::atomic<int> counter{0};
  std::string name = "laredo-";
  for (const char c : hint) {
    if (std::isalnum(static_cast<unsigned char>(c)) != 0) {
      name += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    if (name.size() > 30) break;
  }
  return name + "-" + std::to_string(::getpid()) + "-" + std::to_string(++counter);
}

inline aws::ServiceConfig Config(const AwsEnv& env, const std::string& service,
                                 const std::string& endpoint) {
  return {.http = std::shared_ptr<http::Client>(http::MakeBeastClient()),
          .credentials = AwsCredentials::FromEnvironment(),
          .region = env.region,
          .service = service,
          .endpoint = http::Endpoint::Parse(endpoint),
          .fault_injector = {}};
}

/// Base fixture: skips without servers (fails under CI), makes producer clients and names.
class AwsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto found = FindEnv();
    if (!found) {
      if (UnderCi()) {
        FAIL() << "CI=true but LAREDO_KINESIS_ENDPOINT / LAREDO_S3_ENDPOINT / "
                  "LAREDO_DYNAMODB_ENDPOINT are not set: start tests/kinesis/servers.sh";
      }
      GTEST_SKIP() << "servers not running: eval \"$(tests/kinesis/servers.sh start DIR)\"";
    }
    env_ = *found;
    if (AwsCredentials::FromEnvironment().empty()) {
      setenv("AWS_ACCESS_KEY_ID", "S3RVER", 0);
      setenv("AWS_SECRET_ACCESS_KEY", "S3RVER", 0);
    }
    s3_ = std::make_unique<aws::S3Client>(Config(env_, "s3", env_.s3_endpoint));
    kinesis_ = std::make_unique<aws::KinesisClient>(Config(env_, "kinesis", env_.kinesis_endpoint));
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    bucket_ = UniqueName(info->name());
    stream_ = UniqueName(info->name());
    s3_->CreateBucket(bucket_);
  }

  /// Options pointing at this test's bucket and stream, polling fast.
  [[nodiscard]] SourceOptions Options() const {
    SourceOptions o;
    o.bucket = bucket_;
    o.prefix = "snap";
    o.region = env_.region;
    o.s3_endpoint = env_.s3_endpoint;
    o.kinesis_endpoint = env_.kinesis_endpoint;
    o.poll_interval = std::chrono::milliseconds(20);
    o.min_get_records_interval = std::chrono::milliseconds(0);
    o.shard_discovery_interval = std::chrono::milliseconds(200);
    return o;
  }

  /// Writes manifest.json under "snap/" for `tables` (name -> {columns json, objects}).
  void PutManifest(const nlohmann::json& tables, const nlohmann::json& stream_position,
                   const std::string& snapshot_id = "2024-05-01T12:00:00Z-a") {
    const nlohmann::json manifest = {{"format", "laredo-s3-baseline/1"},
                                     {"snapshot_id", snapshot_id},
                                     {"created_at", "2024-05-01T12:00:00Z"},
                                     {"stream", stream_},
                                     {"tables", tables},
                                     {"stream_position", stream_position}};
    s3_->PutObject(bucket_, "snap/manifest.json", manifest.dump());
  }

  /// Columns id bigint primary key, name text, v bigint.
  static nlohmann::json IdNameV() {
    return nlohmann::json::array(
        {{{"name", "id"}, {"type", "bigint"}, {"nullable", false}, {"primary_key", true}},
         {{"name", "name"}, {"type", "text"}},
         {{"name", "v"}, {"type", "bigint"}}});
  }

  void TearDown() override {
    // Kinesis servers limit the shards of an account: give them back.
    if (stream_created_) {
      try {
        kinesis_->DeleteStream(stream_);
      } catch (const std::exception&) {
        // Best effort; the server's data directory is thrown away anyway.
      }
    }
  }

  void CreateStream(int shards) {
    kinesis_->CreateStream(stream_, shards);
    stream_created_ = true;
    ASSERT_TRUE(laredo::testing::Eventually(
        [&] { return kinesis_->DescribeStreamStatus(stream_) == "ACTIVE"; }));
  }

  AwsEnv env_;
  std::unique_ptr<aws::S3Client> s3_;
  std::unique_ptr<aws::KinesisClient> kinesis_;
  std::string bucket_;
  std::string stream_;
  bool stream_created_ = false;
};

/// A change record of the contract.
inline std::string Change(const std::string& table, const std::string& action,
                          const nlohmann::json& new_row, const nlohmann::json& old_row = nullptr) {
  nlohmann::json record = {{"table", table}, {"action", action}};
  if (!new_row.is_null()) record["new"] = new_row;
  if (!old_row.is_null()) record["old"] = old_row;
  return record.dump();
}

/// Collects change events. Thread-safe.
class CollectingHandler : public ChangeHandler {
 public:
  void OnChange(ChangeEvent event) override {
    {
      std::lock_guard lock(mutex_);
      events_.push_back(std::move(event));
    }
    cv_.notify_all();
  }
  bool AwaitCount(std::size_t n, std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, timeout, [&] { return events_.size() >= n; });
  }
  void OnInvalidRecord(InvalidRecord record) override {
    std::lock_guard lock(mutex_);
    invalid_.push_back(std::move(record));
  }
  std::vector<ChangeEvent> Events() const {
    std::lock_guard lock(mutex_);
    return events_;
  }
  std::vector<InvalidRecord> Invalid() const {
    std::lock_guard lock(mutex_);
    return invalid_;
  }

 private:
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<ChangeEvent> events_;
  std::vector<InvalidRecord> invalid_;
};

/// Runs `Source::Stream` on its own thread; stops and joins on destruction, rethrowing nothing.
class StreamThread {
 public:
  StreamThread(Source& source, Position from, ChangeHandler& handler)
      : thread_([&source, from = std::move(from), &handler, this](std::stop_token stop) {
          try {
            source.Stream(stop, from, handler);
          } catch (const std::exception& e) {
            std::lock_guard lock(mutex_);
            error_ = e.what();
          }
        }) {}
  ~StreamThread() { Stop(); }
  void Stop() {
    thread_.request_stop();
    if (thread_.joinable()) thread_.join();
  }
  std::string Error() {
    std::lock_guard lock(mutex_);
    return error_;
  }

 private:
  std::mutex mutex_;
  std::string error_;
  std::jthread thread_;
};

}  // namespace laredo::kinesis::it
