#pragma once

#include <optional>
#include <string>

#include "laredo/table_identifier.hpp"

namespace laredo {

/// One problem found by `SyncSource::ValidateTables`. Sources report every problem at once.
struct ValidationError {
  /// The table concerned; empty for source-wide problems (e.g. "wal_level is not logical").
  std::optional<TableIdentifier> table{};
  /// Stable, machine-readable code, e.g. "TABLE_NOT_FOUND", "NO_PRIMARY_KEY".
  std::string code{};
  /// What is wrong and how to fix it.
  std::string message{};

  /// "public.users: TABLE_NOT_FOUND: ..." for logs and `ConfigError`.
  [[nodiscard]] std::string ToString() const {
    return (table ? table->ToString() + ": " : std::string()) + code + ": " + message;
  }
};

}  // namespace laredo
