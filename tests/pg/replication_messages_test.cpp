#include "replication_messages.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <limits>

#include "fixture.hpp"
#include "message_builder.hpp"
#include "pgoutput_decoder.hpp"

namespace laredo::pg {
namespace {

using testing::MessageBuilder;

TEST(ReplicationMessagesTest, XLogDataCarriesAPgoutputMessage) {
  const auto recorded = testing::LoadFixture("pgoutput_v1.txt");
  MessageBuilder b;
  b.Char('w').U64(0x16B374D848).U64(0x16B374D900).U64(12345);
  for (const auto byte : recorded.at(0).bytes) b.U8(std::to_integer<std::uint8_t>(byte));

  const auto m = std::get<XLogData>(DecodeReplicationMessage(b.span()));
  EXPECT_EQ(m.wal_start, Lsn::Parse("16/B374D848"));
  EXPECT_EQ(m.wal_end, Lsn::Parse("16/B374D900"));
  EXPECT_EQ(m.send_time, 12345);
  ASSERT_EQ(m.payload.size(), recorded.at(0).bytes.size());
  EXPECT_EQ(m.payload.data(), b.span().data() + 25);  // a view, not a copy
  EXPECT_TRUE(std::holds_alternative<BeginMessage>(DecodePgoutputMessage(m.payload, false)));
}

TEST(ReplicationMessagesTest, XLogDataMayBeEmpty) {
  MessageBuilder b;
  b.Char('w').U64(1).U64(2).U64(3);
  EXPECT_TRUE(std::get<XLogData>(DecodeReplicationMessage(b.span())).payload.empty());
}

TEST(ReplicationMessagesTest, Keepalive) {
  MessageBuilder b;
  b.Char('k').U64(0x100000000).U64(777).U8(1);
  const auto m = std::get<PrimaryKeepalive>(DecodeReplicationMessage(b.span()));
  EXPECT_EQ(m.wal_end, Lsn::Parse("1/0"));
  EXPECT_EQ(m.send_time, 777);
  EXPECT_TRUE(m.reply_requested);

  MessageBuilder quiet;
  quiet.Char('k').U64(1).U64(2).U8(0);
  EXPECT_FALSE(std::get<PrimaryKeepalive>(DecodeReplicationMessage(quiet.span())).reply_requested);
}

TEST(ReplicationMessagesTest, MalformedFramingThrows) {
  const auto expect_error = [](const MessageBuilder& b, std::size_t offset) {
    try {
      (void)DecodeReplicationMessage(b.span());
      ADD_FAILURE() << "decoded";
    } catch (const ReplicationDecodeError& e) {
      EXPECT_EQ(e.code(), "replication_decode");
      EXPECT_EQ(e.offset(), offset) << e.what();
    }
  };
  expect_error(MessageBuilder{}, 0);
  MessageBuilder unknown;
  unknown.Char('r').U64(1);  // our own message type, never sent by the server
  expect_error(unknown, 0);
  MessageBuilder bad_flag;
  bad_flag.Char('k').U64(1).U64(2).U8(2);
  expect_error(bad_flag, 17);
  MessageBuilder trailing;
  trailing.Char('k').U64(1).U64(2).U8(0).U8(0);
  expect_error(trailing, 18);

  // Every truncation of a keepalive, and of an XLogData header.
  MessageBuilder keepalive;
  keepalive.Char('k').U64(1).U64(2).U8(1);
  MessageBuilder xlog;
  xlog.Char('w').U64(1).U64(2).U64(3);
  for (const auto* full : {&keepalive, &xlog}) {
    for (std::size_t n = 0; n < full->bytes().size(); ++n) {
      EXPECT_THROW((void)DecodeReplicationMessage(full->span().first(n)), ReplicationDecodeError)
          << n;
    }
  }
}

TEST(ReplicationMessagesTest, EncodesStandbyStatusUpdate) {
  const StandbyStatusUpdate update{.write = Lsn::Parse("16/B374D848"),
                                   .flush = Lsn::Parse("16/B374D800"),
                                   .apply = Lsn::Parse("1/2"),
                                   .client_time = 0x0102030405060708,
                                   .reply_requested = true};
  const auto bytes = EncodeStandbyStatusUpdate(update);
  MessageBuilder expected;
  expected.Char('r')
      .U64(0x16B374D848)
      .U64(0x16B374D800)
      .U64(0x100000002)
      .U64(0x0102030405060708)
      .U8(1);
  ASSERT_EQ(bytes.size(), expected.bytes().size());
  EXPECT_TRUE(std::equal(bytes.begin(), bytes.end(), expected.bytes().begin()));

  const auto quiet = EncodeStandbyStatusUpdate({});
  EXPECT_EQ(quiet[0], std::byte{'r'});
  EXPECT_EQ(quiet[33], std::byte{0});
}

TEST(ReplicationMessagesTest, PostgresEpochConversions) {
  using std::chrono::sys_days;
  const auto y2000 = sys_days{std::chrono::year{2000} / 1 / 1};
  EXPECT_EQ(FromPgEpochMicros(0), y2000);
  EXPECT_EQ(ToPgEpochMicros(y2000), 0);
  EXPECT_EQ(ToPgEpochMicros(std::chrono::system_clock::time_point{}), -kPgEpochOffsetMicros);
  const auto t = sys_days{std::chrono::year{2024} / 5 / 1} + std::chrono::microseconds(123456);
  EXPECT_EQ(FromPgEpochMicros(ToPgEpochMicros(t)), t);
  // Values no server sends saturate instead of overflowing.
  EXPECT_EQ(FromPgEpochMicros(std::numeric_limits<std::int64_t>::max()).time_since_epoch().count(),
            std::numeric_limits<std::int64_t>::max());
}

}  // namespace
}  // namespace laredo::pg
