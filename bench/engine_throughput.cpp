// Engine throughput: TestSource -> Engine -> IndexedTarget, every change applied and ACKed.
// Changes are emitted while the source is paused; the clock runs from Resume to the ACK of the
// last change, so it measures the source's stream loop, the demultiplexer, the buffers, the
// target writes and the ACK path.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include "bench_rows.hpp"
#include "laredo/laredo.hpp"
#include "laredo/snapshot/local_directory_store.hpp"
#include "laredo/testsource/test_source.hpp"

namespace {

using namespace std::chrono_literals;
using laredo::bench::BenchColumns;
using laredo::bench::BenchRows;

// LAREDO_BENCH_CHANGES overrides the count (e.g. smaller for profiling under valgrind).
const std::int64_t kChanges = [] {
  const char* env = std::getenv("LAREDO_BENCH_CHANGES");
  return env != nullptr ? std::atoll(env) : 1'000'000;
}();

// tables: how many tables (one pipeline each); fanout: pipelines per table. snapshot_every: when
// set, snapshots are on and a thread takes one at this interval while the changes stream (the
// ACK then waits for a snapshot after the last change: the ACK rule).
void RunEngine(benchmark::State& state, int tables, int fanout,
               std::chrono::milliseconds snapshot_every = 0ms) {
  laredo::SetLogger(nullptr);
  const BenchRows rows;
  for (auto _ : state) {
    auto source = std::make_shared<laredo::testsource::TestSource>();
    std::vector<laredo::TableIdentifier> ids;
    for (int t = 0; t < tables; ++t) {
      ids.push_back(laredo::Table("public", "bench" + std::to_string(t)));
      source->SetSchema(ids.back(), BenchColumns());
    }
    laredo::EngineOptions options;
    options.ack_interval = 10ms;
    const auto dir = std::filesystem::temp_directory_path() /
                     ("laredo-bench-snapshots-" + std::to_string(::getpid()));
    if (snapshot_every > 0ms) {
      std::filesystem::remove_all(dir);
      options.snapshots = {.store = std::make_shared<laredo::snapshot::LocalDirectoryStore>(
                               laredo::snapshot::LocalDirectoryStoreOptions{.directory = dir}),
                           .interval = 0ms,
                           .on_shutdown = false,
                           .restore_at_start = false,
                           .keep = 1};
    }
    laredo::Engine engine(options);
    engine.AddSource("bench", source);
    std::vector<std::shared_ptr<laredo::memory::IndexedTarget>> targets;
    for (const auto& id : ids) {
      for (int f = 0; f < fanout; ++f) {
        targets.push_back(std::make_shared<laredo::memory::IndexedTarget>());
        engine.AddPipeline("bench", id, targets.back());
      }
    }
    engine.Start();
    if (!engine.AwaitReady(60s)) state.SkipWithError("engine not ready");
    engine.Pause("bench");
    std::uint64_t last = 0;
    for (std::int64_t i = 0; i < kChanges; ++i) {
      const auto& table = ids[static_cast<std::size_t>(i % tables)];
      last = (i < kChanges / 2) ? source->EmitInsert(table, rows.Make(i))
                                : source->EmitUpdate(table, rows.Make(i - kChanges / 2, 1),
                                                     rows.Key(i - kChanges / 2));
    }
    const auto start = std::chrono::steady_clock::now();
    engine.Resume("bench");
    std::atomic<bool> done{false};
    std::atomic<int> snapshots{0};
    std::jthread snapshotter;
    if (snapshot_every > 0ms) {
      snapshotter = std::jthread([&] {
        while (!done.load()) {
          std::this_thread::sleep_for(snapshot_every);
          try {
            engine.CreateSnapshot();
            snapshots.fetch_add(1);
          } catch (const std::exception&) {
          }
        }
      });
    }
    // With snapshots the clock stops when the last change is applied: the ACK then waits for the
    // next snapshot (the ACK rule), reported apart as ack_wait_ms.
    if (snapshot_every > 0ms &&
        !engine.AwaitApplied("bench", laredo::Position(last), std::chrono::seconds(600))) {
      state.SkipWithError("the last change was not applied");
    }
    const auto applied = std::chrono::steady_clock::now();
    if (!source->AwaitAck(last, 600s)) state.SkipWithError("ACK did not arrive");
    const auto acked = std::chrono::steady_clock::now();
    done = true;
    if (snapshotter.joinable()) snapshotter.join();
    state.SetIterationTime(
        std::chrono::duration<double>((snapshot_every > 0ms ? applied : acked) - start).count());
    state.counters["snapshots"] = snapshots.load();
    if (snapshot_every > 0ms) {
      state.counters["ack_wait_ms"] =
          std::chrono::duration<double, std::milli>(acked - applied).count();
    }
    engine.Stop();
    std::filesystem::remove_all(dir);
    std::size_t total = 0;
    for (const auto& t : targets) total += t->Count();
    if (total != static_cast<std::size_t>(kChanges / 2 * fanout)) {
      state.SkipWithError("target row count is wrong");
    }
  }
  state.SetItemsProcessed(state.iterations() * kChanges);
  state.counters["changes_per_s"] = benchmark::Counter(
      static_cast<double>(kChanges), benchmark::Counter::kIsIterationInvariantRate);
}

void BM_OnePipeline(benchmark::State& state) { RunEngine(state, 1, 1); }
void BM_FourTablesFourPipelines(benchmark::State& state) { RunEngine(state, 4, 1); }
void BM_OneTableFanOutToFour(benchmark::State& state) { RunEngine(state, 1, 4); }
// The same stream as BM_OnePipeline with a snapshot of the growing target every 100 ms.
void BM_OnePipelineSnapshotEvery100ms(benchmark::State& state) { RunEngine(state, 1, 1, 100ms); }

BENCHMARK(BM_OnePipeline)->UseManualTime()->Iterations(2)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_FourTablesFourPipelines)
    ->UseManualTime()
    ->Iterations(2)
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_OneTableFanOutToFour)->UseManualTime()->Iterations(2)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_OnePipelineSnapshotEvery100ms)
    ->UseManualTime()
    ->Iterations(2)
    ->Unit(benchmark::kMillisecond);

// The target alone, to separate its cost from the engine's.
void BM_IndexedTargetInsert(benchmark::State& state) {
  const BenchRows rows;
  const auto table = laredo::Table("public", "bench");
  std::vector<laredo::Row> prepared;
  for (std::int64_t i = 0; i < 100'000; ++i) prepared.push_back(rows.Make(i));
  for (auto _ : state) {
    laredo::memory::IndexedTarget target;
    target.OnInit(table, BenchColumns());
    for (const auto& row : prepared) target.OnInsert(table, row);
    benchmark::DoNotOptimize(target.Count());
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(prepared.size()));
}
BENCHMARK(BM_IndexedTargetInsert)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
