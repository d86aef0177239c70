#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <unordered_map>
#include <vector>

#include "binary_values.hpp"
#include "laredo/change_event.hpp"
#include "laredo/error.hpp"
#include "laredo/pg/position.hpp"
#include "laredo/pg/streaming.hpp"
#include "pgoutput_decoder.hpp"

namespace laredo::pg {

/// A Relation message of a replicated table has a column whose binary form this source cannot
/// decode, while the stream was started in binary mode: retried, in text mode (see
/// `SourceOptions::binary`).
class BinaryUnavailable : public RetryableError {
 public:
  explicit BinaryUnavailable(const std::string& message)
      : RetryableError(codes::kPgProtocol, message) {}
};

/// Turns decoded pgoutput messages into `ChangeEvent`s with ACK-safe positions. No I/O.
///
/// Each change is held back until the next message shows whether it was the last of its
/// transaction: only the last one gets the commit end LSN as its `ack_lsn`; the others get the
/// previous transaction's end (see `StreamPosition`). Changes at or before `skip_through` are
/// dropped, so a stream restarted from an older server position delivers nothing twice.
///
/// Threading: one instance per stream connection, used by the stream thread.
class ChangeAssembler {
 public:
  /// `known` holds the columns the targets were initialised with; a Relation message whose
  /// columns differ from them raises `OnSchemaChange`. Changes of other tables are not emitted.
  /// `value_type` maps a column's type OID to the one whose text form its values have (see
  /// `TypeResolver`; default: the type itself).
  using ValueTypeFn = std::function<std::uint32_t(std::uint32_t)>;
  /// `on_added_column` hears of each column a Relation message adds to a known table, after the
  /// changes before it were dispatched and before `OnSchemaChange`; it may throw (e.g.
  /// `RebaselineRequired` when the rows already there read the new column as a default).
  using AddedColumnFn = std::function<void(const TableIdentifier&, const std::string&)>;
  ChangeAssembler(std::map<TableIdentifier, std::vector<ColumnDefinition>> known,
                  StreamPosition skip_through, ValueTypeFn value_type = {},
                  AddedColumnFn on_added_column = {});

  /// Which logical decoding messages were delivered: kept by the source across reconnects, so a
  /// stream restarted from an older position repeats none of them.
  struct MessageCursor {
    Lsn commit_lsn;           // the transaction of the newest transactional one
    Lsn message_lsn;          // and its own LSN
    Lsn untransactional_lsn;  // the newest non-transactional one
  };
  /// Delivers logical decoding messages to `fn` (none without): a transactional one after the
  /// changes before it in its transaction were handed to the handler and before any after it, a
  /// non-transactional one at once. `cursor` must outlive the assembler.
  void SetMessageHandler(LogicalMessageHandler fn, MessageCursor& cursor) {
    on_message_ = std::move(fn);
    cursor_ = &cursor;
  }

  /// The stream was started with `binary 'true'`: columns arrive in their binary form, decoded
  /// as `binary_type` says (see `TypeResolver::BinaryTypeOf`). A replicated table with a column
  /// it has no decoder for throws `BinaryUnavailable` at its Relation message, before any of its
  /// changes. Without this call, a binary column is a protocol error.
  using BinaryTypeFn = std::function<BinaryType(std::uint32_t)>;
  void ExpectBinary(BinaryTypeFn binary_type) { binary_type_ = std::move(binary_type); }

  void Handle(const PgoutputMessage& message, ChangeHandler& handler);
  /// Hands the changes gathered so far to the handler in one `OnChanges` call. The stream calls
  /// it whenever the connection has nothing more buffered; `Handle` itself before a schema change
  /// and once `kMaxOut` or the handler's `MaxBatch()` changes are gathered.
  void Flush(ChangeHandler& handler);

  [[nodiscard]] bool in_transaction() const noexcept { return in_transaction_; }
  /// The last change the handler took: the `OnChanges` call holding it returned normally (or
  /// `skip_through` before any). The only resume point of a reconnect: a change whose call ended
  /// with an exception was not delivered.
  [[nodiscard]] const StreamPosition& last_delivered() const noexcept { return last_delivered_; }
  /// Commit time of the newest transaction seen.
  [[nodiscard]] std::optional<std::chrono::system_clock::time_point> last_commit_time() const {
    return last_commit_time_;
  }
  /// Columns now known per table (updated by schema changes the handler took).
  [[nodiscard]] const std::map<TableIdentifier, std::vector<ColumnDefinition>>& columns() const {
    return columns_;
  }

 private:
  struct Relation {
    TableIdentifier table;
    bool wanted = false;
    std::shared_ptr<const ColumnNames> names;
    std::vector<std::uint32_t> type_oids;
    std::vector<std::uint32_t> value_types;  // what TextToValue gets (a domain's base type)
    std::vector<BinaryType> binary_types;    // in binary mode, what BinaryToValue gets
    std::vector<bool> key;
    std::size_t key_count = 0;
    std::shared_ptr<const ColumnNames> key_names;
  };

  void OnRelation(const RelationMessage& m, ChangeHandler& handler);
  const Relation* Find(std::uint32_t relation_id) const;
  static void CheckArity(const Relation& rel, const TupleData& tuple);
  static Value ToValue(const Relation& rel, const TupleData& tuple, std::size_t i);
  static Row ToRow(const Relation& rel, const TupleData& tuple);
  static Row KeyRow(const Relation& rel, const TupleData& tuple);
  static Row KeyOf(const Relation& rel, const Row& row);
  void Queue(ChangeEvent event, ChangeHandler& handler);
  /// Hands the held change on, then the messages that came after it.
  void Dispatch(ChangeHandler& handler);
  void DispatchHeld(ChangeHandler& handler);
  void OnLogicalMessage(const LogicalDecodingMessage& m, ChangeHandler& handler);
  void Deliver(const LogicalMessage& message);
  ChangeEvent NewEvent(const Relation& rel, ChangeAction action);

  std::map<TableIdentifier, std::vector<ColumnDefinition>> columns_;
  ValueTypeFn value_type_;
  BinaryTypeFn binary_type_;
  AddedColumnFn on_added_column_;
  std::unordered_map<std::uint32_t, Relation> relations_;
  StreamPosition skip_through_;
  StreamPosition last_delivered_;
  Lsn previous_end_;
  bool in_transaction_ = false;
  Lsn commit_lsn_;
  std::uint32_t index_ = 0;
  std::uint32_t xid_ = 0;
  std::chrono::system_clock::time_point commit_time_{};
  std::optional<std::chrono::system_clock::time_point> last_commit_time_;
  std::optional<ChangeEvent> held_;
  LogicalMessageHandler on_message_;
  MessageCursor* cursor_ = nullptr;
  /// Transactional messages that came after `held_`: delivered once it was handed on.
  std::vector<LogicalMessage> pending_messages_;
  /// Changes gathered for the next `Flush`: the first `out_count_`; the rest are spent events
  /// whose storage is reused.
  static constexpr std::size_t kMaxOut = 256;
  std::vector<ChangeEvent> out_;
  std::size_t out_count_ = 0;
};

}  // namespace laredo::pg
