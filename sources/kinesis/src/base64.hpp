#pragma once

#include <string>
#include <string_view>

// Standard base64 (RFC 4648 section 4) for the Data field of the Kinesis JSON API.
namespace laredo::kinesis::base64 {

std::string Encode(std::string_view bytes);

/// Accepts padded or unpadded input. Throws `laredo::DataError` (code "bad_record") otherwise.
std::string Decode(std::string_view text);

}  // namespace laredo::kinesis::base64
