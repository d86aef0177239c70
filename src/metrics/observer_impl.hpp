#pragma once

// The observer's state: its metric families and the series it resolved. Shared by the hooks
// (prometheus_observer.cpp) and the resolution code (observer_impl.cpp).

#include <array>
#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "laredo/metrics/prometheus_observer.hpp"

namespace laredo::metrics {

// The series a change touches, resolved once per (pipeline, table).
struct HotSeries {
  Counter applied;
  Counter received;
  Counter filtered;
  Counter dropped;
  Histogram commit_to_apply;
};

inline constexpr std::array kPipelineStates{PipelineState::Pending,   PipelineState::Baseline,
                                            PipelineState::Streaming, PipelineState::Paused,
                                            PipelineState::Error,     PipelineState::Stopped};
inline constexpr std::array kSourceStates{SourceState::Connecting, SourceState::Connected,
                                          SourceState::Streaming,  SourceState::Reconnecting,
                                          SourceState::Paused,     SourceState::Error,
                                          SourceState::Closed};

struct PrometheusObserver::Impl {
  using Clock = std::chrono::steady_clock;
  using StateGauges = std::map<std::string, std::vector<Gauge>, std::less<>>;

  explicit Impl(PrometheusObserverOptions options);

  /// The series of (pipeline, table); lock-free after this thread's first call for them.
  HotSeries& Hot(std::string_view pipeline, const TableIdentifier& table);

  /// One gauge per state, 1 for `current` and 0 for the others, set under `mu` so that two
  /// transitions never leave two states at 1.
  void SetPipelineState(std::string_view pipeline, PipelineState current);
  void SetSourceState(std::string_view source, SourceState current);

  /// When the source started reading `table` for the baseline `pipeline` just completed.
  std::optional<Clock::time_point> BaselineStart(std::string_view pipeline,
                                                 const TableIdentifier& table);

  std::shared_ptr<Registry> registry;
  // Never reused, so a thread's cache entry of a destroyed observer never matches a new one.
  const std::uint64_t id;
  Family<Counter>& applied;
  Family<Counter>& received;
  Family<Counter>& filtered;
  Family<Counter>& invalid_records;
  Family<Histogram>& commit_to_apply;
  Family<Counter>& dropped;
  Family<Counter>& dead_letters;
  Family<Counter>& errors;
  Family<Counter>& baseline_rows;
  Family<Gauge>& baseline_duration;
  Family<Gauge>& baseline_rows_read;
  Family<Gauge>& baseline_rows_estimated;
  Family<Gauge>& buffer_depth;
  Family<Gauge>& buffer_capacity;
  Family<Gauge>& pipeline_state;
  Family<Gauge>& source_state;
  Family<Counter>& reconnects;
  Family<Counter>& acks;
  Family<Gauge>& ack_position;
  Family<Gauge>& ack_time;
  Family<Counter>& rebaselines;
  Family<Counter>& schema_changes;
  Family<Histogram>& apply_duration;
  Family<Gauge>& lag_bytes;
  Family<Gauge>& lag_seconds;
  Family<Counter>& snapshots;
  Family<Gauge>& snapshot_rows;
  Family<Gauge>& snapshot_bytes;
  Family<Gauge>& snapshot_duration;
  Family<Gauge>& snapshot_time;
  Family<Counter>& restores;
  Family<Gauge>& restore_rows;
  Family<Gauge>& restore_duration;

  std::mutex mu;
  std::map<std::string, std::unique_ptr<HotSeries>, std::less<>> hot;
  std::map<std::pair<std::string, TableIdentifier>, Clock::time_point> baseline_starts;
  std::map<std::string, std::string, std::less<>> source_of;      // pipeline -> source (Start)
  std::map<std::string, Histogram, std::less<>> apply_durations;  // by pipeline
  StateGauges pipeline_states;
  StateGauges source_states;
};

}  // namespace laredo::metrics
