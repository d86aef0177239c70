// How the observer resolves its series: once per (pipeline, table) for the per-change hooks, cached
// per thread; under the mutex for the rare hooks.
#include "metrics/observer_impl.hpp"

#include <atomic>

namespace laredo::metrics {
namespace {

// Per thread, the last few (observer, pipeline, table) -> series resolutions. Pipelines apply on
// threads of their own, so a pipeline worker hits its one entry on every change after the first;
// the dispatcher thread (drops) cycles through a few.
struct HotCacheEntry {
  std::uint64_t owner = 0;
  std::string pipeline;
  TableIdentifier table;
  HotSeries* series = nullptr;
};
struct HotCache {
  std::array<HotCacheEntry, 4> entries;
  std::size_t next = 0;
};
thread_local HotCache hot_cache;

std::atomic<std::uint64_t> next_instance_id{1};

template <class Gauges, class State, std::size_t N>
void SetState(std::mutex& mu, Gauges& gauges, Family<Gauge>& family, std::string_view id_value,
              const std::array<State, N>& states, State current) {
  std::lock_guard lk(mu);
  auto it = gauges.find(id_value);
  if (it == gauges.end()) {
    std::vector<Gauge> series;
    for (const auto state : states) {
      series.push_back(family.WithLabels({std::string(id_value), std::string(ToString(state))}));
    }
    it = gauges.emplace(std::string(id_value), std::move(series)).first;
  }
  for (std::size_t i = 0; i < N; ++i) it->second[i].Set(states[i] == current ? 1.0 : 0.0);
}

}  // namespace

PrometheusObserver::Impl::Impl(PrometheusObserverOptions options)
    : registry(options.registry ? std::move(options.registry) : std::make_shared<Registry>()),
      id(next_instance_id.fetch_add(1)),
      applied(registry->AddCounter("laredo_changes_applied_total",
                                   "Changes a pipeline is done with: given to its target, or "
                                   "kept from it by its filters.",
                                   {"pipeline", "table"})),
      received(registry->AddCounter(
          "laredo_changes_received_total",
          "Stream changes that reached a pipeline, before its filters and transforms.",
          {"pipeline", "table"})),
      filtered(registry->AddCounter(
          "laredo_changes_filtered_total",
          "Stream changes the pipeline's filters or transforms kept from its target (counted in "
          "laredo_changes_applied_total too).",
          {"pipeline", "table"})),
      invalid_records(registry->AddCounter(
          "laredo_invalid_records_total",
          "Records the source could not decode (dead-lettered), by source.", {"source"})),
      commit_to_apply(registry->AddHistogram(
          "laredo_commit_to_apply_seconds",
          "Time from the source transaction's commit to the change being applied to the "
          "target (changes whose source reports a commit time).",
          {"pipeline", "table"}, std::move(options.commit_to_apply_buckets))),
      dropped(registry->AddCounter("laredo_changes_dropped_total",
                                   "Buffered changes discarded by the DropOldest buffer policy.",
                                   {"pipeline", "table"})),
      dead_letters(registry->AddCounter("laredo_dead_letters_total",
                                        "Dead letters written, by operation.",
                                        {"pipeline", "table", "operation"})),
      errors(registry->AddCounter("laredo_errors_total",
                                  "Failures in a source or pipeline, by whether the engine "
                                  "retries.",
                                  {"component", "will_retry"})),
      baseline_rows(registry->AddCounter("laredo_baseline_rows_total",
                                         "Baseline rows delivered to the target by completed "
                                         "baselines (after filters).",
                                         {"pipeline", "table"})),
      baseline_duration(registry->AddGauge(
          "laredo_baseline_duration_seconds",
          "Duration of the pipeline's last completed baseline, from the source starting to read "
          "the table.",
          {"pipeline", "table"})),
      baseline_rows_read(registry->AddGauge("laredo_baseline_rows_read",
                                            "Rows the source read so far in the table's current "
                                            "or last baseline.",
                                            {"source", "table"})),
      baseline_rows_estimated(
          registry->AddGauge("laredo_baseline_rows_estimated",
                             "The source's estimate of the table's baseline size, when it has one.",
                             {"source", "table"})),
      buffer_depth(registry->AddGauge("laredo_buffer_depth",
                                      "Changes in the pipeline's buffer, sampled every ACK "
                                      "interval.",
                                      {"pipeline"})),
      buffer_capacity(registry->AddGauge("laredo_buffer_capacity",
                                         "Capacity of the pipeline's buffer, in changes.",
                                         {"pipeline"})),
      pipeline_state(registry->AddGauge("laredo_pipeline_state",
                                        "1 for the pipeline's current state, 0 for the others.",
                                        {"pipeline", "state"})),
      source_state(registry->AddGauge("laredo_source_state",
                                      "1 for the source's current state, 0 for the others.",
                                      {"source", "state"})),
      reconnects(registry->AddCounter("laredo_source_reconnects_total",
                                      "Times the source started retrying (entered Reconnecting); "
                                      "each attempt is in laredo_errors_total.",
                                      {"source"})),
      acks(registry->AddCounter("laredo_acks_total",
                                "Acknowledgements the engine sent to the source.", {"source"})),
      ack_position(registry->AddGauge("laredo_ack_position_bytes",
                                      "Last acknowledged position as a WAL byte offset "
                                      "(sources whose positions are PostgreSQL LSNs).",
                                      {"source"})),
      ack_time(registry->AddGauge("laredo_last_ack_timestamp_seconds",
                                  "Unix time of the last acknowledgement sent to the source.",
                                  {"source"})),
      rebaselines(registry->AddCounter("laredo_rebaselines_total",
                                       "Re-baselines of the source's targets.", {"source"})),
      schema_changes(registry->AddCounter("laredo_schema_changes_total",
                                          "Schema changes answered by the target, by action.",
                                          {"pipeline", "table", "action"})),
      apply_duration(registry->AddHistogram(
          "laredo_apply_duration_seconds",
          "Duration of one target call (a batch of changes), without the time in the buffer.",
          {"pipeline"}, std::move(options.apply_duration_buckets))),
      lag_bytes(registry->AddGauge("laredo_source_lag_bytes",
                                   "Bytes between the origin's newest position and what the "
                                   "source acknowledged (PostgreSQL: WAL bytes the slot retains).",
                                   {"source"})),
      lag_seconds(registry->AddGauge("laredo_source_lag_seconds",
                                     "How far behind the origin the source's delivered changes "
                                     "are, when the source can tell.",
                                     {"source"})),
      snapshots(registry->AddCounter("laredo_snapshots_total",
                                     "Engine snapshots, by result (completed, failed).",
                                     {"result"})),
      snapshot_rows(
          registry->AddGauge("laredo_snapshot_rows", "Rows in the last completed snapshot.", {})),
      snapshot_bytes(registry->AddGauge(
          "laredo_snapshot_bytes", "Bytes of the table files of the last completed snapshot.", {})),
      snapshot_duration(registry->AddGauge("laredo_snapshot_duration_seconds",
                                           "How long the last completed snapshot took.", {})),
      snapshot_time(registry->AddGauge("laredo_last_snapshot_timestamp_seconds",
                                       "Unix time the last snapshot was committed.", {})),
      restores(registry->AddCounter(
          "laredo_snapshot_restores_total",
          "Starts of a source from a snapshot, by result (restored, skipped: baselined instead).",
          {"source", "result"})),
      restore_rows(registry->AddGauge("laredo_snapshot_restore_rows",
                                      "Rows the source's targets restored at start.", {"source"})),
      restore_duration(registry->AddGauge("laredo_snapshot_restore_duration_seconds",
                                          "How long the source's restore at start took.",
                                          {"source"})) {}

HotSeries& PrometheusObserver::Impl::Hot(std::string_view pipeline, const TableIdentifier& table) {
  for (auto& entry : hot_cache.entries) {
    if (entry.owner == id && entry.table == table && entry.pipeline == pipeline) {
      return *entry.series;
    }
  }
  HotSeries* series = nullptr;
  {
    const auto table_text = table.ToString();
    std::string key(pipeline);
    key += '\x1f';  // not in a table name printed by a source; keeps the key unambiguous
    key += table_text;
    std::lock_guard lk(mu);
    auto& slot = hot[key];
    if (!slot) {
      const std::vector<std::string> labels{std::string(pipeline), table_text};
      slot = std::make_unique<HotSeries>(
          HotSeries{applied.WithLabels(labels), received.WithLabels(labels),
                    filtered.WithLabels(labels), dropped.WithLabels(labels),
                    commit_to_apply.WithLabels(labels)});
    }
    series = slot.get();
  }
  auto& entry = hot_cache.entries[hot_cache.next];
  hot_cache.next = (hot_cache.next + 1) % hot_cache.entries.size();
  entry.owner = id;
  entry.pipeline.assign(pipeline);
  entry.table = table;
  entry.series = series;
  return *series;
}

void PrometheusObserver::Impl::SetPipelineState(std::string_view pipeline, PipelineState current) {
  SetState(mu, pipeline_states, pipeline_state, pipeline, kPipelineStates, current);
}

void PrometheusObserver::Impl::SetSourceState(std::string_view source, SourceState current) {
  if (current == SourceState::Reconnecting) {
    // The engine reports changes of state only, so entering Reconnecting is one retry episode.
    reconnects.WithLabels({std::string(source)}).Inc();
  }
  SetState(mu, source_states, source_state, source, kSourceStates, current);
}

// When the source started reading `table` for `pipeline`: the source known from
// OnPipelineAdded; without it (an engine that did not report it), the source the default pipeline
// id ("source/schema.table") names, else the latest start of the table.
std::optional<PrometheusObserver::Impl::Clock::time_point> PrometheusObserver::Impl::BaselineStart(
    std::string_view pipeline, const TableIdentifier& table) {
  std::lock_guard lk(mu);
  if (const auto known = source_of.find(pipeline); known != source_of.end()) {
    const auto it = baseline_starts.find({known->second, table});
    if (it == baseline_starts.end()) return std::nullopt;
    return it->second;
  }
  std::optional<Clock::time_point> latest;
  for (const auto& [key, start] : baseline_starts) {
    if (key.second != table) continue;
    const auto& source = key.first;
    if (pipeline.size() > source.size() && pipeline.substr(0, source.size()) == source &&
        pipeline[source.size()] == '/') {
      return start;
    }
    if (!latest || start > *latest) latest = start;
  }
  return latest;
}

}  // namespace laredo::metrics
