#include "laredo/sync_target.hpp"

#include "laredo/error.hpp"
#include "laredo/sync_source.hpp"

namespace laredo {

std::string TargetChange::PositionString() const {
  if (source == nullptr || event == nullptr) return {};
  return source->PositionToString(event->position);
}

void SyncTarget::OnChanges(const TableIdentifier& table, std::span<const TargetChange> changes) {
  std::size_t applied = 0;
  try {
    for (const auto& change : changes) {
      switch (change.action) {
        case ChangeAction::Insert:
          OnInsert(table, *change.row);
          break;
        case ChangeAction::Update:
          OnUpdate(table, *change.row, *change.identity);
          break;
        case ChangeAction::Delete:
          OnDelete(table, *change.identity);
          break;
        case ChangeAction::Truncate:
          OnTruncate(table);
          break;
      }
      ++applied;
    }
  } catch (const std::exception& e) {
    // One change: the failure as it is. Several: say which one failed, so the engine retries
    // that one alone and does not apply the others twice.
    if (changes.size() == 1) throw;
    throw PartialBatchError(applied, std::current_exception(), e.what());
  }
}

}  // namespace laredo
