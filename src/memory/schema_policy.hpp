#pragma once

#include <vector>

#include "laredo/column_definition.hpp"
#include "laredo/memory/indexed_target.hpp"
#include "laredo/sync_target.hpp"

namespace laredo::memory {

/// How `IndexedTarget` answers a change of its table's columns from `stored` (those of the rows
/// it holds) to `now`: `Error` when an index loses a column (no reload could serve that index),
/// `Continue` when columns were only added (stored rows stay valid: they read an added column as
/// NULL), `ReBaseline` for anything else (dropped, retyped, re-keyed columns). A pure function.
SchemaChangeResponse DecideSchemaChange(const std::vector<IndexDefinition>& indexes,
                                        const std::vector<ColumnDefinition>& stored,
                                        const std::vector<ColumnDefinition>& now);

}  // namespace laredo::memory
