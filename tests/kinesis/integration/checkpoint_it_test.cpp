// Checkpoints: a restart continues after the acknowledged position (file and DynamoDB stores),
// and two consumers cannot move a DynamoDB checkpoint backwards.
#include <filesystem>

#include "aws_env.hpp"
#include "laredo/error.hpp"
#include "laredo/kinesis/dynamodb_checkpoint_store.hpp"
#include "laredo/kinesis/position.hpp"
#include "source_internals.hpp"

namespace laredo::kinesis::it {
namespace {

using namespace std::chrono_literals;

const TableIdentifier kUsers = Table("public", "users");

class CheckpointIt : public AwsTest {
 protected:
  void SetUp() override {
    AwsTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    PutManifest({{"public.users", {{"columns", IdNameV()}, {"objects", nlohmann::json::array()}}}},
                nlohmann::json::object());
  }

  void Put(std::int64_t id, std::int64_t v) {
    kinesis_->PutRecord(stream_, "public.users:" + std::to_string(id),
                        Change("public.users", "update",
                               {{"id", id}, {"name", "n" + std::to_string(id)}, {"v", v}}));
  }

  void ExpectABaselineStartsANewLineage(
      const std::function<std::shared_ptr<CheckpointStore>()>& make_store);

  DynamoDbCheckpointOptions DynamoOptions(const std::string& table, const std::string& key) const {
    return {.table = table,
            .key = key,
            .key_attribute = "id",
            .region = env_.region,
            .endpoint = env_.dynamodb_endpoint,
            .credentials = std::nullopt};
  }
};

std::vector<std::pair<std::int64_t, std::int64_t>> IdAndV(const std::vector<ChangeEvent>& events,
                                                          std::size_t from = 0) {
  std::vector<std::pair<std::int64_t, std::int64_t>> out;
  for (std::size_t i = from; i < events.size(); ++i) {
    out.emplace_back(events[i].new_values.at("id").AsInt(), events[i].new_values.at("v").AsInt());
  }
  std::sort(out.begin(), out.end());
  return out;
}

TEST_F(CheckpointIt, RestartRedeliversOnlyWhatFollowsTheCheckpoint) {
  CreateStream(3);
  for (int v = 1; v <= 4; ++v) {
    for (int id = 0; id < 10; ++id) Put(id, v);
  }
  const auto dir = std::filesystem::temp_directory_path() / UniqueName("ckpt");
  std::filesystem::create_directories(dir);
  auto store = std::make_shared<FileCheckpointStore>(dir / "checkpoint");

  std::vector<ChangeEvent> first;
  {
    auto options = Options();
    options.checkpoint_store = store;
    Source source(options);
    source.Init(SourceConfig{.tables = {kUsers}, .options = {}});
    EXPECT_TRUE(source.SupportsResume());
    EXPECT_FALSE(source.LastAckedPosition().has_value());
    CollectingHandler handler;
    StreamThread thread(source, Position(), handler);
    ASSERT_TRUE(handler.AwaitCount(40)) << thread.Error();
    thread.Stop();
    first = handler.Events();
    source.Ack(first[24].position);
    source.Ack(first[10].position);  // older: ignored
    source.Close();
  }
  for (int id = 0; id < 10; ++id) Put(id, 5);

  auto options = Options();
  options.checkpoint_store = store;
  Source source(options);
  source.Init(SourceConfig{.tables = {kUsers}, .options = {}});
  const Position resume = source.LastAckedPosition();
  ASSERT_TRUE(resume.has_value());
  EXPECT_EQ(source.PositionToString(resume), source.PositionToString(first[24].position));
  CollectingHandler handler;
  StreamThread thread(source, resume, handler);
  ASSERT_TRUE(handler.AwaitCount(25)) << thread.Error();
  std::this_thread::sleep_for(300ms);  // and nothing more
  thread.Stop();

  auto expected = IdAndV(first, 25);
  for (std::int64_t id = 0; id < 10; ++id) expected.emplace_back(id, 5);
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(IdAndV(handler.Events()), expected);
  std::filesystem::remove_all(dir);
}

TEST_F(CheckpointIt, EngineResumesFromADynamoDbCheckpointWithoutABaseline) {
  CreateStream(2);
  for (int id = 0; id < 20; ++id) Put(id, 1);
  const std::string table = UniqueName("ckpt");
  auto setup = DynamoDbCheckpointStore(DynamoOptions(table, "consumer-a"));
  setup.CreateTableIfMissing();

  EngineOptions engine_options;
  engine_options.ack_interval = 50ms;
  // One run of consumer-a: a fresh engine and a target that keeps its rows across restarts.
  const auto start = [&](Engine& engine) {
    auto options = Options();
    options.checkpoint_store =
        std::make_shared<DynamoDbCheckpointStore>(DynamoOptions(table, "consumer-a"));
    engine.AddSource("kinesis", std::make_shared<Source>(options));
    auto target = std::make_shared<laredo::testing::RecordingTarget>();
    target->SetKeepsState(true);
    engine.AddPipeline("kinesis", kUsers, target);
    engine.Start();
    return target;
  };
  {
    Engine engine(engine_options);
    const auto target = start(engine);
    ASSERT_TRUE(target->AwaitApplied(20, 20s)) << engine.SourceError("kinesis").value_or("");
    engine.Stop();  // the final ACK covers all 20
  }
  for (int id = 0; id < 20; ++id) Put(id, 2);

  Engine engine(engine_options);
  const auto target = start(engine);
  ASSERT_TRUE(target->AwaitApplied(20, 20s)) << engine.SourceError("kinesis").value_or("");
  std::this_thread::sleep_for(300ms);
  engine.Stop();
  EXPECT_EQ(target->CountOf("baseline"), 0U);
  const auto calls = target->Calls();
  std::size_t updates = 0;
  for (const auto& call : calls) {
    if (call.op != "update") continue;
    ++updates;
    EXPECT_EQ(call.row.at("v"), Value(2)) << call.row.ToString();
  }
  EXPECT_EQ(updates, 20U);
}

// A restart whose target kept nothing re-baselines and reads the stream again from the snapshot:
// a new checkpoint lineage, behind the saved checkpoint. Its ACKs must be saved (the checkpoint
// follows them) and none reported as failed.
void CheckpointIt::ExpectABaselineStartsANewLineage(
    const std::function<std::shared_ptr<CheckpointStore>()>& make_store) {
  CreateStream(2);
  for (int id = 0; id < 20; ++id) Put(id, 1);
  const auto run = [&](std::size_t expected_updates, const std::function<void()>& after_start) {
    auto observer = std::make_shared<laredo::testing::RecordingObserver>();
    EngineOptions engine_options;
    engine_options.ack_interval = 20ms;
    engine_options.observers = {observer};
    auto options = Options();
    options.checkpoint_store = make_store();
    // The stream waits until the baseline's ACK has been handled, so that ACK is always behind
    // the first run's checkpoint (not overtaken by the replayed records).
    const AwsFaultHook wait_for_ack =
        [observer](std::string_view operation) -> std::optional<std::string> {
      if (operation == "ListShards") {
        laredo::testing::Eventually(
            [&] { return !observer->Acks().empty() || !observer->Errors().empty(); }, 10s);
      }
      return std::nullopt;
    };
    Engine engine(engine_options);
    auto source = std::make_shared<Source>(options);
    SourceInternals::SetFaultInjector(*source, wait_for_ack);
    engine.AddSource("kinesis", source);
    auto target = std::make_shared<laredo::testing::RecordingTarget>();  // keeps nothing
    engine.AddPipeline("kinesis", kUsers, target);
    engine.Start();
    after_start();
    EXPECT_TRUE(target->AwaitApplied(expected_updates, 20s))
        << engine.SourceError("kinesis").value_or("");
    engine.Stop();  // the final ACK covers everything applied
    for (const auto& error : observer->Errors()) ADD_FAILURE() << error.message;
    return engine.LastAckedPositionString("kinesis");
  };
  const std::string first = run(20, [] {});
  EXPECT_EQ(make_store()->Load()->ToString(), first);

  // The second run replays the 20 and gets 5 more.
  const std::string second = run(25, [&] {
    for (int id = 0; id < 5; ++id) Put(id, 2);
  });
  EXPECT_NE(second, first);
  EXPECT_EQ(make_store()->Load()->ToString(), second);
}

TEST_F(CheckpointIt, ABaselineStartsANewFileCheckpointLineage) {
  const auto dir = std::filesystem::temp_directory_path() / UniqueName("lineage");
  std::filesystem::create_directories(dir);
  ExpectABaselineStartsANewLineage(
      [&] { return std::make_shared<FileCheckpointStore>(dir / "checkpoint"); });
  std::filesystem::remove_all(dir);
}

TEST_F(CheckpointIt, ABaselineStartsANewDynamoDbCheckpointLineage) {
  const std::string table = UniqueName("lineage");
  DynamoDbCheckpointStore(DynamoOptions(table, "consumer")).CreateTableIfMissing();
  ExpectABaselineStartsANewLineage(
      [&] { return std::make_shared<DynamoDbCheckpointStore>(DynamoOptions(table, "consumer")); });
}

StreamPosition Pos(const std::string& snapshot, const std::string& seq) {
  return {snapshot, {{"shardId-000000000000", SequenceNumber(seq)}}};
}

TEST_F(CheckpointIt, TwoDynamoDbConsumersCannotMoveACheckpointBackwards) {
  const std::string table = UniqueName("ckpt");
  DynamoDbCheckpointStore a(DynamoOptions(table, "shared"));
  a.CreateTableIfMissing();
  a.CreateTableIfMissing();  // idempotent
  DynamoDbCheckpointStore b(DynamoOptions(table, "shared"));
  DynamoDbCheckpointStore other(DynamoOptions(table, "someone-else"));

  EXPECT_EQ(a.Load(), std::nullopt);
  a.Save(Pos("s1", "100"));
  b.Save(Pos("s1", "200"));  // b reads a's checkpoint first: 200 covers 100
  a.Save(Pos("s1", "200"));  // the same again: nothing to do
  try {
    a.Save(Pos("s1", "150"));  // a's view is stale; the condition fails, it re-reads 200
    FAIL() << "moved backwards";
  } catch (const FatalError& e) {
    EXPECT_EQ(e.code(), "checkpoint_backwards");
  }
  EXPECT_EQ(b.Load(), Pos("s1", "200"));
  a.Save(Pos("s1", "300"));
  EXPECT_EQ(b.Load(), Pos("s1", "300"));
  // A new snapshot starts a new chain.
  b.Save(Pos("s2", "5"));
  EXPECT_EQ(a.Load(), Pos("s2", "5"));
  EXPECT_EQ(other.Load(), std::nullopt);
}

TEST_F(CheckpointIt, DynamoDbStoreReportsEveryMissingSetting) {
  try {
    DynamoDbCheckpointStore store(DynamoDbCheckpointOptions{.table = "",
                                                            .key = "",
                                                            .key_attribute = "id",
                                                            .region = "",
                                                            .endpoint = "",
                                                            .credentials = AwsCredentials{}});
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.problems().size(), 3U + (RegionFromEnvironment().empty() ? 1U : 0U));
  }
}

}  // namespace
}  // namespace laredo::kinesis::it
