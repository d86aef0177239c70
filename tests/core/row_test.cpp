#include "laredo/row.hpp"

#include <gtest/gtest.h>

#include "laredo/error.hpp"

namespace laredo {
namespace {

TEST(Row, MapLikeAccess) {
  Row row;
  EXPECT_TRUE(row.empty());
  row["id"] = Value(1);
  row["name"] = Value("ada");
  EXPECT_EQ(row.size(), 2U);
  EXPECT_TRUE(row.contains("name"));
  EXPECT_FALSE(row.contains("missing"));
  EXPECT_EQ(row.at("name").AsText(), "ada");
  row["name"] = Value("grace");  // assignment to an existing column does not add one
  EXPECT_EQ(row.size(), 2U);
  EXPECT_EQ(row.at("name").AsText(), "grace");
}

TEST(Row, AtThrowsForMissingColumn) {
  Row row{{"id", 1}};
  try {
    (void)row.at("nope");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), "no_such_column");
  }
}

TEST(Row, IteratesInColumnOrder) {
  Row row{{"b", 2}, {"a", 1}, {"c", 3}};
  std::vector<std::string> names;
  std::vector<std::int64_t> values;
  for (const auto& [name, value] : row) {
    names.push_back(name);
    values.push_back(value.AsInt());
  }
  EXPECT_EQ(names, (std::vector<std::string>{"b", "a", "c"}));
  EXPECT_EQ(values, (std::vector<std::int64_t>{2, 1, 3}));
}

TEST(Row, RowsShareOneNamesObject) {
  auto names = ColumnNames::Make({"id", "name"});
  Row a(names, {Value(1), Value("x")});
  Row b(names, {Value(2), Value("y")});
  EXPECT_EQ(a.names().get(), b.names().get());
  EXPECT_EQ(names.use_count(), 3);
  // Adding a column copies the names for this row only.
  a["extra"] = Value(true);
  EXPECT_NE(a.names().get(), b.names().get());
  EXPECT_EQ(b.size(), 2U);
  EXPECT_FALSE(b.contains("extra"));
  EXPECT_EQ(names->size(), 2U);
}

TEST(Row, ShapeMismatchIsAnError) {
  auto names = ColumnNames::Make({"id"});
  EXPECT_THROW(Row(names, {}), Error);
  EXPECT_THROW((Row{{"a", 1}, {"a", 2}}), Error);
}

TEST(Row, EqualityIgnoresColumnOrder) {
  EXPECT_EQ((Row{{"a", 1}, {"b", "x"}}), (Row{{"b", "x"}, {"a", 1}}));
  EXPECT_NE((Row{{"a", 1}, {"b", "x"}}), (Row{{"a", 1}, {"b", "y"}}));
  EXPECT_NE((Row{{"a", 1}}), (Row{{"a", 1}, {"b", 1}}));
  EXPECT_NE((Row{{"a", 1}}), (Row{{"b", 1}}));
  EXPECT_EQ(Row(), Row());
}

TEST(Row, EraseRemovesOneColumn) {
  Row row{{"a", 1}, {"b", 2}, {"c", 3}};
  EXPECT_TRUE(row.erase("b"));
  EXPECT_FALSE(row.erase("b"));
  EXPECT_EQ(row, (Row{{"a", 1}, {"c", 3}}));
  EXPECT_EQ(row.ToString(), "{a: 1, c: 3}");
}

TEST(ColumnNames, FindWorksForWideTables) {
  std::vector<std::string> names;
  for (int i = 0; i < 40; ++i) names.push_back("col" + std::to_string(i));
  ColumnNames wide(names);
  for (int i = 0; i < 40; ++i) EXPECT_EQ(wide.Find("col" + std::to_string(i)), std::size_t(i));
  EXPECT_FALSE(wide.Find("col40").has_value());
}

}  // namespace
}  // namespace laredo
