#include "engine/source_runner.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "laredo/dead_letter.hpp"
#include "laredo/error.hpp"
#include "laredo/logging.hpp"

namespace laredo::engine {

SourceRunner::SourceRunner(std::string id, std::shared_ptr<SyncSource> source,
                           const EngineOptions& options, std::vector<Pipeline*> pipelines,
                           Hooks hooks)
    : id_(std::move(id)),
      source_(std::move(source)),
      options_(options),
      pipelines_(std::move(pipelines)),
      hooks_(std::move(hooks)) {
  for (Pipeline* p : pipelines_) {
    auto& route = routes_[p->table()];
    if (route.empty()) tables_.push_back(p->table());
    route.push_back(p);
  }
}

SourceRunner::~SourceRunner() {
  thread_.request_stop();
  ack_thread_.request_stop();
  wake_.notify_all();
}

void SourceRunner::Start() {
  thread_ = std::jthread([this](std::stop_token stop) { Run(stop); });
  ack_thread_ = std::jthread([this](std::stop_token stop) { AckLoop(stop); });
}

void SourceRunner::StopAndJoinSource() {
  thread_.request_stop();
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void SourceRunner::Finish() {
  ack_thread_.request_stop();
  wake_.notify_all();
  if (ack_thread_.joinable()) ack_thread_.join();
  TryAck();  // the final ACK covers everything the drain made durable
  try {
    source_->Close();
  } catch (const std::exception& e) {
    Logger()->warn("source {}: Close failed: {}", id_, e.what());
    hooks_.status_changed();
  }
  ReportState();
}

void SourceRunner::Pause() {
  {
    std::lock_guard lk(mu_);
    paused_ = true;
  }
  for (Pipeline* p : pipelines_) p->SetPaused(true);
  source_->Pause();
  ReportState();
}

void SourceRunner::Resume() {
  {
    std::lock_guard lk(mu_);
    paused_ = false;
  }
  for (Pipeline* p : pipelines_) p->SetPaused(false);
  source_->Resume();
  ReportState();
}

void SourceRunner::StopFromPipeline(const std::string& reason) {
  {
    std::lock_guard lk(mu_);
    if (!error_) error_ = "stopped by pipeline error policy: " + reason;
  }
  for (Pipeline* p : pipelines_) p->Halt(PipelineState::Stopped, "source stopped: " + reason);
  thread_.request_stop();
  wake_.notify_all();
  hooks_.status_changed();
}

Position SourceRunner::LastAcked() const {
  std::lock_guard lk(ack_mu_);
  return last_acked_;
}

std::string SourceRunner::LastAckedText() const {
  std::lock_guard lk(ack_mu_);
  return last_acked_text_;
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
  options_.observer->OnSourceStateChanged(id_, state);
}

void SourceRunner::Fail(const std::string& message) {
  Logger()->error("source {}: {}", id_, message);
  {
    std::lock_guard lk(mu_);
    if (!error_) error_ = message;
  }
  options_.observer->OnError(id_, message, false);
  for (Pipeline* p : pipelines_) p->Halt(PipelineState::Error, message);
  ReportState();
  hooks_.status_changed();
}

bool SourceRunner::Retry(std::stop_token stop, int failures, const std::string& message) {
  Logger()->warn("source {}: {} (retry {})", id_, message, failures);
  options_.observer->OnError(id_, message, true);
  auto delay = options_.source_initial_backoff;
  for (int i = 1; i < failures && delay < options_.source_max_backoff; ++i) delay *= 2;
  delay = std::min(delay, options_.source_max_backoff);
  {
    std::lock_guard lk(mu_);
    retry_error_ =
        fmt::format("{} (retry {} of {})", message, failures, options_.source_max_retries);
    retrying_ = true;
  }
  ReportState();
  hooks_.status_changed();  // AwaitReady callers may ask why now
  {
    std::unique_lock lk(mu_);
    wake_.wait_for(lk, stop, delay, [] { return false; });
    retrying_ = false;
  }
  return !stop.stop_requested();
}

void SourceRunner::ClearRetryError() {
  std::lock_guard lk(mu_);
  retry_error_.reset();
}

void SourceRunner::Run(std::stop_token stop) {
  // Engine stop ends whichever stream is running.
  std::stop_callback on_stop(stop, [this] {
    std::lock_guard lk(mu_);
    stream_source_.request_stop();
  });
  ReportState();

  // Init and validation, retried together while the failure is retryable: validation talks to
  // the origin too, and a server that restarts under it must not fail the source for good.
  std::map<TableIdentifier, std::vector<ColumnDefinition>>& columns = columns_;
  std::vector<ValidationError> problems;
  for (int failures = 0;;) {
    const char* step = "Init";
    try {
      columns = source_->Init(SourceConfig{.tables = tables_, .options = {}});
      step = "ValidateTables";
      problems = source_->ValidateTables(tables_);
      break;
    } catch (const std::exception& e) {
      if (!IsRetryable(e)) {
        if (step == std::string_view("Init")) {
          return Fail(std::string("Init failed (not retryable): ") + e.what());
        }
        problems = {{std::nullopt, "VALIDATION_FAILED", e.what()}};
        break;
      }
      if (++failures > options_.source_max_retries) {
        return Fail(fmt::format("{} failed {} times: {}", step, failures, e.what()));
      }
      if (!Retry(stop, failures, fmt::format("{} failed, retrying: {}", step, e.what()))) return;
    }
  }
  ClearRetryError();
  ReportState();

  for (const auto& table : tables_) {
    if (!columns.contains(table)) {
      problems.push_back({table, "TABLE_NOT_FOUND", "the source returned no columns for it"});
    }
  }
  if (!problems.empty()) {
    std::vector<std::string> lines;
    for (const auto& p : problems) {
      lines.push_back(p.ToString());
      options_.observer->OnError(id_, p.ToString(), false);
    }
    return Fail(fmt::format("validation failed: {}", fmt::join(lines, "; ")));
  }

  for (Pipeline* p : pipelines_) {
    Item init{.kind = Item::Kind::Init};
    init.columns = std::make_shared<const std::vector<ColumnDefinition>>(columns[p->table()]);
    if (!p->Enqueue(std::move(init), stop)) return;
  }

  // Resume only when the source kept its place and every target kept its rows.
  bool need_baseline = true;
  Position from;
  try {
    if (source_->SupportsResume() &&
        std::all_of(pipelines_.begin(), pipelines_.end(),
                    [](Pipeline* p) { return p->target()->KeepsStateAcrossRestarts(); })) {
      Position acked = source_->LastAckedPosition();
      if (acked.has_value()) {
        from = acked;
        {
          std::lock_guard lk(ack_mu_);
          last_acked_ = acked;
          last_acked_text_ = source_->PositionToString(acked);
        }
        frontier_.Publish(0, acked);
        for (Pipeline* p : pipelines_) {
          if (!p->Enqueue(Item{.kind = Item::Kind::Resume}, stop)) return;
        }
        need_baseline = false;
        Logger()->info("source {}: resuming from {} without a baseline", id_, last_acked_text_);
      }
    }
  } catch (const std::exception& e) {
    return Fail(std::string("reading the resume position failed: ") + e.what());
  }

  int failures = 0;
  while (!stop.stop_requested()) {
    std::optional<std::string> asked;
    {
      std::lock_guard lk(mu_);
      asked.swap(rebaseline_reason_);
    }
    if (asked) {
      Logger()->warn("source {}: re-baselining: {}", id_, *asked);
      options_.observer->OnRebaseline(id_, *asked);
      need_baseline = true;
    }
    if (need_baseline) {
      auto baseline_end = RunBaseline(stop);
      if (!baseline_end) return;
      from = std::move(*baseline_end);
      need_baseline = false;
    }
    {
      std::lock_guard lk(mu_);
      stream_source_ = std::stop_source();
      // A request made since the check above stopped the previous stream source: honour it.
      if (stop.stop_requested() || rebaseline_reason_) stream_source_.request_stop();
      stream_stop_ = stream_source_.get_token();
    }
    dispatched_since_failure_ = false;
    backpressure_hook_ = {};  // a hook left by an earlier Stream call refers to its ended state
    try {
      source_->Stream(stream_stop_, from, *this);
      if (stop.stop_requested()) break;
      bool asked_for = false;
      {
        std::lock_guard lk(mu_);
        asked_for = rebaseline_reason_.has_value();
      }
      if (!asked_for) return Fail("Stream returned although it was not asked to stop");
    } catch (const RebaselineRequired& e) {
      if (stop.stop_requested()) break;
      rebaselining_ = true;
      Logger()->warn("source {}: re-baselining: {}", id_, e.what());
      options_.observer->OnRebaseline(id_, e.what());
      need_baseline = true;
    } catch (const std::exception& e) {
      if (stop.stop_requested()) break;
      if (!IsRetryable(e)) return Fail(std::string("Stream failed: ") + e.what());
      failures = dispatched_since_failure_ ? 1 : failures + 1;
      if (failures > options_.source_max_retries) {
        return Fail(fmt::format("Stream failed {} times in a row: {}", failures, e.what()));
      }
      if (!Retry(stop, failures, std::string("Stream failed, retrying: ") + e.what())) break;
      from = frontier_.position();  // after the last change every pipeline received
    }
    ReportState();
  }
}

std::optional<Position> SourceRunner::RunBaseline(std::stop_token stop) {
  auto* estimator = dynamic_cast<BaselineSizeEstimator*>(source_.get());
  auto* reporting = dynamic_cast<SchemaReportingBaseline*>(source_.get());
  for (int failures = 0;;) {
    {
      std::lock_guard lk(mu_);
      generation_.fetch_add(1);
      rebaseline_reason_.reset();  // this baseline answers every request made so far
    }
    for (Pipeline* p : pipelines_) p->MarkNotReady();
    rebaselining_ = false;
    begun_.clear();
    begun_cache_ = nullptr;
    baseline_stopped_ = false;
    baseline_counts_.clear();
    for (const auto& table : tables_) {
      std::optional<std::uint64_t> estimate;
      if (estimator != nullptr) {
        try {
          estimate = estimator->EstimateRows(table);
        } catch (const std::exception&) {
          // An estimate is a nicety; the baseline goes on without one.
        }
      }
      baseline_estimates_[table] = estimate;
      options_.observer->OnBaselineStarted(id_, table, estimate);
    }
    Position position;
    try {
      const RowCallback on_row = [&](const TableIdentifier& table, Row row) {
        OnBaselineRow(table, std::move(row), stop);
      };
      if (reporting != nullptr) {
        const ColumnsCallback on_columns = [&](const TableIdentifier& table,
                                               std::vector<ColumnDefinition> columns) {
          if (!routes_.contains(table) || begun_[table]) return;
          columns_[table] = std::move(columns);
          BeginTable(table, stop);
        };
        position = reporting->BaselineWithColumns(stop, tables_, on_columns, on_row);
      } else {
        position = source_->Baseline(stop, tables_, on_row);
      }
    } catch (const std::exception& e) {
      if (stop.stop_requested()) return std::nullopt;
      if (!IsRetryable(e)) {
        Fail(std::string("Baseline failed (not retryable): ") + e.what());
        return std::nullopt;
      }
      if (++failures > options_.source_max_retries) {
        Fail(fmt::format("Baseline failed {} times: {}", failures, e.what()));
        return std::nullopt;
      }
      // The next attempt begins every table again: targets drop the failed attempt's rows.
      if (!Retry(stop, failures, std::string("Baseline failed, retrying: ") + e.what())) {
        return std::nullopt;
      }
      continue;
    }
    if (stop.stop_requested() || baseline_stopped_) return std::nullopt;
    for (const auto& table : tables_) {  // tables without rows begin (and end) too
      if (!BeginTable(table, stop)) return std::nullopt;
    }
    for (const auto& [table, rows] : baseline_counts_) {
      if (rows % options_.baseline_progress_rows != 0) {  // else just reported
        options_.observer->OnBaselineProgress(id_, table, rows, baseline_estimates_[table]);
      }
    }
    auto carrier = PositionCarrier(std::move(position));
    const std::uint64_t seq = ++next_seq_;
    for (Pipeline* p : pipelines_) {
      Item done{.kind = Item::Kind::BaselineComplete, .seq = seq, .event = carrier};
      if (!p->Enqueue(std::move(done), stop)) return std::nullopt;
    }
    frontier_.Publish(seq, carrier->position);
    ClearRetryError();
    return carrier->position;
  }
}

bool SourceRunner::BeginTable(const TableIdentifier& table, const std::stop_token& stop) {
  bool& begun = begun_[table];
  if (begun) return true;
  begun = true;
  const auto route = routes_.find(table);
  if (route == routes_.end()) return true;
  auto columns = std::make_shared<const std::vector<ColumnDefinition>>(columns_[table]);
  const auto generation = generation_.load();
  for (Pipeline* p : route->second) {
    Item begin{.kind = Item::Kind::BaselineBegin, .generation = generation};
    begin.columns = columns;
    if (!p->Enqueue(std::move(begin), stop)) {
      baseline_stopped_ = true;
      return false;
    }
  }
  return true;
}

void SourceRunner::OnBaselineRow(const TableIdentifier& table, Row row,
                                 const std::stop_token& stop) {
  const auto* route = Route(table);
  if (route == nullptr) return;
  if (cached_table_ != begun_cache_) {  // compared by address: Route() caches the map's key
    if (!BeginTable(*cached_table_, stop)) return;
    begun_cache_ = cached_table_;
  }
  const auto rows = ++baseline_counts_[table];
  if (rows % options_.baseline_progress_rows == 0) {
    options_.observer->OnBaselineProgress(id_, table, rows, baseline_estimates_[table]);
  }
  for (std::size_t i = 0; i < route->size(); ++i) {
    Item item{.kind = Item::Kind::BaselineRow};
    item.row = (i + 1 == route->size()) ? std::move(row) : row;
    if (!(*route)[i]->Enqueue(std::move(item), stop)) return;
  }
}

const std::vector<Pipeline*>* SourceRunner::Route(const TableIdentifier& table) {
  // Sources mostly emit runs of one table: compare before hashing.
  if (cached_table_ != nullptr && *cached_table_ == table) return cached_route_;
  auto it = routes_.find(table);
  if (it == routes_.end()) {
    Logger()->warn("source {}: change for unconfigured table {} ignored", id_, table.ToString());
    return nullptr;
  }
  cached_table_ = &it->first;
  cached_route_ = &it->second;
  return cached_route_;
}

void SourceRunner::OnChange(ChangeEvent event) {
  if (stream_stop_.stop_requested()) return;
  const auto* route = Route(event.table);
  const std::uint64_t seq = ++next_seq_;
  // Copied before queueing: once queued, a worker may apply and free the event at any time.
  Position position = event.position;
  auto shared = std::make_shared<const ChangeEvent>(std::move(event));
  if (route != nullptr) {
    for (std::size_t i = 0; i < route->size(); ++i) {
      // The last pipeline takes the source's reference: no reference-count increment for it.
      Item item{.kind = Item::Kind::Change,
                .seq = seq,
                .event = (i + 1 == route->size()) ? std::move(shared) : shared};
      if (!(*route)[i]->Enqueue(std::move(item), stream_stop_, &backpressure_hook_)) {
        return;  // never published
      }
    }
  }
  // Published after it reached every pipeline (see PublishedFrontier).
  frontier_.Publish(seq, std::move(position));
  if (!dispatched_since_failure_) {
    dispatched_since_failure_ = true;
    ClearRetryError();  // the stream works again
  }
}

void SourceRunner::OnSchemaChange(const TableIdentifier& table,
                                  std::vector<ColumnDefinition> columns) {
  const auto* route = Route(table);
  if (route == nullptr) return;
  columns_[table] = columns;  // a later re-baseline begins with these
  auto shared = std::make_shared<const std::vector<ColumnDefinition>>(std::move(columns));
  for (Pipeline* p : *route) {
    Item item{.kind = Item::Kind::SchemaChange};
    item.columns = shared;
    if (!p->Enqueue(std::move(item), stream_stop_, &backpressure_hook_)) return;
  }
}

void SourceRunner::OnInvalidRecord(InvalidRecord record) {
  if (stream_stop_.stop_requested()) return;
  std::string position_text;
  if (record.position.has_value()) {
    try {
      position_text = source_->PositionToString(record.position);
    } catch (const std::exception& e) {
      position_text = std::string("<unprintable: ") + e.what() + ">";
    }
  }
  const std::string message =
      fmt::format("invalid record{}{}: {}", record.table ? " for " + record.table->ToString() : "",
                  position_text.empty() ? "" : " at " + position_text, record.error);
  Logger()->error("source {}: {}", id_, message);
  options_.observer->OnError(id_, message, false);

  // One letter per sink: the pipelines of its table, or every pipeline when the table is unknown
  // (pipelines often share one sink; the letter must not be written once per pipeline).
  DeadLetter letter{.table = record.table.value_or(TableIdentifier{}),
                    .operation = "invalid_record",
                    .position = position_text,
                    .payload = std::move(record.payload),
                    .error = std::move(record.error),
                    .attempts = 1,
                    .time = std::chrono::system_clock::now()};
  const std::vector<Pipeline*>* route = record.table ? Route(*record.table) : nullptr;
  const std::vector<Pipeline*>& targets = route != nullptr ? *route : pipelines_;
  std::vector<const DeadLetterSink*> written;
  for (Pipeline* p : targets) {
    if (std::find(written.begin(), written.end(), p->dead_letter_sink()) != written.end()) continue;
    written.push_back(p->dead_letter_sink());
    letter.pipeline_id = p->id();
    p->DeliverDeadLetter(letter);
  }

  // Consumed: ACKs may pass it now that the letter is written.
  if (record.position.has_value()) {
    const std::uint64_t seq = ++next_seq_;
    frontier_.Publish(seq, std::move(record.position));
    dispatched_since_failure_ = true;
  }
}

void SourceRunner::SetBackpressureHook(std::function<void()> hook,
                                       std::chrono::milliseconds interval) {
  backpressure_hook_ = BackpressureHook{
      .hook = std::move(hook), .interval = std::max(interval, std::chrono::milliseconds(1))};
}

void SourceRunner::RequestRebaseline(const std::string& reason, std::uint64_t generation) {
  std::lock_guard lk(mu_);
  if (generation < generation_.load()) return;  // a newer baseline began: it answers this
  rebaselining_ = true;
  if (!rebaseline_reason_) rebaseline_reason_ = reason;
  stream_source_.request_stop();
}

void SourceRunner::AckLoop(std::stop_token stop) {
  while (!stop.stop_requested()) {
    {
      std::unique_lock lk(mu_);
      wake_.wait_for(lk, stop, options_.ack_interval, [] { return false; });
    }
    if (stop.stop_requested()) break;
    TryAck();
    ReportState();
    for (Pipeline* p : pipelines_) {
      const auto status = p->Status();
      options_.observer->OnBufferDepth(status.id, status.buffer_depth, status.buffer_capacity);
    }
  }
}

void SourceRunner::TryAck() {
  std::lock_guard lk(ack_mu_);
  const AckPoint published = frontier_.Get();  // first: see PublishedFrontier
  std::vector<std::optional<AckPoint>> marks;
  marks.reserve(pipelines_.size());
  for (Pipeline* p : pipelines_) marks.emplace_back(p->Watermark(published));
  const auto low = MinimumAckPoint(marks);
  if (!low || low->seq <= last_acked_seq_) return;
  const Position& position = low->position;
  if (!position.has_value()) return;
  try {
    if (last_acked_.has_value() && source_->ComparePositions(position, last_acked_) <= 0) {
      last_acked_seq_ = low->seq;  // not an advance (e.g. re-baseline at an older point)
      return;
    }
    source_->Ack(position);
    last_acked_ = position;
    last_acked_seq_ = low->seq;
    last_acked_text_ = source_->PositionToString(position);
  } catch (const std::exception& e) {
    // Reported once per distinct failure, not at every interval; the next interval tries again
    // (a renewed credential or a healed store may let it through).
    const bool retryable = IsRetryable(e);
    if (last_ack_error_ != e.what()) {
      last_ack_error_ = e.what();
      if (retryable) {
        Logger()->warn("source {}: Ack failed (will retry): {}", id_, e.what());
      } else {
        Logger()->error(
            "source {}: Ack failed ({}): {}; the source cannot release anything until "
            "this is fixed",
            id_, "not retryable", e.what());
      }
      options_.observer->OnError(id_, std::string("Ack failed: ") + e.what(), retryable);
    }
    return;
  }
  last_ack_error_.clear();
  options_.observer->OnAckAdvanced(id_, last_acked_, last_acked_text_);
}

}  // namespace laredo::engine
