// ReloadMerge: what reaches a table's copy rebuilt while its stream flows (DBLog).
#include "reload_merge.hpp"

#include <gtest/gtest.h>

#include <algorithm>

#include "laredo/error.hpp"

namespace laredo::pg {
namespace {

const TableIdentifier kT = Table("public", "t");

Row R(std::int64_t id, const std::string& v) { return Row{{"id", id}, {"v", Value(v)}}; }
Row K(std::int64_t id) { return Row{{"id", id}}; }

ChangeEvent Insert(std::int64_t id, const std::string& v, TableIdentifier table = kT) {
  return ChangeEvent{
      .table = std::move(table), .action = ChangeAction::Insert, .new_values = R(id, v)};
}
ChangeEvent Update(std::int64_t id, Value v, std::optional<std::int64_t> old_id = {}) {
  ChangeEvent e{.table = kT,
                .action = ChangeAction::Update,
                .new_values = Row{{"id", id}, {"v", std::move(v)}}};
  if (old_id) e.old_values = K(*old_id);
  return e;
}
ChangeEvent Delete(std::int64_t id) {
  return ChangeEvent{.table = kT, .action = ChangeAction::Delete, .old_values = K(id)};
}
ChangeEvent Truncate() { return ChangeEvent{.table = kT, .action = ChangeAction::Truncate}; }

std::vector<std::int64_t> Ids(const std::vector<Row>& rows) {
  std::vector<std::int64_t> ids;
  for (const auto& r : rows) ids.push_back(*r.at("id").IntIf());
  return ids;
}

// A merge with a window open on rows 1..5.
ReloadMerge Windowed() {
  ReloadMerge m(kT, {"id"});
  m.OpenWindow({R(1, "a"), R(2, "b"), R(3, "c"), R(4, "d"), R(5, "e")}, {});
  return m;
}

bool Pass(ReloadMerge& m, ChangeEvent e) { return m.OnChange(e); }

TEST(ReloadMerge, WithoutChangesInTheWindowEveryRowIsDeliveredInReadOrder) {
  auto m = Windowed();
  const auto rows = m.CloseWindow();
  EXPECT_EQ(Ids(rows), (std::vector<std::int64_t>{1, 2, 3, 4, 5}));
  EXPECT_EQ(m.held(), 5U);
  EXPECT_FALSE(m.window_open());
}

TEST(ReloadMerge, AKeyTheStreamChangedInTheWindowIsTheStreamsNotTheReads) {
  auto m = Windowed();
  auto other = Insert(1, "other table", Table("public", "u"));
  EXPECT_TRUE(m.OnChange(other));
  EXPECT_TRUE(Pass(m, Insert(2, "b2")));         // the copy now holds 2 from the stream
  EXPECT_TRUE(Pass(m, Update(3, Value("c2"))));  // 3 is not held: delivered as an insert
  EXPECT_FALSE(Pass(m, Delete(4)));              // 4 is not held: nothing to delete
  const auto rows = m.CloseWindow();
  EXPECT_EQ(Ids(rows), (std::vector<std::int64_t>{1, 5}));
  EXPECT_EQ(rows[0], R(1, "a"));  // the other table's change left row 1 alone
  EXPECT_EQ(m.held(), 4U);        // 1, 5 from the read; 2, 3 from the stream
}

// The stream lags behind the read: a change the read's snapshot saw is older than the chunk and
// leaves its row alone; one it did not see (in progress, or begun after it) is newer and drops
// it; a change without a transaction id counts as newer.
TEST(ReloadMerge, OnlyChangesTheReadsSnapshotDidNotSeeDropTheChunksRows) {
  ReloadMerge m(kT, {"id"});
  m.OpenWindow({R(1, "a"), R(2, "b"), R(3, "c"), R(4, "d"), R(5, "e")}, {},
               PgSnapshot::Parse("100:110:104"));
  const auto in = [](ChangeEvent e, std::optional<std::uint64_t> xid) {
    e.transaction_id = xid;
    return e;
  };
  EXPECT_TRUE(Pass(m, in(Update(1, Value("a0")), 99)));   // seen: the read holds its result
  EXPECT_TRUE(Pass(m, in(Update(2, Value("b2")), 104)));  // in progress at the read
  EXPECT_TRUE(Pass(m, in(Update(3, Value("c2")), 110)));  // begun after the read
  EXPECT_TRUE(Pass(m, in(Update(4, Value("d2")), std::nullopt)));
  EXPECT_TRUE(Pass(m, in(Update(5, Value("e0")), 105)));  // seen
  const auto rows = m.CloseWindow();
  EXPECT_EQ(Ids(rows), (std::vector<std::int64_t>{1, 5}));
  EXPECT_EQ(rows[0], R(1, "a"));  // the read's row: it is at least as new as the change
  EXPECT_EQ(m.held(), 5U);
}

TEST(ReloadMerge, AWholeUpdateOfARowNotHeldBecomesAnInsert) {
  ReloadMerge m(kT, {"id"});
  auto e = Update(7, Value("x"), 6);  // a key change of a row no chunk read yet
  ASSERT_TRUE(m.OnChange(e));
  EXPECT_EQ(e.action, ChangeAction::Insert);
  EXPECT_TRUE(e.old_values.empty());
  EXPECT_EQ(e.new_values, R(7, "x"));
  // Held from then on: its later changes are ordinary ones.
  auto later = Update(7, Value::Unchanged());
  ASSERT_TRUE(m.OnChange(later));
  EXPECT_EQ(later.action, ChangeAction::Update);
  EXPECT_TRUE(Pass(m, Delete(7)));
  EXPECT_FALSE(Pass(m, Delete(7)));
}

TEST(ReloadMerge, AnUpdateWithoutEveryColumnOfARowNotHeldIsReadAgain) {
  auto m = Windowed();
  EXPECT_FALSE(Pass(m, Update(2, Value::Unchanged())));
  EXPECT_EQ(Ids(m.CloseWindow()), (std::vector<std::int64_t>{1, 3, 4, 5}));
  ASSERT_EQ(m.ReadAgain(10).size(), 1U);
  EXPECT_EQ(m.ReadAgain(10)[0], K(2));  // the key only
  // Outside a window too, for a row no chunk read yet.
  EXPECT_FALSE(Pass(m, Update(9, Value::Unchanged())));
  EXPECT_EQ(m.ReadAgain(10).size(), 2U);
  EXPECT_EQ(m.ReadAgain(1).size(), 1U);
  // While queued, changes of the key that cannot stand for the row are held back too.
  EXPECT_FALSE(Pass(m, Update(2, Value::Unchanged())));
  EXPECT_FALSE(Pass(m, Delete(2)));  // and a delete empties the queue entry: nothing to read
  EXPECT_EQ(m.ReadAgain(10).size(), 1U);
  // The next window reads 9 again; the read's row is delivered at its high watermark.
  m.OpenWindow({R(9, "nine")}, {K(9)});
  EXPECT_TRUE(m.read_again_empty());
  EXPECT_EQ(Ids(m.CloseWindow()), (std::vector<std::int64_t>{9}));
}

TEST(ReloadMerge, AKeyAskedForAgainThatTheReadDidNotFindIsNotAskedForForever) {
  ReloadMerge m(kT, {"id"});
  EXPECT_FALSE(Pass(m, Update(3, Value::Unchanged())));
  m.OpenWindow({}, m.ReadAgain(10));
  EXPECT_TRUE(m.read_again_empty());
  EXPECT_TRUE(m.CloseWindow().empty());
  EXPECT_TRUE(m.read_again_empty());
  // Unless the window itself changed it without every column again.
  m.OpenWindow({R(3, "c")}, {K(3)});
  EXPECT_FALSE(Pass(m, Update(3, Value::Unchanged())));
  EXPECT_TRUE(m.CloseWindow().empty());
  EXPECT_EQ(m.ReadAgain(10).size(), 1U);
}

// A chunk whose stream ended before its high watermark (a reconnect): its rows never reach the
// copy, and what its read asked for again is asked for again by the next read.
TEST(ReloadMerge, AnAbandonedWindowDeliversNothingAndAsksForItsKeysAgain) {
  ReloadMerge m(kT, {"id"});
  EXPECT_FALSE(Pass(m, Update(3, Value::Unchanged())));
  EXPECT_FALSE(Pass(m, Update(4, Value::Unchanged())));
  m.OpenWindow({R(1, "a"), R(3, "c")}, {K(3)});
  EXPECT_EQ(m.ReadAgain(10).size(), 1U);  // 4, not yet asked for
  m.AbandonWindow();
  EXPECT_FALSE(m.window_open());
  EXPECT_EQ(m.held(), 0U);
  EXPECT_EQ(m.ReadAgain(10).size(), 2U);  // 3 again, and 4
  EXPECT_FALSE(Pass(m, Delete(1)));       // the copy never got row 1
  m.AbandonWindow();                      // no window: nothing happens
  m.OpenWindow({R(3, "c"), R(4, "d")}, m.ReadAgain(10));
  EXPECT_EQ(Ids(m.CloseWindow()), (std::vector<std::int64_t>{3, 4}));
  EXPECT_TRUE(m.read_again_empty());
  // A truncate in the abandoned window emptied the table: nothing is asked for again.
  EXPECT_FALSE(Pass(m, Update(7, Value::Unchanged())));
  m.OpenWindow({R(7, "g")}, m.ReadAgain(10));
  EXPECT_TRUE(Pass(m, Truncate()));
  m.AbandonWindow();
  EXPECT_TRUE(m.read_again_empty());
  EXPECT_EQ(m.held(), 0U);
}

TEST(ReloadMerge, ChangesOfRowsTheCopyHoldsAreDeliveredAsTheyCame) {
  auto m = Windowed();
  (void)m.CloseWindow();
  auto partial = Update(2, Value::Unchanged());
  ASSERT_TRUE(m.OnChange(partial));
  EXPECT_EQ(partial.action, ChangeAction::Update);  // the copy merges the unchanged value
  auto moved = Update(12, Value("moved"), 3);
  ASSERT_TRUE(m.OnChange(moved));
  EXPECT_EQ(moved.action, ChangeAction::Update);
  EXPECT_FALSE(moved.old_values.empty());
  EXPECT_TRUE(Pass(m, Delete(12)));
  EXPECT_FALSE(Pass(m, Delete(3)));  // moved away before
  EXPECT_EQ(m.held(), 4U);           // 1, 2, 4, 5
}

TEST(ReloadMerge, AKeyTheChunkReadTwiceIsDeliveredOnce) {
  ReloadMerge m(kT, {"id"});
  m.OpenWindow({R(1, "a"), R(2, "b"), R(1, "a")}, {K(1)});  // the scan's, then the read again's
  EXPECT_EQ(Ids(m.CloseWindow()), (std::vector<std::int64_t>{1, 2}));
}

TEST(ReloadMerge, AKeyChangeInTheWindowDropsTheOldKeyAndTheNew) {
  auto m = Windowed();
  EXPECT_TRUE(Pass(m, Update(5, Value("moved"), 1)));  // row 1 became row 5
  EXPECT_EQ(Ids(m.CloseWindow()), (std::vector<std::int64_t>{2, 3, 4}));
}

TEST(ReloadMerge, ATruncateEmptiesTheCopyAndDropsTheChunk) {
  auto m = Windowed();
  EXPECT_FALSE(Pass(m, Update(8, Value::Unchanged())));
  EXPECT_TRUE(Pass(m, Truncate()));
  EXPECT_TRUE(Pass(m, Insert(2, "after the truncate")));  // arrives through the stream
  EXPECT_TRUE(m.CloseWindow().empty());
  EXPECT_TRUE(m.read_again_empty());
  EXPECT_EQ(m.held(), 1U);
  // Outside a window it empties what the copy holds.
  EXPECT_TRUE(Pass(m, Truncate()));
  EXPECT_FALSE(Pass(m, Delete(2)));
}

TEST(ReloadMerge, CompositeKeysDoNotRunTogether) {
  ReloadMerge m(kT, {"a", "b"});
  m.OpenWindow(
      {Row{{"a", Value("x,y")}, {"b", Value("z")}}, Row{{"a", Value("x")}, {"b", Value("y,z")}}},
      {});
  auto e = ChangeEvent{.table = kT,
                       .action = ChangeAction::Delete,
                       .old_values = Row{{"a", Value("x")}, {"b", Value("y,z")}}};
  EXPECT_FALSE(m.OnChange(e));
  const auto rows = m.CloseWindow();
  ASSERT_EQ(rows.size(), 1U);
  EXPECT_EQ(rows[0].at("a"), Value("x,y"));
}

// After a restart the copy holds rows merged before it that this merge does not know of: a
// delete always reaches it, and an update moving a row's key never leaves the row behind.
TEST(ReloadMerge, AResumedMergeNeverLeavesARowTheCopyMayHoldBehind) {
  ReloadMerge m(kT, {"id"});
  m.Resume({K(40)});
  EXPECT_TRUE(m.resumed());
  EXPECT_EQ(Ids(m.ReadAgain(10)), (std::vector<std::int64_t>{40}));
  EXPECT_TRUE(Pass(m, Delete(3)));  // a fresh merge drops it: the copy "lacks" 3

  auto moved = Update(-5, Value("whole"), 5);  // every column: stays an update
  EXPECT_TRUE(m.OnChange(moved));
  EXPECT_EQ(moved.action, ChangeAction::Update);
  EXPECT_EQ(moved.old_values, K(5));

  auto partial = Update(-6, Value::Unchanged(), 6);  // cannot be an insert: deletes 6
  EXPECT_TRUE(m.OnChange(partial));
  EXPECT_EQ(partial.action, ChangeAction::Delete);
  EXPECT_EQ(partial.old_values, K(6));
  EXPECT_TRUE(partial.new_values.empty());
  auto again = Ids(m.ReadAgain(10));
  std::sort(again.begin(), again.end());
  EXPECT_EQ(again, (std::vector<std::int64_t>{-6, 40}));  // its new key is read again

  auto in_place = Update(7, Value("whole"));  // the key stays: an insert (upsert), as before
  EXPECT_TRUE(m.OnChange(in_place));
  EXPECT_EQ(in_place.action, ChangeAction::Insert);

  // A truncate empties the copy: the merge knows all it holds again.
  EXPECT_TRUE(Pass(m, Truncate()));
  EXPECT_FALSE(m.resumed());
  EXPECT_FALSE(Pass(m, Delete(8)));
}

TEST(ReloadMerge, ARowWithoutItsKeyIsAClearErrorAndWindowsDoNotNest) {
  ReloadMerge m(kT, {"id"});
  EXPECT_THROW(m.OpenWindow({R(1, "a"), Row{{"v", Value("no key")}}}, {}), DataError);
  EXPECT_FALSE(m.window_open());
  m.OpenWindow({R(1, "a")}, {});
  auto bad = ChangeEvent{
      .table = kT, .action = ChangeAction::Delete, .old_values = Row{{"v", Value("x")}}};
  EXPECT_THROW((void)m.OnChange(bad), DataError);
  EXPECT_THROW(m.OpenWindow({}, {}), std::logic_error);
  (void)m.CloseWindow();
  EXPECT_THROW((void)m.CloseWindow(), std::logic_error);
}

}  // namespace
}  // namespace laredo::pg
