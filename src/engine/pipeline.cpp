#include "engine/pipeline.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "engine/target_lock.hpp"
#include "laredo/error.hpp"
#include "laredo/logging.hpp"

namespace laredo::engine {
namespace {
// How often a pipeline re-asks a target that is not yet durable.
constexpr auto kDurabilityPoll = std::chrono::milliseconds(20);
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
      dead_letters_(id_, table_, options_.dead_letter, observer_),
      queue_(options_.buffer_capacity, options_.buffer_policy,
             [this](const ChangeEvent& event) { observer_->OnChangeDropped(id_, event); }),
      rows_(options_) {}

Pipeline::~Pipeline() {
  hard_stop_.request_stop();
  queue_.WakeAll();
  Join();
}

void Pipeline::Start(PipelineUpstream& upstream) {
  upstream_ = &upstream;
  source_ = upstream.Source();
  {
    TargetLock lock(target_mutex_);
    target_->SetDurabilityReporter(&durability_);
  }
  worker_ = std::jthread([this](std::stop_token) { Run(hard_stop_.get_token()); });
}

bool Pipeline::Enqueue(Item item, const std::stop_token& stop,
                       const BackpressureHook* while_blocked) {
  if (std::holds_alternative<BaselineBeginStep>(item)) ready_.store(false);
  switch (queue_.Push(std::move(item), stop, while_blocked)) {
    case ChangeQueue::PushResult::Queued:
    case ChangeQueue::PushResult::Discarded:
      return true;
    case ChangeQueue::PushResult::Stopped:
      return false;
    case ChangeQueue::PushResult::Rejected:
      break;
  }
  // Full under BufferPolicy::Error: only change runs are rejected, and Push left `item` intact.
  const auto& run = std::get<ChangeRun>(item);
  const auto reason =
      fmt::format("buffer full ({} changes) under BufferPolicy::Error", options_.buffer_capacity);
  for (std::uint32_t i = run.begin; i < run.end; ++i) {
    if (run.batch->routes[i] == run.route) {
      dead_letters_.WriteChange(run.batch->items[i], reason, 1, *upstream_);
    }
  }
  if (options_.error_policy.on_exhausted == ErrorAction::Skip) {
    observer_->OnError(id_, reason, false);  // dropped, and never holds back the ACK
  } else {
    Fail(reason);
  }
  return true;
}

void Pipeline::SetPaused(bool paused) {
  queue_.SetPaused(paused);
  {
    std::lock_guard lk(mu_);
    if (state_ == PipelineState::Streaming && paused)
      state_ = PipelineState::Paused;
    else if (state_ == PipelineState::Paused && !paused)
      state_ = PipelineState::Streaming;
  }
  observer_->OnPipelineStateChanged(id_, Status().state);
}

void Pipeline::Halt(PipelineState state, const std::string& reason) {
  if (!queue_.Halt()) return;  // already halted
  ready_.store(false, std::memory_order_release);
  {
    std::lock_guard lk(mu_);
    state_ = state;
    if (!reason.empty()) last_error_ = reason;
  }
  observer_->OnPipelineStateChanged(id_, state);
}

bool Pipeline::WaitExited(std::chrono::steady_clock::time_point deadline) {
  std::unique_lock lk(mu_);
  return exited_cv_.wait_until(lk, deadline, [&] { return exited_; });
}

void Pipeline::RequestHardStop() {
  hard_stop_.request_stop();
  queue_.WakeAll();
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
                        .buffer_depth = queue_.Depth(),
                        .buffer_capacity = options_.buffer_capacity,
                        .reloading = reloading_.load(),
                        .last_error = last_error_};
}

bool Pipeline::Failed() const {
  std::lock_guard lk(mu_);
  return state_ == PipelineState::Error;
}

void Pipeline::SetState(PipelineState state) {
  {
    std::lock_guard lk(mu_);
    if (state_ == PipelineState::Error || state_ == PipelineState::Stopped) return;  // halted
    if (state == PipelineState::Streaming && queue_.Paused()) state = PipelineState::Paused;
    if (state_ == state) return;
    state_ = state;
  }
  observer_->OnPipelineStateChanged(id_, state);
}

void Pipeline::Run(std::stop_token stop) {
  std::vector<Item> batch;
  for (;;) {
    const bool poll = durable_pending_ || durability_.HasPending();
    const auto taken = queue_.Take(
        batch, stop, poll ? std::optional(kDurabilityPoll) : std::nullopt, spin_before_sleep_);
    if (taken == ChangeQueue::TakeResult::Exit) break;
    if (taken == ChangeQueue::TakeResult::Items) {
      for (auto& item : batch) {
        if (queue_.DrainExpired() || !Apply(item, stop)) break;
      }
      batch.clear();  // hands the batches back to their pool
    }
    ConfirmApplied();
  }
  batch.clear();
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

bool Pipeline::Apply(Item& item, const std::stop_token& stop) {
  const auto step = [&](std::string_view what, const std::function<void()>& attempt) {
    return WithRetry(what, attempt, nullptr, stop) != Outcome::Halt;
  };
  return std::visit(
      [&](auto& it) -> bool {
        using T = std::decay_t<decltype(it)>;
        if constexpr (std::is_same_v<T, ChangeRun>) {
          return ApplyRun(it, stop);
        } else if constexpr (std::is_same_v<T, BaselineRows>) {
          return ApplyBaselineRows(it, stop);
        } else if constexpr (std::is_same_v<T, InitStep>) {
          return step("init", [&] { ApplyInit(it); });
        } else if constexpr (std::is_same_v<T, BaselineBeginStep>) {
          return step("baseline_begin", [&] { ApplyBaselineBegin(it); });
        } else if constexpr (std::is_same_v<T, BaselineCompleteStep>) {
          if (!step("baseline_complete", [&] { ApplyBaselineComplete(); })) return false;
          durability_.NoteApplied(it.seq, it.position);
          // A restart rebuilds a baseline by baselining again: it needs no history before it.
          if (snapshot_durable_) durability_.RaiseCap({.seq = it.seq, .position = it.position});
          return true;
        } else if constexpr (std::is_same_v<T, SchemaChangeStep>) {
          return step("schema_change", [&] { ApplySchemaChange(it); });
        } else if constexpr (std::is_same_v<T, SnapshotStep>) {
          ApplySnapshot(it);
          return true;
        } else if constexpr (std::is_same_v<T, RestoreStep>) {
          ApplyRestore(it);
          return true;
        } else if constexpr (std::is_same_v<T, ReloadBeginStep>) {
          return step("reload_begin", [&] { ApplyReloadBegin(it); });
        } else if constexpr (std::is_same_v<T, ReloadEndStep>) {
          return step("reload_end", [&] { ApplyReloadEnd(); });
        } else if constexpr (std::is_same_v<T, ReloadCheckpointStep>) {
          return step("reload_checkpoint", [&] { ApplyReloadCheckpoint(it); });
        } else {
          static_assert(std::is_same_v<T, ResumeStep>);
          return step("resume", [&] { ApplyResume(it); });
        }
      },
      item);
}

void Pipeline::ConfirmApplied() {
  if (!durability_.HasPending() && !release_hold_when_durable_) {
    durable_pending_ = false;
    return;
  }
  bool durable = false;
  try {
    TargetLock lock(target_mutex_);
    durable = target_->IsDurable();
  } catch (const std::exception& e) {
    Logger()->warn("pipeline {}: IsDurable failed: {}", id_, e.what());
  }
  durable_pending_ = !durable;
  if (!durable) return;
  durability_.ConfirmAll();
  if (std::exchange(release_hold_when_durable_, false)) durability_.HoldForRebaseline(false);
}

}  // namespace laredo::engine
