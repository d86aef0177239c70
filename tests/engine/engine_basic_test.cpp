// Configuration, baseline + stream, routing and fan-out.
#include <gtest/gtest.h>

#include "engine/test_util.hpp"

namespace laredo::testing {
namespace {

using memory::IndexedTarget;
using testsource::TestSource;

TEST(EngineConfig, EveryProblemIsReportedAtOnce) {
  EngineOptions options;
  options.ack_interval = 0ms;
  Engine engine(options);
  engine.AddSource("a", UsersSource());
  engine.AddSource("a", UsersSource());                                    // duplicate id
  engine.AddSource("lonely", UsersSource());                               // no pipelines
  engine.AddSource("null", nullptr);                                       // null source
  engine.AddPipeline("a", kUsers, nullptr);                                // null target
  engine.AddPipeline("ghost", kUsers, std::make_shared<IndexedTarget>());  // unknown source
  PipelineOptions zero;
  zero.buffer_capacity = 0;
  engine.AddPipeline("a", Table("", "t"), std::make_shared<IndexedTarget>(), zero);
  try {
    engine.Start();
    FAIL() << "Start accepted a broken configuration";
  } catch (const ConfigError& e) {
    const auto& p = e.problems();
    auto has = [&](const std::string& needle) {
      return std::any_of(p.begin(), p.end(),
                         [&](const std::string& s) { return s.find(needle) != std::string::npos; });
    };
    EXPECT_TRUE(has("ack_interval"));
    EXPECT_TRUE(has("used twice"));
    EXPECT_TRUE(has("\"lonely\" has no pipelines"));
    EXPECT_TRUE(has("\"null\" is null"));
    EXPECT_TRUE(has("null target"));
    EXPECT_TRUE(has("unknown source \"ghost\""));
    EXPECT_TRUE(has("empty schema or table"));
    EXPECT_TRUE(has("buffer_capacity"));
    EXPECT_GE(p.size(), 8U);
    EXPECT_EQ(e.code(), "config");
  }
  // A failed Start starts nothing, and Stop is still safe.
  engine.Stop();
}

TEST(EngineConfig, StartTwiceAndLateAddAreErrors) {
  Engine engine(FastOptions());
  engine.AddSource("s", UsersSource());
  engine.AddPipeline("s", kUsers, std::make_shared<IndexedTarget>());
  engine.Start();
  EXPECT_THROW(engine.Start(), ConfigError);
  EXPECT_THROW(engine.AddSource("t", UsersSource()), ConfigError);
  EXPECT_THROW(engine.Pause("nope"), ConfigError);
  engine.Stop();
  engine.Stop();  // idempotent
}

TEST(Engine, BaselineThenStreamIntoIndexedTarget) {
  auto source = UsersSource();
  for (int i = 1; i <= 100; ++i) source->AddRow(kUsers, User(i, "user" + std::to_string(i)));
  auto target = std::make_shared<IndexedTarget>();
  Engine engine(FastOptions());
  engine.AddSource("src", source);
  const auto id = engine.AddPipeline("src", kUsers, target);
  EXPECT_EQ(id, "src/public.users");
  engine.Start();
  ASSERT_TRUE(engine.AwaitReady(10s));
  EXPECT_EQ(target->Count(), 100U);
  EXPECT_TRUE(target->BaselineComplete());

  source->EmitInsert(kUsers, User(101, "new"));
  source->EmitUpdate(kUsers, User(5, "renamed"), Row{{"id", 5}});
  source->EmitDelete(kUsers, Row{{"id", 7}});
  const auto last = source->EmitInsert(kUsers, User(102, "last"));
  ASSERT_TRUE(source->AwaitAck(last, 10s));
  EXPECT_EQ(target->Count(), 101U);
  EXPECT_EQ(target->Get({Value(5)})->at("name").AsText(), "renamed");
  EXPECT_FALSE(target->Get({Value(7)}).has_value());
  EXPECT_EQ(*target->Get({Value(102)}), User(102, "last"));
  EXPECT_EQ(engine.LastAckedPositionString("src"), std::to_string(last));

  const auto status = engine.Pipeline(id);
  EXPECT_EQ(status.state, PipelineState::Streaming);
  EXPECT_EQ(status.baseline_rows, 100U);
  EXPECT_EQ(status.changes_applied, 4U);
  engine.Stop();
  EXPECT_TRUE(source->IsClosed());
  EXPECT_EQ(engine.Pipeline(id).state, PipelineState::Stopped);
}

TEST(Engine, TwoTablesGoToTheirOwnTargets) {
  auto source = UsersSource();
  source->SetSchema(kOrders, IdNameColumns());
  source->AddRow(kUsers, User(1, "u"));
  source->AddRow(kOrders, User(1, "o"));
  auto users = std::make_shared<RecordingTarget>();
  auto orders = std::make_shared<RecordingTarget>();
  Engine engine(FastOptions());
  engine.AddSource("s", source);
  engine.AddPipeline("s", kUsers, users);
  engine.AddPipeline("s", kOrders, orders);
  engine.Start();
  ASSERT_TRUE(engine.AwaitReady(10s));
  source->EmitInsert(kOrders, User(2, "o2"));
  source->EmitInsert(kUsers, User(2, "u2"));
  const auto last = source->EmitInsert(kOrders, User(3, "o3"));
  ASSERT_TRUE(source->AwaitAck(last, 10s));
  engine.Stop();
  auto names = [](const RecordingTarget& t) {
    std::vector<std::string> out;
    for (const auto& c : t.Calls()) {
      if (!c.row.empty()) out.push_back(c.op + ":" + c.row.at("name").AsText());
    }
    return out;
  };
  EXPECT_EQ(names(*users), (std::vector<std::string>{"baseline:u", "insert:u2"}));
  EXPECT_EQ(names(*orders), (std::vector<std::string>{"baseline:o", "insert:o2", "insert:o3"}));
}

TEST(Engine, OneTableFansOutToTwoTargets) {
  auto source = UsersSource();
  source->AddRow(kUsers, User(1, "a"));
  auto first = std::make_shared<IndexedTarget>();
  auto second = std::make_shared<IndexedTarget>();
  Engine engine(FastOptions());
  engine.AddSource("s", source);
  const auto id1 = engine.AddPipeline("s", kUsers, first);
  const auto id2 = engine.AddPipeline("s", kUsers, second);
  EXPECT_NE(id1, id2);
  engine.Start();
  ASSERT_TRUE(engine.AwaitReady(10s));
  std::uint64_t last = 0;
  for (int i = 2; i <= 50; ++i) last = source->EmitInsert(kUsers, User(i, "x"));
  ASSERT_TRUE(source->AwaitAck(last, 10s));
  EXPECT_EQ(first->Count(), 50U);
  EXPECT_EQ(second->Count(), 50U);
  EXPECT_EQ(first->All().size(), second->All().size());
}

TEST(Engine, SharedTargetServesTwoTables) {
  auto source = UsersSource();
  source->SetSchema(kOrders, IdNameColumns());
  auto shared = std::make_shared<RecordingTarget>();
  Engine engine(FastOptions());
  engine.AddSource("s", source);
  engine.AddPipeline("s", kUsers, shared);
  engine.AddPipeline("s", kOrders, shared);
  engine.Start();
  ASSERT_TRUE(engine.AwaitReady(10s));
  std::uint64_t last = 0;
  for (int i = 0; i < 200; ++i) last = source->EmitInsert(i % 2 ? kUsers : kOrders, User(i, "x"));
  ASSERT_TRUE(source->AwaitAck(last, 10s));
  EXPECT_EQ(shared->CountOf("insert"), 200U);
}

TEST(Engine, ChangesForUnconfiguredTablesDoNotHoldTheAck) {
  auto source = UsersSource();
  const auto other = Table("public", "other");
  source->SetSchema(other, IdNameColumns());
  Engine engine(FastOptions());
  engine.AddSource("s", source);
  engine.AddPipeline("s", kUsers, std::make_shared<IndexedTarget>());
  engine.Start();
  ASSERT_TRUE(engine.AwaitReady(10s));
  source->EmitInsert(kUsers, User(1, "a"));
  const auto last = source->EmitInsert(other, User(1, "b"));
  EXPECT_TRUE(source->AwaitAck(last, 10s));
}

}  // namespace
}  // namespace laredo::testing
