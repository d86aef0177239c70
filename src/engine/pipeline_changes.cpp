// A pipeline's changes: runs of a shared batch, prepared by the row stage and handed to the
// target in batches (`SyncTarget::OnChanges`); after a failed batch, one change at a time with
// the error policy's retries.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <chrono>

#include "engine/pipeline.hpp"
#include "engine/target_lock.hpp"
#include "laredo/error.hpp"
#include "laredo/error_codes.hpp"
#include "laredo/logging.hpp"

namespace laredo::engine {

bool Pipeline::ApplyRun(ChangeRun& run, const std::stop_token& stop) {
  observer_->OnChangesReceived(id_, table_, run.count);
  const ChangeBatch& batch = *run.batch;
  std::uint32_t i = run.begin;
  while (i < run.end) {
    std::uint32_t done = i;
    std::exception_ptr failed;
    failure_is_exact_ = false;
    try {
      ApplyChanges(run, i, run.end, done);
      return true;
    } catch (const std::exception& e) {
      Logger()->debug(
          "pipeline {}: a batch failed at change {} of the run: {}; applying the "
          "rest one by one",
          id_, done, e.what());
      // A failure known to be that change's counts as its first attempt.
      if (failure_is_exact_) failed = std::current_exception();
    }
    // The change at `done` (or the first of this run after it) failed: on its own, with retries.
    i = done;
    while (i < run.end && batch.routes[i] != run.route) ++i;
    if (i == run.end) return true;
    const ChangeEvent& event = batch.items[i];
    const std::uint32_t one = i;
    const auto attempt = [&] {
      std::uint32_t ignored = one;
      ApplyChanges(run, one, one + 1, ignored);
    };
    const auto letter = [&](const std::string& error, int attempts) {
      dead_letters_.WriteChange(event, error, attempts, *upstream_);
    };
    const auto outcome = WithRetry(ToString(event.action), attempt, letter, stop, failed);
    if (outcome == Outcome::Halt) return false;
    if (outcome == Outcome::Skipped) durability_.NoteApplied(batch.first_seq + one, event.position);
    i = one + 1;
  }
  return true;
}

void Pipeline::ApplyChanges(const ChangeRun& run, std::uint32_t from, std::uint32_t to,
                            std::uint32_t& done) {
  const ChangeBatch& batch = *run.batch;
  pending_.clear();
  pending_index_.clear();
  made_rows_.clear();
  std::uint32_t first = from;  // the first change not yet handed to the target
  std::uint32_t i = from;
  for (; i < to && !Discarding(); ++i) {
    if (batch.routes[i] != run.route) continue;
    const ChangeEvent& event = batch.items[i];
    // Filling unchanged values may read the target's row: everything before it goes first.
    if (!pending_.empty() && event.action == ChangeAction::Update &&
        RowStage::HasUnchanged(event.new_values)) {
      FlushPending(run, first, i, done);
      first = i;
    }
    try {
      PrepareChange(event, batch.first_seq + i);
    } catch (const std::exception&) {
      // A filter, transform or malformed event failed at `i`. With nothing prepared before it,
      // the failure is that change's own; else the slow path starts at the first unapplied one.
      if (pending_.empty()) {
        FlushPending(run, first, i, done);  // no target call: counts the filtered-out changes
        failure_is_exact_ = true;
      }
      throw;
    }
    if (Discarding()) break;  // this change was not applied: it must not count
    pending_index_.resize(pending_.size(), i);
  }
  // Changes after a re-baseline request are discarded: not applied, not confirmed.
  FlushPending(run, first, i, done);
  if (awaiting_reload_) NoteDiscarded(run, i, to);
  done = to;
}

void Pipeline::NoteDiscarded(const ChangeRun& run, std::uint32_t from, std::uint32_t to) {
  for (std::uint32_t k = to; k-- > from;) {
    if (run.batch->routes[k] != run.route) continue;
    discarded_.emplace(run.batch->first_seq + k, run.batch->items[k].position);
    return;
  }
}

void Pipeline::FlushPending(const ChangeRun& run, std::uint32_t first, std::uint32_t end,
                            std::uint32_t& done) {
  if (!pending_.empty()) {
    try {
      TargetLock lock(target_mutex_);
      const auto start = std::chrono::steady_clock::now();
      target_->OnChanges(table_, pending_);
      observer_->OnChangesApplied(id_, pending_.size(), std::chrono::steady_clock::now() - start);
    } catch (const PartialBatchError& e) {
      done = e.applied() < pending_index_.size() ? pending_index_[e.applied()] : end;
      CountApplied(run, first, done);
      failure_is_exact_ = true;
      if (e.cause()) std::rethrow_exception(e.cause());
      throw;
    } catch (const std::exception&) {
      done = pending_index_.front();
      failure_is_exact_ = pending_.size() == 1;
      throw;
    }
  }
  CountApplied(run, first, end);
  done = end;
  pending_.clear();
  pending_index_.clear();
  made_rows_.clear();
}

void Pipeline::CountApplied(const ChangeRun& run, std::uint32_t first, std::uint32_t end) {
  const ChangeBatch& batch = *run.batch;
  std::uint32_t last = end;
  std::uint64_t count = 0;
  for (std::uint32_t k = first; k < end; ++k) {
    if (batch.routes[k] != run.route) continue;
    observer_->OnChangeApplied(id_, batch.items[k]);
    last = k;
    ++count;
  }
  if (count > 0) {
    changes_applied_.fetch_add(count, std::memory_order_relaxed);
    durability_.NoteApplied(batch.first_seq + last, batch.items[last].position);
  }
}

const Row* Pipeline::Transformed(const Row& row) {
  if (!rows_.HasTransforms()) return &row;  // the common case: no copy, no storage
  made_rows_.emplace_back();
  return rows_.Transform(row, made_rows_.back());
}

void Pipeline::PrepareChange(const ChangeEvent& event, std::uint64_t seq) {
  TargetChange change{.action = event.action, .event = &event, .ticket = seq, .source = source_};
  switch (event.action) {
    case ChangeAction::Insert: {
      if (RowStage::HasUnchanged(event.new_values)) {
        throw DataError(codes::kBadEvent,
                        "insert into " + table_.ToString() + " carries an unchanged-value marker");
      }
      change.row = rows_.Passes(event.new_values) ? Transformed(event.new_values) : nullptr;
      if (change.row != nullptr) {
        pending_.push_back(change);
      } else {
        observer_->OnChangeFiltered(id_, event);
      }
      return;
    }
    case ChangeAction::Update:
      return PrepareUpdate(event, seq);
    case ChangeAction::Delete: {
      if (event.old_values.empty()) {
        throw DataError(codes::kBadEvent,
                        "delete on " + table_.ToString() + " carries no identity");
      }
      // A transform that drops the identity says the row never reached the target.
      change.identity = Transformed(event.old_values);
      if (change.identity != nullptr) {
        pending_.push_back(change);
      } else {
        observer_->OnChangeFiltered(id_, event);
      }
      return;
    }
    case ChangeAction::Truncate:
      pending_.push_back(change);
      return;
  }
}

void Pipeline::PrepareUpdate(const ChangeEvent& event, std::uint64_t seq) {
  const Row& raw_identity = event.old_values.empty() ? event.new_values : event.old_values;
  // Transformed like the stored rows; without transforms, the event's own row (no copy).
  const Row* identity = Transformed(raw_identity);
  const Row* new_row = &event.new_values;
  if (RowStage::HasUnchanged(event.new_values)) {
    // Unchanged (TOAST) values: from the old row first (REPLICA IDENTITY FULL sends it whole),
    // then from the target's copy. Filters, transforms and targets that read rows never get a
    // marker; when it cannot be filled, the row is re-read by a baseline.
    made_rows_.emplace_back(event.new_values);
    Row& filled = *made_rows_.back();
    bool left = RowStage::FillUnchanged(filled, event.old_values);
    const bool reads_rows = target_->CanReadRows();
    if (left && reads_rows && identity != nullptr) {
      TargetLock lock(target_mutex_);
      if (auto current = target_->ReadRow(table_, *identity)) {
        left = RowStage::FillUnchanged(filled, *current);
      } else if (!rows_.HasRowLogic()) {
        // A key change delivered again (at least once: a replay after a crash) finds its row
        // already moved to the new key: the values it left unchanged are there.
        if (auto moved = target_->ReadRow(table_, filled)) {
          left = RowStage::FillUnchanged(filled, *moved);
        }
      }
    }
    if (left && (reads_rows || rows_.HasRowLogic())) {
      auto at = event.position.has_value() ? source_->PositionToString(event.position) : "";
      if (!at.empty() && unfillable_at_ == at) {
        throw DataError(
            codes::kUnchangedUnknownRow,
            fmt::format("an update of {} {} at {} carries unchanged values that neither the "
                        "change nor the target holds, again after the re-baseline that should "
                        "have read the row: the source's baseline lacks its values there (it "
                        "baselines from a snapshot older than the update and replays it)",
                        table_.ToString(), raw_identity.ToString(), at));
      }
      unfillable_at_ = std::move(at);
      AwaitReload(fmt::format(
          "an update of {} {} carries unchanged values that neither the change nor the target "
          "holds",
          table_.ToString(), raw_identity.ToString()));
      return;
    }
    new_row = &filled;
  }
  const Row* row = rows_.Passes(*new_row) ? Transformed(*new_row) : nullptr;
  TargetChange change{.event = &event, .ticket = seq, .source = source_};
  if (row != nullptr) {
    // A dropped identity: the row was not in the target; the update inserts it.
    change.action = ChangeAction::Update;
    change.row = row;
    change.identity = identity != nullptr ? identity : row;
  } else if (identity != nullptr) {
    change.action = ChangeAction::Delete;  // a row that no longer passes the filter leaves
    change.identity = identity;
  } else {
    observer_->OnChangeFiltered(id_, event);
    return;
  }
  pending_.push_back(change);
}

}  // namespace laredo::engine
