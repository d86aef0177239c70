// The engine's operator actions against the real server: a re-baseline while streaming, and a
// reset that drops and re-creates the slot; both end equal to SELECT * and keep streaming.
#include "pg_harness.hpp"

namespace laredo::pg::testing {
namespace {

using laredo::testing::FastOptions;

TEST_F(PgTest, EngineRebaselineAndResetReloadTheReplicaAndKeepStreaming) {
  Exec("CREATE TABLE " + Q("t") + " (id int PRIMARY KEY, v text)");
  Exec("INSERT INTO " + Q("t") + " SELECT g, 'v' || g FROM generate_series(1, 300) g");
  auto observer = std::make_shared<laredo::testing::RecordingObserver>();
  Engine engine(FastOptions(observer));
  auto replica = StartReplica(engine, "t", Options());
  ASSERT_TRUE(engine.AwaitReady(std::chrono::seconds(30))) << engine.NotReadyReason();

  engine.Rebaseline("pg", "operator asked");
  ASSERT_TRUE(Eventually([&] { return observer->Rebaselines().size() == 1; }, 30s));
  Exec("UPDATE " + Q("t") + " SET v = 'after rebaseline' WHERE id <= 10");
  ASSERT_TRUE(engine.AwaitApplied("pg", PositionAt(CurrentLsn()), std::chrono::seconds(30)));
  EXPECT_TRUE(Converged(*replica, "t"));

  const auto slot_before =
      Scalar("SELECT restart_lsn FROM pg_replication_slots WHERE slot_name = '" + name_ + "'");
  engine.ResetSource("pg");
  ASSERT_TRUE(Eventually([&] { return observer->Rebaselines().size() >= 2; }, 30s));
  ASSERT_TRUE(engine.AwaitReady(std::chrono::seconds(30))) << engine.NotReadyReason();
  Exec("DELETE FROM " + Q("t") + " WHERE id > 290");
  ASSERT_TRUE(engine.AwaitApplied("pg", PositionAt(CurrentLsn()), std::chrono::seconds(30)));
  EXPECT_TRUE(Converged(*replica, "t"));
  EXPECT_EQ(replica->Count(), 290U);
  // A new slot: created after the old one, at a later point.
  const auto slot_after =
      Scalar("SELECT restart_lsn FROM pg_replication_slots WHERE slot_name = '" + name_ + "'");
  ASSERT_FALSE(slot_after.empty());
  EXPECT_GT(Lsn::Parse(slot_after).value(), Lsn::Parse(slot_before).value());
}

}  // namespace
}  // namespace laredo::pg::testing
