// Commit-to-consumer latency through the Kinesis publisher, against the direct path in the same
// run: a writer commits single-row transactions at a steady rate, each row carrying the client's
// CLOCK_REALTIME just before its INSERT was sent, and two pipelines see every one of them:
//   (a) PostgreSQL -> pg::Source -> Publisher -> kinesalite -> kinesis::Source -> IndexedTarget
//   (b) PostgreSQL -> pg::Source -> IndexedTarget (its own slot): the peer, as pg_latency measures
// Each target's listener computes now - sent when the row arrives.
//
//   laredo_bench_kinesis_e2e_latency [SECONDS [RATE [POLL_MS]]]   (default 10 s, 1,000/s, 200 ms)
//
// POLL_MS is the consumer's poll_interval and min_get_records_interval: 200 ms is the most a
// consumer may poll a shard on AWS (5 GetRecords per second); smaller values are for kinesalite
// only and show what the pipeline adds without that wait. The stream has one shard. Uses
// LAREDO_PG_CONNINFO and LAREDO_KINESIS_ENDPOINT / LAREDO_S3_ENDPOINT, or throwaway servers.
#include <time.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <mutex>
#include <thread>

#include "kinesis_bench_util.hpp"
#include "laredo/kinesis/publisher.hpp"
#include "laredo/laredo.hpp"
#include "laredo/pg/source.hpp"
#include "pg_bench_util.hpp"

namespace {

using namespace std::chrono_literals;
namespace bench = laredo::bench;

const laredo::TableIdentifier kTable = laredo::Table("public", "bench_e2e_latency");

/// Latencies of one target's inserts, recorded by its listener (the pipeline thread).
struct Arrivals {
  std::vector<std::int64_t> nanos;
  std::atomic<std::size_t> count{0};

  std::shared_ptr<laredo::memory::IndexedTarget> Target(std::size_t expected) {
    nanos.reserve(expected);
    auto target = std::make_shared<laredo::memory::IndexedTarget>();
    target->AddListener(
        [this](const std::optional<laredo::Row>& old_row, const std::optional<laredo::Row>& row) {
          if (old_row || !row) return;
          nanos.push_back(bench::RealtimeNanos() - row->at("sent_ns").AsInt());
          count.fetch_add(1, std::memory_order_release);
        });
    return target;
  }
};

bool AwaitTrue(const std::function<bool()>& condition, std::chrono::seconds timeout) {
  const auto deadline = bench::Clock::now() + timeout;
  while (!condition()) {
    if (bench::Clock::now() > deadline) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

int Run(int seconds, int rate, int poll_ms) {
  bench::BenchServer pg_server;
  bench::AwsBenchServers aws_servers;
  const auto& env = aws_servers.env();
  bench::AwsBench aws(env, "e2elat");
  aws.CreateStream(1);
  const std::string& conninfo = pg_server.conninfo();
  const bench::PgConn conn(conninfo);
  conn.Exec("DROP TABLE IF EXISTS bench_e2e_latency");
  conn.Exec("CREATE TABLE bench_e2e_latency (id bigint PRIMARY KEY, sent_ns bigint, payload text)");
  const auto total = static_cast<std::size_t>(seconds) * static_cast<std::size_t>(rate);

  // (a) PostgreSQL -> publisher; the consumer below reads what it writes.
  laredo::kinesis::PublisherOptions publishing;
  publishing.stream_name = aws.stream();
  publishing.region = env.region;
  publishing.endpoint = env.kinesis_endpoint;
  publishing.credentials = env.credentials;
  publishing.snapshots.bucket = aws.bucket();
  publishing.snapshots.prefix = "snap";
  publishing.snapshots.endpoint = env.s3_endpoint;
  publishing.snapshots.tables = {kTable};
  auto publisher = std::make_shared<laredo::kinesis::Publisher>(publishing);
  const auto pg_options = [&](const char* publication) {
    return laredo::pg::SourceOptions{.conninfo = conninfo,
                                     .slot_mode = laredo::pg::SlotMode::Ephemeral,
                                     .publication_name = publication};
  };
  laredo::Engine publishing_engine;
  publishing_engine.AddSource(
      "pg", std::make_shared<laredo::pg::Source>(pg_options("laredo_bench_e2e_pub")));
  publishing_engine.AddPipeline("pg", kTable, publisher);
  publishing_engine.Start();
  if (!publishing_engine.AwaitReady(60s) ||
      !AwaitTrue([&] { return publisher->GetStats().snapshots_written >= 1; }, 60s)) {
    std::fprintf(stderr, "publisher not ready: %s %s\n",
                 publishing_engine.SourceError("pg").value_or("").c_str(),
                 publisher->GetStats().last_snapshot_error.c_str());
    return 1;
  }
  Arrivals via_kinesis;
  auto options = aws.Options();
  options.poll_interval = std::chrono::milliseconds(poll_ms);
  options.min_get_records_interval = std::chrono::milliseconds(poll_ms);
  laredo::Engine consumer;
  consumer.AddSource("kinesis", std::make_shared<laredo::kinesis::Source>(options));
  consumer.AddPipeline("kinesis", kTable, via_kinesis.Target(total));
  consumer.Start();

  // (b) the peer: PostgreSQL -> IndexedTarget directly.
  Arrivals direct;
  laredo::Engine direct_engine;
  direct_engine.AddSource(
      "pg", std::make_shared<laredo::pg::Source>(pg_options("laredo_bench_e2e_direct")));
  direct_engine.AddPipeline("pg", kTable, direct.Target(total));
  direct_engine.Start();
  if (!consumer.AwaitReady(60s) || !direct_engine.AwaitReady(60s)) {
    std::fprintf(stderr, "consumers not ready: %s %s\n",
                 consumer.SourceError("kinesis").value_or("").c_str(),
                 direct_engine.SourceError("pg").value_or("").c_str());
    return 1;
  }

  // The writer, as in pg_latency: one autocommit INSERT per transaction, synchronous_commit on,
  // paced on an absolute schedule.
  const bench::PgConn writer(conninfo);
  writer.Exec("SET synchronous_commit = on");
  PGresult* prepared = PQprepare(
      writer.get(), "ins",
      "INSERT INTO bench_e2e_latency VALUES ($1::bigint, $2::bigint, 'payload')", 2, nullptr);
  const bool prepare_ok = PQresultStatus(prepared) == PGRES_COMMAND_OK;
  PQclear(prepared);
  if (!prepare_ok) throw std::runtime_error(PQerrorMessage(writer.get()));
  const auto interval = std::chrono::nanoseconds(1'000'000'000 / rate);
  const auto start = bench::Clock::now();
  for (std::size_t i = 0; i < total; ++i) {
    std::this_thread::sleep_until(start + interval * static_cast<std::int64_t>(i));
    const std::string id = std::to_string(i + 1);
    const std::string sent = std::to_string(bench::RealtimeNanos());
    const char* params[] = {id.c_str(), sent.c_str()};
    PGresult* res = PQexecPrepared(writer.get(), "ins", 2, params, nullptr, nullptr, 0);
    const bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    PQclear(res);
    if (!ok) throw std::runtime_error(PQerrorMessage(writer.get()));
  }
  const double write_s = bench::Seconds(bench::Clock::now() - start);
  const auto all_arrived = [&] {
    return via_kinesis.count.load(std::memory_order_acquire) >= total &&
           direct.count.load(std::memory_order_acquire) >= total;
  };
  AwaitTrue(all_arrived, 60s);
  consumer.Stop();
  direct_engine.Stop();
  publishing_engine.Stop();
  conn.Exec("DROP PUBLICATION IF EXISTS laredo_bench_e2e_pub");
  conn.Exec("DROP PUBLICATION IF EXISTS laredo_bench_e2e_direct");

  std::printf("writer: %zu single-row transactions in %.2f s (%.0f tx/s); consumer poll %d ms\n",
              total, write_s, static_cast<double>(total) / write_s, poll_ms);
  const bench::LatencyLine k =
      bench::PrintLatency("sent -> publisher -> Kinesis -> consumer:", via_kinesis.nanos);
  const bench::LatencyLine d =
      bench::PrintLatency("sent -> pg::Source -> IndexedTarget:     ", direct.nanos);
  std::printf("ratio (Kinesis path / direct): p50 %.1fx, p99 %.1fx\n", k.p50 / d.p50,
              k.p99 / d.p99);
  if (via_kinesis.nanos.size() != total || direct.nanos.size() != total) {
    std::fprintf(stderr, "only %zu / %zu of %zu rows arrived\n", via_kinesis.nanos.size(),
                 direct.nanos.size(), total);
    return 1;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const int seconds = argc > 1 ? std::atoi(argv[1]) : 10;
    const int rate = argc > 2 ? std::atoi(argv[2]) : 1000;
    const int poll_ms = argc > 3 ? std::atoi(argv[3]) : 200;
    if (seconds <= 0 || rate <= 0 || poll_ms < 0) {
      throw std::runtime_error("usage: [SECONDS [RATE [POLL_MS]]]");
    }
    return Run(seconds, rate, poll_ms);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "kinesis_e2e_latency: %s\n", e.what());
    return 1;
  }
}
