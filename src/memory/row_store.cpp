#include "memory/row_store.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "laredo/error.hpp"
#include "laredo/error_codes.hpp"
#include "laredo/memory/key.hpp"

namespace laredo::memory {
namespace {

std::vector<std::string> NamesOf(const std::vector<ColumnDefinition>& columns) {
  std::vector<std::string> names;
  names.reserve(columns.size());
  for (const auto& c : columns) names.push_back(c.name);
  return names;
}

// Key column positions in key-ordinal order (declaration order when ordinals are missing).
std::vector<std::uint32_t> KeyColumns(const TableIdentifier& table,
                                      const std::vector<ColumnDefinition>& columns) {
  std::vector<std::pair<int, std::uint32_t>> keys;
  for (std::size_t i = 0; i < columns.size(); ++i) {
    if (!columns[i].primary_key) continue;
    const int ordinal = columns[i].primary_key_ordinal != 0 ? columns[i].primary_key_ordinal
                                                            : static_cast<int>(i + 1);
    keys.emplace_back(ordinal, static_cast<std::uint32_t>(i));
  }
  if (keys.empty()) {
    throw ConfigError({"IndexedTarget: table " + table.ToString() +
                       " has no primary key; the replica could not tell its rows apart"});
  }
  std::sort(keys.begin(), keys.end());
  std::vector<std::uint32_t> out;
  for (const auto& [ordinal, column] : keys) out.push_back(column);
  return out;
}

bool HasUnchanged(const Row& row) {
  return std::any_of(row.values().begin(), row.values().end(),
                     [](const Value& v) { return v.IsUnchanged(); });
}

}  // namespace

RowStore::RowStore(const TableIdentifier& table, const std::vector<ColumnDefinition>& columns,
                   const std::vector<IndexDefinition>& indexes)
    : table_(table),
      columns_(columns),
      codec_(NamesOf(columns)),
      primary_(KeyColumns(table, columns)) {
  std::vector<std::string> problems;
  for (const auto& index : indexes) {
    std::vector<std::uint32_t> positions;
    for (const auto& column : index.columns) {
      if (auto i = codec_.names().Find(column)) {
        positions.push_back(static_cast<std::uint32_t>(*i));
      } else {
        problems.push_back(fmt::format("index \"{}\" names column \"{}\" that {} lacks", index.name,
                                       column, table.ToString()));
      }
    }
    secondaries_.emplace_back(index, std::move(positions));
  }
  if (!problems.empty()) throw ConfigError(std::move(problems));
}

// ---- writes ---------------------------------------------------------------------------------

RowStore::Applied RowStore::Upsert(const Row& row, bool listening) {
  const std::string key = PrimaryKeyOf(row);
  const std::string_view bytes = codec_.Encode(row);
  Applied applied;
  auto slot = primary_.Find(key, Rows());
  if (slot == SlotIndex::kNone) {
    slot = Store(bytes, key);
  } else {
    if (listening) applied.old_row = codec_.Decode(storage_.Data(slot));
    Replace(slot, bytes);
  }
  if (listening) applied.new_row = codec_.Decode(storage_.Data(slot));
  return applied;
}

RowStore::Applied RowStore::Update(const Row& new_row, const Row& identity, bool listening) {
  std::string old_key;
  if (identity.empty() || !codec_.KeyOfRow(identity, primary_.columns(), old_key)) {
    old_key = PrimaryKeyOf(new_row);
  }
  const bool has_unchanged = HasUnchanged(new_row);
  const auto old_slot = primary_.Find(old_key, Rows());
  if (old_slot == SlotIndex::kNone) {
    if (has_unchanged) {
      throw DataError(codes::kUnchangedUnknownRow,
                      fmt::format("update of {} row {} keeps unchanged values of a row the "
                                  "replica does not hold",
                                  table_.ToString(), identity.ToString()));
    }
    return Upsert(new_row, listening);  // redelivery, or filtered before
  }
  std::optional<Row> old_row;
  if (has_unchanged || listening) old_row = codec_.Decode(storage_.Data(old_slot));
  // Columns the source did not send (unchanged TOAST values) keep their stored value.
  std::optional<Row> merged_storage;
  if (has_unchanged) {
    merged_storage = new_row;
    for (std::size_t i = 0; i < merged_storage->size(); ++i) {
      Value& value = merged_storage->value(i);
      if (!value.IsUnchanged()) continue;
      if (const Value* previous = old_row->Find((*merged_storage->names())[i])) value = *previous;
    }
  }
  const Row& merged = has_unchanged ? *merged_storage : new_row;
  const std::string new_key = PrimaryKeyOf(merged);
  Applied applied;
  if (new_key == old_key) {
    Replace(old_slot, codec_.Encode(merged));
    if (listening) applied.new_row = codec_.Decode(storage_.Data(old_slot));
  } else {  // the key changed: the row moves
    Remove(old_slot, old_key);
    applied = Upsert(merged, listening);
  }
  if (listening) applied.old_row = std::move(*old_row);
  return applied;
}

RowStore::Applied RowStore::Delete(const Row& identity, bool listening) {
  const std::string key = PrimaryKeyOf(identity);
  const auto slot = primary_.Find(key, Rows());
  Applied applied;
  if (slot == SlotIndex::kNone) return applied;  // already gone, or never passed a filter
  if (listening) applied.old_row = codec_.Decode(storage_.Data(slot));
  Remove(slot, key);
  return applied;
}

void RowStore::AddColumns(const std::vector<ColumnDefinition>& columns) {
  codec_.AddColumns(NamesOf(columns));
  // Positions of existing columns are unchanged (new ones are appended), so indexes stay valid;
  // an index column first seen as undeclared is now a declared one at the same position.
  for (auto& s : secondaries_) {
    std::vector<std::uint32_t> positions;
    for (const auto& column : s.definition().columns) {
      positions.push_back(static_cast<std::uint32_t>(*codec_.names().Find(column)));
    }
    s.SetColumns(std::move(positions));
  }
  columns_ = columns;
}

std::string RowStore::PrimaryKeyOf(const Row& row) {
  std::string key;
  if (!codec_.KeyOfRow(row, primary_.columns(), key)) {
    throw DataError(codes::kNoKey, fmt::format("row {} lacks a primary-key column of {}",
                                               row.ToString(), table_.ToString()));
  }
  return key;
}

std::uint32_t RowStore::Store(std::string_view bytes, const std::string& key) {
  const auto slot = storage_.Add(bytes);
  primary_.Insert(key, slot);
  for (auto& s : secondaries_) s.Add(slot, Rows());
  return slot;
}

void RowStore::Replace(std::uint32_t slot, std::string_view bytes) {
  for (auto& s : secondaries_) s.Remove(slot, Rows());
  storage_.Replace(slot, codec_.SizeOf(storage_.Data(slot)), bytes);
  for (auto& s : secondaries_) s.Add(slot, Rows());
}

void RowStore::Remove(std::uint32_t slot, const std::string& key) {
  for (auto& s : secondaries_) s.Remove(slot, Rows());
  primary_.Erase(key, slot);
  storage_.Remove(slot, codec_.SizeOf(storage_.Data(slot)));
}

// ---- reads ----------------------------------------------------------------------------------

std::optional<Row> RowStore::DecodeIf(std::uint32_t slot) const {
  if (slot == SlotIndex::kNone) return std::nullopt;
  return codec_.Decode(storage_.Data(slot));
}

std::optional<Row> RowStore::Find(const Row& identity) const {
  std::string key;  // by name, not through the codec's caches: callable with readers present
  if (!codec_.KeyOfRowByName(identity, primary_.columns(), key)) return std::nullopt;
  return DecodeIf(primary_.Find(key, Rows()));
}

std::optional<Row> RowStore::Get(const std::vector<Value>& primary_key) const {
  if (primary_key.size() != primary_.columns().size()) {
    throw Error(codes::kKeyShape, fmt::format("primary key has {} columns, {} given",
                                              primary_.columns().size(), primary_key.size()));
  }
  return DecodeIf(primary_.Find(EncodeKey(primary_key), Rows()));
}

const SecondaryIndex& RowStore::SecondaryNamed(const std::string& index) const {
  for (const auto& candidate : secondaries_) {
    if (candidate.definition().name == index) return candidate;
  }
  throw Error(codes::kNoSuchIndex, "IndexedTarget has no index \"" + index + "\"");
}

std::vector<Row> RowStore::LookupAll(const std::string& index, const std::vector<Value>& values,
                                     std::size_t limit) const {
  const SecondaryIndex& s = SecondaryNamed(index);
  if (values.size() != s.columns().size()) {
    throw Error(codes::kKeyShape, fmt::format("index \"{}\" has {} columns, {} given", index,
                                              s.columns().size(), values.size()));
  }
  std::vector<Row> out;
  s.ForEachMatch(EncodeKey(values), Rows(), [&](std::uint32_t slot) {
    out.push_back(codec_.Decode(storage_.Data(slot)));
    return out.size() < limit;
  });
  return out;
}

std::vector<Row> RowStore::All() const {
  std::vector<Row> out;
  out.reserve(count());
  ForEach([&](Row row) { out.push_back(std::move(row)); });
  return out;
}

std::size_t RowStore::MemoryUsage() const {
  std::size_t bytes = storage_.MemoryUsage() + primary_.MemoryBytes() + codec_.MemoryUsage();
  for (const auto& s : secondaries_) bytes += s.MemoryBytes();
  return bytes;
}

}  // namespace laredo::memory
