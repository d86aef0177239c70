// The publisher on kinesalite: an engine with the test source writes through `Publisher`, a
// `kinesis::Source` consumer reads the stream back into an indexed target; the ACK never passes
// what Kinesis acknowledged; throttling and partial failures (a real proxy in front of kinesalite)
// keep every key in order, also across a shard split while records are in flight; a row over the
// record limit becomes a dead letter and the rest is published.
#include <functional>
#include <map>

#include "aws_env.hpp"
#include "contract.hpp"
#include "fault_proxy.hpp"
#include "laredo/engine.hpp"
#include "laredo/kinesis/publisher.hpp"
#include "laredo/memory/indexed_target.hpp"
#include "laredo/testsource/test_source.hpp"

namespace laredo::kinesis::it {
namespace {

using namespace std::chrono_literals;

const TableIdentifier kItems = Table("public", "items");

std::vector<ColumnDefinition> ItemColumns() {
  const auto column = [](const char* name, const char* type) {
    return ColumnDefinition{.name = name, .type = type};
  };
  ColumnDefinition id = column("id", "bigint");
  id.nullable = false;
  id.primary_key = true;
  id.primary_key_ordinal = 1;
  return {id,
          column("name", "text"),
          column("v", "bigint"),
          column("price", "numeric(10,2)"),
          column("score", "double precision"),
          column("doc", "jsonb"),
          column("raw", "bytea"),
          column("seen", "timestamp with time zone"),
          column("day", "date")};
}

Row Item(std::int64_t id, std::int64_t v) {
  return Row{
      {"id", Value(id)},
      {"name", Value("item " + std::to_string(id))},
      {"v", Value(v)},
      {"price", Value::Numeric(std::to_string(v) + ".50")},
      {"score", v % 3 == 0 ? Value(std::numeric_limits<double>::quiet_NaN()) : Value(0.25 * v)},
      {"doc", Value::Json(R"({"k":[)" + std::to_string(v) + "]}")},
      {"raw", Value::Bytes(std::string("\0\x01\xff", 3) + std::to_string(id))},
      {"seen", Value::TimestampTz(1'714'564'800'000'000LL + v)},
      {"day", v % 2 == 0 ? Value() : Value::Date(19'000 + v)}};
}

nlohmann::json ManifestColumns(const std::vector<ColumnDefinition>& columns) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& c : columns) {
    out.push_back({{"name", c.name},
                   {"type", c.type},
                   {"nullable", c.nullable},
                   {"primary_key", c.primary_key}});
  }
  return out;
}

class PublisherIt : public AwsTest {
 protected:
  void SetUp() override {
    AwsTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    source_ = std::make_shared<testsource::TestSource>(testsource::TestSourceOptions{});
    source_->SetSchema(kItems, ItemColumns());
  }

  [[nodiscard]] PublisherOptions Publishing(const std::string& endpoint) const {
    PublisherOptions o;
    o.stream_name = stream_;
    o.region = env_.region;
    o.endpoint = endpoint;
    o.retry_backoff = {.initial = 1ms, .max = 20ms, .multiplier = 2.0};
    return o;
  }

  // Starts an engine: the test source -> `publisher`.
  std::unique_ptr<Engine> Publish(const std::shared_ptr<Publisher>& publisher,
                                  PipelineOptions pipeline = {}) {
    EngineOptions options;
    options.ack_interval = 20ms;
    auto engine = std::make_unique<Engine>(options);
    engine->AddSource("pg", source_);
    engine->AddPipeline("pg", kItems, publisher, std::move(pipeline));
    engine->Start();
    EXPECT_TRUE(engine->AwaitReady(20s));
    return engine;
  }

  // Reads the stream from its start with a `kinesis::Source` into an indexed target until it holds
  // what the test source holds, field by field.
  void ExpectConsumerEqualsSource() {
    PutManifest(
        {{kItems.ToString(),
          {{"columns", ManifestColumns(ItemColumns())}, {"objects", nlohmann::json::array()}}}},
        nlohmann::json::object());
    Engine engine;
    auto target = std::make_shared<memory::IndexedTarget>();
    engine.AddSource("kinesis", std::make_shared<Source>(Options()));
    engine.AddPipeline("kinesis", kItems, target);
    engine.Start();
    const auto expected = source_->Contents(kItems);
    const bool converged = laredo::testing::Eventually(
        [&] {
          if (target->Count() != expected.size()) return false;
          for (const auto& row : expected) {
            if (target->Get({row.at("id")}) != row) return false;
          }
          return true;
        },
        30s);
    EXPECT_TRUE(converged) << engine.SourceError("kinesis").value_or("") << " consumer has "
                           << target->Count() << " rows, source " << expected.size();
    for (const auto& row : expected) {
      const auto got = target->Get({row.at("id")});
      ASSERT_TRUE(got.has_value()) << row.ToString();
      for (const auto& column : ItemColumns()) {
        EXPECT_EQ(got->at(column.name), row.at(column.name))
            << "id " << row.at("id").ToString() << " column " << column.name;
      }
    }
    engine.Stop();
  }

  // Per key, the `v` of every record in the stream, in shard order (a plain GetRecords reader).
  std::map<std::int64_t, std::vector<std::int64_t>> ReadValuesByKey() {
    const contract::Decoder decoder(
        std::map<TableIdentifier, std::vector<ColumnDefinition>>{{kItems, ItemColumns()}});
    std::map<std::int64_t, std::vector<std::int64_t>> by_key;
    for (const auto& shard : kinesis_->ListShards(stream_)) {
      auto iterator = kinesis_->GetShardIterator(stream_, shard.shard_id, "TRIM_HORIZON", {});
      while (true) {
        const auto page = kinesis_->GetRecords(iterator, 10000);
        for (const auto& record : page.records) {
          const auto event = decoder.DecodeRecord(record.data).event;
          const Row& row =
              event.action == ChangeAction::Delete ? event.old_values : event.new_values;
          const Value* v = row.Find("v");
          by_key[row.at("id").AsInt()].push_back(v == nullptr || v->IsNull() ? -1 : v->AsInt());
        }
        if (page.records.empty() || !page.next_shard_iterator) break;
        iterator = *page.next_shard_iterator;
      }
    }
    return by_key;
  }

  // Every key's values are those of `rounds` rounds, in order (a record written again right
  // after itself, when its response was lost, is allowed).
  static void ExpectEveryKeyInOrder(const std::map<std::int64_t, std::vector<std::int64_t>>& by_key,
                                    int keys, int rounds) {
    ASSERT_EQ(by_key.size(), static_cast<std::size_t>(keys));
    for (const auto& [id, values] : by_key) {
      std::vector<std::int64_t> distinct;
      for (std::size_t i = 0; i < values.size(); ++i) {
        if (i > 0) {
          ASSERT_LE(values[i - 1], values[i]) << "key " << id << " reordered";
        }
        if (distinct.empty() || distinct.back() != values[i]) distinct.push_back(values[i]);
      }
      std::vector<std::int64_t> all(static_cast<std::size_t>(rounds));
      for (int r = 0; r < rounds; ++r) all[static_cast<std::size_t>(r)] = r + 1;
      EXPECT_EQ(distinct, all) << "key " << id;
    }
  }

  // Publishes 30 rounds of updates of 40 keys through a throttling proxy and runs `reshard`
  // while the first half is still being written; then every key's records, parents' before
  // children's (ListShards lists parents first), are in order and the consumer equals the source.
  void ReshardWhilePublishing(const std::function<void()>& reshard) {
    FaultProxy proxy("127.0.0.1", http::Endpoint::Parse(env_.kinesis_endpoint).port);
    proxy.SetFaults({.throttle_request_percent = 20, .fail_entry_percent = 20});
    auto options = Publishing(proxy.Endpoint());
    options.max_records_per_request = 25;
    auto publisher = std::make_shared<Publisher>(options);
    auto engine = Publish(publisher);
    constexpr int kKeys = 40;
    constexpr int kRounds = 30;
    const auto emit_rounds = [&](int first, int last) {
      for (int round = first; round <= last; ++round) {
        for (int id = 1; id <= kKeys; ++id) {
          if (round == 1) {
            source_->EmitInsert(kItems, Item(id, 1));
          } else {
            source_->EmitUpdate(kItems, Item(id, round), Row{{"id", Value(id)}});
          }
        }
      }
    };
    emit_rounds(1, 15);
    reshard();
    emit_rounds(16, 22);
    ASSERT_TRUE(laredo::testing::Eventually(
        [&] { return kinesis_->DescribeStreamStatus(stream_) == "ACTIVE"; }, 30s));
    emit_rounds(23, kRounds);
    ASSERT_TRUE(source_->AwaitAck(source_->CurrentPosition(), 60s))
        << engine->SourceError("pg").value_or("");
    engine->Stop();
    ExpectEveryKeyInOrder(ReadValuesByKey(), kKeys, kRounds);
    ExpectConsumerEqualsSource();
  }

  std::shared_ptr<testsource::TestSource> source_;
};

TEST_F(PublisherIt, AConsumerReadsBackWhatTheSourceHoldsAcrossInsertsUpdatesAndDeletes) {
  CreateStream(3);
  auto publisher = std::make_shared<Publisher>(Publishing(env_.kinesis_endpoint));
  auto engine = Publish(publisher);
  for (int id = 1; id <= 60; ++id) source_->EmitInsert(kItems, Item(id, 1));
  for (int id = 1; id <= 60; id += 2)
    source_->EmitUpdate(kItems, Item(id, 2), Row{{"id", Value(id)}});
  for (int id = 1; id <= 60; id += 5) source_->EmitDelete(kItems, Row{{"id", Value(id)}});
  for (int id = 3; id <= 60; id += 10)
    source_->EmitUpdate(kItems, Item(id, 3), Row{{"id", Value(id)}});
  source_->EmitInsert(kItems, Item(1, 4));  // deleted, then back
  ASSERT_TRUE(source_->AwaitAck(source_->CurrentPosition(), 20s))
      << engine->SourceError("pg").value_or("");
  EXPECT_EQ(publisher->GetStats().records_unwritten, 0U);
  engine->Stop();
  ExpectConsumerEqualsSource();
}

TEST_F(PublisherIt, TheSourceAckNeverPassesWhatKinesisAcknowledged) {
  CreateStream(1);
  FaultProxy proxy("127.0.0.1", http::Endpoint::Parse(env_.kinesis_endpoint).port);
  auto publisher = std::make_shared<Publisher>(Publishing(proxy.Endpoint()));
  auto engine = Publish(publisher);
  for (int id = 1; id <= 10; ++id) source_->EmitInsert(kItems, Item(id, 1));
  const std::uint64_t first = source_->CurrentPosition();
  ASSERT_TRUE(source_->AwaitAck(first, 20s)) << engine->SourceError("pg").value_or("");

  // Kinesis "slow": the next PutRecords is held until the gate opens.
  proxy.Close();
  for (int id = 11; id <= 20; ++id) source_->EmitInsert(kItems, Item(id, 1));
  const std::uint64_t second = source_->CurrentPosition();
  ASSERT_TRUE(source_->AwaitDelivered(second, 20s));
  ASSERT_TRUE(proxy.AwaitHeld(1, 20s));
  // Several ACK intervals pass with the records delivered to the target but not in Kinesis.
  EXPECT_FALSE(source_->AwaitAck(first + 1, 300ms));
  EXPECT_EQ(source_->LastAck(), first);
  EXPECT_FALSE(publisher->IsDurable());

  proxy.Open();
  ASSERT_TRUE(source_->AwaitAck(second, 20s));
  // Every acknowledged position was written before it was acknowledged: the newest ACK is at
  // most the newest position Kinesis holds.
  std::uint64_t newest_written = 0;
  for (const auto& text : proxy.WrittenPositions()) {
    newest_written =
        std::max(newest_written, testsource::TestSource::Unwrap(source_->PositionFromString(text)));
  }
  for (const auto ack : source_->AckedPositions()) EXPECT_LE(ack, newest_written);
  engine->Stop();
}

TEST_F(PublisherIt, ThrottlingAndPartialFailuresKeepEveryKeyInOrder) {
  CreateStream(2);
  FaultProxy proxy("127.0.0.1", http::Endpoint::Parse(env_.kinesis_endpoint).port);
  proxy.SetFaults(
      {.throttle_request_percent = 15, .fail_entry_percent = 30, .lose_response_percent = 10});
  auto options = Publishing(proxy.Endpoint());
  options.max_records_per_request = 40;
  options.max_in_flight = 4;
  auto publisher = std::make_shared<Publisher>(options);
  auto engine = Publish(publisher);
  constexpr int kKeys = 25;
  constexpr int kRounds = 12;
  for (int id = 1; id <= kKeys; ++id) source_->EmitInsert(kItems, Item(id, 1));
  for (int round = 2; round <= kRounds; ++round) {
    for (int id = 1; id <= kKeys; ++id) {
      source_->EmitUpdate(kItems, Item(id, round), Row{{"id", Value(id)}});
    }
  }
  ASSERT_TRUE(source_->AwaitAck(source_->CurrentPosition(), 60s))
      << engine->SourceError("pg").value_or("");
  engine->Stop();
  const auto counts = proxy.GetCounts();
  EXPECT_GT(counts.throttled_requests, 0);
  EXPECT_GT(counts.failed_entries, 0);
  EXPECT_GT(counts.lost_responses, 0);
  EXPECT_GT(publisher->GetStats().records_retried, 0U);

  ExpectEveryKeyInOrder(ReadValuesByKey(), kKeys, kRounds);
  ExpectConsumerEqualsSource();
}

TEST_F(PublisherIt, AShardSplitWhileRecordsAreInFlightKeepsEveryKeyInOrder) {
  CreateStream(1);
  ReshardWhilePublishing([&] {
    const auto parent = kinesis_->ListShards(stream_).at(0).shard_id;
    kinesis_->SplitShard(stream_, parent, "170141183460469231731687303715884105728");
  });
  EXPECT_EQ(kinesis_->ListShards(stream_).size(), 3U);
}

TEST_F(PublisherIt, AShardMergeWhileRecordsAreInFlightKeepsEveryKeyInOrder) {
  CreateStream(2);
  ReshardWhilePublishing([&] {
    const auto shards = kinesis_->ListShards(stream_);
    kinesis_->MergeShards(stream_, shards.at(0).shard_id, shards.at(1).shard_id);
  });
  EXPECT_EQ(kinesis_->ListShards(stream_).size(), 3U);
}

TEST_F(PublisherIt, ARowOverTheRecordLimitIsADeadLetterAndTheRestIsPublished) {
  CreateStream(1);
  auto options = Publishing(env_.kinesis_endpoint);
  options.max_record_bytes = 4096;  // the 1 MiB limit, scaled down
  auto publisher = std::make_shared<Publisher>(options);
  auto letters = std::make_shared<InMemoryDeadLetterSink>();
  PipelineOptions pipeline{.error_policy = {.on_exhausted = ErrorAction::Skip},
                           .dead_letter = letters};
  auto engine = Publish(publisher, pipeline);
  for (int id = 1; id <= 10; ++id) {
    Row row = Item(id, 1);
    if (id == 5) row["name"] = Value(std::string(8000, 'x'));
    source_->EmitInsert(kItems, std::move(row));
  }
  ASSERT_TRUE(source_->AwaitAck(source_->CurrentPosition(), 30s))
      << engine->SourceError("pg").value_or("");
  ASSERT_EQ(letters->Count(), 1U);
  const auto letter = letters->Letters().front();
  EXPECT_EQ(letter.operation, "insert");
  EXPECT_EQ(letter.new_values.at("id"), Value(std::int64_t{5}));
  EXPECT_NE(letter.error.find("over the limit of 4096 bytes"), std::string::npos) << letter.error;
  EXPECT_EQ(letter.attempts, 1);  // a DataError is not retried
  engine->Stop();
  const auto by_key = ReadValuesByKey();
  EXPECT_EQ(by_key.size(), 9U);
  EXPECT_FALSE(by_key.contains(5));
}

}  // namespace
}  // namespace laredo::kinesis::it
