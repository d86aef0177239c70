// The fixture of the tests that load one table while the stream flows (reload_it_test.cpp,
// add_table_it_test.cpp): two tables, a writer that makes every kind of change, and waits.
#pragma once

#include <fmt/format.h>

#include <atomic>
#include <thread>

#include "pg_harness.hpp"

namespace laredo::pg::testing {

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
  class Writer {
   public:
    Writer(PgReloadTest& test, std::int64_t rows) : test_(test), rows_(rows) {
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
      for (std::int64_t i = 0; !stop.stop_requested(); ++i) {
        const std::int64_t a = 1 + (i * 7919) % rows_;  // spread over the whole key range
        const std::int64_t b = 1 + (i * 104729 + 13) % rows_;
        conn.Exec(fmt::format("BEGIN; UPDATE {0} SET v = 'w{1}' WHERE id = {2}; "
                              "DELETE FROM {0} WHERE id = {3}; "
                              "INSERT INTO {0} VALUES ({4}, 'new', repeat('n', 3000)); "
                              "UPDATE {0} SET id = -id WHERE id = {5}; "
                              "UPDATE {0} SET big = repeat(md5('{1}'), 90) WHERE id = {6}; "
                              "INSERT INTO {7} VALUES ({8}, 'u') ON CONFLICT DO NOTHING; COMMIT",
                              t, i, a, b, next, (a + 17) % rows_ + 1, (b + 29) % rows_ + 1,
                              test_.Q("u"), 1000 + i),
                  "writing");
        ++next;
        ++rounds_;
      }
    }
    PgReloadTest& test_;
    const std::int64_t rows_;
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
