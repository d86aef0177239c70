// The proof of the snapshot's alignment with the stream, on kinesalite + s3rver: a re-snapshot
// taken while changes stream reflects exactly the records before its barriers (the first snapshot
// plus the records between the two barriers of each shard rebuild it, value by value: a record
// missing from it or one after its barrier in it breaks that), and a consumer starting from it
// gets exactly the records after the barriers (no overlap, no gap), sequence number by sequence
// number.
#include <set>
#include <thread>

#include "snapshot_fixture.hpp"

namespace laredo::kinesis::it {
namespace {

using namespace std::chrono_literals;
using Rows = std::map<TableIdentifier, std::map<std::int64_t, Row>>;

class SnapshotAlignmentIt : public SnapshotIt {
 protected:
  // The rows of snapshot `id`, loaded by a consumer from the snapshot's own manifest.
  Rows LoadSnapshot(const std::string& id) {
    auto options = Options();
    options.prefix = "snap/" + id;
    Source source(options);
    source.Init(SourceConfig{.tables = {kItems, kLog}});
    Rows rows;
    source.Baseline({}, {kItems, kLog}, [&](const TableIdentifier& table, Row row) {
      rows[table][row.at("id").AsInt()] = std::move(row);
    });
    return rows;
  }

  // Applies a change record the way the consumer's targets do.
  static void Apply(Rows& rows, const ChangeEvent& e) {
    auto& table = rows[e.table];
    switch (e.action) {
      case ChangeAction::Insert:
        table[e.new_values.at("id").AsInt()] = e.new_values;
        break;
      case ChangeAction::Update: {
        const Value* old_id = e.old_values.Find("id");
        const std::int64_t from =
            old_id != nullptr ? old_id->AsInt() : e.new_values.at("id").AsInt();
        Row row = e.new_values;
        const auto it = table.find(from);
        for (std::size_t i = 0; i < row.size(); ++i) {
          if (!row.value(i).IsUnchanged()) continue;
          ASSERT_NE(it, table.end()) << "unchanged columns of a row not held";
          row.value(i) = it->second.at((*row.names())[i]);
        }
        if (it != table.end()) table.erase(it);
        table[row.at("id").AsInt()] = std::move(row);
        break;
      }
      case ChangeAction::Delete:
        table.erase(e.old_values.at("id").AsInt());
        break;
      case ChangeAction::Truncate:
        table.clear();
        break;
    }
  }

  // Applies the change records of `raw` after `from` and up to `to` on each shard (a shard absent
  // from `from` from its start, one absent from `to` to its end).
  static std::size_t Replay(Rows& rows, const std::vector<RawRecord>& raw,
                            const std::map<std::string, std::string>& from,
                            const std::map<std::string, std::string>& to) {
    std::size_t applied = 0;
    for (const auto& r : raw) {
      if (r.decoded.control) continue;
      const SequenceNumber seq(r.sequence_number);
      if (const auto f = from.find(r.shard);
          f != from.end() && !(SequenceNumber(f->second) < seq)) {
        continue;
      }
      if (const auto t = to.find(r.shard); t != to.end() && SequenceNumber(t->second) < seq) {
        continue;
      }
      Apply(rows, r.decoded.event);
      ++applied;
    }
    return applied;
  }

  static void ExpectSameRows(const Rows& got, const Rows& expected, const std::string& what) {
    for (const auto& table : {kItems, kLog}) {
      const auto g = got.find(table);
      const auto e = expected.find(table);
      const std::size_t gn = g == got.end() ? 0 : g->second.size();
      const std::size_t en = e == expected.end() ? 0 : e->second.size();
      EXPECT_EQ(gn, en) << what << " " << table.ToString();
      if (e == expected.end()) continue;
      for (const auto& [id, row] : e->second) {
        const auto it = g == got.end() ? decltype(g->second.end()){} : g->second.find(id);
        if (g == got.end() || it == g->second.end()) {
          ADD_FAILURE() << what << " " << table.ToString() << " lacks id " << id;
          continue;
        }
        for (const auto& column : SnapColumns()) {
          EXPECT_EQ(it->second.at(column.name), row.at(column.name))
              << what << " " << table.ToString() << " id " << id << " " << column.name;
        }
      }
    }
  }
};

TEST_F(SnapshotAlignmentIt, AReSnapshotReflectsExactlyTheRecordsBeforeItsBarriers) {
  CreateStream(3);
  for (int id = 1; id <= 40; ++id) source_->AddRow(kItems, SnapRow(id, 1000 + id));
  for (int id = 1; id <= 10; ++id) source_->AddRow(kLog, SnapRow(id, 2000 + id));
  auto options = Publishing();
  options.snapshots.keep = 5;  // the first snapshot stays to be compared with
  auto publisher = std::make_shared<Publisher>(options);
  auto engine = Publish(publisher);
  const std::string first_id = publisher->GetStats().last_snapshot_id;
  const auto first_manifest =
      nlohmann::json::parse(s3_->GetObjectText(bucket_, "snap/" + first_id + "/manifest.json"));
  const auto first_position =
      first_manifest.at("stream_position").get<std::map<std::string, std::string>>();

  // The re-snapshot falls amid a stream of changes.
  std::mt19937 rng(42);
  std::int64_t next_v = 1;
  // Changes in steps of 20 (each step once Kinesis holds the one before: the `log` table, one
  // partition key, goes one record per round trip), for as long as the snapshot is under way and
  // 20 steps more.
  std::atomic<bool> snapshot_done{false};
  std::jthread emitter([&] {
    for (int after_snapshot = 0; after_snapshot < 20;) {
      Mutate(next_v, rng, 20);
      if (!source_->AwaitAck(source_->CurrentPosition(), 30s)) return;
      if (snapshot_done) ++after_snapshot;
    }
  });
  ASSERT_TRUE(laredo::testing::Eventually(
      [&] { return publisher->GetStats().records_written >= 300; }, 30s));
  const SnapshotReport second = publisher->SnapshotNow();
  snapshot_done = true;
  emitter.join();
  ASSERT_TRUE(source_->AwaitAck(source_->CurrentPosition(), 60s))
      << engine->SourceError("pg").value_or("");
  ASSERT_EQ(second.stream_position.size(), 3U);
  std::cout << "[ measure ] snapshot " << second.rows << " rows: changes waited "
            << second.pause.count() << " ms, " << second.duration.count() << " ms in all\n";

  const auto raw = ReadStream();
  // One barrier of the re-snapshot per shard, at the manifest's position.
  std::map<std::string, std::string> barriers;
  for (const auto& r : raw) {
    if (r.barrier_of == second.snapshot_id) {
      EXPECT_TRUE(barriers.emplace(r.shard, r.sequence_number).second) << "two barriers";
    }
  }
  EXPECT_EQ(barriers, second.stream_position);
  // The test means something only if changes are on both sides of the barriers.
  Rows replayed = LoadSnapshot(first_id);
  const std::size_t between = Replay(replayed, raw, first_position, second.stream_position);
  Rows after_second = LoadSnapshot(second.snapshot_id);
  const std::size_t after = Replay(after_second, raw, second.stream_position, {});
  EXPECT_GT(between, 100U);
  EXPECT_GT(after, 100U);

  // No gap and no overlap in the snapshot: first snapshot + records up to the barriers == it.
  ExpectSameRows(replayed, LoadSnapshot(second.snapshot_id), "first snapshot + records before");
  // ... and it + records after the barriers == the origin.
  Rows origin;
  for (const auto& table : {kItems, kLog}) {
    for (auto& row : source_->Contents(table)) origin[table][row.at("id").AsInt()] = row;
  }
  ExpectSameRows(after_second, origin, "re-snapshot + records after");

  // A consumer from the re-snapshot gets exactly the records after the barriers.
  std::set<std::pair<std::string, std::string>> expected;
  for (const auto& r : raw) {
    const auto at = second.stream_position.find(r.shard);
    if (!r.decoded.control && (at == second.stream_position.end() ||
                               SequenceNumber(at->second) < SequenceNumber(r.sequence_number))) {
      expected.emplace(r.shard, r.sequence_number);
    }
  }
  Source consumer(Options());
  consumer.Init(SourceConfig{.tables = {kItems, kLog}});
  const Position start = consumer.Baseline({}, {kItems, kLog}, [](const auto&, const Row&) {});
  CollectingHandler handler;
  StreamThread stream(consumer, start, handler);
  ASSERT_TRUE(handler.AwaitCount(expected.size(), 30s)) << stream.Error();
  stream.Stop();
  std::set<std::pair<std::string, std::string>> delivered;
  auto previous = std::any_cast<StreamPosition>(start);
  for (const auto& event : handler.Events()) {
    const auto& now = std::any_cast<const StreamPosition&>(event.position);
    int moved = 0;
    for (const auto& [shard, seq] : now.shards) {
      const auto was = previous.shards.find(shard);
      if (was != previous.shards.end() && was->second == seq) continue;
      ++moved;
      EXPECT_TRUE(delivered.emplace(shard, seq.ToString()).second);
    }
    EXPECT_EQ(moved, 1);
    previous = now;
  }
  for (const auto& record : delivered) {
    EXPECT_TRUE(expected.contains(record))
        << "overlap: " << record.first << " " << record.second << " is before the barrier";
  }
  for (const auto& record : expected) {
    EXPECT_TRUE(delivered.contains(record))
        << "gap: " << record.first << " " << record.second << " was not delivered";
  }
  EXPECT_TRUE(handler.Invalid().empty()) << "barriers must be skipped, not reported";
  engine->Stop();
}

}  // namespace
}  // namespace laredo::kinesis::it
