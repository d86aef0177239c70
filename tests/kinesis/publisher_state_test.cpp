// The publisher's replica state, the barrier record, the manifest it writes (read back by the
// consumer's parser), its gzip objects (read back by the consumer's line reader) and the snapshot
// settings.
#include "publisher_state.hpp"

#include <gtest/gtest.h>

#include "barrier_writer.hpp"
#include "contract.hpp"
#include "gzip_lines.hpp"
#include "gzip_sink.hpp"
#include "laredo/error.hpp"
#include "laredo/error_codes.hpp"
#include "laredo/kinesis/publisher.hpp"
#include "snapshot_writer.hpp"

namespace laredo::kinesis {
namespace {

const TableIdentifier kT = Table("public", "t");

std::vector<ColumnDefinition> Columns() {
  ColumnDefinition id{.name = "id", .type = "bigint", .nullable = false};
  id.primary_key = true;
  id.primary_key_ordinal = 1;
  return {id, ColumnDefinition{.name = "a", .type = "text"},
          ColumnDefinition{.name = "big", .type = "text"}};
}

Row R(std::int64_t id, const char* a, Value big) {
  return Row{{"id", Value(id)}, {"a", Value(a)}, {"big", std::move(big)}};
}

std::map<std::int64_t, Row> Rows(const publish::ReplicaState& state) {
  std::map<std::int64_t, Row> out;
  const auto copy = state.Copy();
  for (const auto& row : copy.at(kT).rows) out[row->at("id").AsInt()] = *row;
  return out;
}

class StateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    state_.SetColumns(kT, Columns());
    state_.BeginBaseline(kT);
    state_.ApplyBaselineRow(kT, R(1, "one", Value("B1")));
    state_.ApplyBaselineRow(kT, R(2, "two", Value("B2")));
  }
  void Apply(ChangeAction action, const Row* row, const Row* identity) {
    state_.Apply(kT, TargetChange{.action = action, .row = row, .identity = identity});
  }
  publish::ReplicaState state_;
};

TEST_F(StateTest, ATableIsCompleteOnlyAfterItsBaselineEnded) {
  EXPECT_EQ(state_.IncompleteTables(), std::vector<TableIdentifier>{kT});
  state_.CompleteBaseline(kT);
  EXPECT_TRUE(state_.IncompleteTables().empty());
  state_.BeginBaseline(kT);  // a re-baseline replaces the rows
  EXPECT_EQ(state_.RowCount(kT), 0U);
  EXPECT_EQ(state_.IncompleteTables(), std::vector<TableIdentifier>{kT});
}

TEST_F(StateTest, EveryKindOfChangeLeavesTheCurrentRows) {
  const Row ins = R(3, "three", Value("B3"));
  Apply(ChangeAction::Insert, &ins, nullptr);
  // Unchanged (TOAST) columns come from the row held.
  const Row upd = R(1, "uno", Value::Unchanged());
  const Row id1{{"id", Value(1)}};
  Apply(ChangeAction::Update, &upd, &id1);
  // A key change moves the row, keeping its unchanged column.
  const Row moved = R(20, "moved", Value::Unchanged());
  const Row id2{{"id", Value(2)}};
  Apply(ChangeAction::Update, &moved, &id2);
  const Row id3{{"id", Value(3)}};
  Apply(ChangeAction::Delete, nullptr, &id3);
  const auto rows = Rows(state_);
  ASSERT_EQ(rows.size(), 2U);
  EXPECT_EQ(rows.at(1), R(1, "uno", Value("B1")));
  EXPECT_EQ(rows.at(20), R(20, "moved", Value("B2")));
  EXPECT_EQ(state_.Anomalies(), 0U);
  Apply(ChangeAction::Truncate, nullptr, nullptr);
  EXPECT_EQ(state_.RowCount(kT), 0U);
}

TEST_F(StateTest, UnchangedColumnsOfARowNotHeldAreCountedNotInvented) {
  const Row upd = R(9, "nine", Value::Unchanged());
  const Row id9{{"id", Value(9)}};
  Apply(ChangeAction::Update, &upd, &id9);
  EXPECT_EQ(state_.Anomalies(), 1U);
  EXPECT_TRUE(Rows(state_).at(9).at("big").IsNull());
}

TEST_F(StateTest, ACopyDoesNotChangeWithTheState) {
  const auto copy = state_.Copy();
  const Row ins = R(5, "five", Value("B5"));
  Apply(ChangeAction::Insert, &ins, nullptr);
  EXPECT_EQ(copy.at(kT).rows.size(), 2U);
  EXPECT_EQ(state_.RowCount(kT), 3U);
}

TEST(Barrier, ConsumersSkipItAndItNamesItsSnapshot) {
  const contract::Decoder decoder(
      std::map<TableIdentifier, std::vector<ColumnDefinition>>{{kT, Columns()}});
  const std::string data = publish::BarrierRecord("20240501T120000.000001Z-3f2a9c1b", "shard-1");
  const auto decoded = decoder.DecodeRecord(data);
  EXPECT_TRUE(decoded.control);
  const auto doc = nlohmann::json::parse(data);
  EXPECT_EQ(doc.at("snapshot_id"), "20240501T120000.000001Z-3f2a9c1b");
  EXPECT_FALSE(doc.contains("table"));
  // Anything else without a table is still an error.
  EXPECT_THROW((void)decoder.DecodeRecord(R"({"action": "insert"})"), DataError);
  EXPECT_THROW((void)decoder.DecodeRecord(R"({"action": "barrie"})"), DataError);
}

TEST(SnapshotManifest, TheConsumerParsesWhatThePublisherWrites) {
  publish::StateCopy state;
  state[kT].columns = Columns();
  const std::string id = "20240501T120000.000001Z-3f2a9c1b";
  const auto text = publish::ManifestJson(
      id, "orders", {{kT, {id + "/public.t/part-00000.jsonl.gz"}}}, state,
      {{"shardId-000000000000", "49590338271490256608559692538361571095921575989136588898"}});
  const contract::Manifest manifest = contract::ParseManifest(text);
  EXPECT_EQ(manifest.snapshot_id, id);
  EXPECT_EQ(manifest.stream, "orders");
  ASSERT_TRUE(manifest.tables.contains(kT));
  const auto& columns = manifest.tables.at(kT).columns;
  const auto wanted = Columns();
  ASSERT_EQ(columns.size(), wanted.size());
  for (std::size_t i = 0; i < columns.size(); ++i) {
    const ColumnDefinition& want = wanted[i];
    EXPECT_EQ(columns[i].name, want.name);
    EXPECT_EQ(columns[i].type, want.type);
    EXPECT_EQ(columns[i].nullable, want.nullable);
    EXPECT_EQ(columns[i].primary_key, want.primary_key);
    EXPECT_EQ(columns[i].primary_key_ordinal, want.primary_key_ordinal);
  }
  EXPECT_EQ(manifest.tables.at(kT).objects,
            std::vector<std::string>{id + "/public.t/part-00000.jsonl.gz"});
  EXPECT_EQ(manifest.stream_position.at("shardId-000000000000").ToString(),
            "49590338271490256608559692538361571095921575989136588898");
}

class StringSink final : public snapshot::ByteSink {
 public:
  explicit StringSink(std::string& out, bool& closed) : out_(out), closed_(closed) {}
  void Write(std::string_view bytes) override { out_.append(bytes); }
  void Close() override { closed_ = true; }

 private:
  std::string& out_;
  bool& closed_;
};

TEST(GzipSink, TheConsumerReadsBackEveryLine) {
  std::string gz;
  bool closed = false;
  auto sink = MakeGzipSink(std::make_unique<StringSink>(gz, closed));
  std::string expected;
  for (int i = 0; i < 20000; ++i) {
    const std::string line = "{\"id\": " + std::to_string(i) + "}\n";
    sink->Write(line);
    expected += line;
  }
  sink->Close();
  EXPECT_TRUE(closed);
  EXPECT_LT(gz.size(), expected.size() / 4);
  LineReader reader(Compression::Gzip);
  std::string got;
  const auto on_line = [&](std::string_view line, std::uint64_t) {
    got.append(line);
    got += '\n';
  };
  reader.Feed(gz, on_line);
  reader.Finish(on_line);
  EXPECT_EQ(got, expected);
}

PublisherOptions WithSnapshots() {
  PublisherOptions o;
  o.stream_name = "s";
  o.region = "us-east-1";
  o.endpoint = "http://127.0.0.1:1";  // nothing listens: nothing here reaches the network
  o.credentials = AwsCredentials{.access_key_id = "AKIDEXAMPLE",
                                 .secret_access_key = "secret-value-never-shown",
                                 .session_token = {}};
  o.snapshots.bucket = "b";
  o.snapshots.endpoint = "http://127.0.0.1:1";
  return o;
}

TEST(SnapshotOptions, EveryProblemIsListedWithoutSecrets) {
  PublisherOptions o = WithSnapshots();
  o.snapshots.keep = 0;
  o.snapshots.interval = std::chrono::milliseconds(0);
  o.snapshots.upload_part_bytes = 1024;
  o.snapshots.endpoint = "ftp://x";
  o.snapshots.credentials = AwsCredentials{.access_key_id = "AKIDEXAMPLE",
                                           .secret_access_key = "bad\nother-secret-never-shown",
                                           .session_token = {}};
  try {
    Publisher publisher(o);
    FAIL() << "accepted";
  } catch (const ConfigError& e) {
    const std::string what = e.what();
    for (const char* name : {"snapshots.keep", "snapshots.interval", "snapshots.upload_part_bytes",
                             "snapshots.endpoint", "snapshots.credentials"}) {
      EXPECT_NE(what.find(name), std::string::npos) << name << " in " << what;
    }
    EXPECT_EQ(what.find("secret-never-shown"), std::string::npos) << what;
  }
}

TEST(SnapshotOptions, NoSnapshotOfATableWhoseRowsAreNotAllKnown) {
  PublisherOptions options = WithSnapshots();
  options.snapshots.restore = false;
  Publisher publisher(options);
  // A resumed pipeline: columns but no baseline in this process.
  publisher.OnInit(kT, Columns());
  try {
    (void)publisher.SnapshotNow();
    FAIL() << "a snapshot of unknown rows was taken";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), codes::kSnapshotNotReady) << e.what();
  }
  EXPECT_EQ(publisher.GetStats().snapshot_failures, 1U);
  PublisherOptions off = WithSnapshots();
  off.snapshots.bucket.clear();
  Publisher without(off);
  EXPECT_THROW((void)without.SnapshotNow(), FatalError);
}

}  // namespace
}  // namespace laredo::kinesis
