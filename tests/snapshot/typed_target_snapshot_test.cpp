// TypedTarget's export (through to_row) and restore (through make): a round trip, and all or
// nothing when a row or the file is bad.
#include <gtest/gtest.h>

#include "laredo/error.hpp"
#include "laredo/error_codes.hpp"
#include "laredo/memory/typed_target.hpp"
#include "snapshot/snapshot_test_util.hpp"

namespace laredo::snapshot {
namespace {

using memory::EventAction;
using testing::StringSink;
using testing::StringSource;

const TableIdentifier kUsers = Table("public", "users");

std::vector<ColumnDefinition> UserColumns() {
  return {{.name = "id", .type = "bigint", .nullable = false, .primary_key = true},
          {.name = "email", .type = "text"},
          {.name = "team", .type = "int"},
          {.name = "note", .type = "text"}};
}

Row User(std::int64_t id, int version = 0) {
  return Row{{"id", id},
             {"email", "user" + std::to_string(id) + "@example.com"},
             {"team", id % 100},
             {"note", id % 7 == 0 ? Value() : Value("v" + std::to_string(version))}};
}

void Baseline(SyncTarget& target, std::int64_t rows, int version = 0) {
  target.OnInit(kUsers, UserColumns());
  target.OnBaselineBegin(kUsers, UserColumns());
  for (std::int64_t i = 0; i < rows; ++i) target.OnBaselineRow(kUsers, User(i, version));
  target.OnBaselineComplete(kUsers);
}

/// The target's table exported to a table file in memory.
std::string ExportToBytes(const SnapshotCapable& target, const TableIdentifier& table) {
  std::string bytes;
  TableFileWriter file(std::make_unique<StringSink>(bytes), table, target.ExportColumns(table));
  target.Export(table, file);
  file.Finish();
  return bytes;
}

void RestoreFromBytes(SnapshotCapable& target, const std::string& bytes) {
  TableFileReader reader(std::make_unique<StringSource>(bytes), "users.lrt");
  target.Restore(reader.table(), reader.columns(), reader);
}

// --- TypedTarget ---------------------------------------------------------------------------

struct User2 {
  std::int64_t id = 0;
  std::string email;
  std::int64_t team = 0;
  friend bool operator==(const User2&, const User2&) = default;
};

memory::TypedTargetOptions<User2> TypedOptions(bool with_to_row) {
  memory::TypedTargetOptions<User2> o;
  o.make = [](const Row& r) {
    if (r.at("email").AsText() == "poison") throw std::runtime_error("poison row");
    return User2{r.at("id").AsInt(), r.at("email").AsText(), r.at("team").AsInt()};
  };
  o.indexes = {{.name = "by_email",
                .key = [](const User2& u) { return std::vector<Value>{Value(u.email)}; },
                .unique = true}};
  if (with_to_row) {
    o.to_row = [](const User2& u) {
      return Row{{"id", u.id}, {"email", u.email}, {"team", u.team}, {"note", nullptr}};
    };
  }
  return o;
}

TEST(TypedTargetSnapshot, RoundTripsThroughToRowAndMake) {
  memory::TypedTarget<User2> source(TypedOptions(true));
  Baseline(source, 5000);
  const std::string bytes = ExportToBytes(source, kUsers);

  memory::TypedTarget<User2> target(TypedOptions(true));
  std::vector<EventAction> heard;
  target.AddListener([&](const memory::Event<User2>& e) { heard.push_back(e.action); });
  RestoreFromBytes(target, bytes);
  EXPECT_EQ(heard,
            (std::vector<EventAction>{EventAction::BaselineBegin, EventAction::BaselineEnd}));
  EXPECT_TRUE(target.BaselineComplete());
  ASSERT_EQ(target.Count(), 5000U);
  for (std::int64_t i = 0; i < 5000; ++i)
    ASSERT_EQ(*target.Get({Value(i)}), *source.Get({Value(i)}));
  EXPECT_EQ(target.Lookup("by_email", {Value("user9@example.com")})->id, 9);
}

TEST(TypedTargetSnapshot, ExportNeedsToRow) {
  memory::TypedTarget<User2> target(TypedOptions(false));
  Baseline(target, 3);
  std::string bytes;
  TableFileWriter file(std::make_unique<StringSink>(bytes), kUsers, UserColumns());
  EXPECT_THROW(target.Export(kUsers, file), ConfigError);
}

TEST(TypedTargetSnapshot, AFailingRestoreLeavesTheTargetAsItWas) {
  std::string bytes;
  {
    TableFileWriter file(std::make_unique<StringSink>(bytes), kUsers, UserColumns());
    for (std::int64_t i = 0; i < 100; ++i) file.Write(User(i));
    file.Write(Row{{"id", 100}, {"email", "poison"}, {"team", 1}});
    file.Finish();
  }
  memory::TypedTarget<User2> target(TypedOptions(true));
  Baseline(target, 10, 0);
  try {
    RestoreFromBytes(target, bytes);
    FAIL() << "a row make refused was restored";
  } catch (const DataError& e) {
    EXPECT_EQ(e.code(), codes::kMakeFailed);
  }
  EXPECT_EQ(target.Count(), 10U);
  std::string corrupt = ExportToBytes(target, kUsers);
  corrupt[corrupt.size() / 2] ^= 1;
  memory::TypedTarget<User2> other(TypedOptions(true));
  Baseline(other, 20);
  EXPECT_THROW(RestoreFromBytes(other, corrupt), DataError);
  EXPECT_EQ(other.Count(), 20U);
}

}  // namespace
}  // namespace laredo::snapshot
