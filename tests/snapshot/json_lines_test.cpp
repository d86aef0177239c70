// The JSON-lines export: one object per row that nlohmann reads, values as the Kinesis data
// contract writes them.
#include "laredo/snapshot/json_lines.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "laredo/error.hpp"
#include "snapshot/snapshot_test_util.hpp"

namespace laredo::snapshot {
namespace {

using nlohmann::json;

TEST(JsonLines, EveryRowIsAnObjectInTheContractsShapes) {
  const std::string bytes = testing::KindFile(50);
  TableFileReader reader(std::make_unique<testing::StringSource>(bytes), "kinds.lrt");
  std::stringstream out;
  EXPECT_EQ(ExportJsonLines(reader, out), 50U);

  std::vector<json> lines;
  for (std::string line; std::getline(out, line);) lines.push_back(json::parse(line));
  ASSERT_EQ(lines.size(), 50U);
  for (std::size_t i = 0; i < lines.size(); ++i) {
    ASSERT_TRUE(lines[i].is_object());
    EXPECT_EQ(lines[i]["id"], i);
    EXPECT_TRUE(lines[i]["n"].is_null());
    EXPECT_EQ(lines[i]["b"], i % 2 == 0);
    EXPECT_EQ(lines[i]["j"]["id"], i) << "JSON is embedded as a document";
    EXPECT_TRUE(lines[i]["tz"].get<std::string>().ends_with("Z"));
  }
  // Row 0: the edge values (see KindRow).
  EXPECT_EQ(lines[0]["i"], "-9223372036854775808") << "beyond 2^53: a string";
  EXPECT_EQ(lines[1]["i"], -1);
  EXPECT_EQ(lines[3]["d"], "NaN");
  EXPECT_EQ(lines[4]["d"], "Infinity");
  EXPECT_EQ(lines[2]["d"], 1.5);
  EXPECT_EQ(lines[0]["num"], "12.50");
  EXPECT_EQ(lines[2]["t"], "ünïcødé ✓");
  EXPECT_EQ(lines[1]["y"], "AAH/gCByYXcx") << "bytes in base64";
  EXPECT_EQ(lines[1]["dt"], "2024-05-01");
  EXPECT_EQ(lines[1]["tm"], "23:59:59.999999");
  EXPECT_EQ(lines[0]["tz"], "2024-05-01T12:00:00Z");
}

TEST(JsonLines, RefusesUnchangedMarkers) {
  std::stringstream out;
  JsonLinesWriter writer(out);
  EXPECT_THROW(writer.Write(Row{{"id", 1}, {"x", Value::Unchanged()}}), DataError);
}

}  // namespace
}  // namespace laredo::snapshot
