#include "laredo/memory/indexed_target.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "engine/test_util.hpp"
#include "laredo/error.hpp"

namespace laredo::memory {
namespace {

using laredo::testing::kUsers;

std::vector<ColumnDefinition> Columns() {
  return {
      {.name = "tenant",
       .type = "int",
       .nullable = false,
       .ordinal_position = 1,
       .primary_key = true,
       .primary_key_ordinal = 2},
      {.name = "id",
       .type = "bigint",
       .nullable = false,
       .ordinal_position = 2,
       .primary_key = true,
       .primary_key_ordinal = 1},
      {.name = "email", .type = "text", .ordinal_position = 3},
      {.name = "team", .type = "text", .ordinal_position = 4},
      {.name = "bio", .type = "text", .ordinal_position = 5},
  };
}

Row Person(std::int64_t id, std::int64_t tenant, std::string email, std::string team,
           Value bio = Value("short")) {
  return Row{{"tenant", tenant},
             {"id", id},
             {"email", std::move(email)},
             {"team", std::move(team)},
             {"bio", std::move(bio)}};
}

class IndexedTargetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    target.AddIndex({.name = "by_email", .columns = {"email"}, .unique = true});
    target.AddIndex({.name = "by_team", .columns = {"team"}, .unique = false});
    target.OnInit(kUsers, Columns());
  }
  std::optional<Row> Get(std::int64_t id, std::int64_t tenant) {
    return target.Get({Value(id), Value(tenant)});  // primary-key order: id, then tenant
  }
  std::size_t TeamSize(const std::string& team) {
    return target.LookupAll("by_team", {Value(team)}).size();
  }
  IndexedTarget target;
};

TEST_F(IndexedTargetTest, CompositePrimaryKeyInKeyOrdinalOrder) {
  target.OnInsert(kUsers, Person(1, 10, "a@x", "red"));
  target.OnInsert(kUsers, Person(1, 20, "b@x", "red"));
  EXPECT_EQ(target.Count(), 2U);
  EXPECT_EQ(Get(1, 10)->at("email").AsText(), "a@x");
  EXPECT_EQ(Get(1, 20)->at("email").AsText(), "b@x");
  EXPECT_FALSE(Get(10, 1).has_value());
  EXPECT_THROW(target.Get({Value(1)}), Error);
}

TEST_F(IndexedTargetTest, RowsRoundTripEveryValueKind) {
  Row row{{"tenant", 1},
          {"id", 2},
          {"email", "e"},
          {"team", Value()},
          {"bio", Value::Json(R"({"k":[1,2]})")}};
  target.OnInsert(kUsers, row);
  EXPECT_EQ(*Get(2, 1), row);
  // Columns outside the announced schema are kept too.
  Row wide = Person(3, 1, "w", "t");
  wide["n"] = Value::Numeric("-12.3400");
  wide["d"] = Value(-0.5);
  wide["b"] = Value::Bytes(std::string("\0\xff", 2));
  wide["ts"] = Value::TimestampTz(-1'000'001);
  wide["flag"] = Value(false);
  wide["big"] = Value(std::numeric_limits<std::int64_t>::min());
  target.OnInsert(kUsers, wide);
  EXPECT_EQ(*Get(3, 1), wide);
}

TEST_F(IndexedTargetTest, InsertOfAnExistingKeyReplacesIt) {
  target.OnInsert(kUsers, Person(1, 1, "a@x", "red"));
  target.OnInsert(kUsers, Person(1, 1, "a2@x", "blue"));  // redelivery after a restart
  EXPECT_EQ(target.Count(), 1U);
  EXPECT_EQ(Get(1, 1)->at("email").AsText(), "a2@x");
  EXPECT_FALSE(target.Lookup("by_email", {Value("a@x")}).has_value());
  EXPECT_EQ(TeamSize("red"), 0U);
  EXPECT_EQ(TeamSize("blue"), 1U);
}

TEST_F(IndexedTargetTest, UpdatesAndDeletesKeepEveryIndexConsistent) {
  for (int i = 1; i <= 100; ++i) {
    target.OnInsert(kUsers, Person(i, 1, "u" + std::to_string(i), i % 2 ? "odd" : "even"));
  }
  EXPECT_EQ(TeamSize("odd"), 50U);
  target.OnUpdate(kUsers, Person(3, 1, "new3", "even"), Row{{"id", 3}, {"tenant", 1}});
  EXPECT_EQ(TeamSize("odd"), 49U);
  EXPECT_EQ(TeamSize("even"), 51U);
  EXPECT_FALSE(target.Lookup("by_email", {Value("u3")}).has_value());
  EXPECT_EQ(target.Lookup("by_email", {Value("new3")})->at("id").AsInt(), 3);
  for (int i = 1; i <= 100; i += 3) target.OnDelete(kUsers, Row{{"id", i}, {"tenant", 1}});
  EXPECT_EQ(target.Count(), 66U);
  std::size_t indexed = TeamSize("odd") + TeamSize("even");
  EXPECT_EQ(indexed, 66U);
  for (const auto& row : target.All()) {
    EXPECT_EQ(target.Lookup("by_email", {row.at("email")}), row);
  }
  target.OnDelete(kUsers, Row{{"id", 999}, {"tenant", 1}});  // absent: no effect
  EXPECT_EQ(target.Count(), 66U);
}

TEST_F(IndexedTargetTest, UpdateThatChangesTheKeyMovesTheRow) {
  target.OnInsert(kUsers, Person(1, 1, "a", "red"));
  target.OnUpdate(kUsers, Person(2, 1, "a", "red"), Row{{"id", 1}, {"tenant", 1}});
  EXPECT_FALSE(Get(1, 1).has_value());
  EXPECT_EQ(Get(2, 1)->at("email").AsText(), "a");
  EXPECT_EQ(target.Count(), 1U);
  EXPECT_EQ(target.Lookup("by_email", {Value("a")})->at("id").AsInt(), 2);
  EXPECT_EQ(TeamSize("red"), 1U);
}

TEST_F(IndexedTargetTest, UnchangedColumnsKeepTheirStoredValue) {
  const std::string big(1 << 20, 'x');  // a TOASTed value the source does not resend
  target.OnInsert(kUsers, Person(1, 1, "a", "red", Value(big)));
  target.OnUpdate(kUsers, Person(1, 1, "b", "red", Value::Unchanged()),
                  Row{{"id", 1}, {"tenant", 1}});
  EXPECT_EQ(Get(1, 1)->at("bio").AsText(), big);
  EXPECT_EQ(Get(1, 1)->at("email").AsText(), "b");
}

TEST_F(IndexedTargetTest, UpdateOfAMissingRowInsertsIt) {
  target.OnUpdate(kUsers, Person(5, 1, "e", "red"), Row{{"id", 5}, {"tenant", 1}});
  EXPECT_EQ(Get(5, 1)->at("email").AsText(), "e");
}

TEST_F(IndexedTargetTest, UniqueIndexLastWriterWins) {
  target.OnInsert(kUsers, Person(1, 1, "same", "a"));
  target.OnInsert(kUsers, Person(2, 1, "same", "b"));  // transient duplicate inside a transaction
  EXPECT_EQ(target.Lookup("by_email", {Value("same")})->at("id").AsInt(), 2);
  target.OnUpdate(kUsers, Person(1, 1, "other", "a"), Row{{"id", 1}, {"tenant", 1}});
  EXPECT_EQ(target.Lookup("by_email", {Value("same")})->at("id").AsInt(), 2);
  EXPECT_EQ(target.Lookup("by_email", {Value("other")})->at("id").AsInt(), 1);
}

TEST_F(IndexedTargetTest, ListenersSeeOldAndNewRows) {
  std::vector<std::pair<std::optional<Row>, std::optional<Row>>> seen;
  const auto id = target.AddListener(
      [&](const std::optional<Row>& o, const std::optional<Row>& n) { seen.emplace_back(o, n); });
  target.OnInsert(kUsers, Person(1, 1, "a", "red"));
  target.OnUpdate(kUsers, Person(1, 1, "b", "red", Value::Unchanged()),
                  Row{{"id", 1}, {"tenant", 1}});
  target.OnDelete(kUsers, Row{{"id", 1}, {"tenant", 1}});
  target.OnInsert(kUsers, Person(2, 1, "c", "red"));
  target.OnTruncate(kUsers);
  target.RemoveListener(id);
  target.OnInsert(kUsers, Person(3, 1, "d", "red"));
  ASSERT_EQ(seen.size(), 5U);
  EXPECT_FALSE(seen[0].first.has_value());
  EXPECT_EQ(seen[0].second->at("email").AsText(), "a");
  EXPECT_EQ(seen[1].first->at("email").AsText(), "a");
  EXPECT_EQ(seen[1].second->at("bio").AsText(), "short");  // merged, not Unchanged
  EXPECT_EQ(seen[2].first->at("email").AsText(), "b");
  EXPECT_FALSE(seen[2].second.has_value());
  EXPECT_EQ(seen[4].first->at("id").AsInt(), 2);
  EXPECT_FALSE(seen[4].second.has_value());
  EXPECT_EQ(target.Count(), 1U);
}

TEST_F(IndexedTargetTest, ErrorsAreClear) {
  EXPECT_THROW(target.OnInsert(kUsers, Row{{"id", 1}}), DataError);  // lacks tenant
  EXPECT_THROW(target.OnInsert(laredo::Table("public", "other"), Person(1, 1, "a", "b")), Error);
  EXPECT_THROW(target.LookupAll("nope", {Value(1)}), Error);
  EXPECT_THROW(target.AddIndex({.name = "by_email", .columns = {"x"}}), ConfigError);
  IndexedTarget no_key;
  EXPECT_THROW(no_key.OnInit(kUsers, {{.name = "a", .type = "text"}}), ConfigError);
  IndexedTarget bad_index({.indexes = {{.name = "i", .columns = {"missing"}}}});
  EXPECT_THROW(bad_index.OnInit(kUsers, Columns()), ConfigError);
}

TEST_F(IndexedTargetTest, SchemaChangeAnswers) {
  auto added = Columns();
  added.push_back({.name = "age", .type = "int"});
  EXPECT_EQ(target.OnSchemaChange(kUsers, Columns(), added).action,
            SchemaChangeResponse::Action::Continue);
  auto retyped = Columns();
  retyped[3].type = "int";
  EXPECT_EQ(target.OnSchemaChange(kUsers, added, retyped).action,
            SchemaChangeResponse::Action::ReBaseline);
  auto dropped = Columns();
  dropped.erase(dropped.begin() + 2);  // email, which an index needs
  EXPECT_EQ(target.OnSchemaChange(kUsers, Columns(), dropped).action,
            SchemaChangeResponse::Action::Error);
}

TEST_F(IndexedTargetTest, ConcurrentReadersSeeWholeRows) {
  std::atomic<bool> done{false};
  std::atomic<std::uint64_t> reads{0};
  std::vector<std::jthread> readers;
  for (int r = 0; r < 3; ++r) {
    readers.emplace_back([&] {
      while (!done) {
        for (int i = 0; i < 50; ++i) {
          if (auto row = target.Get({Value(i), Value(1)})) {
            // email and team are always written together; a torn row would break this.
            EXPECT_EQ(row->at("email").AsText(), "e" + row->at("team").AsText());
          }
        }
        (void)target.LookupAll("by_team", {Value("1")});
        ++reads;
      }
    });
  }
  for (int round = 0; round < 200; ++round) {
    for (int i = 0; i < 50; ++i) {
      const auto v = std::to_string(round);
      target.OnInsert(kUsers, Person(i, 1, "e" + v, v));
    }
    if (round % 10 == 0) target.OnDelete(kUsers, Row{{"id", round % 50}, {"tenant", 1}});
  }
  done = true;
  readers.clear();
  EXPECT_GT(reads.load(), 0U);
  EXPECT_EQ(target.Count(), 50U);
}

TEST(SlotIndexStress, MatchesAReferenceMapThroughGrowthAndDeletes) {
  IndexedTarget target;
  target.OnInit(kUsers, laredo::testing::IdNameColumns());
  std::map<std::int64_t, std::string> reference;
  std::uint64_t state = 42;
  auto next = [&] {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return state >> 33;
  };
  for (int step = 0; step < 20000; ++step) {
    const auto id = static_cast<std::int64_t>(next() % 3000);
    if (next() % 3 == 0) {
      target.OnDelete(kUsers, Row{{"id", id}});
      reference.erase(id);
    } else {
      const auto name = std::to_string(next());
      target.OnInsert(kUsers, laredo::testing::User(id, name));
      reference[id] = name;
    }
  }
  ASSERT_EQ(target.Count(), reference.size());
  for (std::int64_t id = 0; id < 3000; ++id) {
    auto row = target.Get({Value(id)});
    auto it = reference.find(id);
    ASSERT_EQ(row.has_value(), it != reference.end()) << id;
    if (row) {
      EXPECT_EQ(row->at("name").AsText(), it->second);
    }
  }
}

}  // namespace
}  // namespace laredo::memory

namespace laredo::memory {
namespace {

// Two live rows may share a unique key (a deferred constraint mid-transaction, a transform, a
// source without constraints). Before, deleting the newer one forgot the older one.
TEST_F(IndexedTargetTest, UniqueIndexNeverForgetsALiveHolder) {
  target.OnInsert(kUsers, Person(1, 1, "same", "x"));
  target.OnInsert(kUsers, Person(2, 1, "same", "x"));
  EXPECT_EQ(target.Lookup("by_email", {Value("same")})->at("id").AsInt(), 2);  // written last
  EXPECT_EQ(target.LookupAll("by_email", {Value("same")}).size(), 2U);
  target.OnDelete(kUsers, Row{{"tenant", 1}, {"id", 2}});
  ASSERT_TRUE(target.Lookup("by_email", {Value("same")}).has_value());
  EXPECT_EQ(target.Lookup("by_email", {Value("same")})->at("id").AsInt(), 1);
  // The older holder moves away: the key is free again.
  target.OnUpdate(kUsers, Person(1, 1, "other", "x"), Row{{"tenant", 1}, {"id", 1}});
  EXPECT_FALSE(target.Lookup("by_email", {Value("same")}).has_value());
  EXPECT_EQ(target.Lookup("by_email", {Value("other")})->at("id").AsInt(), 1);
}

TEST_F(IndexedTargetTest, AShadowedHolderThatIsDeletedDoesNotComeBack) {
  target.OnInsert(kUsers, Person(1, 1, "same", "x"));
  target.OnInsert(kUsers, Person(2, 1, "same", "x"));
  target.OnDelete(kUsers, Row{{"tenant", 1}, {"id", 1}});  // the older, shadowed one
  EXPECT_EQ(target.LookupAll("by_email", {Value("same")}).size(), 1U);
  target.OnDelete(kUsers, Row{{"tenant", 1}, {"id", 2}});
  EXPECT_FALSE(target.Lookup("by_email", {Value("same")}).has_value());
}

// An update of a row the replica does not hold cannot be completed from Unchanged values: it is
// rejected, never stored with the marker (readers' AsText() would throw on it).
TEST_F(IndexedTargetTest, NeverStoresAnUnchangedMarker) {
  EXPECT_THROW(target.OnUpdate(kUsers, Person(9, 1, "a@x", "x", Value::Unchanged()),
                               Row{{"tenant", 1}, {"id", 9}}),
               DataError);
  EXPECT_FALSE(Get(9, 1).has_value());
  target.OnInsert(kUsers, Person(9, 1, "a@x", "x", Value("long text")));
  target.OnUpdate(kUsers, Person(9, 1, "b@x", "x", Value::Unchanged()),
                  Row{{"tenant", 1}, {"id", 9}});
  EXPECT_EQ(Get(9, 1)->at("bio").AsText(), "long text");
  EXPECT_EQ(target.ReadRow(kUsers, Row{{"tenant", 1}, {"id", 9}})->at("email").AsText(), "b@x");
}

// A re-baseline re-initialises the table with the baseline's columns: a dropped column leaves
// Columns() and the rows, and a renamed key column keys the new rows.
TEST_F(IndexedTargetTest, ABaselineBeginWithNewColumnsReplacesColumnsAndKey) {
  target.OnBaselineBegin(kUsers, Columns());
  target.OnBaselineRow(kUsers, Person(1, 1, "a@x", "x"));
  target.OnBaselineComplete(kUsers);
  auto renamed = Columns();
  renamed[1].name = "user_id";  // RENAME COLUMN id TO user_id
  renamed.pop_back();           // DROP COLUMN bio
  target.OnBaselineBegin(kUsers, renamed);
  target.OnBaselineRow(kUsers, Row{{"tenant", 1}, {"user_id", 1}, {"email", "a@x"}, {"team", "x"}});
  EXPECT_EQ(target.Columns().size(), 5U);  // readers still see the old table
  EXPECT_EQ(Get(1, 1)->at("bio").AsText(), "short");
  target.OnBaselineComplete(kUsers);
  ASSERT_EQ(target.Columns().size(), 4U);
  EXPECT_EQ(target.Columns()[1].name, "user_id");
  EXPECT_FALSE(Get(1, 1)->contains("bio"));
  target.OnInsert(kUsers, Row{{"tenant", 1}, {"user_id", 2}, {"email", "b@x"}, {"team", "y"}});
  EXPECT_EQ(target.Count(), 2U);
  EXPECT_EQ(target.Lookup("by_email", {Value("b@x")})->at("user_id").AsInt(), 2);
}

// Readers of a replica under re-baseline: every existing key stays findable and the count never
// drops, then the new contents appear at once. Before, the replica was truncated and reloaded row
// by row under the readers.
TEST_F(IndexedTargetTest, ReadersSeeTheOldRowsUntilTheNewBaselineIsComplete) {
  constexpr int kRows = 20'000;
  target.OnBaselineBegin(kUsers, Columns());
  for (int i = 0; i < kRows; ++i)
    target.OnBaselineRow(kUsers, Person(i, 1, "e" + std::to_string(i), "t"));
  target.OnBaselineComplete(kUsers);
  std::vector<std::pair<std::optional<Row>, std::optional<Row>>> events;
  target.AddListener(
      [&](const std::optional<Row>& o, const std::optional<Row>& n) { events.emplace_back(o, n); });
  std::atomic<bool> done{false};
  std::atomic<int> misses{0};
  std::atomic<std::size_t> lowest{kRows};
  std::atomic<int> reads{0};
  std::thread reader([&] {
    for (int i = 0; !done.load(); i = (i + 7919) % kRows) {
      if (i != kRows - 1 && !Get(i, 1)) ++misses;  // that one goes with the swap
      lowest = std::min(lowest.load(), target.Count());
      ++reads;
    }
  });
  ASSERT_TRUE(laredo::testing::Eventually([&] { return reads.load() > 100; }));
  target.OnBaselineBegin(kUsers, Columns());
  for (int i = 0; i < kRows; ++i) {
    // One row changed, one gone (kRows - 1), everything else the same.
    target.OnBaselineRow(kUsers, Person(i, 1, i == 5 ? "changed" : "e" + std::to_string(i), "t"));
    if (i == kRows - 2) break;
  }
  const int before_swap = reads.load();
  ASSERT_TRUE(laredo::testing::Eventually([&] { return reads.load() > before_swap + 100; }));
  target.OnBaselineComplete(kUsers);
  done = true;
  reader.join();
  EXPECT_EQ(misses.load(), 0);
  EXPECT_GE(lowest.load(), static_cast<std::size_t>(kRows - 1));  // never a partial table
  EXPECT_EQ(target.Count(), static_cast<std::size_t>(kRows - 1));
  EXPECT_EQ(Get(5, 1)->at("email").AsText(), "changed");
  // Listeners hear the net difference: one update, one delete.
  ASSERT_EQ(events.size(), 2U);
  EXPECT_EQ(events[0].second->at("email").AsText(), "changed");
  EXPECT_FALSE(events[1].second.has_value());
  EXPECT_EQ(events[1].first->at("id").AsInt(), kRows - 1);
}

// A baseline that fails part-way leaves the old rows; the retry's begin discards the partial copy.
TEST_F(IndexedTargetTest, AFailedRebaselineNeverLeavesTheReplicaEmptier) {
  target.OnBaselineBegin(kUsers, Columns());
  for (int i = 0; i < 10; ++i)
    target.OnBaselineRow(kUsers, Person(i, 1, "e" + std::to_string(i), "t"));
  target.OnBaselineComplete(kUsers);
  target.OnBaselineBegin(kUsers, Columns());
  target.OnBaselineRow(kUsers, Person(0, 1, "partial", "t"));
  EXPECT_EQ(target.Count(), 10U);  // the attempt failed here
  target.OnBaselineBegin(kUsers, Columns());
  for (int i = 0; i < 3; ++i)
    target.OnBaselineRow(kUsers, Person(i, 1, "r" + std::to_string(i), "t"));
  EXPECT_EQ(target.Count(), 10U);
  target.OnBaselineComplete(kUsers);
  EXPECT_EQ(target.Count(), 3U);
  EXPECT_EQ(Get(0, 1)->at("email").AsText(), "r0");
}

}  // namespace
}  // namespace laredo::memory

namespace laredo::memory {
namespace {

// After ADD COLUMN (answered Continue) the rows stored before read the new column as NULL, as
// SELECT * does; a column only a transform adds to some rows stays absent from the others.
TEST_F(IndexedTargetTest, RowsStoredBeforeAnAddedColumnReadItAsNull) {
  target.OnInsert(kUsers, Person(1, 1, "a@x", "x"));
  auto grown = Columns();
  grown.push_back({.name = "nickname", .type = "text", .ordinal_position = 6});
  ASSERT_EQ(target.OnSchemaChange(kUsers, Columns(), grown).action,
            SchemaChangeResponse::Action::Continue);
  const auto row = Get(1, 1);
  ASSERT_TRUE(row->contains("nickname"));
  EXPECT_TRUE(row->at("nickname").IsNull());
  auto extra = Person(2, 1, "b@x", "x");
  extra["computed"] = Value(7);  // not a column of the table
  target.OnInsert(kUsers, extra);
  EXPECT_EQ(Get(2, 1)->at("computed").AsInt(), 7);
  EXPECT_FALSE(Get(1, 1)->contains("computed"));
}

}  // namespace
}  // namespace laredo::memory
