// Publisher throughput into Kinesis (kinesalite): laredo::kinesis::Publisher against the AWS SDK
// for JavaScript's own PutRecords loop (tests/kinesis/servers/put_records_loop.mjs) writing the
// same records, in the same run.
//
//   laredo_bench_kinesis_publisher [N [ROUNDS]]   (default 100,000 inserts, 3 rounds)
//
// Uses the servers of LAREDO_KINESIS_ENDPOINT and LAREDO_S3_ENDPOINT (tests/kinesis/servers.sh),
// or starts throwaway ones. Each round writes N inserts of the bench table (bench_rows.hpp) twice,
// each time to a fresh 4-shard stream, in alternating order:
//  (a) the SDK loop, 4 requests in flight (the publisher's default max_in_flight), 500 records per
//      request, failed entries sent again; it keeps no per-key order, so it is an upper bound;
//  (b) the publisher, driven as the engine drives a target (OnChanges in batches of 256), from
//      the first change until Flush says Kinesis acknowledged the last record.
// Records and bytes are the same: the file for (a) is the publisher's own encoding
// (record_encoder.hpp). The medians over the rounds are the figures.
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>

#include "base64.hpp"
#include "bench_rows.hpp"
#include "kinesis_bench_util.hpp"
#include "laredo/kinesis/publisher.hpp"
#include "record_encoder.hpp"

namespace {

using namespace std::chrono_literals;
namespace bench = laredo::bench;

struct Figures {
  double seconds = 0;
  double records = 0;
  double bytes = 0;
};

// Writes the records of `rows` as the publisher encodes them; returns their count and bytes.
Figures WriteRecordFile(const std::vector<laredo::Row>& rows, const std::string& path) {
  const laredo::kinesis::contract::RecordEncoder encoder(bench::kBenchTable, bench::BenchColumns(),
                                                         false);
  std::ofstream out(path, std::ios::trunc);
  Figures f;
  std::vector<laredo::kinesis::contract::EncodedRecord> records;
  laredo::ChangeEvent event;
  for (const auto& row : rows) {
    records.clear();
    encoder.Encode({.action = laredo::ChangeAction::Insert,
                    .row = &row,
                    .identity = nullptr,
                    .event = &event,
                    .ticket = 0},
                   records);
    for (const auto& r : records) {
      out << nlohmann::json{{"k", r.partition_key}, {"d", laredo::kinesis::base64::Encode(r.data)}}
                 .dump()
          << '\n';
      f.records += 1;
      f.bytes += static_cast<double>(r.Bytes());
    }
  }
  return f;
}

Figures RunSdkLoop(const bench::AwsBenchEnv& env, const std::string& stream,
                   const std::string& file) {
  // The SDK reads its credentials from the environment, not from the command line. The bench's
  // own threads (a publisher's senders) have stopped when this runs.
  // NOLINTBEGIN(concurrency-mt-unsafe)
  ::setenv("AWS_ACCESS_KEY_ID", env.credentials.access_key_id.c_str(), 1);
  ::setenv("AWS_SECRET_ACCESS_KEY", env.credentials.secret_access_key.c_str(), 1);
  ::setenv("AWS_REGION", env.region.c_str(), 1);
  // NOLINTEND(concurrency-mt-unsafe)
  const std::string cmd = "node " + std::string(LAREDO_SOURCE_DIR) +
                          "/tests/kinesis/servers/put_records_loop.mjs '" + env.kinesis_endpoint +
                          "' '" + stream + "' '" + file + "' 4";
  FILE* out = ::popen(cmd.c_str(), "r");
  if (out == nullptr) throw std::runtime_error("cannot run node");
  std::string text;
  char buf[512];
  while (std::fgets(buf, sizeof buf, out) != nullptr) text += buf;
  if (::pclose(out) != 0) throw std::runtime_error("the SDK loop failed: " + text);
  const auto j = nlohmann::json::parse(text);
  return {.seconds = j.at("seconds").get<double>(),
          .records = j.at("records").get<double>(),
          .bytes = j.at("bytes").get<double>()};
}

Figures RunPublisher(const bench::AwsBenchEnv& env, const std::string& stream,
                     const std::vector<laredo::Row>& rows, const Figures& expected) {
  laredo::kinesis::PublisherOptions options;
  options.stream_name = stream;
  options.region = env.region;
  options.endpoint = env.kinesis_endpoint;
  options.credentials = env.credentials;
  laredo::kinesis::Publisher publisher(options);
  publisher.OnInit(bench::kBenchTable, bench::BenchColumns());
  laredo::ChangeEvent event;
  event.table = bench::kBenchTable;
  std::vector<laredo::TargetChange> batch;
  constexpr std::size_t kBatch = 256;
  std::uint64_t ticket = 0;
  const auto start = bench::Clock::now();
  for (std::size_t i = 0; i < rows.size(); i += kBatch) {
    batch.clear();
    for (std::size_t j = i; j < std::min(rows.size(), i + kBatch); ++j) {
      batch.push_back({.action = laredo::ChangeAction::Insert,
                       .row = &rows[j],
                       .identity = nullptr,
                       .event = &event,
                       .ticket = ++ticket});
    }
    publisher.OnChanges(bench::kBenchTable, batch);
  }
  if (!publisher.Flush(10min)) throw std::runtime_error("the publisher did not flush");
  const double seconds = bench::Seconds(bench::Clock::now() - start);
  const auto stats = publisher.GetStats();
  if (static_cast<double>(stats.records_written) != expected.records) {
    throw std::runtime_error("the publisher wrote " + std::to_string(stats.records_written) +
                             " records");
  }
  return {.seconds = seconds, .records = expected.records, .bytes = expected.bytes};
}

}  // namespace

int main(int argc, char** argv) {
  const auto n = bench::CountArg(argc, argv, 1, 100'000);
  const auto rounds = bench::CountArg(argc, argv, 2, 3);
  bench::AwsBenchServers servers;
  const auto& env = servers.env();
  const bench::BenchRows make;
  std::vector<laredo::Row> rows;
  rows.reserve(static_cast<std::size_t>(n));
  for (std::int64_t id = 1; id <= n; ++id) rows.push_back(make.Make(id));
  const std::string file = "/tmp/laredo-bench-publisher-" + std::to_string(getpid()) + ".jsonl";
  const auto expected = WriteRecordFile(rows, file);
  std::printf("%lld inserts -> %.0f records, %.1f MB; load: ", static_cast<long long>(n),
              expected.records, expected.bytes / 1e6);
  std::fflush(stdout);
  std::system("cut -d' ' -f1-3 /proc/loadavg");  // NOLINT(concurrency-mt-unsafe)
  std::vector<double> sdk_rate;
  std::vector<double> ours_rate;
  std::vector<double> ratio;
  for (std::int64_t round = 0; round < rounds; ++round) {
    Figures sdk;
    Figures ours;
    for (int k = 0; k < 2; ++k) {
      const bool sdk_turn = (round + k) % 2 == 0;
      bench::AwsBench target(env, (sdk_turn ? "sdk-" : "pub-") + std::to_string(round));
      target.CreateStream(4);
      if (sdk_turn) {
        sdk = RunSdkLoop(env, target.stream(), file);
      } else {
        ours = RunPublisher(env, target.stream(), rows, expected);
      }
    }
    sdk_rate.push_back(sdk.records / sdk.seconds);
    ours_rate.push_back(ours.records / ours.seconds);
    ratio.push_back(sdk.seconds / ours.seconds);
    std::printf(
        "round %lld: SDK loop %.0f records/s (%.1f MB/s), publisher %.0f records/s "
        "(%.1f MB/s), ratio %.2fx\n",
        static_cast<long long>(round) + 1, sdk.records / sdk.seconds, sdk.bytes / sdk.seconds / 1e6,
        ours.records / ours.seconds, ours.bytes / ours.seconds / 1e6, sdk.seconds / ours.seconds);
  }
  std::remove(file.c_str());
  std::printf(
      "median: SDK loop %.0f records/s, publisher %.0f records/s, ratio publisher / SDK "
      "%.2fx\n",
      bench::Median(sdk_rate), bench::Median(ours_rate), bench::Median(ratio));
  return 0;
}
