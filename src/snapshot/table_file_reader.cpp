// TableFileReader: reads through a buffer, checks each part before it decodes it, and keeps the
// whole-file checksum as it goes; the end is reported only once the trailer checked out and
// nothing follows it.
#include <fmt/format.h>

#include <cstring>

#include "laredo/error.hpp"
#include "laredo/error_codes.hpp"
#include "laredo/snapshot/table_file.hpp"
#include "snapshot/crc.hpp"
#include "snapshot/header.hpp"
#include "snapshot/row_encoding.hpp"

namespace laredo::snapshot {
namespace {

constexpr std::size_t kReadChunk = 1 << 20;

}  // namespace

struct TableFileReader::Impl {
  std::unique_ptr<ByteSource> source;
  std::string name;
  std::string buf;
  std::size_t pos = 0;         // consumed bytes of `buf`
  std::uint64_t consumed = 0;  // of the file
  std::uint32_t crc = 0;       // of every consumed byte but the trailer's checksum
  bool eof = false;
  file::Header header;
  std::optional<RowDecoder> decoder;
  // The current block's rows and checksum, and the previous block's: views of a row that
  // `NextRaw` returned stay valid across one block boundary (a bulk load looks one row ahead).
  std::string payloads[2];
  std::size_t current = 0;
  std::optional<BlockCursor> block;
  std::uint32_t block_rows_left = 0;
  std::uint64_t rows = 0;
  bool done = false;
  TableFileSummary summary;

  [[nodiscard]] FailWith At(std::uint64_t offset) const { return FailWith{name, offset}; }

  [[noreturn]] void Truncated(std::size_t missing) const {
    throw DataError(codes::kBadSnapshot,
                    fmt::format("snapshot file {}: truncated: it ends at byte {}, inside a part "
                                "that needs {} more bytes",
                                name, consumed + (buf.size() - pos), missing));
  }

  /// The next `n` bytes of a block into `out`, not checksummed: what the buffer holds is copied,
  /// the rest read straight into `out` (a block is read once, not shifted through the buffer).
  void TakeInto(std::string& out, std::size_t n) {
    out.resize(n);
    const std::size_t buffered = std::min(n, buf.size() - pos);
    std::memcpy(out.data(), buf.data() + pos, buffered);
    pos += buffered;
    std::size_t have = buffered;
    while (have < n && !eof) {
      const std::size_t got = source->Read(out.data() + have, n - have);
      eof = got == 0;
      have += got;
    }
    if (have < n) {
      consumed += have;
      Truncated(n - have);
    }
    consumed += n;
  }

  /// The next `n` bytes, contiguous; valid until the next call.
  std::string_view Take(std::size_t n, bool checksummed = true) {
    if (buf.size() - pos < n) {
      buf.erase(0, pos);
      pos = 0;
      while (buf.size() < n && !eof) {
        const std::size_t old = buf.size();
        const std::size_t want = std::max(kReadChunk, n - old);
        buf.resize(old + want);
        const std::size_t got = source->Read(buf.data() + old, want);
        buf.resize(old + got);
        eof = got == 0;
      }
      if (buf.size() < n) Truncated(n - buf.size());
    }
    std::string_view out(buf.data() + pos, n);
    pos += n;
    consumed += n;
    if (checksummed) crc = Crc32(crc, out);
    return out;
  }

  void ReadPreamble() {
    const std::string_view pre = Take(file::kPreambleBytes);
    if (pre.substr(0, file::kMagic.size()) != file::kMagic) {
      At(0)("not a laredo snapshot table file (wrong magic bytes)");
    }
    const std::uint32_t version = io::GetU32(pre.data() + 8);
    if (version != kTableFileVersion) {
      throw DataError(codes::kSnapshotVersion,
                      fmt::format("snapshot file {}: format version {}; this library reads "
                                  "version {}",
                                  name, version, kTableFileVersion));
    }
    const std::uint32_t length = io::GetU32(pre.data() + 12);
    if (length > file::kMaxHeaderBytes) At(12)("the header length is out of bounds");
    const std::string header_bytes(Take(length));
    if (io::GetU32(Take(4).data()) != Crc32(0, header_bytes)) {
      At(file::kPreambleBytes)("the header's checksum does not match");
    }
    BlockCursor in(header_bytes, At(file::kPreambleBytes));
    header = file::DecodeHeader(in);
    decoder.emplace(header.columns);
  }

  /// Starts the next block; false at the trailer (checked).
  bool NextBlock() {
    const std::uint64_t offset = consumed;
    const char tag = Take(1, false)[0];
    if (tag == file::kEndTag) {
      crc = Crc32(crc, std::string_view(&tag, 1));
      Finish(offset);
      return false;
    }
    if (tag != file::kBlockTag) At(offset)("unknown part tag (neither a block nor the trailer)");
    const std::string_view head = Take(8, false);
    const std::uint32_t length = io::GetU32(head.data());
    const std::uint32_t count = io::GetU32(head.data() + 4);
    if (length > file::kMaxBlockBytes) At(offset)("a block length is out of bounds");
    if (count == 0 || count > length) At(offset)("a block's row count does not fit its length");
    // Each byte is checksummed once: the block's CRC, combined into the whole file's.
    std::uint32_t block_crc = Crc32(0, std::string_view(&tag, 1));
    block_crc = Crc32(block_crc, head);
    current ^= 1;
    std::string& payload = payloads[current];
    TakeInto(payload, static_cast<std::size_t>(length) + 4);
    const std::string_view body(payload.data(), length);
    block_crc = Crc32(block_crc, body);
    const std::string_view stored(payload.data() + length, 4);
    if (io::GetU32(stored.data()) != block_crc) At(offset)("a block's checksum does not match");
    crc = Crc32Combine(crc, block_crc, file::kBlockHeadBytes + length);
    crc = Crc32(crc, stored);
    block.emplace(body, At(offset));
    block_rows_left = count;
    return true;
  }

  /// Whether a row follows (starting the next block when the current one is done).
  bool RowAhead() {
    if (done) return false;
    while (block_rows_left == 0) {
      if (block && !block->empty()) block->Fail("bytes after the last row of a block");
      block.reset();
      if (!NextBlock()) return false;
    }
    return true;
  }

  void Finish(std::uint64_t offset) {
    const std::uint64_t stated = io::GetU64(Take(8).data());
    if (stated != rows) {
      At(offset)(
          fmt::format("the trailer counts {} rows, the blocks hold {}", stated, rows).c_str());
    }
    const std::uint32_t expected = crc;
    if (io::GetU32(Take(4, false).data()) != expected) {
      At(offset)("the whole-file checksum does not match");
    }
    char extra = 0;
    if (pos < buf.size() || (!eof && source->Read(&extra, 1) != 0)) {
      At(consumed)("bytes after the trailer");
    }
    summary = {.rows = rows, .bytes = consumed, .checksum = expected};
    done = true;
  }
};

TableFileReader::TableFileReader(std::unique_ptr<ByteSource> source, std::string name)
    : impl_(std::make_unique<Impl>()) {
  impl_->source = std::move(source);
  impl_->name = std::move(name);
  impl_->ReadPreamble();
}

TableFileReader::~TableFileReader() = default;

const TableIdentifier& TableFileReader::table() const { return impl_->header.table; }

const std::vector<ColumnDefinition>& TableFileReader::columns() const {
  return impl_->header.columns;
}

bool TableFileReader::Next(Row& row) {
  Impl& d = *impl_;
  if (!d.RowAhead()) return false;
  d.decoder->Decode(*d.block, row);
  --d.block_rows_left;
  ++d.rows;
  return true;
}

TableFileReader::Raw TableFileReader::NextRaw(std::vector<std::string_view>& columns) {
  Impl& d = *impl_;
  if (!d.RowAhead()) return Raw::End;
  if (!d.decoder->DecodeRaw(*d.block, columns)) return Raw::Other;
  --d.block_rows_left;
  ++d.rows;
  return Raw::Row;
}

TableFileSummary TableFileReader::summary() const { return impl_->summary; }

}  // namespace laredo::snapshot
