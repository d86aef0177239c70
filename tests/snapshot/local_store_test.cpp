// LocalDirectoryStore: committed snapshots are listed newest first and read back; abandoned and
// crashed writers leave nothing listed and the committed snapshots intact; pruning keeps the
// newest.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>

#include "laredo/error.hpp"
#include "laredo/error_codes.hpp"
#include "laredo/snapshot/local_directory_store.hpp"
#include "snapshot/snapshot_test_util.hpp"

namespace laredo::snapshot {
namespace {

namespace fs = std::filesystem;
using testing::KindColumns;
using testing::KindRow;
using testing::kKinds;
using testing::TempDir;

const TableIdentifier kOther = Table("sales", "orders \"2024\"");

/// Commits a snapshot of `rows` KindRows (and an empty second table) at source position `lsn`.
SnapshotMetadata WriteSnapshot(SnapshotStore& store, int rows, const std::string& lsn) {
  auto writer = store.Begin();
  writer->AddSource("pg", lsn);
  auto kinds = writer->BeginTable(kKinds, KindColumns());
  auto other = writer->BeginTable(kOther, {{.name = "id", .type = "int", .primary_key = true}});
  for (int i = 0; i < rows; ++i) kinds->Write(KindRow(i));
  kinds->Finish();
  other->Finish();
  return writer->Commit();
}

std::vector<Row> ReadTable(SnapshotReader& snapshot, const TableIdentifier& table) {
  auto reader = snapshot.OpenTable(table);
  std::vector<Row> rows;
  Row row;
  while (reader->Next(row)) rows.push_back(row);
  return rows;
}

std::vector<std::string> Ids(const std::vector<SnapshotMetadata>& listed) {
  std::vector<std::string> ids;
  for (const auto& m : listed) ids.push_back(m.id);
  return ids;
}

std::vector<std::string> Entries(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

TEST(LocalStore, ACommittedSnapshotReadsBack) {
  TempDir dir;
  LocalDirectoryStore store({.directory = dir.path()});
  EXPECT_TRUE(store.List().empty());
  EXPECT_EQ(store.OpenNewest(), nullptr);
  const SnapshotMetadata written = WriteSnapshot(store, 300, "0/16B3748");

  const auto listed = store.List();
  ASSERT_EQ(listed.size(), 1U);
  EXPECT_EQ(listed[0], written);
  EXPECT_TRUE(IsSnapshotId(written.id)) << written.id;
  EXPECT_EQ(written.created_at.size(), 27U) << written.created_at;
  ASSERT_NE(written.FindSource("pg"), nullptr);
  EXPECT_EQ(written.FindSource("pg")->position, "0/16B3748");
  ASSERT_NE(written.FindTable(kKinds), nullptr);
  EXPECT_EQ(written.FindTable(kKinds)->row_count, 300U);
  EXPECT_EQ(written.FindTable(kKinds)->columns, KindColumns());

  auto snapshot = store.Open(written.id);
  const auto rows = ReadTable(*snapshot, kKinds);
  ASSERT_EQ(rows.size(), 300U);
  for (int i = 0; i < 300; ++i) ASSERT_EQ(rows[i], KindRow(i));
  EXPECT_TRUE(ReadTable(*snapshot, kOther).empty());
  try {
    (void)snapshot->OpenTable(Table("public", "missing"));
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), codes::kSnapshotNotFound);
  }
  // Nothing but the snapshot's own directory is left.
  EXPECT_EQ(Entries(dir.path()), std::vector<std::string>{written.id});
}

TEST(LocalStore, ListsNewestFirstAndOpensTheNewest) {
  TempDir dir;
  LocalDirectoryStore store({.directory = dir.path()});
  const auto a = WriteSnapshot(store, 1, "0/1");
  const auto b = WriteSnapshot(store, 2, "0/2");
  const auto c = WriteSnapshot(store, 3, "0/3");
  EXPECT_EQ(Ids(store.List()), (std::vector<std::string>{c.id, b.id, a.id}));
  EXPECT_EQ(store.OpenNewest()->metadata().FindSource("pg")->position, "0/3");
  // A second store object over the same directory sees the same.
  LocalDirectoryStore again({.directory = dir.path()});
  EXPECT_EQ(Ids(again.List()), (std::vector<std::string>{c.id, b.id, a.id}));
}

TEST(LocalStore, AnAbandonedWriterLeavesNothing) {
  TempDir dir;
  LocalDirectoryStore store({.directory = dir.path()});
  const auto committed = WriteSnapshot(store, 10, "0/1");
  {
    auto writer = store.Begin();
    auto table = writer->BeginTable(kKinds, KindColumns());
    for (int i = 0; i < 100; ++i) table->Write(KindRow(i));
    table->Finish();
    EXPECT_EQ(store.List().size(), 1U) << "an uncommitted snapshot is listed";
  }  // destroyed without Commit
  EXPECT_EQ(Ids(store.List()), std::vector<std::string>{committed.id});
  EXPECT_EQ(Entries(dir.path()), std::vector<std::string>{committed.id});
}

TEST(LocalStore, CommitRefusesAnUnfinishedTable) {
  TempDir dir;
  LocalDirectoryStore store({.directory = dir.path()});
  auto writer = store.Begin();
  auto table = writer->BeginTable(kKinds, KindColumns());
  table->Write(KindRow(1));
  EXPECT_THROW(writer->Commit(), Error);
  table.reset();  // abandoned: still not committable
  EXPECT_THROW(writer->Commit(), Error);
  EXPECT_TRUE(store.List().empty());
}

TEST(LocalStore, ACrashMidWriteLeavesThePreviousSnapshotAndIsCleanedUp) {
  TempDir dir;
  LocalDirectoryStore store({.directory = dir.path()});
  const auto committed = WriteSnapshot(store, 50, "0/1");
  // A writer that dies mid-file: no destructor runs, its temporary directory stays.
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    LocalDirectoryStore crashing({.directory = dir.path()});
    auto writer = crashing.Begin();
    auto table = writer->BeginTable(kKinds, KindColumns());
    for (int i = 0; i < 5000; ++i) table->Write(KindRow(i));
    _exit(0);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  // And a leftover of another kind: a temporary directory that even holds metadata.
  const fs::path leftover = dir.path() / (".tmp-" + NewSnapshotId());
  fs::create_directories(leftover);
  std::ofstream(leftover / "metadata.json") << committed.ToJson();
  ASSERT_EQ(Entries(dir.path()).size(), 3U);

  EXPECT_EQ(Ids(store.List()), std::vector<std::string>{committed.id});
  EXPECT_EQ(ReadTable(*store.OpenNewest(), kKinds).size(), 50U);
  const auto newer = WriteSnapshot(store, 7, "0/2");
  EXPECT_EQ(Ids(store.List()), (std::vector<std::string>{newer.id, committed.id}));
  EXPECT_EQ(store.Prune(5), 0U);
  EXPECT_EQ(Entries(dir.path()), (std::vector<std::string>{committed.id, newer.id}));
}

TEST(LocalStore, PruneKeepsTheNewest) {
  TempDir dir;
  LocalDirectoryStore store({.directory = dir.path()});
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(WriteSnapshot(store, i, "0/" + std::to_string(i)).id);
  EXPECT_EQ(store.Prune(2), 3U);
  EXPECT_EQ(Ids(store.List()), (std::vector<std::string>{ids[4], ids[3]}));
  EXPECT_EQ(Entries(dir.path()), (std::vector<std::string>{ids[3], ids[4]}));
  try {
    (void)store.Open(ids[0]);
    FAIL() << "a pruned snapshot opened";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), codes::kSnapshotNotFound);
  }
  EXPECT_EQ(store.Prune(2), 0U);
  EXPECT_EQ(store.Prune(0), 2U);
  EXPECT_TRUE(store.List().empty());
}

TEST(LocalStore, DamagedFilesOfACommittedSnapshotAreFound) {
  TempDir dir;
  LocalDirectoryStore store({.directory = dir.path()});
  const auto a = WriteSnapshot(store, 20, "0/1");
  const auto b = WriteSnapshot(store, 21, "0/2");
  // b's file replaced by a's: each is a valid file, but not the one b's metadata describes.
  const std::string file = a.FindTable(kKinds)->file;
  fs::copy_file(dir.path() / a.id / file, dir.path() / b.id / file,
                fs::copy_options::overwrite_existing);
  try {
    (void)ReadTable(*store.Open(b.id), kKinds);
    FAIL() << "a swapped file read back";
  } catch (const DataError& e) {
    EXPECT_EQ(e.code(), codes::kBadSnapshot);
    EXPECT_NE(std::string(e.what()).find(b.id), std::string::npos) << e.what();
  }
  // Metadata that does not parse: the snapshot is skipped when listing, refused when opened.
  std::ofstream(dir.path() / b.id / "metadata.json") << "{\"format\": \"laredo-snapshot\"";
  EXPECT_EQ(Ids(store.List()), std::vector<std::string>{a.id});
  EXPECT_THROW((void)store.Open(b.id), DataError);
}

TEST(LocalStore, MetadataOfAnotherVersionIsNamedAsSuch) {
  SnapshotMetadata m;
  m.id = NewSnapshotId();
  m.created_at = CreatedAtOf(m.id);
  EXPECT_EQ(SnapshotMetadata::FromJson(m.ToJson(), "m"), m);
  m.format_version = 2;
  try {
    (void)SnapshotMetadata::FromJson(m.ToJson(), "m.json");
    FAIL();
  } catch (const DataError& e) {
    EXPECT_EQ(e.code(), codes::kSnapshotVersion);
    EXPECT_NE(std::string(e.what()).find("m.json"), std::string::npos);
  }
}

}  // namespace
}  // namespace laredo::snapshot
