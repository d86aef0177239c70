#pragma once

#include <string>
#include <string_view>

// Standard base64 (RFC 4648 section 4): the Data field of the Kinesis JSON API and bytea values
// in the data contract.
namespace laredo::kinesis::base64 {

std::string Encode(std::string_view bytes);

/// Accepts unpadded input, or padding that completes the last group of four. Throws
/// `laredo::DataError` (code "bad_record") for anything else.
std::string Decode(std::string_view text);

}  // namespace laredo::kinesis::base64
