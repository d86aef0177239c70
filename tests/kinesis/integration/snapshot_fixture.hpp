#pragma once

// What the publisher-snapshot integration tests share: a test source (tables `items`, keyed by
// id, and `log`, partitioned by table name so that its truncates are ordered) feeding a
// `Publisher` that writes snapshots to s3rver, consumers that load them and follow kinesalite, and
// a raw reader of the stream.
#include <map>
#include <random>

#include "aws_env.hpp"
#include "contract.hpp"
#include "laredo/engine.hpp"
#include "laredo/kinesis/publisher.hpp"
#include "laredo/memory/indexed_target.hpp"
#include "laredo/testsource/test_source.hpp"

namespace laredo::kinesis::it {

inline const TableIdentifier kItems = Table("public", "items");
inline const TableIdentifier kLog = Table("public", "log");

inline std::vector<ColumnDefinition> SnapColumns() {
  ColumnDefinition id{.name = "id", .type = "bigint"};
  id.nullable = false;
  id.primary_key = true;
  id.primary_key_ordinal = 1;
  return {id, ColumnDefinition{.name = "name", .type = "text"},
          ColumnDefinition{.name = "v", .type = "bigint"},
          ColumnDefinition{.name = "note", .type = "text"}};
}

inline Row SnapRow(std::int64_t id, std::int64_t v, bool note_unchanged = false) {
  return Row{{"id", Value(id)},
             {"name", Value("row " + std::to_string(id))},
             {"v", Value(v)},
             {"note", note_unchanged ? Value::Unchanged() : Value("note " + std::to_string(v))}};
}

/// A raw record of one shard.
struct RawRecord {
  std::string shard;
  std::string sequence_number;
  contract::DecodedRecord decoded;
  std::string barrier_of;  // the snapshot id of a barrier, else ""
};

class SnapshotIt : public AwsTest {
 protected:
  void SetUp() override {
    AwsTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    source_ = std::make_shared<testsource::TestSource>(testsource::TestSourceOptions{});
    source_->SetSchema(kItems, SnapColumns());
    source_->SetSchema(kLog, SnapColumns());
  }

  [[nodiscard]] PublisherOptions Publishing() const {
    PublisherOptions o;
    o.stream_name = stream_;
    o.region = env_.region;
    o.endpoint = env_.kinesis_endpoint;
    o.retry_backoff = {.initial = std::chrono::milliseconds(1),
                       .max = std::chrono::milliseconds(20),
                       .multiplier = 2.0};
    o.partition_by_table = {kLog};
    o.snapshots.bucket = bucket_;
    o.snapshots.prefix = "snap";
    o.snapshots.endpoint = env_.s3_endpoint;
    o.snapshots.interval = std::chrono::hours(1);  // the tests call SnapshotNow
    o.snapshots.tables = {kItems, kLog};
    return o;
  }

  /// The test source -> `publisher` (both tables); with `await_snapshot`, awaits the first
  /// snapshot (taken when the baselines complete).
  std::unique_ptr<Engine> Publish(const std::shared_ptr<Publisher>& publisher,
                                  bool await_snapshot = true) {
    EngineOptions options;
    options.ack_interval = std::chrono::milliseconds(20);
    auto engine = std::make_unique<Engine>(options);
    engine->AddSource("pg", source_);
    engine->AddPipeline("pg", kItems, publisher);
    engine->AddPipeline("pg", kLog, publisher);
    engine->Start();
    EXPECT_TRUE(engine->AwaitReady(std::chrono::seconds(20)));
    if (!await_snapshot) return engine;
    EXPECT_TRUE(laredo::testing::Eventually(
        [&] { return publisher->GetStats().snapshots_written >= 1; }, std::chrono::seconds(20)))
        << publisher->GetStats().last_snapshot_error;
    return engine;
  }

  /// A consumer engine: `kinesis::Source` -> one indexed target per table.
  struct Consumer {
    std::unique_ptr<Engine> engine;
    std::map<TableIdentifier, std::shared_ptr<memory::IndexedTarget>> targets;
  };
  [[nodiscard]] Consumer StartConsumer() const {
    Consumer c;
    c.engine = std::make_unique<Engine>();
    c.engine->AddSource("kinesis", std::make_shared<Source>(Options()));
    for (const auto& table : {kItems, kLog}) {
      c.targets[table] = std::make_shared<memory::IndexedTarget>();
      c.engine->AddPipeline("kinesis", table, c.targets[table]);
    }
    c.engine->Start();
    return c;
  }

  /// Waits until `c` holds what the test source holds, then compares field by field.
  void ExpectConverges(Consumer& c, const std::string& who) {
    for (const auto& table : {kItems, kLog}) {
      const auto expected = source_->Contents(table);
      auto& target = *c.targets.at(table);
      const bool converged = laredo::testing::Eventually(
          [&] {
            if (target.Count() != expected.size()) return false;
            return std::all_of(expected.begin(), expected.end(),
                               [&](const Row& row) { return target.Get({row.at("id")}) == row; });
          },
          std::chrono::seconds(30));
      EXPECT_TRUE(converged) << who << " " << table.ToString() << ": "
                             << c.engine->SourceError("kinesis").value_or("") << " has "
                             << target.Count() << " rows, expected " << expected.size();
      for (const auto& row : expected) {
        const auto got = target.Get({row.at("id")});
        ASSERT_TRUE(got.has_value()) << who << " lacks " << row.ToString();
        for (const auto& column : SnapColumns()) {
          EXPECT_EQ(got->at(column.name), row.at(column.name))
              << who << " " << table.ToString() << " id " << row.at("id").ToString() << " "
              << column.name;
        }
      }
    }
  }

  /// One round of every kind of change, with `v` values from `next_v` (unique per change):
  /// inserts, full updates, updates leaving `note` unchanged, key changes, deletes; on `log` also
  /// a truncate followed by inserts.
  void Mutate(std::int64_t& next_v, std::mt19937& rng, int changes) {
    std::uniform_int_distribution<int> kind(0, 9);
    std::uniform_int_distribution<std::int64_t> key(1, 60);
    for (int i = 0; i < changes; ++i) {
      const std::int64_t id = key(rng);
      switch (kind(rng)) {
        case 0:
        case 1:
          source_->EmitInsert(kItems, SnapRow(id, next_v++));
          break;
        case 2:
        case 3:
          source_->EmitUpdate(kItems, SnapRow(id, next_v++), Row{{"id", Value(id)}});
          break;
        case 4:
        case 5:  // unchanged columns only for a row that exists (PostgreSQL's rule)
          source_->EmitUpdate(kItems, SnapRow(id, next_v++, Has(kItems, id)),
                              Row{{"id", Value(id)}});
          break;
        case 6:  // the key changes: id -> id + 100 (whatever was there is replaced)
          source_->EmitUpdate(kItems, SnapRow(id + 100, next_v++), Row{{"id", Value(id)}});
          break;
        case 7:
          source_->EmitDelete(kItems, Row{{"id", Value(id)}});
          break;
        case 8:
          source_->EmitInsert(kLog, SnapRow(id, next_v++));
          break;
        default:
          if (id % 4 == 0) {
            source_->EmitTruncate(kLog);
          } else {
            source_->EmitUpdate(kLog, SnapRow(id, next_v++, Has(kLog, id)), Row{{"id", Value(id)}});
          }
          break;
      }
    }
  }

  [[nodiscard]] bool Has(const TableIdentifier& table, std::int64_t id) const {
    const auto rows = source_->Contents(table);
    return std::any_of(rows.begin(), rows.end(),
                       [&](const Row& r) { return r.at("id") == Value(id); });
  }

  /// Every record of every shard, in shard order, decoded (barriers marked).
  std::vector<RawRecord> ReadStream() {
    const contract::Decoder decoder(std::map<TableIdentifier, std::vector<ColumnDefinition>>{
        {kItems, SnapColumns()}, {kLog, SnapColumns()}});
    std::vector<RawRecord> out;
    for (const auto& shard : kinesis_->ListShards(stream_)) {
      auto iterator = kinesis_->GetShardIterator(stream_, shard.shard_id, "TRIM_HORIZON", {});
      while (true) {
        const auto page = kinesis_->GetRecords(iterator, 10000);
        for (const auto& record : page.records) {
          RawRecord raw{shard.shard_id, record.sequence_number, decoder.DecodeRecord(record.data),
                        ""};
          if (raw.decoded.control) {
            raw.barrier_of = nlohmann::json::parse(record.data).at("snapshot_id");
          }
          out.push_back(std::move(raw));
        }
        if (page.records.empty() || !page.next_shard_iterator) break;
        iterator = *page.next_shard_iterator;
      }
    }
    return out;
  }

  std::shared_ptr<testsource::TestSource> source_;
};

}  // namespace laredo::kinesis::it
