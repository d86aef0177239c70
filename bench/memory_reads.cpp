// Read latency of the indexed in-memory target holding 1,000,000 rows of the benchmark table:
// `Get` by primary key, `Lookup` on a unique index (b, the 100-byte text) and on a non-unique one
// (a, 1,000 rows per value). Keys are visited in a scattered order so that the figures include the
// cache misses of a replica larger than the caches, as a service's readers see them.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <vector>

#include "bench_rows.hpp"
#include "laredo/laredo.hpp"

namespace {

using laredo::bench::BenchColumns;
using laredo::bench::BenchRows;

// LAREDO_BENCH_ROWS overrides the row count.
const std::int64_t kRows = [] {
  const char* env = std::getenv("LAREDO_BENCH_ROWS");
  return env != nullptr ? std::atoll(env) : 1'000'000;
}();

// Built once for every benchmark of this program; the rows never change while they run.
const laredo::memory::IndexedTarget& Replica() {
  static const auto replica = [] {
    auto target =
        std::make_unique<laredo::memory::IndexedTarget>(laredo::memory::IndexedTargetOptions{
            .indexes = {
                {.name = "by_b", .columns = {"b"}, .unique = true},
                {.name = "by_a", .columns = {"a"}, .unique = false},
            }});
    const auto table = laredo::Table("public", "bench");
    const BenchRows rows;
    target->OnInit(table, BenchColumns());
    for (std::int64_t i = 0; i < kRows; ++i) target->OnBaselineRow(table, rows.Make(i));
    target->OnBaselineComplete(table);
    return target;
  }();
  return *replica;
}

// A fixed scattered visiting order (a multiplicative step coprime with the row count).
std::int64_t Scattered(std::int64_t i) { return (i * 7'919 + 13) % kRows; }

void BM_Get(benchmark::State& state) {
  const auto& replica = Replica();
  std::int64_t i = 0;
  for (auto _ : state) {
    auto row = replica.Get({laredo::Value(Scattered(i++))});
    benchmark::DoNotOptimize(row);
  }
}
BENCHMARK(BM_Get);

void BM_GetMissing(benchmark::State& state) {
  const auto& replica = Replica();
  std::int64_t i = 0;
  for (auto _ : state) {
    auto row = replica.Get({laredo::Value(kRows + Scattered(i++))});
    benchmark::DoNotOptimize(row);
  }
}
BENCHMARK(BM_GetMissing);

void BM_LookupUnique(benchmark::State& state) {
  const auto& replica = Replica();
  const BenchRows rows;
  std::vector<laredo::Value> keys;
  for (std::int64_t i = 0; i < 4096; ++i) keys.push_back(rows.Make(Scattered(i)).at("b"));
  std::size_t i = 0;
  for (auto _ : state) {
    auto row = replica.Lookup("by_b", {keys[i++ % keys.size()]});
    benchmark::DoNotOptimize(row);
  }
}
BENCHMARK(BM_LookupUnique);

void BM_LookupNonUnique(benchmark::State& state) {
  const auto& replica = Replica();
  std::int64_t i = 0;
  for (auto _ : state) {
    auto row = replica.Lookup("by_a", {laredo::Value(Scattered(i++) % 1000)});
    benchmark::DoNotOptimize(row);
  }
}
BENCHMARK(BM_LookupNonUnique);

}  // namespace

BENCHMARK_MAIN();
