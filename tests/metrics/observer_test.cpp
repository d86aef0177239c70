// PrometheusObserver against the real engine and test source: known workloads, known values.
#include <gtest/gtest.h>

#include <thread>

#include "engine/test_util.hpp"
#include "laredo/memory/indexed_target.hpp"
#include "laredo/metrics/prometheus_observer.hpp"
#include "metrics/exposition.hpp"

namespace laredo::testing {
namespace {

using memory::IndexedTarget;
using metrics::PrometheusObserver;

constexpr const char* kApplied =
    R"(laredo_changes_applied_total{pipeline="s/public.users",table="public.users"})";

struct Fixture {
  explicit Fixture(std::shared_ptr<SyncTarget> target = std::make_shared<IndexedTarget>(),
                   PipelineOptions options = {})
      : observer(std::make_shared<PrometheusObserver>()),
        source(UsersSource()),
        engine(FastOptions(observer)) {
    engine.AddSource("s", source);
    pipeline = engine.AddPipeline("s", kUsers, std::move(target), std::move(options));
  }
  std::optional<double> Value(const std::string& series) const {
    return SampleValue(observer->Render(), series);
  }
  bool Await(const std::string& series, double value) const {
    return Eventually([&] { return Value(series) == value; });
  }
  std::shared_ptr<PrometheusObserver> observer;
  std::shared_ptr<testsource::TestSource> source;
  Engine engine;
  std::string pipeline;
};

TEST(PrometheusObserver, CountsChangesReceivedBeforeFiltersAndInvalidRecords) {
  PipelineOptions options;
  options.filters = {[](const Row& row) { return row.at("id").AsInt() % 2 == 0; }};
  Fixture f(std::make_shared<IndexedTarget>(), options);
  f.engine.Start();
  ASSERT_TRUE(f.engine.AwaitReady(10s));
  for (int i = 1; i <= 10; ++i) f.source->EmitInsert(kUsers, User(i, "x"));
  f.source->EmitInvalidRecord(kUsers, "\x01garbage", "cannot decode");
  const auto last = f.source->EmitInsert(kUsers, User(12, "y"));
  ASSERT_TRUE(f.source->AwaitAck(last, 10s));
  ASSERT_TRUE(f.Await(
      R"(laredo_changes_received_total{pipeline="s/public.users",table="public.users"})", 11));
  EXPECT_EQ(f.Value(kApplied), 11);  // every change it is done with
  EXPECT_EQ(
      f.Value(R"(laredo_changes_filtered_total{pipeline="s/public.users",table="public.users"})"),
      5);  // the odd ids do not pass the filter
  EXPECT_EQ(f.Value(R"(laredo_invalid_records_total{source="s"})"), 1);
}

TEST(PrometheusObserver, CountsBaselineAndAppliedChangesAndStates) {
  PipelineOptions options;
  options.buffer_capacity = 77;
  Fixture f(std::make_shared<IndexedTarget>(), options);
  for (int i = 1; i <= 5; ++i) f.source->AddRow(kUsers, User(i, "row"));
  f.engine.Start();
  ASSERT_TRUE(f.engine.AwaitReady(10s));
  f.source->EmitInsert(kUsers, User(10, "a"));
  f.source->EmitUpdate(kUsers, User(10, "b"), Row{{"id", 10}});
  const auto last = f.source->EmitDelete(kUsers, Row{{"id", 1}});
  ASSERT_TRUE(f.source->AwaitAck(last, 10s));
  ASSERT_TRUE(f.Await(kApplied, 3));
  ASSERT_TRUE(f.Await(R"(laredo_buffer_capacity{pipeline="s/public.users"})", 77));

  const auto text = f.observer->Render();
  EXPECT_EQ(
      SampleValue(text,
                  R"(laredo_baseline_rows_total{pipeline="s/public.users",table="public.users"})"),
      5);
  EXPECT_EQ(SampleValue(text, R"(laredo_baseline_rows_read{source="s",table="public.users"})"), 5);
  const auto duration = SampleValue(
      text, R"(laredo_baseline_duration_seconds{pipeline="s/public.users",table="public.users"})");
  ASSERT_TRUE(duration.has_value()) << text;
  EXPECT_GE(*duration, 0);
  EXPECT_LT(*duration, 10);
  EXPECT_EQ(
      SampleValue(text, R"(laredo_pipeline_state{pipeline="s/public.users",state="Streaming"})"),
      1);
  EXPECT_EQ(
      SampleValue(text, R"(laredo_pipeline_state{pipeline="s/public.users",state="Baseline"})"), 0);
  EXPECT_EQ(SampleValue(text, R"(laredo_source_state{source="s",state="Streaming"})"), 1);
  EXPECT_EQ(SampleValue(text, R"(laredo_source_state{source="s",state="Connecting"})"), 0);
  EXPECT_EQ(CountLines(text, "laredo_source_state{"), 7);  // one series per state
  EXPECT_GE(SampleValue(text, R"(laredo_acks_total{source="s"})").value_or(0), 1);
  EXPECT_GT(SampleValue(text, R"(laredo_last_ack_timestamp_seconds{source="s"})").value_or(0),
            1.6e9);
  // Test-source positions are sequence numbers, not WAL offsets: no byte gauge.
  EXPECT_EQ(CountLines(text, "laredo_ack_position_bytes{"), 0);
  // No commit times from plain Emit*: the histogram has a series with nothing in it.
  EXPECT_EQ(
      SampleValue(
          text,
          R"(laredo_commit_to_apply_seconds_count{pipeline="s/public.users",table="public.users"})"),
      0);

  f.engine.Stop();
  EXPECT_EQ(f.Value(R"(laredo_pipeline_state{pipeline="s/public.users",state="Stopped"})"), 1);
  EXPECT_EQ(f.Value(R"(laredo_pipeline_state{pipeline="s/public.users",state="Streaming"})"), 0);
}

TEST(PrometheusObserver, ObservesCommitToApplyDelay) {
  Fixture f;
  f.engine.Start();
  ASSERT_TRUE(f.engine.AwaitReady(10s));
  // Committed 1.5 s ago: every delay is above 1 s and (on any sane machine) below 60 s.
  const auto commit = std::chrono::system_clock::now() - 1500ms;
  const auto last = f.source->EmitTransaction(7, commit, [&] {
    f.source->EmitInsert(kUsers, User(1, "a"));
    f.source->EmitInsert(kUsers, User(2, "b"));
  });
  ASSERT_TRUE(f.source->AwaitAck(last, 10s));
  const std::string labels = R"(pipeline="s/public.users",table="public.users")";
  ASSERT_TRUE(f.Await("laredo_commit_to_apply_seconds_count{" + labels + "}", 2));
  EXPECT_EQ(f.Value("laredo_commit_to_apply_seconds_bucket{" + labels + R"(,le="1"})"), 0);
  EXPECT_EQ(f.Value("laredo_commit_to_apply_seconds_bucket{" + labels + R"(,le="60"})"), 2);
  EXPECT_EQ(f.Value("laredo_commit_to_apply_seconds_bucket{" + labels + R"(,le="+Inf"})"), 2);
  EXPECT_GE(f.Value("laredo_commit_to_apply_seconds_sum{" + labels + "}").value_or(0), 3.0);
}

TEST(PrometheusObserver, CountsRetriesDeadLettersAndSkips) {
  auto target = std::make_shared<RecordingTarget>();
  target->FailId(2, -1);
  PipelineOptions options;
  options.error_policy = QuickRetries(2, ErrorAction::Skip);
  Fixture f(target, options);
  f.engine.Start();
  ASSERT_TRUE(f.engine.AwaitReady(10s));
  f.source->EmitInsert(kUsers, User(1, "a"));
  f.source->EmitUpdate(kUsers, User(2, "poison"), Row{{"id", 2}});
  const auto last = f.source->EmitInsert(kUsers, User(3, "c"));
  ASSERT_TRUE(f.source->AwaitAck(last, 10s));
  ASSERT_TRUE(f.Await(kApplied, 2));
  const auto text = f.observer->Render();
  EXPECT_EQ(
      SampleValue(
          text,
          R"(laredo_dead_letters_total{pipeline="s/public.users",table="public.users",operation="update"})"),
      1);
  // Three attempts: two failures retried, then the skip.
  EXPECT_EQ(
      SampleValue(text, R"(laredo_errors_total{component="s/public.users",will_retry="true"})"), 2);
  EXPECT_EQ(
      SampleValue(text, R"(laredo_errors_total{component="s/public.users",will_retry="false"})"),
      1);
}

TEST(PrometheusObserver, CountsSourceRetries) {
  Fixture f;
  f.source->FailNextInit("connection refused");
  f.engine.Start();
  ASSERT_TRUE(f.engine.AwaitReady(10s));
  EXPECT_EQ(f.Value(R"(laredo_errors_total{component="s",will_retry="true"})"), 1);
  EXPECT_EQ(f.Value(R"(laredo_source_reconnects_total{source="s"})"), 1);
}

TEST(PrometheusObserver, CountsDroppedChanges) {
  auto target = std::make_shared<RecordingTarget>();
  PipelineOptions options;
  options.buffer_capacity = 4;
  options.buffer_policy = BufferPolicy::DropOldest;
  Fixture f(target, options);
  f.engine.Start();
  ASSERT_TRUE(f.engine.AwaitReady(10s));
  target->CloseGate();
  f.source->EmitInsert(kUsers, User(0, "first"));
  ASSERT_TRUE(target->AwaitBlocked());
  std::uint64_t last = 0;
  for (int i = 1; i <= 50; ++i) last = f.source->EmitInsert(kUsers, User(i, "x"));
  ASSERT_TRUE(f.source->AwaitDelivered(last, 10s));
  target->OpenGate();
  ASSERT_TRUE(f.source->AwaitAck(last, 10s));
  // As the engine's own test: the first change, then the 4 newest; 46 dropped.
  ASSERT_TRUE(f.Await(kApplied, 5));
  EXPECT_EQ(
      f.Value(R"(laredo_changes_dropped_total{pipeline="s/public.users",table="public.users"})"),
      46);
}

TEST(PrometheusObserver, CountsRebaselinesAndSchemaChanges) {
  Fixture f;
  f.engine.Start();
  ASSERT_TRUE(f.engine.AwaitReady(10s));
  auto columns = IdNameColumns();
  columns.push_back({.name = "email", .type = "text", .ordinal_position = 3});
  f.source->EmitSchemaChange(kUsers, columns);
  const auto after_schema =
      f.source->EmitInsert(kUsers, Row{{"id", 1}, {"name", "a"}, {"email", "e"}});
  ASSERT_TRUE(f.source->AwaitAck(after_schema, 10s));
  EXPECT_EQ(
      f.Value(
          R"(laredo_schema_changes_total{pipeline="s/public.users",table="public.users",action="continue"})"),
      1);
  f.source->EndStreamRequiringRebaseline("slot invalidated");
  ASSERT_TRUE(f.Await(R"(laredo_rebaselines_total{source="s"})", 1));
  ASSERT_TRUE(f.engine.AwaitReady(10s));
  // The re-baseline delivered the one row again.
  ASSERT_TRUE(
      f.Await(R"(laredo_baseline_rows_total{pipeline="s/public.users",table="public.users"})", 1));
}

TEST(PrometheusObserver, AckPositionOfPostgresLsnsIsAByteOffset) {
  PrometheusObserver observer;
  observer.OnAckAdvanced("pg", Position{}, "16/B374D848");
  const auto text = observer.Render();
  EXPECT_EQ(SampleValue(text, R"(laredo_ack_position_bytes{source="pg"})"),
            static_cast<double>(0x16B374D848ULL));
  EXPECT_EQ(SampleValue(text, R"(laredo_acks_total{source="pg"})"), 1);
}

TEST(PgLsn, ParsesPostgresNotationOnly) {
  EXPECT_EQ(metrics::ParsePgLsn("0/0"), 0U);
  EXPECT_EQ(metrics::ParsePgLsn("16/B374D848"), 0x16B374D848ULL);
  EXPECT_EQ(metrics::ParsePgLsn("ffffffff/ffffffff"), 0xFFFFFFFFFFFFFFFFULL);
  EXPECT_FALSE(metrics::ParsePgLsn("123"));
  EXPECT_FALSE(metrics::ParsePgLsn("1/"));
  EXPECT_FALSE(metrics::ParsePgLsn("/1"));
  EXPECT_FALSE(metrics::ParsePgLsn("1/2/3"));
  EXPECT_FALSE(metrics::ParsePgLsn("-1/0"));
  EXPECT_FALSE(metrics::ParsePgLsn("1/0x2"));
  EXPECT_FALSE(metrics::ParsePgLsn("100000000/0"));  // each half is 32 bits
}

TEST(PrometheusObserver, HotPathCountsExactlyUnderConcurrency) {
  // Several threads and two observers at once: the per-thread cache must never mix them up.
  PrometheusObserver a;
  PrometheusObserver b;
  ChangeEvent users{.table = kUsers};
  ChangeEvent orders{.table = kOrders};
  {
    std::vector<std::jthread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&] {
        for (int i = 0; i < 5'000; ++i) {
          a.OnChangeApplied("p1", users);
          b.OnChangeApplied("p1", users);
          a.OnChangeApplied("p2", orders);
          a.OnChangeDropped("p1", users);
        }
      });
    }
  }
  EXPECT_EQ(SampleValue(a.Render(),
                        R"(laredo_changes_applied_total{pipeline="p1",table="public.users"})"),
            20'000);
  EXPECT_EQ(SampleValue(a.Render(),
                        R"(laredo_changes_applied_total{pipeline="p2",table="public.orders"})"),
            20'000);
  EXPECT_EQ(SampleValue(a.Render(),
                        R"(laredo_changes_dropped_total{pipeline="p1",table="public.users"})"),
            20'000);
  EXPECT_EQ(SampleValue(b.Render(),
                        R"(laredo_changes_applied_total{pipeline="p1",table="public.users"})"),
            20'000);
  // A new observer (maybe at a freed one's address) starts from nothing.
  auto c = std::make_unique<PrometheusObserver>();
  c->OnChangeApplied("p1", users);
  EXPECT_EQ(SampleValue(c->Render(),
                        R"(laredo_changes_applied_total{pipeline="p1",table="public.users"})"),
            1);
}

TEST(PrometheusObserver, SharesARegistryWithTheApplication) {
  auto registry = std::make_shared<metrics::Registry>();
  registry->AddGauge("app_up", "The application's own metric.").WithLabels({}).Set(1);
  PrometheusObserver observer(metrics::PrometheusObserverOptions{.registry = registry});
  EXPECT_EQ(observer.GetRegistry(), registry);
  EXPECT_EQ(SampleValue(observer.Render(), "app_up"), 1);
  // A second observer in the same registry would collide with the first one's names.
  EXPECT_THROW(PrometheusObserver(metrics::PrometheusObserverOptions{.registry = registry}),
               std::invalid_argument);
}

}  // namespace
}  // namespace laredo::testing

namespace laredo::testing {
namespace {

/// A test source whose lag the test sets.
class LaggingSource : public testsource::TestSource {
 public:
  [[nodiscard]] LagInfo GetLag() const override {
    return LagInfo{.lag_bytes = 12345, .lag_time = std::chrono::milliseconds(1500)};
  }
};

TEST(PrometheusObserver, ApplyDurationLagAndSeriesThatExistFromTheStart) {
  auto observer = std::make_shared<metrics::PrometheusObserver>();
  auto source = std::make_shared<LaggingSource>();
  source->SetSchema(kUsers, IdNameColumns());
  auto options = FastOptions(observer);
  options.lag_interval = 5ms;
  Engine engine(options);
  engine.AddSource("s", source);
  engine.AddPipeline("s", kUsers, std::make_shared<memory::IndexedTarget>());
  engine.Start();
  ASSERT_TRUE(engine.AwaitReady(10s));
  // Before any change, the pipeline's counter is there, at 0 (a rate() needs the first sample).
  EXPECT_EQ(SampleValue(observer->Render(), kApplied), 0);
  std::uint64_t last = 0;
  for (int i = 1; i <= 300; ++i) last = source->EmitInsert(kUsers, User(i, "x"));
  ASSERT_TRUE(source->AwaitAck(last, 10s));
  ASSERT_TRUE(Eventually([&] {
    return SampleValue(observer->Render(), R"(laredo_source_lag_bytes{source="s"})") == 12345;
  }));
  engine.Stop();
  const auto text = observer->Render();
  EXPECT_EQ(SampleValue(text, R"(laredo_source_lag_seconds{source="s"})"), 1.5);
  // One observation per target call: at least one, at most one per change.
  const auto calls =
      SampleValue(text, R"(laredo_apply_duration_seconds_count{pipeline="s/public.users"})");
  ASSERT_TRUE(calls.has_value()) << text;
  EXPECT_GE(*calls, 1);
  EXPECT_LE(*calls, 300);
  EXPECT_EQ(
      SampleValue(text,
                  R"(laredo_apply_duration_seconds_bucket{pipeline="s/public.users",le="+Inf"})"),
      calls);
}

}  // namespace
}  // namespace laredo::testing
