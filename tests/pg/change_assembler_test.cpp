#include "change_assembler.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <limits>

#include "laredo/error.hpp"

namespace laredo::pg {
namespace {

const TableIdentifier kT = Table("public", "t");

// Records what the assembler hands on.
struct Recorder : ChangeHandler {
  void OnChange(ChangeEvent event) override { events.push_back(std::move(event)); }
  void OnSchemaChange(const TableIdentifier& table,
                      std::vector<ColumnDefinition> columns) override {
    schema_changes.emplace_back(table, std::move(columns));
    schema_change_after.push_back(events.size());
  }
  StreamPosition Pos(std::size_t i) const {
    return std::any_cast<StreamPosition>(events.at(i).position);
  }
  std::vector<ChangeEvent> events;
  std::vector<std::pair<TableIdentifier, std::vector<ColumnDefinition>>> schema_changes;
  std::vector<std::size_t> schema_change_after;
};

std::map<TableIdentifier, std::vector<ColumnDefinition>> Known() {
  return {{kT,
           {{.name = "id",
             .type = "integer",
             .nullable = false,
             .ordinal_position = 1,
             .primary_key = true,
             .primary_key_ordinal = 1,
             .type_oid = 23},
            {.name = "v", .type = "text", .ordinal_position = 2, .type_oid = 25}}}};
}

RelationMessage Relation(std::uint32_t id, const std::string& table, bool extra = false) {
  RelationMessage m{.relation_id = id, .namespace_name = "public", .relation_name = table};
  m.columns = {{.key = true, .name = "id", .type_oid = 23}, {.name = "v", .type_oid = 25}};
  if (extra) m.columns.push_back({.name = "w", .type_oid = 20});
  return m;
}

InsertMessage Insert(std::uint32_t rel, std::string_view id, std::string_view v) {
  return {.relation_id = rel,
          .new_tuple = {{TupleColumn::Kind::Text, id}, {TupleColumn::Kind::Text, v}}};
}

BeginMessage Begin(std::uint64_t commit_lsn) {
  return {.final_lsn = Lsn(commit_lsn), .commit_time = 0, .xid = 7};
}
CommitMessage Commit(std::uint64_t commit_lsn, std::uint64_t end_lsn) {
  return {.commit_lsn = Lsn(commit_lsn), .end_lsn = Lsn(end_lsn)};
}

const StreamPosition kStart{.commit_lsn = Lsn(100), .index = 0, .ack_lsn = Lsn(100)};

// One message, then what the stream does when its connection has nothing more buffered.
void Feed(ChangeAssembler& a, const PgoutputMessage& message, ChangeHandler& handler) {
  a.Handle(message, handler);
  a.Flush(handler);
}

TEST(ChangeAssemblerTest, OnlyTheLastChangeOfATransactionAcksItsCommitEnd) {
  ChangeAssembler a(Known(), kStart);
  Recorder r;
  Feed(a, Relation(1, "t"), r);
  Feed(a, Begin(200), r);
  Feed(a, Insert(1, "1", "a"), r);
  EXPECT_TRUE(r.events.empty());  // held until the next message tells whether it was the last
  Feed(a, Insert(1, "2", "b"), r);
  ASSERT_EQ(r.events.size(), 1U);
  EXPECT_EQ(r.Pos(0), (StreamPosition{Lsn(200), 1, Lsn(100)}));
  Feed(a, Commit(200, 240), r);
  ASSERT_EQ(r.events.size(), 2U);
  EXPECT_EQ(r.Pos(1), (StreamPosition{Lsn(200), 2, Lsn(240)}));
  EXPECT_FALSE(r.events[0].ends_transaction);
  EXPECT_TRUE(r.events[1].ends_transaction);
  Feed(a, Begin(300), r);
  Feed(a, Insert(1, "3", "c"), r);
  Feed(a, Insert(1, "4", "d"), r);
  EXPECT_EQ(r.Pos(2), (StreamPosition{Lsn(300), 1, Lsn(240)}));  // previous transaction's end
  EXPECT_EQ(r.events[2].new_values, (Row{{"id", 3}, {"v", "c"}}));
  EXPECT_EQ(r.events[2].transaction_id, std::optional<std::uint64_t>(7));
  EXPECT_TRUE(a.in_transaction());
}

// Found by pgoutput_fuzz: a commit timestamp beyond what the system clock holds (about
// 1678..2262) overflowed while converting; it saturates now.
TEST(ChangeAssemblerTest, ChangesDecodedTogetherGoOutInOneBatch) {
  struct Batches : Recorder {
    void OnChanges(std::span<ChangeEvent> batch) override {
      sizes.push_back(batch.size());
      for (auto& e : batch) OnChange(std::move(e));
    }
    [[nodiscard]] std::size_t MaxBatch() const override { return 256; }
    std::vector<std::size_t> sizes;
  } r;
  ChangeAssembler a(Known(), kStart);
  a.Handle(Relation(1, "t"), r);
  a.Handle(Begin(200), r);
  for (int i = 1; i <= 5; ++i) a.Handle(Insert(1, std::to_string(i), "a"), r);
  a.Handle(Commit(200, 240), r);
  EXPECT_TRUE(r.events.empty());  // gathered until the connection has nothing more
  a.Flush(r);
  EXPECT_EQ(r.sizes, std::vector<std::size_t>{5});
  EXPECT_EQ(a.last_delivered(), (StreamPosition{Lsn(200), 5, Lsn(240)}));
}

TEST(ChangeAssemblerTest, ExtremeCommitTimestampsSaturate) {
  using Clock = std::chrono::system_clock;
  for (const std::int64_t micros :
       {std::numeric_limits<std::int64_t>::max(), std::numeric_limits<std::int64_t>::min(),
        std::int64_t{5189315569819560206}}) {
    ChangeAssembler a(Known(), kStart);
    Recorder r;
    Feed(a, Relation(1, "t"), r);
    Feed(a, BeginMessage{.final_lsn = Lsn(200), .commit_time = micros, .xid = 1}, r);
    Feed(a, Insert(1, "1", "a"), r);
    Feed(a, CommitMessage{.commit_lsn = Lsn(200), .end_lsn = Lsn(240), .commit_time = micros}, r);
    ASSERT_EQ(r.events.size(), 1U);
    const auto expected = micros > 0 ? Clock::time_point::max() : Clock::time_point::min();
    // Within a microsecond of the clock's limit (the limit itself is not a whole microsecond).
    EXPECT_LE(std::chrono::abs(*r.events[0].commit_time - expected), std::chrono::microseconds(1));
    ASSERT_TRUE(a.last_commit_time().has_value());
  }
}

TEST(ChangeAssemblerTest, SkipsWhatWasDispatchedBeforeAReconnect) {
  ChangeAssembler a(Known(), StreamPosition{Lsn(200), 1, Lsn(100)});
  Recorder r;
  Feed(a, Relation(1, "t"), r);
  Feed(a, Begin(200), r);
  Feed(a, Insert(1, "1", "a"), r);
  Feed(a, Insert(1, "2", "b"), r);
  Feed(a, Commit(200, 240), r);
  ASSERT_EQ(r.events.size(), 1U);
  EXPECT_EQ(r.Pos(0), (StreamPosition{Lsn(200), 2, Lsn(240)}));
  EXPECT_EQ(a.last_delivered(), r.Pos(0));
}

TEST(ChangeAssemblerTest, UnchangedToastAndOldKeys) {
  ChangeAssembler a(Known(), kStart);
  Recorder r;
  Feed(a, Relation(1, "t"), r);
  Feed(a, Begin(200), r);
  UpdateMessage u{
      .relation_id = 1,
      .old_kind = OldTuple::Key,
      .old_tuple = {{TupleColumn::Kind::Text, "1"}, {TupleColumn::Kind::Null, {}}},
      .new_tuple = {{TupleColumn::Kind::Text, "2"}, {TupleColumn::Kind::UnchangedToast, {}}}};
  Feed(a, u, r);
  Feed(a,
       DeleteMessage{.relation_id = 1,
                     .old_kind = OldTuple::Key,
                     .old_tuple = {{TupleColumn::Kind::Text, "2"}, {TupleColumn::Kind::Null, {}}}},
       r);
  Feed(a, Commit(200, 240), r);
  ASSERT_EQ(r.events.size(), 2U);
  EXPECT_EQ(r.events[0].action, ChangeAction::Update);
  EXPECT_EQ(r.events[0].new_values, (Row{{"id", 2}, {"v", Value::Unchanged()}}));
  EXPECT_EQ(r.events[0].old_values, (Row{{"id", 1}}));
  EXPECT_EQ(r.events[1].action, ChangeAction::Delete);
  EXPECT_EQ(r.events[1].old_values, (Row{{"id", 2}}));
}

TEST(ChangeAssemblerTest, OtherTablesAreCountedButNotEmitted) {
  ChangeAssembler a(Known(), kStart);
  Recorder r;
  Feed(a, Relation(1, "t"), r);
  Feed(a, Relation(2, "other"), r);
  Feed(a, Begin(200), r);
  Feed(a, Insert(2, "1", "x"), r);
  Feed(a, Insert(1, "1", "a"), r);
  Feed(a, Commit(200, 240), r);
  ASSERT_EQ(r.events.size(), 1U);
  EXPECT_EQ(r.Pos(0), (StreamPosition{Lsn(200), 2, Lsn(240)}));
}

TEST(ChangeAssemblerTest, SchemaChangeComesAfterTheChangesBeforeIt) {
  ChangeAssembler a(Known(), kStart);
  Recorder r;
  Feed(a, Relation(1, "t"), r);
  EXPECT_TRUE(r.schema_changes.empty());  // same columns as the targets know
  Feed(a, Begin(200), r);
  Feed(a, Insert(1, "1", "a"), r);
  Feed(a, Relation(1, "t", true), r);
  ASSERT_EQ(r.schema_changes.size(), 1U);
  EXPECT_EQ(r.schema_change_after[0], 1U);  // the held insert went first
  const auto& cols = r.schema_changes[0].second;
  ASSERT_EQ(cols.size(), 3U);
  EXPECT_EQ(cols[0].type, "integer");  // known column keeps its catalog name
  EXPECT_TRUE(cols[0].primary_key);
  EXPECT_EQ(cols[2].name, "w");
  EXPECT_EQ(cols[2].type_oid, 20U);
  Feed(a, Relation(1, "t", true), r);
  EXPECT_EQ(r.schema_changes.size(), 1U);  // now known
}

// A handler whose calls throw while `failing`, as the engine's does when the backpressure hook
// throws: the change (or schema change) of that call was not delivered.
struct FailingRecorder : Recorder {
  void OnChange(ChangeEvent event) override {
    if (failing) throw RetryableError("test", "status update failed while blocked");
    Recorder::OnChange(std::move(event));
  }
  void OnSchemaChange(const TableIdentifier& table,
                      std::vector<ColumnDefinition> columns) override {
    if (failing) throw RetryableError("test", "status update failed while blocked");
    Recorder::OnSchemaChange(table, std::move(columns));
  }
  bool failing = false;
};

TEST(ChangeAssemblerTest, AChangeWhoseCallThrewIsNotDelivered) {
  ChangeAssembler a(Known(), kStart);
  FailingRecorder r;
  Feed(a, Relation(1, "t"), r);
  Feed(a, Begin(200), r);
  Feed(a, Insert(1, "1", "a"), r);
  Feed(a, Commit(200, 240), r);
  ASSERT_EQ(r.events.size(), 1U);
  const StreamPosition first = r.Pos(0);
  r.failing = true;
  Feed(a, Begin(300), r);
  Feed(a, Insert(1, "2", "b"), r);
  EXPECT_THROW(Feed(a, Commit(300, 340), r), RetryableError);
  EXPECT_EQ(a.last_delivered(), first);  // a reconnect resumes before the second insert
}

TEST(ChangeAssemblerTest, ASchemaChangeWhoseCallThrewIsReportedAgain) {
  FailingRecorder r;
  r.failing = true;
  {
    ChangeAssembler a(Known(), kStart);
    Feed(a, Relation(1, "t"), r);
    EXPECT_THROW(Feed(a, Relation(1, "t", true), r), RetryableError);
    EXPECT_EQ(a.columns().at(kT).size(), 2U);  // still the columns the targets know
  }
  r.failing = false;
  ChangeAssembler a(Known(), kStart);  // the next connection sends the Relation message again
  Feed(a, Relation(1, "t", true), r);
  EXPECT_EQ(r.schema_changes.size(), 1U);
}

TEST(ChangeAssemblerTest, ChangeBeforeItsRelationIsAProtocolError) {
  ChangeAssembler a(Known(), kStart);
  Recorder r;
  Feed(a, Begin(200), r);
  EXPECT_THROW(Feed(a, Insert(9, "1", "a"), r), DataError);
}

// Binary mode: values decode from their send format into what text mode gives.
TEST(ChangeAssemblerTest, BinaryColumnsDecodeToTheTextModeValues) {
  ChangeAssembler a(Known(), kStart);
  a.ExpectBinary([](std::uint32_t type) { return BuiltinBinaryType(type).value_or(BinaryType{}); });
  Recorder r;
  Feed(a, Relation(1, "t"), r);
  Feed(a, Begin(200), r);
  const std::string id("\0\0\1\2", 4);
  Feed(a,
       InsertMessage{
           .relation_id = 1,
           .new_tuple = {{TupleColumn::Kind::Binary, id}, {TupleColumn::Kind::Text, "as text"}}},
       r);
  Feed(a, Commit(200, 240), r);
  ASSERT_EQ(r.events.size(), 1U);
  EXPECT_EQ(r.events[0].new_values.value(0), Value(258));
  EXPECT_EQ(r.events[0].new_values.value(1), Value("as text"));  // a 't' column still works
}

TEST(ChangeAssemblerTest, MalformedBinaryValueNamesTableAndColumn) {
  ChangeAssembler a(Known(), kStart);
  a.ExpectBinary([](std::uint32_t type) { return BuiltinBinaryType(type).value_or(BinaryType{}); });
  Recorder r;
  Feed(a, Relation(1, "t"), r);
  Feed(a, Begin(200), r);
  try {
    a.Handle(InsertMessage{.relation_id = 1,
                           .new_tuple = {{TupleColumn::Kind::Binary, "abc"},
                                         {TupleColumn::Kind::Null, {}}}},
             r);
    FAIL() << "a 3-byte int4 was accepted";
  } catch (const DataError& e) {
    EXPECT_EQ(e.code(), "bad_value");
    const std::string what = e.what();
    EXPECT_NE(what.find("public.t column id"), std::string::npos) << what;
    EXPECT_NE(what.find("int4"), std::string::npos) << what;
  }
}

TEST(ChangeAssemblerTest, BinaryModeRefusesATableWithAColumnWithoutDecoder) {
  auto known = Known();
  known[kT][1].type_oid = 600;  // point: no binary decoder
  ChangeAssembler a(known, kStart);
  a.ExpectBinary([](std::uint32_t type) { return BuiltinBinaryType(type).value_or(BinaryType{}); });
  Recorder r;
  auto relation = Relation(1, "t");
  relation.columns[1].type_oid = 600;
  EXPECT_THROW(a.Handle(relation, r), BinaryUnavailable);
  // A table that is not replicated does not matter.
  auto other = Relation(2, "other");
  other.columns[1].type_oid = 600;
  EXPECT_NO_THROW(a.Handle(other, r));
}

TEST(ChangeAssemblerTest, BinaryDataWithoutBinaryModeIsAProtocolError) {
  ChangeAssembler a(Known(), kStart);
  Recorder r;
  Feed(a, Relation(1, "t"), r);
  Feed(a, Begin(200), r);
  const std::string id("\0\0\1\2", 4);
  EXPECT_THROW(a.Handle(InsertMessage{.relation_id = 1,
                                      .new_tuple = {{TupleColumn::Kind::Binary, id},
                                                    {TupleColumn::Kind::Text, "x"}}},
                        r),
               DataError);
}

}  // namespace
}  // namespace laredo::pg
