// Baseline throughput from S3 (s3rver): laredo::kinesis::Source alone vs Source -> Engine ->
// IndexedTarget on the same snapshot.
//
//   laredo_bench_s3_baseline [N [ROUNDS]]   (default 1,000,000, 3)
//
// Uses the servers of LAREDO_KINESIS_ENDPOINT and LAREDO_S3_ENDPOINT (tests/kinesis/servers.sh),
// or starts throwaway ones. Before any clock runs it uploads a snapshot of N rows of the bench
// table (bench_rows.hpp) split over 8 JSON-Lines objects, and creates the 1-shard stream the
// manifest names (the engine validates that it exists; it stays empty). Each round then reads the
// snapshot twice:
//  (a) source only: Source::Baseline, counting the rows in the callback (Init excluded);
//  (b) laredo: from Engine::Start until Engine::AwaitReady, i.e. every row applied to the
//      IndexedTarget.
// The medians over the rounds are the figures.
#include <algorithm>
#include <cstdio>
#include <stop_token>

#include "kinesis_bench_util.hpp"
#include "laredo/laredo.hpp"

namespace {

using namespace std::chrono_literals;
namespace bench = laredo::bench;

constexpr std::int64_t kObjects = 8;

// Objects of consecutive ids, each built in memory and uploaded whole, then the manifest.
void Upload(bench::AwsBench& aws, std::int64_t n) {
  const auto start = bench::Clock::now();
  const std::int64_t objects = std::min(kObjects, n);
  const std::int64_t per_object = (n + objects - 1) / objects;
  nlohmann::json keys = nlohmann::json::array();
  std::size_t bytes = 0;
  for (std::int64_t o = 0; o < objects; ++o) {
    std::string text;
    for (std::int64_t id = o * per_object + 1; id <= std::min(n, (o + 1) * per_object); ++id) {
      text += bench::BenchRowJson(id).dump();
      text += '\n';
    }
    char key[64];
    std::snprintf(key, sizeof key, "%s/part-%05lld.jsonl", bench::kBenchTableName.c_str(),
                  static_cast<long long>(o));
    aws.s3_client().PutObject(aws.bucket(), std::string("snap/") + key, text);
    keys.push_back(key);
    bytes += text.size();
  }
  aws.PutManifest(keys);
  std::printf("uploaded %lld rows (%.0f bytes each) in %lld objects in %.1f s\n",
              static_cast<long long>(n), static_cast<double>(bytes) / static_cast<double>(n),
              static_cast<long long>(objects), bench::Seconds(bench::Clock::now() - start));
}

// (a) Source::Baseline alone; the callback only counts.
bench::Timing TimeSource(const bench::AwsBench& aws, std::int64_t n) {
  laredo::kinesis::Source source(aws.Options());
  source.Init(laredo::SourceConfig{.tables = {bench::kBenchTable}, .options = {}});
  std::int64_t rows = 0;
  const double cpu_before = bench::SelfCpuSeconds();
  const auto start = bench::Clock::now();
  source.Baseline(std::stop_token(), {bench::kBenchTable},
                  [&](const laredo::TableIdentifier&, const laredo::Row&) { ++rows; });
  const bench::Timing t{.seconds = bench::Seconds(bench::Clock::now() - start),
                        .cpu_seconds = bench::SelfCpuSeconds() - cpu_before};
  source.Close();
  if (rows != n) {
    throw std::runtime_error("the baseline delivered " + std::to_string(rows) + " of " +
                             std::to_string(n) + " rows");
  }
  std::printf("  source only: %.0f rows/s (%.2f s), client CPU %.2f s\n",
              static_cast<double>(n) / t.seconds, t.seconds, t.cpu_seconds);
  return t;
}

// Prints the engine's errors (a retried source error would otherwise only show as a slow run).
class ErrorPrinter final : public laredo::EngineObserver {
 public:
  void OnError(std::string_view component, std::string_view message, bool will_retry) override {
    std::fprintf(stderr, "error in %.*s%s: %.*s\n", static_cast<int>(component.size()),
                 component.data(), will_retry ? " (retrying)" : "",
                 static_cast<int>(message.size()), message.data());
  }
};

// (b) Source -> Engine -> IndexedTarget until the baseline is applied. Checks the row count.
bench::Timing TimeEngine(const bench::AwsBench& aws, std::int64_t n, bool first_round) {
  auto replica = std::make_shared<laredo::memory::IndexedTarget>();
  laredo::EngineOptions engine_options;
  engine_options.observers = {std::make_shared<ErrorPrinter>()};
  const std::int64_t rss_before = bench::ResidentBytes();
  const double cpu_before = bench::SelfCpuSeconds();
  laredo::Engine engine(engine_options);
  engine.AddSource("s3", std::make_shared<laredo::kinesis::Source>(aws.Options()));
  engine.AddPipeline("s3", bench::kBenchTable, replica);
  const auto start = bench::Clock::now();
  engine.Start();
  const bool ready = engine.AwaitReady(30min);
  const bench::Timing t{.seconds = bench::Seconds(bench::Clock::now() - start),
                        .cpu_seconds = bench::SelfCpuSeconds() - cpu_before};
  const std::int64_t rss_after = bench::ResidentBytes();
  if (!ready) {
    throw std::runtime_error("the baseline was not applied: " + std::to_string(replica->Count()) +
                             " of " + std::to_string(n) + " rows; " +
                             engine.SourceError("s3").value_or("no source error"));
  }
  engine.Stop();
  const auto rows = static_cast<double>(replica->Count());
  std::printf(
      "  laredo:      %.0f rows/s (%.2f s), client CPU %.2f s; target %.0f bytes/row "
      "(MemoryUsage), RSS +%.0f bytes/row%s\n",
      static_cast<double>(n) / t.seconds, t.seconds, t.cpu_seconds,
      static_cast<double>(replica->MemoryUsage()) / rows,
      static_cast<double>(rss_after - rss_before) / rows,
      first_round ? "" : " (the allocator reuses the previous round's memory)");
  if (replica->Count() != static_cast<std::size_t>(n)) {
    throw std::runtime_error("wrong result: " + std::to_string(replica->Count()) + " of " +
                             std::to_string(n) + " rows in the target");
  }
  return t;
}

int Run(std::int64_t n, int rounds) {
  bench::AwsBenchServers servers;
  bench::AwsBench aws(servers.env(), "baseline");
  aws.CreateStream(1);
  Upload(aws, n);

  std::vector<double> source_rates;
  std::vector<double> engine_rates;
  for (int r = 0; r < rounds; ++r) {
    std::printf("round %d of %d\n", r + 1, rounds);
    // Alternate who goes first, so that neither profits from the other warming the caches.
    bench::Timing source_only;
    bench::Timing through_engine;
    if (r % 2 == 0) {
      source_only = TimeSource(aws, n);
      through_engine = TimeEngine(aws, n, r == 0);
    } else {
      through_engine = TimeEngine(aws, n, false);
      source_only = TimeSource(aws, n);
    }
    source_rates.push_back(static_cast<double>(n) / source_only.seconds);
    engine_rates.push_back(static_cast<double>(n) / through_engine.seconds);
  }
  std::printf("source only: %.0f rows/s (median of %d)\n", bench::Median(source_rates), rounds);
  std::printf("laredo:      %.0f rows/s (median of %d), %.2fx of source only\n",
              bench::Median(engine_rates), rounds,
              bench::Median(engine_rates) / bench::Median(source_rates));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const auto rounds = static_cast<int>(bench::CountArg(argc, argv, 2, 3));
    return Run(bench::CountArg(argc, argv, 1, 1'000'000), rounds);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "s3_baseline: %s\n", e.what());
    return 1;
  }
}
