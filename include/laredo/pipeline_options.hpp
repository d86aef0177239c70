#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "laredo/backoff.hpp"
#include "laredo/row.hpp"

namespace laredo {

class DeadLetterSink;

/// What a pipeline does when its buffer is full and another change arrives.
enum class BufferPolicy {
  /// Wait for room: backpressure reaches the source, which stops reading. Nothing is lost.
  Block,
  /// Lossy by choice: discard the oldest buffered change to make room. The target misses that
  /// change (it is reported to the observer, `OnChangeDropped`) and the ACK passes it; use only for
  /// targets that tolerate gaps, such as live dashboards.
  DropOldest,
  /// Fail the pipeline (the change is dead-lettered); its error policy decides what happens next.
  Error,
};

/// What happens once a failing change has used up its retries.
enum class ErrorAction {
  /// Stop this pipeline only; the others of the source go on. The default. Nothing is lost: the
  /// failing change is dead-lettered, and the isolated pipeline keeps holding its source's ACK at
  /// the last position it made durable, so after a restart (with the cause fixed) the source
  /// delivers everything from there again. Until then the source cannot release what follows
  /// (a PostgreSQL slot retains WAL, a Kinesis checkpoint stays put): watch the observer's errors.
  Isolate,
  /// Lossy by choice: dead-letter the change and go on with the next one; the target misses it and
  /// the ACK passes it. Control steps (init, baseline start, schema change) that fail are never
  /// skipped; they isolate the pipeline instead.
  Skip,
  /// Stop every pipeline of this source and the source itself (the ACK stays where it was).
  StopSource,
  /// Stop the whole engine.
  StopEngine,
};

/// Per-pipeline failure handling: retry retryable failures (`laredo::IsRetryable`) with capped
/// exponential backoff, then dead-letter the change and take `on_exhausted`. Failures that retrying
/// cannot fix (`ConfigError`, `DataError`, `FatalError`, any other `laredo::Error`) skip the
/// retries. The defaults follow Kafka clients and Debezium, which retry transient failures for
/// minutes rather than seconds: a target that is down for a short while (a restart, a failover)
/// should not isolate a pipeline.
struct ErrorPolicy {
  /// Retries after the first failure; -1 (the default) sets no count, so `retry_timeout` alone
  /// ends them.
  int max_retries = -1;
  /// How long one change is retried, from its first failure, before `on_exhausted`. Default 5 min.
  std::chrono::milliseconds retry_timeout{300'000};
  /// Delays between retries. Default 100 ms doubling up to 10 s.
  Backoff backoff{.initial = std::chrono::milliseconds(100),
                  .max = std::chrono::milliseconds(10'000),
                  .multiplier = 2.0};
  /// What to do after the last retry failed. Default Isolate.
  ErrorAction on_exhausted = ErrorAction::Isolate;
};

/// Keeps a row when it returns true. Never sees `Value::Unchanged()`: the engine fills such columns
/// in from the change's old row or the target's copy of the row, and reloads the table (or
/// re-baselines) when it cannot.
using RowFilter = std::function<bool(const Row&)>;
/// Rewrites a row, or drops it by returning nullopt. Applied to new rows and to identity rows
/// (which may hold only the key columns), so a transform of a key column reaches updates and
/// deletes alike; it must be deterministic and handle key-only rows. Never sees
/// `Value::Unchanged()` (see `RowFilter`).
using RowTransform = std::function<std::optional<Row>(Row)>;

/// How one (source, table, target) pipeline behaves. Every field has a usable default.
struct PipelineOptions {
  /// Pipeline id; empty (the default) means "SOURCE/schema.table/N".
  std::string name{};
  /// Changes held between the source and the target. Default 8192; must be at least 1.
  std::size_t buffer_capacity = 8192;
  /// Full-buffer behaviour. Default Block.
  BufferPolicy buffer_policy = BufferPolicy::Block;
  /// Applied in order to baseline rows and to the new row of inserts and updates. An update whose
  /// new row fails a filter becomes a delete, so rows that leave the filter leave the target.
  /// Deletes always reach the target (deleting a row it does not hold is harmless).
  std::vector<RowFilter> filters{};
  /// Applied in order after the filters, to baseline rows, new rows and identity rows. A transform
  /// that drops the new row of an update turns it into a delete, like a filter.
  std::vector<RowTransform> transforms{};
  /// Retry, dead-letter and isolation behaviour.
  ErrorPolicy error_policy{};
  /// Where changes that exhausted their retries go. Default none (they are logged).
  std::shared_ptr<DeadLetterSink> dead_letter{};
};

}  // namespace laredo
