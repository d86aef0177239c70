// IndexedTarget: the SyncTarget calls, in the order the engine makes them, on top of
// - RowStore (row_store.hpp): one table's encoded rows and their indexes;
// - BaselineSwap (detail/baseline_swap.hpp): the live store and a re-baseline's store built aside;
// - RowNotifier (row_notifier.hpp): the listeners;
// - DecideSchemaChange (schema_policy.hpp): what a change of columns means for the stored rows;
// - indexed_target_snapshot.cpp: export and restore.
// Writes take the exclusive lock, reads the shared one; listeners run after the lock is released.
#include "laredo/memory/indexed_target.hpp"

#include <fmt/format.h>

#include <mutex>
#include <shared_mutex>

#include "laredo/error.hpp"
#include "laredo/error_codes.hpp"
#include "memory/indexed_target_impl.hpp"
#include "memory/schema_policy.hpp"

namespace laredo::memory {

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

std::uint64_t IndexedTarget::AddListener(RowListener listener) {
  return impl_->notifier.Add(std::move(listener));
}

std::uint64_t IndexedTarget::AddListener(ChangeListener listener) {
  return impl_->notifier.Add(std::move(listener));
}

void IndexedTarget::RemoveListener(std::uint64_t id) { impl_->notifier.Remove(id); }

// ---- SyncTarget, in call order ----------------------------------------------------------------

void IndexedTarget::OnInit(const TableIdentifier& table,
                           const std::vector<ColumnDefinition>& columns) {
  std::unique_lock lk(impl_->mu);
  auto& d = *impl_;
  if (d.table && *d.table != table) {
    throw ConfigError({fmt::format("IndexedTarget holds one table: bound to {} and {}",
                                   d.table->ToString(), table.ToString())});
  }
  d.table = table;
  d.contents.Reset(d.Fresh(columns));  // a baseline follows
}

void IndexedTarget::OnBaselineBegin(const TableIdentifier& table,
                                    const std::vector<ColumnDefinition>& columns) {
  std::unique_lock lk(impl_->mu);
  auto& d = *impl_;
  d.CheckTable(table);
  // The new columns may differ (a re-baseline after ALTER TABLE): a fresh store is keyed and
  // indexed by them. With no rows to protect it is filled in place; otherwise readers keep the
  // old rows until the new ones are complete.
  d.contents.Begin(d.Fresh(columns), d.contents.live()->count() == 0);
  lk.unlock();
  d.notifier.Baseline(table, EventAction::BaselineBegin);
}

void IndexedTarget::OnBaselineRow(const TableIdentifier& table, const Row& row) {
  impl_->Apply(table, true,
               [&](RowStore& store, bool listening) { return store.Upsert(row, listening); });
}

void IndexedTarget::OnBaselineComplete(const TableIdentifier& table) {
  std::unique_lock lk(impl_->mu);
  auto& d = *impl_;
  d.CheckTable(table);
  const std::unique_ptr<RowStore> old = d.contents.Complete();
  lk.unlock();
  if (old && d.notifier.Any()) {
    // Only this (the writer's) thread changes the live store; readers share it meanwhile.
    std::shared_lock read(d.mu);
    d.notifier.Difference(table, *old, *d.contents.live());
  }
  d.notifier.Baseline(table, EventAction::BaselineEnd);
}

void IndexedTarget::OnInsert(const TableIdentifier& table, const Row& row) {
  impl_->Apply(table, false,
               [&](RowStore& store, bool listening) { return store.Upsert(row, listening); });
}

void IndexedTarget::OnUpdate(const TableIdentifier& table, const Row& new_row,
                             const Row& identity) {
  impl_->Apply(table, false, [&](RowStore& store, bool listening) {
    return store.Update(new_row, identity, listening);
  });
}

void IndexedTarget::OnDelete(const TableIdentifier& table, const Row& identity) {
  impl_->Apply(table, false,
               [&](RowStore& store, bool listening) { return store.Delete(identity, listening); });
}

void IndexedTarget::OnTruncate(const TableIdentifier& table) {
  std::unique_lock lk(impl_->mu);
  auto& d = *impl_;
  d.CheckTable(table);
  const bool listening = !d.contents.building_aside() && d.notifier.Any();
  const std::unique_ptr<RowStore> removed =
      d.contents.ReplaceWritable(d.Fresh(d.contents.writable().columns()));
  lk.unlock();
  if (listening) d.notifier.Truncated(table, *removed);
}

std::optional<Row> IndexedTarget::ReadRow(const TableIdentifier& table, const Row& identity) {
  std::shared_lock lk(impl_->mu);
  impl_->CheckTable(table);
  if (impl_->contents.live() == nullptr) return std::nullopt;
  // Where changes go: a copy built aside while the stream flows (a reload) is the one whose rows
  // an update's unchanged values come from.
  return impl_->contents.writable().Find(identity);
}

SchemaChangeResponse IndexedTarget::OnSchemaChange(
    const TableIdentifier& table, const std::vector<ColumnDefinition>& old_columns,
    const std::vector<ColumnDefinition>& new_columns) {
  std::unique_lock lk(impl_->mu);
  impl_->CheckTable(table);
  (void)old_columns;  // the stored rows' columns are what matters
  RowStore& live = *impl_->contents.live();
  auto response = DecideSchemaChange(impl_->options.indexes, live.columns(), new_columns);
  if (response.action == SchemaChangeResponse::Action::Continue) live.AddColumns(new_columns);
  return response;
}

void IndexedTarget::OnClose(const TableIdentifier& table) { (void)table; }

// ---- reads -------------------------------------------------------------------------------------

std::optional<Row> IndexedTarget::Get(const std::vector<Value>& primary_key) const {
  std::shared_lock lk(impl_->mu);
  const RowStore* live = impl_->contents.live();
  if (live == nullptr) return std::nullopt;
  return live->Get(primary_key);
}

std::vector<Row> IndexedTarget::LookupAll(const std::string& index,
                                          const std::vector<Value>& values) const {
  std::shared_lock lk(impl_->mu);
  const RowStore* live = impl_->contents.live();
  if (live == nullptr) {
    for (const auto& i : impl_->options.indexes) {
      if (i.name == index) return {};
    }
    throw Error(codes::kNoSuchIndex, "IndexedTarget has no index \"" + index + "\"");
  }
  return live->LookupAll(index, values);
}

std::optional<Row> IndexedTarget::Lookup(const std::string& index,
                                         const std::vector<Value>& values) const {
  std::shared_lock lk(impl_->mu);
  const RowStore* live = impl_->contents.live();
  if (live == nullptr) {
    lk.unlock();
    (void)LookupAll(index, values);  // throws for an unknown index
    return std::nullopt;
  }
  auto rows = live->LookupAll(index, values, 1);  // decodes the first match only
  if (rows.empty()) return std::nullopt;
  return std::move(rows.front());
}

std::vector<Row> IndexedTarget::All() const {
  std::shared_lock lk(impl_->mu);
  const RowStore* live = impl_->contents.live();
  return live != nullptr ? live->All() : std::vector<Row>{};
}

std::size_t IndexedTarget::Count() const {
  std::shared_lock lk(impl_->mu);
  const RowStore* live = impl_->contents.live();
  return live != nullptr ? live->count() : 0;
}

std::vector<ColumnDefinition> IndexedTarget::Columns() const {
  std::shared_lock lk(impl_->mu);
  const RowStore* live = impl_->contents.live();
  return live != nullptr ? live->columns() : std::vector<ColumnDefinition>{};
}

bool IndexedTarget::BaselineComplete() const {
  std::shared_lock lk(impl_->mu);
  return impl_->contents.complete();
}

std::size_t IndexedTarget::MemoryUsage() const {
  std::shared_lock lk(impl_->mu);
  std::size_t bytes = 0;
  if (const RowStore* live = impl_->contents.live()) bytes += live->MemoryUsage();
  if (const RowStore* building = impl_->contents.building()) bytes += building->MemoryUsage();
  return bytes;
}

}  // namespace laredo::memory
