// The baseline's fast line parser against the JSON-tree decoder it stands in for: for every line,
// the same row (names, order, value kinds and payloads) or the same error.
#include "fast_row.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "contract.hpp"
#include "decoder_table.hpp"
#include "laredo/error.hpp"

namespace laredo::kinesis::contract {
namespace {

const TableIdentifier kT{"public", "t"};

std::map<TableIdentifier, std::vector<ColumnDefinition>> Tables() {
  const auto col = [](const char* name, const char* type, bool nullable = true) {
    return ColumnDefinition{.name = name, .type = type, .nullable = nullable};
  };
  return {{kT,
           {col("id", "bigint", false), col("a", "integer"), col("b", "text"),
            col("c", "timestamp with time zone"), col("d", "jsonb"), col("f", "double precision"),
            col("n", "numeric(10,2)"), col("ok", "boolean"), col("u", "uuid"), col("y", "bytea"),
            col("day", "date"), col("t", "time"), col("ts", "timestamp"), col("x", "mystery")}}};
}

// What a decoder makes of a line: the row with every value's kind, or the error.
std::string Outcome(const Decoder& decoder, std::string_view line) {
  try {
    const Row row = decoder.DecodeRow(kT, line);
    std::string out;
    for (const auto& [name, value] : row) {
      out += name + "=" + std::to_string(static_cast<int>(value.kind())) + ":" + value.ToString() +
             " ";
    }
    return out;
  } catch (const DataError& e) {
    return std::string("error ") + e.code() + ": " + e.what();
  }
}

class FastRowTest : public ::testing::Test {
 protected:
  void ExpectSame(std::string_view line) {
    EXPECT_EQ(Outcome(fast_, line), Outcome(tree_, line)) << line;
  }
  // The line is decoded without the tree, to the same row.
  void ExpectFast(std::string_view line) {
    ExpectSame(line);
    const Row row = tree_.DecodeRow(kT, line);
    (void)row;
    Decoder::Table table;
    table.id = kT;
    table.columns = Tables().at(kT);
    std::vector<std::string> names;
    for (const auto& c : table.columns) {
      names.push_back(c.name);
      table.kinds.push_back(KindForType(c.type));
    }
    table.names = ColumnNames::Make(names);
    EXPECT_TRUE(TryDecodeRowFast(table, line).has_value()) << "took the tree path: " << line;
  }

  Decoder fast_{Tables(), true};
  Decoder tree_{Tables(), false};
};

TEST_F(FastRowTest, CommonLinesTakeTheFastPathToTheSameRow) {
  ExpectFast(R"({"a":7,"b":"row 1 xxxx","c":"2023-11-14T22:13:20.001000Z","d":{"k":1},"id":1})");
  ExpectFast(
      R"({"id":2,"a":null,"b":"tab\there \"quoted\" \\ /","d":[1,"x",{"a":true,"b":null}]})");
  ExpectFast(R"( { "id" : -3 , "f" : 1.5e3 , "n" : 12 , "ok" : false } )");
  ExpectFast(R"({"id":4,"f":"NaN","n":"12.50","u":"A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11"})");
  ExpectFast(
      R"({"id":5,"y":"aGVsbG8=","day":"2024-02-29","t":"23:59:59.5","ts":"2024-05-01 12:00:00"})");
  ExpectFast(R"({"id":6,"x":{"z":1,"a":2},"d":{"b": 1, "a": [1.50, 2]},"b":"été ✓ 😀"})");
  ExpectFast(R"({"id":"9007199254740993","a":"12","f":3,"x":1.25,"d":"plain"})");
  ExpectFast(R"({"id":7,"x":18446744073709551615e0,"d":true,"n":-0})");
}

TEST_F(FastRowTest, EveryOtherShapeGivesWhatTheTreeGives) {
  for (const char* line : {
           R"({"id":1,"extra":5})",                   // a column the manifest lacks
           R"({"id":1,"id":2})",                      // a duplicate
           R"({"id":1,"b":"\u00e9\ud83d\ude00"})",    // \u escapes
           R"({"id":1,"d":"needs \"escaping\""})",    // a json string re-escaped
           R"({"id":18446744073709551615})",          // unsigned beyond int64
           R"({"id":1,"n":1.50})",                    // numeric from a float
           R"({"id":1,"x":99999999999999999999})",    // unknown beyond uint64
           R"({"a":1})",                              // NOT NULL id missing
           R"({"id":null})",                          // NOT NULL id null
           R"({"id":1.5})",                           // int from a float
           R"({"id":1,"a":"x"})",                     // int from bad text
           R"({"id":1,"b":5})",                       // text from a number
           R"({"id":1,"ok":"true"})",                 // bool from text
           R"({"id":1,"u":"not-a-uuid"})",            // bad uuid
           R"({"id":1,"c":"2024-13-01T00:00:00Z"})",  // bad timestamp
           R"({"id":1,"y":"***"})",                   // bad base64
           R"({"id":1,"d":{"a":1,}})",                // bad nested json
           R"({"id":1,"f":1e400})",                   // double out of range
           R"({"id":01})",                            // leading zero
           R"({"id":1}x)",                            // trailing garbage
           R"({"id":1)",                              // cut short
           R"([1,2])",                                // not an object
           R"("text")",                               // not an object
           "",                                        // empty
           "{\"id\":1,\"b\":\"\x01\"}",               // raw control character
           "{\"id\":1,\"b\":\"\xC3\x28\"}",           // invalid UTF-8
           "{\"id\":1,\"b\":\"\xED\xA0\x80\"}",       // an encoded surrogate
           "{\"id\":1,\"b\":\"\xE0\x80\x80\"}",       // overlong
           R"({"id":1,"x":[1,{"b":2,"a":1}]})",       // unknown kind, keys to sort
           R"({"id":1,"d":{"k":-0}})",                // -0 inside json
           R"({"id":-9223372036854775808,"a":9223372036854775807})",
       }) {
    ExpectSame(line);
  }
}

// Random damage to valid lines: whatever the bytes, both paths agree.
TEST_F(FastRowTest, DamagedLinesGiveWhatTheTreeGives) {
  const std::vector<std::string> seeds = {
      R"({"a":7,"b":"row 1 xxxx","c":"2023-11-14T22:13:20.001000Z","d":{"k":1},"id":1})",
      R"({"id":6,"x":{"z":1,"a":[2,3]},"f":-1.5e-3,"n":"3.14","ok":true,"u":null})",
      R"({"id":5,"y":"aGVsbG8=","day":"2024-02-29","t":"23:59:59.5","b":"\"q\" \\"})",
  };
  const std::string alphabet = "{}[]\",:\\ -.eE0123456789tfnul\x7f\x80\xc3\xa9xu";
  std::mt19937 rng(12345);
  for (int i = 0; i < 20'000; ++i) {
    std::string line = seeds[rng() % seeds.size()];
    const int edits = 1 + static_cast<int>(rng() % 3);
    for (int e = 0; e < edits; ++e) {
      const std::size_t at = rng() % (line.size() + 1);
      const char c = alphabet[rng() % alphabet.size()];
      switch (rng() % 3) {
        case 0:
          line.insert(at, 1, c);
          break;
        case 1:
          if (at < line.size()) line.erase(at, 1);
          break;
        default:
          if (at < line.size()) line[at] = c;
          break;
      }
    }
    ExpectSame(line);
    if (HasFailure()) break;  // one line is enough to see the difference
  }
}

}  // namespace
}  // namespace laredo::kinesis::contract
