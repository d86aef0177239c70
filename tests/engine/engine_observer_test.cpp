// The observer hooks and log redirection that metrics and logging rely on.
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <sstream>

#include "engine/test_util.hpp"

namespace laredo::testing {
namespace {

using memory::IndexedTarget;

/// A test source that can also estimate its baseline size.
class EstimatingSource : public testsource::TestSource, public BaselineSizeEstimator {
 public:
  std::optional<std::uint64_t> EstimateRows(const TableIdentifier&) override { return 250; }
};

class Hooks : public EngineObserver {
 public:
  void OnSourceStateChanged(std::string_view, SourceState state) override {
    std::lock_guard lk(mu);
    states.push_back(state);
  }
  void OnBaselineStarted(std::string_view, const TableIdentifier&,
                         std::optional<std::uint64_t> estimate) override {
    std::lock_guard lk(mu);
    started_estimate = estimate;
  }
  void OnBaselineProgress(std::string_view, const TableIdentifier&, std::uint64_t rows,
                          std::optional<std::uint64_t> estimate) override {
    std::lock_guard lk(mu);
    progress.emplace_back(rows, estimate.value_or(0));
  }
  void OnChangeApplied(std::string_view, const ChangeEvent&) override { ++applied; }
  void OnAckAdvanced(std::string_view, const Position& p, std::string_view text) override {
    std::lock_guard lk(mu);
    ack_texts.emplace_back(text);
    EXPECT_EQ(std::to_string(std::any_cast<std::uint64_t>(p)), text);
  }
  void OnBufferDepth(std::string_view, std::size_t, std::size_t capacity) override {
    last_capacity = capacity;
  }

  std::mutex mu;
  std::vector<SourceState> states;
  std::optional<std::uint64_t> started_estimate;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> progress;
  std::vector<std::string> ack_texts;
  std::atomic<int> applied{0};
  std::atomic<std::size_t> last_capacity{0};
};

TEST(EngineObserver, ReportsBaselineProgressAppliedChangesAcksAndBufferDepth) {
  auto source = std::make_shared<EstimatingSource>();
  source->SetSchema(kUsers, IdNameColumns());
  for (int i = 1; i <= 250; ++i) source->AddRow(kUsers, User(i, "x"));
  auto hooks = std::make_shared<Hooks>();
  auto options = FastOptions(hooks);
  options.baseline_progress_rows = 100;
  PipelineOptions pipeline;
  pipeline.buffer_capacity = 77;
  Engine engine(options);
  engine.AddSource("s", source);
  engine.AddPipeline("s", kUsers, std::make_shared<IndexedTarget>(), pipeline);
  engine.Start();
  ASSERT_TRUE(engine.AwaitReady(10s));
  const auto last = source->EmitInsert(kUsers, User(300, "y"));
  ASSERT_TRUE(source->AwaitAck(last, 10s));
  ASSERT_TRUE(Eventually([&] { return hooks->last_capacity.load() == 77; }));
  engine.Stop();

  std::lock_guard lk(hooks->mu);
  EXPECT_EQ(hooks->started_estimate, 250U);
  // Every 100 rows, then the remainder, each with the estimate.
  EXPECT_EQ(hooks->progress, (std::vector<std::pair<std::uint64_t, std::uint64_t>>{
                                 {100, 250}, {200, 250}, {250, 250}}));
  EXPECT_EQ(hooks->applied.load(), 1);
  ASSERT_FALSE(hooks->ack_texts.empty());
  EXPECT_EQ(hooks->ack_texts.back(), std::to_string(last));
  ASSERT_FALSE(hooks->states.empty());
  EXPECT_EQ(hooks->states.back(), SourceState::Closed);
}

/// Counts what the hooks added for metrics report.
class Counting : public EngineObserver {
 public:
  void OnPipelineAdded(std::string_view pipeline, std::string_view source,
                       const TableIdentifier& table) override {
    std::lock_guard lk(mu);
    added.push_back(std::string(pipeline) + "<-" + std::string(source) + ":" + table.ToString());
  }
  void OnChangeApplied(std::string_view, const ChangeEvent&) override { ++applied; }
  void OnChangesApplied(std::string_view, std::size_t count,
                        std::chrono::nanoseconds duration) override {
    batched += static_cast<int>(count);
    ++calls;
    if (duration < std::chrono::nanoseconds::zero()) negative_duration = true;
  }
  void OnLag(std::string_view source, const LagInfo& lag) override {
    std::lock_guard lk(mu);
    lags.emplace_back(std::string(source), lag.lag_bytes);
  }
  void OnSourceStateChanged(std::string_view, SourceState state) override {
    std::lock_guard lk(mu);
    states.push_back(state);
  }

  std::mutex mu;
  std::vector<std::string> added;
  std::vector<std::pair<std::string, std::int64_t>> lags;
  std::vector<SourceState> states;
  std::atomic<int> applied{0};
  std::atomic<int> batched{0};
  std::atomic<int> calls{0};
  std::atomic<bool> negative_duration{false};
};

/// A test source whose lag the test sets.
class LaggingSource : public testsource::TestSource {
 public:
  [[nodiscard]] LagInfo GetLag() const override { return LagInfo{.lag_bytes = lag.load()}; }
  std::atomic<std::int64_t> lag{0};
};

TEST(EngineObserver, EveryObserverSeesEveryHookInOrder) {
  auto source = std::make_shared<LaggingSource>();
  source->SetSchema(kUsers, IdNameColumns());
  auto first = std::make_shared<Counting>();
  auto second = std::make_shared<Counting>();
  auto options = FastOptions();
  options.observers = {first, nullptr, second};  // a null entry is ignored
  options.lag_interval = 5ms;
  Engine engine(options);
  engine.AddSource("s", source);
  engine.AddPipeline("s", kUsers, std::make_shared<IndexedTarget>());
  engine.Start();
  ASSERT_TRUE(engine.AwaitReady(10s));
  std::uint64_t last = 0;
  for (int i = 1; i <= 500; ++i) last = source->EmitInsert(kUsers, User(i, "x"));
  ASSERT_TRUE(source->AwaitAck(last, 10s));
  source->lag = 4242;
  for (const auto& o : {first, second}) {
    ASSERT_TRUE(Eventually([&] {
      std::lock_guard lk(o->mu);
      return !o->lags.empty() && o->lags.back() == std::pair<std::string, std::int64_t>("s", 4242);
    }));
  }
  engine.Stop();
  for (const auto& o : {first, second}) {
    std::lock_guard lk(o->mu);
    EXPECT_EQ(o->added, (std::vector<std::string>{"s/public.users<-s:public.users"}));
    EXPECT_EQ(o->applied.load(), 500);
    EXPECT_EQ(o->batched.load(), 500);  // every applied change in some target call
    EXPECT_GE(o->calls.load(), 1);
    EXPECT_LE(o->calls.load(), 500);
    EXPECT_FALSE(o->negative_duration.load());
    ASSERT_FALSE(o->states.empty());
    EXPECT_EQ(o->states.back(), SourceState::Closed);
  }
}

TEST(EngineObserver, AStateChangeInsideStreamIsReportedAtOnceNotAtTheNextAck) {
  auto source = std::make_shared<testsource::TestSource>();
  source->SetSchema(kUsers, IdNameColumns());
  auto hooks = std::make_shared<Counting>();
  auto options = FastOptions(hooks);
  options.ack_interval = std::chrono::minutes(10);  // the ACK thread never samples in this test
  Engine engine(options);
  engine.AddSource("s", source);
  engine.AddPipeline("s", kUsers, std::make_shared<IndexedTarget>());
  engine.Start();
  ASSERT_TRUE(engine.AwaitReady(10s));
  ASSERT_TRUE(Eventually([&] {
    std::lock_guard lk(hooks->mu);
    return !hooks->states.empty() && hooks->states.back() == SourceState::Streaming;
  }));
  engine.Stop();
}

TEST(EngineObserver, ANegativeLagIntervalIsAConfigError) {
  auto options = FastOptions();
  options.lag_interval = -1ms;
  Engine engine(options);
  auto source = std::make_shared<testsource::TestSource>();
  source->SetSchema(kUsers, IdNameColumns());
  engine.AddSource("s", source);
  engine.AddPipeline("s", kUsers, std::make_shared<IndexedTarget>());
  try {
    engine.Start();
    FAIL() << "expected a ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("lag_interval"), std::string::npos) << e.what();
  }
}

TEST(Logging, LinesCanBeRedirectedAndSilenced) {
  std::ostringstream captured;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(captured);
  auto logger = std::make_shared<spdlog::logger>("test", sink);
  SetLogger(logger);
  {
    auto source = UsersSource();
    source->AddValidationError({kUsers, "NO_SELECT", "permission denied"});
    Engine engine(FastOptions());
    engine.AddSource("s", source);
    engine.AddPipeline("s", kUsers, std::make_shared<IndexedTarget>());
    engine.Start();
    EXPECT_FALSE(engine.AwaitReady(10s));
  }
  EXPECT_NE(captured.str().find("NO_SELECT"), std::string::npos) << captured.str();

  SetLogger(nullptr);
  captured.str("");
  {
    auto source = UsersSource();
    source->AddValidationError({kUsers, "NO_SELECT", "permission denied"});
    Engine engine(FastOptions());
    engine.AddSource("s", source);
    engine.AddPipeline("s", kUsers, std::make_shared<IndexedTarget>());
    engine.Start();
    EXPECT_FALSE(engine.AwaitReady(10s));
  }
  EXPECT_EQ(captured.str(), "");
  SetLogger(std::make_shared<spdlog::logger>("restore", sink));
  SetLogger(nullptr);
}

TEST(DeadLetters, UnwritableFileIsAClearError) {
  try {
    JsonLinesDeadLetterSink sink("/nonexistent-dir/dlq.jsonl");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), "dead_letter_io");
    EXPECT_NE(std::string(e.what()).find("/nonexistent-dir/dlq.jsonl"), std::string::npos);
  }
}

}  // namespace
}  // namespace laredo::testing
