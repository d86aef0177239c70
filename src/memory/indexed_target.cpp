#include "laredo/memory/indexed_target.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <map>
#include <mutex>
#include <shared_mutex>
#include <unordered_map>
#include <unordered_set>

#include "laredo/error.hpp"
#include "memory/packed_row.hpp"
#include "memory/slot_index.hpp"

namespace laredo::memory {
namespace {

std::uint32_t HashKey(std::string_view key) {
  const auto h = std::hash<std::string_view>{}(key);
  return static_cast<std::uint32_t>(h ^ (h >> 32));
}

struct Secondary {
  IndexDefinition definition;
  std::vector<std::uint32_t> columns;
  SlotIndex unique;                                                          // unique indexes
  std::unordered_map<std::string, std::unordered_set<std::uint32_t>> multi;  // non-unique ones
};

// Where each table column sits in rows that share one ColumnNames object.
struct RowShape {
  std::shared_ptr<const ColumnNames> names;  // keeps the pointer we compare against alive
  std::vector<int> table_to_row;             // -1: the row lacks that column
};

using Listeners = std::vector<std::pair<std::uint64_t, ChangeListener>>;

}  // namespace

struct IndexedTarget::Impl {
  IndexedTargetOptions options;
  mutable std::shared_mutex mu;
  std::optional<TableIdentifier> table;
  std::vector<ColumnDefinition> columns;
  std::shared_ptr<const ColumnNames> names;
  std::vector<std::uint32_t> key_columns;
  std::vector<Secondary> secondaries;
  std::vector<std::unique_ptr<std::uint8_t[]>> slots;
  std::vector<std::uint32_t> free_slots;
  SlotIndex primary;
  std::size_t count = 0;
  std::size_t row_bytes = 0;
  bool baseline_complete = false;
  std::vector<RowShape> shapes;  // small cache: a source's rows share a few ColumnNames objects
  std::string scratch;

  std::mutex listeners_mu;
  std::shared_ptr<const Listeners> listeners = std::make_shared<const Listeners>();
  std::atomic<bool> has_listeners{false};
  std::uint64_t next_listener_id = 1;

  // ---- encoding -----------------------------------------------------------------------------
  const RowShape& ShapeOf(const Row& row) {
    for (const auto& s : shapes) {
      if (s.names == row.names()) return s;
    }
    RowShape shape{row.names(), std::vector<int>(names->size(), -1)};
    for (std::size_t j = 0; j < row.size(); ++j) {
      const std::string& name = (*row.names())[j];
      auto i = names->Find(name);
      if (!i) {  // a column the source did not announce (e.g. added by a transform): keep it
        auto grown = names->names();
        grown.push_back(name);
        names = ColumnNames::Make(std::move(grown));
        for (auto& s : shapes) s.table_to_row.push_back(-1);
        shape.table_to_row.push_back(-1);
        i = names->size() - 1;
      }
      shape.table_to_row[*i] = static_cast<int>(j);
    }
    if (shapes.size() >= 8) shapes.erase(shapes.begin());
    shapes.push_back(std::move(shape));
    return shapes.back();
  }

  std::string KeyOfRow(const Row& row, const std::vector<std::uint32_t>& cols, bool* complete) {
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

  std::string PrimaryKeyOf(const Row& row) {
    bool complete = false;
    std::string key = KeyOfRow(row, key_columns, &complete);
    if (!complete) {
      throw DataError("no_key", fmt::format("row {} lacks a primary-key column of {}",
                                            row.ToString(), table->ToString()));
    }
    return key;
  }

  std::unique_ptr<std::uint8_t[]> Encode(const Row& row) {
    const RowShape& shape = ShapeOf(row);
    scratch.clear();
    for (int j : shape.table_to_row) {
      if (j < 0) {
        packed::AppendAbsent(scratch);
      } else {
        packed::AppendValue(scratch, row.value(static_cast<std::size_t>(j)));
      }
    }
    return packed::Pack(scratch, static_cast<std::uint32_t>(shape.table_to_row.size()));
  }

  static std::string KeyOfSlotData(const std::uint8_t* data,
                                   const std::vector<std::uint32_t>& cols) {
    std::string key;
    AppendKeyOfSlotData(data, cols, key);
    return key;
  }

  // Concatenates the encodings of `cols` (in that order) without allocating for the common case
  // of keys of up to eight columns.
  static void AppendKeyOfSlotData(const std::uint8_t* data, const std::vector<std::uint32_t>& cols,
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

  Row Decode(std::uint32_t slot) const {
    const packed::View view(slots[slot].get());
    std::vector<Value> values;
    std::vector<std::string> subset;
    bool whole = view.column_count() == names->size();
    values.reserve(view.column_count());
    view.ForEach([&](std::uint32_t i, std::string_view encoded) {
      if (packed::IsAbsent(encoded)) {
        whole = false;
        return;
      }
      values.push_back(packed::DecodeValue(encoded));
      subset.push_back((*names)[i]);
    });
    if (whole) return Row(names, std::move(values));
    return Row(ColumnNames::Make(std::move(subset)), std::move(values));
  }

  // ---- slots and indexes --------------------------------------------------------------------
  std::uint32_t FindSlot(const std::string& key) const {
    std::string candidate;  // reused across probes; short keys stay in its inline buffer
    return primary.Find(HashKey(key), [&](std::uint32_t slot) {
      candidate.clear();
      AppendKeyOfSlotData(slots[slot].get(), key_columns, candidate);
      return candidate == key;
    });
  }

  void IndexSecondaries(std::uint32_t slot, bool add) {
    for (auto& s : secondaries) {
      std::string key = KeyOfSlotData(slots[slot].get(), s.columns);
      const auto hash = HashKey(key);
      if (s.definition.unique) {
        if (add) {
          // Last writer wins while the source briefly holds two rows with one key.
          const auto holder = s.unique.Find(hash, [&](std::uint32_t other) {
            return KeyOfSlotData(slots[other].get(), s.columns) == key;
          });
          if (holder == SlotIndex::kNone) {
            s.unique.Insert(hash, slot);
          } else {
            s.unique.Reassign(hash, holder, slot);
          }
        } else {
          s.unique.Erase(hash, slot);
        }
      } else if (add) {
        s.multi[std::move(key)].insert(slot);
      } else if (auto it = s.multi.find(key); it != s.multi.end()) {
        it->second.erase(slot);
        if (it->second.empty()) s.multi.erase(it);
      }
    }
  }

  std::uint32_t Store(std::unique_ptr<std::uint8_t[]> data, const std::string& key) {
    std::uint32_t slot = 0;
    row_bytes += packed::View(data.get()).size();
    if (!free_slots.empty()) {
      slot = free_slots.back();
      free_slots.pop_back();
      slots[slot] = std::move(data);
    } else {
      slot = static_cast<std::uint32_t>(slots.size());
      slots.push_back(std::move(data));
    }
    primary.Insert(HashKey(key), slot);
    IndexSecondaries(slot, true);
    ++count;
    return slot;
  }

  void Replace(std::uint32_t slot, std::unique_ptr<std::uint8_t[]> data) {
    IndexSecondaries(slot, false);
    row_bytes -= packed::View(slots[slot].get()).size();
    row_bytes += packed::View(data.get()).size();
    slots[slot] = std::move(data);
    IndexSecondaries(slot, true);
  }

  void Remove(std::uint32_t slot, const std::string& key) {
    IndexSecondaries(slot, false);
    primary.Erase(HashKey(key), slot);
    row_bytes -= packed::View(slots[slot].get()).size();
    slots[slot].reset();
    free_slots.push_back(slot);
    --count;
  }

  void ClearRows() {
    slots.clear();
    slots.shrink_to_fit();
    free_slots.clear();
    primary.Clear();
    for (auto& s : secondaries) {
      s.unique.Clear();
      s.multi.clear();
    }
    count = 0;
    row_bytes = 0;
  }

  /// What a write did, for listeners: filled only when someone listens.
  struct Applied {
    std::optional<Row> old_row;
    std::optional<Row> new_row;
  };

  /// Insert-or-replace by the row's key.
  Applied Upsert(const Row& row, bool listening) {
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

  Applied Update(const Row& new_row, const Row& identity, bool listening) {
    bool identity_has_key = false;
    std::string old_key =
        identity.empty() ? std::string() : KeyOfRow(identity, key_columns, &identity_has_key);
    if (!identity_has_key) old_key = PrimaryKeyOf(new_row);
    const auto old_slot = FindSlot(old_key);
    if (old_slot == SlotIndex::kNone)
      return Upsert(new_row, listening);  // redelivery, or filtered before
    const bool has_unchanged = std::any_of(new_row.values().begin(), new_row.values().end(),
                                           [](const Value& v) { return v.IsUnchanged(); });
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

  Applied Delete(const Row& identity, bool listening) {
    const std::string key = PrimaryKeyOf(identity);
    const auto slot = FindSlot(key);
    Applied applied;
    if (slot == SlotIndex::kNone) return applied;  // already gone, or never passed a filter
    if (listening) applied.old_row = Decode(slot);
    Remove(slot, key);
    return applied;
  }

  void CheckTable(const TableIdentifier& t) const {
    if (!table || *table != t) {
      throw Error("wrong_table", fmt::format("IndexedTarget holds {}, not {}",
                                             table ? table->ToString() : "no table", t.ToString()));
    }
  }

  void Notify(const std::optional<Row>& old_row, const std::optional<Row>& new_row) {
    std::shared_ptr<const Listeners> current;
    {
      std::lock_guard lk(listeners_mu);
      current = listeners;
    }
    for (const auto& [id, listener] : *current) listener(old_row, new_row);
  }
  bool Listening() const { return has_listeners.load(std::memory_order_acquire); }
};

IndexedTarget::IndexedTarget(IndexedTargetOptions options) : impl_(std::make_unique<Impl>()) {
  for (auto& index : options.indexes) AddIndex(std::move(index));
}

IndexedTarget::~IndexedTarget() = default;

void IndexedTarget::AddIndex(IndexDefinition index) {
  std::unique_lock lk(impl_->mu);
  if (index.name.empty() || index.columns.empty()) {
    throw ConfigError({"IndexedTarget: an index needs a name and at least one column"});
  }
  for (const auto& existing : impl_->options.indexes) {
    if (existing.name == index.name) {
      throw ConfigError({"IndexedTarget: index \"" + index.name + "\" defined twice"});
    }
  }
  impl_->options.indexes.push_back(std::move(index));
}

std::uint64_t IndexedTarget::AddListener(ChangeListener listener) {
  std::lock_guard lk(impl_->listeners_mu);
  auto next = std::make_shared<Listeners>(*impl_->listeners);
  const auto id = impl_->next_listener_id++;
  next->emplace_back(id, std::move(listener));
  impl_->listeners = std::move(next);
  impl_->has_listeners.store(true, std::memory_order_release);
  return id;
}

void IndexedTarget::RemoveListener(std::uint64_t id) {
  std::lock_guard lk(impl_->listeners_mu);
  auto next = std::make_shared<Listeners>(*impl_->listeners);
  std::erase_if(*next, [&](const auto& entry) { return entry.first == id; });
  impl_->has_listeners.store(!next->empty(), std::memory_order_release);
  impl_->listeners = std::move(next);
}

void IndexedTarget::OnInit(const TableIdentifier& table,
                           const std::vector<ColumnDefinition>& columns) {
  std::unique_lock lk(impl_->mu);
  auto& d = *impl_;
  if (d.table && *d.table != table) {
    throw ConfigError({fmt::format("IndexedTarget holds one table: bound to {} and {}",
                                   d.table->ToString(), table.ToString())});
  }
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
  auto new_names = ColumnNames::Make(std::move(names));
  std::vector<Secondary> secondaries;
  std::vector<std::string> problems;
  for (const auto& index : d.options.indexes) {
    Secondary s{.definition = index, .columns = {}, .unique = {}, .multi = {}};
    for (const auto& column : index.columns) {
      if (auto i = new_names->Find(column)) {
        s.columns.push_back(static_cast<std::uint32_t>(*i));
      } else {
        problems.push_back(fmt::format("index \"{}\" names column \"{}\" that {} lacks", index.name,
                                       column, table.ToString()));
      }
    }
    secondaries.push_back(std::move(s));
  }
  if (!problems.empty()) throw ConfigError(std::move(problems));
  d.table = table;
  d.columns = columns;
  d.names = std::move(new_names);
  d.key_columns.clear();
  for (const auto& [ordinal, column] : keys) d.key_columns.push_back(column);
  d.secondaries = std::move(secondaries);
  d.shapes.clear();
  d.ClearRows();  // a baseline follows
  d.baseline_complete = false;
}

void IndexedTarget::OnBaselineRow(const TableIdentifier& table, const Row& row) {
  OnInsert(table, row);
}

void IndexedTarget::OnBaselineComplete(const TableIdentifier& table) {
  std::unique_lock lk(impl_->mu);
  impl_->CheckTable(table);
  impl_->baseline_complete = true;
}

void IndexedTarget::OnInsert(const TableIdentifier& table, const Row& row) {
  std::unique_lock lk(impl_->mu);
  impl_->CheckTable(table);
  const bool listening = impl_->Listening();
  auto applied = impl_->Upsert(row, listening);
  lk.unlock();
  if (listening) impl_->Notify(applied.old_row, applied.new_row);
}

void IndexedTarget::OnUpdate(const TableIdentifier& table, const Row& new_row,
                             const Row& identity) {
  std::unique_lock lk(impl_->mu);
  impl_->CheckTable(table);
  const bool listening = impl_->Listening();
  auto applied = impl_->Update(new_row, identity, listening);
  lk.unlock();
  if (listening) impl_->Notify(applied.old_row, applied.new_row);
}

void IndexedTarget::OnDelete(const TableIdentifier& table, const Row& identity) {
  std::unique_lock lk(impl_->mu);
  impl_->CheckTable(table);
  const bool listening = impl_->Listening();
  auto applied = impl_->Delete(identity, listening);
  lk.unlock();
  if (listening && applied.old_row) impl_->Notify(applied.old_row, std::nullopt);
}

void IndexedTarget::OnTruncate(const TableIdentifier& table) {
  std::unique_lock lk(impl_->mu);
  impl_->CheckTable(table);
  std::vector<Row> removed;
  if (impl_->Listening()) {
    removed.reserve(impl_->count);
    for (std::uint32_t slot = 0; slot < impl_->slots.size(); ++slot) {
      if (impl_->slots[slot]) removed.push_back(impl_->Decode(slot));
    }
  }
  impl_->ClearRows();
  lk.unlock();
  for (auto& row : removed) impl_->Notify(std::move(row), std::nullopt);
}

SchemaChangeResponse IndexedTarget::OnSchemaChange(
    const TableIdentifier& table, const std::vector<ColumnDefinition>& old_columns,
    const std::vector<ColumnDefinition>& new_columns) {
  std::unique_lock lk(impl_->mu);
  impl_->CheckTable(table);
  (void)old_columns;
  auto& d = *impl_;
  auto find = [&](const std::string& name) -> const ColumnDefinition* {
    for (const auto& c : new_columns) {
      if (c.name == name) return &c;
    }
    return nullptr;
  };
  for (const auto& index : d.options.indexes) {
    for (const auto& column : index.columns) {
      if (find(column) == nullptr) {
        return {
            SchemaChangeResponse::Action::Error,
            fmt::format("index \"{}\" needs column \"{}\", which was dropped", index.name, column)};
      }
    }
  }
  // Only added columns keep stored rows valid as they are; anything else reloads the table.
  for (const auto& c : d.columns) {
    const ColumnDefinition* now = find(c.name);
    if (now == nullptr || now->type != c.type || now->primary_key != c.primary_key ||
        now->primary_key_ordinal != c.primary_key_ordinal) {
      return {SchemaChangeResponse::Action::ReBaseline,
              "column " + c.name + " was dropped or changed"};
    }
  }
  auto names = d.names->names();
  for (const auto& c : new_columns) {
    if (!d.names->Find(c.name)) names.push_back(c.name);
  }
  d.names = ColumnNames::Make(std::move(names));
  d.shapes.clear();
  for (auto& s : d.secondaries) s.columns.clear();
  // Positions of existing columns are unchanged (new ones are appended), so indexes stay valid.
  for (std::size_t k = 0; k < d.secondaries.size(); ++k) {
    for (const auto& column : d.secondaries[k].definition.columns) {
      d.secondaries[k].columns.push_back(static_cast<std::uint32_t>(*d.names->Find(column)));
    }
  }
  d.columns = new_columns;
  return {SchemaChangeResponse::Action::Continue, "columns added"};
}

void IndexedTarget::OnClose(const TableIdentifier& table) { (void)table; }

std::optional<Row> IndexedTarget::Get(const std::vector<Value>& primary_key) const {
  std::shared_lock lk(impl_->mu);
  if (primary_key.size() != impl_->key_columns.size()) {
    throw Error("key_shape", fmt::format("primary key has {} columns, {} given",
                                         impl_->key_columns.size(), primary_key.size()));
  }
  std::string key;
  for (const auto& v : primary_key) packed::AppendValue(key, v);
  const auto slot = impl_->FindSlot(key);
  if (slot == SlotIndex::kNone) return std::nullopt;
  return impl_->Decode(slot);
}

std::vector<Row> IndexedTarget::LookupAll(const std::string& index,
                                          const std::vector<Value>& values) const {
  std::shared_lock lk(impl_->mu);
  const Secondary* s = nullptr;
  for (const auto& candidate : impl_->secondaries) {
    if (candidate.definition.name == index) s = &candidate;
  }
  if (s == nullptr) throw Error("no_such_index", "IndexedTarget has no index \"" + index + "\"");
  if (values.size() != s->columns.size()) {
    throw Error("key_shape", fmt::format("index \"{}\" has {} columns, {} given", index,
                                         s->columns.size(), values.size()));
  }
  std::string key;
  for (const auto& v : values) packed::AppendValue(key, v);
  std::vector<Row> out;
  if (s->definition.unique) {
    const auto slot = s->unique.Find(HashKey(key), [&](std::uint32_t candidate) {
      return Impl::KeyOfSlotData(impl_->slots[candidate].get(), s->columns) == key;
    });
    if (slot != SlotIndex::kNone) out.push_back(impl_->Decode(slot));
  } else if (auto it = s->multi.find(key); it != s->multi.end()) {
    for (auto slot : it->second) out.push_back(impl_->Decode(slot));
  }
  return out;
}

std::optional<Row> IndexedTarget::Lookup(const std::string& index,
                                         const std::vector<Value>& values) const {
  auto rows = LookupAll(index, values);
  if (rows.empty()) return std::nullopt;
  return std::move(rows.front());
}

std::vector<Row> IndexedTarget::All() const {
  std::shared_lock lk(impl_->mu);
  std::vector<Row> out;
  out.reserve(impl_->count);
  for (std::uint32_t slot = 0; slot < impl_->slots.size(); ++slot) {
    if (impl_->slots[slot]) out.push_back(impl_->Decode(slot));
  }
  return out;
}

std::size_t IndexedTarget::Count() const {
  std::shared_lock lk(impl_->mu);
  return impl_->count;
}

std::vector<ColumnDefinition> IndexedTarget::Columns() const {
  std::shared_lock lk(impl_->mu);
  return impl_->columns;
}

bool IndexedTarget::BaselineComplete() const {
  std::shared_lock lk(impl_->mu);
  return impl_->baseline_complete;
}

std::size_t IndexedTarget::MemoryUsage() const {
  std::shared_lock lk(impl_->mu);
  std::size_t bytes = impl_->row_bytes + impl_->primary.MemoryBytes() +
                      impl_->slots.capacity() * sizeof(impl_->slots[0]) +
                      impl_->free_slots.capacity() * sizeof(std::uint32_t);
  for (const auto& s : impl_->secondaries) bytes += s.unique.MemoryBytes();
  return bytes;
}

}  // namespace laredo::memory
