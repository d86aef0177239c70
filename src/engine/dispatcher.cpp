#include "engine/dispatcher.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "laredo/dead_letter.hpp"
#include "laredo/logging.hpp"

namespace laredo::engine {
namespace {
// Changes or rows per hand-off: enough to make the hand-off's lock and wake-up negligible, small
// enough to keep a batch in the caches and the first change's latency low.
constexpr std::size_t kMaxBatch = 256;
}  // namespace

Dispatcher::Dispatcher(std::string source_id, SyncSource& source,
                       const std::vector<Pipeline*>& pipelines,
                       std::shared_ptr<EngineObserver> observer)
    : source_id_(std::move(source_id)),
      source_(source),
      observer_(std::move(observer)),
      pipelines_(pipelines),
      change_pool_(std::make_shared<BatchPool<ChangeEvent>>()),
      row_pool_(std::make_shared<BatchPool<Row>>()) {
  max_batch_ = kMaxBatch;
  for (Pipeline* p : pipelines_) Attach(p, false);
}

void Dispatcher::Attach(Pipeline* p, bool join_later) {
  auto [it, added] = route_index_.try_emplace(p->table(), routes_.size());
  if (added) {
    routes_.push_back(
        Route{.table = p->table(), .pipelines = {}, .joining = {}, .rows = {}, .filled = 0});
    tables_.push_back(p->table());
    spans_.resize(routes_.size());
  }
  auto& route = routes_[it->second];
  (join_later ? route.joining : route.pipelines).push_back(p);
  max_batch_ = std::min(max_batch_, std::max<std::size_t>(1, p->capacity()));
  p->HoldPool(change_pool_);
  p->HoldPool(row_pool_);
}

void Dispatcher::AddPipeline(Pipeline* pipeline) {
  std::lock_guard lk(dispatch_mu_);
  pipelines_.push_back(pipeline);
  Attach(pipeline, true);
}

void Dispatcher::JoinAll() {
  std::lock_guard lk(dispatch_mu_);
  for (Route& route : routes_) {
    route.pipelines.insert(route.pipelines.end(), route.joining.begin(), route.joining.end());
    route.joining.clear();
  }
}

const std::vector<Pipeline*>* Dispatcher::PipelinesOf(const TableIdentifier& table) const {
  const auto it = route_index_.find(table);
  return it == route_index_.end() ? nullptr : &routes_[it->second].pipelines;
}

void Dispatcher::BeginStream(std::stop_token stop) {
  stop_ = std::move(stop);
  hook_ = {};  // a hook left by an earlier Stream call refers to its ended state
  dispatched_ = false;
}

std::uint16_t Dispatcher::RouteOf(const TableIdentifier& table) {
  // Sources mostly emit runs of one table: compare before hashing.
  if (cached_route_ != ChangeBatch::kNoRoute && routes_[cached_route_].table == table) {
    return cached_route_;
  }
  const auto it = route_index_.find(table);
  if (it == route_index_.end()) {
    // Once per table: a publication of every table would otherwise log every change.
    if (ignored_.insert(table).second) {
      Logger()->warn("source {}: changes of {} are ignored: no pipeline replicates it", source_id_,
                     table.ToString());
    }
    return ChangeBatch::kNoRoute;
  }
  cached_route_ = it->second;
  return cached_route_;
}

void Dispatcher::OnChange(ChangeEvent event) { OnChanges(std::span<ChangeEvent>(&event, 1)); }

void Dispatcher::OnChanges(std::span<ChangeEvent> events) {
  while (!events.empty() && !stop_.stop_requested()) {
    const std::size_t n = std::min(events.size(), max_batch_);
    if (!DispatchBatch(events.first(n))) return;
    events = events.subspan(n);
  }
}

void Dispatcher::SetBarriersOpen(bool open) {
  std::lock_guard lk(dispatch_mu_);
  if (!open) {
    reopen_after_.reset();  // a baseline replaces whatever was cut short
    reloading_.clear();     // and every reload
  }
  barriers_open_ = open && !reopen_after_;
}

void Dispatcher::CutShortLocked(const Position& last) {
  barriers_open_ = false;
  if (!reopen_after_ || source_.ComparePositions(last, *reopen_after_) > 0) reopen_after_ = last;
}

bool Dispatcher::StartStreamAt(std::uint64_t seq, Position position,
                               const std::function<bool()>& enqueue) {
  std::lock_guard lk(dispatch_mu_);
  if (!enqueue()) return false;
  frontier_.Publish(seq, std::move(position));  // after it reached every pipeline, as always
  reopen_after_.reset();
  barriers_open_ = true;
  return true;
}

std::optional<AckPoint> Dispatcher::InjectBarrier(const SnapshotStep& step,
                                                  const std::vector<Pipeline*>& pipelines) {
  std::lock_guard lk(dispatch_mu_);
  if (!barriers_open_ || !reloading_.empty()) return std::nullopt;
  const std::stop_token never;  // weight 0: the push does not wait
  for (Pipeline* p : pipelines) p->Enqueue(SnapshotStep{step}, never);
  AckPoint point = frontier_.Get();
  // A progress report made since the last dispatch (a keepalive of an idle stream) is a later
  // position with the same contents: taking the snapshot there lets an idle source's
  // acknowledgement, and so its slot, move on with each snapshot.
  const AckPoint progress = progress_.Get();
  if (progress.seq == point.seq && progress.position.has_value() &&
      (!point.position.has_value() ||
       source_.ComparePositions(progress.position, point.position) > 0)) {
    point.position = progress.position;
  }
  return point;
}

bool Dispatcher::DispatchBatch(std::span<ChangeEvent> events) {
  std::lock_guard lk(dispatch_mu_);
  auto batch = change_pool_->Acquire();
  auto& items = batch->items;
  auto& routes = batch->routes;
  const auto n = static_cast<std::uint32_t>(events.size());
  batch->first_seq = next_seq_ + 1;
  next_seq_ += n;
  routes.resize(n);
  std::fill(spans_.begin(), spans_.end(), Span{});
  for (std::uint32_t k = 0; k < n; ++k) {
    // Swapped, not moved: the source gets spent events back whose storage it can reuse.
    if (k < items.size()) {
      std::swap(items[k], events[k]);
    } else {
      items.push_back(std::move(events[k]));
    }
    const std::uint16_t route = RouteOf(items[k].table);
    routes[k] = route;
    if (route == ChangeBatch::kNoRoute) continue;
    Span& span = spans_[route];
    if (span.count++ == 0) span.begin = k;
    span.end = k + 1;
  }
  items.resize(n);  // spent events beyond this batch are freed here, where they were allocated
  try {
    for (std::uint16_t r = 0; r < routes_.size(); ++r) {
      const Span& span = spans_[r];
      if (span.count == 0) continue;
      for (Pipeline* p : routes_[r].pipelines) {
        ChangeRun run{.batch = batch.Clone(),
                      .begin = span.begin,
                      .end = span.end,
                      .count = span.count,
                      .route = r,
                      .last_seq = batch->first_seq + span.end - 1};
        if (!p->Enqueue(std::move(run), stop_, &hook_)) {
          CutShortLocked(items[n - 1].position);  // some pipelines have this batch, others not
          return false;                           // never published
        }
      }
    }
  } catch (...) {  // a backpressure hook failed (the stream is lost)
    CutShortLocked(items[n - 1].position);
    throw;
  }
  if (reopen_after_ && source_.ComparePositions(items[n - 1].position, *reopen_after_) >= 0) {
    reopen_after_.reset();
    barriers_open_ = true;
  }
  // Published after it reached every pipeline (see PublishedFrontier).
  frontier_.Publish(batch->first_seq + n - 1, items[n - 1].position);
  if (!dispatched_) {
    dispatched_ = true;
    if (on_first_dispatch) on_first_dispatch();
  }
  return true;
}

void Dispatcher::OnSchemaChange(const TableIdentifier& table,
                                std::vector<ColumnDefinition> table_columns) {
  const auto* route = PipelinesOf(table);
  if (route == nullptr) return;
  std::lock_guard lk(dispatch_mu_);
  columns[table] = table_columns;  // a later re-baseline begins with these
  auto shared = std::make_shared<const std::vector<ColumnDefinition>>(std::move(table_columns));
  for (Pipeline* p : *route) {
    if (!p->Enqueue(SchemaChangeStep{.columns = shared}, stop_, &hook_)) {
      barriers_open_ = false;
      return;
    }
  }
}

void Dispatcher::OnReloadBegin(const TableIdentifier& table,
                               std::vector<ColumnDefinition> table_columns) {
  const auto it = route_index_.find(table);
  if (it == route_index_.end()) return;
  std::lock_guard lk(dispatch_mu_);
  Route& joined = routes_[it->second];
  // Pipelines added for this table join here: from this point on they get what the others get.
  joined.pipelines.insert(joined.pipelines.end(), joined.joining.begin(), joined.joining.end());
  joined.joining.clear();
  const auto* route = &joined.pipelines;
  if (std::find(reloading_.begin(), reloading_.end(), table) == reloading_.end()) {
    reloading_.push_back(table);
  }
  columns[table] = table_columns;
  auto shared = std::make_shared<const std::vector<ColumnDefinition>>(std::move(table_columns));
  for (Pipeline* p : *route) {
    if (!p->Enqueue(ReloadBeginStep{.columns = shared}, stop_, &hook_)) return;
  }
}

void Dispatcher::OnReloadRows(const TableIdentifier& table, std::span<Row> rows) {
  const std::uint16_t r = RouteOf(table);
  if (r == ChangeBatch::kNoRoute) return;
  std::lock_guard lk(dispatch_mu_);
  Route& route = routes_[r];
  for (Row& row : rows) {
    if (!PutRow(route, std::move(row), stop_, &hook_)) return;
  }
  (void)FlushRows(route, stop_, &hook_);  // in order with the changes that follow
}

void Dispatcher::OnReloadEnd(const TableIdentifier& table) {
  const auto* route = PipelinesOf(table);
  if (route == nullptr) return;
  std::lock_guard lk(dispatch_mu_);
  for (Pipeline* p : *route) {
    if (!p->Enqueue(ReloadEndStep{}, stop_, &hook_)) return;
  }
  std::erase(reloading_, table);
}

void Dispatcher::OnReloadCheckpoint(const TableIdentifier& table, std::string checkpoint) {
  const auto* route = PipelinesOf(table);
  if (route == nullptr) return;
  std::lock_guard lk(dispatch_mu_);
  for (Pipeline* p : *route) {
    if (!p->Enqueue(ReloadCheckpointStep{.checkpoint = checkpoint}, stop_, &hook_)) return;
  }
}

void Dispatcher::NoteReloading(const TableIdentifier& table) {
  std::lock_guard lk(dispatch_mu_);
  if (std::find(reloading_.begin(), reloading_.end(), table) == reloading_.end()) {
    reloading_.push_back(table);
  }
}

void Dispatcher::OnInvalidRecord(InvalidRecord record) {
  if (stop_.stop_requested()) return;
  std::string position_text;
  if (record.position.has_value()) {
    try {
      position_text = source_.PositionToString(record.position);
    } catch (const std::exception& e) {
      position_text = std::string("<unprintable: ") + e.what() + ">";
    }
  }
  const std::string message =
      fmt::format("invalid record{}{}: {}", record.table ? " for " + record.table->ToString() : "",
                  position_text.empty() ? "" : " at " + position_text, record.error);
  Logger()->error("source {}: {}", source_id_, message);
  observer_->OnError(source_id_, message, false);
  observer_->OnInvalidRecord(source_id_, record.table);

  // One letter per sink: the pipelines of its table, or every pipeline when the table is unknown
  // (pipelines often share one sink; the letter must not be written once per pipeline).
  DeadLetter letter{.table = record.table.value_or(TableIdentifier{}),
                    .operation = "invalid_record",
                    .position = position_text,
                    .payload = std::move(record.payload),
                    .error = std::move(record.error),
                    .attempts = 1,
                    .time = std::chrono::system_clock::now()};
  const std::vector<Pipeline*>* route = record.table ? PipelinesOf(*record.table) : nullptr;
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
    std::lock_guard lk(dispatch_mu_);
    frontier_.Publish(NextSeq(), std::move(record.position));
    dispatched_ = true;
  }
}

void Dispatcher::SetBackpressureHook(std::function<void()> hook,
                                     std::chrono::milliseconds interval) {
  hook_ = BackpressureHook{.hook = std::move(hook),
                           .interval = std::max(interval, std::chrono::milliseconds(1))};
}

bool Dispatcher::AddBaselineRow(const TableIdentifier& table, Row row,
                                const std::stop_token& stop) {
  const std::uint16_t r = RouteOf(table);
  if (r == ChangeBatch::kNoRoute) return true;
  return PutRow(routes_[r], std::move(row), stop, nullptr);
}

bool Dispatcher::PutRow(Route& route, Row row, const std::stop_token& stop,
                        const BackpressureHook* hook) {
  if (!route.rows) route.rows = row_pool_->Acquire();
  auto& items = route.rows->items;
  // Assigned over a spent row: its memory is freed here, one old row per new one.
  if (route.filled < items.size()) {
    items[route.filled] = std::move(row);
  } else {
    items.push_back(std::move(row));
  }
  if (++route.filled < max_batch_) return true;
  return FlushRows(route, stop, hook);
}

bool Dispatcher::FlushRows(Route& route, const std::stop_token& stop,
                           const BackpressureHook* hook) {
  if (!route.rows) return true;
  route.rows->items.resize(route.filled);
  route.filled = 0;
  auto batch = std::move(route.rows);
  if (batch->items.empty()) return true;
  for (Pipeline* p : route.pipelines) {
    if (!p->Enqueue(BaselineRows{.rows = batch.Clone()}, stop, hook)) return false;
  }
  return true;
}

bool Dispatcher::FlushBaselineRows(const std::stop_token& stop) {
  for (Route& route : routes_) {
    if (!FlushRows(route, stop)) return false;
  }
  return true;
}

void Dispatcher::DropBaselineRows() {
  for (Route& route : routes_) {
    route.rows.Reset();
    route.filled = 0;
  }
}

}  // namespace laredo::engine
