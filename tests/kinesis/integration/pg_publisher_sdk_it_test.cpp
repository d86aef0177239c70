// The data contract read by a consumer laredo did not write: tests/kinesis/servers/sdk_consumer.mjs
// (the AWS SDK for JavaScript) loads a snapshot the publisher program wrote, reads the stream after
// it (skipping barriers) and prints the tables; its rows must equal `SELECT *` and what laredo's
// own `kinesis::Source` consumer holds, field by field. It reads twice: from the newest snapshot,
// and from the oldest one kept, whose stream part holds later snapshots' barriers.
#include <cstdio>

#include "pg_e2e_fixture.hpp"
#include "value_mapping.hpp"

#ifndef LAREDO_SDK_CONSUMER
#error \
    "LAREDO_SDK_CONSUMER (the path of servers/sdk_consumer.mjs) is set by tests/kinesis/CMakeLists.txt"
#endif

namespace laredo::kinesis::it {
namespace {

using namespace std::chrono_literals;

class PgPublisherSdkIt : public PgE2eTest {
 protected:
  /// Runs the SDK consumer on `prefix`; its JSON output (stderr goes to the test's).
  nlohmann::json RunSdkConsumer(const std::string& prefix) {
    const auto quote = [](const std::string& s) { return "'" + s + "'"; };
    const std::string command = "NODE_NO_WARNINGS=1 node " + quote(LAREDO_SDK_CONSUMER) + " " +
                                quote(env_.s3_endpoint) + " " + quote(env_.kinesis_endpoint) + " " +
                                quote(bucket_) + " " + quote(prefix);
    FILE* pipe = ::popen(command.c_str(), "r");
    if (pipe == nullptr) throw std::runtime_error("cannot run node");
    std::string out;
    std::array<char, 65536> buffer{};
    std::size_t n = 0;
    while ((n = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0)
      out.append(buffer.data(), n);
    const int status = ::pclose(pipe);
    EXPECT_EQ(status, 0) << command;
    return nlohmann::json::parse(out);
  }

  /// The SDK consumer's rows of the table, read with the contract's value mapping.
  std::map<std::int64_t, Row> SdkRows(const nlohmann::json& out) {
    const std::map<std::string, contract::ColumnKind> kinds = {
        {"id", contract::KindForType("bigint")},
        {"name", contract::KindForType("text")},
        {"v", contract::KindForType("bigint")},
        {"big", contract::KindForType("text")}};
    std::map<std::int64_t, Row> rows;
    for (const auto& line : out.at("tables").at(table_)) {
      Row row;
      EXPECT_EQ(line.size(), kE2eColumns.size()) << line.dump().substr(0, 200);
      for (const auto& column : kE2eColumns) {
        row[column] = contract::ToValue(line.at(column), kinds.at(column));
      }
      rows.emplace(row.at("id").AsInt(), std::move(row));
    }
    return rows;
  }

  /// The id of the oldest snapshot still under the prefix (its own manifest is kept with it).
  std::string OldestSnapshot() {
    std::string oldest;
    for (const auto& key : s3_->ListAllObjects(bucket_, "snap/", 1000)) {
      const std::string suffix = "/manifest.json";
      if (key.size() <= 5 + suffix.size() || !key.ends_with(suffix)) continue;
      const auto id = key.substr(5, key.size() - 5 - suffix.size());
      if (oldest.empty() || id < oldest) oldest = id;
    }
    return oldest;
  }
};

void ExpectSameRows(const std::map<std::int64_t, Row>& got,
                    const std::map<std::int64_t, Row>& expected, const std::string& who) {
  EXPECT_EQ(got.size(), expected.size()) << who;
  int reported = 0;
  for (const auto& [id, row] : expected) {
    const auto it = got.find(id);
    if (it == got.end()) {
      ADD_FAILURE() << who << " lacks id " << id;
    } else if (it->second != row) {
      ADD_FAILURE() << who << " id " << id << ": " << it->second.ToString().substr(0, 200)
                    << " instead of " << row.ToString().substr(0, 200);
    } else {
      continue;
    }
    if (++reported >= 10) break;
  }
}

TEST_F(PgPublisherSdkIt, TheAwsSdkConsumerReadsWhatLaredoReads) {
  const std::string& t = table_;
  // Keys and values beyond 2^53 travel as strings of digits: a reader using doubles would merge
  // these two ids.
  Exec("INSERT INTO " + t +
       " SELECT g, 'n' || g, g, repeat(md5(g::text), 200) FROM generate_series(1, 100) g");
  Exec("INSERT INTO " + t +
       " VALUES (9007199254740993, 'big id', -9007199254740993, 'x'),"
       " (9007199254740992, 'big id neighbour', 9007199254740992, NULL)");
  snapshot_interval_s_ = 2;
  snapshot_keep_ = 20;
  StartPublisher();
  ASSERT_TRUE(AwaitCondition([&] { return !NewestSnapshot().empty(); }, 30s)) << publisher_->Log();
  const std::string first = NewestSnapshot();

  Exec("UPDATE " + t + " SET name = 'renamed ' || id WHERE id <= 30");  // big unchanged (TOAST)
  Exec("UPDATE " + t + " SET id = id + 1000 WHERE id BETWEEN 41 AND 45");
  Exec("DELETE FROM " + t + " WHERE id BETWEEN 80 AND 90");
  Exec("UPDATE " + t + " SET v = v + 1, name = NULL WHERE id = 9007199254740993");
  Exec("INSERT INTO " + t + " VALUES (9007199254740995, 'another', 9007199254740995, NULL)");
  // A later snapshot: its barrier lies in the stream after the first snapshot's position.
  ASSERT_TRUE(AwaitCondition([&] { return NewestSnapshot() != first; }, 30s)) << publisher_->Log();
  Exec("TRUNCATE " + t);
  Exec("INSERT INTO " + t +
       " SELECT g, 'after ' || g, -g, repeat(md5((g * 3)::text), 200) FROM generate_series(1, 40) "
       "g");
  Exec("UPDATE " + t + " SET name = 'last ' || id WHERE id <= 10");  // big unchanged (TOAST)
  Exec("UPDATE " + t + " SET id = 9007199254740999 WHERE id = 40");
  Exec("DELETE FROM " + t + " WHERE id BETWEEN 31 AND 35");

  const auto expected = TableRows();
  ASSERT_EQ(expected.size(), 35U);
  Consumer ours = StartConsumer("laredo's consumer");
  EXPECT_TRUE(AwaitCondition([&] { return Holds(*ours.target, expected); }, 30s))
      << ours.engine->SourceError("kinesis").value_or("") << ", has " << ours.target->Count();
  ExpectSame(*ours.target, expected, ours.who);
  ours.engine->Stop();
  // Stopped cleanly, the program has written everything: the SDK consumer reads to the end.
  ASSERT_TRUE(publisher_->Stop()) << publisher_->Log();

  const auto newest = RunSdkConsumer("snap");
  EXPECT_EQ(newest.at("snapshot_id"), NewestSnapshot());
  ExpectSameRows(SdkRows(newest), expected, "SDK consumer of the newest snapshot");

  const std::string oldest = OldestSnapshot();
  ASSERT_EQ(oldest, first) << "the first snapshot was pruned";
  const auto pinned = RunSdkConsumer("snap/" + oldest);
  EXPECT_EQ(pinned.at("snapshot_id"), first);
  // From the first snapshot every change is on the stream, with later snapshots' barriers: 30
  // renames, 5 key changes (one update each: big is unchanged), 11 deletes, 1 update, 1 insert,
  // the truncate, 40 inserts, 10 renames, 1 key change, 5 deletes.
  EXPECT_GE(pinned.at("records").get<int>(), 30 + 5 + 11 + 1 + 1 + 1 + 40 + 10 + 1 + 5);
  EXPECT_GE(pinned.at("barriers").get<int>(), 1);
  ExpectSameRows(SdkRows(pinned), expected, "SDK consumer of the first snapshot");
}

}  // namespace
}  // namespace laredo::kinesis::it
