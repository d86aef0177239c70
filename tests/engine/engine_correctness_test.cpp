// Regression tests for ways the engine could lose changes or mislead its user: error
// classification, start-up visibility, transforms of identities, unchanged values, re-baselines
// with new columns, shutdown order and readiness.
#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>

#include "engine/test_util.hpp"

namespace laredo::testing {
namespace {

using memory::IndexedTarget;
using testsource::TestSource;

std::vector<ColumnDefinition> DocColumns() {
  auto columns = IdNameColumns();
  columns.push_back({.name = "status", .type = "text", .ordinal_position = 3});
  columns.push_back({.name = "body", .type = "text", .ordinal_position = 4});
  return columns;
}

Row Doc(std::int64_t id, std::string status, Value body) {
  return Row{{"id", id}, {"name", "d"}, {"status", std::move(status)}, {"body", std::move(body)}};
}

/// A target whose inserts throw `error` (once per call), counting attempts.
class ThrowingTarget : public RecordingTarget {
 public:
  explicit ThrowingTarget(std::function<void()> thrower) : thrower_(std::move(thrower)) {}
  void OnInsert(const TableIdentifier&, const Row&) override {
    ++calls;
    thrower_();
  }
  std::atomic<int> calls{0};

 private:
  std::function<void()> thrower_;
};

// Retrying cannot fix configuration or data errors: they fail at once, with the target's message.
TEST(EngineCorrectness, ErrorsThatRetryingCannotFixAreNotRetried) {
  const std::vector<std::pair<std::string, std::function<void()>>> cases = {
      {"config", [] { throw ConfigError({"index names a missing column"}); }},
      {"plain", [] { throw Error("no_key", "row lacks a primary-key column"); }},
      {"data", [] { throw DataError("bad", "not a number"); }},
  };
  for (const auto& [name, thrower] : cases) {
    SCOPED_TRACE(name);
    auto source = UsersSource();
    auto target = std::make_shared<ThrowingTarget>(thrower);
    PipelineOptions options;
    options.error_policy = ErrorPolicy{
        .backoff = {.initial = 200ms, .max = 10s, .multiplier = 2.0}};  // the defaults otherwise
    Engine engine(FastOptions());
    engine.AddSource("s", source);
    const auto id = engine.AddPipeline("s", kUsers, target, options);
    engine.Start();
    ASSERT_TRUE(engine.AwaitReady(10s));
    source->EmitInsert(kUsers, User(1, "a"));
    ASSERT_TRUE(Eventually([&] { return engine.Pipeline(id).state == PipelineState::Error; }, 2s));
    EXPECT_EQ(target->calls.load(), 1);
    EXPECT_NE(engine.Pipeline(id).last_error.find("not retryable"), std::string::npos)
        << engine.Pipeline(id).last_error;
  }
}

TEST(EngineCorrectness, AnIndexedTargetBoundToTwoTablesFailsAtOnceWithItsMessage) {
  auto source = UsersSource();
  auto target = std::make_shared<IndexedTarget>();
  Engine engine(FastOptions());
  engine.AddSource("s", source);
  engine.AddPipeline("s", kUsers, target);
  engine.AddPipeline("s", kOrders, target);
  engine.Start();
  EXPECT_FALSE(engine.AwaitReady(2s));  // at once: the failure is final
  std::string errors;                   // whichever pipeline initialised second failed
  for (const auto& status : engine.Pipelines()) errors += status.last_error;
  EXPECT_NE(errors.find("IndexedTarget holds one table"), std::string::npos) << errors;
  EXPECT_NE(errors.find("(not retryable)"), std::string::npos) << errors;
  EXPECT_NE(engine.NotReadyReason().find("IndexedTarget holds one table"), std::string::npos);
}

TEST(EngineCorrectness, RetryableIsTheOneClassification) {
  EXPECT_TRUE(IsRetryable(RetryableError("net", "connection reset")));
  EXPECT_TRUE(IsRetryable(std::runtime_error("a user's transient failure")));
  EXPECT_FALSE(IsRetryable(ConfigError({"bad"})));
  EXPECT_FALSE(IsRetryable(Error("plain", "x")));
  EXPECT_FALSE(IsRetryable(DataError("d", "x")));
  EXPECT_FALSE(IsRetryable(FatalError("f", "x")));
  EXPECT_FALSE(IsRetryable(std::invalid_argument("a bug")));
}

/// A source that can never connect.
class UnreachableSource : public TestSource {
 public:
  std::map<TableIdentifier, std::vector<ColumnDefinition>> Init(const SourceConfig&) override {
    ++attempts;
    throw RetryableError("connect", "connection refused (127.0.0.1:1)");
  }
  std::atomic<int> attempts{0};
};

// While a source retries its start, the reason is visible at once, not after the retries end.
TEST(EngineCorrectness, StartupFailuresAreVisibleWhileRetrying) {
  auto source = std::make_shared<UnreachableSource>();
  source->SetSchema(kUsers, IdNameColumns());
  auto observer = std::make_shared<RecordingObserver>();
  auto options = FastOptions(observer);
  options.source_backoff = {
      .initial = 30s, .max = 30s, .multiplier = 2.0};  // the first retry waits long
  Engine engine(options);
  engine.AddSource("s", source);
  engine.AddPipeline("s", kUsers, std::make_shared<IndexedTarget>());
  engine.Start();
  EXPECT_FALSE(engine.AwaitReady(50ms));
  ASSERT_TRUE(Eventually([&] { return engine.SourceError("s").has_value(); }, 2s));
  EXPECT_NE(engine.SourceError("s")->find("connection refused"), std::string::npos);
  EXPECT_EQ(engine.GetSourceState("s"), SourceState::Reconnecting);
  EXPECT_NE(engine.NotReadyReason().find("connection refused"), std::string::npos)
      << engine.NotReadyReason();
  ASSERT_FALSE(observer->Errors().empty());
  EXPECT_TRUE(observer->Errors()[0].will_retry);
  EXPECT_EQ(source->attempts.load(), 1);
  const auto start = std::chrono::steady_clock::now();
  engine.Stop();  // interrupts the retry wait
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
}

// A transform that rewrites a key column must reach updates and deletes too.
TEST(EngineCorrectness, TransformsRewriteIdentityRows) {
  auto source = UsersSource();
  source->AddRow(kUsers, User(1, "a"));
  source->AddRow(kUsers, User(2, "b"));
  auto target = std::make_shared<IndexedTarget>();
  PipelineOptions options;
  options.transforms.push_back([](Row r) -> std::optional<Row> {
    r["id"] = Value(r.at("id").AsInt() + 1000);
    return r;
  });
  Engine engine(FastOptions());
  engine.AddSource("s", source);
  engine.AddPipeline("s", kUsers, target, options);
  engine.Start();
  ASSERT_TRUE(engine.AwaitReady(10s));
  source->EmitUpdate(kUsers, User(1, "a2"), Row{{"id", 1}});
  const auto last = source->EmitDelete(kUsers, Row{{"id", 2}});
  ASSERT_TRUE(source->AwaitAck(last, 10s));
  EXPECT_EQ(target->Count(), 1U);
  EXPECT_EQ(target->Get({Value(1001)})->at("name").AsText(), "a2");
  EXPECT_FALSE(target->Get({Value(1002)}).has_value());
}

// An update that brings a row into a filter while one of its columns is unchanged (TOAST): the
// filter must never see the marker and the row must arrive whole.
TEST(EngineCorrectness, UnchangedValuesNeverReachFiltersOrTheReplica) {
  auto source = std::make_shared<TestSource>();
  source->SetSchema(kUsers, DocColumns());
  source->AddRow(kUsers, Doc(1, "draft", Value("a long body")));
  source->AddRow(kUsers, Doc(2, "live", Value("second body")));
  auto target = std::make_shared<IndexedTarget>();
  auto observer = std::make_shared<RecordingObserver>();
  std::atomic<int> markers_seen{0};
  PipelineOptions options;
  options.filters.push_back([&](const Row& r) {
    for (const auto& [name, value] : r) markers_seen += value.IsUnchanged() ? 1 : 0;
    return r.at("status").AsText() == "live";
  });
  Engine engine(FastOptions(observer));
  engine.AddSource("s", source);
  engine.AddPipeline("s", kUsers, target, options);
  engine.Start();
  ASSERT_TRUE(engine.AwaitReady(10s));
  ASSERT_EQ(target->Count(), 1U);
  // Held by the target: filled from its copy.
  source->EmitUpdate(kUsers, Doc(2, "live", Value::Unchanged()), Row{{"id", 2}});
  // Not held (it was filtered out) and the old row has only the key: a reload of the table reads
  // it (the source can reload one table; no baseline).
  source->EmitUpdate(kUsers, Doc(1, "live", Value::Unchanged()), Row{{"id", 1}});
  ASSERT_TRUE(Eventually([&] { return target->Count() == 2U; }));
  ASSERT_TRUE(engine.AwaitReady(10s));
  EXPECT_EQ(markers_seen.load(), 0);
  EXPECT_EQ(target->Get({Value(1)})->at("body").AsText(), "a long body");
  EXPECT_EQ(target->Get({Value(2)})->at("body").AsText(), "second body");
  EXPECT_EQ(source->BaselineCount(), 1);
  EXPECT_TRUE(observer->Rebaselines().empty());
  // A whole old row (REPLICA IDENTITY FULL) fills the marker without a re-baseline.
  source->EmitUpdate(kUsers, Doc(3, "live", Value::Unchanged()), Doc(3, "draft", Value("third")));
  const auto last = source->EmitInsert(kUsers, Doc(4, "live", Value("fourth")));
  ASSERT_TRUE(source->AwaitAck(last, 10s));
  EXPECT_EQ(target->Get({Value(3)})->at("body").AsText(), "third");
  EXPECT_EQ(source->BaselineCount(), 1);
}

// A source whose every baseline is the same old snapshot, its stream replayed from the snapshot's
// position: a Kinesis consumer that re-baselines from the newest manifest, older than the update.
class OldSnapshotSource final : public TestSource {
 public:
  Position BaselineWithColumns(std::stop_token, const std::vector<TableIdentifier>& tables,
                               const ColumnsCallback& on_columns,
                               const RowCallback& on_row) override {
    ++baselines;
    for (const auto& t : tables) on_columns(t, DocColumns());
    on_row(kUsers, Doc(1, "draft", Value("a long body")));
    return Position(std::uint64_t{0});
  }
  // Like a Kinesis consumer, it cannot reload one table.
  void ReloadTable(const TableIdentifier&) override {
    throw ConfigError({"this source cannot reload one table"});
  }
  std::atomic<int> baselines{0};
};

// An update the engine cannot fill, met again after the re-baseline it asked for: the baseline
// cannot supply the row, so asking again would loop for ever. The second time is a clear error for
// the pipeline's error policy (here: isolated), and there is no third baseline.
TEST(EngineCorrectness, AnUnfillableUpdateMetAgainAfterItsRebaselineIsAnErrorNotALoop) {
  auto source = std::make_shared<OldSnapshotSource>();
  source->SetSchema(kUsers, DocColumns());
  auto target = std::make_shared<IndexedTarget>();
  auto observer = std::make_shared<RecordingObserver>();
  PipelineOptions options;
  options.filters.push_back([](const Row& r) { return r.at("status").AsText() == "live"; });
  options.error_policy.max_retries = 0;
  Engine engine(FastOptions(observer));
  engine.AddSource("s", source);
  const auto id = engine.AddPipeline("s", kUsers, target, options);
  engine.Start();
  ASSERT_TRUE(engine.AwaitReady(10s));
  source->EmitUpdate(kUsers, Doc(1, "live", Value::Unchanged()), Row{{"id", 1}});
  ASSERT_TRUE(Eventually([&] { return engine.Pipeline(id).state == PipelineState::Error; }));
  EXPECT_EQ(source->baselines.load(), 2);
  EXPECT_EQ(observer->Rebaselines().size(), 1U);
  EXPECT_NE(engine.Pipeline(id).last_error.find("again after the re-baseline"), std::string::npos)
      << engine.Pipeline(id).last_error;
}

// An update that cannot be filled reloads its own table when the source can (PostgreSQL): the
// other table of the source is neither baselined again nor held up, and the row arrives whole.
TEST(EngineCorrectness, AnUnfillableUpdateReloadsItsTableAloneWhenTheSourceCan) {
  const auto other = Table("public", "other");
  auto source = std::make_shared<TestSource>();
  source->SetSchema(kUsers, DocColumns());
  source->SetSchema(other, DocColumns());
  source->AddRow(kUsers, Doc(1, "draft", Value("a long body")));
  source->AddRow(other, Doc(7, "live", Value("kept")));
  auto target = std::make_shared<IndexedTarget>();
  auto other_target = std::make_shared<IndexedTarget>();
  auto observer = std::make_shared<RecordingObserver>();
  PipelineOptions options;
  options.filters.push_back([](const Row& r) { return r.at("status").AsText() == "live"; });
  Engine engine(FastOptions(observer));
  engine.AddSource("s", source);
  engine.AddPipeline("s", kUsers, target, options);
  engine.AddPipeline("s", other, other_target);
  engine.Start();
  ASSERT_TRUE(engine.AwaitReady(10s));
  source->EmitUpdate(kUsers, Doc(1, "live", Value::Unchanged()), Row{{"id", 1}});
  ASSERT_TRUE(Eventually([&] { return target->Count() == 1U; }));
  EXPECT_EQ(target->Get({Value(1)})->at("body").AsText(), "a long body");
  const auto last = source->EmitInsert(other, Doc(8, "live", Value("after")));
  ASSERT_TRUE(source->AwaitAck(last, 10s));  // the ACK moves on once the reload began
  EXPECT_EQ(other_target->Count(), 2U);
  EXPECT_EQ(source->BaselineCount(), 1);
  EXPECT_EQ(source->ReloadCount(), 1);
  EXPECT_TRUE(observer->Rebaselines().empty());
}

// A key change with an unchanged (TOAST) value, delivered twice (a publisher or slot replaying
// after a crash): the second copy finds no row at the old key but the moved row at the new one,
// and fills the value from it instead of asking for a re-baseline.
TEST(EngineCorrectness, AReplayedKeyChangeFillsUnchangedValuesFromTheMovedRow) {
  auto source = std::make_shared<TestSource>();
  source->SetSchema(kUsers, DocColumns());
  source->AddRow(kUsers, Doc(1, "live", Value("a long body")));
  auto target = std::make_shared<IndexedTarget>();
  auto observer = std::make_shared<RecordingObserver>();
  Engine engine(FastOptions(observer));
  engine.AddSource("s", source);
  engine.AddPipeline("s", kUsers, target);
  engine.Start();
  ASSERT_TRUE(engine.AwaitReady(10s));
  source->EmitUpdate(kUsers, Doc(101, "live", Value::Unchanged()), Row{{"id", 1}});
  source->EmitUpdate(kUsers, Doc(101, "moved", Value::Unchanged()), Row{{"id", 1}});
  const auto last = source->EmitInsert(kUsers, Doc(2, "live", Value("second")));
  ASSERT_TRUE(source->AwaitAck(last, 10s));
  EXPECT_TRUE(observer->Rebaselines().empty()) << observer->Rebaselines()[0];
  EXPECT_EQ(source->BaselineCount(), 1);
  EXPECT_EQ(target->Count(), 2U);
  EXPECT_FALSE(target->Get({Value(1)}).has_value());
  const auto moved = target->Get({Value(101)});
  ASSERT_TRUE(moved.has_value());
  EXPECT_EQ(moved->at("status").AsText(), "moved");
  EXPECT_EQ(moved->at("body").AsText(), "a long body");
}

// After a schema change answered with ReBaseline the replica takes the new columns: later
// changes (even ADD COLUMN) do not reload again, and a renamed key column keys the new rows.
TEST(EngineCorrectness, ARebaselineReinitialisesTheTargetWithTheNewColumns) {
  auto source = std::make_shared<TestSource>();
  source->SetSchema(kUsers, DocColumns());
  auto target = std::make_shared<IndexedTarget>();
  Engine engine(FastOptions());
  engine.AddSource("s", source);
  const auto id = engine.AddPipeline("s", kUsers, target);
  engine.Start();
  ASSERT_TRUE(engine.AwaitReady(10s));

  auto renamed = DocColumns();
  renamed[0].name = "doc_id";  // RENAME COLUMN id TO doc_id
  renamed.pop_back();          // DROP COLUMN body
  source->EmitSchemaChange(kUsers, renamed);
  ASSERT_TRUE(Eventually([&] { return source->BaselineCount() == 2 && engine.AwaitReady(1ms); }));
  ASSERT_EQ(target->Columns().size(), 3U);
  EXPECT_EQ(target->Columns()[0].name, "doc_id");
  auto with_body_again = renamed;
  with_body_again.push_back({.name = "note", .type = "text", .ordinal_position = 5});
  source->EmitSchemaChange(kUsers, with_body_again);  // ADD COLUMN: no reload
  const auto last = source->EmitInsert(
      kUsers, Row{{"doc_id", 7}, {"name", "n"}, {"status", "live"}, {"note", "hi"}});
  ASSERT_TRUE(source->AwaitAck(last, 10s));
  EXPECT_EQ(source->BaselineCount(), 2);
  EXPECT_EQ(engine.Pipeline(id).state, PipelineState::Streaming);
  EXPECT_EQ(target->Get({Value(7)})->at("note").AsText(), "hi");
  EXPECT_EQ(target->Columns().size(), 4U);
}

/// Durable only once closed: a target that flushes in OnClose.
class FlushOnCloseTarget : public RecordingTarget {
 public:
  bool IsDurable() override { return closed_.load(); }
  void OnClose(const TableIdentifier& table) override {
    RecordingTarget::OnClose(table);
    closed_ = true;
  }

 private:
  std::atomic<bool> closed_{false};
};

TEST(EngineCorrectness, TheFinalAckComesAfterOnCloseAndCoversWhatItFlushed) {
  auto source = UsersSource();
  auto target = std::make_shared<FlushOnCloseTarget>();
  Engine engine(FastOptions());
  engine.AddSource("s", source);
  engine.AddPipeline("s", kUsers, target);
  engine.Start();
  ASSERT_TRUE(engine.AwaitReady(10s));
  source->EmitInsert(kUsers, User(1, "a"));
  const auto last = source->EmitInsert(kUsers, User(2, "b"));
  ASSERT_TRUE(target->AwaitApplied(2));
  EXPECT_FALSE(source->LastAck().has_value());
  engine.Stop();
  EXPECT_EQ(source->LastAck(), last);
}

TEST(EngineCorrectness, NotReadyWhileARebaselineIsPending) {
  auto source = UsersSource();
  source->AddRow(kUsers, User(1, "a"));
  auto target = std::make_shared<RecordingTarget>();
  Engine engine(FastOptions());
  engine.AddSource("s", source);
  engine.AddPipeline("s", kUsers, target);
  engine.Start();
  ASSERT_TRUE(engine.AwaitReady(10s));
  target->CloseGate();
  source->EmitInsert(kUsers, User(2, "b"));
  ASSERT_TRUE(target->AwaitBlocked());
  source->EndStreamRequiringRebaseline("slot lost");
  ASSERT_TRUE(Eventually([&] { return source->BaselineCount() == 2; }));
  EXPECT_FALSE(engine.AwaitReady(20ms));  // the worker has not even reached the new baseline
  EXPECT_FALSE(engine.NotReadyReason().empty());
  target->OpenGate();
  EXPECT_TRUE(engine.AwaitReady(10s));
  EXPECT_TRUE(engine.NotReadyReason().empty());
}

TEST(EngineCorrectness, StatusReadsDuringStartSeeAllOrNothing) {
  auto source = UsersSource();
  Engine engine(FastOptions());
  engine.AddSource("s", source);
  for (int i = 0; i < 8; ++i) {
    engine.AddPipeline("s", kUsers, std::make_shared<RecordingTarget>());
  }
  std::atomic<bool> started{false};
  std::set<std::size_t> sizes;
  std::thread health([&] {
    while (!started.load()) sizes.insert(engine.Pipelines().size());
  });
  engine.Start();
  started = true;
  health.join();
  sizes.insert(engine.Pipelines().size());
  for (auto n : sizes) EXPECT_TRUE(n == 0 || n == 8) << n;
}

TEST(EngineCorrectness, DefaultPipelineIdsAreCountedByExactName) {
  auto source = UsersSource();
  Engine engine(FastOptions());
  engine.AddSource("s", source);
  EXPECT_EQ(engine.AddPipeline("s", Table("public", "order"), std::make_shared<IndexedTarget>()),
            "s/public.order");
  EXPECT_EQ(engine.AddPipeline("s", Table("public", "orders"), std::make_shared<IndexedTarget>()),
            "s/public.orders");
  EXPECT_EQ(engine.AddPipeline("s", Table("public", "orders"), std::make_shared<RecordingTarget>()),
            "s/public.orders#2");
}

}  // namespace
}  // namespace laredo::testing

namespace laredo::testing {
namespace {

// Found by the fault-schedule harness: a pipeline that failed while the source thread waited for
// room in its buffer discarded the waiting item without remembering it, so the ACK passed a
// baseline the pipeline never applied.
TEST(EngineCorrectness, APipelineHaltedWhileTheSourceWaitsForRoomStillHoldsTheAck) {
  auto source = UsersSource();
  for (int i = 1; i <= 3; ++i) source->AddRow(kUsers, User(i, "row"));
  auto failing = std::make_shared<RecordingTarget>();
  failing->FailId(2, -1);  // the second baseline row never applies
  auto healthy = std::make_shared<IndexedTarget>();
  PipelineOptions tiny;
  tiny.buffer_capacity = 1;  // the baseline's end waits for room behind the failing row
  tiny.error_policy = QuickRetries(2, ErrorAction::Isolate);
  Engine engine(FastOptions());
  engine.AddSource("s", source);
  const auto id = engine.AddPipeline("s", kUsers, failing, tiny);
  engine.AddPipeline("s", kUsers, healthy);
  engine.Start();
  ASSERT_TRUE(Eventually([&] { return engine.Pipeline(id).state == PipelineState::Error; }));
  ASSERT_TRUE(Eventually([&] { return healthy->Count() == 3U; }));
  // Must time out: the baseline (position 0) is not applied by the failed pipeline.
  EXPECT_FALSE(source->AwaitAck(0, 100ms));
  engine.Stop();
  EXPECT_FALSE(source->LastAck().has_value());
}

}  // namespace
}  // namespace laredo::testing

namespace laredo::testing {
namespace {

/// Validation that loses its connection once (the server restarted under it).
class FlakyValidationSource : public TestSource {
 public:
  std::vector<ValidationError> ValidateTables(const std::vector<TableIdentifier>& t) override {
    if (++calls == 1) throw RetryableError("connect", "server closed the connection unexpectedly");
    return TestSource::ValidateTables(t);
  }
  std::atomic<int> calls{0};
};

// Found by the PostgreSQL chaos run: a consumer starting while the server crash-restarted failed
// for good, because a lost connection during validation counted as a validation problem.
TEST(EngineCorrectness, ATransientFailureDuringValidationIsRetried) {
  auto source = std::make_shared<FlakyValidationSource>();
  source->SetSchema(kUsers, IdNameColumns());
  source->AddRow(kUsers, User(1, "a"));
  auto target = std::make_shared<IndexedTarget>();
  Engine engine(FastOptions());
  engine.AddSource("s", source);
  engine.AddPipeline("s", kUsers, target);
  engine.Start();
  ASSERT_TRUE(engine.AwaitReady(10s)) << engine.NotReadyReason();
  EXPECT_EQ(source->calls.load(), 2);
  EXPECT_EQ(source->InitCount(), 2);  // Init and validation are retried together
  EXPECT_EQ(target->Count(), 1U);
}

}  // namespace
}  // namespace laredo::testing
