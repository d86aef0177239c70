#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "laredo/laredo.hpp"
#include "laredo/testsource/test_source.hpp"

namespace laredo::testing {

using namespace std::chrono_literals;

/// Waits for `condition` to hold, re-checking every millisecond, up to `timeout`.
inline bool Eventually(const std::function<bool()>& condition,
                       std::chrono::milliseconds timeout = 10s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

inline const TableIdentifier kUsers = Table("public", "users");
inline const TableIdentifier kOrders = Table("public", "orders");

inline std::vector<ColumnDefinition> IdNameColumns() {
  return {
      {.name = "id",
       .type = "bigint",
       .nullable = false,
       .ordinal_position = 1,
       .primary_key = true,
       .primary_key_ordinal = 1},
      {.name = "name", .type = "text", .ordinal_position = 2},
  };
}

inline Row User(std::int64_t id, std::string name) {
  return Row{{"id", id}, {"name", std::move(name)}};
}

/// A test source with the users and orders tables declared, both (id bigint pk, name text).
inline std::shared_ptr<testsource::TestSource> UsersSource(
    testsource::TestSourceOptions options = {}) {
  auto source = std::make_shared<testsource::TestSource>(options);
  source->SetSchema(kUsers, IdNameColumns());
  source->SetSchema(kOrders, IdNameColumns());
  return source;
}

/// A target that records every call, can be made slow, can be gated (blocks applying until
/// opened), can fail chosen rows, and controls its durability. Thread-safe.
class RecordingTarget : public SyncTarget {
 public:
  struct Call {
    std::string op;
    Row row;
    Row identity;
  };

  void OnInit(const TableIdentifier&, const std::vector<ColumnDefinition>& columns) override {
    Record({"init", {}, {}});
    std::lock_guard lk(mu_);
    columns_ = columns;
  }
  void OnBaselineRow(const TableIdentifier&, const Row& row) override {
    Apply("baseline", row, {});
  }
  void OnBaselineComplete(const TableIdentifier&) override {
    Record({"baseline_complete", {}, {}});
  }
  void OnInsert(const TableIdentifier&, const Row& row) override { Apply("insert", row, {}); }
  void OnUpdate(const TableIdentifier&, const Row& row, const Row& identity) override {
    Apply("update", row, identity);
  }
  void OnDelete(const TableIdentifier&, const Row& identity) override {
    Apply("delete", {}, identity);
  }
  void OnTruncate(const TableIdentifier&) override { Record({"truncate", {}, {}}); }
  bool IsDurable() override { return durable_.load(); }
  bool KeepsStateAcrossRestarts() override { return keeps_state_; }
  SchemaChangeResponse OnSchemaChange(const TableIdentifier&, const std::vector<ColumnDefinition>&,
                                      const std::vector<ColumnDefinition>& columns) override {
    Record({"schema_change", {}, {}});
    std::lock_guard lk(mu_);
    columns_ = columns;
    return schema_response_;
  }
  void OnClose(const TableIdentifier&) override { Record({"close", {}, {}}); }

  // --- controls ---
  void SetDurable(bool durable) { durable_ = durable; }
  void SetKeepsState(bool keeps) { keeps_state_ = keeps; }
  void SetDelay(std::chrono::microseconds delay) { delay_ = delay; }
  void SetSchemaResponse(SchemaChangeResponse r) {
    std::lock_guard lk(mu_);
    schema_response_ = std::move(r);
  }
  /// Rows whose "id" is `id` fail `times` times (forever when negative).
  void FailId(std::int64_t id, int times) {
    std::lock_guard lk(mu_);
    failures_[id] = times;
  }
  void CloseGate() {
    std::lock_guard lk(mu_);
    gate_open_ = false;
  }
  void OpenGate() {
    {
      std::lock_guard lk(mu_);
      gate_open_ = true;
    }
    cv_.notify_all();
  }
  /// Waits until a call is blocked at the closed gate.
  bool AwaitBlocked(std::chrono::milliseconds timeout = 10s) {
    std::unique_lock lk(mu_);
    return cv_.wait_for(lk, timeout, [&] { return blocked_ > 0; });
  }

  // --- inspection ---
  std::vector<Call> Calls() const {
    std::lock_guard lk(mu_);
    return calls_;
  }
  std::size_t CountOf(const std::string& op) const {
    std::lock_guard lk(mu_);
    std::size_t n = 0;
    for (const auto& c : calls_) n += c.op == op ? 1 : 0;
    return n;
  }
  std::size_t Applied() const {
    std::lock_guard lk(mu_);
    return applied_;
  }
  bool AwaitApplied(std::size_t n, std::chrono::milliseconds timeout = 10s) const {
    std::unique_lock lk(mu_);
    return cv_.wait_for(lk, timeout, [&] { return applied_ >= n; });
  }
  std::vector<ColumnDefinition> Columns() const {
    std::lock_guard lk(mu_);
    return columns_;
  }
  int Attempts() const { return attempts_.load(); }

 private:
  void Record(Call call) {
    {
      std::lock_guard lk(mu_);
      calls_.push_back(std::move(call));
    }
    cv_.notify_all();
  }
  void Apply(const std::string& op, const Row& row, const Row& identity) {
    ++attempts_;
    {
      std::unique_lock lk(mu_);
      if (!gate_open_) {
        ++blocked_;
        cv_.notify_all();
        cv_.wait(lk, [&] { return gate_open_; });
        --blocked_;
      }
      const Row& keyed = row.empty() ? identity : row;
      if (const Value* id = keyed.Find("id"); id != nullptr && id->kind() == Value::Kind::Int) {
        auto it = failures_.find(id->AsInt());
        if (it != failures_.end() && it->second != 0) {
          if (it->second > 0) --it->second;
          throw RetryableError("test_failure", "injected failure for id " + id->ToString());
        }
      }
    }
    if (const auto delay = delay_.load(); delay.count() > 0) {
      std::this_thread::sleep_for(delay);  // simulated work, not synchronisation
    }
    {
      std::lock_guard lk(mu_);
      calls_.push_back({op, row, identity});
      ++applied_;
    }
    cv_.notify_all();
  }

  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  std::vector<Call> calls_;
  std::size_t applied_ = 0;
  std::vector<ColumnDefinition> columns_;
  std::map<std::int64_t, int> failures_;
  bool gate_open_ = true;
  int blocked_ = 0;
  std::atomic<bool> durable_{true};
  bool keeps_state_ = false;
  std::atomic<std::chrono::microseconds> delay_{std::chrono::microseconds(0)};
  std::atomic<int> attempts_{0};
  SchemaChangeResponse schema_response_;
};

/// Records observer callbacks. Thread-safe.
class RecordingObserver : public EngineObserver {
 public:
  void OnError(std::string_view id, std::string_view message, bool will_retry) override {
    std::lock_guard lk(mu_);
    errors.push_back({std::string(id), std::string(message), will_retry});
  }
  void OnAckAdvanced(std::string_view, const Position&, std::string_view text) override {
    std::lock_guard lk(mu_);
    acks.emplace_back(text);
  }
  void OnPipelineStateChanged(std::string_view id, PipelineState state) override {
    std::lock_guard lk(mu_);
    pipeline_states[std::string(id)] = state;
  }
  void OnDeadLetter(const DeadLetter& letter) override {
    std::lock_guard lk(mu_);
    dead_letters.push_back(letter.pipeline_id);
  }
  void OnRebaseline(std::string_view, std::string_view reason) override {
    std::lock_guard lk(mu_);
    rebaselines.emplace_back(reason);
  }
  void OnBaselineCompleted(std::string_view id, const TableIdentifier&,
                           std::uint64_t rows) override {
    std::lock_guard lk(mu_);
    baseline_rows[std::string(id)] = rows;
  }
  void OnChangeDropped(std::string_view, const ChangeEvent&) override { ++dropped; }

  struct ErrorRecord {
    std::string id;
    std::string message;
    bool will_retry;
  };
  std::vector<ErrorRecord> Errors() const {
    std::lock_guard lk(mu_);
    return errors;
  }
  std::vector<std::string> Acks() const {
    std::lock_guard lk(mu_);
    return acks;
  }
  std::vector<std::string> Rebaselines() const {
    std::lock_guard lk(mu_);
    return rebaselines;
  }
  std::size_t DeadLetterCount() const {
    std::lock_guard lk(mu_);
    return dead_letters.size();
  }
  std::uint64_t BaselineRows(const std::string& id) const {
    std::lock_guard lk(mu_);
    auto it = baseline_rows.find(id);
    return it == baseline_rows.end() ? 0 : it->second;
  }
  std::atomic<int> dropped{0};

 private:
  mutable std::mutex mu_;
  std::vector<ErrorRecord> errors;
  std::vector<std::string> acks;
  std::map<std::string, PipelineState> pipeline_states;
  std::vector<std::string> dead_letters;
  std::vector<std::string> rebaselines;
  std::map<std::string, std::uint64_t> baseline_rows;
};

/// Rows by the text of their "id".
inline std::map<std::string, Row> ById(const std::vector<Row>& rows) {
  std::map<std::string, Row> out;
  for (const auto& r : rows) out.emplace(r.at("id").ToString(), r);
  return out;
}

/// Emits a mix of inserts, updates and deletes of `table` (ids 1 to 300) until stopped or
/// `count` are emitted.
inline std::jthread MixedWriter(const std::shared_ptr<testsource::TestSource>& source,
                                const TableIdentifier& table, int count) {
  return std::jthread([source, table, count](const std::stop_token& stop) {
    for (std::int64_t i = 0; !stop.stop_requested() && i < count; ++i) {
      const std::int64_t id = 1 + (i * 37) % 300;
      switch (i % 3) {
        case 0:
          source->EmitInsert(table, User(id, "i" + std::to_string(i)));
          break;
        case 1:
          source->EmitUpdate(table, User(id, "w" + std::to_string(i)), User(id, ""));
          break;
        default:
          source->EmitDelete(table, User(id, ""));
      }
    }
  });
}

/// Fast engine settings for tests: ACK every 5 ms, short retries.
inline EngineOptions FastOptions(std::shared_ptr<EngineObserver> observer = nullptr) {
  EngineOptions o;
  o.ack_interval = 5ms;
  o.drain_timeout = 2s;
  o.source_backoff = {.initial = 1ms, .max = 10ms, .multiplier = 2.0};
  o.observers = {std::move(observer)};
  return o;
}

inline ErrorPolicy QuickRetries(int retries, ErrorAction action) {
  return ErrorPolicy{.max_retries = retries,
                     .backoff = {.initial = 1ms, .max = 5ms, .multiplier = 2.0},
                     .on_exhausted = action};
}

}  // namespace laredo::testing
