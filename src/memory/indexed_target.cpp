#include "laredo/memory/indexed_target.hpp"

#include <fmt/format.h>

#include <atomic>
#include <mutex>
#include <shared_mutex>

#include "laredo/error.hpp"
#include "memory/row_store.hpp"

namespace laredo::memory {
namespace {

using Listeners = std::vector<std::pair<std::uint64_t, ChangeListener>>;

}  // namespace

struct IndexedTarget::Impl {
  IndexedTargetOptions options;
  mutable std::shared_mutex mu;
  std::optional<TableIdentifier> table;
  std::unique_ptr<RowStore> live;      // what readers see
  std::unique_ptr<RowStore> building;  // a re-baseline's new contents, until complete
  bool baseline_complete = false;

  std::mutex listeners_mu;
  std::shared_ptr<const Listeners> listeners = std::make_shared<const Listeners>();
  std::atomic<bool> has_listeners{false};
  std::uint64_t next_listener_id = 1;

  void CheckTable(const TableIdentifier& t) const {
    if (!table || *table != t) {
      throw Error("wrong_table", fmt::format("IndexedTarget holds {}, not {}",
                                             table ? table->ToString() : "no table", t.ToString()));
    }
  }
  RowStore& Writable() { return building ? *building : *live; }
  /// Whether writes are reported row by row (not while a re-baseline builds aside).
  bool NotifiesRows() const { return !building && has_listeners.load(std::memory_order_acquire); }

  void Notify(const std::optional<Row>& old_row, const std::optional<Row>& new_row) {
    std::shared_ptr<const Listeners> current;
    {
      std::lock_guard lk(listeners_mu);
      current = listeners;
    }
    for (const auto& [id, listener] : *current) listener(old_row, new_row);
  }

  /// After a swap: tells listeners the net difference between the old and the new contents.
  void NotifyDifference(const RowStore& old_rows, const RowStore& new_rows) {
    new_rows.ForEach([&](Row row) {
      const std::optional<Row> before = old_rows.Find(row);
      if (!before || !(*before == row)) Notify(before, std::optional<Row>(std::move(row)));
    });
    old_rows.ForEach([&](Row row) {
      if (!new_rows.Find(row)) Notify(std::optional<Row>(std::move(row)), std::nullopt);
    });
  }

  template <typename Write>
  void Apply(const TableIdentifier& t, Write&& write) {
    std::unique_lock lk(mu);
    CheckTable(t);
    const bool listening = NotifiesRows();
    auto applied = write(Writable(), listening);
    lk.unlock();
    if (listening && (applied.old_row || applied.new_row)) {
      Notify(applied.old_row, applied.new_row);
    }
  }
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
  d.live = std::make_unique<RowStore>(table, columns, d.options.indexes);  // a baseline follows
  d.building.reset();
  d.table = table;
  d.baseline_complete = false;
}

void IndexedTarget::OnBaselineBegin(const TableIdentifier& table,
                                    const std::vector<ColumnDefinition>& columns) {
  std::unique_lock lk(impl_->mu);
  auto& d = *impl_;
  d.CheckTable(table);
  // The new columns may differ (a re-baseline after ALTER TABLE): a fresh store is keyed and
  // indexed by them. With no rows to protect it is filled in place; otherwise readers keep the
  // old rows until the new ones are complete.
  auto fresh = std::make_unique<RowStore>(table, columns, d.options.indexes);
  if (d.live->count() == 0) {
    d.live = std::move(fresh);
    d.building.reset();
  } else {
    d.building = std::move(fresh);  // replaces a failed attempt's partial copy too
  }
  d.baseline_complete = false;
}

void IndexedTarget::OnBaselineRow(const TableIdentifier& table, const Row& row) {
  impl_->Apply(table,
               [&](RowStore& store, bool listening) { return store.Upsert(row, listening); });
}

void IndexedTarget::OnBaselineComplete(const TableIdentifier& table) {
  std::unique_lock lk(impl_->mu);
  auto& d = *impl_;
  d.CheckTable(table);
  d.baseline_complete = true;
  if (!d.building) return;
  std::unique_ptr<RowStore> old = std::exchange(d.live, std::move(d.building));
  const bool listening = d.has_listeners.load(std::memory_order_acquire);
  lk.unlock();
  // Only this (the writer's) thread changes `live`; readers share it meanwhile.
  if (listening) {
    std::shared_lock read(d.mu);
    d.NotifyDifference(*old, *d.live);
  }
}

void IndexedTarget::OnInsert(const TableIdentifier& table, const Row& row) {
  impl_->Apply(table,
               [&](RowStore& store, bool listening) { return store.Upsert(row, listening); });
}

void IndexedTarget::OnUpdate(const TableIdentifier& table, const Row& new_row,
                             const Row& identity) {
  impl_->Apply(table, [&](RowStore& store, bool listening) {
    return store.Update(new_row, identity, listening);
  });
}

void IndexedTarget::OnDelete(const TableIdentifier& table, const Row& identity) {
  impl_->Apply(table,
               [&](RowStore& store, bool listening) { return store.Delete(identity, listening); });
}

void IndexedTarget::OnTruncate(const TableIdentifier& table) {
  std::unique_lock lk(impl_->mu);
  auto& d = *impl_;
  d.CheckTable(table);
  RowStore& store = d.Writable();
  std::vector<Row> removed;
  if (d.NotifiesRows()) removed = store.All();
  store = RowStore(table, store.columns(), d.options.indexes);
  lk.unlock();
  for (auto& row : removed) d.Notify(std::move(row), std::nullopt);
}

std::optional<Row> IndexedTarget::ReadRow(const TableIdentifier& table, const Row& identity) {
  std::shared_lock lk(impl_->mu);
  impl_->CheckTable(table);
  return impl_->live->Find(identity);
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
  // Only added columns keep stored rows valid as they are; anything else reloads the table
  // (the re-baseline re-creates the store with the new columns and key).
  for (const auto& c : d.live->columns()) {
    const ColumnDefinition* now = find(c.name);
    if (now == nullptr || now->type != c.type || now->primary_key != c.primary_key ||
        now->primary_key_ordinal != c.primary_key_ordinal) {
      return {SchemaChangeResponse::Action::ReBaseline,
              "column " + c.name + " was dropped or changed"};
    }
  }
  d.live->AddColumns(new_columns);
  return {SchemaChangeResponse::Action::Continue, "columns added"};
}

void IndexedTarget::OnClose(const TableIdentifier& table) { (void)table; }

std::optional<Row> IndexedTarget::Get(const std::vector<Value>& primary_key) const {
  std::shared_lock lk(impl_->mu);
  if (!impl_->live) return std::nullopt;
  return impl_->live->Get(primary_key);
}

std::vector<Row> IndexedTarget::LookupAll(const std::string& index,
                                          const std::vector<Value>& values) const {
  std::shared_lock lk(impl_->mu);
  if (!impl_->live) {
    for (const auto& i : impl_->options.indexes) {
      if (i.name == index) return {};
    }
    throw Error("no_such_index", "IndexedTarget has no index \"" + index + "\"");
  }
  return impl_->live->LookupAll(index, values);
}

std::optional<Row> IndexedTarget::Lookup(const std::string& index,
                                         const std::vector<Value>& values) const {
  auto rows = LookupAll(index, values);
  if (rows.empty()) return std::nullopt;
  return std::move(rows.front());
}

std::vector<Row> IndexedTarget::All() const {
  std::shared_lock lk(impl_->mu);
  if (!impl_->live) return {};
  return impl_->live->All();
}

std::size_t IndexedTarget::Count() const {
  std::shared_lock lk(impl_->mu);
  return impl_->live ? impl_->live->count() : 0;
}

std::vector<ColumnDefinition> IndexedTarget::Columns() const {
  std::shared_lock lk(impl_->mu);
  return impl_->live ? impl_->live->columns() : std::vector<ColumnDefinition>{};
}

bool IndexedTarget::BaselineComplete() const {
  std::shared_lock lk(impl_->mu);
  return impl_->baseline_complete;
}

std::size_t IndexedTarget::MemoryUsage() const {
  std::shared_lock lk(impl_->mu);
  std::size_t bytes = 0;
  if (impl_->live) bytes += impl_->live->MemoryUsage();
  if (impl_->building) bytes += impl_->building->MemoryUsage();
  return bytes;
}

}  // namespace laredo::memory
