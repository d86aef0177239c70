#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "laredo/row.hpp"

namespace laredo {

class DeadLetterSink;

/// What a pipeline does when its buffer is full and another change arrives.
enum class BufferPolicy {
  /// Wait for room: backpressure reaches the source, which stops reading. Nothing is lost.
  Block,
  /// Discard the oldest buffered change to make room. The target misses that change (it is
  /// reported to the observer); use only for targets that tolerate gaps, such as live dashboards.
  DropOldest,
  /// Fail the pipeline; its error policy decides what happens next.
  Error,
};

/// What happens once a failing change has used up its retries.
enum class ErrorAction {
  /// Stop this pipeline only; the others of the source go on. The default.
  Isolate,
  /// Dead-letter the change and go on with the next one (the target misses that change).
  Skip,
  /// Stop every pipeline of this source and the source itself.
  StopSource,
  /// Stop the whole engine.
  StopEngine,
};

/// Per-pipeline failure handling: retry with exponential backoff, then dead-letter the change and
/// take `on_exhausted`.
struct ErrorPolicy {
  /// Retries after the first failure. Default 3 (four attempts in all).
  int max_retries = 3;
  /// Delay before the first retry. Default 100 ms.
  std::chrono::milliseconds initial_backoff{100};
  /// Upper bound of the delay. Default 10 s.
  std::chrono::milliseconds max_backoff{10'000};
  /// Growth of the delay per retry. Default 2.
  double multiplier = 2.0;
  /// What to do after the last retry failed. Default Isolate.
  ErrorAction on_exhausted = ErrorAction::Isolate;
};

/// Keeps a row when it returns true.
using RowFilter = std::function<bool(const Row&)>;
/// Rewrites a row, or drops it by returning nullopt. Transforms must keep the key columns.
using RowTransform = std::function<std::optional<Row>(Row)>;

/// How one (source, table, target) pipeline behaves. Every field has a usable default.
struct PipelineOptions {
  /// Pipeline id; empty (the default) means "SOURCE/schema.table/N".
  std::string name;
  /// Changes held between the source and the target. Default 8192; must be at least 1.
  std::size_t buffer_capacity = 8192;
  /// Full-buffer behaviour. Default Block.
  BufferPolicy buffer_policy = BufferPolicy::Block;
  /// Applied in order to baseline rows and to the new row of inserts and updates. An update whose
  /// new row fails a filter becomes a delete, so rows that leave the filter leave the target.
  std::vector<RowFilter> filters;
  /// Applied in order after the filters, to baseline rows, new rows and identity rows. A transform
  /// that drops the new row of an update turns it into a delete, like a filter.
  std::vector<RowTransform> transforms;
  /// Retry, dead-letter and isolation behaviour.
  ErrorPolicy error_policy;
  /// Where changes that exhausted their retries go. Default none (they are logged).
  std::shared_ptr<DeadLetterSink> dead_letter;
};

}  // namespace laredo
