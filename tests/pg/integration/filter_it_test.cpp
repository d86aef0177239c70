// PostgreSQL 15 publication row filters and column lists: baseline and stream agree.
#include <set>

#include "pg_harness.hpp"

namespace laredo::pg::testing {
namespace {

using laredo::testing::FastOptions;

TEST_F(PgTest, RowFilterAndColumnListApplyToBaselineAndStream) {
  // A row filter on a non-key column needs REPLICA IDENTITY FULL for updates to be published.
  Exec("CREATE TABLE " + Q("filtered") + " (id int PRIMARY KEY, status text, v int)");
  Exec("ALTER TABLE " + Q("filtered") + " REPLICA IDENTITY FULL");
  Exec("CREATE TABLE " + Q("narrow") + " (id int PRIMARY KEY, secret text, v int)");
  Exec("INSERT INTO " + Q("filtered") +
       " SELECT g, CASE WHEN g % 2 = 0 THEN 'active' ELSE 'idle' END, g FROM "
       "generate_series(1, 20) g");
  Exec("INSERT INTO " + Q("narrow") + " SELECT g, 'hidden', g FROM generate_series(1, 5) g");
  auto options = Options();
  options.tables[T("filtered")] = {.row_filter = "status = 'active'"};
  options.tables[T("narrow")] = {.columns = {"id", "v"}};
  Engine engine(FastOptions());
  engine.AddSource("pg", std::make_shared<Source>(options));
  auto filtered = std::make_shared<memory::IndexedTarget>();
  auto narrow = std::make_shared<memory::IndexedTarget>();
  engine.AddPipeline("pg", T("filtered"), filtered);
  engine.AddPipeline("pg", T("narrow"), narrow);
  engine.Start();
  ASSERT_TRUE(engine.AwaitReady(30s));
  const auto converged = [&] {
    return Eventually(
        [&] {
          return Index(filtered->All()) == ReadTable("filtered", "id", "*", "status = 'active'") &&
                 Index(narrow->All()) == ReadTable("narrow", "id", "id, v");
        },
        30s);
  };
  ASSERT_TRUE(converged());
  EXPECT_EQ(filtered->Count(), 10U);
  EXPECT_EQ(narrow->Columns().size(), 2U);

  Exec("INSERT INTO " + Q("filtered") + " VALUES (21, 'idle', 0), (22, 'active', 0)");
  Exec("UPDATE " + Q("filtered") + " SET status = 'idle' WHERE id = 2");    // leaves the filter
  Exec("UPDATE " + Q("filtered") + " SET status = 'active' WHERE id = 3");  // enters it
  Exec("UPDATE " + Q("filtered") + " SET v = -1 WHERE id = 4");
  Exec("INSERT INTO " + Q("narrow") + " VALUES (6, 'hidden', 6)");
  Exec("UPDATE " + Q("narrow") + " SET v = 0, secret = 'x' WHERE id = 1");
  Exec("DELETE FROM " + Q("narrow") + " WHERE id = 2");
  ASSERT_TRUE(converged());
  engine.Stop();
}

TEST_F(PgTest, ColumnListWithoutTheKeyIsAValidationError) {
  Exec("CREATE TABLE " + Q("t") + " (id int PRIMARY KEY, v int)");
  auto options = Options();
  options.tables[T("t")] = {.columns = {"v", "nope"}};
  Source source(options);
  source.Init(SourceConfig{.tables = {T("t")}});
  auto errors = source.ValidateTables({T("t")});
  std::set<std::string> codes;
  for (const auto& e : errors) codes.insert(e.code);
  EXPECT_EQ(codes, (std::set<std::string>{"COLUMN_LIST_MISSES_KEY", "COLUMN_NOT_FOUND"}));
}

}  // namespace
}  // namespace laredo::pg::testing
