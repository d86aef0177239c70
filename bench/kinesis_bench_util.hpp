#pragma once

// Helpers shared by the S3 + Kinesis benchmarks: the servers (LAREDO_KINESIS_ENDPOINT and
// LAREDO_S3_ENDPOINT, or throwaway ones started with tests/kinesis/servers.sh), the internal
// AWS clients to produce with, and the bench table of bench_rows.hpp written as the data contract
// wants it (docs/kinesis-data-contract.md).

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "bench_util.hpp"
#include "http_client.hpp"
#include "kinesis_client.hpp"
#include "laredo/kinesis/source.hpp"
#include "s3_client.hpp"

namespace laredo::bench {

/// Where the servers are and how to sign for them.
struct AwsBenchEnv {
  std::string kinesis_endpoint;
  std::string s3_endpoint;
  std::string region;
  kinesis::AwsCredentials credentials;
};

/// LAREDO_KINESIS_ENDPOINT + LAREDO_S3_ENDPOINT, or throwaway servers started with
/// tests/kinesis/servers.sh (stopped again, and their data removed, by the destructor).
class AwsBenchServers {
 public:
  AwsBenchServers() {
    // Read before any thread starts; nothing calls setenv.
    const auto get = [](const char* name) {
      const char* v = std::getenv(name);  // NOLINT(concurrency-mt-unsafe)
      return std::string(v == nullptr ? "" : v);
    };
    std::map<std::string, std::string> vars;
    for (const char* name : {"LAREDO_KINESIS_ENDPOINT", "LAREDO_S3_ENDPOINT", "AWS_REGION"}) {
      vars[name] = get(name);
    }
    env_.credentials = kinesis::AwsCredentials::FromEnvironment();
    if (vars["LAREDO_KINESIS_ENDPOINT"].empty() || vars["LAREDO_S3_ENDPOINT"].empty()) {
      vars = Start();
      // s3rver verifies signatures against its built-in account, whatever the caller's
      // environment holds.
      env_.credentials = {.access_key_id = "S3RVER", .secret_access_key = "S3RVER"};
    }
    env_.kinesis_endpoint = vars["LAREDO_KINESIS_ENDPOINT"];
    env_.s3_endpoint = vars["LAREDO_S3_ENDPOINT"];
    env_.region = vars["AWS_REGION"].empty() ? "us-east-1" : vars["AWS_REGION"];
    if (env_.credentials.empty()) {
      env_.credentials = {.access_key_id = "S3RVER", .secret_access_key = "S3RVER"};
    }
  }
  ~AwsBenchServers() {
    if (dir_.empty()) return;
    const std::string cmd = Script() + " stop " + dir_ + " 2>/dev/null";
    // The benchmark's threads have stopped by now.
    if (std::system(cmd.c_str()) != 0) {  // NOLINT(concurrency-mt-unsafe)
      std::fprintf(stderr, "stopping the servers failed\n");
    }
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);  // the uploaded snapshot can be large
  }
  AwsBenchServers(const AwsBenchServers&) = delete;
  AwsBenchServers& operator=(const AwsBenchServers&) = delete;

  [[nodiscard]] const AwsBenchEnv& env() const { return env_; }

 private:
  static std::string Script() {
    return std::string(LAREDO_SOURCE_DIR) + "/tests/kinesis/servers.sh";
  }

  // Runs `servers.sh start` and returns the variables of the `export NAME=VALUE` lines it prints.
  std::map<std::string, std::string> Start() {
    dir_ = "/tmp/laredo-bench-aws-" + std::to_string(getpid());
    const std::string log = dir_ + ".log";  // npm's and the script's chatter; kept on failure
    const std::string cmd = Script() + " start " + dir_ + " 2>" + log;
    std::fprintf(stderr,
                 "no LAREDO_KINESIS_ENDPOINT / LAREDO_S3_ENDPOINT: starting throwaway servers in "
                 "%s\n",
                 dir_.c_str());
    FILE* out = popen(cmd.c_str(), "r");
    if (out == nullptr) throw std::runtime_error("cannot run servers.sh");
    std::map<std::string, std::string> vars;
    char line[1024];
    while (std::fgets(line, sizeof line, out) != nullptr) {
      std::string text = line;
      const std::string prefix = "export ";
      const auto eq = text.find('=');
      if (text.rfind(prefix, 0) != 0 || eq == std::string::npos) continue;
      while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
      vars[text.substr(prefix.size(), eq - prefix.size())] = text.substr(eq + 1);
    }
    if (pclose(out) != 0 || vars["LAREDO_KINESIS_ENDPOINT"].empty() ||
        vars["LAREDO_S3_ENDPOINT"].empty()) {
      throw std::runtime_error("servers.sh failed, see " + log);
    }
    std::remove(log.c_str());
    return vars;
  }

  AwsBenchEnv env_;
  std::string dir_;  // set when this object started the servers
};

/// The table every bench uses, as the manifest and the records name it.
inline const TableIdentifier kBenchTable = Table("public", "bench");
inline const std::string kBenchTableName = "public.bench";

/// The bench table's columns (bench_rows.hpp) in manifest form.
inline nlohmann::json BenchColumnsJson() {
  return nlohmann::json::array({
      {{"name", "id"}, {"type", "bigint"}, {"nullable", false}, {"primary_key", true}},
      {{"name", "a"}, {"type", "integer"}},
      {{"name", "b"}, {"type", "text"}},
      {{"name", "c"}, {"type", "timestamp with time zone"}},
      {{"name", "d"}, {"type", "jsonb"}},
  });
}

/// The values of `BenchRows::Make(id)` (bench_rows.hpp) as a contract row: b is 100 bytes, c an
/// RFC 3339 instant with microseconds, d a JSON document.
inline nlohmann::json BenchRowJson(std::int64_t id) {
  std::string b = "row " + std::to_string(id) + " v0 ";
  b.resize(100, 'x');
  const std::int64_t micros = 1'700'000'000'000'000 + id * 1000;
  const std::time_t secs = static_cast<std::time_t>(micros / 1'000'000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char c[40];
  const std::size_t len = std::strftime(c, sizeof c, "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(c + len, sizeof c - len, ".%06dZ", static_cast<int>(micros % 1'000'000));
  return {{"id", id}, {"a", id % 1000}, {"b", std::move(b)}, {"c", c}, {"d", {{"k", id % 97}}}};
}

/// Producer clients, this bench's bucket and stream, and the source options that read them.
class AwsBench {
 public:
  /// `what` names the bucket and stream ("laredo-bench-<what>-<pid>").
  AwsBench(const AwsBenchEnv& env, const std::string& what)
      : env_(env),
        s3_(Config("s3", env.s3_endpoint)),
        kinesis_(Config("kinesis", env.kinesis_endpoint)),
        bucket_("laredo-bench-" + what + "-" + std::to_string(getpid())),
        stream_(bucket_) {
    s3_.CreateBucket(bucket_);
  }
  ~AwsBench() {
    // Kinesis servers limit the shards of an account: give them back. The bucket stays (the
    // client has no DeleteObject); its name is unique.
    if (!stream_created_) return;
    try {
      kinesis_.DeleteStream(stream_);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "deleting stream %s failed: %s\n", stream_.c_str(), e.what());
    }
  }
  AwsBench(const AwsBench&) = delete;
  AwsBench& operator=(const AwsBench&) = delete;

  kinesis::aws::S3Client& s3_client() { return s3_; }
  kinesis::aws::KinesisClient& kinesis_client() { return kinesis_; }
  [[nodiscard]] const std::string& bucket() const { return bucket_; }
  [[nodiscard]] const std::string& stream() const { return stream_; }

  void CreateStream(int shards) {
    kinesis_.CreateStream(stream_, shards);
    stream_created_ = true;
    const auto deadline = Clock::now() + std::chrono::seconds(30);
    while (kinesis_.DescribeStreamStatus(stream_) != "ACTIVE") {
      if (Clock::now() > deadline) throw std::runtime_error("stream not ACTIVE after 30 s");
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }

  /// Writes "snap/manifest.json" with the bench table and `objects` (keys relative to "snap/"),
  /// no stream_position: every shard is read from TRIM_HORIZON.
  void PutManifest(const nlohmann::json& objects) {
    const nlohmann::json manifest = {
        {"format", "laredo-s3-baseline/1"},
        {"snapshot_id", "2024-05-01T12:00:00Z-bench"},
        {"created_at", "2024-05-01T12:00:00Z"},
        {"stream", stream_},
        {"tables", {{kBenchTableName, {{"columns", BenchColumnsJson()}, {"objects", objects}}}}},
        {"stream_position", nlohmann::json::object()}};
    s3_.PutObject(bucket_, "snap/manifest.json", manifest.dump());
  }

  /// Options reading this bench's snapshot and stream.
  [[nodiscard]] kinesis::SourceOptions Options() const {
    kinesis::SourceOptions o;
    o.bucket = bucket_;
    o.prefix = "snap";
    o.region = env_.region;
    o.s3_endpoint = env_.s3_endpoint;
    o.kinesis_endpoint = env_.kinesis_endpoint;
    o.credentials = env_.credentials;
    return o;
  }

 private:
  [[nodiscard]] kinesis::aws::ServiceConfig Config(const std::string& service,
                                                   const std::string& endpoint) const {
    return {.http = std::shared_ptr<kinesis::http::Client>(kinesis::http::MakeBeastClient()),
            .credentials = env_.credentials,
            .region = env_.region,
            .service = service,
            .endpoint = kinesis::http::Endpoint::Parse(endpoint),
            .fault_injector = {}};
  }

  const AwsBenchEnv env_;
  kinesis::aws::S3Client s3_;
  kinesis::aws::KinesisClient kinesis_;
  const std::string bucket_;
  const std::string stream_;
  bool stream_created_ = false;
};

}  // namespace laredo::bench
