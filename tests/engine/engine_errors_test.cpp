// Error policies, dead letters, source failures and re-baselines.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "engine/test_util.hpp"

namespace laredo::testing {
namespace {

using memory::IndexedTarget;
using testsource::TestSource;

TEST(EngineErrors, RetryThenSuccess) {
  auto source = UsersSource();
  auto target = std::make_shared<RecordingTarget>();
  auto observer = std::make_shared<RecordingObserver>();
  auto dead = std::make_shared<InMemoryDeadLetterSink>();
  target->FailId(2, 2);  // fails twice, then works
  PipelineOptions options;
  options.error_policy = QuickRetries(3, ErrorAction::Isolate);
  options.dead_letter = dead;
  Engine engine(FastOptions(observer));
  engine.AddSource("s", source);
  const auto id = engine.AddPipeline("s", kUsers, target, options);
  engine.Start();
  ASSERT_TRUE(engine.AwaitReady(10s));
  source->EmitInsert(kUsers, User(1, "a"));
  source->EmitInsert(kUsers, User(2, "b"));
  const auto last = source->EmitInsert(kUsers, User(3, "c"));
  ASSERT_TRUE(source->AwaitAck(last, 10s));
  EXPECT_EQ(target->CountOf("insert"), 3U);
  EXPECT_EQ(target->Attempts(), 5);  // 1 + 3 (two failures) + 1
  EXPECT_EQ(dead->Count(), 0U);
  const auto errors = observer->Errors();
  ASSERT_EQ(errors.size(), 2U);
  EXPECT_TRUE(errors[0].will_retry);
  EXPECT_EQ(errors[0].id, id);
  EXPECT_EQ(engine.Pipeline(id).state, PipelineState::Streaming);
}

TEST(EngineErrors, IsolateLeavesOtherPipelinesRunningButHoldsTheAck) {
  auto source = UsersSource();
  auto broken = std::make_shared<RecordingTarget>();
  auto healthy = std::make_shared<IndexedTarget>();
  auto observer = std::make_shared<RecordingObserver>();
  broken->FailId(2, -1);
  PipelineOptions options;
  options.error_policy = QuickRetries(2, ErrorAction::Isolate);
  Engine engine(FastOptions(observer));
  engine.AddSource("s", source);
  const auto broken_id = engine.AddPipeline("s", kOrders, broken, options);
  engine.AddPipeline("s", kUsers, healthy);
  engine.Start();
  ASSERT_TRUE(engine.AwaitReady(10s));
  const auto ok = source->EmitInsert(kOrders, User(1, "ok"));
  source->EmitInsert(kOrders, User(2, "poison"));
  ASSERT_TRUE(Eventually([&] { return engine.Pipeline(broken_id).state == PipelineState::Error; }));
  for (int i = 1; i <= 20; ++i) source->EmitInsert(kUsers, User(i, "u"));
  source->EmitInsert(kOrders, User(3, "ignored"));
  source->EmitInsert(kUsers, User(21, "u"));
  ASSERT_TRUE(Eventually([&] { return healthy->Count() == 21U; }));  // the others go on
  EXPECT_EQ(broken->CountOf("insert"), 1U);
  EXPECT_EQ(broken->Attempts(), 4);  // id 1 once, id 2 three times, id 3 never
  EXPECT_NE(engine.Pipeline(broken_id).last_error.find(
                "insert failed after 3 attempt(s): injected failure for id 2"),
            std::string::npos)
      << engine.Pipeline(broken_id).last_error;
  EXPECT_FALSE(engine.AwaitReady(10ms));  // a failed pipeline means not ready
  EXPECT_NE(engine.NotReadyReason().find("injected failure for id 2"), std::string::npos)
      << engine.NotReadyReason();
  EXPECT_EQ(engine.GetSourceState("s"), SourceState::Streaming);
  engine.Stop();
  // The isolated pipeline applied id 1 and nothing after: the ACK never passes that.
  EXPECT_EQ(source->LastAck(), ok);
  EXPECT_EQ(observer->DeadLetterCount(), 1U);
}

// The default policy isolates a pipeline whose target keeps failing. Before, the ACK then moved
// on without it and a restart never delivered what it had missed.
TEST(EngineErrors, AnIsolatedDurableTargetGetsEverythingAfterARestart) {
  auto source = std::make_shared<TestSource>(testsource::TestSourceOptions{.resumable = true});
  source->SetSchema(kUsers, IdNameColumns());
  auto steady = std::make_shared<RecordingTarget>();
  auto flaky = std::make_shared<RecordingTarget>();
  steady->SetKeepsState(true);
  flaky->SetKeepsState(true);
  flaky->FailId(2, -1);  // down for the whole first run
  PipelineOptions flaky_options;
  flaky_options.error_policy = QuickRetries(2, ErrorAction::Isolate);
  flaky_options.buffer_capacity = 2;
  const auto run = [&](const std::function<void(Engine&)>& body) {
    Engine engine(FastOptions());
    engine.AddSource("s", source);
    engine.AddPipeline("s", kUsers, steady);
    engine.AddPipeline("s", kUsers, flaky, flaky_options);
    engine.Start();
    body(engine);
    engine.Stop();
  };
  std::uint64_t last = 0;
  run([&](Engine& engine) {
    ASSERT_TRUE(engine.AwaitReady(10s));
    for (int i = 1; i <= 8; ++i) last = source->EmitInsert(kUsers, User(i, "v"));
    ASSERT_TRUE(steady->AwaitApplied(8));
    ASSERT_TRUE(Eventually(
        [&] { return engine.Pipeline("s/public.users#2").state == PipelineState::Error; }));
  });
  EXPECT_EQ(source->LastAck(), 1U);  // flaky made id 1 durable, nothing after
  flaky->FailId(2, 0);               // the cause is fixed; the process restarts
  run([&](Engine& engine) {
    ASSERT_TRUE(engine.AwaitReady(10s));
    ASSERT_TRUE(source->AwaitAck(last, 10s));
  });
  std::set<std::int64_t> ids;
  for (const auto& call : flaky->Calls()) {
    if (call.op == "insert") ids.insert(call.row.at("id").AsInt());
  }
  EXPECT_EQ(ids, (std::set<std::int64_t>{1, 2, 3, 4, 5, 6, 7, 8}));
  EXPECT_EQ(source->BaselineCount(), 1);  // resumed, no second baseline
}

TEST(EngineErrors, DeadLetterIsWrittenOnceAsJsonLines) {
  const auto path = std::filesystem::temp_directory_path() /
                    ("laredo-dlq-" + std::to_string(::getpid()) + ".jsonl");
  std::filesystem::remove(path);
  auto source = UsersSource();
  auto target = std::make_shared<RecordingTarget>();
  auto observer = std::make_shared<RecordingObserver>();
  target->FailId(2, -1);
  PipelineOptions options;
  options.error_policy = QuickRetries(2, ErrorAction::Skip);
  options.dead_letter = std::make_shared<JsonLinesDeadLetterSink>(path);
  Engine engine(FastOptions(observer));
  engine.AddSource("s", source);
  engine.AddPipeline("s", kUsers, target, options);
  engine.Start();
  ASSERT_TRUE(engine.AwaitReady(10s));
  source->EmitInsert(kUsers, User(1, "a"));
  const auto bad = source->EmitUpdate(kUsers, User(2, "poison"), Row{{"id", 2}});
  const auto last = source->EmitInsert(kUsers, User(3, "c"));
  ASSERT_TRUE(source->AwaitAck(last, 10s));  // Skip: the pipeline goes on
  engine.Stop();
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  ASSERT_EQ(lines.size(), 1U);
  EXPECT_NE(lines[0].find(R"("operation":"update")"), std::string::npos) << lines[0];
  EXPECT_NE(lines[0].find(R"("new":{"id":2,"name":"poison"})"), std::string::npos) << lines[0];
  EXPECT_NE(lines[0].find(R"("old":{"id":2})"), std::string::npos) << lines[0];
  EXPECT_NE(lines[0].find(R"("position":")" + std::to_string(bad) + "\""), std::string::npos);
  EXPECT_NE(lines[0].find(R"("attempts":3)"), std::string::npos) << lines[0];
  EXPECT_NE(lines[0].find("injected failure"), std::string::npos);
  EXPECT_EQ(observer->DeadLetterCount(), 1U);
  EXPECT_EQ(target->CountOf("insert"), 2U);
  std::filesystem::remove(path);
}

TEST(EngineErrors, InvalidRecordReachesObserverAndEachSinkOnceAndTheAckPassesIt) {
  auto source = UsersSource();
  auto users = std::make_shared<RecordingTarget>();
  auto users_copy = std::make_shared<RecordingTarget>();
  auto orders = std::make_shared<RecordingTarget>();
  auto observer = std::make_shared<RecordingObserver>();
  auto shared_sink = std::make_shared<InMemoryDeadLetterSink>();
  auto orders_sink = std::make_shared<InMemoryDeadLetterSink>();
  PipelineOptions shared_options;
  shared_options.dead_letter = shared_sink;
  PipelineOptions orders_options;
  orders_options.dead_letter = orders_sink;
  Engine engine(FastOptions(observer));
  engine.AddSource("s", source);
  const auto users_id = engine.AddPipeline("s", kUsers, users, shared_options);
  engine.AddPipeline("s", kUsers, users_copy, shared_options);
  engine.AddPipeline("s", kOrders, orders, orders_options);
  engine.Start();
  ASSERT_TRUE(engine.AwaitReady(10s));
  source->EmitInsert(kUsers, User(1, "a"));
  const auto bad = source->EmitInvalidRecord(kUsers, "{not json", "unexpected end of input");
  // Nothing follows it: the ACK must still reach the invalid record, or a checkpointing source
  // would read it again after every restart.
  ASSERT_TRUE(source->AwaitAck(bad, 10s));
  // Both users pipelines share a sink: written once. The orders pipeline's sink is not involved.
  ASSERT_EQ(shared_sink->Count(), 1U);
  EXPECT_EQ(orders_sink->Count(), 0U);
  const auto letter = shared_sink->Letters()[0];
  EXPECT_EQ(letter.operation, "invalid_record");
  EXPECT_EQ(letter.pipeline_id, users_id);
  EXPECT_EQ(letter.table, kUsers);
  EXPECT_EQ(letter.payload, "{not json");
  EXPECT_EQ(letter.error, "unexpected end of input");
  EXPECT_EQ(letter.position, std::to_string(bad));
  EXPECT_NE(JsonLinesDeadLetterSink::Format(letter).find(R"("payload":"{not json")"),
            std::string::npos);
  EXPECT_EQ(observer->DeadLetterCount(), 1U);
  const auto errors = observer->Errors();
  ASSERT_EQ(errors.size(), 1U);
  EXPECT_EQ(errors[0].id, "s");
  EXPECT_FALSE(errors[0].will_retry);
  EXPECT_NE(errors[0].message.find("unexpected end of input"), std::string::npos);
  EXPECT_NE(errors[0].message.find(std::to_string(bad)), std::string::npos);

  // A record whose table is unknown goes to every distinct sink; the stream goes on.
  source->EmitInvalidRecord(std::nullopt, "\x00\x01", "not a JSON object");
  const auto last = source->EmitInsert(kUsers, User(2, "b"));
  ASSERT_TRUE(source->AwaitAck(last, 10s));
  EXPECT_EQ(shared_sink->Count(), 2U);
  EXPECT_EQ(orders_sink->Count(), 1U);
  EXPECT_EQ(users->CountOf("insert"), 2U);
  EXPECT_EQ(users_copy->CountOf("insert"), 2U);
  EXPECT_EQ(engine.GetSourceState("s"), SourceState::Streaming);
}

/// A target that rejects one key as malformed data.
class RejectsData : public RecordingTarget {
 public:
  void OnInsert(const TableIdentifier& table, const Row& row) override {
    ++calls;
    if (row.at("id").AsInt() == 2) throw DataError("bad_value", "id 2 is malformed");
    RecordingTarget::OnInsert(table, row);
  }
  std::atomic<int> calls{0};
};

TEST(EngineErrors, DataErrorsAreNotRetried) {
  auto source = UsersSource();
  auto target = std::make_shared<RejectsData>();
  auto dead = std::make_shared<InMemoryDeadLetterSink>();
  PipelineOptions options;
  options.error_policy = QuickRetries(5, ErrorAction::Skip);
  options.dead_letter = dead;
  Engine engine(FastOptions());
  engine.AddSource("s", source);
  engine.AddPipeline("s", kUsers, target, options);
  engine.Start();
  ASSERT_TRUE(engine.AwaitReady(10s));
  source->EmitInsert(kUsers, User(1, "a"));
  source->EmitInsert(kUsers, User(2, "b"));
  const auto last = source->EmitInsert(kUsers, User(3, "c"));
  ASSERT_TRUE(source->AwaitAck(last, 10s));
  EXPECT_EQ(target->calls.load(), 3);  // one attempt each: no retries for id 2
  ASSERT_EQ(dead->Count(), 1U);
  EXPECT_EQ(dead->Letters()[0].attempts, 1);
  EXPECT_EQ(dead->Letters()[0].new_values, User(2, "b"));
}

TEST(EngineErrors, StopSourceFreezesTheAckBeforeTheFailedChange) {
  auto source = UsersSource();
  auto target = std::make_shared<RecordingTarget>();
  auto sibling = std::make_shared<RecordingTarget>();
  target->FailId(3, -1);
  PipelineOptions options;
  options.error_policy = QuickRetries(1, ErrorAction::StopSource);
  Engine engine(FastOptions());
  engine.AddSource("s", source);
  engine.AddPipeline("s", kUsers, target, options);
  const auto sibling_id = engine.AddPipeline("s", kOrders, sibling);
  engine.Start();
  ASSERT_TRUE(engine.AwaitReady(10s));
  source->EmitInsert(kUsers, User(1, "a"));
  const auto good = source->EmitInsert(kUsers, User(2, "b"));
  // Acknowledged first: the stop that follows may come before the worker confirmed a change it
  // applied in the same batch as the poison, and a lower final ACK is safe but not the point here.
  ASSERT_TRUE(source->AwaitAck(good, 10s));
  source->EmitInsert(kUsers, User(3, "poison"));
  ASSERT_TRUE(Eventually([&] { return engine.SourceError("s").has_value(); }));
  EXPECT_NE(engine.SourceError("s").value_or("").find("injected failure for id 3"),
            std::string::npos);
  source->EmitInsert(kOrders, User(9, "after"));
  engine.Stop();
  EXPECT_EQ(source->LastAck(), good);  // the failed change and everything after stay unacked
  EXPECT_EQ(sibling->CountOf("insert"), 0U);
  EXPECT_EQ(engine.Pipeline(sibling_id).state, PipelineState::Stopped);
}

TEST(EngineErrors, StopEnginePolicyStopsEverySource) {
  auto source = UsersSource();
  auto other = UsersSource();
  auto target = std::make_shared<RecordingTarget>();
  target->FailId(1, -1);
  PipelineOptions options;
  options.error_policy = QuickRetries(0, ErrorAction::StopEngine);
  Engine engine(FastOptions());
  engine.AddSource("s", source);
  engine.AddSource("t", other);
  engine.AddPipeline("s", kUsers, target, options);
  engine.AddPipeline("t", kUsers, std::make_shared<IndexedTarget>());
  engine.Start();
  ASSERT_TRUE(engine.AwaitReady(10s));
  source->EmitInsert(kUsers, User(1, "poison"));
  ASSERT_TRUE(engine.AwaitStopped(10s));
  EXPECT_EQ(engine.GetSourceState("t"), SourceState::Error);
  engine.Stop();
}

TEST(EngineErrors, RetryableInitFailureIsRetried) {
  auto source = UsersSource();
  source->AddRow(kUsers, User(1, "a"));
  source->FailNextInit("connection refused");
  auto target = std::make_shared<IndexedTarget>();
  auto observer = std::make_shared<RecordingObserver>();
  Engine engine(FastOptions(observer));
  engine.AddSource("s", source);
  engine.AddPipeline("s", kUsers, target);
  engine.Start();
  ASSERT_TRUE(engine.AwaitReady(10s));
  EXPECT_EQ(source->InitCount(), 2);
  EXPECT_EQ(target->Count(), 1U);
  ASSERT_FALSE(observer->Errors().empty());
  EXPECT_TRUE(observer->Errors()[0].will_retry);
}

TEST(EngineErrors, ValidationErrorsStopTheSourceWithEveryProblem) {
  auto source = UsersSource();
  source->AddValidationError({kUsers, "NO_SELECT", "permission denied for users"});
  source->AddValidationError({std::nullopt, "WAL_LEVEL", "wal_level is replica"});
  Engine engine(FastOptions());
  engine.AddSource("s", source);
  engine.AddPipeline("s", kUsers, std::make_shared<IndexedTarget>());
  engine.AddPipeline("s", Table("public", "missing"), std::make_shared<IndexedTarget>());
  engine.Start();
  EXPECT_FALSE(engine.AwaitReady(10s));
  ASSERT_TRUE(engine.SourceError("s").has_value());
  const std::string message = engine.SourceError("s").value_or("");
  EXPECT_NE(message.find("public.missing: TABLE_NOT_FOUND"), std::string::npos) << message;
  EXPECT_NE(message.find("public.users: NO_SELECT"), std::string::npos) << message;
  EXPECT_NE(message.find("WAL_LEVEL"), std::string::npos) << message;
  EXPECT_EQ(engine.GetSourceState("s"), SourceState::Error);
  EXPECT_EQ(source->BaselineCount(), 0);
}

TEST(EngineErrors, BaselineFailureIsRetriedAndLeavesNoPartialRows) {
  auto source = UsersSource();
  for (int i = 1; i <= 10; ++i) source->AddRow(kUsers, User(i, "x"));
  source->FailNextBaseline("connection reset", 5);
  auto target = std::make_shared<RecordingTarget>();
  Engine engine(FastOptions());
  engine.AddSource("s", source);
  engine.AddPipeline("s", kUsers, target);
  engine.Start();
  ASSERT_TRUE(engine.AwaitReady(10s));
  EXPECT_EQ(source->BaselineCount(), 2);
  // Each attempt begins with OnBaselineBegin (whose default truncates); rows of the failed attempt
  // may reach the target before it fails (they travel in batches), but after the second truncate
  // come exactly the 10 rows of the retry.
  EXPECT_EQ(target->CountOf("truncate"), 2U);
  const auto calls = target->Calls();
  std::size_t after_last_truncate = 0;
  for (const auto& call : calls) {
    if (call.op == "truncate") after_last_truncate = 0;
    if (call.op == "baseline") ++after_last_truncate;
  }
  EXPECT_EQ(after_last_truncate, 10U);
}

TEST(EngineErrors, FatalStreamErrorMarksTheSourceFailed) {
  auto source = UsersSource();
  Engine engine(FastOptions());
  engine.AddSource("s", source);
  engine.AddPipeline("s", kUsers, std::make_shared<IndexedTarget>());
  engine.Start();
  ASSERT_TRUE(engine.AwaitReady(10s));
  source->FailStream("replication slot dropped by someone");
  ASSERT_TRUE(Eventually([&] { return engine.SourceError("s").has_value(); }));
  EXPECT_NE(engine.SourceError("s").value_or("").find("slot dropped"), std::string::npos);
  EXPECT_EQ(engine.GetSourceState("s"), SourceState::Error);
}

TEST(EngineRebaseline, StreamEndRebaselinesAndReplacesTheTargetContents) {
  auto source = UsersSource();
  for (int i = 1; i <= 5; ++i) source->AddRow(kUsers, User(i, "x"));
  auto target = std::make_shared<IndexedTarget>();
  auto observer = std::make_shared<RecordingObserver>();
  Engine engine(FastOptions(observer));
  engine.AddSource("s", source);
  engine.AddPipeline("s", kUsers, target);
  engine.Start();
  ASSERT_TRUE(engine.AwaitReady(10s));
  EXPECT_EQ(target->Count(), 5U);
  // Rows deleted while the stream is broken must disappear after the re-baseline.
  source->EndStreamRequiringRebaseline("slot invalidated");
  source->EmitDelete(kUsers, Row{{"id", 1}});
  source->EmitDelete(kUsers, Row{{"id", 2}});
  const auto last = source->EmitInsert(kUsers, User(6, "y"));
  ASSERT_TRUE(Eventually([&] { return source->BaselineCount() == 2; }));
  ASSERT_TRUE(engine.AwaitReady(10s));
  ASSERT_TRUE(source->AwaitAck(last, 10s));
  EXPECT_EQ(target->Count(), 4U);
  EXPECT_FALSE(target->Get({Value(1)}).has_value());
  EXPECT_TRUE(target->Get({Value(6)}).has_value());
  ASSERT_EQ(observer->Rebaselines().size(), 1U);
  EXPECT_EQ(observer->Rebaselines()[0], "slot invalidated");
  // Streaming continues after the new baseline.
  const auto next = source->EmitInsert(kUsers, User(7, "z"));
  ASSERT_TRUE(source->AwaitAck(next, 10s));
  EXPECT_EQ(target->Count(), 5U);
}

}  // namespace
}  // namespace laredo::testing
