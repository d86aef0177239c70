// A damaged table file never reads as a table: every flipped byte, every truncation, another
// version, other magic bytes and trailing bytes each end in a DataError that names the file.
#include <gtest/gtest.h>

#include "laredo/error.hpp"
#include "laredo/error_codes.hpp"
#include "snapshot/snapshot_test_util.hpp"

namespace laredo::snapshot {
namespace {

using testing::KindFile;
using testing::ReadAll;

/// The DataError reading `bytes` throws; fails the test when it reads without one.
DataError ReadError(const std::string& bytes, const std::string& what) {
  try {
    const auto rows = ReadAll(bytes);
    ADD_FAILURE() << what << ": read " << rows.size() << " rows without an error";
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("test.lrt"), std::string::npos) << e.what();
    return e;
  }
  return DataError(codes::kBadSnapshot, "none");
}

TEST(TableFileCorruption, EveryFlippedByteIsFound) {
  const std::string good = KindFile(60, 256);
  ASSERT_GT(good.size(), 2000U);
  int found_by_block_checksum = 0;
  for (std::size_t i = 0; i < good.size(); ++i) {
    for (const unsigned char mask : {0x01, 0x80, 0xff}) {
      std::string bad = good;
      bad[i] = static_cast<char>(bad[i] ^ mask);
      const DataError e = ReadError(bad, "byte " + std::to_string(i));
      found_by_block_checksum +=
          std::string(e.what()).find("block's checksum") != std::string::npos;
      // The version field says "version"; everything else is a bad file.
      const bool version_byte = i >= 8 && i < 12;
      EXPECT_EQ(e.code(), version_byte ? codes::kSnapshotVersion : codes::kBadSnapshot)
          << "byte " << i << ": " << e.what();
    }
  }
  // Most damage is found where it is, before the rows after it are decoded; the whole-file
  // checksum is the second line.
  EXPECT_GT(found_by_block_checksum, static_cast<int>(good.size()));
}

TEST(TableFileCorruption, EveryTruncationIsFound) {
  const std::string good = KindFile(40, 256);
  for (std::size_t size = 0; size < good.size(); ++size) {
    const DataError e = ReadError(good.substr(0, size), "size " + std::to_string(size));
    EXPECT_EQ(e.code(), codes::kBadSnapshot);
  }
}

TEST(TableFileCorruption, AnotherVersionIsNamedAsSuch) {
  std::string bad = KindFile(5);
  bad[8] = 2;
  const DataError e = ReadError(bad, "version 2");
  EXPECT_EQ(e.code(), codes::kSnapshotVersion);
  EXPECT_NE(std::string(e.what()).find("version 2"), std::string::npos) << e.what();
}

TEST(TableFileCorruption, OtherMagicBytesAreNotASnapshot) {
  std::string bad = KindFile(5);
  bad.replace(0, 8, "PK\x03\x04zipf");
  const DataError e = ReadError(bad, "magic");
  EXPECT_EQ(e.code(), codes::kBadSnapshot);
  EXPECT_NE(std::string(e.what()).find("magic"), std::string::npos) << e.what();
}

TEST(TableFileCorruption, TrailingBytesAreFound) {
  for (const std::string& garbage :
       {std::string(1, '\0'), std::string("more rows"), std::string(5 << 20, 'x')}) {
    const DataError e = ReadError(KindFile(5) + garbage, "garbage");
    EXPECT_EQ(e.code(), codes::kBadSnapshot);
    EXPECT_NE(std::string(e.what()).find("after the trailer"), std::string::npos) << e.what();
  }
}

TEST(TableFileCorruption, TwoFilesGluedTogetherAreNotOne) {
  const std::string one = KindFile(5);
  const DataError e = ReadError(one + one, "two files");
  EXPECT_EQ(e.code(), codes::kBadSnapshot);
}

}  // namespace
}  // namespace laredo::snapshot
