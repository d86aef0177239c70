// A restart while targets that keep state hold part of a reload (reload checkpoints): the engine
// asks the source to continue the reload when every target of the table holds the same
// checkpoint, and reloads the table from nothing (never the whole source) when they differ or the
// source cannot or will not continue.
#include <gtest/gtest.h>

#include <atomic>

#include "engine/test_util.hpp"
#include "laredo/error.hpp"
#include "laredo/error_codes.hpp"

namespace laredo::testing {
namespace {

// Answers ContinueReload as told, and records what it was asked.
class CheckpointSource final : public testsource::TestSource {
 public:
  enum class Answer { Yes, No, Throw };
  explicit CheckpointSource(Answer answer)
      : TestSource({.resumable = true, .initial_acked_position = 3}), answer_(answer) {
    SetSchema(kUsers, IdNameColumns());
    SetSchema(kOrders, IdNameColumns());
  }
  bool ContinueReload(const TableIdentifier& table, const std::string& checkpoint) override {
    {
      std::lock_guard lk(mu_);
      asked_.push_back(table.ToString() + "=" + checkpoint);
    }
    if (answer_ == Answer::Throw) {
      throw DataError(codes::kBadReloadCheckpoint, "not a reload checkpoint this source wrote");
    }
    return answer_ == Answer::Yes;
  }
  std::vector<std::string> Asked() const {
    std::lock_guard lk(mu_);
    return asked_;
  }

 private:
  const Answer answer_;
  mutable std::mutex mu_;
  std::vector<std::string> asked_;
};

// A target that kept its rows and, maybe, a reload checkpoint ("throw": it fails to say).
class HeldTarget final : public RecordingTarget {
 public:
  explicit HeldTarget(std::optional<std::string> checkpoint) : checkpoint_(std::move(checkpoint)) {
    SetKeepsState(true);
  }
  std::optional<std::string> ReloadCheckpoint(const TableIdentifier&) override {
    if (checkpoint_ == "throw") throw RetryableError("store_down", "the store is down");
    return checkpoint_;
  }

 private:
  const std::optional<std::string> checkpoint_;
};

struct Started {
  std::shared_ptr<CheckpointSource> source;
  Engine engine{FastOptions()};
  std::string a, b, orders;
};

void Start(Started& run, CheckpointSource::Answer answer, std::optional<std::string> a_checkpoint,
           std::optional<std::string> b_checkpoint) {
  run.source = std::make_shared<CheckpointSource>(answer);
  run.source->AddRow(kUsers, User(1, "u"));
  run.engine.AddSource("s", run.source);
  run.a = run.engine.AddPipeline("s", kUsers, std::make_shared<HeldTarget>(a_checkpoint));
  run.b = run.engine.AddPipeline("s", kUsers, std::make_shared<HeldTarget>(b_checkpoint));
  run.orders = run.engine.AddPipeline("s", kOrders, std::make_shared<HeldTarget>(std::nullopt));
  run.engine.Start();
}

TEST(EngineReloadResume, TheSameCheckpointInEveryTargetIsContinuedAndTheTableIsLoadingMeanwhile) {
  Started run;
  Start(run, CheckpointSource::Answer::Yes, "c7", "c7");
  ASSERT_TRUE(Eventually([&] { return run.source->StreamCount() >= 1; }));
  EXPECT_EQ(run.source->Asked(), (std::vector<std::string>{"public.users=c7"}));
  // Loading until the source ends the reload (this one never does): not ready, not streaming.
  ASSERT_TRUE(Eventually([&] {
    const auto s = run.engine.Pipeline(run.a);
    return s.reloading && s.state == PipelineState::Baseline;
  }));
  EXPECT_TRUE(run.engine.Pipeline(run.b).reloading);
  // The other table resumed as usual; nothing was baselined or reloaded from nothing.
  ASSERT_TRUE(run.engine.AwaitReady({run.orders}, 10s));
  EXPECT_FALSE(run.engine.Pipeline(run.orders).reloading);
  EXPECT_EQ(run.source->BaselineCount(), 0);
  EXPECT_EQ(run.source->ReloadCount(), 0);
}

TEST(EngineReloadResume, DifferentCheckpointsReloadTheTableFromNothing) {
  Started run;
  Start(run, CheckpointSource::Answer::Yes, "c7", std::nullopt);
  ASSERT_TRUE(Eventually([&] { return run.source->ReloadCount() == 1; }));
  EXPECT_TRUE(run.source->Asked().empty());  // one stream cannot continue two reloads
  ASSERT_TRUE(run.engine.AwaitReady(10s)) << run.engine.NotReadyReason();
  EXPECT_EQ(run.source->BaselineCount(), 0);
}

TEST(EngineReloadResume, ACheckpointTheSourceRefusesOrCannotReadReloadsTheTableFromNothing) {
  for (const auto answer : {CheckpointSource::Answer::No, CheckpointSource::Answer::Throw}) {
    Started run;
    Start(run, answer, "c7", "c7");
    ASSERT_TRUE(Eventually([&] { return run.source->ReloadCount() == 1; }));
    EXPECT_EQ(run.source->Asked().size(), 1U);
    ASSERT_TRUE(run.engine.AwaitReady(10s)) << run.engine.NotReadyReason();
    EXPECT_FALSE(run.engine.Pipeline(run.a).reloading);
    EXPECT_EQ(run.source->BaselineCount(), 0);  // the other table was not read again
  }
}

// What a target holds is unknown when it cannot say: a baseline of the source, never a guess.
TEST(EngineReloadResume, ATargetThatCannotSayWhatItHoldsMakesTheSourceBaseline) {
  Started run;
  Start(run, CheckpointSource::Answer::Yes, "c7", "throw");
  ASSERT_TRUE(run.engine.AwaitReady(10s)) << run.engine.NotReadyReason();
  EXPECT_EQ(run.source->BaselineCount(), 1);
  EXPECT_TRUE(run.source->Asked().empty());
  EXPECT_EQ(run.source->ReloadCount(), 0);
}

}  // namespace
}  // namespace laredo::testing
