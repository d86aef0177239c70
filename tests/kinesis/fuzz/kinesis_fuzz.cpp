// libFuzzer target for what the Kinesis source parses from the outside (see README.md): S3's XML
// answers, base64 record data, stream positions and checkpoints, the manifest, and records and
// rows of the data contract. Any input must parse or throw `laredo::DataError`; a crash, a
// sanitizer report, another exception escaping, or a broken round trip is a bug.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "base64.hpp"
#include "contract.hpp"
#include "laredo/error.hpp"
#include "laredo/kinesis/position.hpp"
#include "xml_scan.hpp"

namespace {

using laredo::DataError;
namespace kinesis = laredo::kinesis;

constexpr std::string_view kManifest = R"json({
  "format": "laredo-s3-baseline/1", "snapshot_id": "s", "created_at": "2024-05-01T12:00:00Z",
  "stream": "cdc",
  "tables": {"public.t": {"columns": [
    {"name": "id", "type": "bigint", "nullable": false, "primary_key": true},
    {"name": "n", "type": "numeric(12,2)"}, {"name": "b", "type": "boolean"},
    {"name": "ts", "type": "timestamp with time zone"}, {"name": "d", "type": "date"},
    {"name": "j", "type": "jsonb"}, {"name": "u", "type": "uuid"}, {"name": "y", "type": "bytea"},
    {"name": "f", "type": "double precision"}, {"name": "s", "type": "text"}],
    "objects": []}}})json";

const kinesis::contract::Decoder& TheDecoder() {
  static const kinesis::contract::Decoder decoder(kinesis::contract::ParseManifest(kManifest));
  return decoder;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);  // NOLINT

  // S3 answers: the scanner never throws.
  (void)kinesis::xml::ElementTexts(text, "Key");
  (void)kinesis::xml::FirstElementText(text, "NextContinuationToken");
  (void)kinesis::xml::Unescape(text);

  // Base64 record data: what decodes encodes back to something that decodes the same.
  try {
    const std::string bytes = kinesis::base64::Decode(text);
    if (kinesis::base64::Decode(kinesis::base64::Encode(bytes)) != bytes) __builtin_trap();
  } catch (const DataError&) {
  }

  // Positions and checkpoints: any accepted text round-trips exactly (documented property).
  try {
    const auto position = kinesis::StreamPosition::Parse(text);
    if (position.ToString() != text) __builtin_trap();
    if (kinesis::StreamPosition::Compare(position, position) != 0) __builtin_trap();
  } catch (const DataError&) {
  }

  // The manifest, a Kinesis record and a baseline row.
  try {
    (void)kinesis::contract::ParseManifest(text);
  } catch (const DataError&) {
  }
  const auto& decoder = TheDecoder();
  try {
    (void)decoder.DecodeRecord(text);
  } catch (const DataError&) {
    (void)decoder.TableOf(text);  // noexcept: only used to route the report
  }
  try {
    (void)decoder.DecodeRow(laredo::Table("public", "t"), text);
  } catch (const DataError&) {
  }
  return 0;
}
