// Engine snapshots (docs/snapshots.md) on the test source: restore at start instead of a baseline,
// the ACK rule, the fallbacks and their reasons, consistency while changes stream, retention,
// the shutdown snapshot and the schedule.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "engine/test_util.hpp"
#include "laredo/error_codes.hpp"
#include "laredo/metrics/prometheus_observer.hpp"
#include "laredo/snapshot/archive_source.hpp"
#include "laredo/snapshot/local_directory_store.hpp"

namespace laredo::testing {
namespace {

using memory::IndexedTarget;
using testsource::TestSource;
namespace fs = std::filesystem;

class SnapshotEvents : public EngineObserver {
 public:
  void OnSnapshotCompleted(const SnapshotReport& report) override {
    std::lock_guard lk(mu_);
    completed_.emplace_back(report.snapshot_id);
    rows_ = report.rows;
  }
  void OnSnapshotFailed(std::string_view id, std::string_view reason) override {
    std::lock_guard lk(mu_);
    failed_.push_back(std::string(id) + ": " + std::string(reason));
  }
  void OnSnapshotRestored(std::string_view source, const SnapshotReport& report) override {
    std::lock_guard lk(mu_);
    restored_.push_back(std::string(source) + "@" + std::string(report.snapshot_id));
    rows_ = report.rows;
  }
  void OnSnapshotRestoreSkipped(std::string_view, std::string_view,
                                std::string_view reason) override {
    std::lock_guard lk(mu_);
    skipped_.emplace_back(reason);
  }
  std::vector<std::string> completed() const { return Copy(completed_); }
  std::vector<std::string> failed() const { return Copy(failed_); }
  std::vector<std::string> restored() const { return Copy(restored_); }
  std::vector<std::string> skipped() const { return Copy(skipped_); }
  std::uint64_t rows() const {
    std::lock_guard lk(mu_);
    return rows_;
  }

 private:
  std::vector<std::string> Copy(const std::vector<std::string>& v) const {
    std::lock_guard lk(mu_);
    return v;
  }
  mutable std::mutex mu_;
  std::vector<std::string> completed_, failed_, restored_, skipped_;
  std::uint64_t rows_ = 0;
};

class Dir {
 public:
  Dir() {
    static std::atomic<int> n{0};
    path_ = fs::temp_directory_path() /
            ("laredo-engine-snapshot-" + std::to_string(::getpid()) + "-" + std::to_string(++n));
    fs::remove_all(path_);
  }
  ~Dir() { fs::remove_all(path_); }
  [[nodiscard]] const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

/// One engine run: a users (and optionally orders) pipeline into IndexedTargets, snapshots into
/// `dir`. A new `EngineRun` over the same source and directory is a process restart.
struct EngineRun {
  EngineRun(const std::shared_ptr<TestSource>& source, const fs::path& dir,
            bool on_shutdown = false, std::chrono::milliseconds interval = 0ms,
            bool with_orders = false)
      : events(std::make_shared<SnapshotEvents>()),
        store(std::make_shared<snapshot::LocalDirectoryStore>(
            snapshot::LocalDirectoryStoreOptions{.directory = dir})) {
    EngineOptions options = FastOptions(events);
    options.observers.push_back(metrics);
    options.snapshots = {.store = store,
                         .interval = interval,
                         .on_shutdown = on_shutdown,
                         .restore_at_start = true,
                         .keep = 2,
                         .timeout = 10s};
    engine = std::make_unique<Engine>(std::move(options));
    engine->AddSource("s", source);
    users_pipeline = engine->AddPipeline("s", kUsers, users);
    if (with_orders) engine->AddPipeline("s", kOrders, orders);
    engine->Start();
  }
  bool Applied(std::uint64_t position) const {
    return engine->AwaitApplied("s", Position(position), 10s);
  }
  std::shared_ptr<SnapshotEvents> events;
  std::shared_ptr<metrics::PrometheusObserver> metrics =
      std::make_shared<metrics::PrometheusObserver>();
  std::shared_ptr<snapshot::LocalDirectoryStore> store;
  std::shared_ptr<IndexedTarget> users = std::make_shared<IndexedTarget>();
  std::shared_ptr<IndexedTarget> orders = std::make_shared<IndexedTarget>();
  std::unique_ptr<Engine> engine;
  std::string users_pipeline;
};

std::shared_ptr<TestSource> ResumableSource(int rows) {
  auto source = UsersSource({.resumable = true});
  for (int i = 1; i <= rows; ++i) source->AddRow(kUsers, User(i, "base" + std::to_string(i)));
  return source;
}

// Rows sorted by id.
std::vector<Row> Sorted(std::vector<Row> rows) {
  std::sort(rows.begin(), rows.end(),
            [](const Row& a, const Row& b) { return a.at("id").AsInt() < b.at("id").AsInt(); });
  return rows;
}

void ExpectSameRows(std::vector<Row> expected, std::vector<Row> actual) {
  expected = Sorted(std::move(expected));
  actual = Sorted(std::move(actual));
  ASSERT_EQ(expected.size(), actual.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(expected[i].ToString(), actual[i].ToString()) << i;
  }
}

std::uint64_t PositionOf(const snapshot::SnapshotMetadata& m) {
  return std::stoull(m.FindSource("s")->position);
}

TEST(EngineSnapshot, RestartRestoresWithoutABaselineAndResumesAtTheSnapshot) {
  Dir dir;
  auto source = ResumableSource(500);
  std::uint64_t snapshot_at = 0;
  {
    EngineRun run(source, dir.path());
    ASSERT_TRUE(run.engine->AwaitReady(10s));
    for (int i = 1; i <= 50; ++i) source->EmitUpdate(kUsers, User(i, "v1"), User(i, ""));
    ASSERT_TRUE(run.Applied(source->CurrentPosition()));
    const auto meta = run.engine->CreateSnapshot();
    snapshot_at = PositionOf(meta);
    EXPECT_EQ(snapshot_at, source->CurrentPosition());
    ASSERT_EQ(meta.tables.size(), 1U);
    EXPECT_EQ(meta.tables[0].pipeline, run.users_pipeline);
    EXPECT_EQ(meta.tables[0].row_count, 500U);
    // Changes after the snapshot: applied, but the ACK rule keeps them unacknowledged.
    for (int i = 501; i <= 540; ++i) source->EmitInsert(kUsers, User(i, "after"));
    source->EmitDelete(kUsers, User(7, ""));
    ASSERT_TRUE(run.Applied(source->CurrentPosition()));
    ASSERT_TRUE(source->AwaitAck(snapshot_at, 10s));
    EXPECT_EQ(run.users->Count(), 539U);
    run.engine->Stop();  // no shutdown snapshot: like a crash for what comes after the snapshot
    for (const auto acked : source->AckedPositions()) EXPECT_LE(acked, snapshot_at);
    EXPECT_EQ(source->LastAck(), snapshot_at);
  }
  // More changes while the service is down.
  source->EmitUpdate(kUsers, User(1, "while down"), User(1, ""));
  const int baselines = source->BaselineCount();
  EngineRun again(source, dir.path());
  ASSERT_TRUE(again.engine->AwaitReady(10s)) << again.engine->NotReadyReason();
  ASSERT_TRUE(again.Applied(source->CurrentPosition()));
  EXPECT_EQ(source->BaselineCount(), baselines);  // no baseline
  ASSERT_EQ(again.events->restored().size(), 1U);
  EXPECT_EQ(again.events->rows(), 500U);
  EXPECT_TRUE(again.events->skipped().empty());
  ASSERT_FALSE(source->StreamStarts().empty());
  EXPECT_EQ(source->StreamStarts().back(), snapshot_at);
  ExpectSameRows(source->Contents(kUsers), Sorted(again.users->All()));
  EXPECT_EQ(again.engine->Pipeline(again.users_pipeline).baseline_rows, 500U);
  const auto text = again.metrics->Render();
  EXPECT_NE(text.find("laredo_snapshot_restores_total{source=\"s\",result=\"restored\"} 1\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("laredo_snapshot_restore_rows{source=\"s\"} 500\n"), std::string::npos);
}

TEST(EngineSnapshot, TheAckNeverPassesTheNewestSnapshotAndFollowsEachNewOne) {
  Dir dir;
  auto source = ResumableSource(10);
  EngineRun run(source, dir.path());
  ASSERT_TRUE(run.engine->AwaitReady(10s));
  ASSERT_TRUE(source->AwaitAck(0, 10s));  // the baseline's end: a restart would baseline again
  std::uint64_t last_snapshot = 0;
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 20; ++i) source->EmitInsert(kUsers, User(100 + round * 20 + i, "x"));
    ASSERT_TRUE(run.Applied(source->CurrentPosition()));
    // Applied and durable in memory, yet not acknowledged: memory does not survive a crash.
    EXPECT_FALSE(source->AwaitAck(last_snapshot + 1, 50ms));
    last_snapshot = PositionOf(run.engine->CreateSnapshot());
    ASSERT_TRUE(source->AwaitAck(last_snapshot, 10s));
    EXPECT_EQ(source->LastAck(), last_snapshot);
  }
  for (const auto acked : source->AckedPositions()) EXPECT_LE(acked, last_snapshot);
}

TEST(EngineSnapshot, ASourceAcknowledgedPastTheSnapshotBaselinesAndSaysWhy) {
  Dir dir;
  auto source = ResumableSource(20);
  {
    EngineRun run(source, dir.path());
    ASSERT_TRUE(run.engine->AwaitReady(10s));
    run.engine->CreateSnapshot();
  }
  // Another consumer of the same slot (or an engine without snapshots) moved it on.
  for (int i = 21; i <= 30; ++i) source->EmitInsert(kUsers, User(i, "gone"));
  auto moved =
      UsersSource({.resumable = true, .initial_acked_position = source->CurrentPosition()});
  for (const auto& row : source->Contents(kUsers)) moved->AddRow(kUsers, row);
  EngineRun again(moved, dir.path());
  ASSERT_TRUE(again.engine->AwaitReady(10s));
  ASSERT_EQ(again.events->skipped().size(), 1U);
  EXPECT_NE(again.events->skipped()[0].find("past the snapshot"), std::string::npos)
      << again.events->skipped()[0];
  EXPECT_TRUE(again.events->restored().empty());
  EXPECT_EQ(moved->BaselineCount(), 1);
  EXPECT_EQ(again.users->Count(), 30U);
}

// Damages the newest snapshot's users file as `damage` says, then restarts: the restore must be
// refused with a reason, the source must baseline, and the replica must be whole.
void ExpectFallbackAfter(const std::function<void(const fs::path& file)>& damage,
                         const std::string& reason_part) {
  Dir dir;
  auto source = ResumableSource(300);
  {
    EngineRun run(source, dir.path());
    ASSERT_TRUE(run.engine->AwaitReady(10s));
    const auto meta = run.engine->CreateSnapshot();
    damage(dir.path() / meta.id / meta.tables[0].file);
  }
  source->EmitInsert(kUsers, User(1000, "later"));
  EngineRun again(source, dir.path());
  ASSERT_TRUE(again.engine->AwaitReady(10s));
  ASSERT_EQ(again.events->skipped().size(), 1U);
  EXPECT_NE(again.events->skipped()[0].find(reason_part), std::string::npos)
      << again.events->skipped()[0];
  EXPECT_TRUE(again.events->restored().empty());
  ExpectSameRows(source->Contents(kUsers), Sorted(again.users->All()));
}

void Patch(const fs::path& file, std::streamoff at, char byte) {
  std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
  f.seekp(at);
  f.put(byte);
}

TEST(EngineSnapshot, ACorruptFileFallsBackToABaseline) {
  ExpectFallbackAfter(
      [](const fs::path& file) {
        const auto size = static_cast<std::streamoff>(fs::file_size(file));
        std::ifstream in(file, std::ios::binary);
        in.seekg(size / 2);
        const char old = static_cast<char>(in.get());
        Patch(file, size / 2, static_cast<char>(old ^ 0x20));
      },
      "restore failed");
}

TEST(EngineSnapshot, ATruncatedFileFallsBackToABaseline) {
  ExpectFallbackAfter([](const fs::path& file) { fs::resize_file(file, fs::file_size(file) - 7); },
                      "restore failed");
}

TEST(EngineSnapshot, AFileOfAnotherFormatVersionFallsBackToABaseline) {
  ExpectFallbackAfter([](const fs::path& file) { Patch(file, 8, 9); }, "version");
}

TEST(EngineSnapshot, ChangedColumnsFallBackToABaselineWithTheNewColumns) {
  Dir dir;
  auto source = ResumableSource(40);
  {
    EngineRun run(source, dir.path());
    ASSERT_TRUE(run.engine->AwaitReady(10s));
    run.engine->CreateSnapshot();
  }
  auto columns = IdNameColumns();
  columns.push_back({.name = "email", .type = "text", .ordinal_position = 3});
  source->SetSchema(kUsers, columns);
  EngineRun again(source, dir.path());
  ASSERT_TRUE(again.engine->AwaitReady(10s));
  ASSERT_EQ(again.events->skipped().size(), 1U);
  EXPECT_NE(again.events->skipped()[0].find("+ email"), std::string::npos)
      << again.events->skipped()[0];
  EXPECT_EQ(again.users->Columns().size(), 3U);
  EXPECT_EQ(again.users->Count(), 40U);
}

TEST(EngineSnapshot, ANewSlotMeansTheChangesAfterTheSnapshotAreGone) {
  Dir dir;
  auto source = ResumableSource(5);
  {
    EngineRun run(source, dir.path());
    ASSERT_TRUE(run.engine->AwaitReady(10s));
    run.engine->CreateSnapshot();
  }
  // The same data, but a source with nothing saved: as a PostgreSQL slot dropped and re-created.
  auto fresh = UsersSource({.resumable = true});
  for (const auto& row : source->Contents(kUsers)) fresh->AddRow(kUsers, row);
  EngineRun again(fresh, dir.path());
  ASSERT_TRUE(again.engine->AwaitReady(10s));
  ASSERT_EQ(again.events->skipped().size(), 1U);
  EXPECT_NE(again.events->skipped()[0].find("no saved position"), std::string::npos);
  EXPECT_EQ(fresh->BaselineCount(), 1);
}

// The snapshot's files hold exactly the state at its recorded position, for both tables at once,
// while a writer keeps changing them.
TEST(EngineSnapshot, ASnapshotWhileChangesStreamIsExactlyTheStateAtItsPosition) {
  Dir dir;
  auto source = ResumableSource(0);
  EngineRun run(source, dir.path(), false, 0ms, /*with_orders=*/true);
  ASSERT_TRUE(run.engine->AwaitReady(10s));
  // The writer's own log: (position, table, id, name or deleted).
  struct Op {
    std::uint64_t position;
    TableIdentifier table;
    std::int64_t id;
    std::optional<std::string> name;
  };
  std::mutex log_mu;
  std::vector<Op> log;
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    std::mt19937 rng(7);
    for (int n = 0; !stop.load(); ++n) {
      const auto& table = (n % 3 == 0) ? kOrders : kUsers;
      const std::int64_t id = static_cast<std::int64_t>(rng() % 200);
      std::lock_guard lk(log_mu);
      if (rng() % 5 == 0) {
        log.push_back({source->EmitDelete(table, User(id, "")), table, id, std::nullopt});
      } else {
        const auto name = "n" + std::to_string(n);
        log.push_back({source->EmitInsert(table, User(id, name)), table, id, name});
      }
    }
  });
  std::vector<snapshot::SnapshotMetadata> taken;
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(Eventually([&] { return source->CurrentPosition() > (i + 1) * 2000U; }));
    taken.push_back(run.engine->CreateSnapshot());
  }
  stop = true;
  writer.join();
  // keep = 2: the first is pruned; check the two kept.
  ASSERT_EQ(run.store->List().size(), 2U);
  for (std::size_t k = 1; k < taken.size(); ++k) {
    const auto at = PositionOf(taken[k]);
    EXPECT_GT(at, 0U);
    std::map<std::pair<TableIdentifier, std::int64_t>, std::string> expected;
    for (const auto& op : log) {
      if (op.position > at) break;
      if (op.name) {
        expected[{op.table, op.id}] = *op.name;
      } else {
        expected.erase({op.table, op.id});
      }
    }
    std::map<std::pair<TableIdentifier, std::int64_t>, std::string> actual;
    auto snapshot = run.store->Open(taken[k].id);
    for (const auto& entry : snapshot->metadata().tables) {
      auto rows = snapshot->OpenEntry(entry);
      Row row;
      while (rows->Next(row)) {
        actual[{entry.table, row.at("id").AsInt()}] = std::string(row.at("name").AsText());
      }
    }
    EXPECT_EQ(expected, actual) << "snapshot at " << at;
  }
}

TEST(EngineSnapshot, FanOutKeepsOneFileForEachTarget) {
  Dir dir;
  auto source = ResumableSource(30);
  auto second = std::make_shared<IndexedTarget>();
  std::string second_id;
  {
    EngineRun run(source, dir.path());
    ASSERT_TRUE(run.engine->AwaitReady(10s));
    const auto meta = run.engine->CreateSnapshot();
    EXPECT_EQ(meta.tables.size(), 1U);
  }
  // Two targets of one table: both need a file, so the one-file snapshot does not restore them.
  {
    auto events = std::make_shared<SnapshotEvents>();
    EngineOptions options = FastOptions(events);
    options.snapshots = {.store = std::make_shared<snapshot::LocalDirectoryStore>(
                             snapshot::LocalDirectoryStoreOptions{.directory = dir.path()}),
                         .interval = 0ms,
                         .on_shutdown = true};
    Engine engine(std::move(options));
    auto first = std::make_shared<IndexedTarget>();
    engine.AddSource("s", source);
    engine.AddPipeline("s", kUsers, first);
    second_id = engine.AddPipeline("s", kUsers, second);
    engine.Start();
    ASSERT_TRUE(engine.AwaitReady(10s));
    ASSERT_EQ(events->skipped().size(), 1U);
    EXPECT_NE(events->skipped()[0].find("no file for pipeline " + second_id), std::string::npos);
    engine.Stop();  // the shutdown snapshot holds both
    ASSERT_EQ(events->completed().size(), 1U);
  }
  auto events = std::make_shared<SnapshotEvents>();
  EngineOptions options = FastOptions(events);
  options.snapshots.store = std::make_shared<snapshot::LocalDirectoryStore>(
      snapshot::LocalDirectoryStoreOptions{.directory = dir.path()});
  Engine engine(std::move(options));
  auto a = std::make_shared<IndexedTarget>();
  auto b = std::make_shared<IndexedTarget>();
  engine.AddSource("s", source);
  engine.AddPipeline("s", kUsers, a);
  engine.AddPipeline("s", kUsers, b);
  engine.Start();
  ASSERT_TRUE(engine.AwaitReady(10s));
  EXPECT_EQ(events->restored().size(), 1U);
  EXPECT_EQ(events->rows(), 60U);
  EXPECT_EQ(a->Count(), 30U);
  EXPECT_EQ(b->Count(), 30U);
}

TEST(EngineSnapshot, AShutdownSnapshotMeansARestartReplaysNothing) {
  Dir dir;
  auto source = ResumableSource(25);
  {
    EngineRun run(source, dir.path(), /*on_shutdown=*/true);
    ASSERT_TRUE(run.engine->AwaitReady(10s));
    for (int i = 26; i <= 60; ++i) source->EmitInsert(kUsers, User(i, "s"));
    ASSERT_TRUE(run.Applied(source->CurrentPosition()));
    run.engine->Stop();
    ASSERT_EQ(run.events->completed().size(), 1U);
    EXPECT_EQ(source->LastAck(), source->CurrentPosition());  // the final ACK covers it all
  }
  const auto streams = source->StreamStarts().size();
  EngineRun again(source, dir.path());
  ASSERT_TRUE(again.engine->AwaitReady(10s));
  EXPECT_EQ(again.events->restored().size(), 1U);
  ASSERT_TRUE(Eventually([&] { return source->StreamStarts().size() > streams; }));
  EXPECT_EQ(source->StreamStarts().back(), source->CurrentPosition());
  EXPECT_EQ(again.users->Count(), 60U);
}

TEST(EngineSnapshot, TheScheduleTakesSnapshotsAndPrunesOldOnes) {
  Dir dir;
  auto source = ResumableSource(5);
  EngineRun run(source, dir.path(), false, 20ms);
  ASSERT_TRUE(run.engine->AwaitReady(10s));
  ASSERT_TRUE(Eventually([&] { return run.events->completed().size() >= 3; }));
  EXPECT_LE(run.store->List().size(), 2U);
  EXPECT_TRUE(run.events->failed().empty());
}

TEST(EngineSnapshot, RefusedWithAReasonWhenOffPausedOrNotReady) {
  Dir dir;
  {
    auto source = UsersSource();
    Engine engine(FastOptions());
    engine.AddSource("s", source);
    engine.AddPipeline("s", kUsers, std::make_shared<IndexedTarget>());
    engine.Start();
    try {
      engine.CreateSnapshot();
      FAIL() << "snapshots are off";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), codes::kSnapshotNotReady);
      EXPECT_NE(std::string(e.what()).find("snapshots are off"), std::string::npos);
    }
  }
  auto source = ResumableSource(5);
  EngineRun run(source, dir.path());
  ASSERT_TRUE(run.engine->AwaitReady(10s));
  run.engine->Pause("s");
  try {
    run.engine->CreateSnapshot();
    FAIL() << "paused";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), codes::kSnapshotNotReady);
    EXPECT_NE(std::string(e.what()).find("paused"), std::string::npos) << e.what();
  }
  run.engine->Resume("s");
  EXPECT_NO_THROW(run.engine->CreateSnapshot());
  EXPECT_TRUE(run.events->failed().empty());
}

// An IndexedTarget whose baseline completion waits until released: a baseline held in progress.
class HeldTarget final : public SyncTarget, public snapshot::SnapshotCapable {
 public:
  void Release() {
    {
      std::lock_guard lk(mu_);
      released_ = true;
    }
    cv_.notify_all();
  }
  void OnInit(const TableIdentifier& t, const std::vector<ColumnDefinition>& c) override {
    inner_.OnInit(t, c);
  }
  void OnBaselineBegin(const TableIdentifier& t, const std::vector<ColumnDefinition>& c) override {
    inner_.OnBaselineBegin(t, c);
  }
  void OnBaselineRow(const TableIdentifier& t, const Row& r) override {
    inner_.OnBaselineRow(t, r);
  }
  void OnBaselineComplete(const TableIdentifier& t) override {
    std::unique_lock lk(mu_);
    cv_.wait(lk, [&] { return released_; });
    inner_.OnBaselineComplete(t);
  }
  void OnInsert(const TableIdentifier& t, const Row& r) override { inner_.OnInsert(t, r); }
  void OnUpdate(const TableIdentifier& t, const Row& r, const Row& i) override {
    inner_.OnUpdate(t, r, i);
  }
  void OnDelete(const TableIdentifier& t, const Row& i) override { inner_.OnDelete(t, i); }
  void OnTruncate(const TableIdentifier& t) override { inner_.OnTruncate(t); }
  bool IsDurable() override { return true; }
  SchemaChangeResponse OnSchemaChange(const TableIdentifier& t,
                                      const std::vector<ColumnDefinition>& o,
                                      const std::vector<ColumnDefinition>& n) override {
    return inner_.OnSchemaChange(t, o, n);
  }
  void OnClose(const TableIdentifier& t) override { inner_.OnClose(t); }
  std::vector<ColumnDefinition> ExportColumns(const TableIdentifier& t) const override {
    return inner_.ExportColumns(t);
  }
  void Export(const TableIdentifier& t, snapshot::RowWriter& out) const override {
    inner_.Export(t, out);
  }
  void Restore(const TableIdentifier& t, const std::vector<ColumnDefinition>& c,
               snapshot::RowReader& rows) override {
    inner_.Restore(t, c, rows);
  }

 private:
  IndexedTarget inner_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool released_ = false;
};

TEST(EngineSnapshot, RefusedWhileABaselineIsInProgressAndTakenOnceItCompletes) {
  Dir dir;
  auto source = ResumableSource(50);
  auto held = std::make_shared<HeldTarget>();
  EngineOptions options = FastOptions();
  options.snapshots = {.store = std::make_shared<snapshot::LocalDirectoryStore>(
                           snapshot::LocalDirectoryStoreOptions{.directory = dir.path()}),
                       .interval = 0ms,
                       .on_shutdown = false};
  Engine engine(std::move(options));
  engine.AddSource("s", source);
  const auto id = engine.AddPipeline("s", kUsers, held);
  engine.Start();
  ASSERT_TRUE(Eventually([&] { return engine.Pipeline(id).baseline_rows == 50; }));
  try {
    engine.CreateSnapshot();
    FAIL() << "the baseline is in progress";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), codes::kSnapshotNotReady);
    EXPECT_NE(std::string(e.what()).find("not ready"), std::string::npos) << e.what();
  }
  held->Release();
  ASSERT_TRUE(engine.AwaitReady(10s));
  // As soon as it is ready, a snapshot can be taken (the barriers opened with the baseline's end).
  const auto meta = engine.CreateSnapshot();
  EXPECT_EQ(meta.tables.at(0).row_count, 50U);
}

// Faults in combination: a stream interrupted around snapshots, then a re-baseline, then a
// restart: each restart ends equal to the source, and the ACK never passes a restorable point.
TEST(EngineSnapshot, InterruptionsRebaselinesAndRestartsAroundSnapshotsLoseNothing) {
  Dir dir;
  auto source = ResumableSource(100);
  std::mt19937 rng(11);
  for (int restart = 0; restart < 4; ++restart) {
    EngineRun run(source, dir.path(), /*on_shutdown=*/restart % 2 == 1);
    ASSERT_TRUE(run.engine->AwaitReady(10s)) << run.engine->NotReadyReason();
    for (int step = 0; step < 6; ++step) {
      const auto id = static_cast<std::int64_t>(rng() % 150);
      switch (rng() % 5) {
        case 0:
          source->InterruptStream("connection lost");
          break;
        case 1:
          if (step == 3) source->EndStreamRequiringRebaseline("slot invalidated");
          break;
        default:
          break;
      }
      for (int i = 0; i < 30; ++i) {
        source->EmitInsert(kUsers, User(id + i, "r" + std::to_string(restart)));
      }
      source->EmitDelete(kUsers, User(id, ""));
      ASSERT_TRUE(run.engine->AwaitReady(10s)) << run.engine->NotReadyReason();
      ASSERT_TRUE(run.Applied(source->CurrentPosition()));
      if (step % 2 == 1) run.engine->CreateSnapshot();
    }
    ExpectSameRows(source->Contents(kUsers), Sorted(run.users->All()));
  }
  EngineRun last(source, dir.path());
  ASSERT_TRUE(last.engine->AwaitReady(10s));
  ASSERT_TRUE(last.Applied(source->CurrentPosition()));
  ExpectSameRows(source->Contents(kUsers), Sorted(last.users->All()));
}

// A source whose saved position cannot be read for a moment (its server restarting).
class SlowToAnswer final : public TestSource {
 public:
  using TestSource::TestSource;
  std::atomic<int> failures{0};
  Position LastAckedPosition() override {
    if (failures.load() > 0) {
      failures.fetch_sub(1);
      throw RetryableError("test_unavailable", "the server is starting up");
    }
    return TestSource::LastAckedPosition();
  }
};

TEST(EngineSnapshot, AFailureToReadTheSavedPositionIsRetriedAndTheRestoreStillHappens) {
  Dir dir;
  auto source = std::make_shared<SlowToAnswer>(testsource::TestSourceOptions{.resumable = true});
  source->SetSchema(kUsers, IdNameColumns());
  for (int i = 1; i <= 30; ++i) source->AddRow(kUsers, User(i, "r"));
  {
    EngineRun run(source, dir.path(), /*on_shutdown=*/true);
    ASSERT_TRUE(run.engine->AwaitReady(10s));
  }
  source->failures = 2;
  EngineRun again(source, dir.path());
  ASSERT_TRUE(again.engine->AwaitReady(10s)) << again.engine->NotReadyReason();
  EXPECT_EQ(source->failures.load(), 0);
  EXPECT_EQ(again.events->restored().size(), 1U);
  EXPECT_EQ(source->BaselineCount(), 1);
  EXPECT_EQ(again.users->Count(), 30U);
}

TEST(ArchiveSource, ServesASnapshotAsABaselineWithoutAStream) {
  Dir dir;
  auto source = ResumableSource(120);
  std::string id;
  {
    EngineRun run(source, dir.path(), false, 0ms, /*with_orders=*/true);
    ASSERT_TRUE(run.engine->AwaitReady(10s));
    source->EmitInsert(kOrders, User(1, "order"));
    ASSERT_TRUE(run.Applied(source->CurrentPosition()));
    id = run.engine->CreateSnapshot().id;
  }
  auto store = std::make_shared<snapshot::LocalDirectoryStore>(
      snapshot::LocalDirectoryStoreOptions{.directory = dir.path()});
  auto archive = std::make_shared<snapshot::ArchiveSource>(
      snapshot::ArchiveSourceOptions{.store = store, .snapshot_id = {}});
  Engine engine(FastOptions());
  auto users = std::make_shared<IndexedTarget>();
  auto orders = std::make_shared<IndexedTarget>();
  engine.AddSource("archive", archive);
  engine.AddPipeline("archive", kUsers, users);
  engine.AddPipeline("archive", kOrders, orders);
  engine.Start();
  ASSERT_TRUE(engine.AwaitReady(10s)) << engine.NotReadyReason();
  EXPECT_EQ(archive->SnapshotId(), id);
  ExpectSameRows(source->Contents(kUsers), users->All());
  ASSERT_EQ(orders->Count(), 1U);
  EXPECT_TRUE(
      Eventually([&] { return engine.LastAckedPositionString("archive") == "archive:" + id; }));
  EXPECT_THROW((void)archive->PositionFromString("archive:nope"), DataError);
}

TEST(ArchiveSource, ATableTheSnapshotLacksIsAValidationErrorAndAnEmptyStoreAClearOne) {
  Dir dir;
  auto store = std::make_shared<snapshot::LocalDirectoryStore>(
      snapshot::LocalDirectoryStoreOptions{.directory = dir.path()});
  {
    Engine engine(FastOptions());
    engine.AddSource("archive", std::make_shared<snapshot::ArchiveSource>(
                                    snapshot::ArchiveSourceOptions{.store = store}));
    engine.AddPipeline("archive", kUsers, std::make_shared<IndexedTarget>());
    engine.Start();
    EXPECT_FALSE(engine.AwaitReady(10s));
    EXPECT_NE(engine.SourceError("archive").value_or("").find("store is empty"), std::string::npos)
        << engine.SourceError("archive").value_or("");
  }
  auto source = ResumableSource(3);
  {
    EngineRun run(source, dir.path());
    ASSERT_TRUE(run.engine->AwaitReady(10s));
    run.engine->CreateSnapshot();
  }
  Engine engine(FastOptions());
  engine.AddSource("archive", std::make_shared<snapshot::ArchiveSource>(
                                  snapshot::ArchiveSourceOptions{.store = store}));
  engine.AddPipeline("archive", kOrders, std::make_shared<IndexedTarget>());
  engine.Start();
  EXPECT_FALSE(engine.AwaitReady(10s));
  const auto error = engine.SourceError("archive").value_or("");
  EXPECT_NE(error.find("TABLE_NOT_FOUND"), std::string::npos) << error;
  EXPECT_EQ(error.find("returned no columns"), std::string::npos) << "one problem, said once";
  EXPECT_NE(error.find("public.orders"), std::string::npos) << error;
}

}  // namespace
}  // namespace laredo::testing
