#include "chunk_window.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>
#include <utility>

#include "laredo/error.hpp"
#include "laredo/error_codes.hpp"

namespace laredo::pg {

ChunkWindow::ChunkWindow(TableIdentifier table, std::vector<std::string> key_columns)
    : table_(std::move(table)), key_columns_(std::move(key_columns)) {}

std::string ChunkWindow::KeyOf(const Row& row) const {
  std::string key;
  for (const auto& column : key_columns_) {
    const Value* v = row.Find(column);
    if (v == nullptr) {
      throw DataError(codes::kRowShape, fmt::format("{}: a chunk row without key column \"{}\"",
                                                    table_.ToString(), column));
    }
    // Length-prefixed, so that ("a,b", "c") and ("a", "b,c") stay two keys.
    const auto text = v->ToString();
    key += fmt::format("{}:{}|", text.size(), text);
  }
  return key;
}

Row ChunkWindow::KeyRow(const Row& row) const {
  Row key;
  for (const auto& column : key_columns_) key[column] = row.at(column);
  return key;
}

void ChunkWindow::SetRows(std::vector<Row> rows) {
  for (const auto& row : rows) (void)KeyOf(row);  // every row has its key, before anything moves
  rows_ = std::move(rows);
}

void ChunkWindow::OnChange(const ChangeEvent& change) {
  if (change.table != table_) return;
  switch (change.action) {
    case ChangeAction::Truncate:
      truncated_ = true;
      return;
    case ChangeAction::Delete:
      changed_.insert(KeyOf(change.old_values));
      return;
    case ChangeAction::Insert:
      changed_.insert(KeyOf(change.new_values));
      return;
    case ChangeAction::Update: {
      // A key change moves the row: both keys were touched.
      if (!change.old_values.empty()) changed_.insert(KeyOf(change.old_values));
      const auto key = KeyOf(change.new_values);
      changed_.insert(key);
      const auto& values = change.new_values.values();
      if (std::any_of(values.begin(), values.end(),
                      [](const Value& v) { return v.IsUnchanged(); })) {
        read_again_.insert_or_assign(key, KeyRow(change.new_values));
      }
      return;
    }
  }
}

ChunkWindow::Result ChunkWindow::Close() {
  if (closed_) throw std::logic_error("ChunkWindow::Close called twice");
  closed_ = true;
  Result out;
  if (!truncated_) {
    for (auto& row : rows_) {
      if (!changed_.contains(KeyOf(row))) out.rows.push_back(std::move(row));
    }
  }
  rows_.clear();
  for (auto& [key, row] : read_again_) out.read_again.push_back(std::move(row));
  return out;
}

}  // namespace laredo::pg
