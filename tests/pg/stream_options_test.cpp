// What START_REPLICATION asks for, by server version.
#include <gtest/gtest.h>

#include "replication_connection.hpp"

namespace laredo::pg {
namespace {

TEST(StreamOptionsTest, ServersOlderThan14GetProtocolOneWithoutMessages) {
  const auto old = ReplicationConnection::StreamOptionsFor(130012, true, true);
  EXPECT_FALSE(old.streaming);
  EXPECT_FALSE(old.messages);
  const auto v14 = ReplicationConnection::StreamOptionsFor(140000, true, true);
  EXPECT_TRUE(v14.streaming);
  EXPECT_TRUE(v14.messages);
}

TEST(StreamOptionsTest, EachIsAskedForOnlyWhenWanted) {
  const auto none = ReplicationConnection::StreamOptionsFor(150004, false, false);
  EXPECT_FALSE(none.streaming);
  EXPECT_FALSE(none.messages);
  const auto messages_only = ReplicationConnection::StreamOptionsFor(150004, false, true);
  EXPECT_FALSE(messages_only.streaming);
  EXPECT_TRUE(messages_only.messages);
}

TEST(StreamOptionsTest, BinaryNeedsPostgres14AndIsOnlyAskedForWhenWanted) {
  EXPECT_FALSE(ReplicationConnection::StreamOptionsFor(130012, true, false, true).binary);
  EXPECT_TRUE(ReplicationConnection::StreamOptionsFor(140000, true, false, true).binary);
  EXPECT_FALSE(ReplicationConnection::StreamOptionsFor(150004, true, true, false).binary);
}

}  // namespace
}  // namespace laredo::pg
