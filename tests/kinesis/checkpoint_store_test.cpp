#include "laredo/kinesis/checkpoint_store.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "laredo/error.hpp"

namespace laredo::kinesis {
namespace {

namespace fs = std::filesystem;

constexpr const char* kSeq = "49590338271490256608559692538361571095921575989136588898";

StreamPosition Pos(std::string snapshot,
                   std::initializer_list<std::pair<const char*, std::string>> shards) {
  StreamPosition p{std::move(snapshot), {}};
  for (const auto& [shard, seq] : shards) p.shards.emplace(shard, SequenceNumber(seq));
  return p;
}

std::string Slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void Write(const fs::path& path, std::string_view text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

class FileCheckpointStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("laredo-kinesis-checkpoint-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    path_ = dir_ / "orders.checkpoint";
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path dir_;
  fs::path path_;
};

TEST_F(FileCheckpointStoreTest, NothingSavedLoadsNothing) {
  FileCheckpointStore store(path_);
  EXPECT_FALSE(store.Load().has_value());
}

TEST_F(FileCheckpointStoreTest, SavedPositionSurvivesARestart) {
  const auto position =
      Pos("snap-1", {{"shardId-000000000000", kSeq}, {"shardId-000000000001", "12"}});
  {
    FileCheckpointStore store(path_);
    store.Save(position);
  }
  FileCheckpointStore reopened(path_);
  EXPECT_EQ(reopened.Load(), position);
  EXPECT_EQ(Slurp(path_), "laredo-kinesis-checkpoint 1\n" + position.ToString() + "\n");
  // Written through a temporary file that is renamed away.
  EXPECT_FALSE(fs::exists(path_.string() + ".tmp"));
}

TEST_F(FileCheckpointStoreTest, AdvancesAndAcceptsTheSamePositionAgain) {
  FileCheckpointStore store(path_);
  store.Save(Pos("s", {{"a", "5"}}));
  store.Save(Pos("s", {{"a", "5"}}));
  store.Save(Pos("s", {{"a", "6"}, {"b", "1"}}));  // a new shard appears
  EXPECT_EQ(FileCheckpointStore(path_).Load(), Pos("s", {{"a", "6"}, {"b", "1"}}));
}

TEST_F(FileCheckpointStoreTest, SaveOlderPositionIsRejected) {
  FileCheckpointStore store(path_);
  store.Save(Pos("s", {{"a", "100"}, {"b", "7"}}));
  const std::string before = Slurp(path_);
  for (const auto& older :
       {Pos("s", {{"a", "99"}, {"b", "7"}}),      // one shard behind
        Pos("s", {{"a", "100"}}),                 // a shard dropped
        Pos("s", {{"a", "101"}, {"b", "6"}})}) {  // ahead on one, behind on another
    try {
      store.Save(older);
      ADD_FAILURE() << "saved " << older.ToString();
    } catch (const FatalError& e) {
      EXPECT_EQ(e.code(), "checkpoint_backwards");
      EXPECT_NE(std::string(e.what()).find(path_.string()), std::string::npos);
    }
  }
  EXPECT_EQ(Slurp(path_), before);
  // Also for a fresh store that never called Load: the file is the reference.
  FileCheckpointStore fresh(path_);
  EXPECT_THROW(fresh.Save(Pos("s", {{"a", "1"}, {"b", "1"}})), FatalError);
}

TEST_F(FileCheckpointStoreTest, ANewSnapshotReplacesTheCheckpoint) {
  FileCheckpointStore store(path_);
  store.Save(Pos("snap-2", {{"a", "100"}}));
  store.Save(Pos("snap-3", {{"a", "1"}}));
  EXPECT_EQ(FileCheckpointStore(path_).Load(), Pos("snap-3", {{"a", "1"}}));
}

TEST_F(FileCheckpointStoreTest, ANewLineageReplacesACheckpointAheadOfIt) {
  FileCheckpointStore(path_).Save(Pos("s", {{"a", "100"}, {"b", "7"}}));
  FileCheckpointStore store(path_);  // a restart that loads the snapshot again
  store.StartLineage(Pos("s", {}));
  EXPECT_EQ(FileCheckpointStore(path_).Load(), Pos("s", {}));
  // The new lineage advances as usual, and never moves back either.
  store.Save(Pos("s", {{"a", "3"}}));
  EXPECT_THROW(store.Save(Pos("s", {})), FatalError);
  EXPECT_EQ(FileCheckpointStore(path_).Load(), Pos("s", {{"a", "3"}}));
}

TEST_F(FileCheckpointStoreTest, CorruptFileGivesAClearError) {
  const std::string valid =
      "laredo-kinesis-checkpoint 1\n" + Pos("s", {{"a", "1"}}).ToString() + "\n";
  for (const std::string& bad : {std::string(""), std::string("garbage"),
                                 std::string("laredo-kinesis-checkpoint 2\nv1:s@a=1\n"),
                                 std::string("laredo-kinesis-checkpoint 1\nv1:s@a=1x\n"),
                                 std::string("laredo-kinesis-checkpoint 1\nv1:s@a=1"),
                                 valid + "extra\n", valid.substr(0, valid.size() / 2)}) {
    Write(path_, bad);
    FileCheckpointStore store(path_);
    try {
      (void)store.Load();
      ADD_FAILURE() << "loaded '" << bad << "'";
    } catch (const DataError& e) {
      EXPECT_EQ(e.code(), "bad_checkpoint");
      const std::string message = e.what();
      EXPECT_NE(message.find(path_.string()), std::string::npos) << message;
      EXPECT_NE(message.find("not a valid checkpoint"), std::string::npos) << message;
    }
    // Never silently overwritten either.
    FileCheckpointStore saver(path_);
    EXPECT_THROW(saver.Save(Pos("s", {{"a", "2"}})), DataError);
    EXPECT_THROW(saver.StartLineage(Pos("s", {{"a", "2"}})), DataError);
    EXPECT_EQ(Slurp(path_), bad);
  }
}

TEST_F(FileCheckpointStoreTest, UnwritableLocationIsRetryable) {
  FileCheckpointStore store(dir_ / "no-such-dir" / "cp");
  EXPECT_FALSE(store.Load().has_value());
  try {
    store.Save(Pos("s", {{"a", "1"}}));
    ADD_FAILURE() << "saved into a missing directory";
  } catch (const RetryableError& e) {
    EXPECT_EQ(e.code(), "checkpoint_io");
  }
}

}  // namespace
}  // namespace laredo::kinesis
