#include "publisher_state.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "laredo/error.hpp"
#include "laredo/error_codes.hpp"
#include "laredo/logging.hpp"
#include "record_encoder.hpp"

namespace laredo::kinesis::publish {

void ReplicaState::SetColumns(const TableIdentifier& table,
                              const std::vector<ColumnDefinition>& columns) {
  Table& t = tables_[table];
  t.columns = columns;
  std::vector<std::string> names = contract::KeyColumnNames(columns);
  if (names.empty()) {
    for (const auto& column : columns) names.push_back(column.name);
  }
  if (!t.rows.empty() && names != t.key_columns) {
    // A key change of a table that holds rows: its rows are keyed anew.
    auto rows = std::move(t.rows);
    t.rows.clear();
    t.key_columns = std::move(names);
    for (auto& [key, row] : rows) t.rows[KeyOf(t, *row)] = std::move(row);
    return;
  }
  t.key_columns = std::move(names);
}

ReplicaState::Table& ReplicaState::TableOf(const TableIdentifier& table) {
  const auto it = tables_.find(table);
  if (it == tables_.end()) {
    throw FatalError(
        codes::kNotInitialized,
        fmt::format("kinesis publisher: {} has no columns (no OnInit)", table.ToString()));
  }
  return it->second;
}

std::string ReplicaState::KeyOf(const Table& t, const Row& row) {
  // Length-prefixed values: no two different keys have the same text.
  std::string key;
  for (const auto& name : t.key_columns) {
    const Value* value = row.Find(name);
    const std::string text = value == nullptr || value->IsNull() ? "\x01" : value->ToString();
    key += std::to_string(text.size());
    key += ':';
    key += text;
  }
  return key;
}

void ReplicaState::BeginBaseline(const TableIdentifier& table) {
  Table& t = TableOf(table);
  t.rows.clear();
  t.complete = false;
  t.loading = true;
}

void ReplicaState::CompleteBaseline(const TableIdentifier& table) {
  Table& t = TableOf(table);
  t.complete = true;
  t.loading = false;
}

void ReplicaState::AbandonBaseline(const TableIdentifier& table) {
  Table& t = TableOf(table);
  t.rows.clear();
  t.complete = false;
  t.loading = false;
}

void ReplicaState::ApplyBaselineRow(const TableIdentifier& table, Row row) {
  Upsert(TableOf(table), std::move(row));
}

void ReplicaState::Upsert(Table& t, Row row) {
  std::string key = KeyOf(t, row);
  t.rows[std::move(key)] = std::make_shared<const Row>(std::move(row));
}

void ReplicaState::Update(const TableIdentifier& table, Table& t, const Row& row,
                          const Row* identity) {
  const std::string new_key = KeyOf(t, row);
  std::string old_key = new_key;
  if (identity != nullptr && !identity->empty()) old_key = KeyOf(t, *identity);
  auto old_it = t.rows.find(old_key);
  if (old_it == t.rows.end() && old_key != new_key) old_it = t.rows.find(new_key);
  Row merged = row;
  bool unresolved = false;
  for (std::size_t i = 0; i < merged.size(); ++i) {
    if (!merged.value(i).IsUnchanged()) continue;
    const Value* prev =
        old_it == t.rows.end() ? nullptr : old_it->second->Find((*merged.names())[i]);
    if (prev != nullptr && !prev->IsUnchanged()) {
      merged.value(i) = *prev;
    } else {
      merged.value(i) = Value();
      unresolved = true;
    }
  }
  if (unresolved) {
    ++anomalies_;
    Logger()->warn(
        "kinesis publisher: update of {} with unchanged columns for a row it does not hold; "
        "stored with them NULL (the state is incomplete)",
        table.ToString());
  }
  if (old_it != t.rows.end() && old_it->first != new_key) t.rows.erase(old_it);
  t.rows[new_key] = std::make_shared<const Row>(std::move(merged));
}

void ReplicaState::Delete(const TableIdentifier& table, Table& t, const Row& identity) {
  // A delete of a row not held is no harm (a replay after a restart writes deletes again).
  if (t.rows.erase(KeyOf(t, identity)) == 0) {
    Logger()->debug("kinesis publisher: delete of a row of {} it does not hold", table.ToString());
  }
}

bool ReplicaState::Apply(const TableIdentifier& table, const TargetChange& change) {
  Table& t = TableOf(table);
  // An unloaded table (a resumed pipeline) holds nothing to change: a restore or a baseline
  // replaces its rows.
  if (!t.complete && !t.loading) return false;
  switch (change.action) {
    case ChangeAction::Insert:
      if (change.row != nullptr) Upsert(t, *change.row);
      break;
    case ChangeAction::Update:
      if (change.row != nullptr) Update(table, t, *change.row, change.identity);
      break;
    case ChangeAction::Delete:
      if (change.identity != nullptr) Delete(table, t, *change.identity);
      break;
    case ChangeAction::Truncate:
      t.rows.clear();
      break;
  }
  return true;
}

std::vector<TableIdentifier> ReplicaState::IncompleteTables() const {
  std::vector<TableIdentifier> out;
  for (const auto& [id, t] : tables_) {
    if (!t.complete) out.push_back(id);
  }
  return out;
}

std::vector<TableIdentifier> ReplicaState::UnloadedTables() const {
  std::vector<TableIdentifier> out;
  for (const auto& [id, t] : tables_) {
    if (!t.complete && !t.loading) out.push_back(id);
  }
  return out;
}

std::map<TableIdentifier, std::vector<ColumnDefinition>> ReplicaState::Columns() const {
  std::map<TableIdentifier, std::vector<ColumnDefinition>> out;
  for (const auto& [id, t] : tables_) out.emplace(id, t.columns);
  return out;
}

StateCopy ReplicaState::Copy() const {
  StateCopy copy;
  for (const auto& [id, t] : tables_) {
    TableCopy& table = copy[id];
    table.columns = t.columns;
    table.rows.reserve(t.rows.size());
    for (const auto& [key, row] : t.rows) table.rows.push_back(row);
  }
  return copy;
}

std::size_t ReplicaState::RowCount(const TableIdentifier& table) const {
  const auto it = tables_.find(table);
  return it == tables_.end() ? 0 : it->second.rows.size();
}

}  // namespace laredo::kinesis::publish
