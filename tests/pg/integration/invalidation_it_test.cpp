// Slot invalidation by max_slot_wal_keep_size. The setting is server-wide, so this binary runs
// alone (RUN_SERIAL): other tests' slots would be invalidated too.
#include "pg_harness.hpp"

namespace laredo::pg::testing {
namespace {

using laredo::testing::FastOptions;
using laredo::testing::RecordingObserver;

void InvalidateWhilePaused(PgTest& t, SourceOptions options) {
  t.Exec("CREATE TABLE " + t.Q("t") + " (id int PRIMARY KEY, v text)");
  t.Exec("INSERT INTO " + t.Q("t") + " SELECT g, 'v' FROM generate_series(1, 100) g");
  auto observer = std::make_shared<RecordingObserver>();
  Engine engine(FastOptions(observer));
  auto target = t.StartReplica(engine, "t", std::move(options));
  ASSERT_TRUE(engine.AwaitReady(30s));
  ASSERT_TRUE(t.Converged(*target, "t"));

  engine.Pause("pg");                                     // the slot stops advancing
  t.Exec("DELETE FROM " + t.Q("t") + " WHERE id <= 50");  // must disappear from the replica
  t.Exec("ALTER SYSTEM SET max_slot_wal_keep_size = '1MB'");
  t.Exec("SELECT pg_reload_conf()");
  const bool lost = Eventually(
      [&] {
        t.Exec("INSERT INTO " + t.Q("t") +
               " SELECT g, 'w' FROM generate_series(1000, 1010) g "
               "ON CONFLICT (id) DO UPDATE SET v = excluded.v");
        t.Exec("SELECT pg_switch_wal()");
        t.Exec("CHECKPOINT");
        return t.Scalar("SELECT wal_status FROM pg_replication_slots WHERE slot_name = '" +
                        t.name_ + "'") == "lost";
      },
      60s);
  t.Exec("ALTER SYSTEM RESET max_slot_wal_keep_size");
  t.Exec("SELECT pg_reload_conf()");
  ASSERT_TRUE(lost);
  engine.Resume("pg");
  ASSERT_TRUE(Eventually([&] { return !observer->Rebaselines().empty(); }, 30s));
  t.Exec("INSERT INTO " + t.Q("t") + " VALUES (5000, 'after')");
  ASSERT_TRUE(t.Converged(*target, "t"));
  engine.Stop();
}

TEST_F(PgTest, InvalidatedSlotIsRecreatedAndTheReplicaRebaselined) {
  InvalidateWhilePaused(*this, Options());
}

// The server's messages in German: the source decides by SQLSTATE and wal_status alone.
TEST_F(PgTest, InvalidatedSlotIsRecognisedWhateverTheMessageLanguage) {
  try {
    Exec("SET lc_messages = 'de_DE.UTF-8'");
    Exec("RESET lc_messages");
  } catch (const SqlError& e) {
    GTEST_SKIP() << "no de_DE.UTF-8 locale on the server's machine: " << e.what();
  }
  auto options = Options();
  options.conninfo = ConninfoWithSetting("lc_messages=de_DE.UTF-8");
  InvalidateWhilePaused(*this, options);
}

}  // namespace
}  // namespace laredo::pg::testing
