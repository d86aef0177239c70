// The events IndexedTarget's listeners receive, in order, and the two-argument listener kept for
// earlier callers.
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "engine/test_util.hpp"
#include "laredo/memory/indexed_target.hpp"

namespace laredo::memory {
namespace {

using laredo::testing::IdNameColumns;
using laredo::testing::kUsers;
using laredo::testing::User;

// "Insert 1 b" style lines: action, the key of the row concerned, and whether it was a baseline.
class EventLog {
 public:
  void Record(const RowEvent& e) {
    std::string line(EventActionName(e.action));
    const Row* row = e.after != nullptr ? e.after : e.before;
    if (row != nullptr) line += " " + std::to_string(row->at("id").AsInt());
    if (e.action == EventAction::Update) line += " " + e.before->at("name").AsText() + ">";
    if (e.after != nullptr) line += " " + e.after->at("name").AsText();
    if (e.baseline) line += " (baseline)";
    EXPECT_EQ(e.table, kUsers);
    lines.push_back(std::move(line));
  }
  std::vector<std::string> lines;
};

class IndexedTargetEventsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    target.AddListener([this](const RowEvent& e) { log.Record(e); });
    target.OnInit(kUsers, IdNameColumns());
  }
  void Baseline(const std::vector<Row>& rows) {
    target.OnBaselineBegin(kUsers, IdNameColumns());
    for (const auto& row : rows) target.OnBaselineRow(kUsers, row);
    target.OnBaselineComplete(kUsers);
  }
  IndexedTarget target;
  EventLog log;
};

TEST_F(IndexedTargetEventsTest, AFirstBaselineReportsEveryRowBetweenBeginAndEnd) {
  Baseline({User(1, "a"), User(2, "b"), User(1, "a2")});
  EXPECT_EQ(log.lines, (std::vector<std::string>{
                           "BaselineBegin (baseline)",
                           "Insert 1 a (baseline)",
                           "Insert 2 b (baseline)",
                           "Update 1 a> a2 (baseline)",  // the baseline repeated a key
                           "BaselineEnd (baseline)",
                       }));
}

TEST_F(IndexedTargetEventsTest, ARebaselineReportsOnlyTheNetDifferenceAfterTheSwap) {
  Baseline({User(1, "a"), User(2, "b"), User(3, "c")});
  log.lines.clear();
  target.OnBaselineBegin(kUsers, IdNameColumns());
  target.OnBaselineRow(kUsers, User(1, "a"));                                    // the same
  target.OnBaselineRow(kUsers, User(2, "b2"));                                   // changed
  target.OnBaselineRow(kUsers, User(4, "d"));                                    // new; 3 is gone
  EXPECT_EQ(log.lines, (std::vector<std::string>{"BaselineBegin (baseline)"}));  // built aside
  std::size_t count_seen_by_listener = 0;
  target.AddListener([&](const RowEvent& e) {
    if (e.action == EventAction::BaselineEnd) count_seen_by_listener = target.Count();
  });
  target.OnBaselineComplete(kUsers);
  EXPECT_EQ(log.lines, (std::vector<std::string>{
                           "BaselineBegin (baseline)",
                           "Update 2 b> b2 (baseline)",
                           "Insert 4 d (baseline)",
                           "Delete 3 (baseline)",
                           "BaselineEnd (baseline)",
                       }));
  EXPECT_EQ(count_seen_by_listener, 3U);  // the new contents are what readers see by then
}

TEST_F(IndexedTargetEventsTest, LiveChangesAreOneEventEachAndATruncateIsOne) {
  Baseline({});
  log.lines.clear();
  target.OnInsert(kUsers, User(1, "a"));
  target.OnInsert(kUsers, User(2, "b"));
  target.OnUpdate(kUsers, User(1, "a2"), Row{{"id", 1}});
  target.OnUpdate(kUsers, User(5, "moved"), Row{{"id", 2}});  // a key change: one Update
  target.OnDelete(kUsers, Row{{"id", 99}});                   // not held: nothing
  target.OnDelete(kUsers, Row{{"id", 1}});
  target.OnInsert(kUsers, User(7, "g"));
  target.OnInsert(kUsers, User(8, "h"));
  target.OnTruncate(kUsers);
  EXPECT_EQ(log.lines, (std::vector<std::string>{
                           "Insert 1 a",
                           "Insert 2 b",
                           "Update 1 a> a2",
                           "Update 5 b> moved",
                           "Delete 1",
                           "Insert 7 g",
                           "Insert 8 h",
                           "Truncate",
                       }));
  EXPECT_EQ(target.Count(), 0U);
}

TEST_F(IndexedTargetEventsTest, TheTwoArgumentListenerStillHearsEveryRemovedRow) {
  std::vector<std::pair<std::optional<Row>, std::optional<Row>>> pairs;
  const auto id = target.AddListener(
      [&](const std::optional<Row>& o, const std::optional<Row>& n) { pairs.emplace_back(o, n); });
  Baseline({User(1, "a"), User(2, "b")});
  target.OnTruncate(kUsers);
  ASSERT_EQ(pairs.size(), 4U);  // two baseline inserts, then one per truncated row
  EXPECT_FALSE(pairs[0].first.has_value());
  EXPECT_FALSE(pairs[2].second.has_value());
  EXPECT_FALSE(pairs[3].second.has_value());
  std::set<std::int64_t> removed{pairs[2].first->at("id").AsInt(),
                                 pairs[3].first->at("id").AsInt()};
  EXPECT_EQ(removed, (std::set<std::int64_t>{1, 2}));
  target.RemoveListener(id);
  target.OnInsert(kUsers, User(3, "c"));
  EXPECT_EQ(pairs.size(), 4U);
  EXPECT_EQ(log.lines.back(), "Insert 3 c");  // the other listener stays
}

}  // namespace
}  // namespace laredo::memory
