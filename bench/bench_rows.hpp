#pragma once

// The benchmark table of every laredo benchmark:
// (id bigint primary key, a int, b text of ~100 bytes, c timestamptz, d small jsonb).

#include <cstdint>
#include <string>
#include <vector>

#include "laredo/laredo.hpp"

namespace laredo::bench {

inline std::vector<ColumnDefinition> BenchColumns() {
  return {
      {.name = "id",
       .type = "bigint",
       .nullable = false,
       .ordinal_position = 1,
       .primary_key = true,
       .primary_key_ordinal = 1,
       .type_oid = 20},
      {.name = "a", .type = "integer", .ordinal_position = 2, .type_oid = 23},
      {.name = "b", .type = "text", .ordinal_position = 3, .type_oid = 25},
      {.name = "c", .type = "timestamp with time zone", .ordinal_position = 4, .type_oid = 1184},
      {.name = "d", .type = "jsonb", .ordinal_position = 5, .type_oid = 3802},
  };
}

/// Rows share one names object, as a real source's rows do.
class BenchRows {
 public:
  BenchRows()
      : names_(ColumnNames::Make({"id", "a", "b", "c", "d"})),
        key_names_(ColumnNames::Make({"id"})) {}
  /// The identity row of an update or delete (key columns only, as with REPLICA IDENTITY DEFAULT).
  [[nodiscard]] Row Key(std::int64_t id) const { return Row(key_names_, {Value(id)}); }
  [[nodiscard]] Row Make(std::int64_t id, std::int64_t version = 0) const {
    std::string b = "row " + std::to_string(id) + " v" + std::to_string(version) + " ";
    b.resize(100, 'x');
    return Row(names_, {Value(id), Value(id % 1000 + version), Value(std::move(b)),
                        Value::TimestampTz(1'700'000'000'000'000 + id * 1000),
                        Value::Json(R"({"k": )" + std::to_string(id % 97) + "}")});
  }

 private:
  std::shared_ptr<const ColumnNames> names_;
  std::shared_ptr<const ColumnNames> key_names_;
};

}  // namespace laredo::bench
