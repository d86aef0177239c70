// Slot invalidation by max_slot_wal_keep_size. The setting is server-wide, so this binary runs
// alone (RUN_SERIAL): other tests' slots would be invalidated too.
#include "pg_harness.hpp"

namespace laredo::pg::testing {
namespace {

using laredo::testing::FastOptions;
using laredo::testing::RecordingObserver;

TEST_F(PgTest, InvalidatedSlotIsRecreatedAndTheReplicaRebaselined) {
  Exec("CREATE TABLE " + Q("t") + " (id int PRIMARY KEY, v text)");
  Exec("INSERT INTO " + Q("t") + " SELECT g, 'v' FROM generate_series(1, 100) g");
  auto observer = std::make_shared<RecordingObserver>();
  Engine engine(FastOptions(observer));
  auto target = StartReplica(engine, "t", Options());
  ASSERT_TRUE(engine.AwaitReady(30s));
  ASSERT_TRUE(Converged(*target, "t"));

  engine.Pause("pg");                                 // the slot stops advancing
  Exec("DELETE FROM " + Q("t") + " WHERE id <= 50");  // must disappear from the replica
  Exec("ALTER SYSTEM SET max_slot_wal_keep_size = '1MB'");
  Exec("SELECT pg_reload_conf()");
  const bool lost = Eventually(
      [&] {
        Exec("INSERT INTO " + Q("t") +
             " SELECT g, 'w' FROM generate_series(1000, 1010) g "
             "ON CONFLICT (id) DO UPDATE SET v = excluded.v");
        Exec("SELECT pg_switch_wal()");
        Exec("CHECKPOINT");
        return Scalar("SELECT wal_status FROM pg_replication_slots WHERE slot_name = '" + name_ +
                      "'") == "lost";
      },
      60s);
  Exec("ALTER SYSTEM RESET max_slot_wal_keep_size");
  Exec("SELECT pg_reload_conf()");
  ASSERT_TRUE(lost);
  engine.Resume("pg");
  ASSERT_TRUE(Eventually([&] { return !observer->Rebaselines().empty(); }, 30s));
  Exec("INSERT INTO " + Q("t") + " VALUES (5000, 'after')");
  ASSERT_TRUE(Converged(*target, "t"));
  engine.Stop();
}

}  // namespace
}  // namespace laredo::pg::testing
