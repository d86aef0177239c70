// The fixture of the tests that load one table while the stream flows (reload_it_test.cpp,
// add_table_it_test.cpp): two tables, a writer that makes every kind of change, and waits.
#pragma once

#include <fmt/format.h>

#include <atomic>
#include <thread>

#include "pg_harness.hpp"

namespace laredo::pg::testing {

/// A target that takes `delay` for every batch of changes and otherwise is `inner`: the stream
/// then spends much of its time blocked on backpressure, with a small buffer.
class SlowTarget final : public SyncTarget {
 public:
  SlowTarget(std::shared_ptr<memory::IndexedTarget> inner, std::chrono::microseconds delay)
      : inner_(std::move(inner)), delay_(delay) {}
  void OnInit(const TableIdentifier& t, const std::vector<ColumnDefinition>& c) override {
    inner_->OnInit(t, c);
  }
  void OnBaselineBegin(const TableIdentifier& t, const std::vector<ColumnDefinition>& c) override {
    inner_->OnBaselineBegin(t, c);
  }
  void OnBaselineRow(const TableIdentifier& t, const Row& row) override {
    inner_->OnBaselineRow(t, row);
  }
  void OnBaselineComplete(const TableIdentifier& t) override { inner_->OnBaselineComplete(t); }
  void OnInsert(const TableIdentifier& t, const Row& row) override { inner_->OnInsert(t, row); }
  void OnUpdate(const TableIdentifier& t, const Row& row, const Row& identity) override {
    inner_->OnUpdate(t, row, identity);
  }
  void OnDelete(const TableIdentifier& t, const Row& identity) override {
    inner_->OnDelete(t, identity);
  }
  void OnTruncate(const TableIdentifier& t) override { inner_->OnTruncate(t); }
  void OnChanges(const TableIdentifier& t, std::span<const TargetChange> changes) override {
    std::this_thread::sleep_for(delay_);  // the slowness under test, not a synchronisation
    inner_->OnChanges(t, changes);
  }
  bool IsDurable() override { return inner_->IsDurable(); }
  bool CanReadRows() override { return inner_->CanReadRows(); }
  std::optional<Row> ReadRow(const TableIdentifier& t, const Row& identity) override {
    return inner_->ReadRow(t, identity);
  }
  SchemaChangeResponse OnSchemaChange(const TableIdentifier& t,
                                      const std::vector<ColumnDefinition>& old_columns,
                                      const std::vector<ColumnDefinition>& new_columns) override {
    return inner_->OnSchemaChange(t, old_columns, new_columns);
  }
  void OnClose(const TableIdentifier& t) override { inner_->OnClose(t); }

 private:
  const std::shared_ptr<memory::IndexedTarget> inner_;
  const std::chrono::microseconds delay_;
};

class PgReloadTest : public PgTest {
 public:
  void CreateTables(int rows) {
    Exec("CREATE TABLE " + Q("t") + " (id bigint PRIMARY KEY, v text, big text)");
    // Stored out of line: an update leaving it alone sends it as unchanged.
    Exec("ALTER TABLE " + Q("t") + " ALTER big SET STORAGE EXTERNAL");
    Exec(
        fmt::format("INSERT INTO {} SELECT g, 'v' || g, repeat(md5(g::text), 100) FROM "
                    "generate_series(1, {}) g",
                    Q("t"), rows));
    Exec("CREATE TABLE " + Q("u") + " (id bigint PRIMARY KEY, v text)");
    Exec("INSERT INTO " + Q("u") + " SELECT g, 'u' || g FROM generate_series(1, 100) g");
  }
  SourceOptions ReloadOptions(std::size_t chunk_rows, std::chrono::milliseconds pause) {
    auto o = Options();
    o.reload_chunk_rows = chunk_rows;
    o.reload_chunk_pause = pause;
    return o;
  }

  // Writes to t (and u) until stopped: every kind of change, on rows read and not yet read. Keys
  // move below the range and new ones are added above it, past where the reload's scan ends
  // (their rows reach the copy through the stream).
  // `spared`: ids 1..spared are left alone.
  class Writer {
   public:
    Writer(PgReloadTest& test, std::int64_t rows, std::int64_t spared = 0)
        : test_(test), rows_(rows), spared_(spared) {
      thread_ = std::jthread([this](const std::stop_token& stop) { Run(stop); });
    }
    ~Writer() { Stop(); }
    void Stop() {
      thread_.request_stop();
      if (thread_.joinable()) thread_.join();
    }
    int rounds() const { return rounds_.load(); }

   private:
    void Run(const std::stop_token& stop) {
      auto conn = PgConnection::Connect(test_.conninfo_, ConnectionKind::Normal, "laredo test");
      const auto t = test_.Q("t");
      std::int64_t next = rows_ + 1;
      const auto pick = [&](std::int64_t x) { return spared_ + 1 + x % (rows_ - spared_); };
      for (std::int64_t i = 0; !stop.stop_requested(); ++i) {
        const std::int64_t a = pick(i * 7919);  // spread over the whole key range
        const std::int64_t b = pick(i * 104729 + 13);
        conn.Exec(fmt::format("BEGIN; UPDATE {0} SET v = 'w{1}' WHERE id = {2}; "
                              "DELETE FROM {0} WHERE id = {3}; "
                              "INSERT INTO {0} VALUES ({4}, 'new', repeat('n', 3000)); "
                              "UPDATE {0} SET id = -id WHERE id = {5}; "
                              "UPDATE {0} SET big = repeat(md5('{1}'), 90) WHERE id = {6}; "
                              "INSERT INTO {7} VALUES ({8}, 'u') ON CONFLICT DO NOTHING; COMMIT",
                              t, i, a, b, next, pick(a + 17), pick(b + 29), test_.Q("u"), 1000 + i),
                  "writing");
        ++next;
        ++rounds_;
      }
    }
    PgReloadTest& test_;
    const std::int64_t rows_;
    const std::int64_t spared_;
    std::atomic<int> rounds_{0};
    std::jthread thread_;
  };

  /// Replicates t alone into `target` and waits until it is ready.
  void StartT(Harness& h, const std::shared_ptr<memory::IndexedTarget>& target) {
    h.engine.AddPipeline("pg", T("t"), target);
    h.engine.Start();
    ASSERT_TRUE(h.engine.AwaitReady(30s)) << h.engine.NotReadyReason();
  }

  ::testing::AssertionResult ReloadDone(const Source& source, std::uint64_t completed = 1) {
    if (Eventually([&] { return source.ReloadStatistics().completed >= completed; }, 60s)) {
      return ::testing::AssertionSuccess();
    }
    const auto s = source.ReloadStatistics();
    return ::testing::AssertionFailure()
           << "reload not done: requested " << s.requested << ", completed " << s.completed
           << ", restarted " << s.restarted << ", chunks " << s.chunks << ", rows " << s.rows
           << ", failed reads " << s.failed_reads << ", last error: " << s.last_error;
  }
};

}  // namespace laredo::pg::testing
