#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "change_assembler.hpp"
#include "heartbeat.hpp"
#include "laredo/error.hpp"
#include "laredo/error_codes.hpp"
#include "laredo/pg/source.hpp"
#include "reload_runner.hpp"
#include "replication_connection.hpp"
#include "stream_buffers.hpp"
#include "type_resolver.hpp"

namespace laredo::pg {

/// Narrows discovered columns to the configured column lists; returns what does not fit (a list
/// without the key, a listed column the table lacks).
std::vector<ValidationError> ApplyColumnLists(
    std::map<TableIdentifier, std::vector<ColumnDefinition>>& columns,
    const std::map<TableIdentifier, TableOptions>& options);

/// Another consumer streams from the slot: not a lost connection, so not retried by the
/// source's reconnect loop but reported to the engine (which retries with backoff).
class SlotInUse : public RetryableError {
 public:
  explicit SlotInUse(const std::string& message) : RetryableError(codes::kPgSlotInUse, message) {}
};

/// State of `Source`, shared by its two files: lifecycle (source.cpp) and streaming
/// (source_stream.cpp).
struct Source::Impl {
  explicit Impl(SourceOptions o);

  void SetState(SourceState s) { state.store(s); }
  /// On the stream thread: sets the state and tells the engine at once when it changed.
  void SetStreamState(SourceState s, ChangeHandler& handler) {
    if (state.exchange(s) != s) handler.OnStateChanged(s);
  }
  /// Sets `in_use` and wakes a ResetSource waiting on it.
  void SetInUse(bool value);
  /// The position the stream thread may report as flushed (see source_stream.cpp).
  Lsn ComputeFlush(const StreamPosition& last_delivered, Lsn idle_lsn);
  /// What Close reports as flushed: the ACK, held as ComputeFlush holds it for a reload.
  Lsn AckedFlush();
  /// Records `p` as acknowledged if it is newer than what is recorded.
  void RecordAck(const StreamPosition& p, bool replace);
  /// Lifecycle thread: see `TypeResolver`.
  TypeResolver& Types() {
    if (!types) types.emplace(options.conninfo);
    return *types;
  }
  /// Waits (up to 5 s, or until stopped) for the slot's walsender to go; throws `SlotInUse` when
  /// it stays. Returns the slot's last state.
  ReplicationConnection::SlotState AwaitSlotInactive(std::stop_token stop,
                                                     ReplicationConnection& conn,
                                                     ReplicationConnection::SlotState slot_state);
  /// Waits for `delay` or until stop or Resume; false when stopped.
  bool Wait(std::stop_token stop, std::chrono::milliseconds delay);

  void StreamLoop(std::stop_token stop, StreamPosition& resume, ChangeHandler& handler);
  /// What START_REPLICATION asks for on this server (see `SourceOptions::streaming`).
  ReplicationConnection::StreamOptions StreamOptionsFor(ReplicationConnection& conn);
  /// Stream thread: carries out a ResetSource that arrived while streaming (see source.cpp).
  [[noreturn]] void ResetWhileStreaming(bool drop_publication);
  /// Stream thread: drops a slot the server invalidated and throws `RebaselineRequired`.
  [[noreturn]] void RebaselineLostSlot(const std::string& reason);
  /// Drops the slot (and the publication) with a connection of its own.
  void DropSlotAndPublication(bool drop_publication);
  /// Reads, decodes and dispatches until stopped; a status update at least every `status_every`,
  /// also while the handler blocks on backpressure.
  /// `binary`: the stream was started with `binary 'true'`.
  void Pump(std::stop_token stop, StreamPosition& resume, ChangeHandler& handler,
            std::chrono::milliseconds status_every, bool binary);
  /// Whether every column of the replicated tables has a binary decoder (see
  /// `SourceOptions::binary`).
  bool ColumnsDecodeFromBinary();

  /// Whether Close drops the publication: an ephemeral source's generated one, named after a slot
  /// that does not outlive the run.
  [[nodiscard]] bool OwnsPublicationForThisRunOnly() const {
    return options.manage_publication && options.slot_mode == SlotMode::Ephemeral &&
           options.slot_name.empty() && options.publication_name.empty();
  }

  const SourceOptions options;
  const std::string slot;
  const std::string publication;
  /// Who manages the publication, as its record says (see publication.hpp).
  const std::string consumer;

  // Lifecycle thread only (Init, ValidateTables, Baseline, Stream; Close after they returned).
  std::vector<TableIdentifier> tables;
  std::map<TableIdentifier, std::vector<ColumnDefinition>> columns;
  std::vector<ValidationError> option_problems;  // found by Init, reported by ValidateTables
  /// ValidateTables added back tables someone had removed from the managed publication: the slot
  /// missed their changes, so the next start takes a baseline (cleared by Baseline).
  bool publication_restored = false;
  std::optional<ReplicationConnection> repl;
  std::optional<TypeResolver> types;  // created on first use
  bool repl_streaming = false;        // repl is in COPY BOTH mode
  /// A Relation message named a column without a binary decoder: text mode from then on.
  bool binary_refused = false;

  /// Logical decoding messages delivered so far (stream thread; kept across reconnects).
  ChangeAssembler::MessageCursor message_cursor;

  // Any thread.
  StreamCounters stream_counters;
  HeartbeatCounters heartbeat_counters;
  std::atomic<SourceState> state{SourceState::Connecting};
  std::atomic<bool> paused{false};
  std::atomic<std::uint64_t> sent_flush{0};
  /// The server's version as the last stream connection reported it; 0 before the first.
  std::atomic<int> server_version{0};
  /// Reloads of single tables (`ReloadTable`): requests from any thread, carried out by Pump.
  ReloadRunner reloads;

  std::mutex mu;  // guards the members below
  std::condition_variable_any wake;
  /// Per table of Init, whether it has a primary key (what ReloadTable checks).
  std::map<TableIdentifier, bool> reloadable;
  bool has_ack = false;
  std::atomic<bool> exact_release{false};  // ReleaseOnlyAcknowledged
  StreamPosition acked;
  /// What the stream had handed to the engine: every change before `delivered_through`, which
  /// was the server's WAL at `delivered_as_of` (the server's clock: a commit's timestamp, or a
  /// keepalive's send time). GetLag measures the time lag from it.
  std::optional<Lsn> delivered_through;
  std::optional<std::chrono::system_clock::time_point> delivered_as_of;
  /// GetLag's connection, opened on first use and kept (guarded by `lag_mu`, not `mu`: a lag
  /// query must not block the stream thread).
  std::mutex lag_mu;
  std::optional<PgConnection> lag_conn;
  /// Between the first Baseline or Stream and Close: this source's own connection may hold the
  /// slot, so ResetSource hands the reset to the stream thread (which checks at every pass of its
  /// loop) instead of dropping the slot itself.
  bool in_use = false;
  /// A ResetSource waiting for the stream thread: whether to drop the publication too.
  std::optional<bool> reset_request;
  std::uint64_t resets_requested = 0;
  std::uint64_t resets_done = 0;
  std::optional<std::string> reset_error;  // why the last handed-over reset failed
  std::atomic<bool> reset_pending{false};  // read by the stream thread without the lock
};

}  // namespace laredo::pg
