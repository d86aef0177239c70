#include "copy_binary.hpp"

#include <gtest/gtest.h>

#include <string>

#include "laredo/error.hpp"
#include "message_builder.hpp"

namespace laredo::pg {
namespace {

using testing::MessageBuilder;

std::string Bytes(const MessageBuilder& b) {
  const auto& v = b.bytes();
  return {reinterpret_cast<const char*>(v.data()), v.size()};  // NOLINT: byte view
}

MessageBuilder Header(std::uint32_t flags = 0, std::string_view extension = {}) {
  MessageBuilder b;
  b.Raw(std::string_view("PGCOPY\n\377\r\n\0", 11))
      .U32(flags)
      .U32(static_cast<std::uint32_t>(extension.size()))
      .Raw(extension);
  return b;
}

void ExpectBad(CopyBinaryParser& parser, const std::string& message) {
  try {
    parser.Parse(message);
    ADD_FAILURE() << "accepted " << message.size() << " bytes";
  } catch (const DataError& e) {
    EXPECT_EQ(e.code(), "bad_copy_line");
  }
}

TEST(CopyBinaryTest, HeaderWithFirstRowThenRowsThenTrailer) {
  CopyBinaryParser parser(3);
  auto first = Header(0, "ext");
  first.U16(3).U32(4).U32(7).U32(0xFFFFFFFF).U32(0);  // 7, NULL, empty
  const auto m1 = Bytes(first);
  const auto* fields = parser.Parse(m1);
  ASSERT_NE(fields, nullptr);
  ASSERT_EQ(fields->size(), 3U);
  EXPECT_EQ((*fields)[0].text, std::string_view("\0\0\0\7", 4));
  EXPECT_TRUE((*fields)[1].is_null);
  EXPECT_FALSE((*fields)[2].is_null);
  EXPECT_TRUE((*fields)[2].text.empty());
  const auto m2 = Bytes(MessageBuilder().U16(3).U32(1).Raw("a").U32(1).Raw("b").U32(1).Raw("c"));
  fields = parser.Parse(m2);
  ASSERT_NE(fields, nullptr);
  EXPECT_EQ((*fields)[2].text, "c");
  EXPECT_FALSE(parser.finished());
  EXPECT_EQ(parser.Parse(Bytes(MessageBuilder().U16(0xFFFF))), nullptr);
  EXPECT_TRUE(parser.finished());
  ExpectBad(parser, Bytes(MessageBuilder().U16(0xFFFF)));  // nothing after the trailer
}

TEST(CopyBinaryTest, EmptyTableIsHeaderAndTrailer) {
  CopyBinaryParser parser(2);
  EXPECT_EQ(parser.Parse(Bytes(Header().U16(0xFFFF))), nullptr);
  EXPECT_TRUE(parser.finished());
  CopyBinaryParser separate(2);
  EXPECT_EQ(separate.Parse(Bytes(Header())), nullptr);
  EXPECT_FALSE(separate.finished());
}

TEST(CopyBinaryTest, MalformedInputIsRefused) {
  {
    CopyBinaryParser parser(1);
    auto bad = MessageBuilder().Raw("PGCOPY\n\377\r\n\1").U32(0).U32(0);
    ExpectBad(parser, Bytes(bad));  // signature
  }
  {
    CopyBinaryParser parser(1);
    ExpectBad(parser, Bytes(Header(1U << 16U)));  // OIDs included
  }
  {
    CopyBinaryParser parser(1);
    ExpectBad(parser, Bytes(Header().U16(2).U32(0).U32(0)));  // field count
  }
  {
    CopyBinaryParser parser(1);
    ExpectBad(parser, Bytes(Header().U16(1).U32(5).Raw("abc")));  // truncated value
  }
  {
    CopyBinaryParser parser(1);
    ExpectBad(parser, Bytes(Header().U16(1).U32(0xFFFFFFFE)));  // length -2
  }
  {
    CopyBinaryParser parser(1);
    ExpectBad(parser, Bytes(Header().U16(1).U32(1).Raw("ab")));  // bytes after the tuple
  }
  {
    CopyBinaryParser parser(1);
    ExpectBad(parser, Bytes(Header().U16(0xFFFF).U8(0)));  // bytes after the trailer
  }
  {
    CopyBinaryParser parser(1);
    ExpectBad(parser, Bytes(MessageBuilder().Raw("PGCOPY")));  // truncated header
  }
}

}  // namespace
}  // namespace laredo::pg
