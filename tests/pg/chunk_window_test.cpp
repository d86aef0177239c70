// ChunkWindow: which rows of a chunk read between two watermarks may still be delivered.
#include "chunk_window.hpp"

#include <gtest/gtest.h>

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

std::vector<std::int64_t> Ids(const std::vector<Row>& rows) {
  std::vector<std::int64_t> ids;
  for (const auto& r : rows) ids.push_back(*r.at("id").IntIf());
  return ids;
}

ChunkWindow Window() {
  ChunkWindow w(kT, {"id"});
  w.SetRows({R(1, "a"), R(2, "b"), R(3, "c"), R(4, "d"), R(5, "e")});
  return w;
}

TEST(ChunkWindow, WithoutChangesInTheWindowEveryRowIsDeliveredInReadOrder) {
  ChunkWindow w(kT, {"id"});
  w.SetRows({R(3, "c"), R(1, "a"), R(2, "b")});
  const auto out = w.Close();
  EXPECT_EQ(Ids(out.rows), (std::vector<std::int64_t>{3, 1, 2}));
  EXPECT_EQ(out.rows[0], R(3, "c"));
  EXPECT_TRUE(out.read_again.empty());
}

TEST(ChunkWindow, AKeyTheStreamChangedInTheWindowIsTheStreamsNotTheReads) {
  auto w = Window();
  w.OnChange(Insert(2, "b again"));  // deleted and inserted again inside the window
  w.OnChange(Update(3, Value("c2")));
  w.OnChange(Delete(4));
  w.OnChange(Insert(9, "outside the chunk"));  // not a row of the chunk: nothing to drop
  w.OnChange(Insert(1, "other table", Table("public", "other")));
  const auto out = w.Close();
  EXPECT_EQ(Ids(out.rows), (std::vector<std::int64_t>{1, 5}));
  EXPECT_EQ(out.rows[0], R(1, "a"));  // the other table's change left row 1 alone
  EXPECT_TRUE(out.read_again.empty());
}

TEST(ChunkWindow, AnUpdateWithoutEveryColumnIsDroppedAndReadAgain) {
  auto w = Window();
  w.OnChange(Update(2, Value::Unchanged()));
  const auto out = w.Close();
  EXPECT_EQ(Ids(out.rows), (std::vector<std::int64_t>{1, 3, 4, 5}));
  ASSERT_EQ(out.read_again.size(), 1U);
  EXPECT_EQ(out.read_again[0], K(2));  // the key only
}

TEST(ChunkWindow, AKeyChangeDropsTheOldKeyAndTheNew) {
  auto w = Window();
  w.OnChange(Update(5, Value("moved"), 1));  // row 1 became row 5
  const auto out = w.Close();
  EXPECT_EQ(Ids(out.rows), (std::vector<std::int64_t>{2, 3, 4}));
}

TEST(ChunkWindow, ATruncateInTheWindowDropsTheWholeChunk) {
  auto w = Window();
  w.OnChange(ChangeEvent{.table = kT, .action = ChangeAction::Truncate});
  w.OnChange(Insert(2, "after the truncate"));  // arrives through the stream
  const auto out = w.Close();
  EXPECT_TRUE(out.rows.empty());
}

TEST(ChunkWindow, CompositeKeysDoNotRunTogether) {
  ChunkWindow w(kT, {"a", "b"});
  w.SetRows(
      {Row{{"a", Value("x,y")}, {"b", Value("z")}}, Row{{"a", Value("x")}, {"b", Value("y,z")}}});
  w.OnChange(ChangeEvent{.table = kT,
                         .action = ChangeAction::Delete,
                         .old_values = Row{{"a", Value("x")}, {"b", Value("y,z")}}});
  const auto out = w.Close();
  ASSERT_EQ(out.rows.size(), 1U);
  EXPECT_EQ(out.rows[0].at("a"), Value("x,y"));
}

TEST(ChunkWindow, ARowWithoutItsKeyIsAClearErrorAndCloseIsOnce) {
  ChunkWindow w(kT, {"id"});
  EXPECT_THROW(w.SetRows({R(1, "a"), Row{{"v", Value("no key")}}}), DataError);
  w.SetRows({R(1, "a")});
  EXPECT_THROW(
      w.OnChange(ChangeEvent{
          .table = kT, .action = ChangeAction::Delete, .old_values = Row{{"v", Value("x")}}}),
      DataError);
  (void)w.Close();
  EXPECT_THROW((void)w.Close(), std::logic_error);
}

}  // namespace
}  // namespace laredo::pg
