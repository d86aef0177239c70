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
