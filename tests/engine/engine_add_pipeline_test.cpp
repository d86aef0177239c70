// Engine::AddPipeline after Start, on the test source: the new table is loaded while the stream
// flows and the other tables are not baselined again; a second target of a replicated table gets
// a copy of its own; a table that cannot be added fails its pipeline alone; additions combined
// with a full buffer, a lost stream and a re-baseline lose nothing.
#include <gtest/gtest.h>

#include <thread>

#include "engine/test_util.hpp"
#include "laredo/error.hpp"

namespace laredo::testing {
namespace {

using memory::IndexedTarget;

TEST(EngineAddPipeline, ATableAddedWhileStreamingIsLoadedWithoutABaselineOfTheOthers) {
  auto source = UsersSource({.stream_batch = 7});
  for (int i = 1; i <= 100; ++i) source->AddRow(kUsers, User(i, "u"));
  for (int i = 1; i <= 80; ++i) source->AddRow(kOrders, User(i, "o"));
  auto observer = std::make_shared<RecordingObserver>();
  Engine engine(FastOptions(observer));
  engine.AddSource("s", source);
  auto users = std::make_shared<IndexedTarget>();
  engine.AddPipeline("s", kUsers, users);
  engine.Start();
  ASSERT_TRUE(engine.AwaitReady(10s));
  auto users_writer = MixedWriter(source, kUsers, 3000);
  auto orders_writer = MixedWriter(source, kOrders, 3000);  // before and after the addition

  auto orders = std::make_shared<IndexedTarget>();
  const auto id = engine.AddPipeline("s", kOrders, orders);
  EXPECT_EQ(id, "s/public.orders");
  ASSERT_TRUE(engine.AwaitReady({id}, 10s)) << engine.NotReadyReason({id});
  EXPECT_EQ(engine.Pipeline(id).state, PipelineState::Streaming);
  users_writer.join();
  orders_writer.join();
  const auto last = source->EmitInsert(kOrders, User(-1, "end"));
  source->EmitInsert(kUsers, User(-1, "end"));
  ASSERT_TRUE(source->AwaitAck(last, 10s));
  ASSERT_TRUE(source->AwaitAck(source->CurrentPosition(), 10s));

  EXPECT_EQ(ById(orders->All()), ById(source->Contents(kOrders)));
  EXPECT_EQ(ById(users->All()), ById(source->Contents(kUsers)));
  EXPECT_EQ(source->BaselineCount(), 1);  // users was not baselined again
  EXPECT_EQ(source->ReloadCount(), 1);    // orders was loaded by a reload
  EXPECT_TRUE(observer->Rebaselines().empty());
  const auto sources = engine.Sources();
  ASSERT_EQ(sources.size(), 1U);
  EXPECT_EQ(sources[0].pipelines.size(), 2U);
  EXPECT_TRUE(engine.AwaitReady(1s));
  engine.Stop();
}

TEST(EngineAddPipeline, ASecondTargetOfAReplicatedTableGetsACopyOfItsOwn) {
  auto source = UsersSource();
  for (int i = 1; i <= 60; ++i) source->AddRow(kUsers, User(i, "u"));
  Engine engine(FastOptions());
  engine.AddSource("s", source);
  auto first = std::make_shared<IndexedTarget>();
  engine.AddPipeline("s", kUsers, first);
  engine.Start();
  ASSERT_TRUE(engine.AwaitReady(10s));
  source->EmitUpdate(kUsers, User(3, "three"), User(3, "u"));
  auto writer = MixedWriter(source, kUsers, 1500);
  auto second = std::make_shared<RecordingTarget>();
  const auto id = engine.AddPipeline("s", kUsers, second);
  EXPECT_EQ(id, "s/public.users#2");
  ASSERT_TRUE(engine.AwaitReady({id}, 10s)) << engine.NotReadyReason({id});
  writer.join();
  ASSERT_TRUE(source->AwaitAck(source->CurrentPosition(), 10s));
  // The second sees the load and then the changes; the first was reloaded with it and stays
  // exact. The same target twice is refused.
  EXPECT_EQ(second->CountOf("baseline_complete"), 1U);
  EXPECT_EQ(ById(first->All()), ById(source->Contents(kUsers)));
  EXPECT_THROW(engine.AddPipeline("s", kUsers, second), ConfigError);
  engine.Stop();
}

TEST(EngineAddPipeline, ATableThatCannotBeAddedFailsItsPipelineAlone) {
  auto source = UsersSource();
  for (int i = 1; i <= 10; ++i) source->AddRow(kUsers, User(i, "u"));
  Engine engine(FastOptions());
  engine.AddSource("s", source);
  auto users = std::make_shared<IndexedTarget>();
  engine.AddPipeline("s", kUsers, users);
  engine.Start();
  ASSERT_TRUE(engine.AwaitReady(10s));

  const TableIdentifier missing = Table("public", "missing");
  const auto id = engine.AddPipeline("s", missing, std::make_shared<IndexedTarget>());
  EXPECT_FALSE(engine.AwaitReady({id}, 10s));
  const auto status = engine.Pipeline(id);
  EXPECT_EQ(status.state, PipelineState::Error);
  EXPECT_NE(status.last_error.find("cannot add public.missing"), std::string::npos)
      << status.last_error;
  EXPECT_NE(status.last_error.find("no schema set"), std::string::npos) << status.last_error;
  EXPECT_NE(engine.NotReadyReason({id}).find("failed"), std::string::npos);
  // The source and its other pipeline go on.
  const auto last = source->EmitInsert(kUsers, User(11, "after"));
  ASSERT_TRUE(source->AwaitAck(last, 10s));
  EXPECT_EQ(users->Count(), 11U);
  EXPECT_TRUE(engine.AwaitReady({"s/public.users"}, 1s));
  EXPECT_TRUE(engine.AwaitApplied("s", Position(last), 1s));  // the failed one is not waited for

  // What can be told at once is a ConfigError.
  const auto other = std::make_shared<IndexedTarget>();
  EXPECT_THROW(engine.AddPipeline("nope", kOrders, other), ConfigError);
  EXPECT_THROW(engine.AddPipeline("s", kOrders, users), ConfigError);  // bound already
  EXPECT_THROW(engine.AddPipeline("s", kOrders, nullptr), ConfigError);
  EXPECT_THROW(engine.AddPipeline("s", kOrders, other, {.buffer_capacity = 0}), ConfigError);
  EXPECT_THROW(engine.AddPipeline("s", kOrders, other, {.name = id}), ConfigError);  // taken
  engine.Stop();
  EXPECT_THROW(engine.AddPipeline("s", kOrders, other), ConfigError);
}

// A full buffer holds the stream when the addition asks it to end, the stream is lost while the
// new table loads, and a re-baseline follows with one more addition asked for around it.
TEST(EngineAddPipeline, AdditionsAmidAFullBufferALostStreamAndARebaselineLoseNothing) {
  auto source = UsersSource({.stream_batch = 5});
  for (int i = 1; i <= 100; ++i) source->AddRow(kUsers, User(i, "u"));
  for (int i = 1; i <= 50; ++i) source->AddRow(kOrders, User(i, "o"));
  Engine engine(FastOptions());
  engine.AddSource("s", source);
  auto users = std::make_shared<IndexedTarget>();
  auto gated = std::make_shared<RecordingTarget>();
  engine.AddPipeline("s", kUsers, users);
  engine.AddPipeline("s", kUsers, gated, {.buffer_capacity = 4});
  engine.Start();
  ASSERT_TRUE(engine.AwaitReady(10s));

  gated->CloseGate();
  auto users_writer = MixedWriter(source, kUsers, 2000);
  auto orders_writer = MixedWriter(source, kOrders, 2000);
  ASSERT_TRUE(gated->AwaitBlocked());
  auto orders = std::make_shared<IndexedTarget>();
  const auto orders_id = engine.AddPipeline("s", kOrders, orders);
  source->InterruptStream("connection lost");
  gated->OpenGate();
  ASSERT_TRUE(engine.AwaitReady({orders_id}, 10s)) << engine.NotReadyReason({orders_id});

  engine.Rebaseline("s", "asked for by the test");
  auto orders2 = std::make_shared<IndexedTarget>();
  const auto orders2_id = engine.AddPipeline("s", kOrders, orders2);
  users_writer.join();
  orders_writer.join();
  source->EmitInsert(kUsers, User(-1, "end"));
  source->EmitInsert(kOrders, User(-1, "end"));
  ASSERT_TRUE(engine.AwaitReady(10s)) << engine.NotReadyReason();
  ASSERT_TRUE(source->AwaitAck(source->CurrentPosition(), 10s));
  EXPECT_EQ(ById(users->All()), ById(source->Contents(kUsers)));
  EXPECT_EQ(ById(orders->All()), ById(source->Contents(kOrders)));
  EXPECT_EQ(ById(orders2->All()), ById(source->Contents(kOrders)));
  EXPECT_EQ(source->BaselineCount(), 2);  // the first and the one asked for
  EXPECT_EQ(engine.Pipeline(orders2_id).state, PipelineState::Streaming);
  engine.Stop();
}

TEST(EngineAddPipeline, APipelineAddedBeforeTheFirstBaselineEndedIsLoaded) {
  auto source = UsersSource();
  for (int i = 1; i <= 3000; ++i) source->AddRow(kUsers, User(i, "u"));
  for (int i = 1; i <= 40; ++i) source->AddRow(kOrders, User(i, "o"));
  Engine engine(FastOptions());
  engine.AddSource("s", source);
  auto users = std::make_shared<IndexedTarget>();
  engine.AddPipeline("s", kUsers, users);
  engine.Start();
  auto orders = std::make_shared<IndexedTarget>();
  const auto id = engine.AddPipeline("s", kOrders, orders);
  source->EmitInsert(kOrders, User(41, "new"));
  ASSERT_TRUE(engine.AwaitReady(10s)) << engine.NotReadyReason();
  ASSERT_TRUE(source->AwaitAck(source->CurrentPosition(), 10s));
  EXPECT_EQ(ById(orders->All()), ById(source->Contents(kOrders)));
  EXPECT_EQ(users->Count(), 3000U);
  EXPECT_EQ(source->BaselineCount(), 1);
  EXPECT_EQ(engine.Pipeline(id).state, PipelineState::Streaming);
  engine.Stop();
}

}  // namespace
}  // namespace laredo::testing
