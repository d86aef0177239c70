#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "laredo/pg/lsn.hpp"

namespace laredo::pg {

/// One `pg_logical_emit_message(transactional, prefix, content)` as the source delivers it to
/// `SourceOptions::on_message` (see docs/pg-source.md, "Logical decoding messages").
/// Thread-safety: a value type.
struct LogicalMessage {
  std::string prefix;
  /// The content exactly as sent: raw bytes (a `bytea` argument may hold any byte, NUL too).
  std::string content;
  /// Emitted as part of a transaction: delivered when it commits, between its changes as they
  /// were written; never delivered when it rolls back. Otherwise delivered as soon as decoded.
  bool transactional = false;
  /// The message's own WAL position.
  Lsn lsn;
  /// Transactional messages only: the commit LSN and id of the transaction (else zero).
  Lsn commit_lsn;
  std::uint32_t transaction_id = 0;
};

/// The prefix of the logical decoding messages the default heartbeat writes
/// (`SourceOptions::heartbeat_interval`). Non-transactional messages with it are not delivered to
/// `SourceOptions::on_message`.
inline constexpr std::string_view kHeartbeatPrefix = "laredo_heartbeat";

/// The prefix of the watermarks a reload of one table writes (`Source::ReloadTable`): transactional
/// logical decoding messages, never delivered to `SourceOptions::on_message`.
inline constexpr std::string_view kWatermarkPrefix = "laredo_watermark";

/// Runs on the stream thread, in stream order; keep it short (the stream waits for it). An
/// exception from it ends `Stream` with that exception, which the engine treats like any source
/// failure (retried when it is a `RetryableError`); a message counts as delivered only once the
/// handler returned, so a resumed stream delivers it again.
using LogicalMessageHandler = std::function<void(const LogicalMessage&)>;

/// What the buffering of streamed (in-progress) transactions did since the source was created.
/// Thread-safety: a value type (a snapshot; see `Source::StreamBufferStatistics`).
struct StreamBufferStats {
  /// Bytes held in memory now, over every open streamed transaction.
  std::uint64_t buffered_bytes = 0;
  /// The most ever held in memory at once; never above `SourceOptions::stream_memory_bytes`.
  std::uint64_t peak_buffered_bytes = 0;
  /// Bytes written to spill files, and how many transactions spilled.
  std::uint64_t spilled_bytes = 0;
  std::uint64_t spilled_transactions = 0;
  /// Streamed transactions dispatched at their Stream Commit, and discarded at Stream Abort.
  std::uint64_t committed_transactions = 0;
  std::uint64_t aborted_transactions = 0;
  /// Subtransactions discarded inside streamed transactions (ROLLBACK TO SAVEPOINT).
  std::uint64_t aborted_subtransactions = 0;
};

}  // namespace laredo::pg
