// Filters, transforms, resume and schema changes.
#include <gtest/gtest.h>

#include <set>

#include "engine/test_util.hpp"

namespace laredo::testing {
namespace {

using memory::IndexedTarget;
using testsource::TestSource;
using testsource::TestSourceOptions;

std::vector<ColumnDefinition> StatusColumns() {
  auto columns = IdNameColumns();
  columns.push_back({.name = "status", .type = "text", .ordinal_position = 3});
  return columns;
}

Row Account(std::int64_t id, std::string name, std::string status) {
  return Row{{"id", id}, {"name", std::move(name)}, {"status", std::move(status)}};
}

TEST(EngineFilter, RowsLeavingTheFilterLeaveTheTarget) {
  auto source = std::make_shared<TestSource>();
  source->SetSchema(kUsers, StatusColumns());
  source->AddRow(kUsers, Account(1, "a", "active"));
  source->AddRow(kUsers, Account(2, "b", "inactive"));
  auto target = std::make_shared<IndexedTarget>();
  PipelineOptions options;
  options.filters.push_back([](const Row& r) { return r.at("status").AsText() == "active"; });
  Engine engine(FastOptions());
  engine.AddSource("s", source);
  engine.AddPipeline("s", kUsers, target, options);
  engine.Start();
  ASSERT_TRUE(engine.AwaitReady(10s));
  EXPECT_EQ(target->Count(), 1U);  // baseline filtered

  source->EmitInsert(kUsers, Account(3, "c", "inactive"));                  // filtered out
  source->EmitUpdate(kUsers, Account(1, "a", "inactive"), Row{{"id", 1}});  // leaves the filter
  const auto last =
      source->EmitUpdate(kUsers, Account(2, "b", "active"), Row{{"id", 2}});  // enters
  ASSERT_TRUE(source->AwaitAck(last, 10s));
  EXPECT_FALSE(target->Get({Value(1)}).has_value());
  EXPECT_FALSE(target->Get({Value(3)}).has_value());
  ASSERT_TRUE(target->Get({Value(2)}).has_value());
  EXPECT_EQ(target->Get({Value(2)})->at("status").AsText(), "active");
  EXPECT_EQ(target->Count(), 1U);
}

TEST(EngineTransform, TransformsRewriteAndDropRows) {
  auto source = std::make_shared<TestSource>();
  source->SetSchema(kUsers, StatusColumns());
  source->AddRow(kUsers, Account(1, "ada", "active"));
  source->AddRow(kUsers, Account(2, "secret", "active"));
  auto target = std::make_shared<IndexedTarget>();
  PipelineOptions options;
  options.transforms.push_back([](Row r) -> std::optional<Row> {
    const Value* name = r.Find("name");
    if (name == nullptr) return r;                        // an identity row: only the key
    if (name->AsText() == "secret") return std::nullopt;  // drop
    r["name"] = Value(name->AsText() + "!");
    r.erase("status");
    return r;
  });
  Engine engine(FastOptions());
  engine.AddSource("s", source);
  engine.AddPipeline("s", kUsers, target, options);
  engine.Start();
  ASSERT_TRUE(engine.AwaitReady(10s));
  EXPECT_EQ(target->Count(), 1U);
  EXPECT_EQ(*target->Get({Value(1)}), (Row{{"id", 1}, {"name", "ada!"}}));

  source->EmitUpdate(kUsers, Account(1, "secret", "active"), Row{{"id", 1}});  // dropped -> delete
  const auto last = source->EmitInsert(kUsers, Account(3, "bob", "x"));
  ASSERT_TRUE(source->AwaitAck(last, 10s));
  EXPECT_FALSE(target->Get({Value(1)}).has_value());
  EXPECT_EQ(*target->Get({Value(3)}), (Row{{"id", 3}, {"name", "bob!"}}));
}

TEST(EngineResume, SkipsTheBaselineOnlyWhenSourceAndEveryTargetAllowIt) {
  struct Case {
    bool resumable;
    bool keeps_state;
    bool expect_baseline;
  };
  for (const auto& c :
       {Case{true, true, false}, Case{true, false, true}, Case{false, true, true}}) {
    SCOPED_TRACE(::testing::Message()
                 << "resumable=" << c.resumable << " keeps_state=" << c.keeps_state);
    auto source = std::make_shared<TestSource>(
        TestSourceOptions{.resumable = c.resumable, .initial_acked_position = 2});
    source->SetSchema(kUsers, IdNameColumns());
    source->AddRow(kUsers, User(1, "baseline"));
    source->EmitInsert(kUsers, User(10, "before the checkpoint"));  // position 1
    source->EmitInsert(kUsers, User(11, "at the checkpoint"));      // position 2
    source->EmitInsert(kUsers, User(12, "after the checkpoint"));   // position 3
    auto target = std::make_shared<RecordingTarget>();
    target->SetKeepsState(c.keeps_state);
    Engine engine(FastOptions());
    engine.AddSource("s", source);
    engine.AddPipeline("s", kUsers, target);
    engine.Start();
    ASSERT_TRUE(engine.AwaitReady(10s));
    EXPECT_EQ(source->BaselineCount(), c.expect_baseline ? 1 : 0);
    const auto last = source->EmitInsert(kUsers, User(13, "new"));
    ASSERT_TRUE(source->AwaitAck(last, 10s));
    engine.Stop();
    if (c.expect_baseline) {
      EXPECT_EQ(target->CountOf("baseline"), 4U);  // the current contents
      EXPECT_EQ(target->CountOf("insert"), 1U);
    } else {
      // Resumed after position 2: exactly the changes after the checkpoint are redelivered.
      std::vector<std::int64_t> ids;
      for (const auto& call : target->Calls()) {
        if (call.op == "insert") ids.push_back(call.row.at("id").AsInt());
      }
      EXPECT_EQ(ids, (std::vector<std::int64_t>{12, 13}));
      EXPECT_EQ(source->StreamStarts(), (std::vector<std::uint64_t>{2}));
    }
  }
}

TEST(EngineSchema, ContinueKeepsStreamingAndReBaselineReloads) {
  auto source = std::make_shared<TestSource>();
  source->SetSchema(kUsers, IdNameColumns());
  source->AddRow(kUsers, User(1, "a"));
  auto target = std::make_shared<RecordingTarget>();
  Engine engine(FastOptions());
  engine.AddSource("s", source);
  engine.AddPipeline("s", kUsers, target);
  engine.Start();
  ASSERT_TRUE(engine.AwaitReady(10s));

  source->EmitSchemaChange(kUsers, StatusColumns());  // target answers Continue (default)
  auto last = source->EmitInsert(kUsers, Account(2, "b", "new"));
  ASSERT_TRUE(source->AwaitAck(last, 10s));
  EXPECT_EQ(target->CountOf("schema_change"), 1U);
  EXPECT_EQ(target->Columns().size(), 3U);
  EXPECT_EQ(source->BaselineCount(), 1);

  target->SetSchemaResponse({SchemaChangeResponse::Action::ReBaseline, "type changed"});
  source->EmitSchemaChange(kUsers, IdNameColumns());
  last = source->EmitInsert(kUsers, User(3, "c"));
  // The insert may be applied (and ACKed) before the stream stops for the re-baseline, so wait
  // for the second baseline to complete rather than for the ACK.
  ASSERT_TRUE(Eventually([&] { return target->CountOf("baseline_complete") == 2; }));
  EXPECT_EQ(source->BaselineCount(), 2);
  EXPECT_EQ(target->CountOf("truncate"), 2U);  // each baseline begins with one (the default)
  ASSERT_TRUE(source->AwaitAck(last, 10s));
}

TEST(EngineSchema, ErrorAnswerFailsThePipelineWithoutRetries) {
  auto source = std::make_shared<TestSource>();
  source->SetSchema(kUsers, IdNameColumns());
  auto target = std::make_shared<RecordingTarget>();
  target->SetSchemaResponse({SchemaChangeResponse::Action::Error, "cannot take new columns"});
  PipelineOptions options;
  options.error_policy = QuickRetries(5, ErrorAction::Isolate);
  Engine engine(FastOptions());
  engine.AddSource("s", source);
  const auto id = engine.AddPipeline("s", kUsers, target, options);
  engine.Start();
  ASSERT_TRUE(engine.AwaitReady(10s));
  source->EmitSchemaChange(kUsers, StatusColumns());
  ASSERT_TRUE(Eventually([&] { return engine.Pipeline(id).state == PipelineState::Error; }));
  EXPECT_EQ(target->CountOf("schema_change"), 1U);  // not retried
  EXPECT_NE(engine.Pipeline(id).last_error.find("cannot take new columns"), std::string::npos);
}

}  // namespace
}  // namespace laredo::testing

namespace laredo::testing {
namespace {

/// A test source that, like a source owning a connection, installs a backpressure hook for the
/// duration of each Stream call; the hook can be made to fail once.
class HookedSource : public testsource::TestSource {
 public:
  HookedSource() { SetSchema(kUsers, IdNameColumns()); }
  void Stream(std::stop_token stop, const Position& from, ChangeHandler& handler) override {
    const auto stream_thread = std::this_thread::get_id();
    handler.SetBackpressureHook(
        [this, stream_thread] {
          ++calls;
          if (std::this_thread::get_id() != stream_thread) wrong_thread = true;
          if (fail_once.exchange(false)) throw RetryableError("test_keepalive", "keepalive failed");
        },
        std::chrono::milliseconds(2));
    struct Clear {
      ChangeHandler& handler;
      ~Clear() { handler.SetBackpressureHook({}, {}); }
    } clear{handler};
    TestSource::Stream(stop, from, handler);
  }
  std::atomic<int> calls{0};
  std::atomic<bool> wrong_thread{false};
  std::atomic<bool> fail_once{false};
};

TEST(EngineBackpressure, HookRunsOnTheStreamThreadWhileBlocked) {
  auto source = std::make_shared<HookedSource>();
  auto target = std::make_shared<RecordingTarget>();
  PipelineOptions options;
  options.buffer_capacity = 2;
  Engine engine(FastOptions());
  engine.AddSource("s", source);
  engine.AddPipeline("s", kUsers, target, options);
  engine.Start();
  ASSERT_TRUE(engine.AwaitReady(10s));
  EXPECT_EQ(source->calls.load(), 0);  // nothing blocked yet
  target->CloseGate();
  std::uint64_t last = 0;
  for (int i = 1; i <= 10; ++i) last = source->EmitInsert(kUsers, User(i, "u"));
  ASSERT_TRUE(target->AwaitBlocked());
  // The source thread is stuck on a full buffer, yet its hook keeps running.
  ASSERT_TRUE(Eventually([&] { return source->calls.load() >= 5; }));
  EXPECT_FALSE(source->AwaitDelivered(last, 1ms));
  target->OpenGate();
  ASSERT_TRUE(source->AwaitAck(last, 10s));
  EXPECT_EQ(target->CountOf("insert"), 10U);
  EXPECT_FALSE(source->wrong_thread.load());
}

TEST(EngineBackpressure, AThrowingHookFailsTheBlockedStreamWhichIsRetried) {
  auto source = std::make_shared<HookedSource>();
  auto target = std::make_shared<RecordingTarget>();
  auto observer = std::make_shared<RecordingObserver>();
  PipelineOptions options;
  options.buffer_capacity = 2;
  Engine engine(FastOptions(observer));
  engine.AddSource("s", source);
  engine.AddPipeline("s", kUsers, target, options);
  engine.Start();
  ASSERT_TRUE(engine.AwaitReady(10s));
  source->fail_once = true;
  target->CloseGate();
  std::uint64_t last = 0;
  for (int i = 1; i <= 10; ++i) last = source->EmitInsert(kUsers, User(i, "u"));
  // The hook's error ends the blocked Stream call; the engine reports it and streams again.
  ASSERT_TRUE(Eventually([&] { return source->StreamStarts().size() >= 2; }));
  target->OpenGate();
  ASSERT_TRUE(source->AwaitAck(last, 10s));
  std::set<std::int64_t> ids;
  for (const auto& call : target->Calls()) {
    if (call.op == "insert") ids.insert(call.row.at("id").AsInt());
  }
  EXPECT_EQ(ids.size(), 10U);  // every change, the undelivered one included
  const auto errors = observer->Errors();
  ASSERT_FALSE(errors.empty());
  EXPECT_NE(errors[0].message.find("keepalive failed"), std::string::npos) << errors[0].message;
  EXPECT_TRUE(errors[0].will_retry);
  EXPECT_EQ(engine.GetSourceState("s"), SourceState::Streaming);
}

/// Emits a burst of inserts whose rows all share `names`, keeps none of them, then idles.
class BurstSource final : public testsource::TestSource {
 public:
  BurstSource(std::shared_ptr<const ColumnNames> names, int count)
      : names_(std::move(names)), count_(count) {
    SetSchema(kUsers, IdNameColumns());
  }
  void Stream(std::stop_token stop, const Position&, ChangeHandler& handler) override {
    for (int i = 1; i <= count_ && !stop.stop_requested(); ++i) {
      ChangeEvent event{.table = kUsers,
                        .action = ChangeAction::Insert,
                        .position = static_cast<std::uint64_t>(i)};
      event.new_values = Row(names_, {Value(std::int64_t{i}), Value("u")});
      handler.OnChange(std::move(event));
    }
    std::mutex mu;
    std::condition_variable_any idle;
    std::unique_lock lk(mu);
    idle.wait(lk, stop, [] { return false; });
  }

 private:
  std::shared_ptr<const ColumnNames> names_;
  int count_;
};

TEST(EngineMemory, ABurstIsFreedOnceThePipelineIsIdle) {
  // Spent changes are freed by the source thread, one per new change; after the last change of a
  // burst the rest must not stay allocated while the source is quiet.
  const auto names = ColumnNames::Make({"id", "name"});
  constexpr int kBurst = 5000;
  auto source = std::make_shared<BurstSource>(names, kBurst);
  auto target = std::make_shared<IndexedTarget>();
  Engine engine(FastOptions());
  engine.AddSource("s", source);
  engine.AddPipeline("s", kUsers, target);
  engine.Start();
  ASSERT_TRUE(Eventually([&] { return target->Count() == kBurst; }));
  // Ours, the source's, and at most the newest applied change (its position is the pipeline's
  // ACK point) and one item in hand: none of the burst's other rows stay.
  EXPECT_TRUE(Eventually([&] { return names.use_count() <= 4; }, 5s)) << names.use_count();
  engine.Stop();
}

}  // namespace
}  // namespace laredo::testing
