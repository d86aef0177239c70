#pragma once

#include <cstdint>
#include <functional>
#include <string_view>

#include "laredo/row.hpp"
#include "laredo/table_identifier.hpp"

namespace laredo::memory {

/// What happened to an in-memory target's contents.
enum class EventAction : std::uint8_t {
  Insert,         ///< `after` was added (`before` is null)
  Update,         ///< `before` became `after` (a key change too: `before` has the old key)
  Delete,         ///< `before` was removed (`after` is null)
  Truncate,       ///< every row was removed, at once (both null)
  BaselineBegin,  ///< a baseline of the table starts (both null)
  BaselineEnd,    ///< the baseline is complete and its rows are what readers see (both null)
};

/// "Insert", "Update", ... for logs.
constexpr std::string_view EventActionName(EventAction action) {
  switch (action) {
    case EventAction::Insert:
      return "Insert";
    case EventAction::Update:
      return "Update";
    case EventAction::Delete:
      return "Delete";
    case EventAction::Truncate:
      return "Truncate";
    case EventAction::BaselineBegin:
      return "BaselineBegin";
    case EventAction::BaselineEnd:
      return "BaselineEnd";
  }
  return "?";
}

/// One change of an in-memory target, as its listeners receive it (after it is applied).
/// `Item` is `Row` for `IndexedTarget` and the user's type for `TypedTarget<T>`. The pointers
/// are valid during the call only; copy what you keep.
template <typename Item>
struct Event {
  EventAction action = EventAction::Insert;
  const TableIdentifier& table;
  /// True for the rows of a baseline (and the net difference a re-baseline applies), and for
  /// `BaselineBegin`/`BaselineEnd`: a listener that only wants live changes skips these.
  bool baseline = false;
  const Item* before = nullptr;
  const Item* after = nullptr;
};

using RowEvent = Event<Row>;
/// Runs on the engine's pipeline thread, outside the target's lock (so it may read the target);
/// it must not block for long: it delays the pipeline. An exception it throws fails the change
/// like a target error.
using RowListener = std::function<void(const RowEvent& event)>;

}  // namespace laredo::memory
