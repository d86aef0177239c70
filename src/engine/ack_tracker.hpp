#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "laredo/change_event.hpp"

namespace laredo::engine {

/// A dispatch sequence number and the event that carries the source position at that number.
/// Sequence numbers are the engine's own total order of what a source dispatched; the ACK is
/// computed on them so no position type needs to be understood, and the position is looked up
/// only when an ACK is sent. `carrier` is null for "no position yet".
struct AckPoint {
  std::uint64_t seq = 0;
  std::shared_ptr<const ChangeEvent> carrier;
};

/// The newest item that reached every pipeline of a source. Written by the source thread after it
/// queued an item everywhere; read by the ACK thread before it asks the pipelines for their
/// watermarks, so every item at or before it is either queued in or confirmed by each pipeline.
class PublishedFrontier {
 public:
  void Publish(AckPoint point) {
    std::lock_guard lk(mu_);
    point_ = std::move(point);
  }
  [[nodiscard]] AckPoint Get() const {
    std::lock_guard lk(mu_);
    return point_;
  }

 private:
  mutable std::mutex mu_;
  AckPoint point_;
};

/// The minimum of the pipelines' watermarks (nullopt entries have left the computation); nullopt
/// when no pipeline takes part, so nothing is acknowledged on nobody's behalf.
std::optional<AckPoint> MinimumAckPoint(const std::vector<std::optional<AckPoint>>& watermarks);

/// A synthetic event that only carries `position` (baseline ends, resumed positions).
std::shared_ptr<const ChangeEvent> PositionCarrier(Position position);

}  // namespace laredo::engine
