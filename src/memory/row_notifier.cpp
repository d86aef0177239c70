#include "memory/row_notifier.hpp"

namespace laredo::memory {

std::uint64_t RowNotifier::Add(RowListener listener) {
  const auto id = next_id_++;
  events_.Add(id, std::move(listener));
  return id;
}

std::uint64_t RowNotifier::Add(ChangeListener listener) {
  const auto id = next_id_++;
  pairs_.Add(id, std::move(listener));
  return id;
}

void RowNotifier::Remove(std::uint64_t id) {
  if (!events_.Remove(id)) pairs_.Remove(id);
}

void RowNotifier::Changed(const TableIdentifier& table, bool baseline,
                          const std::optional<Row>& before, const std::optional<Row>& after) const {
  if (!before && !after) return;
  if (events_.Any()) {
    const EventAction action = !before  ? EventAction::Insert
                               : !after ? EventAction::Delete
                                        : EventAction::Update;
    events_.Call(RowEvent{.action = action,
                          .table = table,
                          .baseline = baseline,
                          .before = before ? &*before : nullptr,
                          .after = after ? &*after : nullptr});
  }
  if (pairs_.Any()) pairs_.Call(before, after);
}

void RowNotifier::Baseline(const TableIdentifier& table, EventAction action) const {
  if (!events_.Any()) return;
  events_.Call(RowEvent{.action = action, .table = table, .baseline = true});
}

void RowNotifier::Truncated(const TableIdentifier& table, const RowStore& removed) const {
  if (events_.Any()) {
    events_.Call(RowEvent{.action = EventAction::Truncate, .table = table, .baseline = false});
  }
  if (pairs_.Any()) {
    const std::optional<Row> none;
    removed.ForEach([&](Row row) { pairs_.Call(std::optional<Row>(std::move(row)), none); });
  }
}

void RowNotifier::Difference(const TableIdentifier& table, const RowStore& old,
                             const RowStore& now) const {
  now.ForEach([&](Row row) {
    const std::optional<Row> before = old.Find(row);
    if (!before || !(*before == row))
      Changed(table, true, before, std::optional<Row>(std::move(row)));
  });
  old.ForEach([&](Row row) {
    if (!now.Find(row)) Changed(table, true, std::optional<Row>(std::move(row)), std::nullopt);
  });
}

}  // namespace laredo::memory
