#include "contract.hpp"

#include <gtest/gtest.h>

#include "laredo/error.hpp"

namespace laredo::kinesis::contract {
namespace {

constexpr const char* kManifest = R"json({
  "format": "laredo-s3-baseline/1",
  "snapshot_id": "snap-2024-05-01",
  "created_at": "2024-05-01T12:00:00Z",
  "stream": "orders-cdc",
  "tables": {
    "public.users": {
      "columns": [
        {"name": "id", "type": "bigint", "nullable": false, "primary_key": true, "primary_key_ordinal": 1},
        {"name": "name", "type": "text"},
        {"name": "balance", "type": "numeric(12,2)"},
        {"name": "active", "type": "boolean"},
        {"name": "created", "type": "timestamp with time zone"},
        {"name": "profile", "type": "jsonb"}
      ],
      "objects": ["public.users/part-00000.jsonl.gz", "public.users/part-00001.jsonl.gz"]
    },
    "sales.order_items": {
      "columns": [
        {"name": "order_id", "type": "uuid", "nullable": false, "primary_key": true},
        {"name": "line", "type": "integer", "nullable": false, "primary_key": true},
        {"name": "sku", "type": "varchar(20)"}
      ],
      "objects": []
    }
  },
  "stream_position": {
    "shardId-000000000000": "49590338271490256608559692538361571095921575989136588898"
  }
})json";

const TableIdentifier kUsers{"public", "users"};
const TableIdentifier kItems{"sales", "order_items"};

std::string ManifestError(std::string_view text) {
  try {
    (void)ParseManifest(text);
  } catch (const DataError& e) {
    EXPECT_EQ(e.code(), "bad_manifest");
    return e.what();
  }
  ADD_FAILURE() << "manifest accepted";
  return "";
}

std::string RecordError(const Decoder& decoder, std::string_view data) {
  try {
    (void)decoder.DecodeRecord(data);
  } catch (const DataError& e) {
    EXPECT_EQ(e.code(), "bad_record");
    return e.what();
  }
  ADD_FAILURE() << "record accepted: " << data;
  return "";
}

TEST(Manifest, ParsesTheDocumentedShape) {
  const Manifest m = ParseManifest(kManifest);
  EXPECT_EQ(m.snapshot_id, "snap-2024-05-01");
  EXPECT_EQ(m.stream, "orders-cdc");
  EXPECT_EQ(m.created_at.time_since_epoch(), std::chrono::seconds(1'714'564'800));
  ASSERT_EQ(m.tables.size(), 2U);
  const auto& users = m.tables.at(kUsers);
  ASSERT_EQ(users.columns.size(), 6U);
  EXPECT_EQ(users.columns[0].name, "id");
  EXPECT_EQ(users.columns[0].type, "bigint");
  EXPECT_FALSE(users.columns[0].nullable);
  EXPECT_TRUE(users.columns[0].primary_key);
  EXPECT_EQ(users.columns[0].primary_key_ordinal, 1);
  EXPECT_EQ(users.columns[0].ordinal_position, 1);
  EXPECT_TRUE(users.columns[1].nullable);
  EXPECT_FALSE(users.columns[1].primary_key);
  EXPECT_EQ(users.columns[5].ordinal_position, 6);
  EXPECT_EQ(users.objects.size(), 2U);
  // Key columns without an ordinal are numbered in column order.
  const auto& items = m.tables.at(kItems);
  EXPECT_EQ(items.columns[0].primary_key_ordinal, 1);
  EXPECT_EQ(items.columns[1].primary_key_ordinal, 2);
  EXPECT_TRUE(items.objects.empty());
  const StreamPosition start = m.StartPosition();
  EXPECT_EQ(start.snapshot_id, "snap-2024-05-01");
  EXPECT_EQ(start.shards.at("shardId-000000000000").ToString(),
            "49590338271490256608559692538361571095921575989136588898");
}

TEST(Manifest, StreamPositionIsOptional) {
  std::string text = kManifest;
  text.replace(text.find(",\n  \"stream_position\""), std::string::npos, "}");
  EXPECT_TRUE(ParseManifest(text).stream_position.empty());
}

TEST(Manifest, ReportsEveryProblemWithItsJsonPath) {
  const std::string message = ManifestError(R"({
    "format": "laredo-s3-baseline/2",
    "created_at": "yesterday",
    "stream": 5,
    "tables": {
      "users": {"columns": [], "objects": []},
      "public.a/b": {
        "columns": [{"name": "id"}, {"name": "id", "type": "int", "nullable": "no"}, 3],
        "objects": ["ok.jsonl", ""]
      },
      "public.c": {"columns": [{"name": "x", "type": "int", "primary_key": true, "primary_key_ordinal": 9}]}
    },
    "stream_position": {"shard-1": "12x", "shard-2": 12}
  })");
  for (const char* expected : {
           "/format: 'laredo-s3-baseline/2' is not supported",
           "/snapshot_id: missing",
           "/created_at: 'yesterday' is not a valid timestamp",
           "/stream: must be a string, not number",
           "/tables/users: table names are \"schema.table\"",
           "/tables/public.a~1b/columns/0/type: missing",
           "/tables/public.a~1b/columns/1/name: column 'id' is listed twice",
           "/tables/public.a~1b/columns/1/nullable: must be true or false, not string",
           "/tables/public.a~1b/columns/2: must be an object, not number",
           "/tables/public.a~1b/objects/1: must be a non-empty object key",
           "/tables/public.c/columns/0/primary_key_ordinal: must be between 1 and 1",
           "/tables/public.c/objects: missing",
           "/stream_position/shard-1: sequence number '12x' has a non-digit",
           "/stream_position/shard-2: sequence numbers are decimal strings",
       }) {
    EXPECT_NE(message.find(expected), std::string::npos)
        << "missing: " << expected << "\nin: " << message;
  }
}

TEST(Manifest, RejectsTextThatIsNotAManifest) {
  EXPECT_NE(ManifestError("{\"format\": ").find("not valid JSON"), std::string::npos);
  EXPECT_NE(ManifestError("[1, 2]").find("/: must be an object"), std::string::npos);
}

class DecoderTest : public ::testing::Test {
 protected:
  Decoder decoder_{ParseManifest(kManifest)};
};

TEST_F(DecoderTest, BaselineRowUsesTheManifestTypes) {
  const Row row = decoder_.DecodeRow(kUsers,
                                     R"({"id": 1, "name": "ada", "balance": "10.50", "active": true,
          "created": "2024-05-01T14:00:00+02:00", "profile": {"b": 2, "a": 1}})");
  EXPECT_EQ(row.at("id"), Value(1));
  EXPECT_EQ(row.at("name"), Value("ada"));
  EXPECT_EQ(row.at("balance"), Value::Numeric("10.50"));
  EXPECT_EQ(row.at("active"), Value(true));
  EXPECT_EQ(row.at("created"), Value::TimestampTz(1'714'564'800'000'000LL));
  EXPECT_EQ(row.at("profile"), Value::Json("{\"a\":1,\"b\":2}"));
  EXPECT_EQ(row.size(), 6U);
}

TEST_F(DecoderTest, SameRowFromBaselineAndStreamComparesEqual) {
  const Row baseline =
      decoder_.DecodeRow(kUsers, R"({"id": 7, "name": "bo", "balance": "1.00", "active": false,
                  "created": "2024-05-01T12:00:00Z", "profile": {"x": [1, 2]}})");
  const auto record = decoder_.DecodeRecord(
      R"({"table": "public.users", "action": "insert",
          "new": {"profile": {"x": [1, 2]}, "created": "2024-05-01T07:00:00-05:00",
                  "active": false, "balance": "1.00", "name": "bo", "id": 7}})");
  EXPECT_EQ(record.event.new_values, baseline);
  for (std::size_t i = 0; i < baseline.size(); ++i) {
    EXPECT_EQ(record.event.new_values.value(i), baseline.value(i)) << i;
  }
}

TEST_F(DecoderTest, MissingColumnsAreNullInRowsAndUnchangedInUpdates) {
  const Row row = decoder_.DecodeRow(kUsers, R"({"id": 1})");
  EXPECT_TRUE(row.at("name").IsNull());
  EXPECT_EQ(row.size(), 6U);
  const auto update = decoder_.DecodeRecord(
      R"({"table": "public.users", "action": "update", "new": {"id": 1, "name": "new"},
          "old": {"id": 1}})");
  EXPECT_EQ(update.event.action, ChangeAction::Update);
  EXPECT_EQ(update.event.new_values.at("name"), Value("new"));
  EXPECT_TRUE(update.event.new_values.at("balance").IsUnchanged());
  EXPECT_EQ(update.event.old_values, (Row{{"id", 1}}));
}

TEST_F(DecoderTest, DecodesEveryAction) {
  const auto ins = decoder_.DecodeRecord(
      R"({"table": "sales.order_items", "action": "insert",
          "new": {"order_id": "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11", "line": 1, "sku": "X1"},
          "commit_time": "2024-05-01T12:00:01.25Z", "source_position": "0/16B3748"})");
  EXPECT_EQ(ins.event.table, kItems);
  EXPECT_EQ(ins.event.action, ChangeAction::Insert);
  EXPECT_EQ(ins.event.new_values.at("order_id"),
            Value::Uuid("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"));
  ASSERT_TRUE(ins.event.commit_time.has_value());
  EXPECT_EQ(ins.event.commit_time->time_since_epoch(),
            std::chrono::microseconds(1'714'564'801'250'000LL));
  EXPECT_EQ(ins.source_position, "0/16B3748");

  const auto del = decoder_.DecodeRecord(
      R"({"table": "sales.order_items", "action": "delete",
          "old": {"order_id": "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "line": 1}})");
  EXPECT_EQ(del.event.action, ChangeAction::Delete);
  EXPECT_TRUE(del.event.new_values.empty());
  EXPECT_EQ(del.event.old_values.at("line"), Value(1));
  EXPECT_FALSE(del.event.commit_time.has_value());
  EXPECT_FALSE(del.source_position.has_value());

  const auto trunc = decoder_.DecodeRecord(R"({"table": "public.users", "action": "truncate"})");
  EXPECT_EQ(trunc.event.action, ChangeAction::Truncate);
  EXPECT_EQ(trunc.event.table, kUsers);
}

TEST_F(DecoderTest, ColumnsTheManifestLacksAreKeptWithTheirJsonType) {
  const Row row = decoder_.DecodeRow(kItems, R"({"order_id": "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
                                                 "line": 2, "sku": null, "added_later": 3.5})");
  EXPECT_EQ(row.size(), 4U);
  EXPECT_EQ(row.at("added_later"), Value(3.5));
  EXPECT_TRUE(row.at("sku").IsNull());
}

TEST_F(DecoderTest, RejectsRecordsThatBreakTheContract) {
  struct Case {
    const char* data;
    const char* message;
  };
  for (
      const Case& c : {
          Case{"{\"table\": ", "record is not valid JSON"},
          Case{"[]", "must be a JSON object"},
          Case{R"({"action": "insert", "new": {}})", "no \"table\""},
          Case{R"({"table": "public.nope", "action": "insert", "new": {"id": 1}})",
               "unknown table public.nope"},
          Case{R"({"table": "users", "action": "insert", "new": {"id": 1}})",
               "not a table name of the form schema.table"},
          Case{R"({"table": "public.users", "action": "upsert", "new": {"id": 1}})",
               "unknown action 'upsert'"},
          Case{R"({"table": "public.users", "action": 1})", "\"action\" must be a string"},
          Case{R"({"table": "public.users", "action": "insert"})", "\"new\" is required"},
          Case{R"({"table": "public.users", "action": "insert", "new": [1]})",
               "\"new\" must be an object"},
          Case{R"({"table": "public.users", "action": "update", "old": {"id": 1}})",
               "\"new\" is required"},
          Case{R"({"table": "public.users", "action": "update", "new": {"name": "x"}})",
               "key column 'id' is in neither"},
          Case{R"({"table": "public.users", "action": "delete"})", "\"old\" is required"},
          Case{R"({"table": "sales.order_items", "action": "delete", "old": {"line": 1}})",
               "lacks key column 'order_id'"},
          Case{R"({"table": "public.users", "action": "insert", "new": {"id": "one"}})",
               "column 'id' (bigint): expected an integer, got string \"one\""},
          Case{R"({"table": "public.users", "action": "insert", "new": {"id": null}})",
               "column 'id' is NOT NULL but the value is null"},
          Case{R"({"table": "public.users", "action": "insert", "new": {"name": "x"}})",
               "NOT NULL column 'id' is missing"},
          Case{
              R"({"table": "public.users", "action": "insert", "new": {"id": 1, "active": "yes"}})",
              "column 'active' (boolean): expected true or false"},
          Case{R"({"table": "public.users", "action": "insert", "new": {"id": 1},
                    "commit_time": "2024-05-01 12:00"})",
               "commit_time"},
          Case{R"({"table": "public.users", "action": "truncate", "source_position": 5})",
               "\"source_position\" must be a string"},
          // Found by kinesis_fuzz: a commit time the system clock cannot hold overflowed, and a
          // number JSON cannot hold escaped as a JSON library error.
          Case{R"({"table": "public.users", "action": "truncate",
                    "commit_time": "1012-05-01T12:00:00Z"})",
               "commit_time: '1012-05-01T12:00:00Z' is out of range"},
          Case{R"({"table": "public.users", "action": "insert", "new": {"id": -1e99999}})",
               "not valid JSON"},
      }) {
    const std::string message = RecordError(decoder_, c.data);
    EXPECT_NE(message.find(c.message), std::string::npos)
        << "expected '" << c.message << "' in: " << message;
  }
}

TEST(Manifest, NumberOutOfRangeIsABadManifest) {
  try {
    (void)ParseManifest(R"({"format": "laredo-s3-baseline/1", "snapshot_id": 1e99999})");
    FAIL() << "accepted";
  } catch (const DataError& e) {
    EXPECT_EQ(e.code(), "bad_manifest");
  }
  try {
    (void)ParseManifest(R"({"format": "laredo-s3-baseline/1", "snapshot_id": "s",
                            "created_at": "1140-05-01T12:00:00Z", "stream": "s", "tables": {}})");
    FAIL() << "accepted";
  } catch (const DataError& e) {
    EXPECT_EQ(e.code(), "bad_manifest");
    EXPECT_NE(std::string(e.what()).find("/created_at: '1140-05-01T12:00:00Z' is out of range"),
              std::string::npos)
        << e.what();
  }
}

TEST_F(DecoderTest, RejectsBadBaselineLines) {
  EXPECT_THROW((void)decoder_.DecodeRow(kUsers, "not json"), DataError);
  EXPECT_THROW((void)decoder_.DecodeRow(kUsers, R"({"id": 1e400})"), DataError);
  EXPECT_THROW((void)decoder_.DecodeRow(kUsers, "[1]"), DataError);
  EXPECT_THROW((void)decoder_.DecodeRow(kUsers, R"({"id": 1, "balance": true})"), DataError);
  EXPECT_THROW((void)decoder_.DecodeRow({"public", "other"}, R"({"id": 1})"), DataError);
}

TEST(ParseTableName, SplitsAtTheFirstDot) {
  EXPECT_EQ(ParseTableName("public.users"), (TableIdentifier{"public", "users"}));
  EXPECT_EQ(ParseTableName("s.t.with.dots"), (TableIdentifier{"s", "t.with.dots"}));
  EXPECT_THROW((void)ParseTableName("nodot"), DataError);
  EXPECT_THROW((void)ParseTableName(".t"), DataError);
  EXPECT_THROW((void)ParseTableName("s."), DataError);
}

}  // namespace
}  // namespace laredo::kinesis::contract
