// A reload of one table cut short by a restart of the consuming process, against a real server:
// a target that keeps its rows (and the copy it was building) across restarts keeps the reload's
// checkpoints too, the slot is not confirmed past the newest of them, and the next run continues
// the reload from there instead of reading the table again from its first key, under a writer
// that keeps changing rows read and not yet read. A checkpoint the source cannot use (corrupt)
// makes the next run reload from nothing instead. Both end with the replica equal to SELECT *.
// The writer leaves the first 2,000 ids alone, so whether the next run read them again tells a
// continued reload from one begun again.
#include <fmt/format.h>

#include <algorithm>
#include <mutex>

#include "reload_checkpoint.hpp"
#include "reload_harness.hpp"

namespace laredo::pg::testing {
namespace {

/// What a target that keeps state holds; it outlives the engines (the "process").
struct KeptState {
  mutable std::mutex mu;
  std::map<std::string, Row> rows;   // what readers see
  std::map<std::string, Row> aside;  // the copy a baseline or reload builds
  bool building = false;
  bool completed = false;
  std::optional<std::string> checkpoint;
  std::optional<std::string> corrupt;  // handed back instead of the checkpoint when set
  int checkpoints = 0;
  /// Baseline and reload rows of this run, by id.
  std::vector<std::int64_t> loaded;

  std::map<std::string, Row>& Copy() { return building ? aside : rows; }
  std::map<std::string, Row> Rows() const {
    std::lock_guard lk(mu);
    return rows;
  }
};

/// Everything it applies is durable at once, like a database committing every call.
class KeptTarget final : public SyncTarget {
 public:
  explicit KeptTarget(std::shared_ptr<KeptState> state) : s_(std::move(state)) {}

  void OnInit(const TableIdentifier&, const std::vector<ColumnDefinition>&) override {}
  void OnBaselineBegin(const TableIdentifier&, const std::vector<ColumnDefinition>&) override {
    std::lock_guard lk(s_->mu);
    s_->aside.clear();
    s_->building = true;
    s_->checkpoint.reset();
  }
  void OnBaselineRow(const TableIdentifier&, const Row& row) override {
    std::lock_guard lk(s_->mu);
    s_->aside[Id(row)] = row;
    s_->loaded.push_back(row.at("id").AsInt());
  }
  void OnBaselineComplete(const TableIdentifier&) override {
    std::lock_guard lk(s_->mu);
    s_->rows = std::move(s_->aside);
    s_->aside.clear();
    s_->building = false;
    s_->completed = true;
    s_->checkpoint.reset();
  }
  void OnInsert(const TableIdentifier&, const Row& row) override {
    std::lock_guard lk(s_->mu);
    s_->Copy()[Id(row)] = row;
  }
  void OnUpdate(const TableIdentifier&, const Row& row, const Row& identity) override {
    std::lock_guard lk(s_->mu);
    s_->Copy().erase(Id(identity));
    s_->Copy()[Id(row)] = row;
  }
  void OnDelete(const TableIdentifier&, const Row& identity) override {
    std::lock_guard lk(s_->mu);
    s_->Copy().erase(Id(identity));  // a row it may lack: harmless
  }
  void OnTruncate(const TableIdentifier&) override {
    std::lock_guard lk(s_->mu);
    s_->Copy().clear();
  }
  bool IsDurable() override { return true; }
  bool KeepsStateAcrossRestarts() override {
    std::lock_guard lk(s_->mu);
    return s_->completed && (!s_->building || s_->checkpoint.has_value());
  }
  void OnReloadCheckpoint(const TableIdentifier&, const std::string& checkpoint) override {
    std::lock_guard lk(s_->mu);
    s_->checkpoint = checkpoint;
    ++s_->checkpoints;
  }
  std::optional<std::string> ReloadCheckpoint(const TableIdentifier&) override {
    std::lock_guard lk(s_->mu);
    return s_->corrupt ? s_->corrupt : s_->checkpoint;
  }
  bool CanReadRows() override { return true; }
  std::optional<Row> ReadRow(const TableIdentifier&, const Row& identity) override {
    std::lock_guard lk(s_->mu);
    const auto it = s_->Copy().find(Id(identity));
    if (it == s_->Copy().end()) return std::nullopt;
    return it->second;
  }
  SchemaChangeResponse OnSchemaChange(const TableIdentifier&, const std::vector<ColumnDefinition>&,
                                      const std::vector<ColumnDefinition>&) override {
    return {};
  }
  void OnClose(const TableIdentifier&) override {}

 private:
  static std::string Id(const Row& row) { return row.at("id").ToString(); }
  const std::shared_ptr<KeptState> s_;
};

class PgReloadRestartTest : public PgReloadTest {
 protected:
  static constexpr int kRows = 20000;
  /// Ids the writer leaves alone, inside the first chunks merged before the stop: a continued
  /// reload has no reason to read them again, one from nothing reads each once.
  static constexpr std::int64_t kLow = 2000;

  /// Run 1: baselines t, reloads it under the writer, and stops once 8 chunks were checkpointed.
  /// Returns the checkpoint the target kept.
  void CutAReloadShort(const std::shared_ptr<KeptState>& state, std::optional<Writer>& writer) {
    Harness h(ReloadOptions(500, 30ms));
    h.engine.AddPipeline("pg", T("t"), std::make_shared<KeptTarget>(state));
    h.engine.Start();
    ASSERT_TRUE(h.engine.AwaitReady(60s)) << h.engine.NotReadyReason();
    h.engine.ReloadTable("pg", T("t"));
    writer.emplace(*this, kRows, kLow);  // the first chunks' rows stay as they are
    ASSERT_TRUE(Eventually(
        [&] {
          std::lock_guard lk(state->mu);
          return state->checkpoints >= 8;
        },
        60s));
    h.engine.Stop();
    const auto stats = h.source->ReloadStatistics();
    EXPECT_EQ(stats.completed, 0U) << "the reload ended before the stop: nothing to continue";
    std::lock_guard lk(state->mu);
    ASSERT_TRUE(state->checkpoint);
    EXPECT_TRUE(state->building);
    // The slot was not confirmed past the checkpoint the target holds (the writer made the ACK
    // move on well past it): the next run streams every change after it again.
    const auto held = ReloadCheckpoint::Decode(*state->checkpoint);
    const auto confirmed = ConfirmedFlush();
    ASSERT_TRUE(confirmed);
    EXPECT_LE(confirmed->value(), held.through.ack_lsn.value());
    state->loaded.clear();
  }

  /// Rows of ids 1..kLow the run loaded.
  static std::size_t LowRows(const KeptState& state) {
    std::lock_guard lk(state.mu);
    return static_cast<std::size_t>(
        std::count_if(state.loaded.begin(), state.loaded.end(),
                      [](std::int64_t id) { return id >= 1 && id <= kLow; }));
  }

  ::testing::AssertionResult Exact(const KeptState& state) {
    if (Eventually([&] { return state.Rows() == ReadTable("t"); }, 30s)) {
      return ::testing::AssertionSuccess();
    }
    return ::testing::AssertionFailure() << "the replica holds " << state.Rows().size()
                                         << " rows, the table " << ReadTable("t").size();
  }
};

TEST_F(PgReloadRestartTest, AReloadCutShortByARestartContinuesFromItsCheckpoint) {
  CreateTables(kRows);
  auto state = std::make_shared<KeptState>();
  std::optional<Writer> writer;
  ASSERT_NO_FATAL_FAILURE(CutAReloadShort(state, writer));

  Harness h(ReloadOptions(500, 0ms));
  h.engine.AddPipeline("pg", T("t"), std::make_shared<KeptTarget>(state));
  h.engine.Start();
  ASSERT_TRUE(ReloadDone(*h.source));
  writer->Stop();
  EXPECT_TRUE(Exact(*state));
  const auto stats = h.source->ReloadStatistics();
  EXPECT_EQ(stats.resumed, 1U);
  EXPECT_EQ(stats.restarted, 0U);
  EXPECT_EQ(stats.requested, 0U);
  EXPECT_TRUE(h.observer->Rebaselines().empty());
  // Continued: the first chunks are not read again (only keys changed since are read again).
  EXPECT_EQ(LowRows(*state), 0U);
  EXPECT_TRUE(h.engine.AwaitReady(30s)) << h.engine.NotReadyReason();
  std::lock_guard lk(state->mu);
  EXPECT_FALSE(state->checkpoint);  // forgotten at the end
}

TEST_F(PgReloadRestartTest, ACorruptCheckpointMakesTheNextRunReloadFromNothing) {
  CreateTables(kRows);
  auto state = std::make_shared<KeptState>();
  std::optional<Writer> writer;
  ASSERT_NO_FATAL_FAILURE(CutAReloadShort(state, writer));
  {
    std::lock_guard lk(state->mu);
    state->corrupt = "pgreload1:{\"schema\": \"public\"";  // cut short
  }

  Harness h(ReloadOptions(500, 0ms));
  h.engine.AddPipeline("pg", T("t"), std::make_shared<KeptTarget>(state));
  h.engine.Start();
  ASSERT_TRUE(ReloadDone(*h.source));
  writer->Stop();
  {
    std::lock_guard lk(state->mu);
    state->corrupt.reset();
  }
  EXPECT_TRUE(Exact(*state));
  const auto stats = h.source->ReloadStatistics();
  EXPECT_EQ(stats.resumed, 0U);
  EXPECT_EQ(stats.requested, 1U);  // the engine asked for a reload from nothing
  EXPECT_TRUE(h.observer->Rebaselines().empty());
  EXPECT_GE(LowRows(*state), static_cast<std::size_t>(kLow));  // read from the first key again
}

}  // namespace
}  // namespace laredo::pg::testing
