// The publisher's snapshots on s3rver + kinesalite: consumers that start from the first snapshot,
// while changes stream, and from a re-snapshot all converge to the origin's rows; a reshard
// between snapshots; pruning; a failing S3.
#include <thread>

#include "fault_proxy.hpp"
#include "snapshot_fixture.hpp"

namespace laredo::kinesis::it {
namespace {

using namespace std::chrono_literals;

class PublisherSnapshotIt : public SnapshotIt {
 protected:
  void AddBaselineRows() {
    for (int id = 1; id <= 40; ++id) source_->AddRow(kItems, SnapRow(id, 1000 + id));
    for (int id = 1; id <= 10; ++id) source_->AddRow(kLog, SnapRow(id, 2000 + id));
  }

  nlohmann::json TopManifest() {
    return nlohmann::json::parse(s3_->GetObjectText(bucket_, "snap/manifest.json"));
  }
};

TEST_F(PublisherSnapshotIt, ConsumersStartedAtEveryStageConvergeToTheOrigin) {
  CreateStream(2);
  AddBaselineRows();
  auto publisher = std::make_shared<Publisher>(Publishing());
  auto engine = Publish(publisher);
  const std::string first = TopManifest().at("snapshot_id");
  std::mt19937 rng(7);
  std::int64_t next_v = 1;

  // A: loads the first snapshot before any change was made.
  Consumer a = StartConsumer();
  Mutate(next_v, rng, 300);
  // B: starts while changes stream.
  std::jthread emitter([&] { Mutate(next_v, rng, 300); });
  Consumer b = StartConsumer();
  emitter.join();
  // A re-snapshot while changes keep coming: its barriers fall amid the traffic.
  std::jthread more([&] { Mutate(next_v, rng, 300); });
  const SnapshotReport second = publisher->SnapshotNow();
  more.join();
  EXPECT_TRUE(second.ok);
  EXPECT_NE(second.snapshot_id, first);
  EXPECT_EQ(second.stream_position.size(), 2U);
  EXPECT_EQ(TopManifest().at("snapshot_id"), second.snapshot_id);
  Mutate(next_v, rng, 200);
  // C: starts from the re-snapshot.
  Consumer c = StartConsumer();
  Mutate(next_v, rng, 100);
  ASSERT_TRUE(source_->AwaitAck(source_->CurrentPosition(), 30s))
      << engine->SourceError("pg").value_or("");

  ExpectConverges(a, "consumer from the first snapshot");
  ExpectConverges(b, "consumer started while streaming");
  ExpectConverges(c, "consumer from the re-snapshot");
  EXPECT_EQ(publisher->GetStats().state_anomalies, 0U);
  for (auto* consumer : {&a, &b, &c}) consumer->engine->Stop();
  engine->Stop();
}

// A consumer's re-baseline (the engine asks for one when a target cannot apply a change, or an
// operator does) loads the newest snapshot: the one it started from may have been pruned, and its
// stream position may be older than the stream's retention.
TEST_F(PublisherSnapshotIt, AReBaselineLoadsTheNewestSnapshotNotTheOneTheConsumerStartedFrom) {
  CreateStream(1);
  AddBaselineRows();
  auto publisher = std::make_shared<Publisher>(Publishing());  // keeps 2 snapshots
  auto engine = Publish(publisher);
  const std::string first = TopManifest().at("snapshot_id");
  Consumer c = StartConsumer();
  ASSERT_TRUE(c.engine->AwaitReady(30s)) << c.engine->SourceError("kinesis").value_or("");
  std::mt19937 rng(11);
  std::int64_t next_v = 1;
  Mutate(next_v, rng, 100);
  ASSERT_TRUE(publisher->SnapshotNow().ok);
  const SnapshotReport third = publisher->SnapshotNow();
  ASSERT_TRUE(third.ok);
  // The first snapshot is pruned: its objects are gone.
  EXPECT_TRUE(s3_->ListAllObjects(bucket_, "snap/" + first + "/", 1000).empty());

  // The stream stops at once; the changes below reach the consumer only if the reload worked.
  c.engine->Rebaseline("kinesis", "test: reload");
  Mutate(next_v, rng, 100);
  ASSERT_TRUE(source_->AwaitAck(source_->CurrentPosition(), 30s));
  ExpectConverges(c, "consumer after its re-baseline");
  EXPECT_FALSE(c.engine->SourceError("kinesis").has_value())
      << c.engine->SourceError("kinesis").value_or("");
  c.engine->Stop();
  engine->Stop();
}

TEST_F(PublisherSnapshotIt, ASplitBetweenSnapshotsListsTheClosedParentAndNoConsumerRereadsIt) {
  CreateStream(1);
  AddBaselineRows();
  auto publisher = std::make_shared<Publisher>(Publishing());
  auto engine = Publish(publisher);
  std::mt19937 rng(11);
  std::int64_t next_v = 1;
  Consumer a = StartConsumer();  // from the snapshot before the split
  Mutate(next_v, rng, 200);
  ASSERT_TRUE(source_->AwaitAck(source_->CurrentPosition(), 30s));

  const auto shards = kinesis_->ListShards(stream_);
  ASSERT_EQ(shards.size(), 1U);
  const std::string parent = shards[0].shard_id;
  kinesis_->SplitShard(stream_, parent, "170141183460469231731687303715884105728");
  ASSERT_TRUE(laredo::testing::Eventually(
      [&] { return kinesis_->DescribeStreamStatus(stream_) == "ACTIVE"; }, 30s));
  Mutate(next_v, rng, 200);
  ASSERT_TRUE(source_->AwaitAck(source_->CurrentPosition(), 30s));

  const SnapshotReport second = publisher->SnapshotNow();
  ASSERT_EQ(second.stream_position.size(), 3U);
  std::string parent_end;
  for (const auto& shard : kinesis_->ListShards(stream_)) {
    if (shard.shard_id == parent) parent_end = shard.ending_sequence_number;
  }
  ASSERT_FALSE(parent_end.empty());
  EXPECT_EQ(second.stream_position.at(parent), parent_end) << "a closed shard is fully reflected";

  // B, from the re-snapshot, reads the children only: every event's shard is a child.
  Source direct(Options());
  direct.Init(SourceConfig{.tables = {kItems, kLog}});
  std::size_t rows = 0;
  const Position start =
      direct.Baseline({}, {kItems, kLog}, [&](const auto&, const Row&) { ++rows; });
  CollectingHandler events;
  StreamThread stream(direct, start, events);
  Mutate(next_v, rng, 100);
  Consumer b = StartConsumer();
  ASSERT_TRUE(source_->AwaitAck(source_->CurrentPosition(), 30s));
  ExpectConverges(a, "consumer from before the split");
  ExpectConverges(b, "consumer from after the split");
  stream.Stop();
  EXPECT_EQ(stream.Error(), "");
  ASSERT_FALSE(events.Events().empty());
  StreamPosition previous = std::any_cast<StreamPosition>(start);
  for (const auto& event : events.Events()) {
    const auto& now = std::any_cast<const StreamPosition&>(event.position);
    EXPECT_EQ(now.shards.at(parent), previous.shards.at(parent))
        << "the parent shard was read again over the snapshot";
    previous = now;
  }
  for (auto* consumer : {&a, &b}) consumer->engine->Stop();
  engine->Stop();
}

TEST_F(PublisherSnapshotIt, NoSnapshotIsTakenWhileRecordsAreInFlight) {
  CreateStream(2);
  AddBaselineRows();
  FaultProxy proxy("127.0.0.1", http::Endpoint::Parse(env_.kinesis_endpoint).port);
  auto options = Publishing();
  options.endpoint = proxy.Endpoint();
  options.snapshots.quiesce_timeout = 400ms;
  auto publisher = std::make_shared<Publisher>(options);
  auto engine = Publish(publisher);
  const std::string first = TopManifest().at("snapshot_id");
  std::mt19937 rng(13);
  std::int64_t next_v = 1;
  // Kinesis holds the next PutRecords: changes are admitted (in the state) but not written.
  proxy.Close();
  Mutate(next_v, rng, 30);
  ASSERT_TRUE(proxy.AwaitHeld(1, 20s));
  try {
    (void)publisher->SnapshotNow();
    FAIL() << "a snapshot was taken with records in flight: they would land after its barriers";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), codes::kSnapshotFailed) << e.what();
  }
  EXPECT_EQ(TopManifest().at("snapshot_id"), first) << "nothing is committed";
  EXPECT_EQ(publisher->GetStats().snapshot_failures, 1U);
  proxy.Open();
  ASSERT_TRUE(source_->AwaitAck(source_->CurrentPosition(), 30s));
  const SnapshotReport second = publisher->SnapshotNow();
  EXPECT_TRUE(second.ok);
  Consumer c = StartConsumer();
  ExpectConverges(c, "consumer after the failed attempt");
  c.engine->Stop();
  engine->Stop();
}

TEST_F(PublisherSnapshotIt, ARestartedPublisherRestoresItsStateFromTheNewestSnapshotAndTheStream) {
  CreateStream(2);
  source_ =
      std::make_shared<testsource::TestSource>(testsource::TestSourceOptions{.resumable = true});
  source_->SetSchema(kItems, SnapColumns());
  source_->SetSchema(kLog, SnapColumns());
  AddBaselineRows();
  std::mt19937 rng(17);
  std::int64_t next_v = 1;
  {
    auto publisher = std::make_shared<Publisher>(Publishing());
    auto engine = Publish(publisher);
    Mutate(next_v, rng, 200);
    ASSERT_TRUE(source_->AwaitAck(source_->CurrentPosition(), 30s));
    (void)publisher->SnapshotNow();
    Mutate(next_v, rng, 200);  // after the newest snapshot: only on the stream
    ASSERT_TRUE(source_->AwaitAck(source_->CurrentPosition(), 30s));
    engine->Stop();
  }  // the publisher and its state are gone
  // The restart resumes from the last ACK, without a baseline.
  auto publisher = std::make_shared<Publisher>(Publishing());
  auto engine = Publish(publisher, false);
  EXPECT_EQ(source_->BaselineCount(), 1) << "the restart must resume, not baseline";
  Mutate(next_v, rng, 100);
  ASSERT_TRUE(source_->AwaitAck(source_->CurrentPosition(), 30s));
  // The first change of the unloaded tables started a restore and its snapshot.
  ASSERT_TRUE(laredo::testing::Eventually(
      [&] { return publisher->GetStats().snapshots_written >= 1; }, 30s))
      << publisher->GetStats().last_snapshot_error;
  Mutate(next_v, rng, 100);
  const SnapshotReport again = publisher->SnapshotNow();
  EXPECT_TRUE(again.ok);
  Mutate(next_v, rng, 50);
  ASSERT_TRUE(source_->AwaitAck(source_->CurrentPosition(), 30s));
  Consumer c = StartConsumer();  // from the restored publisher's snapshot
  ExpectConverges(c, "consumer of a restarted publisher");
  EXPECT_EQ(publisher->GetStats().state_anomalies, 0U);
  c.engine->Stop();
  engine->Stop();
}

TEST_F(PublisherSnapshotIt, PruningKeepsTheNewestSnapshotsAfterTheNewerManifestIsInPlace) {
  CreateStream(1);
  AddBaselineRows();
  auto options = Publishing();
  options.snapshots.keep = 2;
  options.snapshots.object_bytes = 500;  // several objects per table
  auto publisher = std::make_shared<Publisher>(options);
  auto engine = Publish(publisher);
  std::vector<std::string> ids{publisher->GetStats().last_snapshot_id};
  std::mt19937 rng(3);
  std::int64_t next_v = 1;
  for (int i = 0; i < 3; ++i) {
    Mutate(next_v, rng, 50);
    ids.push_back(publisher->SnapshotNow().snapshot_id);
  }
  std::set<std::string> dirs;
  const auto keys = s3_->ListAllObjects(bucket_, "snap/", 0);
  for (const auto& key : keys) {
    const std::string rest = key.substr(5);
    if (rest.find('/') != std::string::npos) dirs.insert(rest.substr(0, rest.find('/')));
  }
  EXPECT_EQ(dirs, (std::set<std::string>{ids[2], ids[3]}));
  const auto manifest = TopManifest();
  EXPECT_EQ(manifest.at("snapshot_id"), ids[3]);
  std::size_t objects = 0;
  for (const auto& [name, table] : manifest.at("tables").items()) {
    for (const auto& object : table.at("objects")) {
      ++objects;
      EXPECT_NE(std::find(keys.begin(), keys.end(), "snap/" + object.get<std::string>()),
                keys.end())
          << object;
    }
  }
  EXPECT_GT(objects, 2U);
  // The newest snapshot still loads.
  Consumer c = StartConsumer();
  ExpectConverges(c, "consumer after pruning");
  c.engine->Stop();
  engine->Stop();
}

TEST_F(PublisherSnapshotIt, AFailingS3IsReportedAndTheStreamIsStillAcknowledged) {
  CreateStream(1);
  AddBaselineRows();
  auto options = Publishing();
  options.snapshots.bucket = bucket_ + "-missing";
  const std::string secret = "not-a-real-secret-5d1f";
  options.snapshots.credentials =
      AwsCredentials{.access_key_id = "S3RVER", .secret_access_key = secret};
  std::mutex mu;
  std::vector<SnapshotReport> reports;
  options.snapshots.on_snapshot = [&](const SnapshotReport& r) {
    std::lock_guard lk(mu);
    reports.push_back(r);
  };
  auto publisher = std::make_shared<Publisher>(options);
  auto engine = Publish(publisher, false);
  // The snapshot after the baselines failed, and said so.
  ASSERT_TRUE(laredo::testing::Eventually(
      [&] { return publisher->GetStats().snapshot_failures >= 1; }, 20s));
  EXPECT_THROW(publisher->SnapshotNow(), Error);
  const auto stats = publisher->GetStats();
  EXPECT_EQ(stats.snapshots_written, 0U);
  EXPECT_NE(stats.last_snapshot_error.find(options.snapshots.bucket), std::string::npos)
      << stats.last_snapshot_error;
  EXPECT_EQ(stats.last_snapshot_error.find(secret), std::string::npos);
  {
    std::lock_guard lk(mu);
    ASSERT_GE(reports.size(), 2U);
    EXPECT_FALSE(reports.back().ok);
  }
  // Changes go on being written and acknowledged.
  std::mt19937 rng(5);
  std::int64_t next_v = 1;
  Mutate(next_v, rng, 50);
  EXPECT_TRUE(source_->AwaitAck(source_->CurrentPosition(), 30s));
  engine->Stop();
}

}  // namespace
}  // namespace laredo::kinesis::it
