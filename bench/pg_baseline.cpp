// Baseline throughput against a real PostgreSQL: laredo's baseline (slot with exported snapshot,
// COPY inside it, rows into the IndexedTarget) vs `psql -c "COPY bench TO STDOUT" > /dev/null`.
//
//   LAREDO_PG_CONNINFO=... laredo_bench_pg_baseline [N]      (default N = 1,000,000)
//
// laredo reads with text COPY and with binary COPY (SourceOptions::binary_copy), twice each.
// LAREDO_BENCH_PARALLELISM=K copies on K connections (baseline_parallelism; the one table is then
// split into block ranges of 64 MiB). Default 1.
// psql COPY runs before and after them; the ratios are taken against the faster of the two, so
// that neither a cold cache nor the order of the runs flatters laredo. Last, one reload of the
// table while streaming (Engine::ReloadTable: chunks by primary key, each up to a watermark),
// timed from the request to the swap, and the same table added to a running source
// (Engine::AddPipeline after Start), timed from the call until its pipeline is ready; both
// against the same baseline.
#include <algorithm>
#include <cstdio>
#include <thread>

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
  const char* env = std::getenv("LAREDO_BENCH_PARALLELISM");  // NOLINT(concurrency-mt-unsafe)
  return env == nullptr ? 1 : std::max(1, std::atoi(env));
}

struct OurRun {
  double seconds = 0;
  double copy_phase_seconds = 0;
  double cpu_seconds = 0;
  std::size_t rows = 0;
  double memory_per_row = 0;
  double rss_per_row = 0;
};

// The source every run here uses; the baseline runs set their COPY mode and parallelism on it.
laredo::pg::SourceOptions BenchOptions(const std::string& conninfo) {
  return laredo::pg::SourceOptions{
      .conninfo = conninfo,
      .slot_mode = laredo::pg::SlotMode::Ephemeral,
      .publication_name = kPublication,
  };
}

OurRun TimeLaredo(const std::string& conninfo, std::int64_t n, bool binary_copy) {
  auto replica = std::make_shared<laredo::memory::IndexedTarget>();
  const std::int64_t rss_before = bench::ResidentBytes();
  const double cpu_before = bench::SelfCpuSeconds();
  auto observer = std::make_shared<StartObserver>();
  OurRun run;
  laredo::EngineOptions options;
  options.observers = {observer};
  laredo::Engine engine(options);
  auto source_options = BenchOptions(conninfo);
  source_options.baseline_parallelism = Parallelism();
  source_options.binary_copy = binary_copy;
  engine.AddSource("pg", std::make_shared<laredo::pg::Source>(std::move(source_options)));
  engine.AddPipeline("pg", laredo::Table("public", "bench"), replica);
  const auto start = bench::Clock::now();
  engine.Start();
  if (!engine.AwaitReady(30min)) {
    throw std::runtime_error("baseline did not complete: " +
                             engine.SourceError("pg").value_or("no source error"));
  }
  const auto end = bench::Clock::now();
  run.seconds = bench::Seconds(end - start);
  run.copy_phase_seconds = bench::Seconds(end - observer->started());
  run.cpu_seconds = bench::SelfCpuSeconds() - cpu_before;
  const auto rows = static_cast<double>(n);
  run.rss_per_row = static_cast<double>(bench::ResidentBytes() - rss_before) / rows;
  run.memory_per_row = static_cast<double>(replica->MemoryUsage()) / rows;
  run.rows = replica->Count();
  engine.Stop();
  return run;
}

// One engine: a baseline (binary COPY), then a reload of the same table while it streams; the
// reload's time from the request until its copy is swapped in.
double TimeReload(const std::string& conninfo, std::int64_t n) {
  auto replica = std::make_shared<laredo::memory::IndexedTarget>();
  auto source = std::make_shared<laredo::pg::Source>(BenchOptions(conninfo));
  laredo::Engine engine;
  engine.AddSource("pg", source);
  const auto id = engine.AddPipeline("pg", laredo::Table("public", "bench"), replica);
  engine.Start();
  if (!engine.AwaitReady(30min)) throw std::runtime_error("baseline did not complete");
  const auto start = bench::Clock::now();
  engine.ReloadTable("pg", laredo::Table("public", "bench"));
  while (source->ReloadStatistics().completed == 0 || engine.Pipeline(id).reloading) {
    if (bench::Clock::now() - start > 30min) throw std::runtime_error("reload did not complete");
    std::this_thread::sleep_for(1ms);
  }
  const double seconds = bench::Seconds(bench::Clock::now() - start);
  const auto stats = source->ReloadStatistics();
  if (replica->Count() != static_cast<std::size_t>(n) ||
      stats.rows != static_cast<std::uint64_t>(n)) {
    throw std::runtime_error("the reload did not deliver every row");
  }
  std::printf("reload:       %.0f rows/s (%.2f s, %llu chunks of %zu rows)\n",
              static_cast<double>(n) / seconds, seconds,
              static_cast<unsigned long long>(stats.chunks),
              laredo::pg::SourceOptions{}.reload_chunk_rows);
  engine.Stop();
  return seconds;
}

// One engine streaming a one-row table; then the bench table is added to it while it runs. The
// time from AddPipeline until the new pipeline is ready. On a stateful slot: a temporary one goes
// with the stream the addition ends, and the table would be loaded by a baseline of everything.
double TimeAdd(const std::string& conninfo, const bench::PgConn& conn, std::int64_t n) {
  const auto drop_slot = [&] {  // and its publication (a consumer of its own)
    conn.Exec(
        "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = "
        "'laredo_bench_add'");
    conn.Exec("DROP PUBLICATION IF EXISTS laredo_bench_add_pub");
  };
  drop_slot();
  conn.Exec("DROP TABLE IF EXISTS bench_seed");
  conn.Exec("CREATE TABLE bench_seed (id int PRIMARY KEY)");
  conn.Exec("INSERT INTO bench_seed VALUES (1)");
  auto seed = std::make_shared<laredo::memory::IndexedTarget>();
  auto replica = std::make_shared<laredo::memory::IndexedTarget>();
  auto options = BenchOptions(conninfo);
  options.slot_mode = laredo::pg::SlotMode::Stateful;
  options.slot_name = "laredo_bench_add";
  options.publication_name = "laredo_bench_add_pub";
  auto source = std::make_shared<laredo::pg::Source>(std::move(options));
  laredo::Engine engine;
  engine.AddSource("pg", source);
  engine.AddPipeline("pg", laredo::Table("public", "bench_seed"), seed);
  engine.Start();
  if (!engine.AwaitReady(5min)) throw std::runtime_error("baseline did not complete");
  const auto start = bench::Clock::now();
  const auto id = engine.AddPipeline("pg", laredo::Table("public", "bench"), replica);
  if (!engine.AwaitReady({id}, 30min)) {
    throw std::runtime_error("the added table was not loaded: " + engine.NotReadyReason({id}));
  }
  const double seconds = bench::Seconds(bench::Clock::now() - start);
  if (replica->Count() != static_cast<std::size_t>(n)) {
    throw std::runtime_error("the added table's load did not deliver every row");
  }
  const auto stats = source->ReloadStatistics();
  std::printf("add table:    %.0f rows/s (%.2f s, %llu chunks, %llu read again)\n",
              static_cast<double>(n) / seconds, seconds,
              static_cast<unsigned long long>(stats.chunks),
              static_cast<unsigned long long>(stats.reads_repeated));
  if (stats.chunks == 0) throw std::runtime_error("the added table was not loaded by a reload");
  engine.Stop();
  drop_slot();
  conn.Exec("DROP TABLE bench_seed");
  return seconds;
}

int RunBench(std::int64_t n) {
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
  // Each mode twice, in the order text, binary, binary, text, so that neither profits from
  // going second; the faster run of each counts.
  const auto faster = [](const OurRun& a, const OurRun& b) {
    return a.seconds <= b.seconds ? a : b;
  };
  const OurRun text1 = TimeLaredo(conninfo, n, false);
  const OurRun binary1 = TimeLaredo(conninfo, n, true);
  const OurRun binary = faster(binary1, TimeLaredo(conninfo, n, true));
  const OurRun text = faster(text1, TimeLaredo(conninfo, n, false));
  const double copy2_s = TimeCopy(conninfo);
  const double copy_s = std::min(copy1_s, copy2_s);
  std::printf(
      "psql COPY:     %.0f rows/s (%.2f s before, %.2f s after laredo; the faster counts)\n",
      rows / copy_s, copy1_s, copy2_s);
  for (const auto* run : {&text, &binary}) {
    const char* name = run == &text ? "text COPY:  " : "binary COPY:";
    std::printf(
        "laredo %s %.0f rows/s (%.2f s, client CPU %.2f s, the faster of 2), %zu rows in the "
        "target\n",
        name, rows / run->seconds, run->seconds, run->cpu_seconds, run->rows);
    std::printf("            (connect + slot + snapshot %.2f s; reading the table %.0f rows/s)\n",
                run->seconds - run->copy_phase_seconds, rows / run->copy_phase_seconds);
    std::printf("            target memory %.0f bytes/row (MemoryUsage), RSS +%.0f bytes/row\n",
                run->memory_per_row, run->rss_per_row);
  }
  std::printf("ratio laredo text COPY / psql COPY:   %.2fx (goal >= 1.5x)\n",
              copy_s / text.seconds);
  std::printf("ratio laredo binary COPY / psql COPY: %.2fx (goal >= 1.5x)\n",
              copy_s / binary.seconds);
  const double reload_s = TimeReload(conninfo, n);
  std::printf("ratio laredo reload / laredo binary COPY baseline: %.2fx; / psql COPY: %.2fx\n",
              binary.seconds / reload_s, copy_s / reload_s);
  const double add_s = TimeAdd(conninfo, conn, n);
  std::printf("ratio laredo add table / laredo binary COPY baseline: %.2fx; / psql COPY: %.2fx\n",
              binary.seconds / add_s, copy_s / add_s);
  conn.Exec("DROP PUBLICATION IF EXISTS " + std::string(kPublication));
  const auto expected = static_cast<std::size_t>(n);
  return text.rows == expected && binary.rows == expected ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return RunBench(bench::CountArg(argc, argv, 1, 1'000'000));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "pg_baseline: %s\n", e.what());
    return 1;
  }
}
