// IndexedTarget's snapshots: export under the read lock, restore built aside and swapped in.
#include <fmt/format.h>

#include "laredo/error.hpp"
#include "laredo/error_codes.hpp"
#include "laredo/snapshot/store.hpp"
#include "memory/indexed_target_impl.hpp"

namespace laredo::memory {
namespace {

/// The bulk path from a snapshot's table file: values go from the file's bytes into stored rows
/// without becoming `Value`s (the file holds them in the key encoding the store reads). False,
/// having read nothing, when `rows` is not a table file of `columns`.
template <typename Reader>
bool RestoreRawFrom(Reader& reader, const std::vector<ColumnDefinition>& declared,
                    RowStore& store) {
  if (reader.columns() != declared || store.width() != declared.size()) return false;
  std::vector<std::string_view> columns;
  Row row;
  for (;;) {
    switch (reader.NextRaw(columns)) {
      case snapshot::TableFileReader::Raw::Row:
        store.AddBulkKeyed(columns);
        break;
      case snapshot::TableFileReader::Raw::Other:  // a column beyond the table's: as a Row
        if (!reader.Next(row)) return true;
        store.AddBulk(row);
        break;
      case snapshot::TableFileReader::Raw::End:
        return true;
    }
  }
}

bool RestoreRaw(snapshot::RowReader& rows, const std::vector<ColumnDefinition>& columns,
                RowStore& store) {
  if (auto* table = dynamic_cast<snapshot::TableReader*>(&rows)) {
    return RestoreRawFrom(*table, columns, store);
  }
  if (auto* file = dynamic_cast<snapshot::TableFileReader*>(&rows)) {
    return RestoreRawFrom(*file, columns, store);
  }
  return false;
}

}  // namespace

std::vector<ColumnDefinition> IndexedTarget::ExportColumns(const TableIdentifier& table) const {
  std::shared_lock lk(impl_->mu);
  impl_->CheckTable(table);
  return impl_->contents.live()->columns();
}

void IndexedTarget::Export(const TableIdentifier& table, snapshot::RowWriter& out) const {
  // The read lock for the whole export: readers share it, a write waits, so the copy is one
  // state of the table. The engine pauses the writer anyway; this makes it safe without.
  std::shared_lock lk(impl_->mu);
  impl_->CheckTable(table);
  if (!impl_->contents.complete() || impl_->contents.building_aside()) {
    throw Error(codes::kSnapshotNotReady,
                fmt::format("IndexedTarget {}: the baseline is incomplete; nothing consistent "
                            "to export",
                            table.ToString()));
  }
  impl_->contents.live()->ForEach([&](const Row& row) { out.Write(row); });
}

void IndexedTarget::Restore(const TableIdentifier& table,
                            const std::vector<ColumnDefinition>& columns,
                            snapshot::RowReader& rows) {
  auto& d = *impl_;
  {
    std::shared_lock lk(d.mu);
    if (d.table && *d.table != table) {
      throw ConfigError({fmt::format("IndexedTarget holds one table: bound to {}, restoring {}",
                                     d.table->ToString(), table.ToString())});
    }
  }
  // Built without the lock: only this (the writer's) thread changes the target, and readers keep
  // the old contents until the swap. Nothing of the target changes before the file checked out.
  auto fresh = std::make_unique<RowStore>(table, columns, d.options.indexes);
  // Bounded: a hint from a damaged file must not allocate without limit before it is found out.
  const auto hint = rows.RowCountHint().value_or(0);
  fresh->BeginBulk(static_cast<std::size_t>(std::min<std::uint64_t>(hint, std::uint64_t{1} << 27)));
  if (!RestoreRaw(rows, columns, *fresh)) {
    // Any other reader: its rows, reused (decoding allocates nothing once their strings grew).
    // (Reading ahead on a second thread was slower here: the rows then cross cores, and two
    // cores are often busy with other work.)
    Row row;
    while (rows.Next(row)) fresh->AddBulk(row);
  }
  fresh->EndBulk();
  std::unique_ptr<RowStore> old;
  {
    std::unique_lock lk(d.mu);
    d.table = table;
    old = d.contents.Restored(std::move(fresh));
  }
  old.reset();  // outside the lock: freeing many rows takes a while
  d.notifier.Baseline(table, EventAction::BaselineBegin);
  d.notifier.Baseline(table, EventAction::BaselineEnd);
}

}  // namespace laredo::memory
