#pragma once

#include <cstddef>
#include <memory>
#include <vector>

#include "contract.hpp"

namespace laredo::kinesis::contract {

/// One manifest table as the decoders use it. Immutable once made.
struct Decoder::Table {
  TableIdentifier id;
  std::vector<ColumnDefinition> columns;
  std::vector<ColumnKind> kinds;
  std::shared_ptr<const ColumnNames> names;
  std::vector<std::size_t> key_columns;
};

}  // namespace laredo::kinesis::contract
