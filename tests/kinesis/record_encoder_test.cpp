// The publisher's encoder against the consumer's decoder: every value kind written by
// `RecordEncoder` reads back equal through `contract::Decoder`, for stream records and for the
// same object as a baseline line.
#include "record_encoder.hpp"

#include <gtest/gtest.h>

#include <limits>
#include <nlohmann/json.hpp>

#include "contract.hpp"
#include "laredo/error.hpp"
#include "laredo/error_codes.hpp"
#include "laredo/testsource/test_source.hpp"

namespace laredo::kinesis::contract {
namespace {

const TableIdentifier kTable = Table("public", "kinds");

ColumnDefinition Column(std::string name, std::string type, bool key = false) {
  ColumnDefinition c;
  c.name = std::move(name);
  c.type = std::move(type);
  c.primary_key = key;
  c.primary_key_ordinal = key ? 1 : 0;
  c.nullable = !key;
  return c;
}

std::vector<ColumnDefinition> Columns() {
  return {Column("id", "bigint", true),
          Column("i", "integer"),
          Column("d", "double precision"),
          Column("n", "numeric(12,2)"),
          Column("b", "boolean"),
          Column("t", "character varying(40)"),
          Column("j", "jsonb"),
          Column("u", "uuid"),
          Column("by", "bytea"),
          Column("dt", "date"),
          Column("tm", "time"),
          Column("ts", "timestamp(6) without time zone"),
          Column("tz", "timestamp with time zone"),
          Column("arr", "integer[]")};
}

constexpr std::int64_t kI64Max = std::numeric_limits<std::int64_t>::max();
constexpr std::int64_t kI64Min = std::numeric_limits<std::int64_t>::min();
constexpr double kInf = std::numeric_limits<double>::infinity();

std::string AllBytes() {
  std::string bytes;
  for (int c = 0; c < 256; ++c) bytes.push_back(static_cast<char>(c));
  return bytes;
}

// Rows covering every kind's edges; values are in the manifest's column order.
std::vector<Row> Rows() {
  const auto row = [](std::vector<Value> values) {
    std::vector<std::string> names;
    for (const auto& c : Columns()) names.push_back(c.name);
    return Row(ColumnNames::Make(std::move(names)), std::move(values));
  };
  return {
      row({Value(1), Value(kI64Max), Value(std::numeric_limits<double>::quiet_NaN()),
           Value::Numeric("12.50"), Value(true), Value("plain"),
           Value::Json(R"({"a":[1,2,{"b":null}],"c":"x"})"),
           Value::Uuid("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"), Value::Bytes(AllBytes()),
           Value::Date(0), Value::Time(0), Value::Timestamp(0), Value::TimestampTz(0),
           Value::Json("[1,2,3]")}),
      row({Value(2), Value(kI64Min), Value(kInf), Value::Numeric("NaN"), Value(false),
           Value("quote \" backslash \\ tab \t nl \n nul-free ünïcødé ✓"), Value::Json("true"),
           Value::Uuid("00000000-0000-0000-0000-000000000000"), Value::Bytes(""),
           Value::Date(-719'528), Value::Time(86'400'000'000LL), Value::Timestamp(-1),
           Value::TimestampTz(-86'400'000'001LL), Value::Json("[]")}),
      row({Value(3), Value((1LL << 53) + 1), Value(-kInf), Value::Numeric("-0.001"), Value(),
           Value(""), Value::Json("42"), Value(), Value(), Value::Date(2'932'896),
           Value::Time(86'399'999'999LL), Value::Timestamp(253'402'300'799'999'999LL),
           Value::TimestampTz(1'714'564'800'123'456LL), Value()}),
      row({Value(kI64Min), Value(-(1LL << 53) - 1), Value(5e-324), Value::Numeric("1e-7"), Value(),
           Value(), Value::Json(R"("text")"), Value(), Value::Bytes(std::string(1, '\0')),
           Value::Date(std::numeric_limits<std::int32_t>::max()), Value(),
           Value::Timestamp(kI64Max), Value::TimestampTz(kI64Min), Value()}),
      row({Value(kI64Max), Value(0), Value(-0.0), Value::Numeric("99999999999999999999.99"),
           Value(), Value(), Value::Json(R"({"z":1.5,"a":-2})"), Value(), Value(),
           Value::Date(std::numeric_limits<std::int32_t>::min()), Value(), Value(),
           Value::TimestampTz(kI64Max), Value()}),
      row({Value(5), Value(), Value(1.7976931348623157e308), Value(), Value(), Value(), Value(),
           Value(), Value(), Value(), Value(), Value(), Value(), Value()}),
  };
}

class RecordEncoderTest : public ::testing::Test {
 protected:
  RecordEncoderTest()
      : encoder_(kTable, Columns(), false),
        decoder_(std::map<TableIdentifier, std::vector<ColumnDefinition>>{{kTable, Columns()}}),
        reference_decoder_(
            std::map<TableIdentifier, std::vector<ColumnDefinition>>{{kTable, Columns()}}, false) {}

  std::vector<EncodedRecord> Encode(const TargetChange& change) const {
    std::vector<EncodedRecord> out;
    encoder_.Encode(change, out);
    return out;
  }

  RecordEncoder encoder_;
  Decoder decoder_;
  Decoder reference_decoder_;
};

// JSON canonical text, as the decoder gives it (keys sorted).
Value Canonical(const Value& v) {
  if (v.kind() != Value::Kind::Json) return v;
  return Value::Json(nlohmann::json::parse(v.AsJson()).dump());
}

Row CanonicalRow(const Row& row) {
  std::vector<Value> values;
  for (const auto& v : row.values()) values.push_back(Canonical(v));
  return Row(row.names(), std::move(values));
}

TEST_F(RecordEncoderTest, EveryValueKindRoundTripsThroughTheConsumersDecoder) {
  for (const Row& row : Rows()) {
    const TargetChange change{.action = ChangeAction::Insert, .row = &row};
    const auto records = Encode(change);
    ASSERT_EQ(records.size(), 1U);
    const DecodedRecord decoded = decoder_.DecodeRecord(records[0].data);
    EXPECT_EQ(decoded.event.action, ChangeAction::Insert);
    EXPECT_EQ(decoded.event.table, kTable);
    EXPECT_EQ(decoded.event.new_values, CanonicalRow(row)) << records[0].data << "\n"
                                                           << decoded.event.new_values.ToString();

    // The same object as a snapshot line reads the same, on the fast path and the tree path.
    const std::string line = nlohmann::json::parse(records[0].data).at("new").dump();
    EXPECT_EQ(decoder_.DecodeRow(kTable, line), CanonicalRow(row)) << line;
    EXPECT_EQ(reference_decoder_.DecodeRow(kTable, line), CanonicalRow(row)) << line;
  }
}

TEST_F(RecordEncoderTest, LargeIntegersGoAsDigitStringsAndNonFiniteDoublesAsText) {
  const Row row = Rows()[2];  // i = 2^53 + 1, d = -inf
  const TargetChange change{.action = ChangeAction::Insert, .row = &row};
  const auto record = nlohmann::json::parse(Encode(change)[0].data);
  EXPECT_EQ(record["new"]["i"], "9007199254740993");
  EXPECT_EQ(record["new"]["d"], "-Infinity");
  EXPECT_EQ(record["new"]["id"], 3);
  EXPECT_EQ(record["new"]["ts"], "9999-12-31T23:59:59.999999");
  EXPECT_EQ(record["new"]["tz"], "2024-05-01T12:00:00.123456Z");
  EXPECT_TRUE(record["new"]["j"].is_number());  // the document itself, not its text
}

TEST_F(RecordEncoderTest, AnUpdateLeavesUnchangedColumnsOutAndTheConsumerKeepsThem) {
  Row row = Rows()[0];
  row.at("t") = Value::Unchanged();
  row.at("by") = Value::Unchanged();
  const Row identity{{"id", Value(1)}};
  const TargetChange change{.action = ChangeAction::Update, .row = &row, .identity = &identity};
  const auto records = Encode(change);
  ASSERT_EQ(records.size(), 1U);
  const auto json = nlohmann::json::parse(records[0].data);
  EXPECT_FALSE(json["new"].contains("t"));
  EXPECT_FALSE(json["new"].contains("by"));
  const auto decoded = decoder_.DecodeRecord(records[0].data);
  EXPECT_EQ(decoded.event.action, ChangeAction::Update);
  EXPECT_EQ(decoded.event.new_values, CanonicalRow(row));
  EXPECT_TRUE(decoded.event.new_values.at("t").IsUnchanged());
  EXPECT_EQ(decoded.event.old_values, identity);
  EXPECT_EQ(records[0].partition_key, "public.kinds:1");
}

TEST_F(RecordEncoderTest, AKeyChangeIsADeleteUnderTheOldKeyAndAnInsertUnderTheNew) {
  const Row row = Rows()[1];  // id 2
  const Row identity{{"id", Value(7)}};
  const TargetChange change{.action = ChangeAction::Update, .row = &row, .identity = &identity};
  const auto records = Encode(change);
  ASSERT_EQ(records.size(), 2U);
  EXPECT_EQ(records[0].partition_key, "public.kinds:7");
  EXPECT_EQ(records[1].partition_key, "public.kinds:2");
  const auto removal = decoder_.DecodeRecord(records[0].data);
  EXPECT_EQ(removal.event.action, ChangeAction::Delete);
  EXPECT_EQ(removal.event.old_values, identity);
  const auto addition = decoder_.DecodeRecord(records[1].data);
  EXPECT_EQ(addition.event.action, ChangeAction::Insert);
  EXPECT_EQ(addition.event.new_values, CanonicalRow(row));
}

TEST_F(RecordEncoderTest, DeletesTruncatesCommitTimeAndSourcePosition) {
  testsource::TestSource source;
  const Row identity{{"id", Value(9)}};
  ChangeEvent event;
  event.position = Position(std::uint64_t{42});
  event.commit_time =
      std::chrono::system_clock::time_point{} + std::chrono::microseconds(1'714'564'800'250'001LL);
  const TargetChange del{
      .action = ChangeAction::Delete, .identity = &identity, .event = &event, .source = &source};
  const auto records = Encode(del);
  ASSERT_EQ(records.size(), 1U);
  const auto decoded = decoder_.DecodeRecord(records[0].data);
  EXPECT_EQ(decoded.event.action, ChangeAction::Delete);
  EXPECT_EQ(decoded.event.old_values, identity);
  EXPECT_EQ(decoded.event.commit_time, event.commit_time);
  EXPECT_EQ(decoded.source_position, source.PositionToString(event.position));

  const TargetChange truncate{.action = ChangeAction::Truncate};
  const auto t = Encode(truncate);
  ASSERT_EQ(t.size(), 1U);
  EXPECT_EQ(t[0].partition_key, "public.kinds");
  EXPECT_TRUE(t[0].fence);  // ordered against every key (PutPlanner)
  EXPECT_FALSE(records[0].fence);
  EXPECT_EQ(decoder_.DecodeRecord(t[0].data).event.action, ChangeAction::Truncate);
}

void ExpectUnencodable(const RecordEncoder& encoder, const Row& row, std::string_view column) {
  const TargetChange change{.action = ChangeAction::Insert, .row = &row};
  std::vector<EncodedRecord> out;
  try {
    encoder.Encode(change, out);
    ADD_FAILURE() << "no error for " << row.ToString();
  } catch (const DataError& e) {
    EXPECT_EQ(e.code(), codes::kUnencodableValue);
    EXPECT_NE(std::string(e.what()).find(std::string("'") + std::string(column) + "'"),
              std::string::npos)
        << e.what();
  }
  EXPECT_TRUE(out.empty());
}

TEST_F(RecordEncoderTest, ValuesTheContractCannotCarryAreErrorsNamingTheColumn) {
  ExpectUnencodable(encoder_, Row{{"id", Value(1)}, {"t", Value::Unchanged()}}, "t");
  ExpectUnencodable(encoder_, Row{{"id", Value(1)}, {"i", Value("12")}}, "i");
  ExpectUnencodable(encoder_, Row{{"id", Value(1)}, {"dt", Value::Date(2'932'897)}}, "dt");
  ExpectUnencodable(encoder_, Row{{"id", Value(1)}, {"j", Value::Json("{not json")}}, "j");
  ExpectUnencodable(encoder_, Row{{"id", Value(1)}, {"tm", Value::Time(-1)}}, "tm");
}

TEST(PartitionKey, TableAndKeyInKeyOrderHashedWhenLong) {
  auto a = Column("a", "text", true);
  auto b = Column("b", "integer", true);
  a.primary_key_ordinal = 2;
  b.primary_key_ordinal = 1;
  const RecordEncoder encoder(Table("s", "t"), {a, b, Column("c", "text")}, false);
  EXPECT_EQ(encoder.PartitionKeyFor(Row{{"a", Value("x")}, {"b", Value(1)}}), "s.t:1,x");
  const Row long_row{{"a", Value(std::string(300, 'k'))}, {"b", Value(1)}};
  const std::string hashed = encoder.PartitionKeyFor(long_row);
  EXPECT_LE(hashed.size(), kMaxPartitionKey);
  EXPECT_EQ(hashed.rfind("s.t#", 0), 0U) << hashed;
  EXPECT_EQ(hashed, encoder.PartitionKeyFor(long_row));
  EXPECT_NE(hashed,
            encoder.PartitionKeyFor(Row{{"a", Value(std::string(300, 'j'))}, {"b", Value(1)}}));

  const RecordEncoder by_table(Table("s", "t"), {a, b}, true);
  EXPECT_EQ(by_table.PartitionKeyFor(Row{{"a", Value("x")}, {"b", Value(1)}}), "s.t");
  const RecordEncoder keyless(Table("s", "t"), {Column("c", "text")}, false);
  EXPECT_EQ(keyless.PartitionKeyFor(Row{{"c", Value("x")}}), "s.t");
}

}  // namespace
}  // namespace laredo::kinesis::contract
