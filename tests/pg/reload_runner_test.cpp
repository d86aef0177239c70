// ReloadRunner without a server: what it does with a reload it cannot begin, and with one it is
// told to continue after a restart. (Reads and watermarks are covered against a real server in
// integration/reload_it_test.cpp and integration/reload_restart_it_test.cpp.)
#include "reload_runner.hpp"

#include <gtest/gtest.h>

#include "laredo/error.hpp"

namespace laredo::pg {
namespace {

const TableIdentifier kT = Table("public", "t");

// Counts what reaches the engine.
struct Recorder final : ChangeHandler {
  void OnChange(ChangeEvent event) override { (void)event; }
  void OnReloadBegin(const TableIdentifier& table, std::vector<ColumnDefinition> columns) override {
    (void)table;
    (void)columns;
    ++begins;
  }
  int begins = 0;
};

ColumnDefinition Column(std::string name, bool key) {
  return ColumnDefinition{.name = std::move(name),
                          .type = "bigint",
                          .nullable = !key,
                          .ordinal_position = 0,
                          .primary_key = key,
                          .primary_key_ordinal = key ? 1 : 0,
                          .type_oid = 20};
}

// A runner with one request for `kT`, in a stream begun over `columns`; no server answers.
struct OneRequest {
  explicit OneRequest(std::vector<ColumnDefinition> table_columns)
      : columns{{kT, std::move(table_columns)}} {
    runner.Request(kT);
    runner.BeginStream(engine, columns, types, StreamPosition{}, stop.get_token());
  }
  ~OneRequest() { runner.EndStream(); }
  OneRequest(const OneRequest&) = delete;
  OneRequest& operator=(const OneRequest&) = delete;

  ReloadRunner runner{
      ReloadRunner::Settings{.conninfo = "host=127.0.0.1 port=1", .slot = "s", .max_attempts = 1}};
  std::map<TableIdentifier, std::vector<ColumnDefinition>> columns;
  TypeResolver types{"host=127.0.0.1 port=1"};
  Recorder engine;
  std::stop_source stop;
};

// A reload asked for while the table had its primary key, begun after the stream learnt it has
// none: the request must not vanish, or a pipeline waiting for it (a table added while running,
// an update it could not fill) would discard its table's changes and hold the ACK for good.
TEST(ReloadRunner, AReloadThatCanNoLongerBeginAsksForABaselineInsteadOfVanishing) {
  OneRequest r({Column("id", false), Column("v", false)});
  EXPECT_THROW(r.runner.Step(), RebaselineRequired);
  EXPECT_EQ(r.engine.begins, 0);
  EXPECT_NE(r.runner.Statistics().last_error.find("not reloadable"), std::string::npos);
  // The full baseline reloads everything: nothing is left queued.
  r.runner.Clear();
  EXPECT_NO_THROW(r.runner.Step());
}

// A reload whose table is reloadable begins at the first step, before any chunk is read.
TEST(ReloadRunner, AReloadOfATableWithAPrimaryKeyBegins) {
  OneRequest r({Column("id", true), Column("v", false)});
  try {
    r.runner.Step();  // the chunk read fails (no server): retried later, not thrown yet
  } catch (const RebaselineRequired&) {
    ADD_FAILURE() << "a reload that can begin asked for a baseline";
  }
  EXPECT_EQ(r.engine.begins, 1);
}

// A runner told to continue a reload after a restart (`Source::ContinueReload`), in a stream
// that starts at `from`; `join` asks for it again first, as a second target of the table joining
// does (`BeginAgain`).
struct Resumed {
  Resumed(const ReloadCheckpoint& checkpoint, const StreamPosition& from, bool join = false)
      : columns{{kT, {Column("id", true), Column("v", false)}}} {
    runner.ResumeAfterRestart(checkpoint);
    if (join) runner.BeginAgain(kT);
    runner.BeginStream(engine, columns, types, from, stop.get_token());
    try {
      runner.Step();  // the chunk read fails (no server): retried later
    } catch (const RebaselineRequired&) {
      ADD_FAILURE() << "a reload that can go on asked for a baseline";
    }
  }
  ~Resumed() { runner.EndStream(); }
  Resumed(const Resumed&) = delete;
  Resumed& operator=(const Resumed&) = delete;

  ReloadRunner runner{
      ReloadRunner::Settings{.conninfo = "host=127.0.0.1 port=1", .slot = "s", .max_attempts = 1}};
  std::map<TableIdentifier, std::vector<ColumnDefinition>> columns;
  TypeResolver types{"host=127.0.0.1 port=1"};
  Recorder engine;
  std::stop_source stop;
};

const StreamPosition kThrough{.commit_lsn = Lsn(0x5000), .index = 2, .ack_lsn = Lsn(0x4000)};

ReloadCheckpoint Checkpoint() {
  return ReloadCheckpoint{
      .table = kT,
      .slot = "s",
      .columns = ReloadRunner::ColumnsSignature({Column("id", true), Column("v", false)}),
      .through = kThrough,
      .bounded = true,
      .scanned = false,
      .after = std::vector<std::string>{"500"},
      .last = std::vector<std::string>{"20000"},
      .read_again = {{"-7"}}};
}

// Continued: no new begin (the targets keep the copy they hold), and the slot stays confirmed no
// further than the checkpoint until a newer one is acknowledged.
TEST(ReloadRunner, AReloadContinuedAfterARestartSendsNoNewBeginAndHoldsTheSlot) {
  const StreamPosition from{.commit_lsn = Lsn(0x4000), .index = 0, .ack_lsn = Lsn(0x4000)};
  Resumed r(Checkpoint(), from);
  EXPECT_EQ(r.engine.begins, 0);
  EXPECT_EQ(r.runner.Statistics().resumed, 1U);
  const StreamPosition later{.commit_lsn = Lsn(0x9000), .index = 0, .ack_lsn = Lsn(0x9000)};
  EXPECT_EQ(r.runner.FlushCap(later), Lsn(0x4000));
}

// Whenever the checkpoint cannot be trusted to describe the copy, the reload begins again.
TEST(ReloadRunner, AReloadThatCannotBeContinuedBeginsAgainFromNothing) {
  const StreamPosition from{.commit_lsn = Lsn(0x4000), .index = 0, .ack_lsn = Lsn(0x4000)};
  const StreamPosition past{.commit_lsn = Lsn(0x6000), .index = 0, .ack_lsn = Lsn(0x6000)};
  auto other_columns = Checkpoint();
  other_columns.columns = ReloadRunner::ColumnsSignature({Column("id", true)});
  auto bad_key = Checkpoint();
  bad_key.read_again = {{"not a number"}};
  struct Case {
    const char* what;
    ReloadCheckpoint checkpoint;
    StreamPosition from;
    bool join;
  };
  for (const auto& c : {Case{"a target joined", Checkpoint(), from, true},
                        Case{"the stream resumes after it", Checkpoint(), past, false},
                        Case{"the columns changed", other_columns, from, false},
                        Case{"a key does not fit", bad_key, from, false}}) {
    Resumed r(c.checkpoint, c.from, c.join);
    EXPECT_EQ(r.engine.begins, 1) << c.what;
    EXPECT_EQ(r.runner.Statistics().resumed, 0U) << c.what;
    EXPECT_EQ(r.runner.Statistics().restarted, 1U) << c.what;
  }
}

}  // namespace
}  // namespace laredo::pg
