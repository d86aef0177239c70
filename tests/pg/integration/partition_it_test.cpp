// Partitioned tables: baseline, stream, and partitions added while streaming.
#include "pg_harness.hpp"

namespace laredo::pg::testing {
namespace {

class PartitionTest : public PgTest {
 protected:
  // m (id, region, v) partitioned by region into m_eu and m_us, 20 rows.
  void CreatePartitioned() {
    Exec("CREATE TABLE " + Q("m") +
         " (id int, region text, v int, PRIMARY KEY (id, region)) PARTITION BY LIST (region)");
    Exec("CREATE TABLE " + Q("m_eu") + " PARTITION OF " + Q("m") + " FOR VALUES IN ('eu')");
    Exec("CREATE TABLE " + Q("m_us") + " PARTITION OF " + Q("m") + " FOR VALUES IN ('us')");
    Exec("INSERT INTO " + Q("m") +
         " SELECT g, CASE WHEN g % 2 = 0 THEN 'eu' ELSE 'us' END, g FROM generate_series(1, 20) g");
  }
};

TEST_F(PartitionTest, BaselineStreamAndNewPartitionsOfAPartitionedTable) {
  CreatePartitioned();
  Engine engine(laredo::testing::FastOptions());
  auto target = StartReplica(engine, "m", Options());
  ASSERT_TRUE(engine.AwaitReady(30s));
  ASSERT_TRUE(Converged(*target, "m"));  // the baseline read every partition
  Exec("INSERT INTO " + Q("m") + " VALUES (21, 'eu', 21), (22, 'us', 22)");
  Exec("UPDATE " + Q("m") + " SET v = v + 100 WHERE id <= 4");
  Exec("DELETE FROM " + Q("m") + " WHERE id = 5");
  ASSERT_TRUE(Converged(*target, "m"));  // changes of the partitions, under the table's name
  Exec("CREATE TABLE " + Q("m_asia") + " PARTITION OF " + Q("m") + " FOR VALUES IN ('asia')");
  Exec("INSERT INTO " + Q("m") + " VALUES (23, 'asia', 23)");
  ASSERT_TRUE(Converged(*target, "m"));
  EXPECT_EQ(target->Count(), 22U);
  engine.Stop();
}

TEST_F(PartitionTest, APublicationSendingPartitionsUnderTheirOwnNamesIsReported) {
  CreatePartitioned();
  Exec("CREATE PUBLICATION " + name_ + " FOR TABLE " + Q("m"));  // without the root option
  auto options = Options();
  options.manage_publication = false;
  Source source(options);
  const auto problems = source.ValidateTables({T("m")});
  ASSERT_EQ(problems.size(), 1U);
  EXPECT_EQ(problems[0].code, "PARTITIONS_PUBLISHED_AS_LEAVES");
}

}  // namespace
}  // namespace laredo::pg::testing
