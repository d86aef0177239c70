#include "memory/schema_policy.hpp"

#include <fmt/format.h>

#include <string>

namespace laredo::memory {

SchemaChangeResponse DecideSchemaChange(const std::vector<IndexDefinition>& indexes,
                                        const std::vector<ColumnDefinition>& stored,
                                        const std::vector<ColumnDefinition>& now) {
  auto find = [&](const std::string& name) -> const ColumnDefinition* {
    for (const auto& c : now) {
      if (c.name == name) return &c;
    }
    return nullptr;
  };
  for (const auto& index : indexes) {
    for (const auto& column : index.columns) {
      if (find(column) == nullptr) {
        return {
            SchemaChangeResponse::Action::Error,
            fmt::format("index \"{}\" needs column \"{}\", which was dropped", index.name, column)};
      }
    }
  }
  for (const auto& c : stored) {
    const ColumnDefinition* column = find(c.name);
    if (column == nullptr || column->type != c.type || column->primary_key != c.primary_key ||
        column->primary_key_ordinal != c.primary_key_ordinal) {
      return {SchemaChangeResponse::Action::ReBaseline,
              "column " + c.name + " was dropped or changed"};
    }
  }
  return {SchemaChangeResponse::Action::Continue, "columns added"};
}

}  // namespace laredo::memory
