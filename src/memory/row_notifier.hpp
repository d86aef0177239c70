#pragma once

#include <atomic>
#include <cstdint>
#include <optional>

#include "laredo/memory/detail/listener_list.hpp"
#include "laredo/memory/event.hpp"
#include "laredo/memory/indexed_target.hpp"
#include "memory/row_store.hpp"

namespace laredo::memory {

/// Tells `IndexedTarget`'s listeners what happened: event listeners get one `RowEvent` per
/// change, two-argument listeners the (old, new) pairs of earlier versions (one per removed row on
/// a truncate, nothing for baseline begin and end). Called by the writer outside the target's
/// lock; adding and removing listeners is thread-safe.
class RowNotifier {
 public:
  std::uint64_t Add(RowListener listener);
  std::uint64_t Add(ChangeListener listener);
  void Remove(std::uint64_t id);
  /// Whether anyone listens; writers skip decoding rows for nobody.
  [[nodiscard]] bool Any() const { return events_.Any() || pairs_.Any(); }

  /// A row was inserted (no `before`), updated or deleted (no `after`).
  void Changed(const TableIdentifier& table, bool baseline, const std::optional<Row>& before,
               const std::optional<Row>& after) const;
  /// `BaselineBegin` or `BaselineEnd`.
  void Baseline(const TableIdentifier& table, EventAction action) const;
  /// Every row of `removed` went at once.
  void Truncated(const TableIdentifier& table, const RowStore& removed) const;
  /// `now` replaced `old` (a re-baseline's swap): the rows added, changed and gone.
  void Difference(const TableIdentifier& table, const RowStore& old, const RowStore& now) const;

 private:
  std::atomic<std::uint64_t> next_id_{1};
  detail::ListenerList<RowListener> events_;
  detail::ListenerList<ChangeListener> pairs_;
};

}  // namespace laredo::memory
