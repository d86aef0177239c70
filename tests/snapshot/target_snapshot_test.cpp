// The in-memory targets' export and restore: equal rows and working indexes after a round trip
// through a store, all or nothing on a bad file, one baseline-style pair of events.
#include <gtest/gtest.h>

#include "laredo/error.hpp"
#include "laredo/error_codes.hpp"
#include "laredo/memory/indexed_target.hpp"
#include "laredo/memory/typed_target.hpp"
#include "laredo/snapshot/local_directory_store.hpp"
#include "snapshot/snapshot_test_util.hpp"

namespace laredo::snapshot {
namespace {

using memory::EventAction;
using memory::IndexedTarget;
using testing::KindColumns;
using testing::KindRow;
using testing::kKinds;
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

std::shared_ptr<IndexedTarget> Users() {
  return std::make_shared<IndexedTarget>(memory::IndexedTargetOptions{
      .indexes = {{.name = "by_email", .columns = {"email"}, .unique = true},
                  {.name = "by_team", .columns = {"team"}, .unique = false}}});
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

TEST(IndexedTargetSnapshot, HundredThousandRowsRoundTripThroughTheLocalStore) {
  constexpr std::int64_t kRows = 100'000;
  auto source = Users();
  Baseline(*source, kRows);
  source->OnUpdate(kUsers, User(5, 9), Row{{"id", 5}});
  source->OnDelete(kUsers, Row{{"id", 6}});

  testing::TempDir dir;
  LocalDirectoryStore store({.directory = dir.path()});
  {
    auto writer = store.Begin();
    writer->AddSource("main", "0/AB");
    auto table = writer->BeginTable(kUsers, source->ExportColumns(kUsers));
    source->Export(kUsers, *table);
    table->Finish();
    writer->Commit();
  }
  auto snapshot = store.OpenNewest();
  ASSERT_NE(snapshot, nullptr);
  EXPECT_EQ(snapshot->metadata().FindTable(kUsers)->row_count, kRows - 1);

  auto restored = Users();  // never initialised: Restore binds it
  auto reader = snapshot->OpenTable(kUsers);
  restored->Restore(kUsers, reader->columns(), *reader);

  EXPECT_TRUE(restored->BaselineComplete());
  EXPECT_EQ(restored->Columns(), UserColumns());
  ASSERT_EQ(restored->Count(), static_cast<std::size_t>(kRows - 1));
  for (std::int64_t i = 0; i < kRows; ++i) {
    ASSERT_EQ(restored->Get({Value(i)}), source->Get({Value(i)})) << "row " << i;
  }
  EXPECT_EQ(restored->Get({Value(5)})->at("note"), Value("v9"));
  // Secondary indexes work after the restore, unique and not.
  EXPECT_EQ(restored->Lookup("by_email", {Value("user77@example.com")}), User(77));
  EXPECT_FALSE(restored->Lookup("by_email", {Value("user6@example.com")}).has_value());
  EXPECT_EQ(restored->LookupAll("by_team", {Value(6)}).size(), kRows / 100 - 1);  // 6 deleted
  EXPECT_EQ(restored->LookupAll("by_team", {Value(42)}).size(), kRows / 100);
  // And it goes on as a replica.
  restored->OnInsert(kUsers, User(kRows + 1));
  restored->OnUpdate(kUsers, User(1, 3), Row{{"id", 1}});
  EXPECT_EQ(restored->Lookup("by_email", {Value("user1@example.com")}), User(1, 3));
  EXPECT_EQ(restored->Count(), static_cast<std::size_t>(kRows));
}

TEST(IndexedTargetSnapshot, ABadFileLeavesTheTargetAsItWas) {
  auto source = Users();
  Baseline(*source, 2000, 1);
  const std::string good = ExportToBytes(*source, kUsers);

  auto target = Users();
  Baseline(*target, 500, 2);
  std::vector<memory::RowEvent> heard;
  target->AddListener([&](const memory::RowEvent& e) { heard.push_back(e); });
  const auto before = target->All();

  std::vector<std::string> damaged = {good.substr(0, good.size() / 2), good + "x",
                                      good.substr(0, good.size() - 1)};
  for (const std::size_t at : {std::size_t{40}, good.size() / 2, good.size() - 3}) {
    std::string bad = good;
    bad[at] = static_cast<char>(bad[at] ^ 0x10);
    damaged.push_back(bad);
  }
  for (const auto& bad : damaged) {
    EXPECT_THROW(RestoreFromBytes(*target, bad), DataError);
    EXPECT_EQ(target->Count(), 500U);
    EXPECT_EQ(target->Get({Value(3)}), User(3, 2));
    EXPECT_EQ(target->Lookup("by_email", {Value("user3@example.com")}), User(3, 2));
  }
  EXPECT_EQ(target->All().size(), before.size());
  EXPECT_TRUE(heard.empty()) << "a failed restore told listeners something";

  RestoreFromBytes(*target, good);
  EXPECT_EQ(target->Count(), 2000U);
  EXPECT_EQ(target->Get({Value(3)}), User(3, 1));
}

TEST(IndexedTargetSnapshot, ListenersHearOneBaselineBeginAndEnd) {
  auto source = Users();
  Baseline(*source, 300);
  const std::string bytes = ExportToBytes(*source, kUsers);
  auto target = Users();
  Baseline(*target, 10, 5);
  std::vector<EventAction> heard;
  target->AddListener([&](const memory::RowEvent& e) {
    EXPECT_TRUE(e.baseline);
    // Listeners run after the swap: they see the restored rows.
    if (e.action == EventAction::BaselineEnd) {
      EXPECT_EQ(target->Count(), 300U);
    }
    heard.push_back(e.action);
  });
  int pairs = 0;
  target->AddListener(memory::ChangeListener(
      [&](const std::optional<Row>&, const std::optional<Row>&) { ++pairs; }));
  RestoreFromBytes(*target, bytes);
  EXPECT_EQ(heard,
            (std::vector<EventAction>{EventAction::BaselineBegin, EventAction::BaselineEnd}));
  EXPECT_EQ(pairs, 0);
}

/// Hides the reader's type, so that a target takes the path of any RowReader.
class Opaque final : public RowReader {
 public:
  explicit Opaque(RowReader& inner) : inner_(inner) {}
  bool Next(Row& row) override { return inner_.Next(row); }

 private:
  RowReader& inner_;
};

TEST(IndexedTargetSnapshot, TheBulkPathFromATableFileEqualsTheRowPath) {
  // Every kind, rows lacking columns, a column the table does not declare, a key repeated.
  std::vector<ColumnDefinition> columns = KindColumns();
  std::string bytes;
  {
    TableFileWriter file(std::make_unique<StringSink>(bytes), kKinds, columns,
                         {.block_bytes = 300});
    for (int i = 0; i < 400; ++i) file.Write(KindRow(i));
    file.Write(Row{{"id", 7}, {"t", "seven again"}});
    file.Write(Row{{"id", 401}, {"extra", Value::Numeric("1.5")}, {"n", nullptr}});
    file.Write(Row{{"tz", Value::TimestampTz(5)}, {"id", 402}});
    file.Finish();
  }
  const memory::IndexedTargetOptions indexed{.indexes = {{.name = "by_t", .columns = {"t"}}}};
  IndexedTarget bulk(indexed);
  IndexedTarget by_rows(indexed);
  IndexedTarget reference(indexed);  // the same rows as a baseline applies them, one by one
  {
    TableFileReader reader(std::make_unique<StringSource>(bytes), "kinds.lrt");
    reference.OnInit(kKinds, columns);
    reference.OnBaselineBegin(kKinds, columns);
    Row row;
    while (reader.Next(row)) reference.OnBaselineRow(kKinds, row);
    reference.OnBaselineComplete(kKinds);
  }
  {
    TableFileReader reader(std::make_unique<StringSource>(bytes, 333), "kinds.lrt");
    bulk.Restore(kKinds, columns, reader);
  }
  {
    TableFileReader reader(std::make_unique<StringSource>(bytes), "kinds.lrt");
    Opaque opaque(reader);
    by_rows.Restore(kKinds, columns, opaque);
  }
  ASSERT_EQ(bulk.Count(), 402U);
  ASSERT_EQ(by_rows.Count(), 402U);
  for (std::int64_t i = 0; i <= 402; ++i) {
    ASSERT_EQ(bulk.Get({Value(i)}), reference.Get({Value(i)})) << "row " << i;
    ASSERT_EQ(by_rows.Get({Value(i)}), reference.Get({Value(i)})) << "row " << i;
  }
  // The secondary index forgot the repeated key's earlier row.
  for (const char* t : {"seven again", "ada", ""}) {
    EXPECT_EQ(bulk.LookupAll("by_t", {Value(t)}).size(),
              reference.LookupAll("by_t", {Value(t)}).size())
        << t;
  }
  EXPECT_EQ(bulk.LookupAll("by_t", {Value("seven again")}).size(), 1U);
  EXPECT_EQ(*bulk.Get({Value(12)}), KindRow(12));
  EXPECT_EQ(bulk.Get({Value(7)})->at("t"), Value("seven again"));
  EXPECT_EQ(bulk.Get({Value(401)})->at("extra"), Value::Numeric("1.5"));
  EXPECT_EQ(bulk.Get({Value(402)})->at("tz"), Value::TimestampTz(5));
}

TEST(IndexedTargetSnapshot, ExportRefusesAnIncompleteBaselineAndAnotherTable) {
  auto target = Users();
  target->OnInit(kUsers, UserColumns());
  target->OnBaselineBegin(kUsers, UserColumns());
  target->OnBaselineRow(kUsers, User(1));
  std::string bytes;
  TableFileWriter file(std::make_unique<StringSink>(bytes), kUsers, UserColumns());
  try {
    target->Export(kUsers, file);
    FAIL() << "exported half a baseline";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), codes::kSnapshotNotReady);
  }
  target->OnBaselineComplete(kUsers);
  EXPECT_THROW(target->Export(Table("public", "other"), file), Error);
  // A restore of another table than the one it holds.
  const std::string kinds = testing::KindFile(3);
  EXPECT_THROW(RestoreFromBytes(*target, kinds), ConfigError);
  EXPECT_EQ(target->Count(), 1U);
}

}  // namespace
}  // namespace laredo::snapshot
