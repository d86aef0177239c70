#pragma once

#include <cstdint>
#include <string>

#include "laredo/position.hpp"

namespace laredo {
class SyncSource;
}

namespace laredo::engine {

/// What a pipeline may ask of the source runner that feeds it: its one way upstream.
/// Implementations are thread-safe (pipelines call from their worker threads).
class PipelineUpstream {
 public:
  virtual ~PipelineUpstream() = default;
  /// The pipeline's error policy stops the source (`whole_engine`: the engine).
  virtual void StopFromPipeline(const std::string& reason, bool whole_engine) = 0;
  /// The pipeline needs a fresh baseline; `generation` is that of the baseline it applied last.
  virtual void RequestRebaseline(const std::string& reason, std::uint64_t generation) = 0;
  /// The pipeline needs its table read again, and a reload of that table alone will do
  /// (`ReloadableSource`): true when one was asked for, false when the source cannot reload it
  /// (then a re-baseline is the answer).
  virtual bool RequestReload(const TableIdentifier& table, const std::string& reason) = 0;
  /// The pipeline's readiness or failure changed (wakes `Engine::AwaitReady`).
  virtual void PipelineStatusChanged() = 0;
  /// The position as the source prints it; never throws (a failure is printed instead).
  virtual std::string PrintPosition(const Position& position) = 0;
  /// The source itself, for `TargetChange::source`.
  virtual SyncSource* Source() = 0;
};

}  // namespace laredo::engine
