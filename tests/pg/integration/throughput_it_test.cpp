// Rough throughput figures (not run by default: --gtest_also_run_disabled_tests). The benchmarks
// proper belong in bench/; these give a quick comparison with COPY and pg_recvlogical on the same
// server and data.
#include <atomic>
#include <cstdio>
#include <cstdlib>

#include "pg_harness.hpp"

namespace laredo::pg::testing {
namespace {

using laredo::testing::FastOptions;
using Clock = std::chrono::steady_clock;

constexpr int kRows = 200'000;

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// Counts applied changes; claims to keep state so that the engine resumes from the slot.
class CountingTarget final : public SyncTarget {
 public:
  void OnInit(const TableIdentifier&, const std::vector<ColumnDefinition>&) override {}
  void OnBaselineRow(const TableIdentifier&, const Row&) override { ++n; }
  void OnBaselineComplete(const TableIdentifier&) override {}
  void OnInsert(const TableIdentifier&, const Row&) override { ++n; }
  void OnUpdate(const TableIdentifier&, const Row&, const Row&) override { ++n; }
  void OnDelete(const TableIdentifier&, const Row&) override { ++n; }
  void OnTruncate(const TableIdentifier&) override {}
  bool IsDurable() override { return true; }
  bool KeepsStateAcrossRestarts() override { return true; }
  SchemaChangeResponse OnSchemaChange(const TableIdentifier&, const std::vector<ColumnDefinition>&,
                                      const std::vector<ColumnDefinition>&) override {
    return {};
  }
  void OnClose(const TableIdentifier&) override {}
  std::atomic<std::uint64_t> n{0};
};

void Fill(PgTest& t, int from, int to) {
  for (int start = from; start <= to; start += 1000) {
    t.Exec("INSERT INTO " + t.Q("bench") + " SELECT g, g % 1000, repeat(md5(g::text), 3), now(), " +
           "jsonb_build_object('k', g) FROM generate_series(" + std::to_string(start) + ", " +
           std::to_string(std::min(to, start + 999)) + ") g");
  }
}

TEST_F(PgTest, DISABLED_ThroughputFigures) {
  Exec("CREATE TABLE " + Q("bench") +
       " (id bigint PRIMARY KEY, a int, b text, c timestamptz, d jsonb)");
  Fill(*this, 1, kRows);
  Exec("VACUUM ANALYZE " + Q("bench"));

  // Baseline: COPY through libpq, then our baseline into the indexed target.
  auto copy_start = Clock::now();
  {
    auto conn = PgConnection::Connect(conninfo_, ConnectionKind::Normal);
    conn.Exec("COPY " + Q("bench") + " TO STDOUT", "copy");
    char* buf = nullptr;
    while (PQgetCopyData(conn.get(), &buf, 0) > 0) PQfreemem(buf);
  }
  const double copy_s = Seconds(Clock::now() - copy_start);
  auto baseline_start = Clock::now();
  {
    Engine engine(FastOptions());
    engine.AddSource("pg", std::make_shared<Source>(Options()));
    engine.AddPipeline("pg", T("bench"), std::make_shared<memory::IndexedTarget>());
    engine.Start();
    ASSERT_TRUE(engine.AwaitReady(300s));
    const double baseline_s = Seconds(Clock::now() - baseline_start);
    std::printf("baseline: COPY %.0f rows/s, laredo %.0f rows/s (%.2fx)\n", kRows / copy_s,
                kRows / baseline_s, copy_s / baseline_s);
    engine.Stop();
  }

  // Streaming: our slot (kept by the run above) and a second one for pg_recvlogical, then the
  // workload, then both consume it.
  Exec("TRUNCATE " + Q("bench"));
  const std::string other = name_.substr(0, 40) + "_recv";
  Exec("SELECT pg_drop_replication_slot('" + other + "') FROM pg_replication_slots " +
       "WHERE slot_name = '" + other + "'");
  Exec("SELECT pg_create_logical_replication_slot('" + other + "', 'pgoutput')");
  Fill(*this, 1, kRows);
  Exec("UPDATE " + Q("bench") + " SET a = a + 1");
  const Lsn end = CurrentLsn();
  const std::uint64_t changes = 2ULL * kRows;
  const std::string recv = "/usr/lib/postgresql/15/bin/pg_recvlogical -d '" + conninfo_ +
                           "' --slot " + other + " --start --endpos " + end.ToString() +
                           " -o proto_version=1 -o publication_names=" + name_ +
                           " -f /dev/null 2>&1";
  auto recv_start = Clock::now();
  ASSERT_EQ(std::system(recv.c_str()), 0);
  const double recv_s = Seconds(Clock::now() - recv_start);
  Exec("SELECT pg_drop_replication_slot('" + other + "')");

  auto target = std::make_shared<CountingTarget>();
  Engine engine(FastOptions());
  engine.AddSource("pg", std::make_shared<Source>(Options()));
  engine.AddPipeline("pg", T("bench"), target);
  auto stream_start = Clock::now();
  engine.Start();
  ASSERT_TRUE(Eventually([&] { return target->n.load() >= changes; }, 300s));
  ASSERT_TRUE(Eventually(
      [&] {
        auto p = engine.LastAckedPosition("pg");
        return p.has_value() && std::any_cast<StreamPosition>(p).ack_lsn >= Lsn(0) &&
               ConfirmedFlush().value() >= std::any_cast<StreamPosition>(p).ack_lsn &&
               std::any_cast<StreamPosition>(p).index > 0;
      },
      300s));
  const double stream_s = Seconds(Clock::now() - stream_start);
  std::printf("stream: pg_recvlogical %.0f changes/s, laredo %.0f changes/s (%.2fx)\n",
              static_cast<double>(changes) / recv_s, static_cast<double>(changes) / stream_s,
              recv_s / stream_s);
  engine.Stop();
}

}  // namespace
}  // namespace laredo::pg::testing
