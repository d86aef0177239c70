#include "copy_binary.hpp"

#include <fmt/format.h>

#include "byte_reader.hpp"
#include "laredo/error_codes.hpp"

namespace laredo::pg {
namespace {

class CopyBinaryError : public WireDecodeError {
 public:
  CopyBinaryError(std::string_view context, std::size_t offset, std::size_t size,
                  std::string expected)
      : WireDecodeError(codes::kBadCopyLine, context, offset, size, std::move(expected)) {}
};

constexpr std::string_view kSignature("PGCOPY\n\377\r\n\0", 11);

}  // namespace

const std::vector<CopyField>* CopyBinaryParser::Parse(std::string_view message) {
  ByteReader<CopyBinaryError> in(std::as_bytes(std::span(message.data(), message.size())),
                                 "binary COPY data");
  if (finished_) in.Fail("nothing after the trailer");
  if (!header_read_) {
    const auto at = in.offset();
    if (in.Bytes(kSignature.size(), "signature") != kSignature) {
      in.FailAt(at, "the signature PGCOPY\\n\\377\\r\\n\\0");
    }
    const auto flags_at = in.offset();
    const auto flags = in.U32("Int32 flags");
    // Bit 16: OIDs included (never for COPY TO of a column list); bits 17..31 critical, unknown.
    if ((flags & 0xFFFF0000U) != 0) in.FailAt(flags_at, fmt::format("no flags (got {:#x})", flags));
    in.Bytes(in.Length32("Int32 header extension length"), "header extension");
    header_read_ = true;
    if (in.remaining() == 0) return nullptr;  // the header may come in a message of its own
  }
  const auto count_at = in.offset();
  const auto count = in.I16("Int16 field count");
  if (count == -1) {
    in.ExpectEnd();
    finished_ = true;
    return nullptr;
  }
  if (count < 0 || static_cast<std::size_t>(count) != columns_) {
    in.FailAt(count_at, fmt::format("{} fields (got {})", columns_, count));
  }
  fields_.clear();
  for (std::size_t i = 0; i < columns_; ++i) {
    const auto len_at = in.offset();
    const auto len = in.I32("Int32 field length");
    if (len == -1) {
      fields_.push_back({true, {}});
      continue;
    }
    if (len < 0) in.FailAt(len_at, "field length -1 or more");
    fields_.push_back({false, in.Bytes(static_cast<std::size_t>(len), "field value")});
  }
  in.ExpectEnd();
  return &fields_;
}

}  // namespace laredo::pg
