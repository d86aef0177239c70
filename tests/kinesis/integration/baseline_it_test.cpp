// Baseline from s3rver: two tables, several objects, gzip, a paginated listing; validation.
#include <zlib.h>

#include <map>

#include "aws_env.hpp"
#include "laredo/error.hpp"

namespace laredo::kinesis::it {
namespace {

std::string Gzip(const std::string& text) {
  z_stream z{};
  deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&z, text.size()), '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));  // NOLINT
  z.avail_in = static_cast<uInt>(text.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());  // NOLINT
  z.avail_out = static_cast<uInt>(out.size());
  deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

std::string Lines(int from, int to) {
  std::string text;
  for (int i = from; i < to; ++i) {
    text += nlohmann::json{{"id", i}, {"name", "n" + std::to_string(i)}, {"v", i * 10}}.dump();
    text += '\n';
  }
  return text;
}

// More rows than the reader may parse ahead (8 batches of 1024), so it is blocked on the full
// hand-off when the consumer leaves.
constexpr int kManyRows = 20'000;

class BaselineIt : public AwsTest {
 protected:
  void PutManyRows() {
    s3_->PutObject(bucket_, "snap/public.users/part-0.jsonl", Lines(0, kManyRows / 2));
    s3_->PutObject(bucket_, "snap/public.users/part-1.jsonl.gz",
                   Gzip(Lines(kManyRows / 2, kManyRows)));
    PutManifest({{"public.users",
                  {{"columns", IdNameV()},
                   {"objects", {"public.users/part-0.jsonl", "public.users/part-1.jsonl.gz"}}}}},
                nlohmann::json::object());
  }
};

TEST_F(BaselineIt, TwoTablesMultiObjectGzipAndPaginatedListing) {
  // users: one plain object and one gzip object. orders: a '/' entry naming 7 objects, listed
  // two keys per page.
  s3_->PutObject(bucket_, "snap/public.users/part-0.jsonl", Lines(0, 50));
  s3_->PutObject(bucket_, "snap/public.users/part-1.jsonl.gz", Gzip(Lines(50, 120)));
  for (int part = 0; part < 7; ++part) {
    s3_->PutObject(bucket_, "snap/sales.orders/part-" + std::to_string(part) + ".jsonl",
                   Lines(part * 10, part * 10 + 10) + "\n");  // a trailing blank line
  }
  PutManifest(
      {{"public.users",
        {{"columns", IdNameV()},
         {"objects", {"public.users/part-0.jsonl", "public.users/part-1.jsonl.gz"}}}},
       {"sales.orders", {{"columns", IdNameV()}, {"objects", {"sales.orders/"}}}}},
      {{"shardId-000000000000", "49590338271490256608559692538361571095921575989136588898"}});

  auto options = Options();
  options.list_page_size = 2;
  Source source(options);
  const TableIdentifier users = Table("public", "users");
  const TableIdentifier orders = Table("sales", "orders");
  const auto columns = source.Init(SourceConfig{.tables = {users, orders}, .options = {}});
  ASSERT_EQ(columns.size(), 2U);
  EXPECT_EQ(columns.at(users).size(), 3U);

  std::map<TableIdentifier, std::vector<Row>> rows;
  const Position position = source.Baseline(
      std::stop_token(), {users, orders},
      [&](const TableIdentifier& t, Row row) { rows[t].push_back(std::move(row)); });
  ASSERT_EQ(rows[users].size(), 120U);
  ASSERT_EQ(rows[orders].size(), 70U);
  for (int i = 0; i < 120; ++i) {
    EXPECT_EQ(rows[users][static_cast<std::size_t>(i)],
              (Row{{"id", i}, {"name", "n" + std::to_string(i)}, {"v", i * 10}}));
  }
  // Objects are read in key order, rows in line order.
  for (int i = 0; i < 70; ++i) {
    EXPECT_EQ(rows[orders][static_cast<std::size_t>(i)].at("id"), Value(i));
  }
  EXPECT_EQ(source.PositionToString(position),
            "v1:2024-05-01T12%3A00%3A00Z-a@shardId-000000000000="
            "49590338271490256608559692538361571095921575989136588898");
}

TEST_F(BaselineIt, ABadLineNamesItsObjectAndLine) {
  s3_->PutObject(bucket_, "snap/public.users/part-0.jsonl", Lines(0, 3) + "{not json\n");
  PutManifest(
      {{"public.users", {{"columns", IdNameV()}, {"objects", {"public.users/part-0.jsonl"}}}}},
      nlohmann::json::object());
  Source source(Options());
  const TableIdentifier users = Table("public", "users");
  source.Init(SourceConfig{.tables = {users}, .options = {}});
  try {
    source.Baseline(std::stop_token(), {users}, [](const TableIdentifier&, Row) {});
    FAIL() << "expected a DataError";
  } catch (const DataError& e) {
    EXPECT_EQ(e.code(), "bad_record");
    EXPECT_NE(std::string(e.what()).find("public.users/part-0.jsonl line 4"), std::string::npos)
        << e.what();
  }
}

TEST_F(BaselineIt, AConsumerThatThrowsStopsTheReaderAndTheNextBaselineIsWhole) {
  PutManyRows();
  Source source(Options());
  const TableIdentifier users = Table("public", "users");
  source.Init(SourceConfig{.tables = {users}, .options = {}});
  int seen = 0;
  EXPECT_THROW(source.Baseline(std::stop_token(), {users},
                               [&](const TableIdentifier&, Row) {
                                 if (++seen == 100) throw std::runtime_error("target full");
                               }),
               std::runtime_error);
  EXPECT_EQ(seen, 100);

  std::vector<Row> rows;
  source.Baseline(std::stop_token(), {users},
                  [&](const TableIdentifier&, Row row) { rows.push_back(std::move(row)); });
  ASSERT_EQ(rows.size(), static_cast<std::size_t>(kManyRows));
  for (int i = 0; i < kManyRows; ++i) {
    ASSERT_EQ(rows[static_cast<std::size_t>(i)].at("id"), Value(i)) << "row " << i;
  }
}

TEST_F(BaselineIt, AStopDuringTheBaselineDeliversNothingAfterIt) {
  PutManyRows();
  Source source(Options());
  const TableIdentifier users = Table("public", "users");
  source.Init(SourceConfig{.tables = {users}, .options = {}});
  std::stop_source stop;
  int seen = 0;
  const Position position =
      source.Baseline(stop.get_token(), {users}, [&](const TableIdentifier&, Row) {
        if (++seen == 100) stop.request_stop();
      });
  EXPECT_FALSE(position.has_value());
  EXPECT_EQ(seen, 100);
}

TEST_F(BaselineIt, ValidationReportsMissingTablesAndStreamTogether) {
  PutManifest({{"public.users", {{"columns", IdNameV()}, {"objects", nlohmann::json::array()}}}},
              nlohmann::json::object());
  Source source(Options());  // the stream was never created
  const TableIdentifier users = Table("public", "users");
  const TableIdentifier ghost = Table("public", "ghost");
  source.Init(SourceConfig{.tables = {users, ghost}, .options = {}});
  const auto problems = source.ValidateTables({users, ghost});
  ASSERT_EQ(problems.size(), 2U);
  EXPECT_EQ(problems[0].code, "TABLE_NOT_FOUND");
  EXPECT_EQ(problems[0].table, ghost);
  EXPECT_EQ(problems[1].code, "STREAM_NOT_FOUND");
}

TEST_F(BaselineIt, MissingManifestIsAClearError) {
  Source source(Options());
  try {
    source.Init(SourceConfig{.tables = {Table("public", "users")}, .options = {}});
    FAIL() << "expected a FatalError";
  } catch (const FatalError& e) {
    EXPECT_EQ(e.code(), "not_found");
    EXPECT_NE(std::string(e.what()).find("snap/manifest.json"), std::string::npos) << e.what();
  }
}

TEST_F(BaselineIt, UnreachableEndpointIsRetryable) {
  auto options = Options();
  options.s3_endpoint = "http://127.0.0.1:1";  // nothing listens on port 1
  Source source(options);
  EXPECT_THROW(source.Init(SourceConfig{.tables = {Table("public", "users")}, .options = {}}),
               RetryableError);
}

}  // namespace
}  // namespace laredo::kinesis::it
