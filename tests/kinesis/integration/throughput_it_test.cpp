// Throughput figures, run only with LAREDO_KINESIS_THROUGHPUT=1 (they take a while and print
// numbers rather than check behaviour): records/s from kinesalite with 4 shards into the indexed
// target, and baseline rows/s from s3rver.
#include <cstdio>

#include "aws_env.hpp"
#include "laredo/memory/indexed_target.hpp"

namespace laredo::kinesis::it {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

const TableIdentifier kUsers = Table("public", "users");

class ThroughputIt : public AwsTest {
 protected:
  void SetUp() override {
    const char* on = std::getenv("LAREDO_KINESIS_THROUGHPUT");
    if (on == nullptr || std::string(on) != "1") {
      GTEST_SKIP() << "set LAREDO_KINESIS_THROUGHPUT=1 to measure";
    }
    AwsTest::SetUp();
  }

  static std::string RowJson(int id) {
    return nlohmann::json{{"id", id}, {"name", "user-" + std::to_string(id)}, {"v", id * 3}}.dump();
  }
};

TEST_F(ThroughputIt, StreamFromFourShardsIntoTheIndexedTarget) {
  constexpr int kRecords = 40'000;
  CreateStream(4);
  PutManifest({{"public.users", {{"columns", IdNameV()}, {"objects", nlohmann::json::array()}}}},
              nlohmann::json::object());
  std::vector<std::pair<std::string, std::string>> batch;
  for (int id = 0; id < kRecords; ++id) {
    batch.emplace_back("public.users:" + std::to_string(id),
                       Change("public.users", "insert", nlohmann::json::parse(RowJson(id))));
    if (batch.size() == 500) {
      kinesis_->PutRecords(stream_, batch);
      batch.clear();
    }
  }
  // The server's own pace: every record read with bare GetRecords calls, nothing decoded.
  const auto raw_start = Clock::now();
  std::size_t raw = 0;
  for (const auto& shard : kinesis_->ListShards(stream_)) {
    std::optional<std::string> it =
        kinesis_->GetShardIterator(stream_, shard.shard_id, "TRIM_HORIZON", std::nullopt);
    while (it) {
      auto page = kinesis_->GetRecords(*it, 10000);
      if (page.records.empty()) break;
      raw += page.records.size();
      it = page.next_shard_iterator;
    }
  }
  const double raw_seconds = std::chrono::duration<double>(Clock::now() - raw_start).count();
  ASSERT_EQ(raw, static_cast<std::size_t>(kRecords));
  std::printf("kinesalite alone: %zu records by GetRecords in %.2f s = %.0f records/s\n", raw,
              raw_seconds, static_cast<double>(raw) / raw_seconds);

  auto options = Options();
  options.poll_interval = 5ms;
  Engine engine;
  engine.AddSource("kinesis", std::make_shared<Source>(options));
  auto target = std::make_shared<memory::IndexedTarget>();
  engine.AddPipeline("kinesis", kUsers, target);
  const auto start = Clock::now();
  engine.Start();
  ASSERT_TRUE(laredo::testing::Eventually([&] { return target->Count() == kRecords; }, 300s));
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  engine.Stop();
  std::printf("kinesis stream: %d records from 4 shards in %.2f s = %.0f records/s\n", kRecords,
              seconds, kRecords / seconds);
}

TEST_F(ThroughputIt, BaselineFromS3) {
  constexpr int kObjects = 4;
  constexpr int kRowsPerObject = 100'000;
  CreateStream(1);  // validation wants the stream to exist
  nlohmann::json objects = nlohmann::json::array();
  for (int o = 0; o < kObjects; ++o) {
    std::string text;
    for (int i = 0; i < kRowsPerObject; ++i) text += RowJson(o * kRowsPerObject + i) + "\n";
    const std::string key = "public.users/part-" + std::to_string(o) + ".jsonl";
    s3_->PutObject(bucket_, "snap/" + key, text);
    objects.push_back(key);
  }
  PutManifest({{"public.users", {{"columns", IdNameV()}, {"objects", objects}}}},
              nlohmann::json::object());
  Source source(Options());
  source.Init(SourceConfig{.tables = {kUsers}, .options = {}});
  std::size_t rows = 0;
  const auto start = Clock::now();
  source.Baseline(std::stop_token(), {kUsers}, [&](const TableIdentifier&, Row) { ++rows; });
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  ASSERT_EQ(rows, static_cast<std::size_t>(kObjects * kRowsPerObject));
  std::printf("s3 baseline: %zu rows in %.2f s = %.0f rows/s (source only)\n", rows, seconds,
              static_cast<double>(rows) / seconds);

  Engine engine;
  engine.AddSource("kinesis", std::make_shared<Source>(Options()));
  auto target = std::make_shared<memory::IndexedTarget>();
  engine.AddPipeline("kinesis", kUsers, target);
  const auto engine_start = Clock::now();
  engine.Start();
  ASSERT_TRUE(engine.AwaitReady(300s));
  const double engine_seconds = std::chrono::duration<double>(Clock::now() - engine_start).count();
  engine.Stop();
  std::printf("s3 baseline: %zu rows into the indexed target in %.2f s = %.0f rows/s\n", rows,
              engine_seconds, static_cast<double>(rows) / engine_seconds);
}

}  // namespace
}  // namespace laredo::kinesis::it
