#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "laredo/backoff.hpp"
#include "laredo/kinesis/aws_credentials.hpp"
#include "laredo/sync_target.hpp"

namespace laredo::kinesis {

/// What one snapshot attempt of the publisher did (`PublisherSnapshotOptions::on_snapshot`,
/// `Publisher::SnapshotNow`).
struct SnapshotReport {
  /// The snapshot id (time-sortable); set once the barriers were attempted.
  std::string snapshot_id{};
  /// True when the manifest is in place.
  bool ok = false;
  /// Why it failed ("" when ok). Never contains credentials.
  std::string error{};
  /// Shard id -> sequence number: the manifest's `stream_position` (empty when not aligned).
  std::map<std::string, std::string> stream_position{};
  std::uint64_t rows = 0;
  std::uint64_t objects = 0;
  /// How long new changes waited (admission closed: in-flight records acknowledged, state copied,
  /// barriers written). The ACK of earlier changes is not held.
  std::chrono::milliseconds pause{0};
  /// The whole attempt, upload included.
  std::chrono::milliseconds duration{0};
  /// Older snapshots deleted after this one was in place.
  std::vector<std::string> pruned{};
};

/// The S3 half of the data contract, written by the publisher (docs/kinesis-publisher.md,
/// "Snapshots"). Off while `bucket` is empty.
struct PublisherSnapshotOptions {
  /// Bucket of the snapshots. Default "": the publisher writes no snapshots.
  std::string bucket{};
  /// Key prefix; the consumer's `SourceOptions::prefix`. Default "": the bucket's root.
  std::string prefix{};
  /// S3 endpoint override ("http://127.0.0.1:4569"). Default "": the region's.
  std::string endpoint{};
  /// Default: the publisher's `credentials` / `credentials_provider`.
  std::optional<AwsCredentials> credentials{};
  /// The tables every snapshot holds: no snapshot is taken ("snapshot_not_ready") until each has
  /// completed a baseline. Set it to the pipelines' tables: the engine starts pipelines one by
  /// one, and without it a snapshot taken when the first table is loaded lacks the others (a
  /// consumer of those then fails its validation until the next snapshot). Default none: the
  /// tables the publisher has seen so far.
  std::set<TableIdentifier> tables{};
  /// Time between snapshots. The first is taken when every table's baseline has completed (and
  /// again after each re-baseline). Keep it well below the stream's retention: a consumer starts
  /// from the newest snapshot and needs every record after it. Default 1 h.
  std::chrono::milliseconds interval{std::chrono::hours(1)};
  /// Snapshots kept; older ones are deleted once a newer manifest is in place. At least 1; keep 2
  /// or more so that a consumer loading a snapshot is not cut off by the next one. Default 2.
  std::size_t keep = 2;
  /// Uncompressed bytes of rows per table object before the next object. Default 256 MiB.
  std::size_t object_bytes = std::size_t{256} << 20;
  /// Multipart part size of an object (at least 5 MiB). Default 16 MiB.
  std::size_t upload_part_bytes = std::size_t{16} << 20;
  /// How long a snapshot waits for the records in flight to be acknowledged (new changes wait
  /// meanwhile); the attempt fails after it. Default 30 s.
  std::chrono::milliseconds quiesce_timeout{30'000};
  /// After a restart that resumed the pipelines without a baseline, the publisher's state is
  /// empty. With `restore`, the first change of such a table starts a snapshot attempt (as do
  /// `SnapshotNow` and the periodic ones), which first rebuilds the state as a consumer would: the
  /// newest snapshot under `prefix`, then every record of the stream after its `stream_position`
  /// up to the attempt's barriers (changes wait meanwhile). Without, attempts fail with
  /// "snapshot_not_ready" until the tables are baselined again. Default true.
  bool restore = true;
  /// Called after every attempt, success or failure, from the snapshot's thread. Default none.
  std::function<void(const SnapshotReport&)> on_snapshot{};
};

/// Configuration of `Publisher`, validated by its constructor, which reports every problem at once
/// in one `laredo::ConfigError` (naming settings, never credential values).
struct PublisherOptions {
  /// Kinesis stream to write to. Required.
  std::string stream_name{};
  /// Default "": AWS_REGION, else AWS_DEFAULT_REGION.
  std::string region{};
  /// Endpoint URL override ("http://127.0.0.1:4567"); plain HTTP is allowed. Default "": AWS.
  std::string endpoint{};
  /// Default: from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN.
  std::optional<AwsCredentials> credentials{};
  /// Renews temporary credentials; asked before every request and preferred over `credentials`
  /// (as for `SourceOptions::credentials_provider`). Default none.
  AwsCredentialsProvider credentials_provider{};

  /// Tables whose records all use the table name as their partition key instead of
  /// "schema.table:<key>": one shard carries the whole table in write order, which makes truncates
  /// safe on a stream of several shards (docs/kinesis-data-contract.md) at the price of that
  /// shard's write rate. Default none.
  std::set<TableIdentifier> partition_by_table{};

  /// Records per PutRecords request: 1..500 (the Kinesis limit). Default 500.
  std::size_t max_records_per_request = 500;
  /// Bytes (data plus partition keys) per request: up to 5 MiB (the Kinesis limit). Default 5 MiB.
  std::size_t max_request_bytes = std::size_t{5} << 20;
  /// Bytes (data plus partition key) of one record: up to 1 MiB (the Kinesis limit) and at most
  /// `max_request_bytes`. A change whose record is larger is a `DataError` ("record_too_large").
  /// Default 1 MiB.
  std::size_t max_record_bytes = std::size_t{1} << 20;
  /// PutRecords requests outstanding at once: 1..64. Default 4.
  int max_in_flight = 4;
  /// Records and bytes accepted but not yet written to Kinesis. When either is reached,
  /// `OnChanges` waits for room, up to `buffer_full_timeout`, then throws a `RetryableError`
  /// ("throttled") that the pipeline's error policy retries. Defaults 100000 records, 64 MiB.
  std::size_t max_buffered_records = 100'000;
  std::size_t max_buffered_bytes = std::size_t{64} << 20;
  /// Default 30 s.
  std::chrono::milliseconds buffer_full_timeout{30'000};
  /// How long `OnClose` waits for every accepted record to be written, so that the final ACK
  /// covers them. What is not written by then is not acknowledged (a restart sends it again).
  /// Default 30 s.
  std::chrono::milliseconds close_timeout{30'000};
  /// Wait before sending again after a request failed or some of its records were rejected
  /// (throttling, internal failures): `Delay(n)` after the n-th consecutive failed attempt.
  /// Retries go on until they succeed; the ACK waits meanwhile. Default 100 ms doubling to 5 s.
  Backoff retry_backoff{.initial = std::chrono::milliseconds(100),
                        .max = std::chrono::milliseconds(5000),
                        .multiplier = 2.0};
  /// Connecting (TCP and TLS) and each read of a response; see `SourceOptions`. Defaults 10 s, 30
  /// s.
  std::chrono::milliseconds connect_timeout{10'000};
  std::chrono::milliseconds read_timeout{30'000};

  /// Snapshots in S3 for new consumers. Default: none.
  PublisherSnapshotOptions snapshots{};
};

/// A `SyncTarget` that writes every stream change as one record of the S3 + Kinesis data contract
/// (docs/kinesis-data-contract.md) to a Kinesis stream, for `kinesis::Source` consumers to read.
/// The design, limits and what is not built yet: docs/kinesis-publisher.md.
///
/// - With `snapshots.bucket` set it keeps every table's rows (baseline rows and every change; its
///   memory is the replica's size) and writes them as snapshots of the contract to S3, aligned
///   with the stream by barrier records (docs/kinesis-data-contract.md, "Snapshots and the
///   stream"). Baseline rows are not put on the stream.
/// - Values are encoded with the consumer's own value mapping, so a row reads back equal.
/// - Order: per partition key (table and primary key) records are written in change order, also
///   under throttling and partial PutRecords failures: at most one record per key is in flight,
///   and a key's next record goes only after Kinesis acknowledged the previous one.
/// - Durability: a change is durable once Kinesis acknowledged each of its records. The publisher
///   reports that through `DurabilityReporter::Durable` as acknowledgements arrive, and
///   `IsDurable` is true when nothing accepted is unwritten; so the engine acknowledges the source
///   only up to what Kinesis holds (at least once: after a crash the source replays from its last
///   ACK and some records are written twice, which the consumer applies idempotently).
/// - A change that cannot be encoded or whose record exceeds `max_record_bytes` throws
///   `DataError` (the engine's error policy dead-letters it); nothing is dropped silently. A
///   record Kinesis rejects for good (e.g. KMS access denied) stops the publisher: the next
///   `OnChanges` throws `FatalError` ("put_rejected"), and nothing after it is acknowledged.
///
/// Threading contract: the `SyncTarget` methods come from the engine's pipeline threads, one at a
/// time (the engine's rule), while `max_in_flight` background threads of the publisher send
/// requests and one thread takes the periodic snapshots; `IsDurable`, `Flush`, `GetStats` and
/// `SnapshotNow` are thread-safe (while a snapshot's barriers are written, `OnChanges` waits). The
/// destructor stops the snapshot thread (an upload under way is abandoned, never committed) and the
/// senders; records not yet written then are dropped, never acknowledged.
class Publisher final : public laredo::SyncTarget {
 public:
  /// Validates `options` (throws `laredo::ConfigError` listing every problem) and starts the
  /// sending threads. Does not contact Kinesis.
  explicit Publisher(PublisherOptions options);
  ~Publisher() override;
  Publisher(const Publisher&) = delete;
  Publisher& operator=(const Publisher&) = delete;

  void OnInit(const TableIdentifier& table, const std::vector<ColumnDefinition>& columns) override;
  /// Marks the table's baseline as under way (no truncate record is written).
  void OnBaselineBegin(const TableIdentifier& table,
                       const std::vector<ColumnDefinition>& columns) override;
  /// Kept in the publisher's state for snapshots (with snapshots on); not put on the stream.
  void OnBaselineRow(const TableIdentifier& table, const Row& row) override;
  void OnBaselineComplete(const TableIdentifier& table) override;
  void OnInsert(const TableIdentifier& table, const Row& row) override;
  void OnUpdate(const TableIdentifier& table, const Row& new_row, const Row& identity) override;
  void OnDelete(const TableIdentifier& table, const Row& identity) override;
  void OnTruncate(const TableIdentifier& table) override;
  /// Encodes and queues every change, returning once they are queued (not yet written).
  void OnChanges(const TableIdentifier& table, std::span<const TargetChange> changes) override;
  void SetDurabilityReporter(DurabilityReporter* reporter) override;
  bool IsDurable() override;
  /// True (the stream keeps what was written) except while a baseline is under way.
  bool KeepsStateAcrossRestarts() override;
  /// Continue: later records carry the new columns.
  SchemaChangeResponse OnSchemaChange(const TableIdentifier& table,
                                      const std::vector<ColumnDefinition>& old_columns,
                                      const std::vector<ColumnDefinition>& new_columns) override;
  /// Waits up to `close_timeout` for every accepted record to be written.
  void OnClose(const TableIdentifier& table) override;

  /// Waits until every record accepted so far is written; false on timeout or after a permanent
  /// failure.
  bool Flush(std::chrono::milliseconds timeout);

  struct Stats {
    std::uint64_t records_written = 0;
    std::uint64_t requests = 0;
    /// Records Kinesis rejected (throttled, internal failure) and that were sent again.
    std::uint64_t records_retried = 0;
    /// Requests that failed as a whole (throttled, 5xx, connection) and were sent again.
    std::uint64_t requests_failed = 0;
    /// Accepted, not yet written.
    std::size_t records_unwritten = 0;
    /// Snapshot attempts that completed / failed.
    std::uint64_t snapshots_written = 0;
    std::uint64_t snapshot_failures = 0;
    /// The newest snapshot in place, and the last failure's message ("" when none).
    std::string last_snapshot_id{};
    std::string last_snapshot_error{};
    /// Updates with unchanged (TOAST) columns of a row the state did not hold, written into
    /// snapshots with those columns NULL: zero when the state is complete.
    std::uint64_t state_anomalies = 0;
  };
  [[nodiscard]] Stats GetStats() const;

  /// Takes a snapshot now, on the calling thread (serialised with the periodic ones) and returns
  /// its report; throws `laredo::Error` when it fails (also reported to `on_snapshot` and the
  /// stats): "snapshot_not_ready" while a table's rows are not all known (a baseline under way,
  /// or none in this process and nothing to restore from: see `PublisherSnapshotOptions::restore`),
  /// "snapshot_failed" when the barriers could not be aligned, or what S3 / Kinesis answered.
  /// `FatalError` ("config") with snapshots off.
  SnapshotReport SnapshotNow();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace laredo::kinesis
