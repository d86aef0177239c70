// Engine::ReloadTable on the test source: the reload reaches every pipeline of the table and no
// other, a target that builds aside keeps serving the old rows until the reload's end, reloads
// mixed with a stream of changes leave the replica equal to the source, and requests the engine
// cannot carry out are clear errors.
#include <gtest/gtest.h>

#include <thread>

#include "engine/test_util.hpp"
#include "laredo/error.hpp"

namespace laredo::testing {
namespace {

using memory::IndexedTarget;

// Counts baseline starts per table, the reloads' included.
class StartCounter final : public EngineObserver {
 public:
  void OnBaselineStarted(std::string_view, const TableIdentifier& table,
                         std::optional<std::uint64_t>) override {
    std::lock_guard lk(mu_);
    ++starts_[table.ToString()];
  }
  int Starts(const TableIdentifier& table) const {
    std::lock_guard lk(mu_);
    const auto it = starts_.find(table.ToString());
    return it == starts_.end() ? 0 : it->second;
  }

 private:
  mutable std::mutex mu_;
  std::map<std::string, int> starts_;
};

TEST(EngineReload, ReachesEveryPipelineOfTheTableAndNoOther) {
  auto source = UsersSource();
  for (int i = 1; i <= 50; ++i) source->AddRow(kUsers, User(i, "u"));
  source->AddRow(kOrders, User(1, "o"));
  auto observer = std::make_shared<RecordingObserver>();
  auto starts = std::make_shared<StartCounter>();
  auto options = FastOptions(observer);
  options.observers.push_back(starts);
  Engine engine(options);
  engine.AddSource("s", source);
  auto a = std::make_shared<IndexedTarget>();
  auto b = std::make_shared<RecordingTarget>();
  auto orders = std::make_shared<RecordingTarget>();
  const auto a_id = engine.AddPipeline("s", kUsers, a);
  const auto b_id = engine.AddPipeline("s", kUsers, b);
  const auto orders_id = engine.AddPipeline("s", kOrders, orders);
  engine.Start();
  ASSERT_TRUE(engine.AwaitReady(10s));
  const auto orders_calls = orders->Calls().size();

  source->EmitUpdate(kUsers, User(7, "seven"), User(7, "u"));
  source->EmitDelete(kUsers, User(8, "u"));
  engine.ReloadTable("s", kUsers);
  ASSERT_TRUE(Eventually([&] { return source->ReloadCount() == 1; }));
  ASSERT_TRUE(Eventually([&] { return !engine.Pipeline(a_id).reloading; }));
  const auto last = source->EmitInsert(kUsers, User(100, "after"));
  ASSERT_TRUE(source->AwaitAck(last, 10s));

  EXPECT_EQ(a->Count(), 50U);
  EXPECT_EQ(a->Get({Value(std::int64_t{7})})->at("name"), Value("seven"));
  EXPECT_EQ(b->CountOf("baseline_complete"), 2U);  // the first baseline's, the reload's
  EXPECT_EQ(observer->BaselineRows(a_id), 49U);    // the reload's rows (8 was deleted)
  EXPECT_EQ(observer->BaselineRows(b_id), 49U);
  EXPECT_EQ(orders->Calls().size(), orders_calls);  // the other table heard nothing
  EXPECT_TRUE(observer->Rebaselines().empty());
  EXPECT_EQ(source->BaselineCount(), 1);
  // Observers hear the reload start (once per pipeline of the table), so the duration they
  // report at its completion is the reload's own; the other table's only start is its baseline.
  EXPECT_EQ(starts->Starts(kUsers), 1 + 2);
  EXPECT_EQ(starts->Starts(kOrders), 1);
  EXPECT_TRUE(engine.AwaitReady(std::vector<std::string>{a_id, b_id, orders_id}, 1s));
  engine.Stop();
}

TEST(EngineReload, ReloadsMixedWithAStreamOfChangesLeaveTheReplicaEqualToTheSource) {
  auto source = UsersSource({.stream_batch = 7});
  for (int i = 1; i <= 200; ++i) source->AddRow(kUsers, User(i, "u"));
  Engine engine(FastOptions());
  engine.AddSource("s", source);
  auto target = std::make_shared<IndexedTarget>();
  engine.AddPipeline("s", kUsers, target);
  engine.Start();
  ASSERT_TRUE(engine.AwaitReady(10s));
  auto writer = MixedWriter(source, kUsers, 3000);
  for (int k = 1; k <= 10; ++k) {
    engine.ReloadTable("s", kUsers);
    ASSERT_TRUE(Eventually([&] { return source->ReloadCount() >= k; }, 10s));
  }
  writer.join();
  const auto last = source->EmitInsert(kUsers, User(-1, "end"));
  ASSERT_TRUE(source->AwaitAck(last, 10s));
  EXPECT_EQ(ById(target->All()), ById(source->Contents(kUsers)));
  engine.Stop();
}

TEST(EngineReload, RequestsTheEngineCannotCarryOutAreClearErrors) {
  auto source = UsersSource();
  Engine engine(FastOptions());
  engine.AddSource("s", source);
  engine.AddPipeline("s", kUsers, std::make_shared<IndexedTarget>());
  engine.Start();
  ASSERT_TRUE(engine.AwaitReady(10s));
  try {
    engine.ReloadTable("s", kOrders);
    ADD_FAILURE() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("no pipeline of public.orders"), std::string::npos)
        << e.what();
  }
  EXPECT_THROW(engine.ReloadTable("nope", kUsers), ConfigError);
  EXPECT_EQ(source->ReloadCount(), 0);
  engine.Stop();
}

}  // namespace
}  // namespace laredo::testing
