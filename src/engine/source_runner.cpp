#include "engine/source_runner.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>
#include <set>

#include "laredo/backoff.hpp"
#include "laredo/error.hpp"
#include "laredo/error_codes.hpp"
#include "laredo/logging.hpp"

namespace laredo::engine {

SourceRunner::SourceRunner(std::string id, std::shared_ptr<SyncSource> source,
                           const EngineOptions& options, std::shared_ptr<EngineObserver> observer,
                           std::vector<Pipeline*> pipelines, Hooks hooks)
    : id_(std::move(id)),
      source_(std::move(source)),
      options_(options),
      observer_(std::move(observer)),
      pipelines_(std::move(pipelines)),
      hooks_(std::move(hooks)),
      dispatcher_(id_, *source_, pipelines_, observer_),
      acker_(id_, *source_, pipelines_, dispatcher_.frontier(), observer_, options_.ack_interval) {
  dispatcher_.on_first_dispatch = [this] { ClearRetryError(); };  // the stream works again
  dispatcher_.on_state_changed = [this] { ReportState(); };       // e.g. a reconnect in Stream
}

SourceRunner::~SourceRunner() {
  thread_.request_stop();
  if (thread_.joinable()) thread_.join();
  acker_.Stop();
}

void SourceRunner::Start() {
  for (Pipeline* p : pipelines_) p->Start(*this);
  thread_ = std::jthread([this](std::stop_token stop) { Run(std::move(stop)); });
  acker_.Start([this] {
    dispatcher_.TrimPools();
    ReportState();
    for (Pipeline* p : Pipelines()) {
      const auto status = p->Status();
      observer_->OnBufferDepth(status.id, status.buffer_depth, status.buffer_capacity);
    }
  });
}

std::vector<Pipeline*> SourceRunner::SnapshotPipelines() const {
  std::vector<Pipeline*> out;
  for (Pipeline* p : Pipelines()) {
    if (p->snapshot_durable()) out.push_back(p);
  }
  return out;
}

std::vector<Pipeline*> SourceRunner::Pipelines() const {
  std::lock_guard lk(mu_);
  std::vector<Pipeline*> out = pipelines_;
  out.insert(out.end(), additions_.begin(), additions_.end());
  return out;
}

void SourceRunner::AddPipeline(Pipeline* pipeline) {
  pipeline->Start(*this);
  std::lock_guard lk(mu_);
  additions_.push_back(pipeline);
  stream_source_.request_stop();  // the lifecycle adds it between two streams
}

void SourceRunner::ApplyAdditions(const std::stop_token& stop, bool baseline_follows) {
  std::vector<Pipeline*> adding;
  {
    std::lock_guard lk(mu_);
    adding.swap(additions_);
    // Moved in the same turn, so Pipelines() never misses one.
    pipelines_.insert(pipelines_.end(), adding.begin(), adding.end());
  }
  auto* reloadable = dynamic_cast<ReloadableSource*>(source_.get());  // checked by the engine
  for (Pipeline* p : adding) {
    const auto& table = p->table();
    std::vector<ColumnDefinition> columns;
    for (int failures = 0;;) {
      try {
        columns = reloadable->AddTable(table);
        if (!baseline_follows) reloadable->ReloadTable(table);
        break;
      } catch (const std::exception& e) {
        if (IsRetryable(e) && ++failures <= options_.source_max_retries &&
            SleepFor(stop, options_.source_backoff.Delay(failures))) {
          Logger()->warn("source {}: adding {} failed (retry {}): {}", id_, table.ToString(),
                         failures, e.what());
          continue;
        }
        if (stop.stop_requested()) return;
        const auto message =
            fmt::format("cannot add {} to source {}: {}", table.ToString(), id_, e.what());
        Logger()->error("{}", message);
        observer_->OnError(id_, message, false);
        p->Halt(PipelineState::Error, message);
        columns.clear();
        break;
      }
    }
    if (p->Failed()) {
      // Listed by the engine, failed; the source goes on without it (AwaitApplied, Pause and
      // the ACK never wait for it).
      std::lock_guard lk(mu_);
      std::erase(pipelines_, p);
      continue;
    }
    dispatcher_.columns[table] = columns;
    auto shared = std::make_shared<const std::vector<ColumnDefinition>>(std::move(columns));
    if (!p->Enqueue(InitStep{.columns = std::move(shared)}, stop)) return;
    dispatcher_.AddPipeline(p);
    acker_.Add(p);
    Logger()->info("source {}: added pipeline {} ({}), loading it {}", id_, p->id(),
                   table.ToString(), baseline_follows ? "with the baseline" : "while streaming");
  }
  if (!adding.empty()) hooks_.status_changed();
}

void SourceRunner::StopAndJoinSource() {
  thread_.request_stop();
  if (thread_.joinable()) thread_.join();
}

void SourceRunner::Finish() {
  acker_.Stop();
  acker_.TryAck();  // the final ACK covers everything the drain made durable
  try {
    source_->Close();
  } catch (const std::exception& e) {
    Logger()->warn("source {}: Close failed: {}", id_, e.what());
    hooks_.status_changed();
  }
  ReportState();
}

void SourceRunner::Pause() {
  for (Pipeline* p : Pipelines()) p->SetPaused(true);
  source_->Pause();
  ReportState();
}

void SourceRunner::Resume() {
  for (Pipeline* p : Pipelines()) p->SetPaused(false);
  source_->Resume();
  ReportState();
}

void SourceRunner::StopFromPipeline(const std::string& reason, bool whole_engine) {
  if (whole_engine) {
    hooks_.stop_engine(reason);
  } else {
    StopForEngine(reason);
  }
}

void SourceRunner::StopForEngine(const std::string& reason) {
  {
    std::lock_guard lk(mu_);
    if (!error_) error_ = "stopped by pipeline error policy: " + reason;
  }
  for (Pipeline* p : Pipelines()) p->Halt(PipelineState::Stopped, "source stopped: " + reason);
  thread_.request_stop();
  hooks_.status_changed();
}

std::string SourceRunner::PrintPosition(const Position& position) {
  try {
    return source_->PositionToString(position);
  } catch (const std::exception& e) {
    return std::string("<unprintable: ") + e.what() + ">";
  }
}

std::optional<std::string> SourceRunner::Error() const {
  std::lock_guard lk(mu_);
  return error_ ? error_ : retry_error_;
}

bool SourceRunner::Failed() const {
  std::lock_guard lk(mu_);
  return error_.has_value();
}

SourceState SourceRunner::State() const {
  {
    std::lock_guard lk(mu_);
    if (error_) return SourceState::Error;
    if (retrying_) return SourceState::Reconnecting;
  }
  return source_->State();
}

void SourceRunner::ReportState() {
  const SourceState state = State();
  {
    std::lock_guard lk(mu_);
    if (state == reported_state_) return;
    reported_state_ = state;
  }
  observer_->OnSourceStateChanged(id_, state);
}

void SourceRunner::Fail(const std::string& message) {
  Logger()->error("source {}: {}", id_, message);
  {
    std::lock_guard lk(mu_);
    if (!error_) {
      error_ = message;
      exception_ = std::current_exception();  // Fail runs in the handler of what failed, if any
    }
  }
  observer_->OnError(id_, message, false);
  for (Pipeline* p : Pipelines()) p->Halt(PipelineState::Error, message);
  ReportState();
  hooks_.status_changed();
}

bool SourceRunner::Retry(const std::stop_token& stop, int failures, const std::string& message) {
  Logger()->warn("source {}: {} (retry {})", id_, message, failures);
  observer_->OnError(id_, message, true);
  {
    std::lock_guard lk(mu_);
    retry_error_ =
        fmt::format("{} (retry {} of {})", message, failures, options_.source_max_retries);
    exception_ = std::current_exception();
    retrying_ = true;
    if (!retrying_since_) retrying_since_ = std::chrono::steady_clock::now();
  }
  ReportState();
  hooks_.status_changed();  // AwaitReady callers may ask why now
  const bool go_on = SleepFor(stop, options_.source_backoff.Delay(failures));
  {
    std::lock_guard lk(mu_);
    retrying_ = false;
  }
  return go_on;
}

std::optional<std::chrono::steady_clock::duration> SourceRunner::RetryingFor() const {
  std::lock_guard lk(mu_);
  if (!retrying_since_) return std::nullopt;
  return std::chrono::steady_clock::now() - *retrying_since_;
}

void SourceRunner::ClearRetryError() {
  bool was_retrying = false;
  {
    std::lock_guard lk(mu_);
    was_retrying = retry_error_.has_value();
    retry_error_.reset();
    retrying_since_.reset();
    if (!error_) exception_ = nullptr;
  }
  if (was_retrying) hooks_.status_changed();  // wakes AwaitReady: the source works again
}

bool SourceRunner::AwaitApplied(const Position& position, std::chrono::milliseconds timeout) const {
  if (!position.has_value()) return true;
  const auto reached = [&](const Position& p) {
    return p.has_value() && source_->ComparePositions(p, position) >= 0;
  };
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  auto pause = std::chrono::microseconds(200);
  // The dispatch number by which the source had delivered everything up to `position`: fixed at
  // the first sight, so a busy stream moving on does not move the goal.
  std::optional<std::uint64_t> through;
  for (;;) {
    if (Failed()) return false;
    if (!through) {
      for (const AckPoint& point : {dispatcher_.frontier().Get(), dispatcher_.Progress()}) {
        if (reached(point.position) && (!through || point.seq < *through)) through = point.seq;
      }
    }
    if (through) {
      bool all = true;
      for (const Pipeline* p : Pipelines()) {
        if (p->Failed()) return false;  // a halted pipeline never catches up
        // Applied a change at or after `position` (a pipeline applies in stream order), or
        // everything it was given up to the goal.
        all = all && (p->AppliedThrough(*through) || reached(p->LastAppliedPosition()));
      }
      if (all) return true;
    }
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) return false;
    // Polled: notifying a waiter from every worker after every batch would tax the hot path for
    // a call that waits a few milliseconds. The pause grows to 5 ms.
    std::this_thread::sleep_for(std::min<std::chrono::nanoseconds>(pause, deadline - now));
    pause = std::min<std::chrono::microseconds>(pause * 2, std::chrono::milliseconds(5));
  }
}

std::exception_ptr SourceRunner::Exception() const {
  std::lock_guard lk(mu_);
  return exception_;
}

void SourceRunner::RequestRebaseline(const std::string& reason, std::uint64_t generation) {
  std::lock_guard lk(mu_);
  if (generation < generation_.load()) return;  // a newer baseline began: it answers this
  rebaselining_ = true;
  if (!rebaseline_reason_) rebaseline_reason_ = reason;
  stream_source_.request_stop();
}

bool SourceRunner::RequestReload(const TableIdentifier& table, const std::string& reason) {
  auto* reloadable = dynamic_cast<ReloadableSource*>(source_.get());
  if (reloadable == nullptr) return false;
  try {
    reloadable->ReloadTable(table);
  } catch (const std::exception& e) {
    Logger()->info("source {}: {} cannot be reloaded alone ({}): re-baselining", id_,
                   table.ToString(), e.what());
    return false;
  }
  Logger()->warn("source {}: reloading {} while the stream flows: {}", id_, table.ToString(),
                 reason);
  return true;
}

bool SourceRunner::Initialise(const std::stop_token& stop) {
  // Init and validation, retried together while the failure is retryable: validation talks to
  // the origin too, and a server that restarts under it must not fail the source for good.
  const auto& tables = dispatcher_.tables();
  std::vector<ValidationError> problems;
  for (int failures = 0;;) {
    const char* step = "Init";
    try {
      dispatcher_.columns = source_->Init(SourceConfig{.tables = tables, .options = {}});
      step = "ValidateTables";
      problems = source_->ValidateTables(tables);
      break;
    } catch (const std::exception& e) {
      if (!IsRetryable(e)) {
        if (step == std::string_view("Init")) {
          Fail(std::string("Init failed (not retryable): ") + e.what());
          return false;
        }
        problems = {{std::nullopt, validation_codes::kValidationFailed, e.what()}};
        break;
      }
      if (++failures > options_.source_max_retries) {
        Fail(fmt::format("{} failed {} times: {}", step, failures, e.what()));
        return false;
      }
      if (!Retry(stop, failures, fmt::format("{} failed, retrying: {}", step, e.what()))) {
        return false;
      }
    }
  }
  ClearRetryError();
  ReportState();
  for (const auto& table : tables) {
    const bool reported = std::any_of(problems.begin(), problems.end(),
                                      [&](const ValidationError& p) { return p.table == table; });
    if (!dispatcher_.columns.contains(table) && !reported) {
      problems.push_back(
          {table, validation_codes::kTableNotFound, "the source returned no columns for it"});
    }
  }
  if (!problems.empty()) {
    std::vector<std::string> lines;
    for (const auto& p : problems) {
      lines.push_back(p.ToString());
      observer_->OnError(id_, p.ToString(), false);
    }
    Fail(fmt::format("validation failed: {}", fmt::join(lines, "; ")));
    return false;
  }
  for (Pipeline* p : pipelines_) {
    auto columns =
        std::make_shared<const std::vector<ColumnDefinition>>(dispatcher_.columns[p->table()]);
    if (!p->Enqueue(InitStep{.columns = std::move(columns)}, stop)) return false;
  }
  return true;
}

std::optional<Position> SourceRunner::TryResume(const std::stop_token& stop) {
  if (!source_->SupportsResume() ||
      !std::all_of(pipelines_.begin(), pipelines_.end(),
                   [](Pipeline* p) { return p->target()->KeepsStateAcrossRestarts(); })) {
    return std::nullopt;
  }
  Position acked = source_->LastAckedPosition();
  if (!acked.has_value()) return std::nullopt;
  const auto continued = ContinueReloads();
  if (!continued) return std::nullopt;
  acker_.StartAt(acked, source_->PositionToString(acked));
  const bool queued = dispatcher_.StartStreamAt(0, acked, [&] {
    for (Pipeline* p : pipelines_) {
      const bool continues = continued->contains(p->table());
      if (!p->Enqueue(ResumeStep{.reload_continues = continues}, stop)) return false;
    }
    return true;
  });
  if (!queued) return std::nullopt;
  for (const auto& table : *continued) dispatcher_.NoteReloading(table);
  Logger()->info("source {}: resuming from {} without a baseline", id_, acker_.LastAckedText());
  return acked;
}

std::optional<std::set<TableIdentifier>> SourceRunner::ContinueReloads() {
  std::map<TableIdentifier, std::vector<std::optional<std::string>>> held;
  for (Pipeline* p : pipelines_) {
    try {
      held[p->table()].push_back(p->target()->ReloadCheckpoint(p->table()));
    } catch (const std::exception& e) {
      // What the target holds is unknown: a baseline reads every table (nothing is lost).
      Logger()->warn(
          "source {}: pipeline {} could not say which reload checkpoint it holds ({}): "
          "taking a baseline",
          id_, p->id(), e.what());
      return std::nullopt;
    }
  }
  std::set<TableIdentifier> continued;
  auto* reloadable = dynamic_cast<ReloadableSource*>(source_.get());
  for (const auto& entry : held) {
    const TableIdentifier& table = entry.first;
    const auto& checkpoints = entry.second;
    const bool any = std::any_of(checkpoints.begin(), checkpoints.end(),
                                 [](const auto& c) { return c.has_value(); });
    if (!any) continue;
    // One stream feeds every target of the table: it can go on with one reload only.
    const bool same = std::all_of(checkpoints.begin(), checkpoints.end(),
                                  [&](const auto& c) { return c == checkpoints.front(); });
    bool goes_on = false;
    std::string why = "its targets hold different checkpoints";
    if (reloadable == nullptr) {
      why = "the source cannot reload one table";
    } else if (same) {
      why = "the source cannot continue it";
      try {
        goes_on = reloadable->ContinueReload(table, *checkpoints.front());
      } catch (const std::exception& e) {
        why = e.what();
      }
    }
    if (goes_on) {
      Logger()->info("source {}: continuing the reload of {} from its checkpoint", id_,
                     table.ToString());
      continued.insert(table);
      continue;
    }
    // The half-built copies are dropped by the reload's begin, which reads the table whole.
    Logger()->warn("source {}: the reload of {} begins again from nothing: {}", id_,
                   table.ToString(), why);
    try {
      if (reloadable == nullptr) return std::nullopt;
      reloadable->ReloadTable(table);
    } catch (const std::exception& e) {
      Logger()->warn("source {}: {} cannot be reloaded alone ({}): taking a baseline", id_,
                     table.ToString(), e.what());
      return std::nullopt;
    }
  }
  return continued;
}

void SourceRunner::Run(std::stop_token stop) {
  // Engine stop ends whichever stream is running.
  std::stop_callback on_stop(stop, [this] {
    std::lock_guard lk(mu_);
    stream_source_.request_stop();
  });
  ReportState();
  if (snapshotter_ != nullptr && !SnapshotPipelines().empty()) {
    if (auto* exact = dynamic_cast<ExactRelease*>(source_.get())) exact->ReleaseOnlyAcknowledged();
  }
  if (!Initialise(stop)) return;

  bool need_baseline = true;
  Position from;
  // Reading the saved position talks to the origin (a PostgreSQL slot's row): a server that is
  // restarting gets the source's retries, as Init does. Both steps read it before they queue
  // anything, so trying again starts clean.
  for (int failures = 0;;) {
    try {
      if (auto restored = TryRestore(stop)) {
        from = std::move(*restored);
        need_baseline = false;
      } else if (stop.stop_requested()) {
        return;
      } else if (auto resumed = TryResume(stop)) {
        from = std::move(*resumed);
        need_baseline = false;
      } else if (stop.stop_requested()) {
        return;
      }
      break;
    } catch (const std::exception& e) {
      if (!IsRetryable(e) || ++failures > options_.source_max_retries) {
        return Fail(std::string("reading the resume position failed: ") + e.what());
      }
      if (!Retry(stop, failures,
                 std::string("reading the resume position failed, retrying: ") + e.what())) {
        return;
      }
    }
  }
  ClearRetryError();

  int failures = 0;
  while (!stop.stop_requested()) {
    std::optional<std::string> asked;
    {
      std::lock_guard lk(mu_);
      asked.swap(rebaseline_reason_);
    }
    if (asked) {
      Logger()->warn("source {}: re-baselining: {}", id_, *asked);
      observer_->OnRebaseline(id_, *asked);
      need_baseline = true;
    }
    ApplyAdditions(stop, need_baseline);
    if (need_baseline) {
      auto baseline_end = RunBaseline(stop);
      if (!baseline_end) return;
      from = std::move(*baseline_end);
      need_baseline = false;
      ApplyAdditions(stop, false);  // added while the baseline ran: reloaded
    }
    std::stop_token stream_stop;
    {
      std::lock_guard lk(mu_);
      stream_source_ = std::stop_source();
      // A request made since the check above stopped the previous stream source: honour it.
      if (stop.stop_requested() || rebaseline_reason_ || !additions_.empty()) {
        stream_source_.request_stop();
      }
      stream_stop = stream_source_.get_token();
    }
    dispatcher_.BeginStream(stream_stop);
    dispatcher_.SetBarriersOpen(true);  // the targets hold a whole table each, up to `from`
    try {
      source_->Stream(stream_stop, from, dispatcher_);
      if (stop.stop_requested()) break;
      bool asked_for = false;
      {
        std::lock_guard lk(mu_);
        asked_for = rebaseline_reason_.has_value() || !additions_.empty();
      }
      if (!asked_for) return Fail("Stream returned although it was not asked to stop");
      // Ended to add pipelines: the next stream goes on after the last change every pipeline
      // received.
      if (dispatcher_.frontier().position().has_value()) from = dispatcher_.frontier().position();
    } catch (const RebaselineRequired& e) {
      if (stop.stop_requested()) break;
      rebaselining_ = true;
      Logger()->warn("source {}: re-baselining: {}", id_, e.what());
      observer_->OnRebaseline(id_, e.what());
      need_baseline = true;
    } catch (const std::exception& e) {
      if (stop.stop_requested()) break;
      if (!IsRetryable(e)) return Fail(std::string("Stream failed: ") + e.what());
      failures = dispatcher_.dispatched() ? 1 : failures + 1;
      if (failures > options_.source_max_retries) {
        return Fail(fmt::format("Stream failed {} times in a row: {}", failures, e.what()));
      }
      if (!Retry(stop, failures, std::string("Stream failed, retrying: ") + e.what())) break;
      from = dispatcher_.frontier().position();  // after the last change every pipeline received
    }
    ReportState();
  }
}

}  // namespace laredo::engine
