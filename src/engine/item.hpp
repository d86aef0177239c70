#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "engine/batch_pool.hpp"
#include "engine/snapshot_jobs.hpp"
#include "laredo/change_event.hpp"
#include "laredo/column_definition.hpp"
#include "laredo/row.hpp"

namespace laredo::engine {

using Columns = std::shared_ptr<const std::vector<ColumnDefinition>>;
using ChangeBatch = Batch<ChangeEvent>;
using RowBatch = Batch<Row>;

/// The items a pipeline's buffer holds, in source order: control steps, baseline rows and changes
/// travel in one queue, so a target sees them in the order the source produced them.

/// `OnInit(columns)`.
struct InitStep {
  Columns columns;
};
/// `OnBaselineBegin(columns)`: a baseline of `generation` (the source runner's baseline counter)
/// starts, so a re-baseline request made while applying an older stream is known to be answered.
struct BaselineBeginStep {
  Columns columns;
  std::uint64_t generation = 0;
};
/// Baseline rows of the pipeline's table.
struct BaselineRows {
  BatchRef<Row> rows;
};
/// `OnBaselineComplete`; the baseline's end position at dispatch number `seq`.
struct BaselineCompleteStep {
  std::uint64_t seq = 0;
  Position position;
};
/// The changes of a shared batch that go to this pipeline: those in [begin, end) whose route is
/// `route` (`count` of them; the last one has dispatch number `last_seq`).
struct ChangeRun {
  BatchRef<ChangeEvent> batch;
  std::uint32_t begin = 0;
  std::uint32_t end = 0;
  std::uint32_t count = 0;
  std::uint16_t route = 0;
  std::uint64_t last_seq = 0;
};
/// `OnSchemaChange(old, columns)`.
struct SchemaChangeStep {
  Columns columns;
};
/// No baseline: the source resumed and the target kept its rows (or was restored from a snapshot).
/// `reload_continues`: the target holds part of a reload of its table, which the source goes on
/// with (`ReloadableSource::ContinueReload`): the pipeline is loading until its end.
struct ResumeStep {
  bool reload_continues = false;
};
/// The snapshot barrier: export the target, which now holds exactly the changes dispatched
/// before this step (docs/snapshots.md).
struct SnapshotStep {
  std::shared_ptr<SnapshotJob> job;
};
/// A reload of the pipeline's table while the stream flows begins: `OnBaselineBegin(columns)`, the
/// target builds the new contents aside (its rows arrive as `BaselineRows`, mixed with changes)
/// and the pipeline stays ready, serving the old ones.
struct ReloadBeginStep {
  Columns columns;
};
/// Every row of the reload was delivered: `OnBaselineComplete`, the new contents are swapped in.
struct ReloadEndStep {};
/// `OnReloadCheckpoint(checkpoint)`: the reload can be continued from here after a restart.
struct ReloadCheckpointStep {
  std::string checkpoint;
};
/// Restore the target from its file in a snapshot, in place of a baseline.
struct RestoreStep {
  std::shared_ptr<RestoreJob> job;
};

using Item = std::variant<InitStep, BaselineBeginStep, BaselineRows, BaselineCompleteStep,
                          ChangeRun, SchemaChangeStep, ResumeStep, SnapshotStep, RestoreStep,
                          ReloadBeginStep, ReloadEndStep, ReloadCheckpointStep>;

/// Buffer slots an item takes: one per row or change, one per control step but the barrier.
[[nodiscard]] inline std::size_t Weight(const Item& item) {
  if (const auto* run = std::get_if<ChangeRun>(&item)) return run->count;
  if (const auto* rows = std::get_if<BaselineRows>(&item)) return rows->rows->items.size();
  // The barrier never waits for room: it is queued from outside the source thread, which must
  // not be held up behind it (docs/snapshots.md).
  if (std::holds_alternative<SnapshotStep>(item)) return 0;
  return 1;
}

/// The dispatch number of the newest positioned thing in `item`, or 0.
[[nodiscard]] inline std::uint64_t LastSeq(const Item& item) {
  if (const auto* run = std::get_if<ChangeRun>(&item)) return run->last_seq;
  if (const auto* done = std::get_if<BaselineCompleteStep>(&item)) return done->seq;
  return 0;
}

}  // namespace laredo::engine
