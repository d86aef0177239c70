#include "laredo/memory/typed_target.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "engine/test_util.hpp"

namespace laredo::memory {
namespace {

using laredo::testing::kOrders;

struct Order {
  std::int64_t id = 0;
  std::string number;
  std::int64_t customer = 0;
  std::int64_t total_cents = 0;
  bool operator==(const Order&) const = default;
};

std::vector<ColumnDefinition> OrderColumns() {
  return {
      {.name = "id", .type = "bigint", .nullable = false, .primary_key = true},
      {.name = "number", .type = "text"},
      {.name = "customer", .type = "bigint"},
      {.name = "total_cents", .type = "bigint"},
  };
}

Row OrderRow(std::int64_t id, std::string number, std::int64_t customer, std::int64_t total) {
  return Row{
      {"id", id}, {"number", std::move(number)}, {"customer", customer}, {"total_cents", total}};
}

Order MakeOrder(const Row& row) {
  if (row.at("total_cents").AsInt() < 0) throw std::invalid_argument("negative total");
  return Order{.id = row.at("id").AsInt(),
               .number = row.at("number").AsText(),
               .customer = row.at("customer").AsInt(),
               .total_cents = row.at("total_cents").AsInt()};
}

TypedTargetOptions<Order> Options() {
  return {.make = MakeOrder,
          .indexes = {{.name = "by_number",
                       .key = [](const Order& o) { return std::vector<Value>{o.number}; },
                       .unique = true},
                      {.name = "by_customer",
                       .key = [](const Order& o) { return std::vector<Value>{o.customer}; },
                       .unique = false}},
          .on_schema_change = {},
          .to_row = {}};
}

class TypedTargetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    target.AddListener([this](const Event<Order>& e) {
      std::string line(EventActionName(e.action));
      if (e.before != nullptr) line += " " + e.before->number;
      if (e.after != nullptr) line += " >" + e.after->number;
      if (e.baseline) line += " (baseline)";
      events.push_back(std::move(line));
    });
    target.OnInit(kOrders, OrderColumns());
    target.OnBaselineBegin(kOrders, OrderColumns());
    target.OnBaselineComplete(kOrders);
    events.clear();
  }
  std::shared_ptr<const Order> Get(std::int64_t id) const { return target.Get({Value(id)}); }
  TypedTarget<Order> target{Options()};
  std::vector<std::string> events;
};

TEST_F(TypedTargetTest, InsertsOfAKnownKeyAndUpdatesOfAMissingOneAreUpserts) {
  target.OnInsert(kOrders, OrderRow(1, "A-1", 7, 100));
  target.OnInsert(kOrders, OrderRow(1, "A-1", 7, 150));                  // redelivered, newer
  target.OnUpdate(kOrders, OrderRow(2, "A-2", 7, 200), Row{{"id", 2}});  // never inserted
  ASSERT_EQ(target.Count(), 2U);
  EXPECT_EQ(Get(1)->total_cents, 150);
  EXPECT_EQ(Get(2)->number, "A-2");
  EXPECT_EQ(Get(3), nullptr);
  EXPECT_EQ(events, (std::vector<std::string>{"Insert >A-1", "Update A-1 >A-1", "Insert >A-2"}));
}

TEST_F(TypedTargetTest, AKeyChangeMovesTheValueAndItsIndexEntries) {
  target.OnInsert(kOrders, OrderRow(1, "A-1", 7, 100));
  const auto held_by_reader = Get(1);
  target.OnUpdate(kOrders, OrderRow(9, "A-9", 8, 100), Row{{"id", 1}});
  EXPECT_EQ(Get(1), nullptr);
  EXPECT_EQ(Get(9)->number, "A-9");
  EXPECT_EQ(target.Count(), 1U);
  EXPECT_EQ(target.Lookup("by_number", {Value("A-1")}), nullptr);
  EXPECT_EQ(target.Lookup("by_number", {Value("A-9")})->id, 9);
  EXPECT_TRUE(target.LookupAll("by_customer", {Value(7)}).empty());
  EXPECT_EQ(target.LookupAll("by_customer", {Value(8)}).size(), 1U);
  EXPECT_EQ(held_by_reader->number, "A-1");  // a reader's value is never changed under it
  EXPECT_EQ(events.back(), "Update A-1 >A-9");
}

TEST_F(TypedTargetTest, DeletesAndTruncates) {
  for (int i = 1; i <= 5; ++i)
    target.OnInsert(kOrders, OrderRow(i, "A-" + std::to_string(i), 7, i));
  target.OnDelete(kOrders, Row{{"id", 3}});
  target.OnDelete(kOrders, Row{{"id", 42}});  // not held: nothing happens
  EXPECT_EQ(target.Count(), 4U);
  EXPECT_EQ(target.LookupAll("by_customer", {Value(7)}).size(), 4U);
  events.clear();
  target.OnTruncate(kOrders);
  EXPECT_EQ(target.Count(), 0U);
  EXPECT_TRUE(target.LookupAll("by_customer", {Value(7)}).empty());
  EXPECT_EQ(events, (std::vector<std::string>{"Truncate"}));  // one event, not one per value
}

TEST_F(TypedTargetTest, UniqueIndexAnswersTheNewestHolderAndNeverForgetsALiveOne) {
  target.OnInsert(kOrders, OrderRow(1, "SAME", 7, 1));
  target.OnInsert(kOrders, OrderRow(2, "SAME", 7, 2));
  EXPECT_EQ(target.Lookup("by_number", {Value("SAME")})->id, 2);
  EXPECT_EQ(target.LookupAll("by_number", {Value("SAME")}).size(), 2U);
  target.OnDelete(kOrders, Row{{"id", 2}});
  ASSERT_NE(target.Lookup("by_number", {Value("SAME")}), nullptr);
  EXPECT_EQ(target.Lookup("by_number", {Value("SAME")})->id, 1);
  EXPECT_THROW((void)target.Lookup("nope", {Value(1)}), Error);
}

TEST_F(TypedTargetTest, ARebaselineKeepsTheOldValuesVisibleUntilItCompletes) {
  for (int i = 1; i <= 3; ++i)
    target.OnInsert(kOrders, OrderRow(i, "A-" + std::to_string(i), 7, i));
  events.clear();
  target.OnBaselineBegin(kOrders, OrderColumns());
  target.OnBaselineRow(kOrders, OrderRow(1, "A-1", 7, 1));   // the same
  target.OnBaselineRow(kOrders, OrderRow(2, "A-2", 7, 99));  // changed; 3 is gone
  target.OnBaselineRow(kOrders, OrderRow(4, "A-4", 8, 4));   // new
  EXPECT_EQ(target.Count(), 3U);
  EXPECT_EQ(Get(2)->total_cents, 2);
  EXPECT_NE(Get(3), nullptr);
  EXPECT_EQ(Get(4), nullptr);
  EXPECT_EQ(target.Lookup("by_customer", {Value(8)}), nullptr);
  EXPECT_FALSE(target.BaselineComplete());
  target.OnBaselineComplete(kOrders);
  EXPECT_TRUE(target.BaselineComplete());
  EXPECT_EQ(target.Count(), 3U);
  EXPECT_EQ(Get(2)->total_cents, 99);
  EXPECT_EQ(Get(3), nullptr);
  EXPECT_EQ(target.Lookup("by_customer", {Value(8)})->id, 4);
  // The net difference, compared with Order's ==; unchanged order 1 is not reported. Added and
  // changed values come in no particular order, then the removed ones.
  ASSERT_EQ(events.size(), 5U);
  EXPECT_EQ(events.front(), "BaselineBegin (baseline)");
  EXPECT_EQ(std::set<std::string>(events.begin() + 1, events.begin() + 3),
            (std::set<std::string>{"Update A-2 >A-2 (baseline)", "Insert >A-4 (baseline)"}));
  EXPECT_EQ(events[3], "Delete A-3 (baseline)");
  EXPECT_EQ(events.back(), "BaselineEnd (baseline)");
}

TEST_F(TypedTargetTest, AFirstBaselineReportsItsRowsAsBaselineInserts) {
  TypedTarget<Order> fresh(Options());
  std::vector<std::string> seen;
  fresh.AddListener([&](const Event<Order>& e) {
    seen.push_back(std::string(EventActionName(e.action)) + (e.baseline ? "*" : ""));
  });
  fresh.OnInit(kOrders, OrderColumns());
  fresh.OnBaselineBegin(kOrders, OrderColumns());
  fresh.OnBaselineRow(kOrders, OrderRow(1, "A-1", 7, 1));
  fresh.OnBaselineComplete(kOrders);
  fresh.OnInsert(kOrders, OrderRow(2, "A-2", 7, 1));
  EXPECT_EQ(seen,
            (std::vector<std::string>{"BaselineBegin*", "Insert*", "BaselineEnd*", "Insert"}));
}

TEST_F(TypedTargetTest, AThrowingUserFunctionIsADataErrorAndChangesNothing) {
  target.OnInsert(kOrders, OrderRow(1, "A-1", 7, 100));
  EXPECT_THROW(target.OnInsert(kOrders, OrderRow(2, "A-2", 7, -1)), DataError);
  EXPECT_THROW(target.OnUpdate(kOrders, OrderRow(1, "A-1", 7, -1), Row{{"id", 1}}), DataError);
  EXPECT_EQ(target.Count(), 1U);
  EXPECT_EQ(Get(1)->total_cents, 100);
  EXPECT_THROW(target.OnInsert(kOrders, Row{{"number", "no id"}}), DataError);
}

TEST_F(TypedTargetTest, UnchangedValuesNeverReachTheUserFunction) {
  target.OnInsert(kOrders, OrderRow(1, "A-1", 7, 100));
  auto update = OrderRow(1, "A-1", 7, 100);
  update["number"] = Value::Unchanged();
  EXPECT_THROW(target.OnUpdate(kOrders, update, Row{{"id", 1}}), DataError);
  // Without to_row the engine cannot fill them from here, so it re-baselines instead.
  EXPECT_TRUE(target.CanReadRows());
  EXPECT_FALSE(target.ReadRow(kOrders, Row{{"id", 1}}).has_value());
  auto options = Options();
  options.to_row = [](const Order& o) {
    return OrderRow(o.id, o.number, o.customer, o.total_cents);
  };
  TypedTarget<Order> readable(std::move(options));
  readable.OnInit(kOrders, OrderColumns());
  readable.OnInsert(kOrders, OrderRow(1, "A-1", 7, 100));
  EXPECT_EQ(readable.ReadRow(kOrders, Row{{"id", 1}})->at("number").AsText(), "A-1");
  EXPECT_FALSE(readable.ReadRow(kOrders, Row{{"id", 2}}).has_value());
}

TEST_F(TypedTargetTest, ContractAnswersAndSchemaChanges) {
  EXPECT_TRUE(target.IsDurable());
  EXPECT_FALSE(target.KeepsStateAcrossRestarts());
  auto added = OrderColumns();
  added.push_back({.name = "note", .type = "text"});
  EXPECT_EQ(target.OnSchemaChange(kOrders, OrderColumns(), added).action,
            SchemaChangeResponse::Action::Continue);
  auto options = Options();
  options.on_schema_change = [](const TableIdentifier&, const std::vector<ColumnDefinition>&,
                                const std::vector<ColumnDefinition>&) {
    return SchemaChangeResponse{.action = SchemaChangeResponse::Action::ReBaseline,
                                .message = "reload"};
  };
  TypedTarget<Order> picky(std::move(options));
  picky.OnInit(kOrders, OrderColumns());
  EXPECT_EQ(picky.OnSchemaChange(kOrders, OrderColumns(), added).action,
            SchemaChangeResponse::Action::ReBaseline);
  EXPECT_THROW(TypedTarget<Order>(TypedTargetOptions<Order>{}), ConfigError);
  EXPECT_THROW(target.OnInsert(laredo::testing::kUsers, OrderRow(1, "A", 1, 1)), Error);
}

// Readers on other threads while the pipeline writes: every value seen is whole (its fields were
// written together), and a held value stays valid after the writer replaced or removed it. Run
// under TSan to check for data races.
TEST_F(TypedTargetTest, ConcurrentReadersSeeWholeValues) {
  std::atomic<bool> done{false};
  std::atomic<std::uint64_t> reads{0};
  std::vector<std::jthread> readers;
  readers.reserve(2);
  for (int r = 0; r < 2; ++r) {
    readers.emplace_back([&] {
      std::shared_ptr<const Order> kept;
      while (!done.load()) {
        for (int i = 0; i < 20; ++i) {
          if (auto o = Get(i)) {
            EXPECT_EQ(o->number, "N" + std::to_string(o->total_cents));
            kept = o;
          }
        }
        for (const auto& o : target.LookupAll("by_customer", {Value(1)})) {
          EXPECT_EQ(o->customer, 1);
        }
        if (kept) {
          EXPECT_EQ(kept->number, "N" + std::to_string(kept->total_cents));
        }
        ++reads;
      }
    });
  }
  for (int round = 0; round < 300; ++round) {
    for (int i = 0; i < 20; ++i)
      target.OnInsert(kOrders, OrderRow(i, "N" + std::to_string(round), round % 3, round));
    if (round % 10 == 0) target.OnDelete(kOrders, Row{{"id", round % 20}});
    if (round % 50 == 0) {
      target.OnBaselineBegin(kOrders, OrderColumns());
      for (int i = 0; i < 20; ++i) target.OnBaselineRow(kOrders, OrderRow(i, "N0", 0, 0));
      target.OnBaselineComplete(kOrders);
    }
  }
  ASSERT_TRUE(laredo::testing::Eventually([&] { return reads.load() > 10; }));
  done = true;
  readers.clear();
  EXPECT_EQ(target.Count(), 20U);
}

}  // namespace
}  // namespace laredo::memory
