#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace laredo {

/// One column of a source table, as the source discovered it.
struct ColumnDefinition {
  /// Column name as the source spells it.
  std::string name{};
  /// The source's native type name ("bigint", "timestamp with time zone", "text", ...).
  std::string type{};
  /// Whether the column admits SQL NULL. Default true.
  bool nullable = true;
  /// 1-based position in the table. 0 when the source does not know.
  int ordinal_position = 0;
  /// Whether the column is part of the primary key.
  bool primary_key = false;
  /// 1-based position within the primary key; 0 when not a key column.
  int primary_key_ordinal = 0;
  /// The source's numeric type identifier (a PostgreSQL type OID). 0 when the source has none.
  std::uint32_t type_oid = 0;
  /// Type modifier (PostgreSQL atttypmod: varchar length, numeric precision). -1 when none.
  std::int32_t type_modifier = -1;
  /// Default expression as the source reports it, if any.
  std::optional<std::string> default_value{};

  friend bool operator==(const ColumnDefinition&, const ColumnDefinition&) = default;
};

}  // namespace laredo
