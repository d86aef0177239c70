#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "laredo/column_definition.hpp"
#include "laredo/pg/lsn.hpp"
#include "laredo/pg/source.hpp"
#include "laredo/table_identifier.hpp"
#include "laredo/validation_error.hpp"
#include "pg_connection.hpp"

namespace laredo::pg {

/// Catalog queries of the source, on a normal connection. Pure request/response: no state.

/// Columns of each table that exists (missing tables are absent from the result): every
/// non-dropped, non-generated column in attnum order, which is the order of COPY's output and of
/// pgoutput's tuples.
std::map<TableIdentifier, std::vector<ColumnDefinition>> DiscoverColumns(
    PgConnection& conn, const std::vector<TableIdentifier>& tables);

/// Every problem at once: wal_level, REPLICATION privilege, publication existence (when not
/// managed) and, per table, existence, SELECT privilege, and a primary key or REPLICA IDENTITY
/// FULL. (Whether the publication covers the tables: see publication.hpp.)
std::vector<ValidationError> Validate(PgConnection& conn,
                                      const std::vector<TableIdentifier>& tables,
                                      std::string_view publication, bool manage_publication);

/// Whether the rows a table had when `column` was added read it as a value rather than NULL: it
/// was added with a default (stored as the missing value, or written by a table rewrite) or has
/// one now. True when the column is gone, since nothing can be told then.
bool AddedColumnMayHaveValues(PgConnection& conn, const TableIdentifier& table,
                              std::string_view column);

struct SlotInfo {
  std::optional<Lsn> confirmed_flush;
  std::string wal_status;
  bool active = false;
};
std::optional<SlotInfo> QuerySlotInfo(PgConnection& conn, std::string_view slot);

/// pg_class.reltuples; nullopt when never analysed or the table is missing.
std::optional<std::uint64_t> EstimateRowCount(PgConnection& conn, const TableIdentifier& table);

/// What the server says about the source's lag, in one round trip, by its own clock.
struct ServerLag {
  Lsn current_lsn{};                            // pg_current_wal_lsn()
  std::chrono::system_clock::time_point now{};  // the server's clock_timestamp()
  std::int64_t slot_lag_bytes = 0;              // current - the slot's confirmed_flush_lsn, >= 0
};
ServerLag QueryServerLag(PgConnection& conn, std::string_view slot);

}  // namespace laredo::pg
