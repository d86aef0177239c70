#include "laredo/engine.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "engine/lag_monitor.hpp"
#include "engine/observer_fanout.hpp"
#include "engine/pipeline.hpp"
#include "engine/snapshotter.hpp"
#include "engine/source_runner.hpp"
#include "laredo/error.hpp"
#include "laredo/error_codes.hpp"
#include "laredo/logging.hpp"
#include "laredo/snapshot/snapshot_capable.hpp"
#include "laredo/snapshot/store.hpp"

namespace laredo {

struct Engine::Impl {
  struct SourceEntry {
    std::string id;
    std::shared_ptr<SyncSource> source;
  };
  struct PipelineEntry {
    std::string id;
    std::string source_id;
    TableIdentifier table;
    std::shared_ptr<SyncTarget> target;
    PipelineOptions options;
  };

  EngineOptions options;
  std::shared_ptr<EngineObserver> observer;  // the observers, as one
  std::vector<SourceEntry> sources;
  std::vector<PipelineEntry> pipeline_entries;

  std::vector<std::unique_ptr<engine::Pipeline>> pipelines;
  std::vector<std::unique_ptr<engine::SourceRunner>> runners;
  std::unique_ptr<engine::LagMonitor> lag_monitor;
  std::unique_ptr<engine::Snapshotter> snapshotter;  // null when snapshots are off

  mutable std::mutex mu;
  std::condition_variable status_cv;
  bool started = false;
  bool stopped = false;
  std::optional<std::string> self_stop_reason;
  std::mutex stop_mu;  // serialises Stop()

  std::vector<std::string> Validate() const;
  /// The problems of one pipeline's own settings (not its relations to the others).
  static void ValidatePipeline(const PipelineEntry& p, std::vector<std::string>& problems);
  /// `options.name`, or one made from the source and table that no pipeline has. With `mu` held.
  std::string NewPipelineId(const std::string& source_id, const TableIdentifier& table,
                            const PipelineOptions& pipeline_options) const;
  /// `Engine::AddPipeline` after `Start`.
  std::string AddWhileRunning(PipelineEntry entry);
  engine::SourceRunner* FindRunner(std::string_view id) const;
  /// The pipelines named by `ids` (every one when null), with their runners; ConfigError for an
  /// unknown id. With `mu` held.
  struct Selection {
    std::vector<const engine::Pipeline*> pipelines;
    std::vector<const engine::SourceRunner*> runners;
  };
  Selection Select(const std::vector<std::string>* ids) const;
  std::string NotReadyReason(const Selection& chosen) const;
  /// Whether the chosen pipelines are ready; `settled` when waiting longer cannot change it.
  bool Ready(const Selection& chosen, bool& settled) const;
  /// A source retrying for longer than `ready_while_retrying`.
  bool RetriedTooLong(const engine::SourceRunner& runner) const {
    const auto retrying = runner.RetryingFor();
    return retrying && *retrying >= options.ready_while_retrying;
  }
  bool AwaitReady(const std::vector<std::string>* ids, std::chrono::milliseconds timeout);
  std::string NotReadyReason(const std::vector<std::string>* ids) const;
  void NotifyStatus() {
    { std::lock_guard lk(mu); }
    status_cv.notify_all();
  }
  void StopEngineFromPipeline(const std::string& reason);
};

Engine::Engine(EngineOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->observer = engine::FanoutObserver::For(options.observers);
  impl_->options = std::move(options);
}

Engine::~Engine() { Stop(); }

void Engine::AddSource(std::string id, std::shared_ptr<SyncSource> source) {
  std::lock_guard lk(impl_->mu);
  if (impl_->started) throw ConfigError({"AddSource(\"" + id + "\") after Start()"});
  impl_->sources.push_back({std::move(id), std::move(source)});
}

std::string Engine::Impl::NewPipelineId(const std::string& source_id, const TableIdentifier& table,
                                        const PipelineOptions& pipeline_options) const {
  if (!pipeline_options.name.empty()) return pipeline_options.name;
  const std::string base = source_id + "/" + table.ToString();
  // Counted by exact id (not by prefix: "s/public.order" is no relative of "s/public.orders").
  const auto taken = [&](const std::string& candidate) {
    return std::any_of(pipeline_entries.begin(), pipeline_entries.end(),
                       [&](const auto& p) { return p.id == candidate; });
  };
  std::string id = base;
  for (int n = 2; taken(id); ++n) id = fmt::format("{}#{}", base, n);
  return id;
}

std::string Engine::AddPipeline(std::string source_id, TableIdentifier table,
                                std::shared_ptr<SyncTarget> target, PipelineOptions options) {
  auto& d = *impl_;
  {
    std::lock_guard lk(d.mu);
    if (!d.started) {
      std::string id = d.NewPipelineId(source_id, table, options);
      d.pipeline_entries.push_back(
          {id, std::move(source_id), std::move(table), std::move(target), std::move(options)});
      return id;
    }
  }
  return d.AddWhileRunning(
      {"", std::move(source_id), std::move(table), std::move(target), std::move(options)});
}

std::string Engine::Impl::AddWhileRunning(PipelineEntry entry) {
  std::lock_guard stop_lock(stop_mu);  // not while Stop takes the pipelines down
  std::unique_lock lk(mu);
  const std::string where =
      "AddPipeline(\"" + entry.source_id + "\", " + entry.table.ToString() + ")";
  if (stopped) throw ConfigError({where + " after Stop()"});
  std::vector<std::string> problems;
  engine::SourceRunner* runner = nullptr;
  for (const auto& r : runners) {
    if (r->id() == entry.source_id) runner = r.get();
  }
  entry.id = NewPipelineId(entry.source_id, entry.table, entry.options);
  if (runner == nullptr) {
    problems.push_back(where + ": unknown source \"" + entry.source_id + "\"");
  } else if (runner->Failed()) {
    problems.push_back(where + ": source \"" + entry.source_id + "\" has failed");
  } else if (dynamic_cast<ReloadableSource*>(runner->Source()) == nullptr) {
    problems.push_back(where + ": source \"" + entry.source_id +
                       "\" cannot add a table while it runs; add the pipeline before Start");
  }
  ValidatePipeline(entry, problems);
  for (const auto& p : pipeline_entries) {
    if (p.id == entry.id) problems.push_back(where + ": pipeline id \"" + entry.id + "\" is taken");
    if (entry.target && p.target == entry.target) {
      // Shared targets are serialised by one lock, which their pipelines get at Start.
      problems.push_back(where + ": the target is bound to pipeline \"" + p.id +
                         "\" already; a target shared by pipelines is bound before Start");
    }
  }
  if (!problems.empty()) throw ConfigError(std::move(problems));
  auto pipeline = std::make_unique<engine::Pipeline>(entry.id, entry.source_id, entry.table,
                                                     entry.target, entry.options, observer, nullptr,
                                                     /*spin_before_sleep=*/false);
  if (options.snapshots.store &&
      dynamic_cast<snapshot::SnapshotCapable*>(entry.target.get()) != nullptr &&
      !entry.target->KeepsStateAcrossRestarts()) {
    pipeline->MakeSnapshotDurable(/*added_while_running=*/true);
  }
  auto* added = pipeline.get();
  const std::string id = entry.id;
  pipeline_entries.push_back(entry);
  pipelines.push_back(std::move(pipeline));
  lk.unlock();
  observer->OnPipelineAdded(id, entry.source_id, entry.table);
  runner->AddPipeline(added);
  Logger()->info("pipeline {} added while running", id);
  NotifyStatus();
  return id;
}

std::vector<std::string> Engine::Impl::Validate() const {
  std::vector<std::string> problems;
  if (options.ack_interval <= std::chrono::milliseconds::zero()) {
    problems.push_back("EngineOptions.ack_interval must be positive");
  }
  if (options.drain_timeout < std::chrono::milliseconds::zero()) {
    problems.push_back("EngineOptions.drain_timeout must not be negative");
  }
  if (options.source_max_retries < 0) problems.push_back("EngineOptions.source_max_retries < 0");
  if (options.lag_interval < std::chrono::milliseconds::zero()) {
    problems.push_back("EngineOptions.lag_interval must not be negative (zero: no sampling)");
  }
  options.source_backoff.Validate("EngineOptions.source_backoff", problems);
  if (options.ready_while_retrying < std::chrono::milliseconds::zero()) {
    problems.push_back("EngineOptions.ready_while_retrying must not be negative");
  }
  if (options.baseline_progress_rows == 0) {
    problems.push_back("EngineOptions.baseline_progress_rows must be at least 1");
  }
  if (options.snapshots.store) {
    const auto& snap = options.snapshots;
    if (snap.keep == 0) problems.push_back("EngineOptions.snapshots.keep must be at least 1");
    if (snap.interval < std::chrono::milliseconds::zero()) {
      problems.push_back("EngineOptions.snapshots.interval must not be negative (zero: off)");
    }
    if (snap.timeout <= std::chrono::milliseconds::zero()) {
      problems.push_back("EngineOptions.snapshots.timeout must be positive");
    }
  }
  if (sources.empty()) problems.push_back("no sources: call AddSource before Start");
  std::set<std::string> source_ids;
  for (const auto& s : sources) {
    if (s.id.empty()) problems.push_back("a source has an empty id");
    if (!source_ids.insert(s.id).second)
      problems.push_back("source id \"" + s.id + "\" is used twice");
    if (!s.source) problems.push_back("source \"" + s.id + "\" is null");
  }
  std::set<std::string> pipeline_ids;
  std::set<std::tuple<std::string, TableIdentifier, SyncTarget*>> bindings;
  for (const auto& p : pipeline_entries) {
    const std::string where = "pipeline \"" + p.id + "\"";
    if (!source_ids.contains(p.source_id)) {
      problems.push_back(where + " names unknown source \"" + p.source_id + "\"");
    }
    if (!pipeline_ids.insert(p.id).second) problems.push_back(where + ": id used twice");
    if (p.target && !bindings.insert({p.source_id, p.table, p.target.get()}).second) {
      problems.push_back(where + " binds the same target to the same table twice");
    }
    ValidatePipeline(p, problems);
  }
  for (const auto& s : sources) {
    const bool used = std::any_of(pipeline_entries.begin(), pipeline_entries.end(),
                                  [&](const auto& p) { return p.source_id == s.id; });
    if (!used) problems.push_back("source \"" + s.id + "\" has no pipelines");
  }
  return problems;
}

void Engine::Impl::ValidatePipeline(const PipelineEntry& p, std::vector<std::string>& problems) {
  const std::string where = "pipeline \"" + p.id + "\"";
  if (p.table.schema.empty() || p.table.table.empty()) {
    problems.push_back(where + " has an empty schema or table name");
  }
  if (!p.target) problems.push_back(where + " has a null target");
  if (p.options.buffer_capacity == 0) problems.push_back(where + ": buffer_capacity must be >= 1");
  const auto& policy = p.options.error_policy;
  if (policy.max_retries < -1) {
    problems.push_back(where + ": error_policy.max_retries must be -1 (no count) or more");
  }
  if (policy.retry_timeout < std::chrono::milliseconds::zero()) {
    problems.push_back(where + ": error_policy.retry_timeout must not be negative");
  }
  policy.backoff.Validate(where + ": error_policy.backoff", problems);
  for (const auto& f : p.options.filters) {
    if (!f) problems.push_back(where + " has an empty filter");
  }
  for (const auto& t : p.options.transforms) {
    if (!t) problems.push_back(where + " has an empty transform");
  }
}

void Engine::Start() {
  auto& d = *impl_;
  // Everything is built and published under the lock, so a health check calling `Pipelines()`
  // from another thread during Start sees either nothing or everything; threads start after.
  std::unique_lock lk(d.mu);
  if (d.started) throw ConfigError({"Start() called twice"});
  if (auto problems = d.Validate(); !problems.empty()) throw ConfigError(std::move(problems));
  // A target bound to several pipelines is serialised by one mutex (see SyncTarget's contract).
  std::map<SyncTarget*, int> uses;
  for (const auto& p : d.pipeline_entries) ++uses[p.target.get()];
  std::map<SyncTarget*, std::shared_ptr<std::mutex>> target_locks;
  for (const auto& [target, count] : uses) {
    if (count > 1) target_locks[target] = std::make_shared<std::mutex>();
  }
  // Each source and each pipeline keeps a thread busy under load.
  const bool spin = d.sources.size() + d.pipeline_entries.size() <=
                    std::max(1U, std::thread::hardware_concurrency());
  for (auto& p : d.pipeline_entries) {
    std::shared_ptr<std::mutex> lock;
    if (auto it = target_locks.find(p.target.get()); it != target_locks.end()) lock = it->second;
    d.pipelines.push_back(std::make_unique<engine::Pipeline>(p.id, p.source_id, p.table, p.target,
                                                             p.options, d.observer, lock, spin));
  }
  for (auto& s : d.sources) {
    std::vector<engine::Pipeline*> mine;
    for (std::size_t i = 0; i < d.pipeline_entries.size(); ++i) {
      if (d.pipeline_entries[i].source_id == s.id) mine.push_back(d.pipelines[i].get());
    }
    d.runners.push_back(std::make_unique<engine::SourceRunner>(
        s.id, s.source, d.options, d.observer, mine,
        engine::SourceRunner::Hooks{
            .status_changed = [&d] { d.NotifyStatus(); },
            .stop_engine = [&d](const std::string& reason) { d.StopEngineFromPipeline(reason); }}));
  }
  std::vector<engine::SourceRunner*> runner_pointers;
  for (auto& r : d.runners) runner_pointers.push_back(r.get());
  if (d.options.snapshots.store) {
    // Targets that keep their own state are durable by themselves; the others that can export
    // are durable through snapshots only.
    for (auto& p : d.pipelines) {
      if (dynamic_cast<snapshot::SnapshotCapable*>(p->target().get()) != nullptr &&
          !p->target()->KeepsStateAcrossRestarts()) {
        p->MakeSnapshotDurable();
      }
    }
    d.snapshotter =
        std::make_unique<engine::Snapshotter>(d.options.snapshots, d.observer, runner_pointers);
    for (auto& r : d.runners) r->SetSnapshotter(d.snapshotter.get());
  }
  d.lag_monitor = std::make_unique<engine::LagMonitor>(std::move(runner_pointers), d.observer,
                                                       d.options.lag_interval);
  d.started = true;
  lk.unlock();

  for (const auto& p : d.pipeline_entries) d.observer->OnPipelineAdded(p.id, p.source_id, p.table);
  for (auto& r : d.runners) r->Start();
  d.lag_monitor->Start();
  if (d.snapshotter) d.snapshotter->StartSchedule();
  Logger()->info("engine started: {} source(s), {} pipeline(s)", d.runners.size(),
                 d.pipelines.size());
}

void Engine::Impl::StopEngineFromPipeline(const std::string& reason) {
  Logger()->error("engine stopping itself: {}", reason);
  for (auto& r : runners) r->StopForEngine("engine stopped: " + reason);
  {
    std::lock_guard lk(mu);  // set last, so AwaitStopped sees every source stopped
    if (!self_stop_reason) self_stop_reason = reason;
  }
  status_cv.notify_all();
}

engine::SourceRunner* Engine::Impl::FindRunner(std::string_view id) const {
  // `runners` is filled once, under `mu`, in Start(); the runners themselves never move.
  std::lock_guard lk(mu);
  for (const auto& r : runners) {
    if (r->id() == id) return r.get();
  }
  return nullptr;
}

Engine::Impl::Selection Engine::Impl::Select(const std::vector<std::string>* ids) const {
  Selection chosen;
  if (ids == nullptr) {
    for (const auto& p : pipelines) chosen.pipelines.push_back(p.get());
    for (const auto& r : runners) chosen.runners.push_back(r.get());
    return chosen;
  }
  std::vector<std::string> unknown;
  for (const auto& id : *ids) {
    const auto it = std::find_if(pipelines.begin(), pipelines.end(),
                                 [&](const auto& p) { return p->id() == id; });
    if (it == pipelines.end()) {
      unknown.push_back("unknown pipeline \"" + id + "\"");
      continue;
    }
    chosen.pipelines.push_back(it->get());
    const auto& source_id =
        pipeline_entries[static_cast<std::size_t>(it - pipelines.begin())].source_id;
    for (const auto& r : runners) {
      if (r->id() == source_id && std::find(chosen.runners.begin(), chosen.runners.end(),
                                            r.get()) == chosen.runners.end()) {
        chosen.runners.push_back(r.get());
      }
    }
  }
  if (!unknown.empty()) throw ConfigError(std::move(unknown));
  return chosen;
}

std::string Engine::Impl::NotReadyReason(const Selection& chosen) const {
  std::vector<std::string> reasons;
  for (const auto* r : chosen.runners) {
    if (r->Failed()) {
      reasons.push_back(fmt::format("source {} failed: {}", r->id(), r->Error().value_or("")));
    } else if (auto retrying = r->Error()) {
      const auto since = r->RetryingFor();
      reasons.push_back(
          since ? fmt::format("source {} has been retrying for {} s: {}", r->id(),
                              std::chrono::duration_cast<std::chrono::seconds>(*since).count(),
                              *retrying)
                : fmt::format("source {} is retrying: {}", r->id(), *retrying));
    } else if (r->Rebaselining()) {
      reasons.push_back(fmt::format("source {} is about to re-baseline", r->id()));
    }
  }
  for (const auto* p : chosen.pipelines) {
    if (p->Ready()) continue;
    const auto status = p->Status();
    if (status.state == PipelineState::Error) {
      reasons.push_back(fmt::format("pipeline {} failed: {}", status.id, status.last_error));
    } else if (status.state == PipelineState::Baseline) {
      reasons.push_back(fmt::format("pipeline {} is loading its baseline ({} rows so far)",
                                    status.id, status.baseline_rows));
    } else {
      reasons.push_back(fmt::format("pipeline {} is {}{}", status.id, ToString(status.state),
                                    status.last_error.empty() ? "" : ": " + status.last_error));
    }
  }
  return fmt::format("{}", fmt::join(reasons, "; "));
}

bool Engine::Impl::Ready(const Selection& chosen, bool& settled) const {
  settled = false;
  bool all_ready = true;
  for (const auto* r : chosen.runners) {
    if (r->Failed()) settled = true;  // will never become ready
    all_ready = all_ready && !r->Rebaselining() && !RetriedTooLong(*r);
  }
  for (const auto* p : chosen.pipelines) {
    if (p->Failed()) settled = true;
    all_ready = all_ready && p->Ready();
  }
  all_ready = all_ready && !settled;
  settled = settled || all_ready;
  return all_ready;
}

bool Engine::Impl::AwaitReady(const std::vector<std::string>* ids,
                              std::chrono::milliseconds timeout) {
  std::unique_lock lk(mu);
  if (!started) {
    if (ids != nullptr && !ids->empty()) throw ConfigError({"AwaitReady before Start()"});
    return false;
  }
  const Selection chosen = Select(ids);
  bool ready = false;
  status_cv.wait_for(lk, timeout, [&] {
    bool settled = false;
    ready = Ready(chosen, settled);
    return settled;
  });
  return ready;
}

std::string Engine::Impl::NotReadyReason(const std::vector<std::string>* ids) const {
  std::lock_guard lk(mu);
  if (!started) return "the engine has not been started";
  if (stopped) return "the engine is stopped";
  const Selection chosen = Select(ids);
  bool settled = false;
  if (Ready(chosen, settled)) return {};
  return NotReadyReason(chosen);
}

bool Engine::AwaitReady(std::chrono::milliseconds timeout) {
  return impl_->AwaitReady(nullptr, timeout);
}

bool Engine::AwaitReady(const std::vector<std::string>& pipeline_ids,
                        std::chrono::milliseconds timeout) {
  return impl_->AwaitReady(&pipeline_ids, timeout);
}

std::string Engine::NotReadyReason() const { return impl_->NotReadyReason(nullptr); }

std::string Engine::NotReadyReason(const std::vector<std::string>& pipeline_ids) const {
  return impl_->NotReadyReason(&pipeline_ids);
}

bool Engine::AwaitStopped(std::chrono::milliseconds timeout) {
  auto& d = *impl_;
  std::unique_lock lk(d.mu);
  return d.status_cv.wait_for(lk, timeout,
                              [&] { return d.self_stop_reason.has_value() || d.stopped; });
}

void Engine::Stop() {
  auto& d = *impl_;
  std::lock_guard stop_lock(d.stop_mu);
  {
    std::lock_guard lk(d.mu);
    if (!d.started || d.stopped) return;
    d.stopped = true;
  }
  // 1. Sources stop producing; a source blocked on a full buffer is released by the stop token.
  // Lag sampling ends first: it queries the sources, which are closed at the end.
  d.lag_monitor->Stop();
  if (d.snapshotter) d.snapshotter->StopSchedule();
  for (auto& r : d.runners) r->StopAndJoinSource();
  // 2. The shutdown snapshot: the pipelines apply what they hold up to the barrier, export, and
  // the final ACK then covers it, so a restart replays nothing. Bounded by the snapshot timeout,
  // not the drain's: a large replica takes seconds to export, and this is the export that spares
  // the next start its baseline.
  if (d.snapshotter && d.options.snapshots.on_shutdown) {
    try {
      d.snapshotter->Take("shutdown", std::stop_token());
    } catch (const std::exception& e) {
      Logger()->warn("no snapshot at shutdown: {}", e.what());
    }
  }
  // 3. Pipelines apply what they hold, within the drain timeout.
  const auto deadline = std::chrono::steady_clock::now() + d.options.drain_timeout;
  for (auto& p : d.pipelines) p->BeginDrain(deadline);
  for (auto& p : d.pipelines) {
    if (!p->WaitExited(deadline + std::chrono::milliseconds(100))) {
      Logger()->warn("pipeline {}: drain timed out; undrained changes are not acknowledged",
                     p->id());
    }
    p->RequestHardStop();
  }
  for (auto& p : d.pipelines) p->Join();
  // 4. Final ACK, then Close.
  for (auto& r : d.runners) r->Finish();
  d.NotifyStatus();
  Logger()->info("engine stopped");
}

snapshot::SnapshotMetadata Engine::CreateSnapshot() {
  auto& d = *impl_;
  {
    std::lock_guard lk(d.mu);
    if (!d.started || d.stopped) {
      throw Error(codes::kSnapshotNotReady, "CreateSnapshot: the engine is not running");
    }
  }
  if (!d.snapshotter) {
    throw Error(codes::kSnapshotNotReady,
                "CreateSnapshot: snapshots are off (set EngineOptions::snapshots.store)");
  }
  return d.snapshotter->Take("requested", std::stop_token());
}

std::vector<PipelineStatus> Engine::Pipelines() const {
  std::lock_guard lk(impl_->mu);
  std::vector<PipelineStatus> out;
  for (const auto& p : impl_->pipelines) out.push_back(p->Status());
  return out;
}

std::vector<SourceStatus> Engine::Sources() const {
  std::lock_guard lk(impl_->mu);
  std::vector<SourceStatus> out;
  for (const auto& r : impl_->runners) {
    SourceStatus status{.id = r->id(),
                        .state = r->State(),
                        .last_acked_position = r->LastAckedText(),
                        .error = r->Error(),
                        .lag = r->LastLag(),
                        .pipelines = {}};
    for (const auto& p : impl_->pipeline_entries) {
      if (p.source_id == r->id()) status.pipelines.push_back(p.id);
    }
    out.push_back(std::move(status));
  }
  return out;
}

PipelineStatus Engine::Pipeline(std::string_view pipeline_id) const {
  std::lock_guard lk(impl_->mu);
  for (const auto& p : impl_->pipelines) {
    if (p->id() == pipeline_id) return p->Status();
  }
  throw ConfigError({"unknown pipeline \"" + std::string(pipeline_id) + "\""});
}

namespace {
engine::SourceRunner& Require(engine::SourceRunner* runner, std::string_view id) {
  if (runner == nullptr)
    throw ConfigError({"unknown or not started source \"" + std::string(id) + "\""});
  return *runner;
}
}  // namespace

void Engine::Pause(std::string_view source_id) {
  Require(impl_->FindRunner(source_id), source_id).Pause();
}

void Engine::Resume(std::string_view source_id) {
  Require(impl_->FindRunner(source_id), source_id).Resume();
}

void Engine::Rebaseline(std::string_view source_id, std::string_view reason) {
  Require(impl_->FindRunner(source_id), source_id).RebaselineNow(std::string(reason));
}

void Engine::ReloadTable(std::string_view source_id, const TableIdentifier& table) {
  auto& runner = Require(impl_->FindRunner(source_id), source_id);
  if (!runner.Replicates(table)) {
    throw ConfigError({fmt::format("source \"{}\" has no pipeline of {} to reload", source_id,
                                   table.ToString())});
  }
  auto* reloadable = dynamic_cast<ReloadableSource*>(runner.Source());
  if (reloadable == nullptr) {
    throw ConfigError({fmt::format(
        "source \"{}\" cannot reload one table while streaming; Rebaseline reloads all of them",
        source_id)});
  }
  reloadable->ReloadTable(table);
  Logger()->info("source {}: reload of {} requested", source_id, table.ToString());
}

void Engine::ResetSource(std::string_view source_id, bool drop_publication) {
  auto& runner = Require(impl_->FindRunner(source_id), source_id);
  auto* resettable = dynamic_cast<Resettable*>(runner.Source());
  if (resettable == nullptr) {
    throw ConfigError({"source \"" + std::string(source_id) + "\" cannot be reset"});
  }
  Logger()->warn("source {}: reset requested (drop_publication={})", source_id, drop_publication);
  resettable->ResetSource(drop_publication);
  // The saved state is gone: whatever the stream does next, the targets reload from a baseline.
  runner.RebaselineNow("source reset requested");
}

Position Engine::LastAckedPosition(std::string_view source_id) const {
  return Require(impl_->FindRunner(source_id), source_id).LastAcked();
}

std::string Engine::LastAckedPositionString(std::string_view source_id) const {
  return Require(impl_->FindRunner(source_id), source_id).LastAckedText();
}

LagInfo Engine::GetLag(std::string_view source_id) const {
  return Require(impl_->FindRunner(source_id), source_id).Lag();
}

SourceState Engine::GetSourceState(std::string_view source_id) const {
  return Require(impl_->FindRunner(source_id), source_id).State();
}

std::optional<std::string> Engine::SourceError(std::string_view source_id) const {
  return Require(impl_->FindRunner(source_id), source_id).Error();
}

bool Engine::AwaitApplied(std::string_view source_id, const Position& position,
                          std::chrono::milliseconds timeout) const {
  return Require(impl_->FindRunner(source_id), source_id).AwaitApplied(position, timeout);
}

std::exception_ptr Engine::SourceException(std::string_view source_id) const {
  return Require(impl_->FindRunner(source_id), source_id).Exception();
}

}  // namespace laredo
