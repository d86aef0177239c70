// ReloadCheckpoint: the text a target keeps so a restarted process continues a reload.
#include "reload_checkpoint.hpp"

#include <gtest/gtest.h>

#include "laredo/error.hpp"
#include "laredo/error_codes.hpp"

namespace laredo::pg {
namespace {

ReloadCheckpoint Sample() {
  return ReloadCheckpoint{
      .table = Table("public", "t"),
      .slot = "laredo_slot",
      .columns = "2:id:20:1;1:v:25:0;",
      .through =
          StreamPosition{.commit_lsn = Lsn(0x16B3748), .index = 3, .ack_lsn = Lsn(0x16B3000)},
      .bounded = true,
      .scanned = false,
      .after = std::vector<std::string>{"4096", "secret key, \"quoted\""},
      .last = std::vector<std::string>{"20000", "z"},
      .read_again = {{"-7", "a"}, {"12", ""}}};
}

TEST(ReloadCheckpoint, RoundTripsEveryField) {
  const auto c = Sample();
  const auto text = c.Encode();
  EXPECT_TRUE(text.starts_with("pgreload1:"));
  EXPECT_EQ(ReloadCheckpoint::Decode(text), c);

  auto empty = Sample();
  empty.bounded = false;
  empty.after.reset();
  empty.last.reset();
  empty.read_again.clear();
  EXPECT_EQ(ReloadCheckpoint::Decode(empty.Encode()), empty);
}

// Whatever a target hands back, a clear error that never quotes it (key values are user data).
TEST(ReloadCheckpoint, TextItDidNotWriteIsABadCheckpointThatQuotesNothing) {
  const auto good = Sample().Encode();
  std::vector<std::string> bad = {
      "",
      "secret key",
      "pgreload2:{}",
      "pgreload1:",
      "pgreload1:{\"secret key\": 1",
      "pgreload1:[\"secret key\"]",
      good.substr(0, good.size() / 2),
  };
  const auto replace = [&](const std::string& from, const std::string& to) {
    auto text = good;
    const auto at = text.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    return text.replace(at, from.size(), to);
  };
  bad.push_back(replace("\"through\":\"pg1:", "\"through\":\"secret key"));
  bad.push_back(replace("\"bounded\":true", "\"bounded\":\"secret key\""));
  bad.push_back(replace("\"again\":[", "\"again\":[[1],"));
  bad.push_back(replace("\"last\":[\"20000\",\"z\"]", "\"last\":null"));  // bounded, no bound
  bad.push_back(replace("\"slot\":\"laredo_slot\",", ""));
  for (const auto& text : bad) {
    try {
      (void)ReloadCheckpoint::Decode(text);
      ADD_FAILURE() << "accepted: " << text;
    } catch (const DataError& e) {
      EXPECT_EQ(e.code(), codes::kBadReloadCheckpoint);
      EXPECT_EQ(std::string(e.what()).find("secret"), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace laredo::pg
