#pragma once

#include <algorithm>
#include <atomic>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <utility>
#include <vector>

#include "laredo/error.hpp"
#include "laredo/error_codes.hpp"
#include "laredo/memory/detail/baseline_swap.hpp"
#include "laredo/memory/detail/listener_list.hpp"
#include "laredo/memory/detail/typed_store.hpp"
#include "laredo/memory/event.hpp"
#include "laredo/memory/key.hpp"
#include "laredo/snapshot/snapshot_capable.hpp"
#include "laredo/sync_target.hpp"

namespace laredo::memory {

/// A secondary index of a `TypedTarget<T>`: `key` reads the indexed values out of a `T`.
template <typename T>
struct TypedIndex {
  std::string name{};
  std::function<std::vector<Value>(const T&)> key{};
  /// A unique index answers `Lookup` with the value written last when several share a key (the
  /// replica never rejects a row the source sent); `LookupAll` returns all of them. Default false.
  bool unique = false;
};

/// Options of `TypedTarget<T>`.
template <typename T>
struct TypedTargetOptions {
  /// Builds the stored value from a row (baseline rows, inserts, updates). Required. What it
  /// throws fails the change as a `laredo::DataError` (no retries: the pipeline's error policy
  /// dead-letters or skips it, or stops). It never sees `Value::Unchanged()`.
  std::function<T(const Row&)> make{};
  /// Secondary indexes. Default none.
  std::vector<TypedIndex<T>> indexes{};
  /// Answers a change of the table's columns. Default (empty): `Continue`, the right answer when
  /// `make` still works with the new columns; answer `ReBaseline` to rebuild every value.
  std::function<SchemaChangeResponse(const TableIdentifier& table,
                                     const std::vector<ColumnDefinition>& old_columns,
                                     const std::vector<ColumnDefinition>& new_columns)>
      on_schema_change;
  /// Optional: the row a value came from (its columns, at least those `make` reads). With it the
  /// engine fills unchanged (TOAST) values of an update from the stored value; without it such an
  /// update re-baselines the table unless the change itself carries the old values. Default none.
  std::function<Row(const T&)> to_row{};
};

/// An in-memory replica of one table as the user's own values: `T`, built from each row by
/// `options.make`, keyed by the table's primary key and looked up by secondary indexes over `T`.
///
/// Same behaviour as `IndexedTarget`: inserts of an existing key and updates of a missing row are
/// upserts, an update that changes the key moves the value, deletes of a missing row do nothing,
/// a truncate empties it, and a re-baseline of a replica that holds values is built aside and
/// swapped in when complete (readers keep the old values meanwhile). Contents are rebuilt by a
/// baseline on every start (`KeepsStateAcrossRestarts` is false; `IsDurable` is true).
///
/// Unchanged values: `CanReadRows` is true so that the engine never hands `make` a row with
/// `Value::Unchanged()`: it fills such columns from the change's old row, then from `ReadRow`
/// (which answers through `options.to_row` when given), and re-baselines when neither can.
///
/// Events reach listeners in the order `IndexedTarget` documents (baseline begin, baseline rows
/// or a re-baseline's net difference, baseline end; one event per change; one per truncate),
/// with `before`/`after` pointing at the values. A re-baseline compares values with `==` when `T`
/// has it; without it every value present before and after is reported as an `Update`.
///
/// Snapshots (`snapshot::SnapshotCapable`): `Export` needs `options.to_row` (a `T` does not say
/// which row it came from); it copies the value pointers under the read lock (values are
/// immutable, so that is a consistent view) and turns them into rows outside it. The exported
/// rows are what `to_row` returns, so it must give every column `make` reads. `Restore` calls
/// `make` for each row, builds the new contents aside and swaps them in at once; listeners hear
/// `BaselineBegin` and `BaselineEnd` and no event per row. A restore that fails (a corrupt
/// file, `make` throwing) leaves the target as it was.
///
/// Threading contract: the engine writes from one pipeline thread; any number of threads may read
/// (`Get`, `Lookup`, `LookupAll`, `All`, `Count`, `BaselineComplete`) meanwhile. Reads return
/// `std::shared_ptr<const T>`: the stored values are immutable and a write replaces the pointer,
/// so a reader may keep a value as long as it likes, without copying `T` and without holding any
/// lock, while the writer goes on (a lock held across a reader's work would stall the pipeline).
/// `make` and the index key functions run on the pipeline thread outside the lock. Listeners may
/// be added and removed from any thread; they run on the pipeline thread outside the lock.
template <typename T>
class TypedTarget final : public SyncTarget, public snapshot::SnapshotCapable {
 public:
  using Ptr = std::shared_ptr<const T>;
  using Listener = std::function<void(const Event<T>& event)>;

  /// Throws `ConfigError` without `make`, for an index without a name or key function, or for
  /// two indexes of one name.
  explicit TypedTarget(TypedTargetOptions<T> options) : options_(std::move(options)) {
    std::vector<std::string> problems;
    if (!options_.make) problems.emplace_back("TypedTarget: options.make is required");
    for (std::size_t i = 0; i < options_.indexes.size(); ++i) {
      const auto& index = options_.indexes[i];
      if (index.name.empty() || !index.key) {
        problems.emplace_back("TypedTarget: an index needs a name and a key function");
      }
      for (std::size_t j = 0; j < i; ++j) {
        if (options_.indexes[j].name == index.name) {
          problems.push_back("TypedTarget: index \"" + index.name + "\" defined twice");
        }
      }
    }
    if (!problems.empty()) throw ConfigError(std::move(problems));
  }

  /// Returns an id for `RemoveListener`.
  std::uint64_t AddListener(Listener listener) {
    const auto id = next_listener_id_++;
    listeners_.Add(id, std::move(listener));
    return id;
  }
  void RemoveListener(std::uint64_t id) { listeners_.Remove(id); }

  /// The value with this primary key (values in primary-key order), or null.
  [[nodiscard]] Ptr Get(const std::vector<Value>& primary_key) const {
    const std::string key = EncodeKey(primary_key);
    std::shared_lock lk(mu_);
    const Contents* live = contents_.live();
    return live != nullptr ? live->store.Get(key) : nullptr;
  }
  /// The value whose `index` key equals `key` (a unique index's newest holder, or any match of
  /// a non-unique one), or null. Throws `laredo::Error` ("no_such_index") for an unknown index.
  [[nodiscard]] Ptr Lookup(const std::string& index, const std::vector<Value>& key) const {
    auto found = Matches(index, key, 1);
    return found.empty() ? nullptr : std::move(found.front());
  }
  /// Every value whose `index` key equals `key`.
  [[nodiscard]] std::vector<Ptr> LookupAll(const std::string& index,
                                           const std::vector<Value>& key) const {
    return Matches(index, key, SIZE_MAX);
  }
  /// Every value, in no particular order.
  [[nodiscard]] std::vector<Ptr> All() const {
    std::vector<Ptr> out;
    std::shared_lock lk(mu_);
    if (const Contents* live = contents_.live()) {
      out.reserve(live->store.count());
      live->store.ForEach([&](const std::string&, const Ptr& value) { out.push_back(value); });
    }
    return out;
  }
  [[nodiscard]] std::size_t Count() const {
    std::shared_lock lk(mu_);
    const Contents* live = contents_.live();
    return live != nullptr ? live->store.count() : 0;
  }
  /// Whether the baseline has been applied completely.
  [[nodiscard]] bool BaselineComplete() const {
    std::shared_lock lk(mu_);
    return contents_.complete();
  }

  // --- SyncTarget -------------------------------------------------------------------------
  void OnInit(const TableIdentifier& table, const std::vector<ColumnDefinition>& columns) override {
    auto fresh = Fresh(table, columns);
    std::unique_lock lk(mu_);
    if (table_ && *table_ != table) {
      throw ConfigError({"TypedTarget holds one table: bound to " + table_->ToString() + " and " +
                         table.ToString()});
    }
    table_ = table;
    contents_.Reset(std::move(fresh));
  }
  void OnBaselineBegin(const TableIdentifier& table,
                       const std::vector<ColumnDefinition>& columns) override {
    CheckTable(table);
    auto fresh = Fresh(table, columns);
    {
      std::unique_lock lk(mu_);
      contents_.Begin(std::move(fresh), contents_.live()->store.count() == 0);
    }
    Notify(table, EventAction::BaselineBegin, true, {});
  }
  void OnBaselineRow(const TableIdentifier& table, const Row& row) override {
    Put(table, row, true);
  }
  void OnBaselineComplete(const TableIdentifier& table) override {
    CheckTable(table);
    std::unique_ptr<Contents> old;
    {
      std::unique_lock lk(mu_);
      old = contents_.Complete();
    }
    // Only this (the writer's) thread changes the contents, so it reads them without the lock.
    if (old && listeners_.Any()) NotifyDifference(table, old->store, contents_.live()->store);
    Notify(table, EventAction::BaselineEnd, true, {});
  }
  void OnInsert(const TableIdentifier& table, const Row& row) override { Put(table, row, false); }
  void OnUpdate(const TableIdentifier& table, const Row& new_row, const Row& identity) override {
    CheckTable(table);
    for (const auto& value : new_row.values()) {
      if (value.IsUnchanged()) {
        throw DataError(codes::kUnchangedValues, "TypedTarget: update of " + table.ToString() +
                                                     " " + new_row.ToString() +
                                                     " carries unchanged values it cannot fill");
      }
    }
    Contents& target = contents_.writable();
    const std::string new_key = KeyOf(target, new_row);
    std::string old_key = new_key;
    if (!identity.empty()) {
      if (auto key = TryKeyOf(target, identity)) old_key = std::move(*key);
    }
    Ptr value = Make(table, new_row);
    auto index_keys = target.store.IndexKeys(*value);
    typename Store::Applied applied;
    {
      std::unique_lock lk(mu_);
      Ptr moved;
      if (old_key != new_key) moved = target.store.Erase(old_key).before;
      applied = target.store.Put(new_key, std::move(value), std::move(index_keys));
      if (moved) applied.before = std::move(moved);
    }
    NotifyApplied(table, false, applied);
  }
  void OnDelete(const TableIdentifier& table, const Row& identity) override {
    CheckTable(table);
    Contents& target = contents_.writable();
    const std::string key = KeyOf(target, identity);
    typename Store::Applied applied;
    {
      std::unique_lock lk(mu_);
      applied = target.store.Erase(key);
    }
    NotifyApplied(table, false, applied);
  }
  void OnTruncate(const TableIdentifier& table) override {
    CheckTable(table);
    const bool aside = contents_.building_aside();
    std::unique_ptr<Contents> removed;
    {
      auto fresh = Fresh(table, contents_.writable().columns);
      std::unique_lock lk(mu_);
      removed = contents_.ReplaceWritable(std::move(fresh));
    }
    removed.reset();  // outside the lock: freeing many values takes a while
    if (!aside) Notify(table, EventAction::Truncate, false, {});
  }
  bool IsDurable() override { return true; }
  bool KeepsStateAcrossRestarts() override { return false; }
  bool CanReadRows() override { return true; }
  std::optional<Row> ReadRow(const TableIdentifier& table, const Row& identity) override {
    CheckTable(table);
    if (!options_.to_row) return std::nullopt;
    if (contents_.live() == nullptr) return std::nullopt;
    const Contents* live = &contents_.writable();  // where changes go (see IndexedTarget)
    auto key = TryKeyOf(*live, identity);
    if (!key) return std::nullopt;
    Ptr value;
    {
      std::shared_lock lk(mu_);
      value = live->store.Get(*key);
    }
    if (!value) return std::nullopt;
    return options_.to_row(*value);
  }
  SchemaChangeResponse OnSchemaChange(const TableIdentifier& table,
                                      const std::vector<ColumnDefinition>& old_columns,
                                      const std::vector<ColumnDefinition>& new_columns) override {
    CheckTable(table);
    SchemaChangeResponse response{.action = SchemaChangeResponse::Action::Continue,
                                  .message = "TypedTarget: make still applies"};
    if (options_.on_schema_change) {
      response = options_.on_schema_change(table, old_columns, new_columns);
    }
    if (response.action == SchemaChangeResponse::Action::Continue) {
      // New rows carry the new columns: key them by the new key columns (a renamed key column).
      auto key_names = KeyNames(new_columns);
      std::unique_lock lk(mu_);
      Contents& live = *contents_.live();
      live.columns = new_columns;
      if (!key_names.empty()) live.key_names = std::move(key_names);
    }
    return response;
  }
  void OnClose(const TableIdentifier& table) override { (void)table; }

  // --- snapshot::SnapshotCapable ----------------------------------------------------------
  [[nodiscard]] std::vector<ColumnDefinition> ExportColumns(
      const TableIdentifier& table) const override {
    CheckTable(table);
    std::shared_lock lk(mu_);
    return contents_.live()->columns;
  }
  /// Throws `ConfigError` without `options.to_row`.
  void Export(const TableIdentifier& table, snapshot::RowWriter& out) const override {
    CheckTable(table);
    if (!options_.to_row) {
      throw ConfigError({"TypedTarget: Export of " + table.ToString() + " needs options.to_row"});
    }
    std::vector<Ptr> values;
    {
      std::shared_lock lk(mu_);
      if (!contents_.complete() || contents_.building_aside()) {
        throw Error(codes::kSnapshotNotReady, "TypedTarget " + table.ToString() +
                                                  ": the baseline is incomplete; nothing "
                                                  "consistent to export");
      }
      const Store& store = contents_.live()->store;
      values.reserve(store.count());
      store.ForEach([&](const std::string&, const Ptr& value) { values.push_back(value); });
    }
    for (const Ptr& value : values) out.Write(options_.to_row(*value));
  }
  void Restore(const TableIdentifier& table, const std::vector<ColumnDefinition>& columns,
               snapshot::RowReader& rows) override {
    {
      std::shared_lock lk(mu_);
      if (table_ && *table_ != table) {
        throw ConfigError({"TypedTarget holds one table: bound to " + table_->ToString() +
                           ", restoring " + table.ToString()});
      }
    }
    // Built aside without the lock (only the writer's thread changes the target): readers keep
    // the old values until the swap, and nothing changes before every row was read and made.
    auto fresh = Fresh(table, columns);
    Row row;
    while (rows.Next(row)) {
      std::string key = KeyOf(*fresh, row, table);
      Ptr value = Make(table, row);
      auto index_keys = fresh->store.IndexKeys(*value);
      fresh->store.Put(key, std::move(value), std::move(index_keys));
    }
    std::unique_ptr<Contents> old;
    {
      std::unique_lock lk(mu_);
      table_ = table;
      old = contents_.Restored(std::move(fresh));
    }
    old.reset();  // outside the lock: freeing many values takes a while
    Notify(table, EventAction::BaselineBegin, true, {});
    Notify(table, EventAction::BaselineEnd, true, {});
  }

 private:
  using Store = detail::TypedStore<T>;
  struct Contents {
    std::vector<ColumnDefinition> columns;
    std::vector<std::string> key_names;  // in key-ordinal order
    Store store;
  };

  static std::vector<std::string> KeyNames(const std::vector<ColumnDefinition>& columns) {
    std::vector<std::pair<int, std::string>> keys;
    for (std::size_t i = 0; i < columns.size(); ++i) {
      if (!columns[i].primary_key) continue;
      const int ordinal = columns[i].primary_key_ordinal != 0 ? columns[i].primary_key_ordinal
                                                              : static_cast<int>(i + 1);
      keys.emplace_back(ordinal, columns[i].name);
    }
    std::sort(keys.begin(), keys.end());
    std::vector<std::string> names;
    names.reserve(keys.size());
    for (auto& [ordinal, name] : keys) names.push_back(std::move(name));
    return names;
  }
  std::unique_ptr<Contents> Fresh(const TableIdentifier& table,
                                  const std::vector<ColumnDefinition>& columns) const {
    auto key_names = KeyNames(columns);
    if (key_names.empty()) {
      throw ConfigError({"TypedTarget: table " + table.ToString() +
                         " has no primary key; the replica could not tell its rows apart"});
    }
    std::vector<typename Store::IndexSpec> specs;
    specs.reserve(options_.indexes.size());
    for (const auto& index : options_.indexes) specs.push_back({index.key, index.unique});
    return std::unique_ptr<Contents>(
        new Contents{columns, std::move(key_names), Store(std::move(specs))});
  }
  void CheckTable(const TableIdentifier& table) const {
    if (!table_ || *table_ != table) {
      throw Error(codes::kWrongTable, "TypedTarget holds " +
                                          (table_ ? table_->ToString() : std::string("no table")) +
                                          ", not " + table.ToString());
    }
  }
  static std::optional<std::string> TryKeyOf(const Contents& contents, const Row& row) {
    std::string key;
    for (const auto& name : contents.key_names) {
      const Value* v = row.Find(name);
      if (v == nullptr || v->IsUnchanged()) return std::nullopt;
      AppendKey(key, *v);
    }
    return key;
  }
  std::string KeyOf(const Contents& contents, const Row& row) const {
    return KeyOf(contents, row, *table_);
  }
  static std::string KeyOf(const Contents& contents, const Row& row, const TableIdentifier& table) {
    auto key = TryKeyOf(contents, row);
    if (!key) {
      throw DataError(codes::kNoKey, "row " + row.ToString() + " lacks a primary-key column of " +
                                         table.ToString());
    }
    return std::move(*key);
  }
  Ptr Make(const TableIdentifier& table, const Row& row) const {
    try {
      return std::make_shared<const T>(options_.make(row));
    } catch (const std::exception& e) {
      throw DataError(codes::kMakeFailed, "TypedTarget: make failed for " + table.ToString() +
                                              " row " + row.ToString() + ": " + e.what());
    }
  }
  // Inserts and baseline rows: the value and its index keys are built before the lock is taken,
  // so readers never wait for user code.
  void Put(const TableIdentifier& table, const Row& row, bool baseline) {
    CheckTable(table);
    Contents& target = contents_.writable();
    const std::string key = KeyOf(target, row);
    Ptr value = Make(table, row);
    auto index_keys = target.store.IndexKeys(*value);
    typename Store::Applied applied;
    {
      std::unique_lock lk(mu_);
      applied = target.store.Put(key, std::move(value), std::move(index_keys));
    }
    // A re-baseline's rows built aside are not news yet: the swap reports the difference.
    if (!contents_.building_aside()) NotifyApplied(table, baseline, applied);
  }
  std::vector<Ptr> Matches(const std::string& index, const std::vector<Value>& key,
                           std::size_t limit) const {
    std::size_t position = options_.indexes.size();
    for (std::size_t i = 0; i < options_.indexes.size(); ++i) {
      if (options_.indexes[i].name == index) position = i;
    }
    if (position == options_.indexes.size()) {
      throw Error(codes::kNoSuchIndex, "TypedTarget has no index \"" + index + "\"");
    }
    const std::string encoded = EncodeKey(key);
    std::vector<Ptr> out;
    std::shared_lock lk(mu_);
    if (const Contents* live = contents_.live()) {
      live->store.ForEachMatch(position, encoded, [&](const Ptr& value) {
        out.push_back(value);
        return out.size() < limit;
      });
    }
    return out;
  }

  void Notify(const TableIdentifier& table, EventAction action, bool baseline,
              const typename Store::Applied& applied) const {
    if (!listeners_.Any()) return;
    listeners_.Call(Event<T>{.action = action,
                             .table = table,
                             .baseline = baseline,
                             .before = applied.before.get(),
                             .after = applied.after.get()});
  }
  void NotifyApplied(const TableIdentifier& table, bool baseline,
                     const typename Store::Applied& applied) const {
    if (!applied.before && !applied.after) return;  // a delete of a missing row
    const EventAction action = !applied.before  ? EventAction::Insert
                               : !applied.after ? EventAction::Delete
                                                : EventAction::Update;
    Notify(table, action, baseline, applied);
  }
  void NotifyDifference(const TableIdentifier& table, const Store& old, const Store& now) const {
    now.ForEach([&](const std::string& key, const Ptr& value) {
      Ptr before = old.Get(key);
      bool changed = true;
      if constexpr (std::equality_comparable<T>) changed = !before || !(*before == *value);
      if (changed) NotifyApplied(table, true, {.before = std::move(before), .after = value});
    });
    old.ForEach([&](const std::string& key, const Ptr& value) {
      if (!now.Get(key)) NotifyApplied(table, true, {.before = value, .after = nullptr});
    });
  }

  TypedTargetOptions<T> options_;
  mutable std::shared_mutex mu_;  // guards contents_ against readers; the writer alone changes it
  std::optional<TableIdentifier> table_;
  detail::BaselineSwap<Contents> contents_;
  detail::ListenerList<Listener> listeners_;
  std::atomic<std::uint64_t> next_listener_id_{1};
};

}  // namespace laredo::memory
