// Readiness of a subset of pipelines, and the per-source status an operator reads.
#include <gtest/gtest.h>

#include "engine/test_util.hpp"

namespace laredo::testing {
namespace {

using memory::IndexedTarget;

const TableIdentifier kOrders = Table("public", "orders");

class TwoSources : public ::testing::Test {
 protected:
  void SetUp() override {
    fast->SetSchema(kUsers, IdNameColumns());
    fast->AddRow(kUsers, User(1, "a"));
    slow->SetSchema(kOrders, IdNameColumns());
    slow->AddRow(kOrders, User(1, "o"));
    gated->CloseGate();  // the orders baseline blocks in the target until the test opens it
    auto options = FastOptions();
    options.lag_interval = 5ms;
    engine = std::make_unique<Engine>(options);
    engine->AddSource("fast", fast);
    engine->AddSource("slow", slow);
    users = engine->AddPipeline("fast", kUsers, std::make_shared<IndexedTarget>());
    orders = engine->AddPipeline("slow", kOrders, gated);
    engine->Start();
  }
  void TearDown() override {
    gated->OpenGate();
    engine->Stop();
  }

  std::shared_ptr<testsource::TestSource> fast = std::make_shared<testsource::TestSource>();
  std::shared_ptr<testsource::TestSource> slow = std::make_shared<testsource::TestSource>();
  std::shared_ptr<RecordingTarget> gated = std::make_shared<RecordingTarget>();
  std::unique_ptr<Engine> engine;
  std::string users;
  std::string orders;
};

TEST_F(TwoSources, ThePipelinesThatLoadedAreReadyWhileAnotherStillLoads) {
  ASSERT_TRUE(gated->AwaitBlocked());
  EXPECT_TRUE(engine->AwaitReady({users}, 10s));
  EXPECT_EQ(engine->NotReadyReason({users}), "");
  EXPECT_FALSE(engine->AwaitReady({orders}, 20ms));
  EXPECT_FALSE(engine->AwaitReady({users, orders}, 20ms));
  EXPECT_FALSE(engine->AwaitReady(20ms));
  const auto reason = engine->NotReadyReason({users, orders});
  EXPECT_NE(reason.find("pipeline slow/public.orders is loading its baseline"), std::string::npos)
      << reason;
  EXPECT_EQ(reason.find("fast"), std::string::npos) << reason;  // only what was asked about

  gated->OpenGate();
  EXPECT_TRUE(engine->AwaitReady({orders}, 10s));
  EXPECT_TRUE(engine->AwaitReady(10s));
}

TEST_F(TwoSources, AnUnknownPipelineIsAConfigError) {
  EXPECT_THROW(engine->AwaitReady({"nope"}, 0ms), ConfigError);
  EXPECT_THROW((void)engine->NotReadyReason({users, "nope"}), ConfigError);
}

TEST_F(TwoSources, SourcesListsEverySourceWithItsPipelinesAndTheLastLagSample) {
  const auto last = fast->EmitInsert(kUsers, User(2, "b"));
  ASSERT_TRUE(fast->AwaitAck(last, 10s));
  ASSERT_TRUE(Eventually([&] {
    const auto sources = engine->Sources();
    return sources.size() == 2 && sources[0].lag.has_value() && sources[1].lag.has_value();
  }));
  const auto sources = engine->Sources();
  EXPECT_EQ(sources[0].id, "fast");
  EXPECT_EQ(sources[0].pipelines, std::vector<std::string>{users});
  EXPECT_EQ(sources[0].last_acked_position, std::to_string(last));
  EXPECT_EQ(sources[0].state, SourceState::Streaming);
  EXPECT_FALSE(sources[0].error.has_value());
  EXPECT_EQ(sources[1].id, "slow");
  EXPECT_EQ(sources[1].pipelines, std::vector<std::string>{orders});
}

}  // namespace
}  // namespace laredo::testing

namespace laredo::testing {
namespace {

TEST(AwaitApplied, ReturnsOnceTheReplicaHoldsTheChangeAndNotBefore) {
  auto source = std::make_shared<testsource::TestSource>();
  source->SetSchema(kUsers, IdNameColumns());
  auto target = std::make_shared<RecordingTarget>();
  Engine engine(FastOptions());
  engine.AddSource("s", source);
  engine.AddPipeline("s", kUsers, target);
  engine.Start();
  ASSERT_TRUE(engine.AwaitReady(10s));

  const auto first = source->EmitInsert(kUsers, User(1, "a"));
  ASSERT_TRUE(engine.AwaitApplied("s", Position(first), 10s));
  EXPECT_EQ(target->Applied(), 1U);  // no Eventually: the call's promise

  target->CloseGate();
  const auto second = source->EmitInsert(kUsers, User(2, "b"));
  ASSERT_TRUE(target->AwaitBlocked());
  EXPECT_FALSE(engine.AwaitApplied("s", Position(second), 30ms));  // delivered, not applied
  EXPECT_TRUE(engine.AwaitApplied("s", Position(first), 0ms));     // earlier ones still count
  target->OpenGate();
  EXPECT_TRUE(engine.AwaitApplied("s", Position(second), 10s));
  EXPECT_EQ(target->Applied(), 2U);
  // A position the source has not reached yet.
  EXPECT_FALSE(engine.AwaitApplied("s", Position(second + 100), 20ms));
  EXPECT_THROW((void)engine.AwaitApplied("nope", Position(first), 0ms), ConfigError);
  engine.Stop();
}

TEST(AwaitApplied, AFailedPipelineAnswersFalseAtOnce) {
  auto source = std::make_shared<testsource::TestSource>();
  source->SetSchema(kUsers, IdNameColumns());
  auto target = std::make_shared<RecordingTarget>();
  target->FailId(1, -1);
  Engine engine(FastOptions());
  engine.AddSource("s", source);
  PipelineOptions options;
  options.error_policy = QuickRetries(1, ErrorAction::Isolate);
  engine.AddPipeline("s", kUsers, target, options);
  engine.Start();
  ASSERT_TRUE(engine.AwaitReady(10s));
  const auto position = source->EmitInsert(kUsers, User(1, "a"));
  ASSERT_TRUE(Eventually([&] { return engine.Pipelines()[0].state == PipelineState::Error; }));
  const auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(engine.AwaitApplied("s", Position(position), 60s));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  engine.Stop();
}

// A source whose server can be taken away: while `down`, every Stream call fails as a lost
// connection would.
class FlakySource final : public testsource::TestSource {
 public:
  std::atomic<bool> down{false};
  void Stream(std::stop_token stop, const Position& from, ChangeHandler& handler) override {
    if (down.load()) throw RetryableError("connection", "connection refused");
    TestSource::Stream(std::move(stop), from, handler);
  }
};

std::shared_ptr<FlakySource> FlakyUsers() {
  auto source = std::make_shared<FlakySource>();
  source->SetSchema(kUsers, IdNameColumns());
  source->AddRow(kUsers, User(1, "a"));
  return source;
}

TEST(Readiness, ALongOutageMakesPipelinesNotReadyWithTheReasonAndRecoveryMakesThemReady) {
  auto source = FlakyUsers();
  EngineOptions options = FastOptions();
  options.ready_while_retrying = 50ms;
  options.source_max_retries = 1'000'000;
  Engine engine(options);
  engine.AddSource("s", source);
  const auto id = engine.AddPipeline("s", kUsers, std::make_shared<memory::IndexedTarget>());
  engine.Start();
  ASSERT_TRUE(engine.AwaitReady(10s));
  source->down = true;
  source->InterruptStream("connection lost");
  // Retrying, but not for long yet: still serving.
  ASSERT_TRUE(Eventually([&] { return engine.SourceError("s").has_value(); }));
  ASSERT_TRUE(Eventually([&] { return !engine.AwaitReady(0ms); }));
  const auto reason = engine.NotReadyReason({id});
  EXPECT_NE(reason.find("source s has been retrying for"), std::string::npos) << reason;
  EXPECT_NE(reason.find("connection refused"), std::string::npos) << reason;
  source->down = false;
  ASSERT_TRUE(engine.AwaitReady(10s)) << engine.NotReadyReason();
  const auto last = source->EmitInsert(kUsers, User(2, "b"));
  EXPECT_TRUE(engine.AwaitApplied("s", Position(last), 10s));
}

TEST(Readiness, AShortOutageKeepsServingByDefault) {
  auto source = FlakyUsers();
  EngineOptions options = FastOptions();
  options.source_max_retries = 1'000'000;
  Engine engine(options);  // ready_while_retrying: 30 s
  engine.AddSource("s", source);
  engine.AddPipeline("s", kUsers, std::make_shared<memory::IndexedTarget>());
  engine.Start();
  ASSERT_TRUE(engine.AwaitReady(10s));
  source->down = true;
  source->InterruptStream("connection lost");
  ASSERT_TRUE(Eventually([&] { return engine.SourceError("s").has_value(); }));
  EXPECT_TRUE(engine.AwaitReady(0ms)) << engine.NotReadyReason();
  source->down = false;
}

}  // namespace
}  // namespace laredo::testing
