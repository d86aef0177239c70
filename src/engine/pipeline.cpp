#include "engine/pipeline.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "laredo/dead_letter.hpp"
#include "laredo/error.hpp"
#include "laredo/logging.hpp"

namespace laredo::engine {
namespace {

// How often a pipeline re-asks a target that is not yet durable.
constexpr auto kDurabilityPoll = std::chrono::milliseconds(20);
// How long a worker stays idle before it frees the spent items the source thread left.
constexpr auto kIdleFree = std::chrono::milliseconds(500);

std::string OperationName(const Item& item) {
  switch (item.kind) {
    case Item::Kind::BaselineRow:
      return "baseline_row";
    case Item::Kind::Change:
      return std::string(ToString(item.event->action));
    case Item::Kind::Init:
      return "init";
    case Item::Kind::BaselineBegin:
      return "baseline_begin";
    case Item::Kind::BaselineComplete:
      return "baseline_complete";
    case Item::Kind::SchemaChange:
      return "schema_change";
    case Item::Kind::Resume:
      return "resume";
  }
  return "?";
}

// Holds the shared-target lock, if any, for one target call.
class TargetLock {
 public:
  explicit TargetLock(const std::shared_ptr<std::mutex>& mu) : mu_(mu.get()) {
    if (mu_ != nullptr) mu_->lock();
  }
  ~TargetLock() {
    if (mu_ != nullptr) mu_->unlock();
  }
  TargetLock(const TargetLock&) = delete;
  TargetLock& operator=(const TargetLock&) = delete;

 private:
  std::mutex* mu_;
};

}  // namespace

Pipeline::Pipeline(std::string id, std::string source_id, TableIdentifier table,
                   std::shared_ptr<SyncTarget> target, PipelineOptions options,
                   std::shared_ptr<EngineObserver> observer,
                   std::shared_ptr<std::mutex> target_mutex, bool spin_before_sleep)
    : id_(std::move(id)),
      source_id_(std::move(source_id)),
      table_(std::move(table)),
      target_(std::move(target)),
      options_(std::move(options)),
      observer_(std::move(observer)),
      target_mutex_(std::move(target_mutex)),
      spin_before_sleep_(spin_before_sleep),
      rows_(options_) {}

Pipeline::~Pipeline() {
  hard_stop_.request_stop();
  Join();
}

void Pipeline::Start(PipelineCallbacks callbacks) {
  callbacks_ = std::move(callbacks);
  worker_ = std::jthread([this](std::stop_token) { Run(hard_stop_.get_token()); });
}

bool Pipeline::Enqueue(Item item, const std::stop_token& stop,
                       const BackpressureHook* while_blocked) {
  // One applied item is freed per call, here where it was allocated and outside the lock: one
  // freed row per new row keeps glibc's malloc on its per-thread cache (freeing a whole batch at
  // once overflows it, and the slow path of free() then cost more than the rest of a baseline).
  Item spent;  // declared first: destroyed after the lock is released
  std::unique_lock lk(mu_);
  if (!graveyard_.empty()) {
    spent = std::move(graveyard_.back());
    graveyard_.pop_back();
  }
  if (halted_) return DiscardLocked(item);
  if (item.kind == Item::Kind::BaselineBegin) ready_.store(false, std::memory_order_release);
  const bool is_change = item.kind == Item::Kind::Change;
  while (queue_.size() >= options_.buffer_capacity) {
    // A paused pipeline holds everything; the policies only apply while it runs.
    if (is_change && !paused_ && options_.buffer_policy == BufferPolicy::DropOldest) {
      std::size_t oldest = 0;
      while (oldest < queue_.size() && queue_.at(oldest).kind != Item::Kind::Change) ++oldest;
      if (oldest < queue_.size()) {
        auto dropped = std::move(queue_.at(oldest).event);
        const auto seq = queue_.at(oldest).seq;
        queue_.erase_at(oldest);
        auto pos = std::lower_bound(unconfirmed_.begin(), unconfirmed_.end(), seq);
        if (pos != unconfirmed_.end() && *pos == seq) unconfirmed_.erase(pos);
        lk.unlock();
        observer_->OnChangeDropped(id_, *dropped);
        lk.lock();
        continue;
      }
    } else if (is_change && !paused_ && options_.buffer_policy == BufferPolicy::Error) {
      lk.unlock();
      const auto reason = fmt::format("buffer full ({} changes) under BufferPolicy::Error",
                                      options_.buffer_capacity);
      if (options_.error_policy.on_exhausted == ErrorAction::Skip) {
        WriteDeadLetter(item, reason, 1);  // dropped, and never holds back the ACK
        observer_->OnError(id_, reason, false);
      } else {
        Fail(reason, &item, 1);
      }
      return true;
    }
    const auto can_go = [&] { return queue_.size() < options_.buffer_capacity || halted_; };
    if (while_blocked != nullptr && while_blocked->hook) {
      while (!not_full_.wait_for(lk, stop, while_blocked->interval, can_go)) {
        if (stop.stop_requested()) return false;
        lk.unlock();
        while_blocked->hook();
        lk.lock();
      }
    } else if (!not_full_.wait(lk, stop, can_go)) {
      return false;
    }
    if (halted_) return DiscardLocked(item);  // halted while this call waited for room
  }
  if (item.seq != 0) unconfirmed_.push_back(item.seq);
  queue_.push_back(std::move(item));
  enqueued_.fetch_add(1, std::memory_order_release);
  // Waking an idle worker costs a futex call; a busy one finds the item on its next pass.
  const bool wake = worker_waiting_;
  lk.unlock();
  if (wake) not_empty_.notify_one();
  return true;
}

bool Pipeline::DiscardLocked(const Item& item) {
  // Discarded, but remembered: the ACK must not pass it. The first one is enough to hold the
  // watermark at the last durable point (it is newer than anything applied, so confirming what was
  // applied before the halt never removes it), and a long-isolated pipeline does not grow.
  if (item.seq != 0 && !discarded_marked_) {
    unconfirmed_.push_back(item.seq);
    discarded_marked_ = true;
  }
  return true;
}

AckPoint Pipeline::Watermark(const AckPoint& published) const {
  std::lock_guard lk(mu_);
  // Waiting for a re-baseline holds the ACK even with nothing queued: the request (a schema change,
  // an unfillable row) has no position of its own, and a restart must see it again.
  if (awaiting_rebaseline_held_) return confirmed_;
  if (unconfirmed_.empty() || published.seq < confirmed_.seq) return published;
  return confirmed_;
}

void Pipeline::SetPaused(bool paused) {
  {
    std::lock_guard lk(mu_);
    paused_ = paused;
    if (state_ == PipelineState::Streaming && paused)
      state_ = PipelineState::Paused;
    else if (state_ == PipelineState::Paused && !paused)
      state_ = PipelineState::Streaming;
  }
  not_empty_.notify_all();
  not_full_.notify_all();
  observer_->OnPipelineStateChanged(id_, Status().state);
}

void Pipeline::BeginDrain(std::chrono::steady_clock::time_point deadline) {
  {
    std::lock_guard lk(mu_);
    draining_ = true;
    drain_deadline_.store(deadline.time_since_epoch().count(), std::memory_order_release);
  }
  not_empty_.notify_all();
}

bool Pipeline::DrainExpired() const {
  const auto deadline = drain_deadline_.load(std::memory_order_acquire);
  return deadline != 0 && std::chrono::steady_clock::now().time_since_epoch().count() >= deadline;
}

bool Pipeline::WaitExited(std::chrono::steady_clock::time_point deadline) {
  std::unique_lock lk(mu_);
  return exited_cv_.wait_until(lk, deadline, [&] { return exited_; });
}

void Pipeline::RequestHardStop() {
  hard_stop_.request_stop();
  not_empty_.notify_all();
  not_full_.notify_all();
}

void Pipeline::Halt(PipelineState state, const std::string& reason) {
  {
    std::lock_guard lk(mu_);
    if (halted_) return;
    halted_ = true;
    ready_.store(false, std::memory_order_release);
    queue_.clear();  // `unconfirmed_` stays: the ACK must not pass what was never applied
    state_ = state;
    if (!reason.empty()) last_error_ = reason;
  }
  not_empty_.notify_all();
  not_full_.notify_all();
  observer_->OnPipelineStateChanged(id_, state);
}

void Pipeline::Join() {
  if (worker_.joinable()) worker_.join();
}

PipelineStatus Pipeline::Status() const {
  std::lock_guard lk(mu_);
  return PipelineStatus{.id = id_,
                        .source_id = source_id_,
                        .table = table_,
                        .state = state_,
                        .baseline_rows = baseline_rows_.load(),
                        .changes_applied = changes_applied_.load(),
                        .buffer_depth = queue_.size(),
                        .buffer_capacity = options_.buffer_capacity,
                        .last_error = last_error_};
}

bool Pipeline::Failed() const {
  std::lock_guard lk(mu_);
  return state_ == PipelineState::Error;
}

void Pipeline::SetState(PipelineState state) {
  {
    std::lock_guard lk(mu_);
    if (halted_) return;
    if (state == PipelineState::Streaming && paused_) state = PipelineState::Paused;
    if (state_ == state) return;
    state_ = state;
  }
  observer_->OnPipelineStateChanged(id_, state);
}

namespace {
// About 20 us of polling: long enough to catch the next change of a busy source without a futex
// round trip, short enough not to matter when the source is idle.
constexpr int kSpinsBeforeSleep = 500;

inline void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#else
  std::this_thread::yield();
#endif
}
}  // namespace

void Pipeline::Run(std::stop_token stop) {
  std::vector<Item> batch;
  for (;;) {
    bool wake_producer = false;
    {
      std::unique_lock lk(mu_);
      bool spun = !spin_before_sleep_;
      for (;;) {
        if (halted_ || stop.stop_requested()) goto done;
        const bool can_apply = !paused_ && !queue_.empty();
        if (draining_ && (!can_apply || DrainExpired())) {
          goto done;
        }
        if (can_apply) break;
        if (!spun && !paused_ && !draining_) {
          spun = true;
          const auto seen = enqueued_.load(std::memory_order_acquire);
          lk.unlock();
          for (int i = 0;
               i < kSpinsBeforeSleep && enqueued_.load(std::memory_order_acquire) == seen; ++i) {
            CpuRelax();
          }
          lk.lock();
          continue;
        }
        worker_waiting_ = true;
        const auto wake = [&] { return halted_ || draining_ || (!paused_ && !queue_.empty()); };
        if (durable_pending_) {
          not_empty_.wait_for(lk, stop, kDurabilityPoll, wake);
          worker_waiting_ = false;
          lk.unlock();
          ConfirmApplied();
          lk.lock();
        } else if (!graveyard_.empty()) {
          // The source thread frees one spent item per new change; when changes stop, free the
          // rest here after a quiet while, so a burst's memory does not linger.
          const bool woken = not_empty_.wait_for(lk, stop, kIdleFree, wake);
          worker_waiting_ = false;
          if (!woken && !graveyard_.empty()) {
            std::vector<Item> spent;
            spent.swap(graveyard_);
            lk.unlock();
            spent.clear();
            lk.lock();
          }
        } else {
          not_empty_.wait(lk, stop, wake);
          worker_waiting_ = false;
        }
      }
      wake_producer = queue_.size() >= options_.buffer_capacity;
      queue_.drain_into(batch);
    }
    if (wake_producer) not_full_.notify_all();
    for (auto& item : batch) {
      if (DrainExpired()) break;
      if (!ApplyWithRetry(item, stop)) break;
    }
    {
      std::lock_guard lk(mu_);
      if (graveyard_.empty()) {
        graveyard_.swap(batch);  // `batch` takes the graveyard's spare capacity
      } else {
        std::move(batch.begin(), batch.end(), std::back_inserter(graveyard_));
      }
    }
    batch.clear();
    ConfirmApplied();
  }
done:
  ConfirmApplied();
  try {
    TargetLock lock(target_mutex_);
    target_->OnClose(table_);
  } catch (const std::exception& e) {
    Logger()->warn("pipeline {}: OnClose failed: {}", id_, e.what());
  }
  ConfirmApplied();  // a target that flushes in OnClose: the final ACK covers what it flushed
  {
    std::lock_guard lk(mu_);
    if (state_ != PipelineState::Error) state_ = PipelineState::Stopped;
    exited_ = true;
  }
  exited_cv_.notify_all();
  observer_->OnPipelineStateChanged(id_, Status().state);
}

void Pipeline::ConfirmApplied() {
  if (applied_seq_ == 0 && !durable_pending_) return;
  bool durable = false;
  try {
    TargetLock lock(target_mutex_);
    durable = target_->IsDurable();
  } catch (const std::exception& e) {
    Logger()->warn("pipeline {}: IsDurable failed: {}", id_, e.what());
  }
  if (!durable) {
    durable_pending_ = true;
    return;
  }
  durable_pending_ = false;
  std::lock_guard lk(mu_);
  while (!unconfirmed_.empty() && unconfirmed_.front() <= applied_seq_) unconfirmed_.pop_front();
  if (applied_seq_ > confirmed_.seq && applied_event_) {
    confirmed_.seq = applied_seq_;
    confirmed_.position = applied_event_->position;
  }
}

bool Pipeline::ApplyWithRetry(Item& item, std::stop_token stop) {
  const auto& policy = options_.error_policy;
  int attempts = 0;
  auto backoff = policy.initial_backoff;
  std::chrono::steady_clock::time_point first_failure;
  for (;;) {
    std::string message;
    bool retryable = true;
    try {
      if (ApplyOnce(item)) MarkApplied(item);
      if (attempts > 0) {
        std::lock_guard lk(mu_);
        if (last_error_.starts_with("retrying ")) last_error_.clear();
      }
      return true;
    } catch (const std::exception& e) {
      message = e.what();
      retryable = IsRetryable(e);
    }
    const auto now = std::chrono::steady_clock::now();
    if (attempts++ == 0) first_failure = now;
    const bool out_of_budget = (policy.max_retries >= 0 && attempts > policy.max_retries) ||
                               now - first_failure >= policy.retry_timeout;
    if (!retryable || out_of_budget) {
      const bool row_item = item.kind == Item::Kind::Change || item.kind == Item::Kind::BaselineRow;
      WriteDeadLetter(item, message, attempts);
      if (policy.on_exhausted == ErrorAction::Skip && row_item) {
        Logger()->error("pipeline {}: skipping {} after {} attempt(s): {}", id_,
                        OperationName(item), attempts, message);
        observer_->OnError(id_, "skipped (dead-lettered): " + message, false);
        MarkApplied(item);
        return true;
      }
      Fail(fmt::format("{} failed after {} attempt(s){}: {}", OperationName(item), attempts,
                       retryable ? "" : " (not retryable)", message),
           nullptr, attempts);
      return false;
    }
    Logger()->warn("pipeline {}: {} failed (attempt {}), retrying in {} ms: {}", id_,
                   OperationName(item), attempts, backoff.count(), message);
    observer_->OnError(id_, message, true);
    {
      std::unique_lock lk(mu_);
      last_error_ =
          fmt::format("retrying {} (attempt {}): {}", OperationName(item), attempts, message);
      not_empty_.wait_for(lk, stop, backoff, [&] { return halted_; });
      if (halted_ || stop.stop_requested()) return false;
    }
    const auto grown =
        std::chrono::duration_cast<std::chrono::milliseconds>(backoff * policy.multiplier);
    backoff = std::min(grown, policy.max_backoff);
  }
}

void Pipeline::MarkApplied(Item& item) {
  if (item.seq == 0) return;
  applied_seq_ = item.seq;
  applied_event_ = item.event;  // the item itself goes back to the source thread to be freed
}

bool Pipeline::ApplyOnce(Item& item) {
  TargetLock lock(target_mutex_);
  switch (item.kind) {
    case Item::Kind::Init:
      target_->OnInit(table_, *item.columns);
      columns_ = *item.columns;
      return true;
    case Item::Kind::BaselineBegin:
      ready_.store(false, std::memory_order_release);
      target_->OnBaselineBegin(table_, *item.columns);
      columns_ = *item.columns;
      generation_ = item.generation;
      awaiting_rebaseline_ = false;
      {
        // From here a restart finds the target mid-baseline (see KeepsStateAcrossRestarts), so
        // the ACK no longer needs holding for it.
        std::lock_guard lk(mu_);
        awaiting_rebaseline_held_ = false;
      }
      baseline_rows_.store(0);
      SetState(PipelineState::Baseline);
      return true;
    case Item::Kind::BaselineRow: {
      if (!rows_.Passes(item.row)) return true;
      std::optional<Row> storage;
      if (const Row* row = rows_.Transform(item.row, storage)) {
        target_->OnBaselineRow(table_, *row);
        baseline_rows_.fetch_add(1, std::memory_order_relaxed);
      }
      return true;
    }
    case Item::Kind::BaselineComplete:
      target_->OnBaselineComplete(table_);
      {
        std::lock_guard lk(mu_);
        if (last_error_.starts_with("retrying ")) last_error_.clear();
      }
      SetState(PipelineState::Streaming);
      ready_.store(true, std::memory_order_release);
      observer_->OnBaselineCompleted(id_, table_, baseline_rows_.load());
      if (callbacks_.status_changed) callbacks_.status_changed();
      return true;
    case Item::Kind::Resume:
      SetState(PipelineState::Streaming);
      ready_.store(true, std::memory_order_release);
      if (callbacks_.status_changed) callbacks_.status_changed();
      return true;
    case Item::Kind::Change:
      if (awaiting_rebaseline_) return false;
      if (!ApplyChange(*item.event)) return false;
      changes_applied_.fetch_add(1, std::memory_order_relaxed);
      observer_->OnChangeApplied(id_, *item.event);
      return true;
    case Item::Kind::SchemaChange: {
      if (awaiting_rebaseline_) return true;  // the baseline brings the new columns
      // Sources repeat a table's columns when a stream (re)starts (pgoutput's Relation
      // messages); the target hears only of real changes.
      if (*item.columns == columns_) return true;
      auto response = target_->OnSchemaChange(table_, columns_, *item.columns);
      observer_->OnSchemaChange(id_, table_, response);
      switch (response.action) {
        case SchemaChangeResponse::Action::Continue:
          columns_ = *item.columns;
          return true;
        case SchemaChangeResponse::Action::ReBaseline:
          AwaitRebaseline("schema change of " + table_.ToString() + ": " + response.message);
          return true;
        case SchemaChangeResponse::Action::Error:
          throw FatalError("schema_change_rejected", "target rejected the schema change of " +
                                                         table_.ToString() + ": " +
                                                         response.message);
      }
      return true;
    }
  }
  return true;
}

void Pipeline::AwaitRebaseline(const std::string& reason) {
  Logger()->warn("pipeline {}: re-baseline needed: {}", id_, reason);
  awaiting_rebaseline_ = true;
  {
    std::lock_guard lk(mu_);
    awaiting_rebaseline_held_ = true;
  }
  ready_.store(false, std::memory_order_release);
  if (callbacks_.rebaseline) callbacks_.rebaseline(reason, generation_);
}

bool Pipeline::ApplyChange(const ChangeEvent& event) {
  switch (event.action) {
    case ChangeAction::Insert: {
      if (RowStage::HasUnchanged(event.new_values)) {
        throw DataError("bad_event",
                        "insert into " + table_.ToString() + " carries an unchanged-value marker");
      }
      if (!rows_.Passes(event.new_values)) return true;
      std::optional<Row> storage;
      if (const Row* row = rows_.Transform(event.new_values, storage)) {
        target_->OnInsert(table_, *row);
      }
      return true;
    }
    case ChangeAction::Update:
      return ApplyUpdate(event);
    case ChangeAction::Delete: {
      if (event.old_values.empty()) {
        throw DataError("bad_event", "delete on " + table_.ToString() + " carries no identity");
      }
      // A transform that drops the identity says the row never reached the target.
      std::optional<Row> storage;
      if (const Row* identity = rows_.Transform(event.old_values, storage)) {
        target_->OnDelete(table_, *identity);
      }
      return true;
    }
    case ChangeAction::Truncate:
      target_->OnTruncate(table_);
      return true;
  }
  return true;
}

bool Pipeline::ApplyUpdate(const ChangeEvent& event) {
  const Row& raw_identity = event.old_values.empty() ? event.new_values : event.old_values;
  // Transformed like the stored rows; without transforms, the event's own row (no copy).
  std::optional<Row> identity_storage;
  const Row* identity = rows_.Transform(raw_identity, identity_storage);
  const Row* new_row = &event.new_values;
  std::optional<Row> filled;
  if (RowStage::HasUnchanged(event.new_values)) {
    // Unchanged (TOAST) values: from the old row first (REPLICA IDENTITY FULL sends it whole),
    // then from the target's copy. Filters, transforms and targets that read rows never get a
    // marker; when it cannot be filled, the row is re-read by a baseline.
    filled = event.new_values;
    bool left = RowStage::FillUnchanged(*filled, event.old_values);
    const bool reads_rows = target_->CanReadRows();
    if (left && reads_rows && identity != nullptr) {
      if (auto current = target_->ReadRow(table_, *identity)) {
        left = RowStage::FillUnchanged(*filled, *current);
      }
    }
    if (left && (reads_rows || rows_.HasRowLogic())) {
      AwaitRebaseline(fmt::format(
          "an update of {} {} carries unchanged values that neither the change nor the target "
          "holds",
          table_.ToString(), raw_identity.ToString()));
      return false;
    }
    new_row = &*filled;
  }
  std::optional<Row> storage;
  const Row* row = rows_.Passes(*new_row) ? rows_.Transform(*new_row, storage) : nullptr;
  if (row != nullptr) {
    // A dropped identity: the row was not in the target; the update inserts it.
    target_->OnUpdate(table_, *row, identity != nullptr ? *identity : *row);
  } else if (identity != nullptr) {
    target_->OnDelete(table_, *identity);  // a row that no longer passes the filter leaves
  }
  return true;
}

void Pipeline::Fail(const std::string& reason, const Item* item, int attempts) {
  if (item != nullptr) WriteDeadLetter(*item, reason, attempts);
  const auto action = options_.error_policy.on_exhausted;
  Logger()->error("pipeline {}: failed: {}", id_, reason);
  Halt(PipelineState::Error, reason);
  if (action == ErrorAction::Isolate || action == ErrorAction::Skip) {
    observer_->OnError(id_,
                       reason +
                           " (pipeline isolated: the others go on; it holds the source's ACK at "
                           "its last durable position, so a restart delivers the rest again)",
                       false);
  } else {
    observer_->OnError(id_, reason, false);
    if (callbacks_.stop) callbacks_.stop(id_ + ": " + reason, action == ErrorAction::StopEngine);
  }
  if (callbacks_.status_changed) callbacks_.status_changed();
}

void Pipeline::WriteDeadLetter(const Item& item, const std::string& error, int attempts) {
  if (item.kind != Item::Kind::BaselineRow && item.kind != Item::Kind::Change) return;
  DeadLetter letter;
  letter.pipeline_id = id_;
  letter.table = table_;
  letter.operation = OperationName(item);
  letter.error = error;
  letter.attempts = attempts;
  letter.time = std::chrono::system_clock::now();
  if (item.kind == Item::Kind::BaselineRow) {
    letter.new_values = item.row;
  } else {
    letter.new_values = item.event->new_values;
    letter.old_values = item.event->old_values;
    if (callbacks_.position_to_string) {
      try {
        letter.position = callbacks_.position_to_string(item.event->position);
      } catch (const std::exception& e) {
        letter.position = std::string("<unprintable: ") + e.what() + ">";
      }
    }
  }
  DeliverDeadLetter(letter);
}

void Pipeline::DeliverDeadLetter(const DeadLetter& letter) {
  observer_->OnDeadLetter(letter);
  if (!options_.dead_letter) {
    Logger()->error("pipeline {}: dead letter (no sink configured): {} {}{} {}", id_,
                    letter.operation, letter.new_values.ToString(), letter.payload, letter.error);
    return;
  }
  try {
    options_.dead_letter->Write(letter);
  } catch (const std::exception& e) {
    Logger()->error("pipeline {}: dead-letter sink failed, letter lost: {}", id_, e.what());
    observer_->OnError(id_, std::string("dead-letter sink failed: ") + e.what(), false);
  }
}

}  // namespace laredo::engine
