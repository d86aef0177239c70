// Streaming throughput from Kinesis (kinesalite): a bare GetRecords loop vs
// laredo::kinesis::Source -> Engine -> IndexedTarget on the same records.
//
//   laredo_bench_kinesis_stream [N [ROUNDS]]   (default 200,000, 3)
//
// Uses the servers of LAREDO_KINESIS_ENDPOINT and LAREDO_S3_ENDPOINT (tests/kinesis/servers.sh),
// or starts throwaway ones. Before any clock runs it creates a 4-shard stream, publishes an empty
// snapshot (the bench table with no objects and no stream_position, so every shard is read from
// TRIM_HORIZON and the baseline costs one GET of the manifest) and produces N inserts of the
// bench table (bench_rows.hpp) with PutRecords. A Kinesis stream can be read any number of
// times, so each round reads the same records twice, one consumer after the other:
//  (a) GetRecords loop: the internal client reads every shard to its end (the server's pace,
//      records not decoded);
//  (b) laredo: from Engine::Start until the last record is applied to the IndexedTarget and the
//      engine's ACK covering it is saved in a FileCheckpointStore.
// The medians over the rounds are the figures.
#include <any>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <optional>

#include "done_observer.hpp"
#include "kinesis_bench_util.hpp"
#include "laredo/laredo.hpp"

namespace {

using namespace std::chrono_literals;
using laredo::kinesis::StreamPosition;
namespace bench = laredo::bench;

constexpr int kShards = 4;
constexpr int kMaxRecordsPerCall = 10'000;  // GetRecords Limit of both consumers (Kinesis's max)

// PutRecords batches of 500 (the API's maximum), partition key table + primary key as the
// contract asks, so the records spread over the shards.
void Produce(bench::AwsBench& aws, std::int64_t n) {
  const auto start = bench::Clock::now();
  std::size_t bytes = 0;
  std::vector<std::pair<std::string, std::string>> batch;
  for (std::int64_t id = 1; id <= n; ++id) {
    const nlohmann::json record = {
        {"table", bench::kBenchTableName}, {"action", "insert"}, {"new", bench::BenchRowJson(id)}};
    batch.emplace_back(bench::kBenchTableName + ":" + std::to_string(id), record.dump());
    bytes += batch.back().second.size();
    if (batch.size() == 500 || id == n) {
      aws.kinesis_client().PutRecords(aws.stream(), batch);
      batch.clear();
    }
  }
  std::printf("produced %lld records (%.0f bytes each) into %d shards in %.1f s\n",
              static_cast<long long>(n), static_cast<double>(bytes) / static_cast<double>(n),
              kShards, bench::Seconds(bench::Clock::now() - start));
}

// (a) Every shard read to its end with bare GetRecords calls, one shard after the other.
bench::Timing TimeGetRecords(bench::AwsBench& aws, std::int64_t n) {
  auto& kinesis = aws.kinesis_client();
  const double cpu_before = bench::SelfCpuSeconds();
  const auto start = bench::Clock::now();
  std::int64_t records = 0;
  for (const auto& shard : kinesis.ListShards(aws.stream())) {
    std::optional<std::string> it =
        kinesis.GetShardIterator(aws.stream(), shard.shard_id, "TRIM_HORIZON", std::nullopt);
    while (it) {
      auto page = kinesis.GetRecords(*it, kMaxRecordsPerCall);
      // The shards stay open: an empty page means this one is read to its end.
      if (page.records.empty()) break;
      records += static_cast<std::int64_t>(page.records.size());
      it = page.next_shard_iterator;
    }
  }
  const bench::Timing t{.seconds = bench::Seconds(bench::Clock::now() - start),
                        .cpu_seconds = bench::SelfCpuSeconds() - cpu_before};
  if (records != n) {
    throw std::runtime_error("GetRecords loop read " + std::to_string(records) + " of " +
                             std::to_string(n) + " records");
  }
  std::printf("  GetRecords loop: %.0f records/s (%.2f s), client CPU %.2f s\n",
              static_cast<double>(n) / t.seconds, t.seconds, t.cpu_seconds);
  return t;
}

// (b) laredo from engine start until the last record is applied and its ACK saved. Checks the
// result: every row in the target, the checkpoint covering the last record, nothing malformed.
bench::Timing TimeLaredo(const bench::AwsBench& aws, const std::filesystem::path& checkpoint,
                         std::int64_t n, bool first_round) {
  const auto changes = static_cast<std::uint64_t>(n);
  auto options = aws.Options();
  // kinesalite has no per-shard read limit and the GetRecords loop does not wait either; a
  // caught-up shard is polled again soon so that the tail does not add a second of idling.
  options.min_get_records_interval = 0ms;
  options.poll_interval = 5ms;
  options.max_records_per_call = kMaxRecordsPerCall;
  auto store = std::make_shared<laredo::kinesis::FileCheckpointStore>(checkpoint);
  options.checkpoint_store = store;
  auto source = std::make_shared<laredo::kinesis::Source>(options);
  auto replica = std::make_shared<laredo::memory::IndexedTarget>();
  auto observer = std::make_shared<bench::DoneObserver<StreamPosition>>(
      changes, [](const StreamPosition& acked, const StreamPosition& last) {
        return StreamPosition::Covers(acked, last);
      });
  laredo::EngineOptions engine_options;
  engine_options.ack_interval = 50ms;  // adds at most 50 ms to the measured time
  engine_options.observers = {observer};

  const std::int64_t rss_before = bench::ResidentBytes();
  const double cpu_before = bench::SelfCpuSeconds();
  laredo::Engine engine(engine_options);
  engine.AddSource("kinesis", source);
  engine.AddPipeline("kinesis", bench::kBenchTable, replica);
  const auto start = bench::Clock::now();
  engine.Start();
  const auto done = observer->AwaitDone(30min);
  const std::optional<StreamPosition> last =
      done ? std::optional<StreamPosition>(done->second) : std::nullopt;
  const auto end = bench::Clock::now();
  const bench::Timing t{.seconds = bench::Seconds(end - start),
                        .cpu_seconds = bench::SelfCpuSeconds() - cpu_before};
  const std::int64_t rss_after = bench::ResidentBytes();
  if (!last) {
    throw std::runtime_error("laredo did not finish: " + std::to_string(observer->applied()) +
                             " of " + std::to_string(changes) + " records applied; " +
                             engine.SourceError("kinesis").value_or("no source error"));
  }
  engine.Stop();
  bench::PrintRun("laredo:         ", "records", changes, t, *observer, start, end, *replica,
                  rss_before, rss_after, first_round);
  const auto saved = store->Load();
  if (replica->Count() != static_cast<std::size_t>(n) || !saved ||
      !StreamPosition::Covers(*saved, *last) || source->MalformedRecords() != 0) {
    throw std::runtime_error("wrong result: " + std::to_string(replica->Count()) + " rows, " +
                             std::to_string(source->MalformedRecords()) +
                             " malformed records, last record at " + last->ToString() +
                             ", checkpoint " + (saved ? saved->ToString() : std::string("none")));
  }
  return t;
}

int Run(std::int64_t n, int rounds) {
  bench::AwsBenchServers servers;
  bench::AwsBench aws(servers.env(), "stream");
  aws.CreateStream(kShards);
  aws.PutManifest(nlohmann::json::array());
  Produce(aws, n);

  // One checkpoint file per round: each round starts from the empty snapshot again.
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("laredo-bench-kinesis-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  struct RemoveDir {
    const std::filesystem::path& path;
    ~RemoveDir() {
      std::error_code ignored;
      std::filesystem::remove_all(path, ignored);
    }
  } remove_dir{dir};

  std::vector<double> raw_rates;
  std::vector<double> our_rates;
  std::vector<double> ratios;
  for (int r = 0; r < rounds; ++r) {
    std::printf("round %d of %d\n", r + 1, rounds);
    const auto checkpoint = dir / ("round-" + std::to_string(r) + ".ckpt");
    // Alternate who goes first, so that neither profits from the other warming the caches.
    bench::Timing raw;
    bench::Timing ours;
    if (r % 2 == 0) {
      raw = TimeGetRecords(aws, n);
      ours = TimeLaredo(aws, checkpoint, n, r == 0);
    } else {
      ours = TimeLaredo(aws, checkpoint, n, false);
      raw = TimeGetRecords(aws, n);
    }
    raw_rates.push_back(static_cast<double>(n) / raw.seconds);
    our_rates.push_back(static_cast<double>(n) / ours.seconds);
    ratios.push_back(raw.seconds / ours.seconds);
    std::printf("  ratio %.2fx\n", ratios.back());
  }
  std::printf("GetRecords loop: %.0f records/s (median of %d)\n", bench::Median(raw_rates), rounds);
  std::printf("laredo:          %.0f records/s (median of %d)\n", bench::Median(our_rates), rounds);
  std::printf("ratio laredo / GetRecords loop: %.2fx median, %.2fx .. %.2fx\n",
              bench::Median(ratios), *std::min_element(ratios.begin(), ratios.end()),
              *std::max_element(ratios.begin(), ratios.end()));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const auto rounds = static_cast<int>(bench::CountArg(argc, argv, 2, 3));
    return Run(bench::CountArg(argc, argv, 1, 200'000), rounds);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "kinesis_stream: %s\n", e.what());
    return 1;
  }
}
