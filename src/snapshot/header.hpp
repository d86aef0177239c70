#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "laredo/column_definition.hpp"
#include "laredo/table_identifier.hpp"
#include "snapshot/row_encoding.hpp"

// The table file's fixed parts: magic, header (table and columns), block and trailer tags.
namespace laredo::snapshot::file {

inline constexpr std::string_view kMagic = "LRDOSNAP";  // 8 bytes
inline constexpr char kBlockTag = 'B';
inline constexpr char kEndTag = 'E';
/// Bounds a reader enforces before it allocates: far above what a writer produces.
inline constexpr std::uint32_t kMaxHeaderBytes = 16u << 20;
inline constexpr std::uint32_t kMaxBlockBytes = 512u << 20;
/// magic + version + header length, before the header's bytes.
inline constexpr std::size_t kPreambleBytes = 16;
/// tag + payload length + row count, before a block's rows.
inline constexpr std::size_t kBlockHeadBytes = 9;
/// tag + row count + checksum.
inline constexpr std::size_t kTrailerBytes = 13;

/// The header's bytes (not the preamble or its checksum).
std::string EncodeHeader(const TableIdentifier& table,
                         const std::vector<ColumnDefinition>& columns);

struct Header {
  TableIdentifier table;
  std::vector<ColumnDefinition> columns;
};
Header DecodeHeader(BlockCursor& in);

}  // namespace laredo::snapshot::file
