#include "memory/row_store.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <string_view>

#include "laredo/error.hpp"
#include "memory/packed_row.hpp"

namespace laredo::memory {
namespace {

std::uint32_t HashKey(std::string_view key) {
  const auto h = std::hash<std::string_view>{}(key);
  return static_cast<std::uint32_t>(h ^ (h >> 32));
}

bool HasUnchanged(const Row& row) {
  return std::any_of(row.values().begin(), row.values().end(),
                     [](const Value& v) { return v.IsUnchanged(); });
}

}  // namespace

RowStore::RowStore(const TableIdentifier& table, const std::vector<ColumnDefinition>& columns,
                   const std::vector<IndexDefinition>& indexes)
    : table_(table), columns_(columns) {
  std::vector<std::string> names;
  std::vector<std::pair<int, std::uint32_t>> keys;
  for (std::size_t i = 0; i < columns.size(); ++i) {
    names.push_back(columns[i].name);
    if (columns[i].primary_key) {
      const int ordinal = columns[i].primary_key_ordinal != 0 ? columns[i].primary_key_ordinal
                                                              : static_cast<int>(i + 1);
      keys.emplace_back(ordinal, static_cast<std::uint32_t>(i));
    }
  }
  if (keys.empty()) {
    throw ConfigError({"IndexedTarget: table " + table.ToString() +
                       " has no primary key; the replica could not tell its rows apart"});
  }
  std::sort(keys.begin(), keys.end());
  names_ = ColumnNames::Make(std::move(names));
  declared_.assign(names_->size(), true);
  std::vector<std::string> problems;
  for (const auto& index : indexes) {
    Secondary s{.definition = index, .columns = {}, .unique = {}, .shadowed = {}, .multi = {}};
    for (const auto& column : index.columns) {
      if (auto i = names_->Find(column)) {
        s.columns.push_back(static_cast<std::uint32_t>(*i));
      } else {
        problems.push_back(fmt::format("index \"{}\" names column \"{}\" that {} lacks", index.name,
                                       column, table.ToString()));
      }
    }
    secondaries_.push_back(std::move(s));
  }
  if (!problems.empty()) throw ConfigError(std::move(problems));
  for (const auto& [ordinal, column] : keys) key_columns_.push_back(column);
}

// ---- encoding -------------------------------------------------------------------------------

const RowStore::RowShape& RowStore::ShapeOf(const Row& row) {
  for (const auto& s : shapes_) {
    if (s.names == row.names()) return s;
  }
  RowShape shape{row.names(), std::vector<int>(names_->size(), -1)};
  for (std::size_t j = 0; j < row.size(); ++j) {
    const std::string& name = (*row.names())[j];
    auto i = names_->Find(name);
    if (!i) {  // a column the source did not announce (e.g. added by a transform): keep it
      auto grown = names_->names();
      grown.push_back(name);
      names_ = ColumnNames::Make(std::move(grown));
      declared_.push_back(false);
      for (auto& s : shapes_) s.table_to_row.push_back(-1);
      shape.table_to_row.push_back(-1);
      i = names_->size() - 1;
    }
    shape.table_to_row[*i] = static_cast<int>(j);
  }
  if (shapes_.size() >= 8) shapes_.erase(shapes_.begin());
  shapes_.push_back(std::move(shape));
  return shapes_.back();
}

std::string RowStore::KeyOfRow(const Row& row, const std::vector<std::uint32_t>& cols,
                               bool* complete) {
  const RowShape& shape = ShapeOf(row);
  std::string key;
  for (auto c : cols) {
    const int j = shape.table_to_row[c];
    if (j < 0 || row.value(static_cast<std::size_t>(j)).IsUnchanged()) {
      if (complete != nullptr) *complete = false;
      return key;
    }
    packed::AppendValue(key, row.value(static_cast<std::size_t>(j)));
  }
  if (complete != nullptr) *complete = true;
  return key;
}

std::string RowStore::PrimaryKeyOf(const Row& row) {
  bool complete = false;
  std::string key = KeyOfRow(row, key_columns_, &complete);
  if (!complete) {
    throw DataError("no_key", fmt::format("row {} lacks a primary-key column of {}", row.ToString(),
                                          table_.ToString()));
  }
  return key;
}

std::unique_ptr<std::uint8_t[]> RowStore::Encode(const Row& row) {
  const RowShape& shape = ShapeOf(row);
  scratch_.clear();
  for (int j : shape.table_to_row) {
    // A marker is never stored: a column nobody knows the value of is absent.
    if (j < 0 || row.value(static_cast<std::size_t>(j)).IsUnchanged()) {
      packed::AppendAbsent(scratch_);
    } else {
      packed::AppendValue(scratch_, row.value(static_cast<std::size_t>(j)));
    }
  }
  return packed::Pack(scratch_, static_cast<std::uint32_t>(shape.table_to_row.size()));
}

std::string RowStore::KeyOfSlotData(const std::uint8_t* data,
                                    const std::vector<std::uint32_t>& cols) {
  std::string key;
  AppendKeyOfSlotData(data, cols, key);
  return key;
}

// Concatenates the encodings of `cols` (in that order) without allocating for the common case of
// keys of up to eight columns.
void RowStore::AppendKeyOfSlotData(const std::uint8_t* data, const std::vector<std::uint32_t>& cols,
                                   std::string& key) {
  constexpr std::size_t kInline = 8;
  std::array<std::string_view, kInline> inline_parts;
  std::vector<std::string_view> heap_parts;
  std::string_view* parts = inline_parts.data();
  if (cols.size() > kInline) {
    heap_parts.resize(cols.size());
    parts = heap_parts.data();
  }
  packed::View(data).ForEach([&](std::uint32_t i, std::string_view encoded) {
    for (std::size_t k = 0; k < cols.size(); ++k) {
      if (cols[k] == i) parts[k] = encoded;
    }
  });
  for (std::size_t k = 0; k < cols.size(); ++k) key.append(parts[k]);
}

Row RowStore::Decode(std::uint32_t slot) const {
  const packed::View view(slots_[slot].get());
  std::vector<Value> values;
  std::vector<std::string> subset;
  bool whole = true;
  values.reserve(names_->size());
  std::uint32_t seen = 0;
  view.ForEach([&](std::uint32_t i, std::string_view encoded) {
    ++seen;
    if (packed::IsAbsent(encoded)) {  // the row came without it (a transform removed it)
      whole = false;
      return;
    }
    values.push_back(packed::DecodeValue(encoded));
    subset.push_back((*names_)[i]);
  });
  // Stored before the table grew: a column added since (ADD COLUMN without a default) reads as
  // NULL, as SELECT * does; one that only some rows carry (added by a transform) stays absent.
  for (std::uint32_t i = seen; i < names_->size(); ++i) {
    if (declared_[i]) {
      values.emplace_back();
      subset.push_back((*names_)[i]);
    } else {
      whole = false;
    }
  }
  if (whole) return Row(names_, std::move(values));
  return Row(ColumnNames::Make(std::move(subset)), std::move(values));
}

// ---- slots and indexes ----------------------------------------------------------------------

std::uint32_t RowStore::FindSlot(const std::string& key) const {
  std::string candidate;  // reused across probes; short keys stay in its inline buffer
  return primary_.Find(HashKey(key), [&](std::uint32_t slot) {
    candidate.clear();
    AppendKeyOfSlotData(slots_[slot].get(), key_columns_, candidate);
    return candidate == key;
  });
}

std::uint32_t RowStore::FindUnique(const Secondary& s, const std::string& key) const {
  return s.unique.Find(HashKey(key), [&](std::uint32_t other) {
    return KeyOfSlotData(slots_[other].get(), s.columns) == key;
  });
}

void RowStore::IndexSecondaries(std::uint32_t slot, bool add) {
  for (auto& s : secondaries_) {
    std::string key = KeyOfSlotData(slots_[slot].get(), s.columns);
    const auto hash = HashKey(key);
    if (!s.definition.unique) {
      if (add) {
        s.multi[std::move(key)].insert(slot);
      } else if (auto it = s.multi.find(key); it != s.multi.end()) {
        it->second.erase(slot);
        if (it->second.empty()) s.multi.erase(it);
      }
      continue;
    }
    const auto holder = FindUnique(s, key);
    if (add) {
      if (holder == SlotIndex::kNone) {
        s.unique.Insert(hash, slot);
      } else if (holder != slot) {
        // The row written last answers lookups; the earlier holder waits behind it.
        s.shadowed[key].insert(holder);
        s.unique.Reassign(hash, holder, slot);
      }
      continue;
    }
    auto shadow = s.shadowed.find(key);
    if (holder == slot) {
      if (shadow != s.shadowed.end()) {
        const auto next = *shadow->second.begin();
        shadow->second.erase(shadow->second.begin());
        if (shadow->second.empty()) s.shadowed.erase(shadow);
        s.unique.Reassign(hash, slot, next);
      } else {
        s.unique.Erase(hash, slot);
      }
    } else if (shadow != s.shadowed.end()) {
      shadow->second.erase(slot);
      if (shadow->second.empty()) s.shadowed.erase(shadow);
    }
  }
}

std::uint32_t RowStore::Store(std::unique_ptr<std::uint8_t[]> data, const std::string& key) {
  std::uint32_t slot = 0;
  row_bytes_ += packed::View(data.get()).size();
  if (!free_slots_.empty()) {
    slot = free_slots_.back();
    free_slots_.pop_back();
    slots_[slot] = std::move(data);
  } else {
    slot = static_cast<std::uint32_t>(slots_.size());
    slots_.push_back(std::move(data));
  }
  primary_.Insert(HashKey(key), slot);
  IndexSecondaries(slot, true);
  ++count_;
  return slot;
}

void RowStore::Replace(std::uint32_t slot, std::unique_ptr<std::uint8_t[]> data) {
  IndexSecondaries(slot, false);
  row_bytes_ -= packed::View(slots_[slot].get()).size();
  row_bytes_ += packed::View(data.get()).size();
  slots_[slot] = std::move(data);
  IndexSecondaries(slot, true);
}

void RowStore::Remove(std::uint32_t slot, const std::string& key) {
  IndexSecondaries(slot, false);
  primary_.Erase(HashKey(key), slot);
  row_bytes_ -= packed::View(slots_[slot].get()).size();
  slots_[slot].reset();
  free_slots_.push_back(slot);
  --count_;
}

// ---- writes ---------------------------------------------------------------------------------

RowStore::Applied RowStore::Upsert(const Row& row, bool listening) {
  const std::string key = PrimaryKeyOf(row);
  auto data = Encode(row);
  Applied applied;
  auto slot = FindSlot(key);
  if (slot == SlotIndex::kNone) {
    slot = Store(std::move(data), key);
  } else {
    if (listening) applied.old_row = Decode(slot);
    Replace(slot, std::move(data));
  }
  if (listening) applied.new_row = Decode(slot);
  return applied;
}

RowStore::Applied RowStore::Update(const Row& new_row, const Row& identity, bool listening) {
  bool identity_has_key = false;
  std::string old_key =
      identity.empty() ? std::string() : KeyOfRow(identity, key_columns_, &identity_has_key);
  if (!identity_has_key) old_key = PrimaryKeyOf(new_row);
  const bool has_unchanged = HasUnchanged(new_row);
  const auto old_slot = FindSlot(old_key);
  if (old_slot == SlotIndex::kNone) {
    if (has_unchanged) {
      throw DataError("unchanged_unknown_row",
                      fmt::format("update of {} row {} keeps unchanged values of a row the "
                                  "replica does not hold",
                                  table_.ToString(), identity.ToString()));
    }
    return Upsert(new_row, listening);  // redelivery, or filtered before
  }
  std::optional<Row> old_row;
  if (has_unchanged || listening) old_row = Decode(old_slot);
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
    Replace(old_slot, Encode(merged));
    if (listening) applied.new_row = Decode(old_slot);
  } else {  // the key changed: the row moves
    Remove(old_slot, old_key);
    applied = Upsert(merged, listening);
  }
  if (listening) applied.old_row = std::move(*old_row);
  return applied;
}

RowStore::Applied RowStore::Delete(const Row& identity, bool listening) {
  const std::string key = PrimaryKeyOf(identity);
  const auto slot = FindSlot(key);
  Applied applied;
  if (slot == SlotIndex::kNone) return applied;  // already gone, or never passed a filter
  if (listening) applied.old_row = Decode(slot);
  Remove(slot, key);
  return applied;
}

void RowStore::AddColumns(const std::vector<ColumnDefinition>& columns) {
  auto names = names_->names();
  for (const auto& c : columns) {
    if (!names_->Find(c.name)) names.push_back(c.name);
  }
  names_ = ColumnNames::Make(std::move(names));
  declared_.resize(names_->size(), false);
  for (const auto& c : columns) declared_[*names_->Find(c.name)] = true;
  shapes_.clear();
  // Positions of existing columns are unchanged (new ones are appended), so indexes stay valid.
  for (auto& s : secondaries_) {
    s.columns.clear();
    for (const auto& column : s.definition.columns) {
      s.columns.push_back(static_cast<std::uint32_t>(*names_->Find(column)));
    }
  }
  columns_ = columns;
}

// ---- reads ----------------------------------------------------------------------------------

std::optional<Row> RowStore::Find(const Row& identity) const {
  // By name, not through the shape cache: callable with readers present.
  std::string key;
  for (auto c : key_columns_) {
    const Value* v = identity.Find((*names_)[c]);
    if (v == nullptr || v->IsUnchanged()) return std::nullopt;
    packed::AppendValue(key, *v);
  }
  const auto slot = FindSlot(key);
  if (slot == SlotIndex::kNone) return std::nullopt;
  return Decode(slot);
}

std::optional<Row> RowStore::Get(const std::vector<Value>& primary_key) const {
  if (primary_key.size() != key_columns_.size()) {
    throw Error("key_shape", fmt::format("primary key has {} columns, {} given",
                                         key_columns_.size(), primary_key.size()));
  }
  std::string key;
  for (const auto& v : primary_key) packed::AppendValue(key, v);
  const auto slot = FindSlot(key);
  if (slot == SlotIndex::kNone) return std::nullopt;
  return Decode(slot);
}

const RowStore::Secondary& RowStore::SecondaryNamed(const std::string& index) const {
  for (const auto& candidate : secondaries_) {
    if (candidate.definition.name == index) return candidate;
  }
  throw Error("no_such_index", "IndexedTarget has no index \"" + index + "\"");
}

std::vector<Row> RowStore::LookupAll(const std::string& index,
                                     const std::vector<Value>& values) const {
  const Secondary& s = SecondaryNamed(index);
  if (values.size() != s.columns.size()) {
    throw Error("key_shape", fmt::format("index \"{}\" has {} columns, {} given", index,
                                         s.columns.size(), values.size()));
  }
  std::string key;
  for (const auto& v : values) packed::AppendValue(key, v);
  std::vector<Row> out;
  if (s.definition.unique) {
    const auto slot = FindUnique(s, key);
    if (slot == SlotIndex::kNone) return out;
    out.push_back(Decode(slot));  // the row written last first
    if (auto it = s.shadowed.find(key); it != s.shadowed.end()) {
      for (auto other : it->second) out.push_back(Decode(other));
    }
  } else if (auto it = s.multi.find(key); it != s.multi.end()) {
    for (auto slot : it->second) out.push_back(Decode(slot));
  }
  return out;
}

std::vector<Row> RowStore::All() const {
  std::vector<Row> out;
  out.reserve(count_);
  ForEach([&](Row row) { out.push_back(std::move(row)); });
  return out;
}

std::size_t RowStore::MemoryUsage() const {
  std::size_t bytes = row_bytes_ + primary_.MemoryBytes() + slots_.capacity() * sizeof(slots_[0]) +
                      free_slots_.capacity() * sizeof(std::uint32_t);
  for (const auto& s : secondaries_) bytes += s.unique.MemoryBytes();
  return bytes;
}

std::size_t RowStore::ShadowedCount() const {
  std::size_t n = 0;
  for (const auto& s : secondaries_) {
    for (const auto& [key, slots] : s.shadowed) n += slots.size();
  }
  return n;
}

}  // namespace laredo::memory
