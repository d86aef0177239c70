#include "baseline_plan.hpp"

#include <limits>

namespace laredo::pg {

std::vector<CopyJob> SplitByBlocks(const CopyJob& job, std::uint64_t table_blocks,
                                   std::uint64_t chunk_blocks) {
  // A ctid's block number is 32 bits: a range must start inside it.
  constexpr std::uint64_t kMaxBlock = std::numeric_limits<std::uint32_t>::max();
  if (chunk_blocks == 0 || table_blocks <= chunk_blocks) return {job};
  std::vector<CopyJob> out;
  for (std::uint64_t first = 0; first < table_blocks && first <= kMaxBlock; first += chunk_blocks) {
    auto& part = out.emplace_back(job);
    part.blocks = BlockRange{.first = static_cast<std::uint32_t>(first), .end = std::nullopt};
    const std::uint64_t end = first + chunk_blocks;
    if (end < table_blocks && end <= kMaxBlock) part.blocks->end = static_cast<std::uint32_t>(end);
  }
  return out;
}

}  // namespace laredo::pg
