// S3SnapshotStore on s3rver: a round trip through a multipart upload and ranged reads, only
// committed snapshots listed, abandoned writers and crash leftovers cleaned, pruning.
#include "aws_env.hpp"
#include "laredo/engine.hpp"
#include "laredo/error.hpp"
#include "laredo/error_codes.hpp"
#include "laredo/kinesis/s3_snapshot_store.hpp"
#include "laredo/memory/indexed_target.hpp"
#include "laredo/testsource/test_source.hpp"

namespace laredo::kinesis::it {
namespace {

const TableIdentifier kBig = Table("public", "big");
const TableIdentifier kSmall = Table("public", "small");

std::vector<ColumnDefinition> Columns() {
  return {{.name = "id", .type = "bigint", .nullable = false, .primary_key = true},
          {.name = "body", .type = "text"},
          {.name = "at", .type = "timestamptz"}};
}

Row BigRow(std::int64_t id) {
  std::string body = "row " + std::to_string(id) + " ";
  body.resize(120, static_cast<char>('a' + id % 26));
  return Row{{"id", id}, {"body", std::move(body)}, {"at", Value::TimestampTz(id * 1'000'003)}};
}

class SnapshotStoreIt : public AwsTest {
 protected:
  [[nodiscard]] S3SnapshotStoreOptions StoreOptions() const {
    return {.bucket = bucket_,
            .prefix = "replicas/users/",
            .region = env_.region,
            .endpoint = env_.s3_endpoint,
            .part_size = std::size_t{5} << 20,  // S3's minimum: small files still take one part
            .read_size = std::size_t{1} << 20};
  }

  /// Keys under the store's prefix.
  std::vector<std::string> Keys() { return s3_->ListAllObjects(bucket_, "replicas/users/", 1000); }

  snapshot::SnapshotMetadata Write(snapshot::SnapshotStore& store, std::int64_t big_rows,
                                   const std::string& position) {
    auto writer = store.Begin();
    writer->AddSource("main", position);
    auto big = writer->BeginTable(kBig, Columns());
    auto small = writer->BeginTable(kSmall, Columns());
    for (std::int64_t i = 0; i < big_rows; ++i) big->Write(BigRow(i));
    small->Write(BigRow(-1));
    big->Finish();
    small->Finish();
    return writer->Commit();
  }
};

TEST_F(SnapshotStoreIt, RoundTripsThroughAMultipartUploadAndRangedReads) {
  S3SnapshotStore store(StoreOptions());
  EXPECT_TRUE(store.List().empty());
  constexpr std::int64_t kRows = 100'000;
  const auto written = Write(store, kRows, "shard-0:42");
  const snapshot::TableEntry* big = written.FindTable(kBig);
  ASSERT_NE(big, nullptr);
  ASSERT_GT(big->bytes, std::uint64_t{10} << 20) << "the file must need three parts";

  const auto listed = store.List();
  ASSERT_EQ(listed.size(), 1U);
  EXPECT_EQ(listed[0], written);
  auto snapshot = store.OpenNewest();
  ASSERT_NE(snapshot, nullptr);
  EXPECT_EQ(snapshot->metadata().FindSource("main")->position, "shard-0:42");

  auto reader = snapshot->OpenTable(kBig);
  Row row;
  std::int64_t n = 0;
  while (reader->Next(row)) {
    ASSERT_EQ(row, BigRow(n)) << "row " << n;
    ++n;
  }
  EXPECT_EQ(n, kRows);

  // And into a target.
  memory::IndexedTarget target;
  auto small = snapshot->OpenTable(kSmall);
  target.Restore(kSmall, small->columns(), *small);
  EXPECT_EQ(target.Get({Value(-1)}), BigRow(-1));
}

TEST_F(SnapshotStoreIt, OnlyCommittedSnapshotsExistAndAbandonedOnesLeaveNothing) {
  S3SnapshotStore store(StoreOptions());
  const auto committed = Write(store, 10, "p1");
  const auto committed_keys = Keys();
  {
    auto writer = store.Begin();
    auto table = writer->BeginTable(kBig, Columns());
    for (std::int64_t i = 0; i < 100; ++i) table->Write(BigRow(i));
    table->Finish();  // uploaded, but never committed
    EXPECT_EQ(store.List().size(), 1U);
    EXPECT_GT(Keys().size(), committed_keys.size());
  }
  EXPECT_EQ(Keys(), committed_keys);
  EXPECT_EQ(store.List().front().id, committed.id);
  try {
    (void)store.Open(snapshot::NewSnapshotId());
    FAIL() << "opened a snapshot that does not exist";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), codes::kSnapshotNotFound);
  }
}

TEST_F(SnapshotStoreIt, PruneKeepsTheNewestAndRemovesCrashLeftovers) {
  S3SnapshotStore store(StoreOptions());
  // What a writer that crashed before its commit leaves: files without metadata.
  const std::string crashed = snapshot::NewSnapshotId();
  s3_->PutObject(bucket_, "replicas/users/" + crashed + "/000-public.big.lrt", "partial");
  std::vector<std::string> ids;
  for (int i = 0; i < 4; ++i) ids.push_back(Write(store, 5, "p" + std::to_string(i)).id);
  std::vector<std::string> listed;
  for (const auto& m : store.List()) listed.push_back(m.id);
  EXPECT_EQ(listed, (std::vector<std::string>{ids[3], ids[2], ids[1], ids[0]}));

  EXPECT_EQ(store.Prune(2), 2U);
  listed.clear();
  for (const auto& m : store.List()) listed.push_back(m.id);
  EXPECT_EQ(listed, (std::vector<std::string>{ids[3], ids[2]}));
  for (const auto& key : Keys()) {
    EXPECT_TRUE(key.find(ids[3]) != std::string::npos || key.find(ids[2]) != std::string::npos)
        << key << " survived the prune";
  }
  EXPECT_EQ(Keys().size(), 6U);  // two snapshots: metadata and two tables each
}

TEST_F(SnapshotStoreIt, RefusesPartsSmallerThanS3Allows) {
  auto options = StoreOptions();
  options.part_size = 1 << 20;
  EXPECT_THROW(S3SnapshotStore{options}, ConfigError);
}

// The engine's snapshots in S3: the shutdown snapshot goes to the bucket, and a restart restores
// from it without a baseline; a corrupt object in the bucket falls back to one.
TEST_F(SnapshotStoreIt, AnEngineRestartRestoresFromTheBucketWithoutABaseline) {
  auto store = std::make_shared<S3SnapshotStore>(StoreOptions());
  auto source =
      std::make_shared<testsource::TestSource>(testsource::TestSourceOptions{.resumable = true});
  source->SetSchema(kBig, Columns());
  for (std::int64_t i = 0; i < 20'000; ++i) source->AddRow(kBig, BigRow(i));
  EngineOptions options;
  options.ack_interval = std::chrono::milliseconds(5);
  options.snapshots = {
      .store = store, .interval = std::chrono::milliseconds(0), .on_shutdown = true};
  const auto run = [&](std::size_t expected_rows) {
    Engine engine(options);
    auto target = std::make_shared<memory::IndexedTarget>();
    engine.AddSource("main", source);
    engine.AddPipeline("main", kBig, target);
    engine.Start();
    EXPECT_TRUE(engine.AwaitReady(std::chrono::seconds(30))) << engine.NotReadyReason();
    EXPECT_EQ(target->Count(), expected_rows);
    source->EmitInsert(kBig, BigRow(100'000 + static_cast<std::int64_t>(expected_rows)));
    EXPECT_TRUE(
        engine.AwaitApplied("main", Position(source->CurrentPosition()), std::chrono::seconds(30)));
    engine.Stop();
  };
  run(20'000);
  ASSERT_EQ(store->List().size(), 1U);
  EXPECT_EQ(source->BaselineCount(), 1);
  run(20'001);  // restored, and the change of the first run is in it
  EXPECT_EQ(source->BaselineCount(), 1);
  ASSERT_EQ(store->List().size(), 2U);
  // Damage the newest snapshot's table file: the next start baselines instead.
  const auto newest = store->List().front();
  const auto key = "replicas/users/" + newest.id + "/" + newest.tables.front().file;
  s3_->PutObject(bucket_, key, "not a table file");
  run(20'002);
  EXPECT_EQ(source->BaselineCount(), 2);
}

}  // namespace
}  // namespace laredo::kinesis::it
