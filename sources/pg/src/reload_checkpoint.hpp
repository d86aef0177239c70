#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "laredo/pg/position.hpp"
#include "laredo/table_identifier.hpp"

namespace laredo::pg {

/// Where a reload of one table stood after a merged chunk, as text a target keeps with its rows
/// (`ChangeHandler::OnReloadCheckpoint`) so a restarted process can continue it
/// (`Source::ContinueReload`). Pure. Thread-safety: a value type.
///
/// The state it holds is what the merge cannot rebuild from the stream: the scan's cursor and
/// bound (key values as the server printed them), the keys queued to be read again, and the
/// last change the merge took (`through`): the changes after it are streamed again after a
/// restart, because the slot's confirmed position is held at the newest acknowledged checkpoint.
/// Which rows the copy holds is not kept (one entry per row): the continued merge does without
/// it (`ReloadMerge::Resume`).
struct ReloadCheckpoint {
  TableIdentifier table;
  std::string slot;
  /// The columns the reload reads, names and type oids: a reload whose table changed since
  /// begins again from nothing.
  std::string columns;
  StreamPosition through;
  bool bounded = false;
  bool scanned = false;
  std::optional<std::vector<std::string>> after;
  std::optional<std::vector<std::string>> last;
  /// Keys to read again, each its key columns' values in key order, as text.
  std::vector<std::vector<std::string>> read_again;

  /// "pgreload1:" and a JSON object.
  [[nodiscard]] std::string Encode() const;
  /// Throws `laredo::DataError` (code "bad_reload_checkpoint") for text `Encode` did not write;
  /// the message never quotes the text (it holds the user's key values).
  static ReloadCheckpoint Decode(std::string_view text);

  friend bool operator==(const ReloadCheckpoint&, const ReloadCheckpoint&) = default;
};

}  // namespace laredo::pg
