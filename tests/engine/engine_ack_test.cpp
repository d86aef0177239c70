// ACK coordination, backpressure, pause/resume and stop.
#include <gtest/gtest.h>

#include "engine/test_util.hpp"

namespace laredo::testing {
namespace {

using memory::IndexedTarget;
using testsource::TestSource;

bool NonDecreasing(const std::vector<std::uint64_t>& v) {
  return std::is_sorted(v.begin(), v.end()) &&
         std::adjacent_find(v.begin(), v.end()) == v.end();  // strictly increasing
}

TEST(EngineAck, AckIsTheMinimumAcrossPipelinesAndNeverMovesBackwards) {
  auto source = UsersSource();
  auto durable = std::make_shared<RecordingTarget>();
  auto lagging = std::make_shared<RecordingTarget>();
  Engine engine(FastOptions());
  engine.AddSource("s", source);
  engine.AddPipeline("s", kUsers, durable);
  engine.AddPipeline("s", kUsers, lagging);
  engine.Start();
  ASSERT_TRUE(engine.AwaitReady(10s));
  ASSERT_TRUE(source->AwaitAck(0, 10s));  // the baseline's position
  const auto baseline_ack = source->LastAck();

  // `lagging` applies but does not report durability: the ACK must stay where it was.
  lagging->SetDurable(false);
  std::uint64_t last = 0;
  for (int i = 1; i <= 20; ++i) last = source->EmitInsert(kUsers, User(i, "x"));
  ASSERT_TRUE(durable->AwaitApplied(20));
  ASSERT_TRUE(lagging->AwaitApplied(20));
  EXPECT_FALSE(source->AwaitAck(1, 100ms));  // bounded wait for something that must not happen
  EXPECT_EQ(source->LastAck(), baseline_ack);

  lagging->SetDurable(true);
  ASSERT_TRUE(source->AwaitAck(last, 10s));
  EXPECT_EQ(source->LastAck(), last);
  EXPECT_TRUE(NonDecreasing(source->AckedPositions()));
}

TEST(EngineAck, SlowTargetHoldsTheAckWhileFastOneMovesOn) {
  auto source = UsersSource();
  auto fast = std::make_shared<IndexedTarget>();
  auto slow = std::make_shared<RecordingTarget>();
  Engine engine(FastOptions());
  engine.AddSource("s", source);
  engine.AddPipeline("s", kUsers, fast);
  engine.AddPipeline("s", kUsers, slow);
  engine.Start();
  ASSERT_TRUE(engine.AwaitReady(10s));

  const auto first = source->EmitInsert(kUsers, User(1, "a"));
  ASSERT_TRUE(source->AwaitAck(first, 10s));
  slow->CloseGate();
  std::uint64_t last = 0;
  for (int i = 2; i <= 30; ++i) last = source->EmitInsert(kUsers, User(i, "b"));
  ASSERT_TRUE(slow->AwaitBlocked());
  ASSERT_TRUE(Eventually([&] { return fast->Count() == 30; }));  // the fast one is done
  EXPECT_FALSE(source->AwaitAck(first + 1, 100ms));
  EXPECT_EQ(source->LastAck(), first);  // held at what the slow target finished

  slow->OpenGate();
  ASSERT_TRUE(source->AwaitAck(last, 10s));
  EXPECT_TRUE(NonDecreasing(source->AckedPositions()));
}

TEST(EngineAck, AckedPositionIsNeverAheadOfTheSlowestAppliedChange) {
  // Randomised interleaving: a slowed target and a fast one; every observed ACK must be covered
  // by what the slow target had applied when the ACK arrived.
  auto source = UsersSource();
  auto slow = std::make_shared<RecordingTarget>();
  slow->SetDelay(std::chrono::microseconds(200));
  Engine engine(FastOptions());
  engine.AddSource("s", source);
  engine.AddPipeline("s", kUsers, std::make_shared<IndexedTarget>());
  engine.AddPipeline("s", kUsers, slow);
  engine.Start();
  ASSERT_TRUE(engine.AwaitReady(10s));
  std::uint64_t last = 0;
  for (int i = 1; i <= 300; ++i) {
    last = source->EmitInsert(kUsers, User(i, "x"));
    if (auto ack = source->LastAck(); ack && *ack > 0) {
      // positions are 1..N for inserts here, so the ACK equals the applied count at most
      EXPECT_LE(*ack, slow->Applied());
    }
  }
  ASSERT_TRUE(source->AwaitAck(last, 20s));
  EXPECT_TRUE(NonDecreasing(source->AckedPositions()));
}

TEST(EngineBackpressure, FullBufferBlocksTheSource) {
  auto source = UsersSource({.stream_batch = 1});  // one change per call: delivery is countable
  auto target = std::make_shared<RecordingTarget>();
  PipelineOptions options;
  options.buffer_capacity = 4;
  Engine engine(FastOptions());
  engine.AddSource("s", source);
  const auto id = engine.AddPipeline("s", kUsers, target, options);
  engine.Start();
  ASSERT_TRUE(engine.AwaitReady(10s));
  target->CloseGate();
  std::uint64_t last = 0;
  for (int i = 1; i <= 100; ++i) last = source->EmitInsert(kUsers, User(i, "x"));
  ASSERT_TRUE(target->AwaitBlocked());
  // Bounded: the worker's batch (at most one buffer's worth, its first change at the gate), the
  // buffer itself, and the change the blocked source thread holds.
  ASSERT_TRUE(source->AwaitDelivered(5, 10s));
  EXPECT_FALSE(source->AwaitDelivered(10, 100ms));
  EXPECT_LE(engine.Pipeline(id).buffer_depth, 4U);
  EXPECT_GT(source->GetLag().lag_bytes, 90);

  target->OpenGate();
  ASSERT_TRUE(source->AwaitAck(last, 10s));
  EXPECT_EQ(target->CountOf("insert"), 100U);
}

TEST(EnginePause, PauseHoldsChangesAndResumeDeliversAll) {
  auto source = UsersSource();
  auto target = std::make_shared<IndexedTarget>();
  Engine engine(FastOptions());
  engine.AddSource("s", source);
  const auto id = engine.AddPipeline("s", kUsers, target);
  engine.Start();
  ASSERT_TRUE(engine.AwaitReady(10s));
  engine.Pause("s");
  EXPECT_TRUE(source->IsPaused());
  EXPECT_EQ(engine.Pipeline(id).state, PipelineState::Paused);
  std::uint64_t last = 0;
  for (int i = 1; i <= 10'000; ++i) last = source->EmitInsert(kUsers, User(i, "x"));
  EXPECT_FALSE(source->AwaitDelivered(1, 100ms));
  EXPECT_EQ(target->Count(), 0U);
  engine.Resume("s");
  ASSERT_TRUE(source->AwaitAck(last, 20s));
  EXPECT_EQ(target->Count(), 10'000U);
  EXPECT_EQ(engine.Pipeline(id).state, PipelineState::Streaming);
}

/// A source that keeps delivering while paused, to prove the pipelines themselves hold changes.
class IgnoresPause : public testsource::TestSource {
 public:
  IgnoresPause() : TestSource(testsource::TestSourceOptions{.stream_batch = 1}) {}
  void Pause() override {}
  void Resume() override {}
};

TEST(EnginePause, PausedPipelinesHoldChangesEvenUnderDropOldest) {
  auto source = std::make_shared<IgnoresPause>();  // one change per call: delivery is countable
  source->SetSchema(kUsers, IdNameColumns());
  auto target = std::make_shared<IndexedTarget>();
  auto observer = std::make_shared<RecordingObserver>();
  PipelineOptions options;
  options.buffer_capacity = 16;
  options.buffer_policy = BufferPolicy::DropOldest;
  Engine engine(FastOptions(observer));
  engine.AddSource("s", source);
  engine.AddPipeline("s", kUsers, target, options);
  engine.Start();
  ASSERT_TRUE(engine.AwaitReady(10s));
  engine.Pause("s");
  std::uint64_t last = 0;
  for (int i = 1; i <= 200; ++i) last = source->EmitInsert(kUsers, User(i, "x"));
  ASSERT_TRUE(source->AwaitDelivered(16, 10s));  // the buffer filled, then the source blocked
  EXPECT_FALSE(source->AwaitDelivered(18, 100ms));
  EXPECT_EQ(target->Count(), 0U);
  EXPECT_EQ(observer->dropped.load(), 0);  // paused: held, not dropped
  engine.Resume("s");
  ASSERT_TRUE(source->AwaitAck(last, 10s));
  // Once running again DropOldest may shed load; every change is either applied or reported.
  EXPECT_EQ(target->Count() + static_cast<std::size_t>(observer->dropped.load()), 200U);
}

// BufferPolicy::Error: a change that finds the buffer full is dead-lettered, then the error
// policy decides: Isolate fails the pipeline and holds the ACK before it; Skip goes on.
void OverflowUnderErrorPolicy(ErrorAction action) {
  auto source = UsersSource({.stream_batch = 1});
  auto target = std::make_shared<RecordingTarget>();
  auto dead = std::make_shared<InMemoryDeadLetterSink>();
  PipelineOptions options;
  options.buffer_capacity = 2;
  options.buffer_policy = BufferPolicy::Error;
  options.error_policy.on_exhausted = action;
  options.dead_letter = dead;
  Engine engine(FastOptions());
  engine.AddSource("s", source);
  const auto id = engine.AddPipeline("s", kUsers, target, options);
  engine.Start();
  ASSERT_TRUE(engine.AwaitReady(10s));
  target->CloseGate();
  const auto first = source->EmitInsert(kUsers, User(1, "a"));
  ASSERT_TRUE(target->AwaitBlocked());  // id 1 is in the target, the buffer is empty
  source->EmitInsert(kUsers, User(2, "b"));
  source->EmitInsert(kUsers, User(3, "c"));  // the buffer is full
  const auto overflow = source->EmitInsert(kUsers, User(4, "d"));
  ASSERT_TRUE(source->AwaitDelivered(overflow, 10s));
  ASSERT_EQ(dead->Count(), 1U);
  EXPECT_EQ(dead->Letters()[0].new_values, User(4, "d"));
  EXPECT_NE(dead->Letters()[0].error.find("buffer full"), std::string::npos);
  target->OpenGate();
  if (action == ErrorAction::Isolate) {
    ASSERT_TRUE(Eventually([&] { return engine.Pipeline(id).state == PipelineState::Error; }));
    engine.Stop();
    EXPECT_LE(source->LastAck().value_or(0), first);  // nothing after id 1 is released
  } else {
    // Once the buffer has room again (a change offered while it is still full is rejected too).
    ASSERT_TRUE(Eventually([&] { return target->CountOf("insert") == 3U; }));
    const auto last = source->EmitInsert(kUsers, User(5, "e"));
    ASSERT_TRUE(source->AwaitAck(last, 10s));
    EXPECT_EQ(target->CountOf("insert"), 4U);  // 1, 2, 3 and 5: only the overflow is missing
    EXPECT_EQ(engine.Pipeline(id).state, PipelineState::Streaming);
  }
}

TEST(EngineBackpressure, ErrorPolicyOverflowIsolatesAndHoldsTheAck) {
  OverflowUnderErrorPolicy(ErrorAction::Isolate);
}

TEST(EngineBackpressure, ErrorPolicyOverflowUnderSkipIsDeadLetteredAndGoesOn) {
  OverflowUnderErrorPolicy(ErrorAction::Skip);
}

TEST(EngineBackpressure, DropOldestDiscardsAndReportsWhileRunning) {
  auto source = UsersSource();
  auto target = std::make_shared<RecordingTarget>();
  auto observer = std::make_shared<RecordingObserver>();
  PipelineOptions options;
  options.buffer_capacity = 4;
  options.buffer_policy = BufferPolicy::DropOldest;
  Engine engine(FastOptions(observer));
  engine.AddSource("s", source);
  engine.AddPipeline("s", kUsers, target, options);
  engine.Start();
  ASSERT_TRUE(engine.AwaitReady(10s));
  target->CloseGate();
  source->EmitInsert(kUsers, User(0, "first"));
  ASSERT_TRUE(target->AwaitBlocked());
  std::uint64_t last = 0;
  for (int i = 1; i <= 50; ++i) last = source->EmitInsert(kUsers, User(i, "x"));
  ASSERT_TRUE(source->AwaitDelivered(last, 10s));  // never blocked
  target->OpenGate();
  ASSERT_TRUE(source->AwaitAck(last, 10s));  // dropped changes do not hold the ACK
  EXPECT_EQ(observer->dropped.load(), 46);
  EXPECT_EQ(target->CountOf("insert"), 5U);  // the first, then the 4 newest
}

TEST(EngineStop, StopIsPromptWithFullBuffersAndAcksOnlyWhatWasApplied) {
  auto source = UsersSource();
  auto target = std::make_shared<RecordingTarget>();
  target->SetDelay(std::chrono::milliseconds(5));  // simulated slow writes
  PipelineOptions options;
  options.buffer_capacity = 1000;
  auto engine_options = FastOptions();
  engine_options.drain_timeout = 200ms;
  auto engine = std::make_unique<Engine>(engine_options);
  engine->AddSource("s", source);
  engine->AddPipeline("s", kUsers, target, options);
  engine->Start();
  ASSERT_TRUE(engine->AwaitReady(10s));
  for (int i = 1; i <= 2000; ++i) source->EmitInsert(kUsers, User(i, "x"));
  ASSERT_TRUE(source->AwaitDelivered(1000, 10s));  // buffer full, source blocked
  const auto started = std::chrono::steady_clock::now();
  engine->Stop();
  const auto took = std::chrono::steady_clock::now() - started;
  EXPECT_LT(took, 2s) << "Stop took "
                      << std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
                      << " ms";
  EXPECT_LT(target->Applied(), 1000U);  // it really was cut short
  ASSERT_TRUE(source->LastAck().has_value());
  EXPECT_LE(*source->LastAck(), target->Applied());  // final ACK covers only applied changes
  EXPECT_EQ(target->CountOf("close"), 1U);
  EXPECT_TRUE(source->IsClosed());
}

TEST(EngineStop, StopDrainsBufferedChangesAndSendsTheFinalAck) {
  auto source = UsersSource();
  auto target = std::make_shared<IndexedTarget>();
  auto engine_options = FastOptions();
  engine_options.ack_interval = 1h;  // only the final ACK can carry the position
  Engine engine(engine_options);
  engine.AddSource("s", source);
  engine.AddPipeline("s", kUsers, target);
  engine.Start();
  ASSERT_TRUE(engine.AwaitReady(10s));
  std::uint64_t last = 0;
  for (int i = 1; i <= 500; ++i) last = source->EmitInsert(kUsers, User(i, "x"));
  ASSERT_TRUE(source->AwaitDelivered(last, 10s));
  engine.Stop();
  EXPECT_EQ(target->Count(), 500U);
  EXPECT_EQ(source->LastAck(), last);
}

}  // namespace
}  // namespace laredo::testing
