#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "byte_reader.hpp"
#include "laredo/error_codes.hpp"
#include "laredo/pg/lsn.hpp"

namespace laredo::pg {

/// A pgoutput message that does not follow the format (code "pgoutput_decode").
class PgoutputDecodeError : public WireDecodeError {
 public:
  PgoutputDecodeError(std::string_view context, std::size_t offset, std::size_t size,
                      std::string expected)
      : WireDecodeError(codes::kPgoutputDecode, context, offset, size, std::move(expected)) {}
};

/// One column of a TupleData. For `Text` and `Binary`, `data` points into the decoded message:
/// it is valid only while that buffer is, so map it to a `Value` before releasing the buffer.
struct TupleColumn {
  enum class Kind : char {
    Null = 'n',
    UnchangedToast = 'u',  // a TOASTed value the change left alone; the server did not send it
    Text = 't',
    Binary = 'b',
  };
  Kind kind = Kind::Null;
  std::string_view data;
};
using TupleData = std::vector<TupleColumn>;

/// Which old row an Update or Delete carries: none, the replica identity key ('K'), or the whole
/// old row ('O', under REPLICA IDENTITY FULL).
enum class OldTuple : char { None = 0, Key = 'K', Full = 'O' };

// Timestamps are kept as the server sends them: microseconds since 2000-01-01 UTC (see
// FromPgEpochMicros in replication_messages.hpp). `xid` fields marked optional are present only
// inside a streamed transaction's block (protocol version 2).

struct BeginMessage {
  Lsn final_lsn;
  std::int64_t commit_time = 0;
  std::uint32_t xid = 0;
};

struct CommitMessage {
  std::uint8_t flags = 0;
  Lsn commit_lsn;
  /// Where the transaction ends: the position to acknowledge once its changes are durable.
  Lsn end_lsn;
  std::int64_t commit_time = 0;
};

struct OriginMessage {
  Lsn commit_lsn;
  std::string name;
};

struct RelationColumn {
  /// Part of the replica identity.
  bool key = false;
  std::string name;
  std::uint32_t type_oid = 0;
  std::int32_t type_modifier = -1;
};

struct RelationMessage {
  std::optional<std::uint32_t> xid;
  std::uint32_t relation_id = 0;
  std::string namespace_name;
  std::string relation_name;
  /// pg_class.relreplident: 'd' default, 'n' nothing, 'f' full, 'i' index.
  char replica_identity = 'd';
  std::vector<RelationColumn> columns;
};

struct TypeMessage {
  std::optional<std::uint32_t> xid;
  std::uint32_t type_oid = 0;
  std::string namespace_name;
  std::string type_name;
};

struct InsertMessage {
  std::optional<std::uint32_t> xid;
  std::uint32_t relation_id = 0;
  TupleData new_tuple;
};

struct UpdateMessage {
  std::optional<std::uint32_t> xid;
  std::uint32_t relation_id = 0;
  OldTuple old_kind = OldTuple::None;
  /// Empty when `old_kind` is None.
  TupleData old_tuple;
  TupleData new_tuple;
};

struct DeleteMessage {
  std::optional<std::uint32_t> xid;
  std::uint32_t relation_id = 0;
  /// Key or Full, never None.
  OldTuple old_kind = OldTuple::Key;
  TupleData old_tuple;
};

struct TruncateMessage {
  std::optional<std::uint32_t> xid;
  bool cascade = false;
  bool restart_identity = false;
  std::vector<std::uint32_t> relation_ids;
};

/// A logical decoding message (pg_logical_emit_message). `content` points into the decoded
/// message, like TupleColumn::data.
struct LogicalDecodingMessage {
  std::optional<std::uint32_t> xid;
  bool transactional = false;
  Lsn lsn;
  std::string prefix;
  std::string_view content;
};

struct StreamStartMessage {
  std::uint32_t xid = 0;
  /// True for the transaction's first block.
  bool first_segment = false;
};

struct StreamStopMessage {};

struct StreamCommitMessage {
  std::uint32_t xid = 0;
  std::uint8_t flags = 0;
  Lsn commit_lsn;
  Lsn end_lsn;
  std::int64_t commit_time = 0;
};

/// Discards a streamed transaction (`subxid == xid`) or one of its subtransactions.
struct StreamAbortMessage {
  std::uint32_t xid = 0;
  std::uint32_t subxid = 0;
};

using PgoutputMessage = std::variant<BeginMessage, CommitMessage, OriginMessage, RelationMessage,
                                     TypeMessage, InsertMessage, UpdateMessage, DeleteMessage,
                                     TruncateMessage, LogicalDecodingMessage, StreamStartMessage,
                                     StreamStopMessage, StreamCommitMessage, StreamAbortMessage>;

/// Decodes one pgoutput message (protocol version 1, plus the version-2 streaming messages).
/// `in_stream_block` says whether a Stream Start came before it without its Stream Stop: inside
/// a block, the data messages carry a transaction id after their type byte.
/// Pure: no state, no allocation beyond the result. Throws `PgoutputDecodeError` on anything
/// malformed: truncation, negative lengths, unknown message or tuple kinds, trailing bytes.
PgoutputMessage DecodePgoutputMessage(std::span<const std::byte> message, bool in_stream_block);

/// Decodes a sequence of messages, tracking Stream Start / Stream Stop so the caller need not,
/// and rejecting messages that cannot occur where they do (a Begin inside a stream block, a
/// Stream Stop outside one).
/// Thread-safety: one instance per stream, used by one thread.
class PgoutputDecoder {
 public:
  PgoutputMessage Decode(std::span<const std::byte> message);

  [[nodiscard]] bool in_stream_block() const noexcept { return in_stream_block_; }

 private:
  bool in_stream_block_ = false;
};

/// "Begin", "Insert", ... for logs.
std::string_view MessageName(const PgoutputMessage& message) noexcept;

}  // namespace laredo::pg
