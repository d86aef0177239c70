#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "laredo/column_definition.hpp"
#include "laredo/table_identifier.hpp"

namespace laredo::snapshot {

/// The metadata document version this library writes and the only one it reads.
inline constexpr int kMetadataVersion = 1;

/// Where one source stood when the snapshot was taken: the stream resumes from `position`.
struct SourceEntry {
  std::string id{};
  /// As the source prints it (`SyncSource::PositionToString`).
  std::string position{};

  friend bool operator==(const SourceEntry&, const SourceEntry&) = default;
};

/// One table's file in a snapshot.
struct TableEntry {
  TableIdentifier table{};
  /// The engine pipeline whose target the rows come from (`Engine::AddPipeline`'s id), so one
  /// table fanned out to several targets has one entry per target; empty for a file written
  /// outside an engine. Entries are unique by (table, pipeline).
  std::string pipeline{};
  std::vector<ColumnDefinition> columns{};
  std::uint64_t row_count = 0;
  /// The file's name within the snapshot.
  std::string file{};
  std::uint64_t bytes = 0;
  /// CRC-32 of the file but its last four bytes (the file's own copy of this value).
  std::uint32_t checksum = 0;

  friend bool operator==(const TableEntry&, const TableEntry&) = default;
};

/// A committed snapshot's description, stored as JSON (`metadata.json`) next to its files.
/// A value type.
struct SnapshotMetadata {
  int format_version = kMetadataVersion;
  /// Sortable: later snapshots of one store have greater ids (`NewSnapshotId`).
  std::string id{};
  /// RFC 3339, UTC, microseconds: "2024-05-01T12:00:00.000001Z".
  std::string created_at{};
  std::vector<SourceEntry> sources{};
  std::vector<TableEntry> tables{};

  /// The first entry of `table`, or null.
  [[nodiscard]] const TableEntry* FindTable(const TableIdentifier& table) const;
  /// The entry of the engine pipeline `pipeline_id`, or null.
  [[nodiscard]] const TableEntry* FindPipeline(std::string_view pipeline_id) const;
  /// Rows of every table, summed.
  [[nodiscard]] std::uint64_t TotalRows() const;
  /// Bytes of every table file, summed.
  [[nodiscard]] std::uint64_t TotalBytes() const;
  /// The entry of `source_id`, or null.
  [[nodiscard]] const SourceEntry* FindSource(std::string_view source_id) const;
  [[nodiscard]] std::string ToJson() const;
  /// Parses and checks a document; `name` goes into messages. Throws `laredo::DataError`:
  /// "snapshot_version" for another format version, "bad_snapshot" for anything else.
  static SnapshotMetadata FromJson(std::string_view text, std::string_view name);

  friend bool operator==(const SnapshotMetadata&, const SnapshotMetadata&) = default;
};

/// A new snapshot id: the current UTC time to the microsecond and a random suffix,
/// "20240501T120000.000001Z-3f2a9c1b". Ids made by one process increase strictly.
/// Thread-safe.
std::string NewSnapshotId();
/// Whether `text` has the shape of `NewSnapshotId`'s ids (a store lists only such names).
bool IsSnapshotId(std::string_view text);
/// The creation time an id carries, as RFC 3339 ("2024-05-01T12:00:00.000001Z").
std::string CreatedAtOf(std::string_view id);

}  // namespace laredo::snapshot
