#pragma once

#include <compare>
#include <cstddef>
#include <functional>
#include <string>

namespace laredo {

/// Names one table of a source: `{schema, table}`. Value type; compares and hashes by both parts.
struct TableIdentifier {
  std::string schema{};
  std::string table{};

  /// "schema.table".
  [[nodiscard]] std::string ToString() const { return schema + "." + table; }

  friend auto operator<=>(const TableIdentifier&, const TableIdentifier&) = default;
  friend bool operator==(const TableIdentifier&, const TableIdentifier&) = default;
};

/// Shorthand: `laredo::Table("public", "users")`.
inline TableIdentifier Table(std::string schema, std::string table) {
  return TableIdentifier{std::move(schema), std::move(table)};
}

}  // namespace laredo

template <>
struct std::hash<laredo::TableIdentifier> {
  std::size_t operator()(const laredo::TableIdentifier& t) const noexcept {
    std::size_t h = std::hash<std::string>{}(t.schema);
    return h ^ (std::hash<std::string>{}(t.table) + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2));
  }
};
