#include "copy_text.hpp"

#include <gtest/gtest.h>

#include <string>

#include "laredo/error.hpp"

namespace laredo::pg {
namespace {

std::vector<std::string> Texts(const std::vector<CopyField>& fields) {
  std::vector<std::string> out;
  out.reserve(fields.size());
  for (const auto& f : fields) out.push_back(f.is_null ? "<NULL>" : std::string(f.text));
  return out;
}

TEST(CopyTextTest, SplitsOnTabs) {
  CopyTextParser parser;
  EXPECT_EQ(Texts(parser.Parse("1\tada\t2024-01-01\n")),
            (std::vector<std::string>{"1", "ada", "2024-01-01"}));
  EXPECT_EQ(Texts(parser.Parse("1\tada")), (std::vector<std::string>{"1", "ada"}));
}

TEST(CopyTextTest, EmptyFieldsAreEmptyNotNull) {
  CopyTextParser parser;
  EXPECT_EQ(Texts(parser.Parse("\t\t")), (std::vector<std::string>{"", "", ""}));
  EXPECT_EQ(Texts(parser.Parse("")), (std::vector<std::string>{""}));
}

TEST(CopyTextTest, BackslashNIsNull) {
  CopyTextParser parser;
  const auto& fields = parser.Parse("\\N\t\\\\N\tN\n");
  ASSERT_EQ(fields.size(), 3U);
  EXPECT_TRUE(fields[0].is_null);
  EXPECT_FALSE(fields[1].is_null);
  EXPECT_EQ(fields[1].text, "\\N");  // an escaped backslash followed by N is text
  EXPECT_EQ(fields[2].text, "N");
}

TEST(CopyTextTest, UnescapedFieldsAreViewsIntoTheLine) {
  CopyTextParser parser;
  const std::string line = "plain\tes\\tcaped\tmore";
  const auto& fields = parser.Parse(line);
  ASSERT_EQ(fields.size(), 3U);
  EXPECT_EQ(fields[0].text.data(), line.data());
  EXPECT_EQ(fields[2].text.data(), line.data() + 16);
  EXPECT_EQ(fields[1].text, "es\tcaped");
  EXPECT_NE(fields[1].text.data(), line.data() + 6);
}

TEST(CopyTextTest, AllEscapes) {
  CopyTextParser parser;
  const auto& fields =
      parser.Parse("\\b\\f\\n\\r\\t\\v\\\\\t\\0\\12\\101\\377\t\\x41\\x4a\\x7\\xfF\tend\\\\");
  ASSERT_EQ(fields.size(), 4U);
  EXPECT_EQ(fields[0].text, "\b\f\n\r\t\v\\");
  EXPECT_EQ(fields[1].text, std::string("\0\nA\xff", 4));
  EXPECT_EQ(fields[2].text, "AJ\x07\xff");
  EXPECT_EQ(fields[3].text, "end\\");
}

TEST(CopyTextTest, OctalAndHexStopAtTheirLength) {
  CopyTextParser parser;
  EXPECT_EQ(parser.Parse("\\1011")[0].text, "A1");  // three octal digits at most
  EXPECT_EQ(parser.Parse("\\x414")[0].text, "A4");  // two hex digits at most
  EXPECT_EQ(parser.Parse("\\18")[0].text,
            "\x01"
            "8");
}

TEST(CopyTextTest, ManyEscapedFieldsKeepValidViews) {
  // Later fields append to the parser's buffer; earlier views must stay valid.
  std::string line;
  for (int i = 0; i < 200; ++i) line += (i ? "\t" : "") + std::string("a\\tb") + std::to_string(i);
  CopyTextParser parser;
  const auto& fields = parser.Parse(line);
  ASSERT_EQ(fields.size(), 200U);
  for (int i = 0; i < 200; ++i) EXPECT_EQ(fields[i].text, "a\tb" + std::to_string(i));
}

TEST(CopyTextTest, ReusesAcrossLines) {
  CopyTextParser parser;
  (void)parser.Parse("a\\tb\tc\td\te");
  EXPECT_EQ(Texts(parser.Parse("x\\ny")), (std::vector<std::string>{"x\ny"}));
}

TEST(CopyTextTest, MalformedLinesThrow) {
  CopyTextParser parser;
  for (const char* line : {"abc\\", "a\\\tb", "\\q", "a\\Nb", "\\N\\N", "\\x", "\\xg", "\\400",
                           "\\777", "\\.", "ok\t\\z"}) {
    try {
      (void)parser.Parse(line);
      ADD_FAILURE() << "accepted \"" << line << "\"";
    } catch (const DataError& e) {
      EXPECT_EQ(e.code(), "bad_copy_line") << line;
    }
  }
}

}  // namespace
}  // namespace laredo::pg
