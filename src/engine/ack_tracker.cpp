#include "engine/ack_tracker.hpp"

namespace laredo::engine {

std::optional<AckPoint> MinimumAckPoint(const std::vector<std::optional<AckPoint>>& watermarks) {
  std::optional<AckPoint> lowest;
  for (const auto& mark : watermarks) {
    if (mark && (!lowest || mark->seq < lowest->seq)) lowest = mark;
  }
  return lowest;
}

}  // namespace laredo::engine
