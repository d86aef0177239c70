// Streaming from kinesalite: several shards, resharding, malformed records, throttling and
// expired iterators, and the whole engine path into the indexed target.
#include <filesystem>
#include <map>
#include <random>

#include "aws_env.hpp"
#include "laredo/error.hpp"
#include "laredo/kinesis/position.hpp"
#include "laredo/memory/indexed_target.hpp"
#include "source_internals.hpp"

namespace laredo::kinesis::it {
namespace {

using namespace std::chrono_literals;

const TableIdentifier kUsers = Table("public", "users");

class StreamIt : public AwsTest {
 protected:
  // A manifest with one empty table and no stream position: every shard from its start.
  void EmptySnapshot() {
    PutManifest({{"public.users", {{"columns", IdNameV()}, {"objects", nlohmann::json::array()}}}},
                nlohmann::json::object());
  }

  std::unique_ptr<Source> Init(SourceOptions options, AwsFaultHook fault_hook = {}) {
    auto source = std::make_unique<Source>(std::move(options));
    if (fault_hook) SourceInternals::SetFaultInjector(*source, std::move(fault_hook));
    source->Init(SourceConfig{.tables = {kUsers}, .options = {}});
    return source;
  }

  void Put(std::int64_t id, std::int64_t v) {
    kinesis_->PutRecord(stream_, "public.users:" + std::to_string(id),
                        Change("public.users", "update",
                               {{"id", id}, {"name", "n" + std::to_string(id)}, {"v", v}}));
  }
};

// Per key, the values delivered, in delivery order.
std::map<std::int64_t, std::vector<std::int64_t>> ValuesByKey(
    const std::vector<ChangeEvent>& events) {
  std::map<std::int64_t, std::vector<std::int64_t>> by_key;
  for (const auto& e : events) {
    by_key[e.new_values.at("id").AsInt()].push_back(e.new_values.at("v").AsInt());
  }
  return by_key;
}

TEST_F(StreamIt, MultiShardDeliversEveryRecordInOrderPerKeyWithAChainOfPositions) {
  CreateStream(4);
  EmptySnapshot();
  constexpr int kKeys = 20;
  constexpr int kRounds = 10;
  for (int round = 1; round <= kRounds; ++round) {
    for (int id = 0; id < kKeys; ++id) Put(id, round);
  }
  auto source = Init(Options());
  CollectingHandler handler;
  StreamThread thread(*source, Position(), handler);
  ASSERT_TRUE(handler.AwaitCount(kKeys * kRounds)) << thread.Error();
  thread.Stop();
  const auto events = handler.Events();
  ASSERT_EQ(events.size(), static_cast<std::size_t>(kKeys * kRounds));
  for (const auto& [id, values] : ValuesByKey(events)) {
    EXPECT_EQ(values, (std::vector<std::int64_t>{1, 2, 3, 4, 5, 6, 7, 8, 9, 10})) << "id " << id;
  }
  // Each event's position is at or after the previous one on every shard.
  for (std::size_t i = 1; i < events.size(); ++i) {
    const auto& before = std::any_cast<const StreamPosition&>(events[i - 1].position);
    const auto& after = std::any_cast<const StreamPosition&>(events[i].position);
    ASSERT_TRUE(StreamPosition::Covers(after, before)) << i;
    ASSERT_LT(source->ComparePositions(events[i - 1].position, events[i].position), 0) << i;
  }
  EXPECT_EQ(std::any_cast<const StreamPosition&>(events.back().position).shards.size(), 4U);
  EXPECT_TRUE(source->GetLag().lag_time.has_value());
  EXPECT_EQ(source->OrderingGuarantee(), OrderingGuarantee::PerPartitionOrder);
}

TEST_F(StreamIt, ShardSplitMidStreamKeepsPerKeyOrder) {
  CreateStream(1);
  EmptySnapshot();
  constexpr int kKeys = 30;
  for (int id = 0; id < kKeys; ++id) Put(id, 1);
  for (int id = 0; id < kKeys; ++id) Put(id, 2);

  auto source = Init(Options());
  CollectingHandler handler;
  StreamThread thread(*source, Position(), handler);
  ASSERT_TRUE(handler.AwaitCount(kKeys)) << thread.Error();

  // Split the only shard in the middle of its hash range while it is being read.
  kinesis_->SplitShard(stream_, "shardId-000000000000", "170141183460469231731687303715884105728");
  ASSERT_TRUE(laredo::testing::Eventually(
      [&] { return kinesis_->DescribeStreamStatus(stream_) == "ACTIVE"; }));
  for (int round = 3; round <= 5; ++round) {
    for (int id = 0; id < kKeys; ++id) Put(id, round);
  }
  ASSERT_TRUE(handler.AwaitCount(kKeys * 5)) << thread.Error();
  thread.Stop();
  const auto events = handler.Events();
  ASSERT_EQ(events.size(), static_cast<std::size_t>(kKeys * 5));
  for (const auto& [id, values] : ValuesByKey(events)) {
    EXPECT_EQ(values, (std::vector<std::int64_t>{1, 2, 3, 4, 5})) << "id " << id;
  }
  // The parent was finished before either child delivered anything.
  const auto& last = std::any_cast<const StreamPosition&>(events.back().position);
  EXPECT_EQ(last.shards.size(), 3U);
  bool child_seen = false;
  for (const auto& e : events) {
    const auto& p = std::any_cast<const StreamPosition&>(e.position);
    const bool child = p.shards.size() > 1;
    if (child_seen) {
      EXPECT_TRUE(child);
    }
    child_seen = child_seen || child;
  }
}

TEST_F(StreamIt, ShardMergeMidStreamKeepsPerKeyOrder) {
  CreateStream(2);
  EmptySnapshot();
  constexpr int kKeys = 30;
  for (int id = 0; id < kKeys; ++id) Put(id, 1);
  auto source = Init(Options());
  CollectingHandler handler;
  StreamThread thread(*source, Position(), handler);
  ASSERT_TRUE(handler.AwaitCount(kKeys)) << thread.Error();
  kinesis_->MergeShards(stream_, "shardId-000000000000", "shardId-000000000001");
  ASSERT_TRUE(laredo::testing::Eventually(
      [&] { return kinesis_->DescribeStreamStatus(stream_) == "ACTIVE"; }));
  for (int round = 2; round <= 4; ++round) {
    for (int id = 0; id < kKeys; ++id) Put(id, round);
  }
  ASSERT_TRUE(handler.AwaitCount(kKeys * 4)) << thread.Error();
  thread.Stop();
  const auto events = handler.Events();
  ASSERT_EQ(events.size(), static_cast<std::size_t>(kKeys * 4));
  for (const auto& [id, values] : ValuesByKey(events)) {
    EXPECT_EQ(values, (std::vector<std::int64_t>{1, 2, 3, 4})) << "id " << id;
  }
  EXPECT_EQ(std::any_cast<const StreamPosition&>(events.back().position).shards.size(), 3U);
}

TEST_F(StreamIt, PauseHoldsRecordsAndResumeDeliversThem) {
  CreateStream(1);
  EmptySnapshot();
  Put(1, 1);
  auto source = Init(Options());
  CollectingHandler handler;
  StreamThread thread(*source, Position(), handler);
  ASSERT_TRUE(handler.AwaitCount(1)) << thread.Error();
  source->Pause();
  // Paused means parked: a poll in flight at Pause has finished.
  ASSERT_TRUE(laredo::testing::Eventually([&] { return source->State() == SourceState::Paused; }));
  const auto before = handler.Events().size();
  Put(1, 2);
  std::this_thread::sleep_for(300ms);  // a window in which nothing may arrive
  EXPECT_EQ(handler.Events().size(), before);
  source->Resume();
  ASSERT_TRUE(handler.AwaitCount(2)) << thread.Error();
  EXPECT_EQ(source->State(), SourceState::Streaming);
}

TEST_F(StreamIt, MissingStreamFailsTheStreamCall) {
  EmptySnapshot();  // the stream is never created
  auto source = Init(Options());
  CollectingHandler handler;
  try {
    source->Stream(std::stop_token(), Position(), handler);
    FAIL() << "expected an error";
  } catch (const FatalError& e) {
    EXPECT_EQ(e.code(), "not_found");
  }
}

TEST_F(StreamIt, MalformedRecordIsReportedAndTheRestFlows) {
  CreateStream(1);
  EmptySnapshot();
  Put(1, 1);
  kinesis_->PutRecord(stream_, "junk", "{not json");
  kinesis_->PutRecord(stream_, "junk", Change("public.nope", "insert", {{"id", 1}}));
  Put(2, 1);
  auto options = Options();
  std::mutex mutex;
  std::vector<MalformedRecord> dead;
  options.on_malformed_record = [&](const MalformedRecord& r) {
    std::lock_guard lock(mutex);
    dead.push_back(r);
  };
  auto source = Init(options);
  CollectingHandler handler;
  StreamThread thread(*source, Position(), handler);
  ASSERT_TRUE(handler.AwaitCount(2)) << thread.Error();
  thread.Stop();
  EXPECT_EQ(handler.Events().size(), 2U);
  EXPECT_EQ(source->MalformedRecords(), 2U);
  {
    std::lock_guard lock(mutex);
    ASSERT_EQ(dead.size(), 2U);
    EXPECT_EQ(dead[0].data, "{not json");
    EXPECT_EQ(dead[0].shard_id, "shardId-000000000000");
    EXPECT_FALSE(dead[0].error.empty());
    EXPECT_NE(dead[1].error.find("public.nope"), std::string::npos) << dead[1].error;
  }
  // The handler was told, in stream order, with positions that chain with the changes.
  const auto invalid = handler.Invalid();
  ASSERT_EQ(invalid.size(), 2U);
  EXPECT_EQ(invalid[0].payload, "{not json");
  EXPECT_FALSE(invalid[0].table.has_value());
  EXPECT_NE(invalid[0].error.find("shardId-000000000000"), std::string::npos) << invalid[0].error;
  const auto events = handler.Events();
  EXPECT_LT(source->ComparePositions(events[0].position, invalid[0].position), 0);
  EXPECT_LT(source->ComparePositions(invalid[0].position, invalid[1].position), 0);
  EXPECT_LT(source->ComparePositions(invalid[1].position, events[1].position), 0);
}

TEST_F(StreamIt, MalformedRecordBecomesADeadLetterAndTheCheckpointPassesIt) {
  CreateStream(1);
  EmptySnapshot();
  Put(1, 1);
  // Names a known table but breaks the contract: routed to that table's pipeline.
  kinesis_->PutRecord(stream_, "public.users:9",
                      R"({"table": "public.users", "action": "insert", "new": {"id": "x"}})");
  const std::string last_sequence =
      kinesis_->PutRecord(stream_, "junk", "\xff definitely not JSON").sequence_number;
  const auto dir = std::filesystem::temp_directory_path() / UniqueName("dlq");
  std::filesystem::create_directories(dir);
  auto store = std::make_shared<FileCheckpointStore>(dir / "checkpoint");
  auto options = Options();
  options.checkpoint_store = store;
  auto source = std::make_shared<Source>(options);
  auto dead = std::make_shared<InMemoryDeadLetterSink>();
  auto observer = std::make_shared<laredo::testing::RecordingObserver>();
  auto target = std::make_shared<memory::IndexedTarget>();
  EngineOptions engine_options;
  engine_options.ack_interval = 20ms;
  engine_options.observers = {observer};
  Engine engine(engine_options);
  engine.AddSource("k", source);
  PipelineOptions pipeline;
  pipeline.dead_letter = dead;
  engine.AddPipeline("k", kUsers, target, pipeline);
  engine.Start();
  ASSERT_TRUE(laredo::testing::Eventually([&] { return dead->Count() == 2; }, 20s));
  // Nothing follows the last malformed record, yet the checkpoint reaches it: a restart must not
  // report it again.
  ASSERT_TRUE(laredo::testing::Eventually(
      [&] {
        const auto saved = store->Load();
        if (!saved) return false;
        const auto it = saved->shards.find("shardId-000000000000");
        return it != saved->shards.end() && it->second == SequenceNumber(last_sequence);
      },
      20s));
  engine.Stop();
  EXPECT_EQ(target->Count(), 1U);
  const auto letters = dead->Letters();
  ASSERT_EQ(letters.size(), 2U);
  EXPECT_EQ(letters[0].operation, "invalid_record");
  EXPECT_EQ(letters[0].table, kUsers);
  EXPECT_NE(letters[0].error.find("column 'id'"), std::string::npos) << letters[0].error;
  EXPECT_NE(letters[1].payload.find("definitely not JSON"), std::string::npos);
  EXPECT_EQ(letters[1].table, TableIdentifier{});
  EXPECT_EQ(observer->DeadLetterCount(), 2U);
  std::size_t reported = 0;
  for (const auto& e : observer->Errors()) {
    if (e.id == "k" && e.message.find("invalid record") != std::string::npos) ++reported;
  }
  EXPECT_EQ(reported, 2U);
  std::filesystem::remove_all(dir);
}

TEST_F(StreamIt, ThrottlingAndExpiredIteratorsLoseNothing) {
  CreateStream(2);
  EmptySnapshot();
  constexpr int kKeys = 10;
  constexpr int kRounds = 30;
  for (int round = 1; round <= kRounds; ++round) {
    for (int id = 0; id < kKeys; ++id) Put(id, round);
  }
  auto options = Options();
  options.max_records_per_call = 7;  // many small reads, so faults land between records
  std::atomic<int> calls{0};
  std::atomic<int> throttled{0};
  std::atomic<int> expired{0};
  const AwsFaultHook faults = [&](std::string_view operation) -> std::optional<std::string> {
    if (operation != "GetRecords") return std::nullopt;
    const int n = ++calls;
    if (n % 3 == 0) {
      ++throttled;
      return "ProvisionedThroughputExceededException";
    }
    if (n % 5 == 0) {
      ++expired;
      return "ExpiredIteratorException";
    }
    return std::nullopt;
  };
  auto source = Init(options, faults);
  CollectingHandler handler;
  StreamThread thread(*source, Position(), handler);
  ASSERT_TRUE(handler.AwaitCount(kKeys * kRounds, 60s)) << thread.Error();
  std::this_thread::sleep_for(200ms);  // nothing extra arrives
  thread.Stop();
  const auto events = handler.Events();
  EXPECT_EQ(events.size(), static_cast<std::size_t>(kKeys * kRounds));
  std::vector<std::int64_t> expected(kRounds);
  for (int i = 0; i < kRounds; ++i) expected[static_cast<std::size_t>(i)] = i + 1;
  for (const auto& [id, values] : ValuesByKey(events)) EXPECT_EQ(values, expected) << "id " << id;
  EXPECT_GT(throttled.load(), 5);
  EXPECT_GT(expired.load(), 3);
  EXPECT_EQ(thread.Error(), "");
}

TEST_F(StreamIt, EngineReplicaEqualsTheProducersFinalState) {
  CreateStream(4);
  // Snapshot: 50 users; the stream then inserts, updates and deletes at random.
  std::map<std::int64_t, std::pair<std::string, std::int64_t>> model;
  std::string lines;
  for (std::int64_t id = 0; id < 50; ++id) {
    model[id] = {"n" + std::to_string(id), 0};
    lines += nlohmann::json{{"id", id}, {"name", model[id].first}, {"v", 0}}.dump() + "\n";
  }
  s3_->PutObject(bucket_, "snap/public.users/part-0.jsonl", lines);
  PutManifest(
      {{"public.users", {{"columns", IdNameV()}, {"objects", {"public.users/part-0.jsonl"}}}}},
      nlohmann::json::object());

  std::mt19937 rng(7);
  for (int i = 0; i < 400; ++i) {
    const std::int64_t id = static_cast<std::int64_t>(rng() % 80);
    const std::string key = "public.users:" + std::to_string(id);
    const auto it = model.find(id);
    if (it == model.end()) {
      model[id] = {"new" + std::to_string(i), i};
      kinesis_->PutRecord(
          stream_, key,
          Change("public.users", "insert", {{"id", id}, {"name", model[id].first}, {"v", i}}));
    } else if (rng() % 4 == 0) {
      model.erase(it);
      kinesis_->PutRecord(stream_, key, Change("public.users", "delete", nullptr, {{"id", id}}));
    } else {
      it->second.second = i;
      // Only v: the name is kept from before (an update's missing column is unchanged).
      kinesis_->PutRecord(stream_, key, Change("public.users", "update", {{"id", id}, {"v", i}}));
    }
  }

  Engine engine;
  engine.AddSource("kinesis", std::make_shared<Source>(Options()));
  auto target = std::make_shared<memory::IndexedTarget>();
  engine.AddPipeline("kinesis", kUsers, target);
  engine.Start();
  ASSERT_TRUE(engine.AwaitReady(30s)) << engine.SourceError("kinesis").value_or("");
  const auto matches = [&] {
    if (target->Count() != model.size()) return false;
    for (const auto& [id, row] : model) {
      const auto got = target->Get({Value(id)});
      if (!got || *got != Row{{"id", id}, {"name", row.first}, {"v", row.second}}) return false;
    }
    return true;
  };
  EXPECT_TRUE(laredo::testing::Eventually(matches, 30s))
      << "replica has " << target->Count() << " rows, producer " << model.size() << "; "
      << engine.SourceError("kinesis").value_or("");
  engine.Stop();
}

}  // namespace
}  // namespace laredo::kinesis::it
