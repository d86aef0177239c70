#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "laredo/column_definition.hpp"
#include "laredo/position.hpp"
#include "laredo/row.hpp"
#include "laredo/source_status.hpp"
#include "laredo/table_identifier.hpp"

namespace laredo {

enum class ChangeAction : std::uint8_t { Insert, Update, Delete, Truncate };

std::string_view ToString(ChangeAction action) noexcept;

/// One change to one row (or, for Truncate, to a whole table).
struct ChangeEvent {
  TableIdentifier table{};
  ChangeAction action = ChangeAction::Insert;
  /// Where this change sits in the source's stream. Acknowledging it means this change and every
  /// change the source emitted before it are durable.
  Position position{};
  /// When the source produced the event (wall clock of the consumer).
  std::chrono::system_clock::time_point timestamp{};
  /// The row after the change: set for Insert and Update. May hold `Value::Unchanged()` columns.
  Row new_values{};
  /// The row before the change, as far as the source knows it: for Update and Delete, at least the
  /// identity (primary key) columns, or the whole row when the source has it. Empty when unknown.
  Row old_values{};
  /// Commit time of the source transaction, when the source has one.
  std::optional<std::chrono::system_clock::time_point> commit_time{};
  /// Source transaction identifier, when the source has one.
  std::optional<std::uint64_t> transaction_id{};
  /// True for the last change of its source transaction, when the source knows transaction
  /// boundaries (PostgreSQL does); false otherwise. A target committing once per source
  /// transaction commits after this change.
  bool ends_transaction = false;
};

/// A record the source consumed from its stream but could not turn into a change: bytes that are
/// not the data contract, a value that does not parse. Sources report it through
/// `ChangeHandler::OnInvalidRecord` instead of skipping it; the engine reports it to the observer
/// and writes it as a dead letter, then goes on with the stream.
struct InvalidRecord {
  /// The table the record was meant for, when the source could tell.
  std::optional<TableIdentifier> table{};
  /// Where the record sat in the stream; empty when the source has no position for it. Once
  /// reported the record counts as consumed: acknowledging this position releases it.
  Position position{};
  /// The record as received (sources may cut very large ones), for the dead letter.
  std::string payload{};
  /// Why the source rejected it.
  std::string error{};
};

/// Receives a source's change stream. The engine implements it; a source calls it from the thread
/// running `SyncSource::Stream`, one call at a time, in stream order. Calls may block (that is how
/// backpressure reaches the source) and return early once the stream's stop token is triggered.
class ChangeHandler {
 public:
  virtual ~ChangeHandler() = default;

  virtual void OnChange(ChangeEvent event) = 0;

  /// Several changes at once, in stream order: what a source that reads changes in batches (a
  /// network buffer, a page of records) should call, once per batch, so the engine hands them to
  /// its pipelines in one step instead of one by one. The handler may move from the events or swap
  /// them with spent events of its own: on return every element is valid but unspecified, and a
  /// source that assigns the next batch into the same elements reuses their storage (their rows'
  /// and strings' capacity) instead of allocating. Blocks like `OnChange` while buffers are full.
  /// The default calls `OnChange` for each.
  ///
  /// A call of at most `MaxBatch()` events is all or nothing: when it ends with an exception (a
  /// backpressure hook threw, see `SetBackpressureHook`), none of its events was taken. A longer
  /// call may have taken a prefix before it threw, and a source that resumes from its last fully
  /// delivered call would then send that prefix twice; so sources cap their batches at
  /// `MaxBatch()`.
  virtual void OnChanges(std::span<ChangeEvent> events) {
    for (auto& event : events) OnChange(std::move(event));
  }

  /// The longest `OnChanges` call that is taken all or nothing (at least 1). The engine's
  /// handler answers with its batch size, at most the smallest buffer of the source's pipelines.
  [[nodiscard]] virtual std::size_t MaxBatch() const { return 1; }

  /// Every change at or before `position` was delivered, although none may sit at it: what a
  /// source learns while idle (a PostgreSQL keepalive's WAL end outside a transaction). Lets
  /// `Engine::AwaitApplied` answer for a position past the last change. Call it after the changes
  /// before it were handed over (`OnChanges` returned). The default ignores it.
  virtual void OnProgress(const Position& position) { (void)position; }

  /// The source's state changed inside `Stream` (Reconnecting while it reconnects, Streaming once
  /// it delivers again, Paused): call it after `State()` answers the new state. The engine tells
  /// its observers at once; otherwise it notices only when it samples `State()`, and a short
  /// reconnect would go unseen. The default ignores it.
  virtual void OnStateChanged(SourceState state) { (void)state; }

  /// The source saw a table's columns change (e.g. a PostgreSQL Relation message with different
  /// columns). Ordered with the changes around it. The default ignores it.
  // NOLINTNEXTLINE(performance-unnecessary-value-param): implementations keep the columns.
  virtual void OnSchemaChange(const TableIdentifier& table, std::vector<ColumnDefinition> columns) {
    (void)table;
    (void)columns;
  }

  /// The source consumed a record it cannot deliver (see `InvalidRecord`). Ordered with the
  /// changes around it. The engine's implementation writes a dead letter before it returns, so the
  /// source may release the record once its position is acknowledged. The default ignores it.
  // NOLINTNEXTLINE(performance-unnecessary-value-param): implementations keep the record.
  virtual void OnInvalidRecord(InvalidRecord record) { (void)record; }

  /// One table is reloaded while the stream flows (`ReloadableSource`): `OnReloadBegin` with the
  /// columns the reload reads, then, mixed with the stream's changes in stream order, the table's
  /// rows in batches (`OnReloadRows`), then `OnReloadEnd` once every row was read. From the begin
  /// on, the table's changes concern the new copy only: the source never sends a change of a row
  /// the copy does not hold yet (an insert stands for a whole row). A begin without an end is
  /// abandoned by the next begin of the same table (the reload started again from nothing).
  /// The handler may move from `rows`. The defaults ignore them.
  // NOLINTNEXTLINE(performance-unnecessary-value-param): implementations keep the columns.
  virtual void OnReloadBegin(const TableIdentifier& table, std::vector<ColumnDefinition> columns) {
    (void)table;
    (void)columns;
  }
  virtual void OnReloadRows(const TableIdentifier& table, std::span<Row> rows) {
    (void)table;
    (void)rows;
  }
  virtual void OnReloadEnd(const TableIdentifier& table) { (void)table; }
  /// Between `OnReloadBegin` and `OnReloadEnd`, in stream order: everything of the reload up to
  /// here was sent, and a process restarted after this point may continue the reload from it
  /// (`ReloadableSource::ContinueReload`) instead of from nothing. `checkpoint` is the source's
  /// opaque text (no credentials; it may hold the table's key values). The default ignores it.
  // NOLINTNEXTLINE(performance-unnecessary-value-param): implementations keep the text.
  virtual void OnReloadCheckpoint(const TableIdentifier& table, std::string checkpoint) {
    (void)table;
    (void)checkpoint;
  }

  /// Lets a source keep its connection alive while a call blocks on backpressure. While a call
  /// waits for buffer room, the handler runs `hook` on the calling thread (the one running
  /// `Stream`) about every `interval`, so a source whose connection belongs to that thread can
  /// send status updates without a second thread touching the connection. `hook` may throw to
  /// abandon the blocked call: the exception leaves that call and the change counts as not
  /// delivered. Set it at the start of `Stream` and clear it (empty function) before `Stream`
  /// returns; the hook usually refers to the stream's state. The default ignores it (for handlers
  /// that never block).
  // NOLINTNEXTLINE(performance-unnecessary-value-param): implementations keep the hook.
  virtual void SetBackpressureHook(std::function<void()> hook, std::chrono::milliseconds interval) {
    (void)hook;
    (void)interval;
  }
};

}  // namespace laredo
