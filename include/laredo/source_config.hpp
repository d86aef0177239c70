#pragma once

#include <map>
#include <string>
#include <vector>

#include "laredo/table_identifier.hpp"

namespace laredo {

/// What the engine hands `SyncSource::Init`: the tables this source serves (every table some
/// pipeline of the source is bound to, each once, in a stable order).
struct SourceConfig {
  std::vector<TableIdentifier> tables{};
  /// Free-form settings a source may read; the engine passes them through untouched.
  std::map<std::string, std::string> options{};
};

}  // namespace laredo
