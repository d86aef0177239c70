// Baseline throughput against a real PostgreSQL: laredo's baseline (slot with exported snapshot,
// COPY inside it, rows into the IndexedTarget) vs `psql -c "COPY bench TO STDOUT" > /dev/null`.
//
//   LAREDO_PG_CONNINFO=... laredo_bench_pg_baseline [N]      (default N = 1,000,000)
//
// LAREDO_BENCH_PARALLELISM=K copies on K connections (baseline_parallelism; the one table is then
// split into block ranges of 64 MiB). Default 1.
//
// COPY runs before and after laredo; the ratio is taken against the faster of the two, so that
// neither a cold cache nor the order of the runs flatters laredo.
#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "laredo/laredo.hpp"
#include "laredo/pg/source.hpp"
#include "pg_bench_util.hpp"

namespace {

using namespace std::chrono_literals;
namespace bench = laredo::bench;

constexpr const char* kPublication = "laredo_bench_baseline_pub";

// Records when the source started reading the table (after connecting and creating the slot).
class StartObserver final : public laredo::EngineObserver {
 public:
  void OnBaselineStarted(std::string_view, const laredo::TableIdentifier&,
                         std::optional<std::uint64_t>) override {
    started_ = bench::Clock::now();
  }
  bench::Clock::time_point started() const { return started_; }

 private:
  bench::Clock::time_point started_{};  // written by the source thread before the baseline
};

double TimeCopy(const std::string& conninfo) {
  const auto [conninfo_no_password, password] = bench::SplitPassword(conninfo);
  const auto start = bench::Clock::now();
  const int rc = bench::RunTool(
      {bench::PgTool("psql"), "-X", "-q", "-d", conninfo_no_password, "-c", "COPY bench TO STDOUT"},
      password);
  if (rc != 0) throw std::runtime_error("psql COPY failed (exit " + std::to_string(rc) + ")");
  return bench::Seconds(bench::Clock::now() - start);
}

int Parallelism() {
  const char* env = std::getenv("LAREDO_BENCH_PARALLELISM");
  return env == nullptr ? 1 : std::max(1, std::atoi(env));
}

int Run(std::int64_t n) {
  bench::BenchServer server;
  const std::string& conninfo = server.conninfo();
  const bench::PgConn conn(conninfo);

  bench::CreateBenchTable(conn);
  bench::InsertBenchRows(conn, n);
  // Freeze and analyse first: otherwise whichever reader comes first pays for setting hint bits,
  // and the source's progress estimate (reltuples) is unknown.
  conn.Exec("VACUUM (FREEZE, ANALYZE) bench");
  const std::string table_size = conn.Query("SELECT pg_size_pretty(pg_table_size('bench'))");
  std::printf("table: %lld rows, %s; baseline_parallelism %d\n", static_cast<long long>(n),
              table_size.c_str(), Parallelism());
  const auto rows = static_cast<double>(n);

  const double copy1_s = TimeCopy(conninfo);

  auto replica = std::make_shared<laredo::memory::IndexedTarget>();
  const std::int64_t rss_before = bench::ResidentBytes();
  const double cpu_before = bench::SelfCpuSeconds();
  auto observer = std::make_shared<StartObserver>();
  double ours_s = 0;
  double copy_phase_s = 0;
  double ours_cpu = 0;
  std::int64_t rss_after = 0;
  {
    laredo::EngineOptions options;
    options.observers = {observer};
    laredo::Engine engine(options);
    engine.AddSource("pg", std::make_shared<laredo::pg::Source>(laredo::pg::SourceOptions{
                               .conninfo = conninfo,
                               .slot_mode = laredo::pg::SlotMode::Ephemeral,
                               .publication_name = kPublication,
                               .baseline_parallelism = Parallelism(),
                           }));
    engine.AddPipeline("pg", laredo::Table("public", "bench"), replica);
    const auto start = bench::Clock::now();
    engine.Start();
    if (!engine.AwaitReady(30min)) {
      std::fprintf(stderr, "baseline did not complete: %s\n",
                   engine.SourceError("pg").value_or("no source error").c_str());
      return 1;
    }
    const auto end = bench::Clock::now();
    ours_s = bench::Seconds(end - start);
    copy_phase_s = bench::Seconds(end - observer->started());
    ours_cpu = bench::SelfCpuSeconds() - cpu_before;
    rss_after = bench::ResidentBytes();
    engine.Stop();
  }

  const double copy2_s = TimeCopy(conninfo);
  const double copy_s = std::min(copy1_s, copy2_s);
  std::printf("psql COPY:  %.0f rows/s (%.2f s before, %.2f s after laredo; the faster counts)\n",
              rows / copy_s, copy1_s, copy2_s);
  std::printf("laredo:     %.0f rows/s (%.2f s, client CPU %.2f s), %zu rows in the target\n",
              rows / ours_s, ours_s, ours_cpu, replica->Count());
  std::printf("            (connect + slot + snapshot %.2f s; reading the table %.0f rows/s)\n",
              ours_s - copy_phase_s, rows / copy_phase_s);
  std::printf("ratio laredo / COPY: %.2fx (acceptance >= 0.8x)\n", copy_s / ours_s);
  std::printf("target memory: %.0f bytes/row (MemoryUsage), RSS +%.0f bytes/row\n",
              static_cast<double>(replica->MemoryUsage()) / rows,
              static_cast<double>(rss_after - rss_before) / rows);
  conn.Exec("DROP PUBLICATION IF EXISTS " + std::string(kPublication));
  return replica->Count() == static_cast<std::size_t>(n) ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return Run(bench::CountArg(argc, argv, 1, 1'000'000));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "pg_baseline: %s\n", e.what());
    return 1;
  }
}
