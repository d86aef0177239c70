// Streaming throughput against a real PostgreSQL: pg_recvlogical vs laredo::pg::Source -> Engine
// -> IndexedTarget on the same WAL, laredo in text mode and in binary mode (SourceOptions::binary).
//
//   LAREDO_PG_CONNINFO=... laredo_bench_pg_streaming [N [ROUNDS]]   (default 1,000,000, 3)
//
// Creates the bench table, a publication and two pgoutput slots per round, then runs the workload
// (N inserts, then N updates, 1,000 rows per transaction). In each round the three consumers read
// the same backlog, one after the other: pg_recvlogical (text mode, its default) to /dev/null on
// its slot (until --endpos), and laredo, in text then in binary mode, each on its own slot until
// every change is applied to the IndexedTarget and the engine has acknowledged the last commit.
// For each, the CPU its walsender spent (/proc/<pid>/stat) is reported per change. The medians
// over the rounds are the figures.
// The source re-creates its slot on a baseline (docs/pg-source.md), so the target is wrapped in
// one that keeps state across restarts: the engine then resumes from the slot's confirmed
// position and streams the backlog, as a restarted stateful consumer would.
#include <algorithm>
#include <any>
#include <condition_variable>
#include <cstdio>
#include <mutex>

#include "done_observer.hpp"
#include "laredo/laredo.hpp"
#include "laredo/pg/source.hpp"
#include "pg_bench_util.hpp"

namespace {

using namespace std::chrono_literals;
using laredo::pg::Lsn;
using laredo::pg::StreamPosition;
namespace bench = laredo::bench;

constexpr const char* kPublication = "laredo_bench_pub";
constexpr const char* kRecvSlot = "laredo_bench_recvlogical";
constexpr const char* kOurSlot = "laredo_bench_laredo";
constexpr const char* kBinarySlot = "laredo_bench_binary";

// A consumer's run: wall and own CPU time, and its walsender's CPU.
struct Run {
  bench::Timing timing;
  double walsender_cpu = -1;
};

void PrintWalsender(double cpu_seconds, std::uint64_t changes) {
  std::printf("  walsender CPU %.2f s, %.2f us/change\n", cpu_seconds,
              cpu_seconds * 1e6 / static_cast<double>(changes));
}

// Forwards to an IndexedTarget but claims to keep its rows across restarts, so that the engine
// resumes from the slot instead of taking a baseline (which would re-create the slot).
class ResumingTarget final : public laredo::SyncTarget {
 public:
  explicit ResumingTarget(std::shared_ptr<laredo::memory::IndexedTarget> inner)
      : inner_(std::move(inner)) {}
  void OnInit(const laredo::TableIdentifier& t,
              const std::vector<laredo::ColumnDefinition>& c) override {
    inner_->OnInit(t, c);
  }
  void OnBaselineRow(const laredo::TableIdentifier& t, const laredo::Row& r) override {
    inner_->OnBaselineRow(t, r);
  }
  void OnBaselineComplete(const laredo::TableIdentifier& t) override {
    inner_->OnBaselineComplete(t);
  }
  void OnInsert(const laredo::TableIdentifier& t, const laredo::Row& r) override {
    inner_->OnInsert(t, r);
  }
  void OnUpdate(const laredo::TableIdentifier& t, const laredo::Row& n,
                const laredo::Row& id) override {
    inner_->OnUpdate(t, n, id);
  }
  void OnDelete(const laredo::TableIdentifier& t, const laredo::Row& id) override {
    inner_->OnDelete(t, id);
  }
  void OnTruncate(const laredo::TableIdentifier& t) override { inner_->OnTruncate(t); }
  bool IsDurable() override { return inner_->IsDurable(); }
  bool KeepsStateAcrossRestarts() override { return true; }
  laredo::SchemaChangeResponse OnSchemaChange(
      const laredo::TableIdentifier& t, const std::vector<laredo::ColumnDefinition>& o,
      const std::vector<laredo::ColumnDefinition>& n) override {
    return inner_->OnSchemaChange(t, o, n);
  }
  void OnClose(const laredo::TableIdentifier& t) override { inner_->OnClose(t); }

 private:
  std::shared_ptr<laredo::memory::IndexedTarget> inner_;
};

void RecreateSlot(const bench::PgConn& conn, const std::string& slot) {
  conn.Exec(
      "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = '" +
      slot + "'");
  conn.Exec("SELECT pg_create_logical_replication_slot('" + slot + "', 'pgoutput')");
}

std::string SlotName(const char* prefix, int round) { return prefix + std::to_string(round); }

// (a) pg_recvlogical to /dev/null until the end of the workload.
Run TimeRecvLogical(const std::string& conninfo, const std::string& slot, Lsn end_lsn) {
  const auto [conninfo_no_password, password] = bench::SplitPassword(conninfo);
  bench::Timing t;
  bench::WalsenderCpu walsender(conninfo, slot);
  const auto start = bench::Clock::now();
  const int rc = bench::RunTool({bench::PgTool("pg_recvlogical"), "-d", conninfo_no_password,
                                 "--slot", slot, "--plugin=pgoutput", "-o", "proto_version=1", "-o",
                                 std::string("publication_names=") + kPublication, "--start",
                                 "--endpos", end_lsn.ToString(), "--no-loop", "-f", "/dev/null"},
                                password, &t.cpu_seconds);
  t.seconds = bench::Seconds(bench::Clock::now() - start);
  const double walsender_cpu = walsender.Stop();
  if (rc != 0) throw std::runtime_error("pg_recvlogical failed (exit " + std::to_string(rc) + ")");
  return {t, walsender_cpu};
}

// (b) laredo: resumes from the slot's confirmed position and streams the backlog into an
// IndexedTarget until the last change is applied and acknowledged. Checks the result.
Run TimeLaredo(const bench::PgConn& conn, const std::string& conninfo, const std::string& slot,
               std::int64_t n, bool first_round, bool binary) {
  const std::uint64_t changes = 2ULL * static_cast<std::uint64_t>(n);
  auto replica = std::make_shared<laredo::memory::IndexedTarget>();
  auto observer = std::make_shared<bench::DoneObserver<StreamPosition>>(
      changes, [](const StreamPosition& acked, const StreamPosition& last) {
        return StreamPosition::Compare(acked, last) >= 0;
      });
  laredo::EngineOptions options;
  options.ack_interval = 50ms;  // adds at most 50 ms to the measured time
  options.observers = {observer};
  auto source = std::make_shared<laredo::pg::Source>(laredo::pg::SourceOptions{
      .conninfo = conninfo,
      .slot_mode = laredo::pg::SlotMode::Stateful,
      .slot_name = slot,
      .publication_name = kPublication,
      .manage_publication = false,
      .binary = binary,
  });
  bench::WalsenderCpu walsender(conninfo, slot);
  const std::int64_t rss_before = bench::ResidentBytes();
  const double cpu_before = bench::SelfCpuSeconds();
  laredo::Engine engine(options);
  engine.AddSource("pg", source);
  engine.AddPipeline("pg", laredo::Table("public", "bench"),
                     std::make_shared<ResumingTarget>(replica));
  const auto start = bench::Clock::now();
  engine.Start();
  const auto done = observer->AwaitDone(30min);
  const std::optional<StreamPosition> acked =
      done ? std::optional<StreamPosition>(done->first) : std::nullopt;
  const auto end = bench::Clock::now();
  bench::Timing t{.seconds = bench::Seconds(end - start),
                  .cpu_seconds = bench::SelfCpuSeconds() - cpu_before};
  const std::int64_t rss_after = bench::ResidentBytes();
  const double walsender_cpu = walsender.Stop();
  if (!acked) {
    throw std::runtime_error("laredo did not finish: " + std::to_string(observer->applied()) +
                             " of " + std::to_string(changes) + " changes applied; " +
                             engine.SourceError("pg").value_or("no source error"));
  }
  engine.Stop();  // sends the final standby status update
  // The walsender reads that update after the connection closed, asynchronously: wait until it
  // is gone before reading what the slot confirms.
  for (int i = 0; i < 1000 && !conn.Query("SELECT 1 FROM pg_replication_slots WHERE slot_name = '" +
                                          slot + "' AND active")
                                   .empty();
       ++i) {
    std::this_thread::sleep_for(10ms);
  }
  const Lsn confirmed = Lsn::Parse(conn.Query(
      "SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = '" + slot + "'"));
  bench::PrintRun(binary ? "laredo binary: " : "laredo text:   ", "changes", changes, t, *observer,
                  start, end, *replica, rss_before, rss_after, first_round);
  if (replica->Count() != static_cast<std::size_t>(n) || confirmed < acked->ack_lsn) {
    throw std::runtime_error("wrong result: " + std::to_string(replica->Count()) +
                             " rows, last ACK " + acked->ack_lsn.ToString() + ", slot confirmed " +
                             confirmed.ToString());
  }
  return {t, walsender_cpu};
}

int RunBench(std::int64_t n, int rounds) {
  bench::BenchServer server;
  const std::string& conninfo = server.conninfo();
  const bench::PgConn conn(conninfo);
  const std::uint64_t changes = 2ULL * static_cast<std::uint64_t>(n);

  // Setup before the workload: table, publication and one slot per consumer and round (a slot
  // can be consumed once; several rounds show how much a loaded machine moves the figures).
  conn.Exec("DROP PUBLICATION IF EXISTS " + std::string(kPublication));
  bench::CreateBenchTable(conn);
  conn.Exec("CREATE PUBLICATION " + std::string(kPublication) + " FOR TABLE bench");
  const char* const slots[] = {kRecvSlot, kOurSlot, kBinarySlot};
  for (int r = 0; r < rounds; ++r) {
    for (const char* slot : slots) RecreateSlot(conn, SlotName(slot, r));
  }
  const Lsn start_lsn = Lsn::Parse(conn.Query("SELECT pg_current_wal_lsn()"));

  // Synchronous commit, so that pg_current_wal_lsn() afterwards covers the last commit.
  conn.Exec("SET synchronous_commit = on");
  const auto workload_start = bench::Clock::now();
  bench::InsertBenchRows(conn, n);
  bench::UpdateBenchRows(conn, n);
  const double workload_s = bench::Seconds(bench::Clock::now() - workload_start);
  const Lsn end_lsn = Lsn::Parse(conn.Query("SELECT pg_current_wal_lsn()"));
  std::printf(
      "workload: %lld inserts + %lld updates in %.1f s, %.0f WAL bytes/change\n",
      static_cast<long long>(n), static_cast<long long>(n), workload_s,
      static_cast<double>(end_lsn.value() - start_lsn.value()) / static_cast<double>(changes));

  // Per consumer (pg_recvlogical, laredo text, laredo binary): rates and walsender CPU.
  std::vector<double> rates[3];
  std::vector<double> walsender_us[3];
  std::vector<double> ratios[2];
  for (int r = 0; r < rounds; ++r) {
    std::printf("round %d of %d\n", r + 1, rounds);
    const auto run = [&](int who) {
      Run result;
      if (who == 0) {
        result = TimeRecvLogical(conninfo, SlotName(kRecvSlot, r), end_lsn);
        std::printf("  pg_recvlogical: %.0f changes/s (%.2f s), client CPU %.2f s\n",
                    static_cast<double>(changes) / result.timing.seconds, result.timing.seconds,
                    result.timing.cpu_seconds);
      } else {
        result =
            TimeLaredo(conn, conninfo, SlotName(slots[who], r), n, r == 0 && who == 1, who == 2);
      }
      PrintWalsender(result.walsender_cpu, changes);
      rates[who].push_back(static_cast<double>(changes) / result.timing.seconds);
      walsender_us[who].push_back(result.walsender_cpu * 1e6 / static_cast<double>(changes));
      return result;
    };
    // Rotate who goes first, so that none profits from another warming the caches.
    Run results[3];
    for (int k = 0; k < 3; ++k) {
      const int who = (k + r) % 3;
      results[who] = run(who);
    }
    for (int mode = 0; mode < 2; ++mode) {
      ratios[mode].push_back(results[0].timing.seconds / results[mode + 1].timing.seconds);
    }
    std::printf("  ratio text %.2fx, binary %.2fx\n", ratios[0].back(), ratios[1].back());
    for (const char* slot : slots) {
      conn.Exec("SELECT pg_drop_replication_slot('" + SlotName(slot, r) + "')");
    }
  }
  const char* const names[] = {"pg_recvlogical:", "laredo text:   ", "laredo binary: "};
  for (int who = 0; who < 3; ++who) {
    std::printf("%s %.0f changes/s, walsender %.2f us/change (median of %d)\n", names[who],
                bench::Median(rates[who]), bench::Median(walsender_us[who]), rounds);
  }
  for (int mode = 0; mode < 2; ++mode) {
    std::printf("ratio laredo %s / pg_recvlogical: %.2fx median, %.2fx .. %.2fx (goal >= 3x)\n",
                mode == 0 ? "text" : "binary", bench::Median(ratios[mode]),
                *std::min_element(ratios[mode].begin(), ratios[mode].end()),
                *std::max_element(ratios[mode].begin(), ratios[mode].end()));
  }
  conn.Exec("DROP PUBLICATION " + std::string(kPublication));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const auto rounds = static_cast<int>(bench::CountArg(argc, argv, 2, 3));
    if (rounds <= 0) throw std::runtime_error("usage: [N [ROUNDS]]");
    return RunBench(bench::CountArg(argc, argv, 1, 1'000'000), rounds);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "pg_streaming: %s\n", e.what());
    return 1;
  }
}
