#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <span>
#include <stop_token>
#include <string>
#include <vector>

#include "laredo/backoff.hpp"
#include "laredo/change_event.hpp"
#include "laredo/pg/position.hpp"
#include "laredo/pg/source.hpp"
#include "laredo/pg/streaming.hpp"
#include "pg_connection.hpp"
#include "pg_snapshot.hpp"
#include "reload_checkpoint.hpp"
#include "reload_merge.hpp"
#include "type_resolver.hpp"

namespace laredo::pg {

/// Reloads single tables of a running stream (DBLog; see `Source::ReloadTable`): the reads and
/// watermarks around `ReloadMerge`. It stands between the stream and the engine's handler as a
/// `ChangeHandler` of its own: changes of the table being reloaded pass through the merge, all
/// else passes straight on.
///
/// One chunk at a time, from the stream thread between two batches: read the chunk in one
/// REPEATABLE READ transaction (`SELECT ... WHERE (key) > (last) ORDER BY key LIMIT n`, plus the
/// keys the merge asks for again), commit a high watermark, and open the merge's window at once.
/// The window opens where the stream stands when the chunk was read, not at a low watermark in
/// the WAL: a transaction whose commit record precedes such a watermark may still be invisible to
/// the read's snapshot (PostgreSQL writes the commit record before it makes the transaction
/// visible, and under load the gap is wide enough to lose a change; measured). A change the
/// stream hands on after the read counts as newer than the chunk unless the read's snapshot saw
/// its transaction (the stream lags behind the read: counting those too kept a reload under a
/// busy writer from ever finishing, as its chunks' rows were dropped again and again). The one case
/// left, a transaction the stream handed on before the read that the read's snapshot still does not
/// see, is told from the snapshot (`pg_current_snapshot()`): the chunk is then thrown away and read
/// again. The stream later reaches the high watermark, in commit order, and the merge does the rest
/// there. The next chunk is read only after that, so at most one chunk is held in memory.
///
/// A reload outlives a reconnect: the next stream continues it from its last merged chunk (the
/// chunk being read is read again), because the merge's state is exactly that of the changes up
/// to where the new stream resumes. It begins again from nothing (its watermarks still in the WAL
/// are told apart by a generation number in their content) when that cannot be known: the
/// engine's handler threw or was stopped while taking something of the table's, or the new
/// stream resumes before a change the runner handed on.
///
/// Threading contract: `Request` and `Statistics` from any thread; everything else from the
/// source's lifecycle thread (the one running `Stream`).
class ReloadRunner final : public ChangeHandler {
 public:
  struct Settings {
    std::string conninfo;  // never logged
    std::string slot;
    std::size_t chunk_rows = 4096;
    std::chrono::milliseconds chunk_pause{0};
    Backoff backoff{};
    int max_attempts = 10;
    std::map<TableIdentifier, std::string> row_filters;
  };
  explicit ReloadRunner(Settings settings);

  /// Queues a reload of `table` (once: a table queued or reloading is not queued again).
  void Request(const TableIdentifier& table);
  /// The reload of `table` reads its first chunk only once every transaction of the database
  /// begun before `server_time` (the server's clock, as text) has ended: a table that has just
  /// joined the publication (`Source::AddTable`). Servers before the 2025 minor releases could
  /// decode a transaction open across that change without the table, so its changes would be in
  /// neither the stream nor a chunk read before its commit. Lifecycle thread.
  void AwaitTransactionsBefore(const TableIdentifier& table, std::string server_time);
  /// Forgets every request and the reload in progress (a full baseline reloads everything).
  void Clear();
  /// A restarted process continues the reload its targets hold up to `checkpoint` in the next
  /// stream (see `Source::ContinueReload`): no new `OnReloadBegin`; the table's changes up to the
  /// checkpoint are the previous run's, and the merge goes on in its resumed mode
  /// (`ReloadMerge::Resume`). When the table's columns changed or the stream resumes after the
  /// checkpoint, the reload begins again from nothing instead. Lifecycle thread, before `Stream`.
  void ResumeAfterRestart(ReloadCheckpoint checkpoint);
  /// The columns a checkpoint is valid for (names and types; see `ReloadCheckpoint::columns`).
  [[nodiscard]] static std::string ColumnsSignature(const std::vector<ColumnDefinition>& columns);
  /// The highest WAL position the slot may confirm while a reload's checkpoints are in flight,
  /// given the engine's acknowledgement: that of the newest acknowledged checkpoint, so a restart
  /// streams every change after it again; none when no reload needs one. Stream thread (or
  /// after the stream ended).
  [[nodiscard]] std::optional<Lsn> FlushCap(const StreamPosition& acked);
  /// A target for `table` joins (`Source::AddTable` of a table replicated already): a reload of
  /// it in progress (or to be continued after a restart) begins again from nothing at the next
  /// stream, so the newcomer gets it whole.
  /// Lifecycle thread, between two streams.
  void BeginAgain(const TableIdentifier& table);
  [[nodiscard]] ReloadStats Statistics() const;

  /// A stream starts after `from` (what it skips): changes go on to `inner`; `columns` (the
  /// stream's, kept current by it) and `types` outlive the stream; `stop` is the stream's. A
  /// reload in progress continues or begins again (see the class comment).
  void BeginStream(ChangeHandler& inner,
                   const std::map<TableIdentifier, std::vector<ColumnDefinition>>& columns,
                   TypeResolver& types, const StreamPosition& from, std::stop_token stop);
  void EndStream() noexcept;
  /// Between two batches of the stream, while not paused: begins a queued reload, or reads its
  /// next chunk once the stream merged the last one. Throws `RebaselineRequired` when reads
  /// failed `max_attempts` times in a row, or when a table asked for can no longer be reloaded
  /// alone (its primary key was dropped since): a reload asked for is never dropped.
  void Step();
  /// A transactional logical decoding message with `kWatermarkPrefix`, in stream order.
  void OnWatermark(const LogicalMessage& message);

  // ChangeHandler: the stream's calls, on their way to `inner`.
  void OnChange(ChangeEvent event) override;
  void OnChanges(std::span<ChangeEvent> events) override;
  [[nodiscard]] std::size_t MaxBatch() const override { return inner_->MaxBatch(); }
  void OnProgress(const Position& position) override { inner_->OnProgress(position); }
  void OnStateChanged(SourceState state) override { inner_->OnStateChanged(state); }
  void OnSchemaChange(const TableIdentifier& table, std::vector<ColumnDefinition> columns) override;
  void OnInvalidRecord(InvalidRecord record) override {
    inner_->OnInvalidRecord(std::move(record));
  }
  void SetBackpressureHook(std::function<void()> hook,
                           std::chrono::milliseconds interval) override {
    inner_->SetBackpressureHook(std::move(hook), interval);
  }

 private:
  /// A chunk read, its high watermark on its way through the stream.
  struct Chunk {
    std::uint64_t number = 0;
    std::vector<Row> rows;
    std::vector<Row> requested_again;
    bool scanned = false;  // the scan reached the table's end
    std::optional<std::vector<std::string>> after;
    std::string snapshot;  // the read's, as pg_current_snapshot() prints it
  };
  struct Active {
    TableIdentifier table;
    std::uint64_t generation = 0;
    std::vector<ColumnDefinition> columns;
    std::vector<std::uint32_t> value_types;
    std::vector<std::size_t> key_index;  // the key columns' places in `columns`, in key order
    ReloadMerge merge;
    bool begun = false;    // OnReloadBegin was handed on
    bool scanned = false;  // every chunk of the scan was merged
    /// The scan's cursor: the last key merged, as the server printed it.
    std::optional<std::vector<std::string>> after;
    /// Where the scan ends: the greatest key when the reload began (rows inserted since, with
    /// keys beyond it, reach the copy through the stream). Read once, before the first chunk.
    std::optional<std::vector<std::string>> last;
    bool bounded = false;
    std::optional<Chunk> pending;
    /// See AwaitTransactionsBefore; cleared once none is left.
    std::optional<std::string> older_than;
  };

  /// Makes `active_` a reload of `table` from nothing; false (logged) when it cannot be.
  bool Start(TableIdentifier table);
  /// Begins the reload in progress again from nothing; one that cannot be (the table lost its
  /// primary key) is never dropped or left half built: `RebaselineRequired`.
  void Restart();
  /// Goes on with the reload in progress in a new stream: the chunk being read is dropped, and
  /// the table's changes up to the last one merged are not merged twice.
  void Continue();
  /// Notes that a call handing the reload's table on to `inner_` did not complete (threw, or
  /// returned early on a stop): the merge may count as in the copy what never reached it.
  struct HandOnGuard {
    ReloadRunner& runner;
    int exceptions = std::uncaught_exceptions();
    ~HandOnGuard() {
      if (std::uncaught_exceptions() > exceptions || runner.stop_.stop_requested()) {
        runner.handed_on_ = false;
      }
    }
  };
  void ReadChunk();
  /// Notes the transaction of a change the stream handed on (see `Read`).
  void NoteTransaction(const ChangeEvent& change);
  /// Whether a transaction the stream handed on already is one the read's snapshot does not see.
  [[nodiscard]] bool StreamPassedUnseenTransaction(const PgSnapshot& seen) const;
  /// Whether transactions `Active::older_than` waits for are still open (then the next read is
  /// put off; logged once per reload).
  bool OlderTransactionsOpen(PgConnection& conn);
  [[nodiscard]] Chunk Read(PgConnection& conn, std::uint64_t number);
  /// Reads `Active::last` (after the copy began: every row committed before holds a key up to
  /// it); an empty table has nothing to scan.
  void ReadBound(PgConnection& conn);
  /// The parts of the chunk queries: quoted columns, quoted keys, table, "(filter) AND ".
  struct Sql {
    std::string select;  // "SELECT columns FROM table WHERE (filter) AND "
    std::vector<std::string> keys;
  };
  [[nodiscard]] Sql QueryParts(PgConnection& conn) const;
  [[nodiscard]] std::string Watermark(std::uint64_t number, char kind) const;
  void DecodeRows(const PGresult* result, std::vector<Row>& out) const;
  void Finish();
  /// After a merged chunk that did not end the reload: hands on a checkpoint of it.
  void Checkpoint();
  /// Of `ResumeAfterRestart`, at the stream's start; `from_nothing`: a target of the table joined
  /// since (`BeginAgain`), so the reload begins again instead.
  void ResumeFrom(ReloadCheckpoint checkpoint, const StreamPosition& from, bool from_nothing);
  /// The last change the runner took (handed on, merged or skipped): a restart that streams the
  /// changes after it again loses nothing.
  [[nodiscard]] StreamPosition Through() const;

  const Settings settings_;
  const std::string instance_;  // tells this runner's watermarks from other consumers'

  ChangeHandler* inner_ = nullptr;
  const std::map<TableIdentifier, std::vector<ColumnDefinition>>* columns_ = nullptr;
  TypeResolver* types_ = nullptr;
  std::optional<PgConnection> conn_;
  std::optional<Active> active_;
  std::uint64_t generations_ = 0;
  std::uint64_t chunk_numbers_ = 0;
  int failures_ = 0;
  bool restart_pending_ = false;  // the table's columns changed: begin again at the next Step
  bool again_ = false;            // BeginAgain: begin again at the next stream
  std::stop_token stop_;
  /// Whether everything of the reload's table handed on to `inner_` got there (HandOnGuard).
  bool handed_on_ = true;
  /// Of the reload in progress: the last change handed on, and the last change of its table
  /// merged (or dropped); after `Continue`, the table's changes up to `merged_through_` are the
  /// previous stream's, merged already.
  std::optional<StreamPosition> handed_through_;
  std::optional<StreamPosition> merged_through_;
  std::optional<StreamPosition> skip_through_;
  std::optional<StreamPosition> stream_from_;   // where the current stream starts
  std::optional<StreamPosition> seen_through_;  // the last change of any table taken
  std::optional<ReloadCheckpoint> resume_;      // ResumeAfterRestart, until the stream starts
  /// Checkpoints handed on and not yet acknowledged, oldest first, and the newest acknowledged
  /// one (see FlushCap); `end`: a reload ended or began again, so its checkpoints no longer
  /// need the WAL after them.
  struct Mark {
    StreamPosition through;
    bool end = false;
  };
  std::deque<Mark> checkpoints_;
  std::optional<Mark> cap_;
  std::chrono::steady_clock::time_point next_read_{};
  std::map<TableIdentifier, std::string> older_than_;  // AwaitTransactionsBefore
  /// The ids of the last transactions the stream handed on (32-bit, as pgoutput sends them),
  /// oldest first, and how often each is in the deque.
  std::deque<std::uint32_t> recent_xids_;
  std::map<std::uint32_t, int> recent_count_;
  std::optional<std::uint32_t> last_xid_;

  mutable std::mutex mu_;  // guards the members below
  std::deque<TableIdentifier> queue_;
  std::optional<TableIdentifier> reloading_;  // the table of `active_`, for Request
  ReloadStats stats_;
  std::atomic<bool> has_work_{false};
};

}  // namespace laredo::pg
