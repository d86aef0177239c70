// Engine snapshots against the real server (docs/snapshots.md): a consumer with a large replica
// takes a snapshot, streams on, is killed -9; the restart restores the replica without a baseline
// query, streams from the snapshot's position and ends equal to SELECT *. The slot never moved
// past the snapshot. A schema change between the snapshot and the restart falls back to a
// baseline, with the reason.
#include <fmt/format.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include "laredo/pg/position.hpp"
#include "laredo/snapshot/local_directory_store.hpp"
#include "pg_harness.hpp"

namespace laredo::pg::testing {
namespace {

using laredo::testing::FastOptions;
namespace fs = std::filesystem;

#if defined(__SANITIZE_THREAD__)
constexpr int kRows = 50'000;  // the same test, at the speed of the thread sanitizer
#else
constexpr int kRows = 1'000'000;
#endif

class RestoreEvents : public EngineObserver {
 public:
  void OnSnapshotRestored(std::string_view, const SnapshotReport& report) override {
    restored_rows = report.rows;
    restored = true;
  }
  void OnSnapshotRestoreSkipped(std::string_view, std::string_view,
                                std::string_view reason) override {
    std::lock_guard lk(mu);
    skipped = std::string(reason);
  }
  void OnBaselineStarted(std::string_view, const TableIdentifier&,
                         std::optional<std::uint64_t>) override {
    baselines.fetch_add(1);
  }
  std::atomic<bool> restored{false};
  std::atomic<std::uint64_t> restored_rows{0};
  std::atomic<int> baselines{0};
  std::mutex mu;
  std::string skipped;
};

class PgSnapshotTest : public PgTest {
 protected:
  void SetUp() override {
    PgTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    dir_ = fs::path(::testing::TempDir()) / (name_ + "_snapshots_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
  }
  void TearDown() override {
    fs::remove_all(dir_);
    PgTest::TearDown();
  }
  EngineOptions SnapshotOptions(std::shared_ptr<EngineObserver> observer = nullptr) const {
    EngineOptions options = FastOptions(std::move(observer));
    options.snapshots = {.store = std::make_shared<snapshot::LocalDirectoryStore>(
                             snapshot::LocalDirectoryStoreOptions{.directory = dir_}),
                         .interval = std::chrono::milliseconds(0),
                         .on_shutdown = false};
    return options;
  }
  /// Sequential scans of the table so far: a baseline's COPY is one, inserts are none. Read on a
  /// fresh connection, after the server flushed every backend's statistics.
  std::int64_t SeqScans(const std::string& table) {
    auto conn = PgConnection::Connect(conninfo_, ConnectionKind::Normal, "laredo test stats");
    auto r = conn.Exec("SELECT seq_scan FROM pg_stat_user_tables WHERE schemaname = '" + name_ +
                           "' AND relname = '" + table + "'",
                       "reading statistics");
    return std::stoll(GetValue(r.get(), 0, 0).value_or("0"));
  }
  fs::path dir_;
};

// The consumer process: baselines, then answers the parent's commands on `in`: 's' takes a
// snapshot and writes its position, 'w' followed by an LSN line waits until the replica applied
// it and writes "ok". Runs until killed; never returns into the test framework.
[[noreturn]] void RunConsumer(const EngineOptions& options, const SourceOptions& source,
                              const TableIdentifier& table, int in, int out) {
  try {
    Engine engine(options);
    engine.AddSource("pg", std::make_shared<Source>(source));
    engine.AddPipeline("pg", table, std::make_shared<memory::IndexedTarget>());
    engine.Start();
    if (!engine.AwaitReady(std::chrono::minutes(5))) ::_exit(4);
    FILE* commands = ::fdopen(in, "r");
    FILE* answers = ::fdopen(out, "w");
    for (int c = std::fgetc(commands); c != EOF; c = std::fgetc(commands)) {
      if (c == 's') {
        const auto meta = engine.CreateSnapshot();
        std::fprintf(answers, "%s\n", meta.FindSource("pg")->position.c_str());
      } else if (c == 'w') {
        char lsn[64] = {};
        if (std::fscanf(commands, "%63s", lsn) != 1) ::_exit(5);
        const bool applied =
            engine.AwaitApplied("pg", PositionAt(Lsn::Parse(lsn)), std::chrono::seconds(60));
        std::fprintf(answers, "%s\n", applied ? "ok" : "timeout");
      }
      std::fflush(answers);
    }
    for (;;) ::pause();
  } catch (...) {
    ::_exit(3);
  }
}

std::string ReadLine(int fd) {
  std::string line;
  char c = 0;
  while (::read(fd, &c, 1) == 1 && c != '\n') line.push_back(c);
  return line;
}

TEST_F(PgSnapshotTest, KillNineAfterASnapshotRestoresWithoutABaselineAndLosesNothing) {
  Exec("CREATE TABLE " + Q("t") + " (id bigint PRIMARY KEY, name text NOT NULL, n int)");
  Exec("INSERT INTO " + Q("t") + " SELECT g, 'row ' || g, g % 1000 FROM generate_series(1, " +
       std::to_string(kRows) + ") g");
  int to_child[2];
  int from_child[2];
  ASSERT_EQ(::pipe(to_child), 0);
  ASSERT_EQ(::pipe(from_child), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(to_child[1]);
    ::close(from_child[0]);
    RunConsumer(SnapshotOptions(), Options(), T("t"), to_child[0], from_child[1]);
  }
  ::close(to_child[0]);
  ::close(from_child[1]);
  const auto command = [&](const std::string& text) {
    ASSERT_EQ(::write(to_child[1], text.data(), text.size()), static_cast<ssize_t>(text.size()));
  };
  const auto await_applied = [&] {
    command("w " + CurrentLsn().ToString() + "\n");
    return ReadLine(from_child[0]);
  };

  // Changes before the snapshot, then the snapshot, then changes after it.
  Exec("UPDATE " + Q("t") + " SET name = 'before' WHERE id <= 100");
  Exec("DELETE FROM " + Q("t") + " WHERE id BETWEEN 101 AND 150");
  ASSERT_EQ(await_applied(), "ok");
  command("s");
  const std::string snapshot_position = ReadLine(from_child[0]);
  ASSERT_FALSE(snapshot_position.empty()) << "the consumer died";
  const auto at = StreamPosition::Parse(snapshot_position);
  Exec("INSERT INTO " + Q("t") + " SELECT g, 'after', 1 FROM generate_series(" +
       std::to_string(kRows + 1) + ", " + std::to_string(kRows + 500) + ") g");
  Exec("UPDATE " + Q("t") + " SET n = -1 WHERE id BETWEEN 200 AND 260");
  Exec("DELETE FROM " + Q("t") + " WHERE id BETWEEN 300 AND 310");
  ASSERT_EQ(await_applied(), "ok");  // the dying replica had them: memory only
  ::kill(child, SIGKILL);
  int status = 0;
  ::waitpid(child, &status, 0);
  ::close(to_child[1]);
  ::close(from_child[0]);

  // The ACK rule, at the server: the slot stands at or before the snapshot.
  ASSERT_TRUE(ConfirmedFlush().has_value());
  EXPECT_LE(ConfirmedFlush()->value(), at.ack_lsn.value());
  // And more while it is down.
  Exec("UPDATE " + Q("t") + " SET name = 'while down' WHERE id = 1");

  const auto scans_before = SeqScans("t");
  auto events = std::make_shared<RestoreEvents>();
  Engine engine(SnapshotOptions(events));
  auto replica = StartReplica(engine, "t", Options());
  ASSERT_TRUE(engine.AwaitReady(std::chrono::seconds(60))) << engine.NotReadyReason();
  EXPECT_TRUE(events->restored.load()) << events->skipped;
  EXPECT_EQ(events->restored_rows.load(), static_cast<std::uint64_t>(kRows - 50));
  EXPECT_EQ(events->baselines.load(), 0);
  ASSERT_TRUE(engine.AwaitApplied("pg", PositionAt(CurrentLsn()), std::chrono::seconds(60)));
  // No baseline reached the server: no sequential scan of the table since the kill (the
  // statistics of every backend are flushed within a second of it going idle).
  EXPECT_TRUE(Eventually([&] { return SeqScans("t") > scans_before; }, 2s) == false)
      << "a baseline query scanned the table";
  EXPECT_TRUE(Converged(*replica, "t"));
  EXPECT_EQ(replica->Count(), static_cast<std::size_t>(kRows + 500 - 50 - 11));
  engine.Stop();
}

TEST_F(PgSnapshotTest, ASchemaChangeAfterTheSnapshotFallsBackToABaselineOfTheNewColumns) {
  Exec("CREATE TABLE " + Q("t") + " (id bigint PRIMARY KEY, name text)");
  Exec("INSERT INTO " + Q("t") + " SELECT g, 'r' || g FROM generate_series(1, 2000) g");
  {
    Engine engine(SnapshotOptions());
    StartReplica(engine, "t", Options());
    ASSERT_TRUE(engine.AwaitReady(std::chrono::seconds(60))) << engine.NotReadyReason();
    engine.CreateSnapshot();
    engine.Stop();
  }
  Exec("ALTER TABLE " + Q("t") + " ADD COLUMN score int DEFAULT 7");
  Exec("INSERT INTO " + Q("t") + " VALUES (5000, 'new', 9)");
  const auto scans_before = SeqScans("t");
  auto events = std::make_shared<RestoreEvents>();
  Engine engine(SnapshotOptions(events));
  auto replica = StartReplica(engine, "t", Options());
  ASSERT_TRUE(engine.AwaitReady(std::chrono::seconds(60))) << engine.NotReadyReason();
  EXPECT_FALSE(events->restored.load());
  {
    std::lock_guard lk(events->mu);
    EXPECT_NE(events->skipped.find("+ score"), std::string::npos) << events->skipped;
  }
  EXPECT_EQ(events->baselines.load(), 1);
  // The positive control of the check above: a baseline does scan the table.
  EXPECT_TRUE(Eventually([&] { return SeqScans("t") > scans_before; }, 10s));
  EXPECT_EQ(replica->Columns().size(), 3U);
  EXPECT_TRUE(Converged(*replica, "t"));
}

// Snapshots taken while a writer changes the table as fast as it can: a restart from the last one
// streams from its position and converges to SELECT *, so the snapshot and the stream after it
// neither miss a change nor stop short (a gap would leave a stale or missing row).
TEST_F(PgSnapshotTest, SnapshotsWhileChangesStreamRestoreWithoutAGap) {
  Exec("CREATE TABLE " + Q("t") + " (id bigint PRIMARY KEY, n bigint NOT NULL)");
  Exec("INSERT INTO " + Q("t") + " SELECT g, 0 FROM generate_series(1, 5000) g");
  std::string taken;
  {
    Engine engine(SnapshotOptions());
    StartReplica(engine, "t", Options());
    ASSERT_TRUE(engine.AwaitReady(std::chrono::seconds(60))) << engine.NotReadyReason();
    std::atomic<bool> stop{false};
    std::atomic<int> statements{0};
    std::thread writer([&] {
      auto conn = PgConnection::Connect(conninfo_, ConnectionKind::Normal, "laredo test writer");
      for (int i = 0; !stop.load(); ++i) {
        const int id = 1 + (i * 7919) % 5000;
        if (i % 10 == 9) {
          conn.Exec(fmt::format("DELETE FROM {} WHERE id = {}", Q("t"), id), "writer");
          conn.Exec(fmt::format("INSERT INTO {} VALUES ({}, {})", Q("t"), id, i), "writer");
        } else {
          conn.Exec(fmt::format("UPDATE {} SET n = n + 1 WHERE id BETWEEN {} AND {}", Q("t"), id,
                                id + 20),
                    "writer");
        }
        statements.fetch_add(1);
      }
    });
    for (int k = 0; k < 3; ++k) {
      const int before = statements.load();
      ASSERT_TRUE(Eventually([&] { return statements.load() > before + 200; }, 30s));
      taken = engine.CreateSnapshot().id;
    }
    stop = true;
    writer.join();
    // A crash: no shutdown snapshot, and the changes after the last snapshot are not ACKed.
    engine.Stop();
  }
  auto events = std::make_shared<RestoreEvents>();
  Engine engine(SnapshotOptions(events));
  auto replica = StartReplica(engine, "t", Options());
  ASSERT_TRUE(engine.AwaitReady(std::chrono::seconds(60))) << engine.NotReadyReason();
  EXPECT_TRUE(events->restored.load()) << events->skipped;
  EXPECT_EQ(events->baselines.load(), 0);
  ASSERT_TRUE(engine.AwaitApplied("pg", PositionAt(CurrentLsn()), std::chrono::seconds(60)));
  EXPECT_TRUE(Converged(*replica, "t"));
}

}  // namespace
}  // namespace laredo::pg::testing
