#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "laredo/change_event.hpp"
#include "laredo/column_definition.hpp"
#include "laredo/kinesis/position.hpp"
#include "laredo/kinesis/sequence_number.hpp"
#include "laredo/row.hpp"
#include "laredo/table_identifier.hpp"
#include "value_mapping.hpp"

// The S3 + Kinesis data contract (docs/kinesis-data-contract.md): the manifest, one table-object
// line, one Kinesis record. Pure functions of their text; no I/O.
namespace laredo::kinesis::contract {

inline constexpr std::string_view kManifestFormat = "laredo-s3-baseline/1";

/// One table of the manifest.
struct ManifestTable {
  std::vector<ColumnDefinition> columns;
  /// Object keys relative to the manifest's prefix, in the order to read them.
  std::vector<std::string> objects;
};

/// `manifest.json`, validated.
struct Manifest {
  std::string snapshot_id;
  std::chrono::system_clock::time_point created_at;
  std::string stream;
  std::map<TableIdentifier, ManifestTable> tables;
  /// Per shard, the last record already in the snapshot. Shards not listed start at their start.
  std::map<std::string, SequenceNumber> stream_position;

  /// Where streaming starts after this snapshot.
  [[nodiscard]] StreamPosition StartPosition() const { return {snapshot_id, stream_position}; }
};

/// Parses and validates `manifest.json`. Throws `laredo::DataError` (code "bad_manifest") naming
/// every problem with its JSON Pointer ("/tables/public.users/columns/0/type: missing"), not only
/// the first.
Manifest ParseManifest(std::string_view json_text);

/// "schema.table" -> {schema, table}, split at the first '.'; throws `DataError` ("bad_record")
/// when either part is empty.
TableIdentifier ParseTableName(std::string_view name);

/// A Kinesis record, decoded. `event.position` and `event.timestamp` are left for the source.
struct DecodedRecord {
  ChangeEvent event;
  std::optional<std::string> source_position;
  /// A control record (a barrier): `event` holds nothing and the record is skipped.
  bool control = false;
};

/// The `action` of the publisher's barrier records (docs/kinesis-data-contract.md, "Barrier
/// records"): no table, no change; consumers skip them.
inline constexpr std::string_view kBarrierAction = "barrier";

/// Turns table-object lines and Kinesis records into rows and change events through the column
/// types of the manifest. Immutable after construction; const calls are thread-safe.
///
/// Row shapes: a baseline row and an insert's `new` list every manifest column (a column the
/// producer left out is NULL); an update's `new` lists every manifest column too, one left out
/// being `Value::Unchanged()`; `old` holds only the columns the producer sent. Columns the
/// manifest does not know are appended, typed from their JSON values.
class Decoder {
 public:
  /// `fast_rows` false makes `DecodeRow` always build a JSON tree (the reference the tests compare
  /// the fast path with).
  explicit Decoder(const std::map<TableIdentifier, std::vector<ColumnDefinition>>& tables,
                   bool fast_rows = true);
  explicit Decoder(const Manifest& manifest);

  /// One line of a table object. Throws `laredo::DataError` (code "bad_record"); the caller adds
  /// the object key and line number.
  [[nodiscard]] Row DecodeRow(const TableIdentifier& table, std::string_view json_line) const;

  /// One Kinesis record's data. Throws `laredo::DataError` (code "bad_record") for anything that
  /// does not follow the contract: bad JSON, unknown table or action, a missing `new` or key, a
  /// value of the wrong type. Never skips silently.
  [[nodiscard]] DecodedRecord DecodeRecord(std::string_view data) const;
  /// `DecodeRecord` into an existing event, reusing its storage; sets every field but `position`
  /// and `timestamp`. On a throw the event holds a mix of old and new fields. Returns false, with
  /// the event untouched, for a control record that carries no change (`"action": "barrier"`, the
  /// publisher's snapshot marker): the caller skips it.
  bool DecodeRecordInto(std::string_view data, ChangeEvent& event,
                        std::optional<std::string>* source_position = nullptr) const;

  /// The known table a record names, if it is a JSON object with a valid "table"; used to route
  /// the report of a record `DecodeRecord` rejected. Never throws.
  [[nodiscard]] std::optional<TableIdentifier> TableOf(std::string_view data) const noexcept;

  struct Table;

 private:
  std::map<TableIdentifier, std::shared_ptr<const Table>> tables_;
  bool fast_rows_ = true;
};

}  // namespace laredo::kinesis::contract
