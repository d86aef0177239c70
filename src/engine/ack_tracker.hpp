#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <utility>
#include <vector>

#include "laredo/change_event.hpp"

namespace laredo::engine {

/// A dispatch sequence number and the source position at that number. Sequence numbers are the
/// engine's own total order of what a source dispatched; the ACK is computed on them, so no
/// position type needs to be understood. An empty `position` means "no position yet". It is a
/// value, not a pointer to the event, so publishing it never touches a reference count the workers
/// also touch.
struct AckPoint {
  std::uint64_t seq = 0;
  Position position;
};

/// The newest item that reached every pipeline of a source. Written by the source thread after it
/// queued an item everywhere; read by the ACK thread before it asks the pipelines for their
/// watermarks, so every item at or before it is either queued in or confirmed by each pipeline.
/// It is also the source thread's record of where a retried Stream continues (`Position()`), so
/// the position is stored once per change, moved in, never copied.
class PublishedFrontier {
 public:
  /// Source thread only.
  void Publish(std::uint64_t seq, Position position) {
    Position old;  // freed outside the lock
    std::lock_guard lk(mu_);
    point_.seq = seq;
    old = std::exchange(point_.position, std::move(position));
  }
  /// Any thread.
  [[nodiscard]] AckPoint Get() const {
    std::lock_guard lk(mu_);
    return point_;
  }
  /// Source thread only: the only writer reads without the lock.
  [[nodiscard]] const Position& position() const noexcept { return point_.position; }

 private:
  mutable std::mutex mu_;
  AckPoint point_;
};

/// The minimum of the pipelines' watermarks (nullopt entries have left the computation); nullopt
/// when no pipeline takes part, so nothing is acknowledged on nobody's behalf.
std::optional<AckPoint> MinimumAckPoint(const std::vector<std::optional<AckPoint>>& watermarks);

}  // namespace laredo::engine
