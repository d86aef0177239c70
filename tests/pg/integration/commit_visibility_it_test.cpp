// A commit the stream has delivered while new snapshots do not see it yet. PostgreSQL writes a
// commit record before it makes the transaction visible, and with a synchronous standby it waits
// for the standby in between, so the gap can be held open: synchronous_standby_names names a
// standby that never connects, and the one session that commits with synchronous_commit = on
// waits there, committed in the WAL (the logical walsender sends it) and invisible to everyone
// else until its wait is cancelled. A chunk read in that gap holds the row from before the commit,
// whose change the stream has already handed on: the reload must read it again, not keep it.
// Runs alone: it changes a server-wide setting.
#include <fmt/format.h>

#include <thread>

#include "reload_harness.hpp"

namespace laredo::pg::testing {
namespace {

class CommitVisibilityTest : public PgReloadTest {
 protected:
  void TearDown() override {
    if (admin_.is_open()) {
      Exec("ALTER SYSTEM RESET synchronous_standby_names");
      Exec("SELECT pg_reload_conf()");
    }
    PgReloadTest::TearDown();
  }
  // Every new session sees `value` (pg_reload_conf only signals the server).
  bool AwaitStandbyNames(const std::string& value) {
    return Eventually([&] {
      auto conn = PgConnection::Connect(conninfo_, ConnectionKind::Normal, "laredo test");
      const auto r = conn.Exec("SHOW synchronous_standby_names", "reading the setting");
      return GetValue(r.get(), 0, 0).value_or("") == value;
    });
  }
};

TEST_F(CommitVisibilityTest, AChunkReadBeforeADeliveredCommitIsVisibleIsReadAgain) {
  CreateTables(500);
  Harness h(ReloadOptions(1000, 0ms));  // one chunk holds the whole table
  auto t = std::make_shared<memory::IndexedTarget>();
  ASSERT_NO_FATAL_FAILURE(StartT(h, t));
  Exec("ALTER SYSTEM SET synchronous_standby_names = 'laredo_no_such_standby'");
  Exec("SELECT pg_reload_conf()");
  ASSERT_TRUE(AwaitStandbyNames("laredo_no_such_standby"));

  auto waiter = PgConnection::Connect(conninfo_, ConnectionKind::Normal, "laredo test waiter");
  const auto pid = std::to_string(PQbackendPID(waiter.get()));
  waiter.Exec("SET synchronous_commit = on", "setting synchronous_commit");
  std::jthread commit([&] {
    // Returns once its wait for the standby is cancelled, with a warning: committed locally.
    waiter.Exec("DELETE FROM " + Q("t") + " WHERE id = 42", "deleting, waiting for a standby");
  });
  // However the test ends, the wait ends before the thread is joined (destroyed in reverse).
  struct CancelWait {
    CommitVisibilityTest& test;
    const std::string& pid;
    ~CancelWait() {
      try {
        test.Exec("SELECT pg_cancel_backend(" + pid + ")");
      } catch (const std::exception&) {  // the test reports what went wrong
      }
    }
  } cancel_wait{*this, pid};
  // The stream delivered the delete, yet the row is still there for everyone else.
  ASSERT_TRUE(Eventually([&] { return !t->Get({Value(std::int64_t{42})}).has_value(); }, 30s));
  EXPECT_EQ(Scalar("SELECT count(*) FROM " + Q("t") + " WHERE id = 42"), "1");

  h.engine.ReloadTable("pg", T("t"));
  // Every read in the gap sees row 42, and is thrown away.
  ASSERT_TRUE(Eventually([&] { return h.source->ReloadStatistics().reads_repeated >= 3; }, 30s))
      << h.source->ReloadStatistics().last_error;
  EXPECT_EQ(h.source->ReloadStatistics().completed, 0U);
  EXPECT_EQ(Scalar("SELECT pg_cancel_backend(" + pid + ")"), "t");
  commit.join();
  EXPECT_EQ(Scalar("SELECT count(*) FROM " + Q("t") + " WHERE id = 42"), "0");

  ASSERT_TRUE(ReloadDone(*h.source));
  EXPECT_TRUE(Converged(*t, "t"));
  EXPECT_FALSE(t->Get({Value(std::int64_t{42})}).has_value());
  EXPECT_TRUE(h.observer->Rebaselines().empty());
}

}  // namespace
}  // namespace laredo::pg::testing
