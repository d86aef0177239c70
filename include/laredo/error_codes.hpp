#pragma once

/// Every `laredo::Error::code()` the library throws, and every `ValidationError::code` a source
/// reports, as NUL-terminated constants (they compare with `==` against `code()` and initialise a
/// `std::string`). These strings are stable: a release may add codes but never renames or reuses
/// one, so callers can switch on them (`if (e.code() == laredo::codes::kBadPosition)`). The message
/// next to a code is for humans and may change. The exception's class says how to react (retry, fix
/// the configuration, give up); the code says what happened.
///
/// Users' own sources and targets may throw `laredo::Error` with codes of their own; prefix them
/// (for example "myapp_...") so they never collide with a later library code.
namespace laredo::codes {

// --- configuration and API use --------------------------------------------------------------
/// `ConfigError`: the configuration is wrong (every problem is listed in `problems()`).
inline constexpr char kConfig[] = "config";
/// `FatalError`: a source method was called before `Init` succeeded.
inline constexpr char kNotInitialized[] = "not_initialized";

// --- values, rows, keys and indexes ---------------------------------------------------------
/// `Error`: a typed accessor of `Value` was called on a value of another kind.
inline constexpr char kWrongType[] = "wrong_type";
/// `Error`: a `Row` was built with unequal name and value counts, or a column twice.
inline constexpr char kRowShape[] = "row_shape";
/// `Error`: `Row::Get` of a column the row does not have.
inline constexpr char kNoSuchColumn[] = "no_such_column";
/// `DataError` (a change) or `Error` (a test source row): a row lacks a primary-key column.
inline constexpr char kNoKey[] = "no_key";
/// `Error`: a lookup key has another number of columns than the key or index it searches.
inline constexpr char kKeyShape[] = "key_shape";
/// `Error`: a lookup names an index the target does not have.
inline constexpr char kNoSuchIndex[] = "no_such_index";
/// `Error`: a target bound to one table received another.
inline constexpr char kWrongTable[] = "wrong_table";
/// `Error`: the test source was asked for a table it has no schema for.
inline constexpr char kUnknownTable[] = "unknown_table";
/// `Error`: `TestSource::EmitTransaction` was called inside another one.
inline constexpr char kNestedTransaction[] = "nested_transaction";

// --- changes and positions --------------------------------------------------------------------
/// `DataError`: a position string the source did not produce, or a `Position` of another source.
inline constexpr char kBadPosition[] = "bad_position";
/// `DataError`: a reload checkpoint the source did not write, or one of another table (see
/// `ReloadableSource::ContinueReload`).
inline constexpr char kBadReloadCheckpoint[] = "bad_reload_checkpoint";
/// `DataError`: a change event that cannot be applied as it is (an update or delete without the
/// identity it needs).
inline constexpr char kBadEvent[] = "bad_event";
/// `DataError`: an update says columns are unchanged (TOAST) for a row the target does not hold.
inline constexpr char kUnchangedUnknownRow[] = "unchanged_unknown_row";
/// `DataError`: a `TypedTarget` update with unchanged columns, which a typed row cannot merge.
inline constexpr char kUnchangedValues[] = "unchanged_values";
/// `DataError`: the user's `TypedTarget` make function threw for a row.
inline constexpr char kMakeFailed[] = "make_failed";

// --- engine -----------------------------------------------------------------------------------
/// `RebaselineRequired`: the stream cannot continue from where it was; the engine re-baselines.
inline constexpr char kRebaselineRequired[] = "rebaseline_required";
/// `PartialBatchError`: a target applied the first part of a batch and failed on the next change.
inline constexpr char kPartialBatch[] = "partial_batch";
/// `FatalError`: a target rejected a schema change (`SchemaChangeResponse::Reject`).
inline constexpr char kSchemaChangeRejected[] = "schema_change_rejected";
/// `Error`: the dead-letter file cannot be opened or written.
inline constexpr char kDeadLetterIo[] = "dead_letter_io";

// --- the test source's injected failures --------------------------------------------------------
inline constexpr char kTestInit[] = "test_init";
inline constexpr char kTestBaseline[] = "test_baseline";
inline constexpr char kTestStream[] = "test_stream";

// --- PostgreSQL source ------------------------------------------------------------------------
/// `RetryableError`: connecting failed, the connection was lost, or the server ended the stream.
inline constexpr char kPgConnection[] = "pg_connection";
/// `RetryableError`: a replication command answered in a way the protocol does not allow.
inline constexpr char kPgProtocol[] = "pg_protocol";
/// `Error`: an SQL statement failed; the message carries the SQLSTATE.
inline constexpr char kPgSql[] = "pg_sql";
/// `RetryableError`: another consumer streams from the stateful slot.
inline constexpr char kPgSlotInUse[] = "pg_slot_in_use";
/// `Error` or `RetryableError`: `ResetSource` could not drop or re-create the slot.
inline constexpr char kPgResetFailed[] = "pg_reset_failed";
/// `RetryableError`: `ResetSource` waited too long for the stream to stop.
inline constexpr char kPgResetTimeout[] = "pg_reset_timeout";
/// `FatalError`: the replication connection could not be re-established within `max_attempts`.
inline constexpr char kPgReconnectExhausted[] = "pg_reconnect_exhausted";
/// `FatalError`: a configured table left the publication while streaming.
inline constexpr char kPgPublicationIncomplete[] = "pg_publication_incomplete";
/// `FatalError`: a configured table was dropped or renamed on the server.
inline constexpr char kPgTableNotFound[] = "pg_table_not_found";
/// `DataError`: pgoutput messages out of the protocol's order (a change outside a transaction,
/// an unknown relation, binary data that was not asked for).
inline constexpr char kPgoutputProtocol[] = "pgoutput_protocol";
/// `DataError`: a pgoutput message whose bytes do not decode.
inline constexpr char kPgoutputDecode[] = "pgoutput_decode";
/// `DataError`: a replication protocol message (XLogData, keepalive) whose bytes do not decode.
inline constexpr char kReplicationDecode[] = "replication_decode";
/// `RetryableError`: a spill file of a streamed transaction could not be created, written or read
/// (the directory is missing, the disk is full).
inline constexpr char kPgSpillIo[] = "pg_spill_io";
/// `DataError`: a baseline COPY line that does not split into the table's fields.
inline constexpr char kBadCopyLine[] = "bad_copy_line";
/// `DataError`: a column's text is not a valid value of its type.
inline constexpr char kBadValue[] = "bad_value";

// --- S3 + Kinesis source and the AWS clients ---------------------------------------------------
/// `RetryableError`: the service throttled the request (also HTTP 503 SlowDown).
inline constexpr char kThrottled[] = "throttled";
/// `RetryableError`: HTTP 5xx from the service.
inline constexpr char kServerError[] = "server_error";
/// `RetryableError`: the credentials expired; the retry signs with fresh ones from the provider.
inline constexpr char kExpiredCredentials[] = "expired_credentials";
/// `RetryableError`: a Kinesis shard iterator expired; the source asks for a new one.
inline constexpr char kExpiredIterator[] = "expired_iterator";
/// `RetryableError`: a response that is not what the API documents.
inline constexpr char kBadResponse[] = "bad_response";
/// `RetryableError`: the HTTP exchange failed (connect, TLS, read, write, timeout).
inline constexpr char kHttpIo[] = "http_io";
/// `FatalError`: the stream, bucket, object or table does not exist.
inline constexpr char kNotFound[] = "not_found";
/// `FatalError`: a DynamoDB condition expression failed.
inline constexpr char kConditionalCheckFailed[] = "conditional_check_failed";
/// `FatalError`: any other client error the service returned.
inline constexpr char kAwsError[] = "aws_error";
/// `FatalError`: an OpenSSL primitive failed.
inline constexpr char kCrypto[] = "crypto";
/// `DataError`: `manifest.json` is not valid or does not follow the data contract.
inline constexpr char kBadManifest[] = "bad_manifest";
/// `DataError`: a snapshot object is corrupt (bad gzip, truncated, data after the end).
inline constexpr char kBadObject[] = "bad_object";
/// `DataError`: a table line or stream record does not follow the data contract.
inline constexpr char kBadRecord[] = "bad_record";
/// `DataError`: a stored checkpoint is not a position.
inline constexpr char kBadCheckpoint[] = "bad_checkpoint";
/// `FatalError`: a checkpoint save would move a checkpoint backwards.
inline constexpr char kCheckpointBackwards[] = "checkpoint_backwards";
/// `RetryableError`: concurrent writers kept changing the checkpoint under a save.
inline constexpr char kCheckpointContention[] = "checkpoint_contention";
/// `RetryableError`: reading or writing the checkpoint file failed.
inline constexpr char kCheckpointIo[] = "checkpoint_io";
/// `DataError`: a change whose contract record (data plus partition key) exceeds what one Kinesis
/// record may hold (1 MiB, or the publisher's lower limit).
inline constexpr char kRecordTooLarge[] = "record_too_large";
/// `DataError`: a value the data contract has no text for (a date beyond year 9999, a JSON value
/// that is not a JSON document, an unchanged marker in an insert).
inline constexpr char kUnencodableValue[] = "unencodable_value";
/// `FatalError`: Kinesis rejected a record with an error that retrying cannot fix (KMS access
/// denied, a disabled key); the publisher stops sending.
inline constexpr char kPutRejected[] = "put_rejected";

// --- snapshots (laredo::snapshot) ---------------------------------------------------------------
/// `DataError`: a snapshot file or metadata document is corrupt (magic, a length, a checksum, a
/// count, truncated, trailing bytes) or a row cannot be stored in one (an unchanged marker).
inline constexpr char kBadSnapshot[] = "bad_snapshot";
/// `DataError`: a snapshot file or metadata document of a format version this library does not
/// read.
inline constexpr char kSnapshotVersion[] = "snapshot_version";
/// `Error`: reading or writing a snapshot store failed (a file system call; S3 failures keep the
/// codes of the S3 client).
inline constexpr char kSnapshotIo[] = "snapshot_io";
/// `Error`: `SnapshotStore::Open` of a snapshot the store does not hold (never committed, or
/// pruned), or a table the snapshot does not have.
inline constexpr char kSnapshotNotFound[] = "snapshot_not_found";
/// `Error`: a target was asked to export a snapshot while its baseline is incomplete.
inline constexpr char kSnapshotNotReady[] = "snapshot_not_ready";
/// `Error`: `Engine::CreateSnapshot` could not complete a snapshot (an export or the store failed,
/// or it timed out); nothing of it is listed.
inline constexpr char kSnapshotFailed[] = "snapshot_failed";

// --- HTTP operations server (laredo::http) ------------------------------------------------------
/// `Error`: `http::Server` cannot listen (port taken, address not local).
inline constexpr char kHttpListen[] = "http_listen";

}  // namespace laredo::codes

/// The stable codes of `ValidationError::code`, reported by `SyncSource::ValidateTables` (and by
/// the engine as one `ConfigError` listing every problem).
namespace laredo::validation_codes {

inline constexpr char kTableNotFound[] = "TABLE_NOT_FOUND";
inline constexpr char kNoPrimaryKey[] = "NO_PRIMARY_KEY";
inline constexpr char kColumnNotFound[] = "COLUMN_NOT_FOUND";
inline constexpr char kColumnListMissesKey[] = "COLUMN_LIST_MISSES_KEY";
inline constexpr char kValidationFailed[] = "VALIDATION_FAILED";
// PostgreSQL source
inline constexpr char kWalLevelNotLogical[] = "WAL_LEVEL_NOT_LOGICAL";
inline constexpr char kNoReplicationPrivilege[] = "NO_REPLICATION_PRIVILEGE";
inline constexpr char kNoSelectPrivilege[] = "NO_SELECT_PRIVILEGE";
inline constexpr char kPublicationNotFound[] = "PUBLICATION_NOT_FOUND";
inline constexpr char kPublicationManagedByOther[] = "PUBLICATION_MANAGED_BY_OTHER";
inline constexpr char kPublicationSyncFailed[] = "PUBLICATION_SYNC_FAILED";
inline constexpr char kTableNotInPublication[] = "TABLE_NOT_IN_PUBLICATION";
inline constexpr char kTablePublishedByOthers[] = "TABLE_PUBLISHED_BY_OTHERS";
inline constexpr char kPartitionsPublishedAsLeaves[] = "PARTITIONS_PUBLISHED_AS_LEAVES";
// S3 + Kinesis source
inline constexpr char kStreamNotFound[] = "STREAM_NOT_FOUND";
inline constexpr char kStreamNotActive[] = "STREAM_NOT_ACTIVE";
inline constexpr char kStreamUnreachable[] = "STREAM_UNREACHABLE";

}  // namespace laredo::validation_codes
