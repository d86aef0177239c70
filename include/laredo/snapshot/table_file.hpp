#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "laredo/column_definition.hpp"
#include "laredo/snapshot/streams.hpp"
#include "laredo/table_identifier.hpp"

// The binary file of one table's rows in a snapshot; its layout is in docs/snapshots.md.
namespace laredo::snapshot {

/// The version this library writes and the only one it reads.
inline constexpr std::uint32_t kTableFileVersion = 1;

/// Options of `TableFileWriter`.
struct TableFileOptions {
  /// Rows are gathered into blocks of about this many bytes, each with its own checksum, so a
  /// reader checks what it decodes before it decodes the next block. Default 256 KiB.
  std::size_t block_bytes = 256 * 1024;
};

/// What a finished file holds, for the snapshot's metadata.
struct TableFileSummary {
  std::uint64_t rows = 0;
  std::uint64_t bytes = 0;
  /// CRC-32 of the whole file but its last field (which holds this value).
  std::uint32_t checksum = 0;
};

/// Writes one table file into a sink: header at construction, rows in blocks, trailer at
/// `Finish` (which closes the sink). Destroyed unfinished, it leaves the sink unclosed, so the
/// file never counts. Rows may hold columns the table does not declare (they are kept by name);
/// `Value::Unchanged()` is refused with a `DataError`.
/// Threading contract: one thread at a time.
class TableFileWriter final : public RowWriter {
 public:
  TableFileWriter(std::unique_ptr<ByteSink> sink, TableIdentifier table,
                  std::vector<ColumnDefinition> columns, TableFileOptions options = {});
  ~TableFileWriter() override;
  TableFileWriter(const TableFileWriter&) = delete;
  TableFileWriter& operator=(const TableFileWriter&) = delete;

  void Write(const Row& row) override;
  /// Writes the last block and the trailer and closes the sink.
  TableFileSummary Finish();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// Reads and checks one table file. The constructor reads the header; `Next` yields rows block
/// by block after checking each block's checksum, and the trailer (row count, whole-file
/// checksum, nothing after it) before it returns false. Every problem throws `laredo::DataError`
/// naming `name` and what is wrong: code "snapshot_version" for a version this library does not
/// read, "bad_snapshot" for everything else (magic, a length out of bounds, a checksum, a count,
/// an unknown value kind, a truncated file, trailing bytes).
/// Threading contract: one thread at a time.
class TableFileReader final : public RowReader {
 public:
  TableFileReader(std::unique_ptr<ByteSource> source, std::string name);
  ~TableFileReader() override;
  TableFileReader(const TableFileReader&) = delete;
  TableFileReader& operator=(const TableFileReader&) = delete;

  [[nodiscard]] const TableIdentifier& table() const;
  [[nodiscard]] const std::vector<ColumnDefinition>& columns() const;
  bool Next(Row& row) override;

  /// What `NextRaw` found.
  enum class Raw { Row, Other, End };
  /// The bulk-load path of targets that store values in the key encoding of
  /// `laredo/memory/key.hpp` (a kind byte, then the payload: what this file stores): the next
  /// row as one view per table column (empty for a column the row lacks), checked as `Next`
  /// checks it. The views stay valid until the call after the next one (so a caller may look one
  /// row ahead). `Raw::Other`: the row names a column the table does
  /// not declare; nothing was consumed, read it with `Next`. `Raw::End`: as `Next` returning
  /// false (the trailer checked). The views hold the file's bytes: little-endian doubles.
  Raw NextRaw(std::vector<std::string_view>& columns);
  /// After `Next` returned false: what the trailer said (already checked against the file).
  [[nodiscard]] TableFileSummary summary() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace laredo::snapshot
