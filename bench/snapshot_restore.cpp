// Snapshot export and restore of an IndexedTarget holding the bench table, through the local
// directory store, against filling the same target by inserting the same rows (and, with
// LAREDO_PG_CONNINFO set, against a PostgreSQL baseline of the same table).
//
//   laredo_bench_snapshot_restore [N] [DIR]    (default N = 1,000,000; DIR a temporary directory)
//
// Each phase runs three times; the medians are printed. The restore reads a file the export just
// wrote, so it comes from the page cache: this measures the library, not the disk.
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "bench_rows.hpp"
#include "bench_util.hpp"
#include "laredo/laredo.hpp"
#include "laredo/snapshot/local_directory_store.hpp"
#ifdef LAREDO_BENCH_WITH_PG
#include "laredo/pg/source.hpp"
#include "pg_bench_util.hpp"
#endif

namespace {

namespace bench = laredo::bench;
namespace snapshot = laredo::snapshot;
using laredo::memory::IndexedTarget;

const laredo::TableIdentifier kTable = laredo::Table("public", "bench");

struct Phase {
  double seconds = 0;
  std::uint64_t bytes = 0;
};

template <typename Fn>
double Time(Fn&& fn) {
  const auto start = bench::Clock::now();
  fn();
  return bench::Seconds(bench::Clock::now() - start);
}

Phase Export(const IndexedTarget& target, snapshot::SnapshotStore& store) {
  Phase p;
  p.seconds = Time([&] {
    auto writer = store.Begin();
    writer->AddSource("main", "0/0");
    auto table = writer->BeginTable(kTable, target.ExportColumns(kTable));
    target.Export(kTable, *table);
    table->Finish();
    p.bytes = writer->Commit().FindTable(kTable)->bytes;
  });
  return p;
}

/// Reading and checking the file into rows, without a target: what a restore costs before the
/// target's inserts.
double ReadOnly(snapshot::SnapshotStore& store) {
  return Time([&] {
    auto reader = store.OpenNewest()->OpenTable(kTable);
    laredo::Row row;
    while (reader->Next(row)) {
    }
  });
}

/// The same in the bulk path's form (values as views of the file's bytes, no `Value`s).
double ReadRawOnly(snapshot::SnapshotStore& store) {
  return Time([&] {
    auto reader = store.OpenNewest()->OpenTable(kTable);
    std::vector<std::string_view> columns;
    while (reader->NextRaw(columns) != snapshot::TableFileReader::Raw::End) {
    }
  });
}

double Restore(IndexedTarget& target, snapshot::SnapshotStore& store) {
  return Time([&] {
    auto reader = store.OpenNewest()->OpenTable(kTable);
    target.Restore(kTable, reader->columns(), *reader);
  });
}

void Print(const char* what, double rows, double seconds, std::uint64_t bytes) {
  std::printf("%-22s %9.0f rows/s  %7.1f MB/s  (%.3f s)\n", what, rows / seconds,
              static_cast<double>(bytes) / 1e6 / seconds, seconds);
}

/// Export then restore `source` three times each; returns the median restore seconds.
double ExportAndRestore(const IndexedTarget& source, snapshot::SnapshotStore& store, double rows,
                        const char* label) {
  std::vector<double> exports;
  std::vector<double> restores;
  std::vector<double> reads;
  std::vector<double> raw_reads;
  std::uint64_t bytes = 0;
  for (int run = 0; run < 3; ++run) {
    const Phase p = Export(source, store);
    exports.push_back(p.seconds);
    bytes = p.bytes;
    store.Prune(1);
    reads.push_back(ReadOnly(store));
    raw_reads.push_back(ReadRawOnly(store));
    IndexedTarget restored;
    restores.push_back(Restore(restored, store));
    if (restored.Count() != source.Count()) throw std::runtime_error("restore lost rows");
  }
  std::printf("%s: file %.1f MB (%.1f bytes/row)\n", label, static_cast<double>(bytes) / 1e6,
              static_cast<double>(bytes) / rows);
  Print("  export", rows, bench::Median(exports), bytes);
  Print("  read into Rows", rows, bench::Median(reads), bytes);
  Print("  read, bulk form", rows, bench::Median(raw_reads), bytes);
  Print("  restore", rows, bench::Median(restores), bytes);
  return bench::Median(restores);
}

#ifdef LAREDO_BENCH_WITH_PG
/// A PostgreSQL baseline of `n` rows of the bench table into `target`; returns its seconds.
double PgBaseline(const std::string& conninfo, std::int64_t n,
                  std::shared_ptr<IndexedTarget> target) {
  const bench::PgConn conn(conninfo);
  bench::CreateBenchTable(conn);
  bench::InsertBenchRows(conn, n);
  conn.Exec("VACUUM (FREEZE, ANALYZE) bench");
  laredo::Engine engine;
  engine.AddSource("pg", std::make_shared<laredo::pg::Source>(laredo::pg::SourceOptions{
                             .conninfo = conninfo,
                             .slot_mode = laredo::pg::SlotMode::Ephemeral,
                             .publication_name = "laredo_bench_snapshot_pub",
                         }));
  engine.AddPipeline("pg", kTable, target);
  const auto start = bench::Clock::now();
  engine.Start();
  if (!engine.AwaitReady(std::chrono::minutes(30))) {
    throw std::runtime_error("baseline did not complete: " +
                             engine.SourceError("pg").value_or("no source error"));
  }
  const double seconds = bench::Seconds(bench::Clock::now() - start);
  engine.Stop();
  conn.Exec("DROP PUBLICATION IF EXISTS laredo_bench_snapshot_pub");
  return seconds;
}
#endif

int Run(std::int64_t n, const std::filesystem::path& dir) {
  const auto rows = static_cast<double>(n);
  const bench::BenchRows make;
  std::vector<laredo::Row> input;
  input.reserve(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) input.push_back(make.Make(i));

  // Inserting the same rows into the target alone (as a baseline does, without an engine).
  std::vector<double> inserts;
  IndexedTarget source;
  for (int run = 0; run < 3; ++run) {
    IndexedTarget target;
    inserts.push_back(Time([&] {
      target.OnInit(kTable, bench::BenchColumns());
      target.OnBaselineBegin(kTable, bench::BenchColumns());
      for (const auto& row : input) target.OnBaselineRow(kTable, row);
      target.OnBaselineComplete(kTable);
    }));
    if (run == 2) {
      source.OnInit(kTable, bench::BenchColumns());
      source.OnBaselineBegin(kTable, bench::BenchColumns());
      for (const auto& row : input) source.OnBaselineRow(kTable, row);
      source.OnBaselineComplete(kTable);
    }
  }
  input = {};
  std::printf("rows: %lld, load %.2f\n", static_cast<long long>(n), [] {
    double load = 0;
    if (FILE* f = std::fopen("/proc/loadavg", "r")) {
      if (std::fscanf(f, "%lf", &load) != 1) load = 0;
      std::fclose(f);
    }
    return load;
  }());
  const double insert_s = bench::Median(inserts);
  std::printf("%-22s %9.0f rows/s             (%.3f s)\n", "insert into target", rows / insert_s,
              insert_s);

  snapshot::LocalDirectoryStore store({.directory = dir});
  const double restore_s = ExportAndRestore(source, store, rows, "bench rows");
  std::printf("restore rate / insert rate: %.2fx\n", insert_s / restore_s);

  const char* conninfo = std::getenv("LAREDO_PG_CONNINFO");  // NOLINT(concurrency-mt-unsafe)
  if (conninfo == nullptr || *conninfo == '\0') {
    std::printf("(no LAREDO_PG_CONNINFO: no PostgreSQL baseline)\n");
    return 0;
  }
#ifdef LAREDO_BENCH_WITH_PG
  auto from_pg = std::make_shared<IndexedTarget>();
  const double baseline_s = PgBaseline(conninfo, n, from_pg);
  std::printf("%-22s %9.0f rows/s             (%.3f s, connect and slot included)\n",
              "PostgreSQL baseline", rows / baseline_s, baseline_s);
  snapshot::LocalDirectoryStore pg_store({.directory = dir / "pg"});
  const double pg_restore_s = ExportAndRestore(*from_pg, pg_store, rows, "PostgreSQL rows");
  std::printf("restore rate / PostgreSQL baseline rate: %.2fx (goal >= 5x)\n",
              baseline_s / pg_restore_s);
#else
  std::printf("(built without laredo::pg: no PostgreSQL baseline)\n");
#endif
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const std::int64_t n = bench::CountArg(argc, argv, 1, 1'000'000);
    const std::filesystem::path dir =
        argc > 2 ? std::filesystem::path(argv[2])
                 : std::filesystem::temp_directory_path() /
                       ("laredo-bench-snapshot-" + std::to_string(::getpid()));
    const int rc = Run(n, dir);
    if (argc <= 2) std::filesystem::remove_all(dir);
    return rc;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "snapshot_restore: %s\n", e.what());
    return 1;
  }
}
