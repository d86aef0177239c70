// libFuzzer target for the PostgreSQL wire decoders (see README.md). Any input must either decode
// or throw the decoder's typed error; anything else (a crash, a sanitizer report, another
// exception type escaping) is a bug.
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string_view>
#include <variant>
#include <vector>

#include "binary_values.hpp"
#include "change_assembler.hpp"
#include "copy_binary.hpp"
#include "copy_text.hpp"
#include "laredo/error.hpp"
#include "pgoutput_decoder.hpp"
#include "replication_messages.hpp"
#include "stream_buffers.hpp"
#include "transaction_streamer.hpp"
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

// Every binary form: the built-in types and arrays, an enum and an array of enums.
std::vector<laredo::pg::BinaryType> BinaryTypes() {
  std::vector<laredo::pg::BinaryType> types;
  for (std::uint32_t oid = 0; oid < 4000; ++oid) {
    if (const auto t = laredo::pg::BuiltinBinaryType(oid)) types.push_back(*t);
  }
  types.push_back({.kind = laredo::pg::BinaryType::Kind::Enum});
  types.push_back(
      {.kind = laredo::pg::BinaryType::Kind::Array, .element_oid = 16384, .element_is_enum = true});
  return types;
}

// A binary value decodes or throws InvalidBinary, as every type it could be.
void MapBinary(std::string_view bytes) {
  static const auto types = BinaryTypes();
  for (const auto& type : types) {
    try {
      (void)laredo::pg::BinaryToValue(type, bytes);
    } catch (const laredo::pg::InvalidBinary&) {
    }
  }
}

void MapTuple(const TupleData& tuple) {
  std::size_t i = 0;
  for (const auto& column : tuple) {
    if (column.kind == TupleColumn::Kind::Binary) MapBinary(column.data);
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

// Checks what the assembler hands on: positions strictly increase (the engine's ACK depends on
// it) and the ACKable LSN never moves backwards.
class CheckingHandler final : public laredo::ChangeHandler {
 public:
  void OnChange(laredo::ChangeEvent event) override {
    const auto& position = std::any_cast<const laredo::pg::StreamPosition&>(event.position);
    if (last_ && laredo::pg::StreamPosition::Compare(*last_, position) >= 0) __builtin_trap();
    if (last_ && position.ack_lsn < last_->ack_lsn) __builtin_trap();
    last_ = position;
  }

 private:
  std::optional<laredo::pg::StreamPosition> last_;
};

// The input as a sequence of messages (each preceded by a one-byte length) through the stateful
// decoder; what decodes then goes through the TransactionStreamer (a small memory bound, so
// streamed transactions also spill) and a ChangeAssembler that knows every table the sequence
// names, so the changes are assembled, not skipped.
void DecodeSequence(std::span<const std::byte> bytes) {
  laredo::pg::PgoutputDecoder decoder;
  std::vector<PgoutputMessage> messages;
  std::vector<std::span<const std::byte>> raw;
  for (std::size_t pos = 0; pos < bytes.size();) {
    const std::size_t n =
        std::min<std::size_t>(static_cast<std::uint8_t>(bytes[pos]), bytes.size() - pos - 1);
    try {
      messages.push_back(decoder.Decode(bytes.subspan(pos + 1, n)));
      raw.push_back(bytes.subspan(pos + 1, n));
      MapColumns(messages.back());
    } catch (const PgoutputDecodeError&) {
    }
    pos += 1 + n;
  }
  std::map<laredo::TableIdentifier, std::vector<laredo::ColumnDefinition>> known;
  for (const auto& message : messages) {
    if (const auto* r = std::get_if<laredo::pg::RelationMessage>(&message)) {
      auto& columns = known[laredo::Table(r->namespace_name, r->relation_name)];
      if (!columns.empty()) continue;  // the first shape is what the targets were given
      for (const auto& c : r->columns) {
        columns.push_back(
            {.name = c.name, .type_oid = c.type_oid, .type_modifier = c.type_modifier});
      }
    }
  }
  laredo::pg::ChangeAssembler assembler(std::move(known), laredo::pg::StreamPosition{});
  laredo::pg::ChangeAssembler::MessageCursor cursor;
  assembler.SetMessageHandler([](const laredo::pg::LogicalMessage&) {}, cursor);
  laredo::pg::StreamCounters counters;
  laredo::pg::StreamBuffers buffers(512, "", counters);
  laredo::pg::TransactionStreamer streamer(buffers);
  CheckingHandler handler;
  for (std::size_t i = 0; i < messages.size(); ++i) {
    try {
      if (!streamer.Handle(messages[i], raw[i], assembler, handler)) {
        assembler.Handle(messages[i], handler);
      }
    } catch (const laredo::DataError&) {
      // Out-of-protocol sequences (a change before its Relation, a tuple of the wrong width,
      // bad values) are typed errors; the stream would end here.
      return;
    } catch (const laredo::RetryableError&) {
      // A later stream segment without its first: the stream would reconnect here.
      return;
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

  // 3. The input as a sequence of messages, decoded and assembled into changes.
  DecodeSequence(bytes);

  // 4. The input as a COPY text line.
  try {
    laredo::pg::CopyTextParser parser;
    (void)parser.Parse(std::string_view(reinterpret_cast<const char*>(data), size));
  } catch (const laredo::DataError&) {
  }

  // 5. The input as a binary value of every type, and as binary COPY data (a header with a row,
  // then the same bytes as a later row).
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  MapBinary(text);
  for (const std::size_t columns : {std::size_t{1}, std::size_t{3}}) {
    laredo::pg::CopyBinaryParser parser(columns);
    for (int k = 0; k < 2; ++k) {
      try {
        (void)parser.Parse(text);
      } catch (const laredo::DataError&) {
      }
    }
  }
  return 0;
}
