#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "laredo/laredo.hpp"

namespace laredo::testing {

/// A durable target for the fault-schedule harness. It applies changes to a map keyed by the
/// row's "id", makes them durable when the engine asks `IsDurable` (unless a non-durable window
/// is open), and on `Crash()` forgets what was not durable, as a database losing its process
/// would. It keeps state across restarts once a baseline completed durably. Faults: retryable
/// or fatal failures of the next writes, poison rows (a `DataError` for every write of them), and
/// a gate that stalls writes. Thread-safe.
class JournalTarget : public SyncTarget {
 public:
  /// `baseline_position` tells where the baseline being completed ends (the source's answer).
  explicit JournalTarget(std::function<std::uint64_t()> baseline_position)
      : baseline_position_(std::move(baseline_position)) {}

  void OnInit(const TableIdentifier&, const std::vector<ColumnDefinition>&) override {}
  void OnBaselineBegin(const TableIdentifier&, const std::vector<ColumnDefinition>&) override {
    Write(nullptr, [&] {
      rows_.clear();
      in_baseline_ = true;
      Log("begin");
    });
  }
  void OnBaselineRow(const TableIdentifier&, const Row& row) override {
    Write(&row, [&] { rows_[Id(row)] = row; });
  }
  void OnBaselineComplete(const TableIdentifier&) override {
    const auto position = baseline_position_();
    std::lock_guard lk(mu_);
    in_baseline_ = false;
    completed_ = true;
    applied_ = std::max(applied_, position);
    Log("complete@" + std::to_string(position));
  }
  void OnInsert(const TableIdentifier&, const Row& row) override {
    Write(&row, [&] { rows_[Id(row)] = row; });
  }
  void OnUpdate(const TableIdentifier&, const Row& row, const Row& identity) override {
    Write(&row, [&] {
      rows_.erase(Id(identity));
      rows_[Id(row)] = row;
    });
  }
  void OnDelete(const TableIdentifier&, const Row& identity) override {
    Write(nullptr, [&] {
      rows_.erase(Id(identity));
      Log("del" + std::to_string(Id(identity)));
    });
  }
  void OnTruncate(const TableIdentifier&) override {
    Write(nullptr, [&] {
      rows_.clear();
      Log("trunc");
    });
  }
  bool IsDurable() override {
    std::lock_guard lk(mu_);
    if (!durable_now_) return false;
    if (durable_.applied != applied_) Log("durable@" + std::to_string(applied_));
    durable_ = {rows_, in_baseline_, completed_, applied_};
    return true;
  }
  bool KeepsStateAcrossRestarts() override {
    std::lock_guard lk(mu_);
    return durable_.completed && !durable_.in_baseline;
  }
  SchemaChangeResponse OnSchemaChange(const TableIdentifier&,
                                      const std::vector<ColumnDefinition>& old_columns,
                                      const std::vector<ColumnDefinition>& new_columns) override {
    for (const auto& c : old_columns) {
      const bool kept = std::any_of(new_columns.begin(), new_columns.end(),
                                    [&](const ColumnDefinition& n) { return n.name == c.name; });
      if (!kept) {
        std::lock_guard lk(mu_);
        Log("schema:rebaseline");
        return {SchemaChangeResponse::Action::ReBaseline, "column " + c.name + " dropped"};
      }
    }
    std::lock_guard lk(mu_);
    Log("schema:" + std::to_string(new_columns.size()));
    return {};
  }
  void OnClose(const TableIdentifier&) override {}

  // --- harness ---------------------------------------------------------------------------------
  /// The engine applied (or dead-lettered) the change at `position` (observer, worker thread).
  void NoteApplied(std::uint64_t position) {
    std::lock_guard lk(mu_);
    applied_ = std::max(applied_, position);
    Log("applied@" + std::to_string(position));
  }
  /// Every change of this target's table at or before this position is durable here.
  std::uint64_t DurablePosition() const {
    std::lock_guard lk(mu_);
    return durable_.applied;
  }
  /// What happened to this target, for a failing schedule's report.
  std::string History() const {
    std::lock_guard lk(mu_);
    return history_;
  }
  std::map<std::int64_t, Row> DurableRows() const {
    std::lock_guard lk(mu_);
    return durable_.rows;
  }
  /// The process died: what was not durable is gone.
  void Crash() {
    std::lock_guard lk(mu_);
    Log("crash");
    rows_ = durable_.rows;
    in_baseline_ = durable_.in_baseline;
    completed_ = durable_.completed;
    applied_ = durable_.applied;
  }
  void FailNext(int writes, bool fatal) {
    std::lock_guard lk(mu_);
    fail_next_ = writes;
    fail_fatal_ = fatal;
  }
  void SetPoison(std::function<bool(const Row&)> poison) {
    std::lock_guard lk(mu_);
    poison_ = std::move(poison);
  }
  void SetDurable(bool durable) {
    std::lock_guard lk(mu_);
    durable_now_ = durable;
  }
  void SetGate(bool open) {
    {
      std::lock_guard lk(mu_);
      gate_open_ = open;
    }
    cv_.notify_all();
  }
  /// Clears every armed fault except poison (the final, fault-free run).
  void Heal() {
    SetGate(true);
    std::lock_guard lk(mu_);
    fail_next_ = 0;
    durable_now_ = true;
  }

 private:
  struct Durable {
    std::map<std::int64_t, Row> rows;
    bool in_baseline = false;
    bool completed = false;
    std::uint64_t applied = 0;
  };

  static std::int64_t Id(const Row& row) { return row.at("id").AsInt(); }
  void Log(const std::string& event) { history_ += " " + event; }

  template <typename Fn>
  void Write(const Row* row, Fn&& apply) {
    std::unique_lock lk(mu_);
    cv_.wait(lk, [&] { return gate_open_; });
    if (fail_next_ > 0) {
      --fail_next_;
      Log("fail");
      if (fail_fatal_) throw FatalError("journal_fatal", "injected fatal failure");
      throw RetryableError("journal_down", "injected transient failure");
    }
    if (row != nullptr && poison_ && poison_(*row)) {
      throw DataError("journal_poison", "poison row " + row->ToString());
    }
    apply();
  }

  const std::function<std::uint64_t()> baseline_position_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::int64_t, Row> rows_;
  bool in_baseline_ = false;
  bool completed_ = false;
  std::uint64_t applied_ = 0;
  Durable durable_;
  bool durable_now_ = true;
  bool gate_open_ = true;
  int fail_next_ = 0;
  bool fail_fatal_ = false;
  std::function<bool(const Row&)> poison_;
  std::string history_;
};

}  // namespace laredo::testing
