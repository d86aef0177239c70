#pragma once

// The state of an IndexedTarget, shared by indexed_target.cpp (the SyncTarget calls and reads)
// and indexed_target_snapshot.cpp (export and restore).
#include <fmt/format.h>

#include <mutex>
#include <optional>
#include <shared_mutex>

#include "laredo/error.hpp"
#include "laredo/error_codes.hpp"
#include "laredo/memory/detail/baseline_swap.hpp"
#include "laredo/memory/indexed_target.hpp"
#include "memory/row_notifier.hpp"
#include "memory/row_store.hpp"

namespace laredo::memory {

struct IndexedTarget::Impl {
  IndexedTargetOptions options;
  mutable std::shared_mutex mu;
  std::optional<TableIdentifier> table;
  detail::BaselineSwap<RowStore> contents;
  RowNotifier notifier;

  void CheckTable(const TableIdentifier& t) const {
    if (!table || *table != t) {
      throw Error(codes::kWrongTable,
                  fmt::format("IndexedTarget holds {}, not {}",
                              table ? table->ToString() : "no table", t.ToString()));
    }
  }
  std::unique_ptr<RowStore> Fresh(const std::vector<ColumnDefinition>& columns) const {
    return std::make_unique<RowStore>(*table, columns, options.indexes);
  }

  /// Applies one row write; listeners hear it unless it goes into contents built aside.
  template <typename Write>
  void Apply(const TableIdentifier& t, bool baseline, Write&& write) {
    std::unique_lock lk(mu);
    CheckTable(t);
    const bool listening = !contents.building_aside() && notifier.Any();
    auto applied = write(contents.writable(), listening);
    lk.unlock();
    if (listening) notifier.Changed(t, baseline, applied.old_row, applied.new_row);
  }
};

}  // namespace laredo::memory
