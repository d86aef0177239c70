#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "laredo/backoff.hpp"
#include "laredo/pg/error.hpp"
#include "laredo/pg/lsn.hpp"
#include "laredo/pg/position.hpp"
#include "laredo/pg/streaming.hpp"
#include "laredo/sync_source.hpp"

namespace laredo::pg {

/// How the source keeps its replication slot (see docs/pg-source.md, "Which slot mode?").
enum class SlotMode : std::uint8_t {
  /// A TEMPORARY slot that lives as long as the replication connection: every start (and every
  /// lost connection) means a full baseline, and a stopped or crashed consumer leaves no slot
  /// behind to hold WAL on the server. `SupportsResume()` is false.
  Ephemeral,
  /// A named persistent slot: after a restart the source continues from the slot's
  /// `confirmed_flush_lsn` when the targets kept their rows. The server keeps WAL for the slot
  /// while its consumer is away, until the consumer returns or the slot is dropped.
  Stateful,
};

/// Reconnect policy for a lost replication connection while streaming.
struct ReconnectPolicy {
  /// Delays between attempts after a connection loss. Default 100 ms doubling up to 10 s.
  Backoff backoff{.initial = std::chrono::milliseconds(100),
                  .max = std::chrono::milliseconds(10'000),
                  .multiplier = 2.0};
  /// Consecutive failed attempts before `Stream` gives up with a `FatalError`. Default 10.
  int max_attempts = 10;
};

/// Per-table publication settings (PostgreSQL 15 or later), applied when the source manages the
/// publication, and to the baseline, so that baseline and stream deliver the same rows and columns.
struct TableOptions {
  /// Replicate only these columns (a publication column list). Must include the primary key.
  /// Default empty: every column.
  std::vector<std::string> columns{};
  /// Replicate only rows for which this SQL boolean expression holds (a publication row filter),
  /// e.g. "status = 'active'". For UPDATE and DELETE to be published, the columns it uses must
  /// be part of the replica identity (the primary key, or REPLICA IDENTITY FULL). An update that
  /// moves a row out of the filter arrives as a delete. Default empty: every row.
  std::string row_filter{};
};

/// Options of `Source`. An aggregate: use designated initializers.
struct SourceOptions {
  /// libpq connection string, URI or key=value (TLS settings such as sslmode are honoured).
  /// Required. Never logged: messages use a redacted copy.
  std::string conninfo{};
  /// Default `Ephemeral`: nothing is left on the server when the consumer goes away.
  SlotMode slot_mode = SlotMode::Ephemeral;
  /// Replication slot name: the consumer's identity on the server. Required for `Stateful` (two
  /// consumers must never share a slot); when ephemeral, default empty: a random name
  /// "laredo_tmp_<16 hex digits>", new for every Source.
  std::string slot_name{};
  /// Publication the slot decodes with. Default empty: the slot's name, so that every consumer
  /// has a publication of its own.
  std::string publication_name{};
  /// Whether the source manages the publication: creates it (`FOR TABLE` the configured tables,
  /// publish_via_partition_root), adds missing tables, and drops the tables it added earlier and
  /// no longer replicates. It never drops or changes a table it did not add, and leaves alone a
  /// publication another consumer manages (a validation error). An ephemeral source drops the
  /// publication named after its generated slot on `Close`. Needs ownership of the tables (or
  /// superuser). When false, the publication must exist and publish every configured table.
  /// Default true.
  bool manage_publication = true;
  /// Default: see `ReconnectPolicy`.
  ReconnectPolicy reconnect{};
  /// How often a standby status update is sent even when nothing changed: also while paused and
  /// while the engine's buffers are full, so the server's wal_sender_timeout does not end the
  /// connection. Capped at half the session's wal_sender_timeout (read at connect). Default 10 s.
  std::chrono::milliseconds status_interval{10'000};
  /// Stateful only: never resume from the slot; every start takes a fresh baseline (which
  /// re-creates the slot, see `Source::Baseline`). Default false.
  bool always_baseline = false;
  /// Connections that copy at the same time during a baseline, all importing the same snapshot.
  /// Above 1, tables are copied in parallel, and on PostgreSQL 14 and later a table larger than
  /// `baseline_chunk_bytes` is split into ranges of heap blocks (by ctid) that are copied in
  /// parallel too. Default 1.
  int baseline_parallelism = 1;
  /// With `baseline_parallelism` above 1: the size of the block ranges a large table is split
  /// into, by its size on disk. Smaller ranges balance the connections better at the cost of one
  /// statement each. Must be positive. Default 64 MiB.
  std::uint64_t baseline_chunk_bytes = std::uint64_t{64} << 20;
  /// Column lists and row filters per table. Needs `manage_publication`. Default none.
  std::map<TableIdentifier, TableOptions> tables{};
  /// Ask the server (PostgreSQL 14 or later) to stream transactions larger than its
  /// `logical_decoding_work_mem` while they are in progress (pgoutput protocol version 2), instead
  /// of spilling them to its own disk and sending them at commit. The source holds each streamed
  /// transaction until its commit arrives (see `stream_memory_bytes`). Older servers get protocol
  /// version 1 whatever this says. Default true.
  bool streaming = true;
  /// Memory for the streamed transactions not yet committed, over all of them; beyond it the
  /// largest goes to a spill file in `spill_directory`. Must be positive. Default 64 MiB.
  std::size_t stream_memory_bytes = std::size_t{64} << 20;
  /// Where spill files go; they are unlinked as soon as created, so nothing stays behind. Default
  /// empty: the system's temporary directory (TMPDIR, else /tmp).
  std::string spill_directory{};
  /// Ask pgoutput for column values in their binary send format (`binary 'true'`, PostgreSQL 14
  /// or later) instead of text: the same Values, a little less work for the server's walsender
  /// (see docs/pg-source.md, "Binary mode": about 3% less walsender CPU per change and 5% more
  /// changes/s on the bench table). Used for a connection only when every column of the
  /// replicated tables has a binary decoder here (the built-in types of the type mapping,
  /// interval, timetz, "char", enums, domains over them and arrays of all these); otherwise, on
  /// servers older than 14, and from the first Relation message naming a column without one (the
  /// stream then reconnects; an ephemeral source takes a fresh baseline), the stream is read in
  /// text mode. Default false: the gain is small, and text mode never has to switch.
  bool binary = false;
  /// Read the baseline with `COPY ... (FORMAT binary)` instead of text COPY, for each table whose
  /// every column has a binary decoder (the others are copied in text format). The same Values,
  /// about 30% faster on the bench table (docs/pg-source.md, "Binary mode"). Default true.
  bool binary_copy = true;
  /// Receives the logical decoding messages (`pg_logical_emit_message`) of the slot's database,
  /// in stream order, on the stream thread (PostgreSQL 14 or later). Default empty: messages are
  /// not requested from the server.
  LogicalMessageHandler on_message{};
  /// How often the source runs `heartbeat_query` while it streams, on a connection of its own
  /// (Debezium's heartbeat.interval.ms). An idle slot advances without it: the source confirms
  /// the WAL that the server's keepalives show holds nothing for it, other databases' WAL too.
  /// What a heartbeat adds is a change: with a `heartbeat_query` that writes a replicated table,
  /// the replica's copy of that row shows end to end how current it is, and the slot moves on
  /// at the engine's ACKs of it also while `ReleaseOnlyAcknowledged` is in force (snapshots), when
  /// keepalives do not move it. A failing heartbeat is logged and counted
  /// (`HeartbeatStatistics`), never fatal. Default zero: no heartbeat.
  std::chrono::milliseconds heartbeat_interval{0};
  /// The statement each heartbeat runs (Debezium's heartbeat.action.query), e.g. an
  /// `INSERT ... ON CONFLICT DO UPDATE` of a heartbeat table the engine replicates. Default empty:
  /// a non-transactional logical decoding message with prefix `kHeartbeatPrefix` (which
  /// `on_message` never receives), a WAL record in the slot's database and nothing more.
  std::string heartbeat_query{};
  /// Rows per chunk when one table is reloaded while the stream flows (`ReloadTable`): each chunk
  /// is read between two watermarks and held in memory until the stream reaches the second.
  /// Must be positive. Default 4096.
  std::size_t reload_chunk_rows = 4096;
  /// The least time between two chunks of a reload, to throttle the reads on a busy primary.
  /// Default zero: the next chunk follows as soon as the stream reached the last one's end.
  std::chrono::milliseconds reload_chunk_pause{0};
};

/// What reloads of single tables did since the source was created (see `Source::ReloadTable`).
/// Thread-safety: a value type.
struct ReloadStats {
  std::uint64_t requested = 0;
  std::uint64_t completed = 0;
  /// Reloads begun again from nothing: the table's columns changed, a target of it joined, or a
  /// stream ended while the engine was taking the reload's rows (blocked on backpressure, say).
  std::uint64_t restarted = 0;
  /// Reloads a new stream (a reconnect) continued from their last merged chunk.
  std::uint64_t continued = 0;
  /// Reloads a restarted process continued from their targets' checkpoint (`ContinueReload`).
  std::uint64_t resumed = 0;
  /// Chunks whose rows the stream merged (reads that failed are not counted).
  std::uint64_t chunks = 0;
  /// Rows delivered from chunks.
  std::uint64_t rows = 0;
  /// Chunk reads that failed (each is retried with the reconnect backoff).
  std::uint64_t failed_reads = 0;
  /// Chunk reads thrown away and made again because their snapshot did not yet see a
  /// transaction the stream had already delivered (a commit not yet visible; rare, under load).
  std::uint64_t reads_repeated = 0;
  /// The last failure, with its SQLSTATE; empty when none has failed yet.
  std::string last_error;
};

/// What the heartbeats did since the source was created (see `SourceOptions::heartbeat_interval`).
/// Thread-safety: a value type.
struct HeartbeatStats {
  std::uint64_t sent = 0;
  std::uint64_t failed = 0;
  /// The last failure, with its SQLSTATE; empty when none has failed yet.
  std::string last_error;
};

/// The position "everything committed before `lsn`", for `Engine::AwaitApplied`: take `lsn` from
/// `SELECT pg_current_wal_insert_lsn()` after your commit, and the replica has your write once the
/// engine applied through it.
[[nodiscard]] laredo::Position PositionAt(Lsn lsn);

/// The `application_name` of the connection `GetLag` keeps open: "laredo lag " and the slot name,
/// cut to the server's 63 bytes, so `pg_stat_activity` tells whose it is.
[[nodiscard]] std::string LagApplicationName(std::string_view slot_name);

/// A PostgreSQL logical replication source (pgoutput protocol version 1, or 2 with streamed
/// in-progress transactions on PostgreSQL 14 or later).
///
/// Baseline: creates the slot with an exported snapshot and COPYs every table inside that
/// snapshot (REPEATABLE READ + SET TRANSACTION SNAPSHOT), so the stream continues exactly where
/// the baseline ends. A baseline always creates a new slot; in stateful mode an existing slot of
/// the same name is dropped first, because a snapshot can only be exported when a slot is created
/// and replaying the old slot's backlog over a newer snapshot would apply stale changes.
///
/// Stream: one thread (the one calling `Baseline` and `Stream`) owns the replication connection.
/// Each change carries a `StreamPosition`; acknowledging it reports the server only what is safe
/// (see `StreamPosition::ack_lsn`). On connection loss a stateful source reconnects with backoff
/// and resumes after the last change the handler took (an `OnChange` that returned normally; one
/// abandoned by an exception is delivered again); an ephemeral one throws `RebaselineRequired`
/// (its temporary slot died with the connection). A slot the server invalidated (wal_status
/// 'lost') is dropped and `RebaselineRequired` thrown; the next baseline re-creates it.
///
/// Threading contract: the `SyncSource` one. `Init`, `ValidateTables`, `Baseline` and `Stream`
/// from one thread; `Ack`, `Pause`, `Resume`, `State`, `GetLag`, `LastAckedPosition`,
/// `EstimateRows`, `ResetSource` and the position functions from any thread (`GetLag`,
/// `EstimateRows`, `LastAckedPosition` and `ResetSource` open their own short connections).
/// `Ack` only records the position; the stream thread sends it to the server.
class Source final : public SyncSource,
                     public SchemaReportingBaseline,
                     public Resettable,
                     public BaselineSizeEstimator,
                     public ExactRelease,
                     public ReloadableSource {
 public:
  /// Throws `ConfigError` listing every problem with `options`.
  explicit Source(SourceOptions options);
  ~Source() override;
  Source(const Source&) = delete;
  Source& operator=(const Source&) = delete;

  std::map<TableIdentifier, std::vector<ColumnDefinition>> Init(
      const SourceConfig& config) override;
  std::vector<ValidationError> ValidateTables(const std::vector<TableIdentifier>& tables) override;
  Position Baseline(std::stop_token stop, const std::vector<TableIdentifier>& tables,
                    const RowCallback& on_row) override;
  /// Reads every table's columns inside the baseline's snapshot (as the catalog is at that
  /// point, whatever Init saw), reports them through `on_columns` (every table, before any row),
  /// and copies exactly those columns. `Baseline` does the same without reporting them.
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

  /// Drops the slot (and, when asked, the publication); the next baseline creates them again.
  /// While the source is in use (between its first Baseline or Stream and Close), the stream
  /// thread does it: it closes its connection, drops the slot (and the publication, re-created at
  /// once when the source manages it) and ends `Stream` with `RebaselineRequired`, so the engine
  /// takes a fresh baseline on a new slot. Returns once that is done; throws `RetryableError` when
  /// the stream did not get to it within 60 s.
  void ResetSource(bool drop_publication) override;

  /// pg_class.reltuples of the table; nullopt when the server has no estimate yet.
  std::optional<std::uint64_t> EstimateRows(const TableIdentifier& table) override;
  /// From now on the slot is confirmed exactly at the engine's ACK, never past it over WAL that
  /// held nothing for this source (see `laredo::ExactRelease`; the engine asks for it when it
  /// restores targets from snapshots).
  void ReleaseOnlyAcknowledged() override;

  /// Reloads `table` while the stream flows, without a baseline of the other tables (see
  /// `laredo::ReloadableSource` and docs/pg-source.md, "Reloading one table"): chunks of
  /// `reload_chunk_rows` rows by primary key, each read between a low and a high watermark
  /// (transactional `pg_logical_emit_message`s with prefix `kWatermarkPrefix`) and merged with the
  /// stream at the high one. Paused with the source; throttled by `reload_chunk_pause`. A chunk
  /// read that fails is retried with the reconnect backoff; after `reconnect.max_attempts` failures
  /// in a row the stream ends with `RebaselineRequired`. Throws `ConfigError` for a table the
  /// source does not replicate, one without a primary key, or a server older than 14 (no
  /// logical decoding messages). Any thread.
  void ReloadTable(const TableIdentifier& table) override;
  /// Makes `table` one of the source's tables while it runs (`Engine::AddPipeline` after
  /// `Start`; docs/pg-source.md, "Adding a table while streaming"): checks it as `ValidateTables`
  /// does, adds it to a managed publication (an unmanaged one must publish it already), and
  /// returns its columns; the engine then reloads it, and the reload reads its first chunk once
  /// the transactions of the database open at that moment have ended (the stream flows
  /// meanwhile; `ReloadStatistics().last_error` names the wait). Throws `ConfigError`
  /// for a table that does not exist, has no primary key, is not published or is partitioned and
  /// published under its partitions' names, and on a server older than 14. Lifecycle thread.
  std::vector<ColumnDefinition> AddTable(const TableIdentifier& table) override;
  /// Continues, after a restart, the reload of `table` its targets hold up to `checkpoint`
  /// (docs/pg-source.md, "Reloading one table"). While a reload runs, the slot's confirmed
  /// position is held at its newest acknowledged checkpoint, so the next run streams every change
  /// after it again. False (the engine reloads from nothing) when the table's columns changed since
  /// or the slot's confirmed position is past the checkpoint. Throws `DataError`
  /// (`codes::kBadReloadCheckpoint`) for text this source did not write, `ConfigError` as
  /// `ReloadTable` does. Lifecycle thread, after `LastAckedPosition`.
  bool ContinueReload(const TableIdentifier& table, const std::string& checkpoint) override;
  /// What reloads did so far (any thread).
  [[nodiscard]] ReloadStats ReloadStatistics() const;

  /// What buffering streamed transactions did so far (any thread).
  [[nodiscard]] StreamBufferStats StreamBufferStatistics() const;
  /// What the heartbeats did so far (any thread).
  [[nodiscard]] HeartbeatStats HeartbeatStatistics() const;

  /// The slot this source uses (generated for an ephemeral source without a name).
  [[nodiscard]] const std::string& slot_name() const noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace laredo::pg
