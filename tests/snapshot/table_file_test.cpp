// The table file round-trips every value kind and every column attribute, across block and read
// boundaries, and refuses what it cannot store.
#include <gtest/gtest.h>

#include "laredo/error.hpp"
#include "laredo/error_codes.hpp"
#include "snapshot/snapshot_test_util.hpp"

namespace laredo::snapshot {
namespace {

using testing::KindColumns;
using testing::KindFile;
using testing::KindRow;
using testing::ReadAll;
using testing::StringSink;
using testing::StringSource;

TEST(TableFile, RoundTripsEveryValueKind) {
  const std::string bytes = KindFile(500);
  for (const std::size_t chunk : {std::size_t{1}, std::size_t{7}, std::size_t{1} << 20}) {
    const auto rows = ReadAll(bytes, chunk);
    ASSERT_EQ(rows.size(), 500U);
    for (int i = 0; i < 500; ++i) {
      ASSERT_EQ(rows[i], KindRow(i)) << "row " << i << ", read in pieces of " << chunk;
      // Same kinds, not only equal-looking values: Value equality compares kinds.
      for (std::size_t c = 0; c < rows[i].size(); ++c) {
        EXPECT_EQ(rows[i].value(c).kind(), KindRow(i).at((*rows[i].names())[c]).kind());
      }
    }
  }
}

TEST(TableFile, KeepsTheTableAndEveryColumnAttribute) {
  const std::string bytes = KindFile(3);
  TableFileReader reader(std::make_unique<StringSource>(bytes), "test.lrt");
  EXPECT_EQ(reader.table(), testing::kKinds);
  EXPECT_EQ(reader.columns(), KindColumns());
  Row row;
  while (reader.Next(row)) {
  }
  EXPECT_EQ(reader.summary().rows, 3U);
  EXPECT_EQ(reader.summary().bytes, bytes.size());
}

TEST(TableFile, KeepsRowsWhoseColumnsDifferFromTheTable) {
  std::string bytes;
  TableFileWriter writer(std::make_unique<StringSink>(bytes), testing::kKinds, KindColumns());
  const std::vector<Row> rows = {
      Row{{"t", "reordered"}, {"id", 1}},                        // other order
      Row{{"id", 2}, {"extra", Value::Numeric("1.0")}},          // an undeclared column
      Row{},                                                     // nothing at all
      Row{{"id", 3}, {"n", nullptr}, {"b", false}, {"d", 0.5}},  // a prefix of the columns
  };
  for (const auto& row : rows) writer.Write(row);
  const TableFileSummary summary = writer.Finish();
  EXPECT_EQ(summary.rows, rows.size());
  EXPECT_EQ(ReadAll(bytes), rows);
}

TEST(TableFile, RefusesUnchangedMarkersAndStaysUsable) {
  std::string bytes;
  TableFileWriter writer(std::make_unique<StringSink>(bytes), testing::kKinds, KindColumns());
  writer.Write(KindRow(1));
  try {
    writer.Write(Row{{"id", 2}, {"t", Value::Unchanged()}});
    FAIL() << "an unchanged marker was written";
  } catch (const DataError& e) {
    EXPECT_EQ(e.code(), codes::kBadSnapshot);
  }
  writer.Write(KindRow(3));
  writer.Finish();
  EXPECT_EQ(ReadAll(bytes), (std::vector<Row>{KindRow(1), KindRow(3)}));
}

TEST(TableFile, AnEmptyTableIsAValidFile) {
  std::string bytes;
  auto sink = std::make_unique<StringSink>(bytes);
  StringSink* raw = sink.get();
  TableFileWriter writer(std::move(sink), testing::kKinds, KindColumns());
  EXPECT_FALSE(raw->closed_);
  EXPECT_EQ(writer.Finish().rows, 0U);
  EXPECT_TRUE(raw->closed_);
  EXPECT_TRUE(ReadAll(bytes).empty());
}

}  // namespace
}  // namespace laredo::snapshot
