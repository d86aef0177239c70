// TableFileWriter: header at construction, rows gathered into checksummed blocks, the trailer at
// Finish. The whole-file checksum is kept as the bytes go out, so nothing is read back.
#include <fmt/format.h>

#include <algorithm>

#include "laredo/error.hpp"
#include "laredo/error_codes.hpp"
#include "laredo/snapshot/table_file.hpp"
#include "snapshot/crc.hpp"
#include "snapshot/header.hpp"
#include "snapshot/row_encoding.hpp"

namespace laredo::snapshot {

struct TableFileWriter::Impl {
  std::unique_ptr<ByteSink> sink;
  TableIdentifier table;
  TableFileOptions options;
  RowEncoder encoder;
  std::string block;  // the block head's room, then the rows
  std::uint32_t block_rows = 0;
  std::uint64_t rows = 0;
  std::uint64_t bytes = 0;
  std::uint32_t crc = 0;
  bool finished = false;

  Impl(std::unique_ptr<ByteSink> s, TableIdentifier t, const std::vector<ColumnDefinition>& columns,
       TableFileOptions o)
      : sink(std::move(s)), table(std::move(t)), options(o), encoder(columns) {
    options.block_bytes = std::clamp<std::size_t>(options.block_bytes, 1, file::kMaxBlockBytes / 2);
  }

  void Emit(std::string_view data) {
    sink->Write(data);
    crc = Crc32(crc, data);
    bytes += data.size();
  }

  void FlushBlock() {
    if (block_rows == 0) return;
    const std::size_t payload = block.size() - file::kBlockHeadBytes;
    if (payload > file::kMaxBlockBytes) {
      throw DataError(codes::kBadSnapshot,
                      fmt::format("a row of {} is larger than a snapshot block may be ({} bytes)",
                                  table.ToString(), file::kMaxBlockBytes));
    }
    std::string head;
    head.push_back(file::kBlockTag);
    io::PutU32(head, static_cast<std::uint32_t>(payload));
    io::PutU32(head, block_rows);
    std::copy(head.begin(), head.end(), block.begin());
    // Each byte is checksummed once: the block's CRC, combined into the whole file's.
    const std::uint32_t block_crc = Crc32(0, block);
    crc = Crc32Combine(crc, block_crc, block.size());
    io::PutU32(block, block_crc);
    crc = Crc32(crc, std::string_view(block).substr(block.size() - 4));
    sink->Write(block);
    bytes += block.size();
    rows += block_rows;
    block_rows = 0;
    block.assign(file::kBlockHeadBytes, '\0');
  }
};

TableFileWriter::TableFileWriter(std::unique_ptr<ByteSink> sink, TableIdentifier table,
                                 std::vector<ColumnDefinition> columns, TableFileOptions options)
    : impl_(std::make_unique<Impl>(std::move(sink), std::move(table), columns, options)) {
  Impl& d = *impl_;
  const std::string header = file::EncodeHeader(d.table, columns);
  std::string preamble(file::kMagic);
  io::PutU32(preamble, kTableFileVersion);
  io::PutU32(preamble, static_cast<std::uint32_t>(header.size()));
  preamble += header;
  io::PutU32(preamble, Crc32(0, header));
  d.Emit(preamble);
  d.block.reserve(d.options.block_bytes + 4096);
  d.block.assign(file::kBlockHeadBytes, '\0');
}

TableFileWriter::~TableFileWriter() = default;

void TableFileWriter::Write(const Row& row) {
  Impl& d = *impl_;
  if (d.finished) throw Error(codes::kBadSnapshot, "TableFileWriter: Write after Finish");
  d.encoder.Append(row, d.block);
  ++d.block_rows;
  if (d.block.size() >= d.options.block_bytes || d.block_rows == UINT32_MAX) d.FlushBlock();
}

TableFileSummary TableFileWriter::Finish() {
  Impl& d = *impl_;
  if (d.finished) throw Error(codes::kBadSnapshot, "TableFileWriter: Finish called twice");
  d.FlushBlock();
  std::string trailer;
  trailer.push_back(file::kEndTag);
  io::PutU64(trailer, d.rows);
  d.Emit(trailer);
  std::string checksum;
  const std::uint32_t crc = d.crc;
  io::PutU32(checksum, crc);
  d.Emit(checksum);
  d.sink->Close();
  d.finished = true;
  return {.rows = d.rows, .bytes = d.bytes, .checksum = crc};
}

}  // namespace laredo::snapshot
