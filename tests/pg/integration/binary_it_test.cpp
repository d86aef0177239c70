// Binary mode (pgoutput binary 'true'): every supported type decodes from its send format into
// the Values text mode gives, on the real server; a column without a binary decoder falls back to
// text mode.
#include <libpq-fe.h>

#include "binary_values.hpp"
#include "pg_harness.hpp"
#include "type_resolver.hpp"

namespace laredo::pg::testing {
namespace {

using laredo::testing::FastOptions;

// Every supported type, with the edge values of each, NULLs and arrays; plus an enum and domains
// (decoded through the catalog).
const char* const kColumns =
    "id int PRIMARY KEY, i2 int2, i4 int4, i8 int8, f4 float4, f8 float8, n numeric, "
    "ns numeric(5,-2), b bool, t text, vc varchar(10), bc char(4), nm name, ch \"char\", by bytea, "
    "u uuid, j json, jb jsonb, d date, tm time, ttz timetz, ts timestamp, tstz timestamptz, "
    "iv interval, o oid, m mood, dm dint, dn dnum, ai int4[], a2 int4[], at text[], an numeric[], "
    "af float8[], af4 float4[], ab bool[], ad date[], ats timestamp[], atz timestamptz[], "
    "aiv interval[], am mood[], ajb jsonb[], aby bytea[], au uuid[], ach \"char\"[], adm dint[], "
    "dai dints";

const char* const kRows[] = {
    "(1, 1, 2, 3, 1.5, 0.1, 123.456, 12300, true, 'plain', 'v', 'ab', 'nm', 'x', '\\x0102', "
    "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{\"a\": [1, 2]}', '{\"b\": {\"c\": null}}', "
    "'2024-02-29', '12:34:56.789', '12:34:56+05:30', '2024-01-02 03:04:05.123456', "
    "'2024-01-02 03:04:05+02', '1 year 2 mons 3 days 04:05:06.5', 42, 'happy', 7, 1.25, "
    "'{1,2,3}', '{{1,2},{3,4}}', '{a,\"b c\",\"\",NULL,\"null\",\"q\\\"\\\\\"}', '{1.5,NaN}', "
    "'{0.1,1e300,-0,1e15,1e14,0.0001,0.00001,123456789.125}', '{1.5,1e10,1e6,123456,1e-4,1e-5}', "
    "'{t,f,NULL}', '{2024-01-01,infinity}', "
    "'{\"2024-01-02 03:04:05\"}', '{\"2024-01-02 03:04:05.5+00\",-infinity}', "
    "'{\"1 day\",-00:00:01}', '{sad,happy}', '{\"{}\",\"[1]\"}', '{\"\\\\x00ff\"}', "
    "'{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}', '{a,b}', '{1,NULL}', '{1,2}')",
    // Extremes and special values.
    "(2, -32768, -2147483648, -9223372036854775808, 'NaN', '-Infinity', 'NaN', -99900, false, "
    "'gr\u00fc\u00df \u20ac \U0001F600', '', '', '', '\u00e9', '\\x', "
    "'00000000-0000-0000-0000-000000000000', '\"x\"', '[]', '-infinity', '24:00:00', "
    "'00:00:00-15:59:59', '-infinity', 'infinity', '-178000000 years -1 mons -00:00:00.000001', "
    "0, 'sad', -9223372036854775808, 'NaN', '{}', '[0:1]={5,6}', '{}', '{-Infinity,Infinity}', "
    "'{1e-310,-1.5e-07}', '{3.4e38,-1e-45}', '{}', '{-infinity}', '{infinity}', '{}', '{}', '{}', "
    "'{}', '{}', '{}', '{}', '{}', '{}')",
    "(3, 32767, 2147483647, 9223372036854775807, 'Infinity', 1e-310, '-Infinity', 0, true, "
    "E'tab\\there\\nnewline \\\\ backslash', 'xxxxxxxxxx', 'abcd', "
    "'abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijk', '\\001', "
    "'\\xdeadbeef00', 'ffffffff-ffff-ffff-ffff-ffffffffffff', 'null', '{\"k\": 1.50}', "
    "'4713-01-01 BC', '00:00:00', '23:59:59.999999+15:59', '294276-12-31 23:59:59.999999', "
    "'4714-11-24 00:00:00+00 BC', '-1 days +23:59:59.999999', 4294967295, 'ok', 0, 0, "
    "'{-2147483648,2147483647}', '{{1},{NULL}}', '{\"\\\\\",\"{\",\"}\",\",\",\" \"}', "
    "'{0,-0.001,1e-20}', '{NULL}', '{NULL}', '{NULL}', '{5874897-12-31}', "
    "'{\"0001-01-01 00:00:00 BC\"}', '{NULL}', '{\"1 year\"}', '{NULL,ok}', '{null}', "
    "'{\"\\\\x\"}', "
    "'{NULL}', '{\"\\\\351\"}', '{NULL}', '{NULL}')",
    // Every column NULL.
    "(4, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, "
    "NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, "
    "NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, "
    "NULL)",
};

class BinaryTest : public PgTest {
 protected:
  void CreateTypes() {
    Exec("CREATE TYPE " + name_ + ".mood AS ENUM ('sad', 'ok', 'happy')");
    Exec("CREATE DOMAIN " + name_ + ".dint AS int8");
    Exec("CREATE DOMAIN " + name_ + ".dnum AS numeric CHECK (VALUE IS NOT NULL OR true)");
    Exec("CREATE DOMAIN " + name_ + ".dints AS int4[]");
    Exec("SET search_path = " + name_ + ", public");
  }
  void InsertRows(const std::string& table) {
    for (const char* row : kRows) Exec("INSERT INTO " + Q(table) + " VALUES " + row);
  }
  // The START_REPLICATION command of the walsender streaming from `slot`.
  std::string StartCommand(const std::string& slot) {
    std::string query;
    Eventually(
        [&] {
          query = Scalar(
              "SELECT a.query FROM pg_replication_slots s JOIN pg_stat_activity a "
              "ON a.pid = s.active_pid WHERE s.slot_name = '" +
              slot + "'");
          return query.find("START_REPLICATION") != std::string::npos;
        },
        30s);
    return query;
  }
  SourceOptions Named(const std::string& suffix, bool binary) {
    auto options = Options();
    options.slot_name = name_ + suffix;
    options.publication_name = name_ + suffix;
    options.binary = binary;
    return options;
  }
  void DropNamed(const std::string& suffix) {
    Eventually([&] {
      return Query("SELECT 1 FROM pg_replication_slots WHERE slot_name = '" + name_ + suffix +
                   "' AND active")
          .empty();
    });
    Exec(
        "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = '" +
        name_ + suffix + "'");
    Exec("DROP PUBLICATION IF EXISTS " + name_ + suffix);
  }
};

// The decoders against the server's own send and output functions, value by value: a binary
// result (the same send functions pgoutput calls) and the text of the same row.
TEST_F(BinaryTest, EverySendFormatDecodesLikeItsTextOutput) {
  CreateTypes();
  Exec(std::string("CREATE TABLE ") + Q("all_types") + " (" + kColumns + ")");
  InsertRows("all_types");
  TypeResolver types(conninfo_);
  const std::string sql = "SELECT * FROM " + Q("all_types") + " ORDER BY id";
  auto text = admin_.Exec(sql, "text result");
  ResultPtr binary(PQexecParams(admin_.get(), sql.c_str(), 0, nullptr, nullptr, nullptr, nullptr,
                                /*resultFormat=*/1));
  ASSERT_EQ(PQresultStatus(binary.get()), PGRES_TUPLES_OK) << PQerrorMessage(admin_.get());
  ASSERT_EQ(PQntuples(text.get()), 4);
  int compared = 0;
  for (int row = 0; row < PQntuples(text.get()); ++row) {
    for (int col = 0; col < PQnfields(text.get()); ++col) {
      const auto type = PQftype(text.get(), col);
      const auto binary_type = types.BinaryTypeOf(type);
      ASSERT_NE(binary_type.kind, BinaryType::Kind::None) << PQfname(text.get(), col);
      if (PQgetisnull(text.get(), row, col) != 0) continue;
      const std::string_view bytes(PQgetvalue(binary.get(), row, col),
                                   static_cast<std::size_t>(PQgetlength(binary.get(), row, col)));
      const auto expected = TextToValue(types.ValueType(type), PQgetvalue(text.get(), row, col));
      EXPECT_EQ(BinaryToValue(binary_type, bytes), expected)
          << "row " << row + 1 << " column " << PQfname(text.get(), col) << " text "
          << PQgetvalue(text.get(), row, col);
      ++compared;
    }
  }
  EXPECT_GT(compared, 100);
}

// The same rows streamed in text mode and in binary mode give identical Values, and a baseline
// taken afterwards gives them too.
TEST_F(BinaryTest, TextAndBinaryStreamsGiveIdenticalRows) {
  CreateTypes();
  Exec(std::string("CREATE TABLE ") + Q("all_types") + " (" + kColumns + ")");
  Engine text_engine(FastOptions());
  Engine binary_engine(FastOptions());
  text_engine.AddSource("pg", std::make_shared<Source>(Named("_t", false)));
  binary_engine.AddSource("pg", std::make_shared<Source>(Named("_b", true)));
  auto text_target = std::make_shared<memory::IndexedTarget>();
  auto binary_target = std::make_shared<memory::IndexedTarget>();
  text_engine.AddPipeline("pg", T("all_types"), text_target);
  binary_engine.AddPipeline("pg", T("all_types"), binary_target);
  text_engine.Start();
  binary_engine.Start();
  ASSERT_TRUE(text_engine.AwaitReady(30s));
  ASSERT_TRUE(binary_engine.AwaitReady(30s));
  EXPECT_NE(StartCommand(name_ + "_b").find("binary 'true'"), std::string::npos);
  EXPECT_EQ(StartCommand(name_ + "_t").find("binary 'true'"), std::string::npos);

  InsertRows("all_types");
  Exec("UPDATE " + Q("all_types") + " SET t = t || '!', ai = ai || 9 WHERE id = 1");
  ASSERT_TRUE(
      Eventually([&] { return text_target->Count() == 4 && binary_target->Count() == 4; }, 30s));
  ASSERT_TRUE(
      Eventually([&] { return text_target->Get({Value(1)})->at("t") == Value("plain!"); }, 30s));
  ASSERT_TRUE(
      Eventually([&] { return binary_target->Get({Value(1)})->at("t") == Value("plain!"); }, 30s));
  const auto streamed = Index(text_target->All());
  EXPECT_EQ(Index(binary_target->All()), streamed);
  text_engine.Stop();
  binary_engine.Stop();

  // Baselines of the same rows, by binary COPY and by text COPY, agree with both streams.
  for (const bool binary_copy : {true, false}) {
    Engine baseline_engine(FastOptions());
    auto options = Named(binary_copy ? "_c" : "_d", true);
    options.binary_copy = binary_copy;
    baseline_engine.AddSource("pg", std::make_shared<Source>(options));
    auto baseline_target = std::make_shared<memory::IndexedTarget>();
    baseline_engine.AddPipeline("pg", T("all_types"), baseline_target);
    baseline_engine.Start();
    ASSERT_TRUE(baseline_engine.AwaitReady(30s));
    EXPECT_EQ(Index(baseline_target->All()), streamed) << "binary_copy " << binary_copy;
    baseline_engine.Stop();
  }
  for (const char* suffix : {"_t", "_b", "_c", "_d"}) DropNamed(suffix);
}

// A column without a binary decoder (inet, point): the stream is read in text mode, from the
// start when the table has one, and from the Relation message that brings one when a column is
// added while streaming; nothing is lost either way.
TEST_F(BinaryTest, ColumnWithoutBinaryDecoderFallsBackToText) {
  Exec("CREATE TABLE " + Q("has_inet") + " (id int PRIMARY KEY, addr inet, v int)");
  Exec("CREATE TABLE " + Q("plain") + " (id int PRIMARY KEY, v int)");
  Exec("INSERT INTO " + Q("has_inet") + " VALUES (0, '::1', 0)");  // in the baseline: text COPY
  auto options = Options();
  options.binary = true;
  Engine engine(FastOptions());
  engine.AddSource("pg", std::make_shared<Source>(options));
  auto with_inet = std::make_shared<memory::IndexedTarget>();
  engine.AddPipeline("pg", T("has_inet"), with_inet);
  engine.Start();
  ASSERT_TRUE(engine.AwaitReady(30s));
  EXPECT_EQ(StartCommand(name_).find("binary 'true'"), std::string::npos);
  Exec("INSERT INTO " + Q("has_inet") + " VALUES (1, '10.0.0.1/8', 1), (2, NULL, 2)");
  ASSERT_TRUE(Converged(*with_inet, "has_inet"));
  EXPECT_EQ(with_inet->Get({Value(0)})->at("addr"), Value("::1"));
  EXPECT_EQ(with_inet->Get({Value(1)})->at("addr"), Value("10.0.0.1/8"));
  engine.Stop();

  Engine second(FastOptions());
  auto second_options = options;
  second_options.slot_name = name_ + "_p";
  second_options.publication_name = name_ + "_p";
  second.AddSource("pg", std::make_shared<Source>(second_options));
  auto plain = std::make_shared<memory::IndexedTarget>();
  second.AddPipeline("pg", T("plain"), plain);
  second.Start();
  ASSERT_TRUE(second.AwaitReady(30s));
  EXPECT_NE(StartCommand(name_ + "_p").find("binary 'true'"), std::string::npos);
  Exec("INSERT INTO " + Q("plain") + " VALUES (1, 1)");
  ASSERT_TRUE(Converged(*plain, "plain"));
  // Added without a default: no rebaseline, the stream goes on in text mode.
  Exec("ALTER TABLE " + Q("plain") + " ADD COLUMN p point");
  Exec("INSERT INTO " + Q("plain") + " VALUES (2, 2, '(1.5,2)')");
  Exec("UPDATE " + Q("plain") + " SET v = 10 WHERE id = 1");
  ASSERT_TRUE(Eventually(
      [&] {
        const auto row = plain->Get({Value(2)});
        return row && row->at("p") == Value("(1.5,2)") &&
               plain->Get({Value(1)})->at("v") == Value(10);
      },
      30s));
  const auto restarted = StartCommand(name_ + "_p");
  EXPECT_EQ(restarted.find("binary 'true'"), std::string::npos) << restarted;
  second.Stop();
  DropNamed("_p");
}

}  // namespace
}  // namespace laredo::pg::testing
