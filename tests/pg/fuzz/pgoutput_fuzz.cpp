// libFuzzer target for the PostgreSQL wire decoders (see README.md). Any input must either decode
// or throw the decoder's typed error; anything else (a crash, a sanitizer report, another
// exception type escaping) is a bug.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <variant>

#include "copy_text.hpp"
#include "laredo/error.hpp"
#include "pgoutput_decoder.hpp"
#include "replication_messages.hpp"
#include "type_mapping.hpp"

namespace {

using laredo::pg::DecodePgoutputMessage;
using laredo::pg::PgoutputDecodeError;
using laredo::pg::PgoutputMessage;
using laredo::pg::TupleColumn;
using laredo::pg::TupleData;

// Type OIDs a decoded column is mapped as, cycled by column index, so tuple bytes also exercise
// the text mapping the stream uses.
constexpr std::uint32_t kTypes[] = {
    laredo::pg::oid::kBool,        laredo::pg::oid::kInt2,   laredo::pg::oid::kInt4,
    laredo::pg::oid::kInt8,        laredo::pg::oid::kFloat4, laredo::pg::oid::kFloat8,
    laredo::pg::oid::kNumeric,     laredo::pg::oid::kBytea,  laredo::pg::oid::kUuid,
    laredo::pg::oid::kDate,        laredo::pg::oid::kTime,   laredo::pg::oid::kTimestamp,
    laredo::pg::oid::kTimestampTz, laredo::pg::oid::kText,
};

void MapTuple(const TupleData& tuple) {
  std::size_t i = 0;
  for (const auto& column : tuple) {
    if (column.kind != TupleColumn::Kind::Text) continue;
    try {
      (void)laredo::pg::TextToValue(kTypes[i++ % std::size(kTypes)], column.data);
    } catch (const laredo::DataError&) {
    }
  }
}

void MapColumns(const PgoutputMessage& message) {
  if (const auto* m = std::get_if<laredo::pg::InsertMessage>(&message)) MapTuple(m->new_tuple);
  if (const auto* m = std::get_if<laredo::pg::UpdateMessage>(&message)) {
    MapTuple(m->old_tuple);
    MapTuple(m->new_tuple);
  }
  if (const auto* m = std::get_if<laredo::pg::DeleteMessage>(&message)) MapTuple(m->old_tuple);
}

void DecodePgoutput(std::span<const std::byte> bytes) {
  for (const bool in_stream_block : {false, true}) {
    try {
      MapColumns(DecodePgoutputMessage(bytes, in_stream_block));
    } catch (const PgoutputDecodeError& e) {
      if (e.offset() > bytes.size()) __builtin_trap();
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data), size);

  // 1. The input as one pgoutput message, in and out of a stream block.
  DecodePgoutput(bytes);

  // 2. The input as a replication CopyData message; an XLogData payload is a pgoutput message.
  try {
    const auto message = laredo::pg::DecodeReplicationMessage(bytes);
    if (const auto* x = std::get_if<laredo::pg::XLogData>(&message)) DecodePgoutput(x->payload);
  } catch (const laredo::pg::ReplicationDecodeError& e) {
    if (e.offset() > bytes.size()) __builtin_trap();
  }

  // 3. The input as a sequence of messages through the stateful decoder: each message is
  // preceded by a one-byte length.
  laredo::pg::PgoutputDecoder decoder;
  for (std::size_t pos = 0; pos < size;) {
    const std::size_t n = std::min<std::size_t>(data[pos], size - pos - 1);
    try {
      MapColumns(decoder.Decode(bytes.subspan(pos + 1, n)));
    } catch (const PgoutputDecodeError&) {
    }
    pos += 1 + n;
  }

  // 4. The input as a COPY text line.
  try {
    laredo::pg::CopyTextParser parser;
    (void)parser.Parse(std::string_view(reinterpret_cast<const char*>(data), size));
  } catch (const laredo::DataError&) {
  }
  return 0;
}
