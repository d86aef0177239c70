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
