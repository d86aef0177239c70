#include "pgoutput_decoder.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <utility>

namespace laredo::pg {
namespace {

using Reader = ByteReader<PgoutputDecodeError>;

std::optional<std::uint32_t> StreamXid(Reader& in, bool in_stream_block) {
  if (!in_stream_block) return std::nullopt;
  return in.U32("Int32 transaction id (streamed transaction)");
}

Lsn ReadLsn(Reader& in, std::string_view what) { return Lsn(in.U64(what)); }

TupleData ReadTuple(Reader& in) {
  const std::size_t count = in.Count16("Int16 number of columns");
  TupleData tuple;
  // Each column takes at least one byte: never reserve more than the message could hold.
  tuple.reserve(std::min(count, in.remaining()));
  for (std::size_t i = 0; i < count; ++i) {
    const auto at = in.offset();
    const auto kind = in.U8("Byte1 column kind ('n', 'u', 't' or 'b')");
    TupleColumn column;
    switch (kind) {
      case 'n':
        column.kind = TupleColumn::Kind::Null;
        break;
      case 'u':
        column.kind = TupleColumn::Kind::UnchangedToast;
        break;
      case 't':
      case 'b': {
        column.kind = kind == 't' ? TupleColumn::Kind::Text : TupleColumn::Kind::Binary;
        const std::size_t length = in.Length32("Int32 column value length");
        column.data = in.Bytes(length, "column value");
        break;
      }
      default:
        in.FailAt(at, fmt::format("column kind 'n', 'u', 't' or 'b' for column {} (got 0x{:02x})",
                                  i, kind));
    }
    tuple.push_back(column);
  }
  return tuple;
}

// The 'N' (new tuple), 'K' or 'O' marker before a TupleData. `what` is a literal: this runs for
// every row, so the error context is never formatted up front.
std::uint8_t ReadTupleMarker(Reader& in, std::string_view what) { return in.U8(what); }

BeginMessage DecodeBegin(Reader& in) {
  BeginMessage m;
  m.final_lsn = ReadLsn(in, "Int64 final LSN");
  m.commit_time = in.I64("Int64 commit timestamp");
  m.xid = in.U32("Int32 transaction id");
  return m;
}

CommitMessage DecodeCommit(Reader& in) {
  CommitMessage m;
  m.flags = in.U8("Int8 flags");
  m.commit_lsn = ReadLsn(in, "Int64 commit LSN");
  m.end_lsn = ReadLsn(in, "Int64 end LSN");
  m.commit_time = in.I64("Int64 commit timestamp");
  return m;
}

OriginMessage DecodeOrigin(Reader& in) {
  OriginMessage m;
  m.commit_lsn = ReadLsn(in, "Int64 origin commit LSN");
  m.name = in.CString("origin name");
  return m;
}

RelationMessage DecodeRelation(Reader& in, bool in_stream_block) {
  RelationMessage m;
  m.xid = StreamXid(in, in_stream_block);
  m.relation_id = in.U32("Int32 relation id");
  m.namespace_name = in.CString("namespace name");
  m.relation_name = in.CString("relation name");
  m.replica_identity = static_cast<char>(in.U8("Int8 replica identity"));
  const std::size_t count = in.Count16("Int16 number of columns");
  // A column takes at least 10 bytes (flags, name terminator, type OID, modifier).
  m.columns.reserve(std::min(count, in.remaining() / 10));
  for (std::size_t i = 0; i < count; ++i) {
    RelationColumn column;
    column.key = (in.U8("Int8 column flags") & 1U) != 0;
    column.name = in.CString("column name");
    column.type_oid = in.U32("Int32 column type OID");
    column.type_modifier = in.I32("Int32 column type modifier");
    m.columns.push_back(std::move(column));
  }
  return m;
}

TypeMessage DecodeType(Reader& in, bool in_stream_block) {
  TypeMessage m;
  m.xid = StreamXid(in, in_stream_block);
  m.type_oid = in.U32("Int32 type OID");
  m.namespace_name = in.CString("namespace name");
  m.type_name = in.CString("type name");
  return m;
}

InsertMessage DecodeInsert(Reader& in, bool in_stream_block) {
  InsertMessage m;
  m.xid = StreamXid(in, in_stream_block);
  m.relation_id = in.U32("Int32 relation id");
  const auto at = in.offset();
  if (ReadTupleMarker(in, "Byte1 tuple marker 'N'") != 'N')
    in.FailAt(at, "Byte1 'N' before the new tuple");
  m.new_tuple = ReadTuple(in);
  return m;
}

UpdateMessage DecodeUpdate(Reader& in, bool in_stream_block) {
  UpdateMessage m;
  m.xid = StreamXid(in, in_stream_block);
  m.relation_id = in.U32("Int32 relation id");
  auto at = in.offset();
  auto marker = ReadTupleMarker(in, "Byte1 tuple marker 'K', 'O' or 'N'");
  if (marker == 'K' || marker == 'O') {
    m.old_kind = static_cast<OldTuple>(marker);
    m.old_tuple = ReadTuple(in);
    at = in.offset();
    marker = ReadTupleMarker(in, "Byte1 tuple marker 'N'");
    if (marker != 'N') in.FailAt(at, "Byte1 'N' before the new tuple");
  } else if (marker != 'N') {
    in.FailAt(at, "Byte1 'K', 'O' or 'N' before a tuple");
  }
  m.new_tuple = ReadTuple(in);
  return m;
}

DeleteMessage DecodeDelete(Reader& in, bool in_stream_block) {
  DeleteMessage m;
  m.xid = StreamXid(in, in_stream_block);
  m.relation_id = in.U32("Int32 relation id");
  const auto at = in.offset();
  const auto marker = ReadTupleMarker(in, "Byte1 tuple marker 'K' or 'O'");
  if (marker != 'K' && marker != 'O') in.FailAt(at, "Byte1 'K' or 'O' before the old tuple");
  m.old_kind = static_cast<OldTuple>(marker);
  m.old_tuple = ReadTuple(in);
  return m;
}

TruncateMessage DecodeTruncate(Reader& in, bool in_stream_block) {
  TruncateMessage m;
  m.xid = StreamXid(in, in_stream_block);
  const std::size_t count = in.Length32("Int32 number of relations");
  const auto options = in.U8("Int8 options");
  m.cascade = (options & 1U) != 0;
  m.restart_identity = (options & 2U) != 0;
  if (count > in.remaining() / 4) {
    in.Fail(fmt::format("{} Int32 relation ids ({} bytes left)", count, in.remaining()));
  }
  m.relation_ids.reserve(count);
  for (std::size_t i = 0; i < count; ++i) m.relation_ids.push_back(in.U32("Int32 relation id"));
  return m;
}

LogicalDecodingMessage DecodeLogicalMessage(Reader& in, bool in_stream_block) {
  LogicalDecodingMessage m;
  m.xid = StreamXid(in, in_stream_block);
  m.transactional = (in.U8("Int8 flags") & 1U) != 0;
  m.lsn = ReadLsn(in, "Int64 message LSN");
  m.prefix = in.CString("message prefix");
  const std::size_t length = in.Length32("Int32 content length");
  m.content = in.Bytes(length, "message content");
  return m;
}

StreamStartMessage DecodeStreamStart(Reader& in) {
  StreamStartMessage m;
  m.xid = in.U32("Int32 transaction id");
  m.first_segment = in.U8("Int8 first-segment flag") == 1;
  return m;
}

StreamCommitMessage DecodeStreamCommit(Reader& in) {
  StreamCommitMessage m;
  m.xid = in.U32("Int32 transaction id");
  m.flags = in.U8("Int8 flags");
  m.commit_lsn = ReadLsn(in, "Int64 commit LSN");
  m.end_lsn = ReadLsn(in, "Int64 end LSN");
  m.commit_time = in.I64("Int64 commit timestamp");
  return m;
}

StreamAbortMessage DecodeStreamAbort(Reader& in) {
  StreamAbortMessage m;
  m.xid = in.U32("Int32 transaction id");
  m.subxid = in.U32("Int32 subtransaction id");
  return m;
}

}  // namespace

PgoutputMessage DecodePgoutputMessage(std::span<const std::byte> message, bool in_stream_block) {
  Reader in(message, "pgoutput message");
  const auto type = in.U8("Byte1 message type");
  PgoutputMessage result;
  const auto decode = [&](std::string_view context, auto&& fn) {
    in.set_context(context);
    result = fn();
  };
  switch (type) {
    case 'B':
      decode("pgoutput Begin", [&] { return DecodeBegin(in); });
      break;
    case 'C':
      decode("pgoutput Commit", [&] { return DecodeCommit(in); });
      break;
    case 'O':
      decode("pgoutput Origin", [&] { return DecodeOrigin(in); });
      break;
    case 'R':
      decode("pgoutput Relation", [&] { return DecodeRelation(in, in_stream_block); });
      break;
    case 'Y':
      decode("pgoutput Type", [&] { return DecodeType(in, in_stream_block); });
      break;
    case 'I':
      decode("pgoutput Insert", [&] { return DecodeInsert(in, in_stream_block); });
      break;
    case 'U':
      decode("pgoutput Update", [&] { return DecodeUpdate(in, in_stream_block); });
      break;
    case 'D':
      decode("pgoutput Delete", [&] { return DecodeDelete(in, in_stream_block); });
      break;
    case 'T':
      decode("pgoutput Truncate", [&] { return DecodeTruncate(in, in_stream_block); });
      break;
    case 'M':
      decode("pgoutput Message", [&] { return DecodeLogicalMessage(in, in_stream_block); });
      break;
    case 'S':
      decode("pgoutput Stream Start", [&] { return DecodeStreamStart(in); });
      break;
    case 'E':
      decode("pgoutput Stream Stop", [] { return StreamStopMessage{}; });
      break;
    case 'c':
      decode("pgoutput Stream Commit", [&] { return DecodeStreamCommit(in); });
      break;
    case 'A':
      decode("pgoutput Stream Abort", [&] { return DecodeStreamAbort(in); });
      break;
    default:
      in.FailAt(0, fmt::format("a known message type (got 0x{:02x})", type));
  }
  in.ExpectEnd();
  return result;
}

PgoutputMessage PgoutputDecoder::Decode(std::span<const std::byte> message) {
  auto result = DecodePgoutputMessage(message, in_stream_block_);
  const auto misplaced = [&](std::string_view where) {
    throw PgoutputDecodeError("pgoutput stream", 0, message.size(),
                              fmt::format("no {} message {}", MessageName(result), where));
  };
  const bool transaction_control = std::holds_alternative<BeginMessage>(result) ||
                                   std::holds_alternative<CommitMessage>(result) ||
                                   std::holds_alternative<StreamCommitMessage>(result) ||
                                   std::holds_alternative<StreamAbortMessage>(result);
  if (std::holds_alternative<StreamStartMessage>(result)) {
    if (in_stream_block_) misplaced("inside a stream block (Stream Stop missing)");
    in_stream_block_ = true;
  } else if (std::holds_alternative<StreamStopMessage>(result)) {
    if (!in_stream_block_) misplaced("outside a stream block");
    in_stream_block_ = false;
  } else if (transaction_control && in_stream_block_) {
    misplaced("inside a stream block");
  }
  return result;
}

std::string_view MessageName(const PgoutputMessage& message) noexcept {
  // In the order of the PgoutputMessage alternatives.
  static constexpr std::array<std::string_view, std::variant_size_v<PgoutputMessage>> kNames{
      "Begin",        "Commit",      "Origin",        "Relation",    "Type",
      "Insert",       "Update",      "Delete",        "Truncate",    "Message",
      "Stream Start", "Stream Stop", "Stream Commit", "Stream Abort"};
  return kNames[message.index()];
}

}  // namespace laredo::pg
