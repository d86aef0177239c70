// ReloadRunner without a server: what it does with a reload it cannot begin. (Reads and
// watermarks are covered against a real server in integration/reload_it_test.cpp.)
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

}  // namespace
}  // namespace laredo::pg
