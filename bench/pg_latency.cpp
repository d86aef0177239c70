// Commit-to-target latency against a real PostgreSQL: a second connection commits single-row
// transactions at a steady rate, each row carrying the client's CLOCK_REALTIME just before the
// INSERT was sent; the IndexedTarget's listener computes now - that when the row arrives.
//
//   LAREDO_PG_CONNINFO=... laredo_bench_pg_latency [SECONDS [RATE]]   (default 10 s, 1,000/s)
//
// The figure therefore includes the commit itself (its round trip is printed separately). The
// writer commits with synchronous_commit = on: the walsender only sends flushed WAL, so with
// asynchronous commits the latency would mostly be the WAL writer's delay.
#include <time.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <thread>

#include "laredo/laredo.hpp"
#include "laredo/pg/source.hpp"
#include "pg_bench_util.hpp"

namespace {

using namespace std::chrono_literals;
namespace bench = laredo::bench;

constexpr const char* kPublication = "laredo_bench_latency_pub";

int Run(int seconds, int rate) {
  bench::BenchServer server;
  const std::string& conninfo = server.conninfo();
  const bench::PgConn conn(conninfo);
  conn.Exec("DROP TABLE IF EXISTS bench_latency");
  conn.Exec("CREATE TABLE bench_latency (id bigint PRIMARY KEY, sent_ns bigint, payload text)");
  const auto total = static_cast<std::size_t>(seconds) * static_cast<std::size_t>(rate);

  auto replica = std::make_shared<laredo::memory::IndexedTarget>();
  std::vector<std::int64_t> latencies;  // written by the pipeline thread, read after Stop()
  latencies.reserve(total);
  std::atomic<std::size_t> arrived{0};
  replica->AddListener(
      [&](const std::optional<laredo::Row>& old_row, const std::optional<laredo::Row>& new_row) {
        if (old_row || !new_row) return;
        latencies.push_back(bench::RealtimeNanos() - new_row->at("sent_ns").AsInt());
        arrived.fetch_add(1, std::memory_order_release);
      });

  laredo::Engine engine;
  engine.AddSource("pg", std::make_shared<laredo::pg::Source>(laredo::pg::SourceOptions{
                             .conninfo = conninfo,
                             .slot_mode = laredo::pg::SlotMode::Ephemeral,
                             .publication_name = kPublication,
                         }));
  engine.AddPipeline("pg", laredo::Table("public", "bench_latency"), replica);
  engine.Start();
  if (!engine.AwaitReady(60s)) {
    std::fprintf(stderr, "engine not ready: %s\n",
                 engine.SourceError("pg").value_or("no source error").c_str());
    return 1;
  }

  // The writer: a second connection, one autocommit INSERT per transaction, paced on an absolute
  // schedule so that a slow commit does not lower the rate for the rest of the run.
  const bench::PgConn writer(conninfo);
  writer.Exec("SET synchronous_commit = on");
  PGresult* prepared =
      PQprepare(writer.get(), "ins",
                "INSERT INTO bench_latency VALUES ($1::bigint, $2::bigint, 'payload')", 2, nullptr);
  const bool prepare_ok = PQresultStatus(prepared) == PGRES_COMMAND_OK;
  PQclear(prepared);
  if (!prepare_ok) throw std::runtime_error(PQerrorMessage(writer.get()));
  std::vector<std::int64_t> round_trips;
  round_trips.reserve(total);
  const auto interval = std::chrono::nanoseconds(1'000'000'000 / rate);
  const auto start = bench::Clock::now();
  for (std::size_t i = 0; i < total; ++i) {
    std::this_thread::sleep_until(start + interval * static_cast<std::int64_t>(i));
    const std::string id = std::to_string(i + 1);
    const std::int64_t sent = bench::RealtimeNanos();
    const std::string sent_text = std::to_string(sent);
    const char* params[] = {id.c_str(), sent_text.c_str()};
    PGresult* res = PQexecPrepared(writer.get(), "ins", 2, params, nullptr, nullptr, 0);
    const bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    PQclear(res);
    if (!ok) throw std::runtime_error(PQerrorMessage(writer.get()));
    round_trips.push_back(bench::RealtimeNanos() - sent);
  }
  const double write_s = bench::Seconds(bench::Clock::now() - start);

  const auto deadline = bench::Clock::now() + 60s;
  while (arrived.load(std::memory_order_acquire) < total && bench::Clock::now() < deadline) {
    std::this_thread::sleep_for(1ms);
  }
  engine.Stop();
  std::printf("writer: %zu single-row transactions in %.2f s (%.0f tx/s)\n", total, write_s,
              static_cast<double>(total) / write_s);
  bench::PrintLatency("commit round trip (client):     ", round_trips);
  bench::PrintLatency("sent -> target listener latency:", latencies);
  conn.Exec("DROP PUBLICATION IF EXISTS " + std::string(kPublication));
  if (latencies.size() != total) {
    std::fprintf(stderr, "only %zu of %zu rows arrived\n", latencies.size(), total);
    return 1;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const int seconds = argc > 1 ? std::atoi(argv[1]) : 10;
    const int rate = argc > 2 ? std::atoi(argv[2]) : 1000;
    if (seconds <= 0 || rate <= 0) throw std::runtime_error("usage: [SECONDS [RATE]]");
    return Run(seconds, rate);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "pg_latency: %s\n", e.what());
    return 1;
  }
}
