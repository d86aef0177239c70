#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "binary_values.hpp"
#include "laredo/column_definition.hpp"
#include "laredo/row.hpp"
#include "laredo/table_identifier.hpp"

namespace laredo::pg {

/// Heap blocks [first, end) of a table, by ctid; no `end`: to the end of the table.
struct BlockRange {
  std::uint32_t first = 0;
  std::optional<std::uint32_t> end;
};

/// One table of a baseline and its discovered columns (COPY reads exactly these, in this order).
struct CopyJob {
  TableIdentifier table;
  std::vector<ColumnDefinition> columns;
  /// The publication's row filter, applied to the baseline too; empty for every row.
  std::string row_filter;
  /// Per column, the type whose text form its values have (see `TypeResolver`); empty: each
  /// column's own type.
  std::vector<std::uint32_t> value_types;
  /// Per column, how its values decode from `COPY ... (FORMAT binary)` (see
  /// `TypeResolver::BinaryTypeOf`); empty: the table is copied in text format.
  std::vector<BinaryType> binary_types;
  /// Only the rows in these blocks (see `SplitByBlocks`); empty: the whole table.
  std::optional<BlockRange> blocks;
};

using CopyRowSink = std::function<void(const TableIdentifier&, Row)>;

/// The columns of `tables` as the catalog holds them inside the exported `snapshot` (see
/// `DiscoverColumns`; tables that do not exist there are absent).
std::map<TableIdentifier, std::vector<ColumnDefinition>> ColumnsAtSnapshot(
    std::string_view conninfo, std::string_view snapshot,
    const std::vector<TableIdentifier>& tables);

/// Reads every table of `jobs` with `COPY ... TO STDOUT` inside the exported `snapshot`
/// (REPEATABLE READ + SET TRANSACTION SNAPSHOT), on up to `parallelism` connections that all
/// import it. With several connections, a plain table larger than `chunk_bytes` is split into
/// block ranges of about that size (`SplitByBlocks`) on PostgreSQL 14 and later, so one large
/// table is copied in parallel too; its rows then reach `sink` in no particular order. Values go
/// through the same type mapping as the stream.
///
/// Threading: `sink` is called on the calling thread only, one row at a time, whatever the
/// parallelism (worker threads hand rows over in batches through a bounded queue, so a slow sink
/// slows the copy instead of buffering the tables). Returns early once `stop` is triggered.
/// Throws `RetryableError` on connection loss and the classified error otherwise.
void CopySnapshot(std::string_view conninfo, std::string_view snapshot,
                  const std::vector<CopyJob>& jobs, int parallelism, std::uint64_t chunk_bytes,
                  std::stop_token stop, const CopyRowSink& sink);

}  // namespace laredo::pg
