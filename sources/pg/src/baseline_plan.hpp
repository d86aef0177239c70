#pragma once

#include <cstdint>
#include <vector>

#include "baseline_copy.hpp"

namespace laredo::pg {

/// `job` as one job per range of `chunk_blocks` heap blocks of a table of `table_blocks` blocks,
/// so that several connections can copy one large table (PostgreSQL 14 and later read a ctid
/// range with a TID range scan, without scanning the rest). The ranges cover every block once,
/// in order; the last one is open-ended, so blocks the table gained since `table_blocks` was read
/// are copied too (the snapshot decides which of their rows are visible). A table of at most
/// `chunk_blocks` blocks (or `chunk_blocks == 0`) stays one job. Pure.
[[nodiscard]] std::vector<CopyJob> SplitByBlocks(const CopyJob& job, std::uint64_t table_blocks,
                                                 std::uint64_t chunk_blocks);

}  // namespace laredo::pg
