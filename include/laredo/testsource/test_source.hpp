#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "laredo/sync_source.hpp"

namespace laredo::testsource {

/// Options of `TestSource`.
struct TestSourceOptions {
  /// Resume mode: `SupportsResume()` is true and `LastAckedPosition()` returns the last ACK (or
  /// `initial_acked_position`), so engine resume paths can be tested. Default false.
  bool resumable = false;
  /// In resume mode, the position a previous run acknowledged. Default none.
  std::optional<std::uint64_t> initial_acked_position{};
  /// Changes per `ChangeHandler::OnChanges` call, as a source reading a network buffer delivers
  /// them; 1 hands each change over on its own (`AwaitDelivered` then moves change by change).
  /// Default 256; must be at least 1.
  std::size_t stream_batch = 256;
};

/// An in-memory source for unit tests: declare schemas and baseline rows, then inject changes and
/// failures from the test thread and inspect what the engine acknowledged.
///
/// It keeps each table's current contents (keyed by primary key) and a log of every change, so a
/// re-baseline sees the changes emitted so far and a stream resumes from any position. Positions
/// are `uint64_t`: 0 is the empty table, each emitted change takes the next number. Total order.
///
/// Every baseline reports the tables' current columns (`SchemaReportingBaseline`), as a database
/// source reading its catalog afresh would, so re-baselines after `EmitSchemaChange` can be tested.
/// One instance may serve several engines in turn (a process restart): its contents, log and ACKs
/// stay, like a database's.
///
/// Reloads of one table (`ReloadableSource`, `Engine::ReloadTable`) are delivered whole, at the
/// first point where the stream has delivered every change emitted so far (outside an open
/// `EmitTransaction`): the reload calls with the table's contents as of that point.
///
/// Threading contract: every method is thread-safe. `Emit*` may be called before or after the
/// engine starts, from any thread; they return at once (delivery is asynchronous).
class TestSource : public SyncSource, public SchemaReportingBaseline, public ReloadableSource {
 public:
  explicit TestSource(TestSourceOptions options = {});
  ~TestSource() override;

  // --- set-up -------------------------------------------------------------------------------
  void SetSchema(const TableIdentifier& table, std::vector<ColumnDefinition> columns);
  /// Adds a baseline row (not a change: it takes no position).
  void AddRow(const TableIdentifier& table, Row row);
  /// Problems `ValidateTables` will report.
  void AddValidationError(ValidationError error);

  // --- changes: each returns the position of the event ---------------------------------------
  std::uint64_t EmitInsert(const TableIdentifier& table, Row row);
  std::uint64_t EmitUpdate(const TableIdentifier& table, Row new_row, Row old_row);
  std::uint64_t EmitDelete(const TableIdentifier& table, Row identity);
  std::uint64_t EmitTruncate(const TableIdentifier& table);
  /// Runs `emit` (which calls `Emit*` on this source, from this thread) as one source transaction:
  /// its changes carry `transaction_id` and `commit_time`, the last one `ends_transaction`, and
  /// the stream delivers none of them before `emit` returns (a database sends a transaction at
  /// its commit). Returns the position of the last entry. Transactions do not nest.
  std::uint64_t EmitTransaction(std::uint64_t transaction_id,
                                std::chrono::system_clock::time_point commit_time,
                                const std::function<void()>& emit);
  /// A schema change, delivered in order with the changes (`ChangeHandler::OnSchemaChange`). The
  /// stored rows lose the columns `columns` no longer has (later baselines deliver them so).
  void EmitSchemaChange(const TableIdentifier& table, std::vector<ColumnDefinition> columns);
  /// A record the source could not decode, delivered in order through
  /// `ChangeHandler::OnInvalidRecord`; it takes a position like a change.
  std::uint64_t EmitInvalidRecord(std::optional<TableIdentifier> table, std::string payload,
                                  std::string error);

  // --- failures -----------------------------------------------------------------------------
  /// The next `Init` throws `RetryableError(message)`.
  void FailNextInit(std::string message);
  /// The next `Baseline` throws `RetryableError(message)` after delivering `after_rows` rows.
  void FailNextBaseline(std::string message, std::uint64_t after_rows = 0);
  /// The running (or next) `Stream` throws `FatalError(message)` once the events emitted so far
  /// have been delivered.
  void FailStream(std::string message);
  /// The running (or next) `Stream` ends with `RebaselineRequired(reason)` once the events emitted
  /// so far have been delivered; the engine must baseline again.
  void EndStreamRequiringRebaseline(std::string reason);
  /// The running (or next) `Stream` throws `RetryableError(message)` (a lost connection) once the
  /// events emitted so far have been delivered; the engine streams again from what it received.
  void InterruptStream(std::string message);

  // --- inspection ---------------------------------------------------------------------------
  /// Every position passed to `Ack`, in call order.
  [[nodiscard]] std::vector<std::uint64_t> AckedPositions() const;
  [[nodiscard]] std::optional<std::uint64_t> LastAck() const;
  /// Waits until an ACK at or after `position` arrived; false on timeout.
  bool AwaitAck(std::uint64_t position, std::chrono::milliseconds timeout) const;
  /// Waits until `Stream` delivered every event up to `position` to the engine.
  bool AwaitDelivered(std::uint64_t position, std::chrono::milliseconds timeout) const;
  /// The table's current contents (what a baseline now would deliver), in key order.
  [[nodiscard]] std::vector<Row> Contents(const TableIdentifier& table) const;
  /// The position each `Baseline` call returned (or will return, once it is under way), in order.
  [[nodiscard]] std::vector<std::uint64_t> BaselinePositions() const;
  /// The position of the newest emitted event (0 before any).
  [[nodiscard]] std::uint64_t CurrentPosition() const;
  /// How many times `Baseline` / `Stream` / `Init` were called.
  [[nodiscard]] int BaselineCount() const;
  /// How many reloads of one table the stream delivered.
  [[nodiscard]] int ReloadCount() const;
  [[nodiscard]] int StreamCount() const;
  [[nodiscard]] int InitCount() const;
  /// The `from` position of each `Stream` call.
  [[nodiscard]] std::vector<std::uint64_t> StreamStarts() const;
  /// Whether the source is paused / was closed.
  [[nodiscard]] bool IsPaused() const;
  [[nodiscard]] bool IsClosed() const;

  // --- SyncSource ---------------------------------------------------------------------------
  std::map<TableIdentifier, std::vector<ColumnDefinition>> Init(
      const SourceConfig& config) override;
  std::vector<ValidationError> ValidateTables(const std::vector<TableIdentifier>& tables) override;
  Position Baseline(std::stop_token stop, const std::vector<TableIdentifier>& tables,
                    const RowCallback& on_row) override;
  Position BaselineWithColumns(std::stop_token stop, const std::vector<TableIdentifier>& tables,
                               const ColumnsCallback& on_columns,
                               const RowCallback& on_row) override;
  void Stream(std::stop_token stop, const Position& from, ChangeHandler& handler) override;
  void Ack(const Position& position) override;
  bool SupportsResume() const override;
  Position LastAckedPosition() override;
  int ComparePositions(const Position& a, const Position& b) const override;
  std::string PositionToString(const Position& position) const override;
  Position PositionFromString(std::string_view text) const override;
  void Pause() override;
  void Resume() override;
  LagInfo GetLag() const override;
  laredo::OrderingGuarantee OrderingGuarantee() const override;
  SourceState State() const override;
  void Close() override;
  /// Throws `ConfigError` for a table without a schema.
  void ReloadTable(const TableIdentifier& table) override;
  /// Any table with a schema (`SetSchema`) can be added; its rows are delivered by the reload.
  std::vector<ColumnDefinition> AddTable(const TableIdentifier& table) override;

  /// The `uint64_t` inside a position; throws `laredo::DataError` for any other type.
  static std::uint64_t Unwrap(const Position& position);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace laredo::testsource
