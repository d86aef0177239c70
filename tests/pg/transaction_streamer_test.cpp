// TransactionStreamer + ChangeAssembler on hand-built protocol-version-2 bytes: interleaved
// streams, aborts, subtransaction aborts, relations inside streams, messages and spilling.
#include "transaction_streamer.hpp"

#include <gtest/gtest.h>

#include <string>

#include "laredo/error.hpp"
#include "message_builder.hpp"

namespace laredo::pg {
namespace {

using testing::MessageBuilder;

const TableIdentifier kT = Table("public", "t");

struct Recorder : ChangeHandler {
  void OnChange(ChangeEvent event) override { events.push_back(std::move(event)); }
  void OnSchemaChange(const TableIdentifier&, std::vector<ColumnDefinition>) override {
    ++schema_changes;
  }
  [[nodiscard]] StreamPosition Pos(std::size_t i) const {
    return std::any_cast<StreamPosition>(events.at(i).position);
  }
  [[nodiscard]] std::vector<std::string> Ids() const {
    std::vector<std::string> ids;
    for (const auto& e : events) ids.push_back(e.new_values.at("id").ToString());
    return ids;
  }
  std::vector<ChangeEvent> events;
  int schema_changes = 0;
};

std::map<TableIdentifier, std::vector<ColumnDefinition>> Known() {
  return {{kT,
           {{.name = "id",
             .type = "integer",
             .nullable = false,
             .ordinal_position = 1,
             .primary_key = true,
             .primary_key_ordinal = 1,
             .type_oid = 23},
            {.name = "v", .type = "text", .ordinal_position = 2, .type_oid = 25}}}};
}

// Data messages carry an xid inside a stream block only.
MessageBuilder& Xid(MessageBuilder& b, std::optional<std::uint32_t> xid) {
  if (xid) b.U32(*xid);
  return b;
}

MessageBuilder RelationBytes(std::optional<std::uint32_t> xid, bool extra = false) {
  MessageBuilder b;
  b.Char('R');
  Xid(b, xid).U32(1).CString("public").CString("t").Char('d').U16(extra ? 3 : 2);
  b.U8(1).CString("id").U32(23).I32(-1);
  b.U8(0).CString("v").U32(25).I32(-1);
  if (extra) b.U8(0).CString("w").U32(20).I32(-1);
  return b;
}

MessageBuilder InsertBytes(std::optional<std::uint32_t> xid, const std::string& id) {
  MessageBuilder b;
  b.Char('I');
  Xid(b, xid).U32(1).Char('N').U16(2).Column('t', id).Column('t', "v" + id);
  return b;
}

MessageBuilder MessageBytes(std::optional<std::uint32_t> xid, bool transactional, std::uint64_t lsn,
                            const std::string& content) {
  MessageBuilder b;
  b.Char('M');
  Xid(b, xid).U8(transactional ? 1 : 0).U64(lsn).CString("app");
  b.U32(static_cast<std::uint32_t>(content.size())).Raw(content);
  return b;
}

MessageBuilder Start(std::uint32_t xid, bool first) {
  MessageBuilder b;
  b.Char('S').U32(xid).U8(first ? 1 : 0);
  return b;
}
MessageBuilder Stop() {
  MessageBuilder b;
  b.Char('E');
  return b;
}
MessageBuilder StreamCommit(std::uint32_t xid, std::uint64_t commit, std::uint64_t end) {
  MessageBuilder b;
  b.Char('c').U32(xid).U8(0).U64(commit).U64(end).U64(0);
  return b;
}
MessageBuilder StreamAbort(std::uint32_t xid, std::uint32_t sub) {
  MessageBuilder b;
  b.Char('A').U32(xid).U32(sub);
  return b;
}
MessageBuilder Begin(std::uint64_t final_lsn, std::uint32_t xid) {
  MessageBuilder b;
  b.Char('B').U64(final_lsn).U64(0).U32(xid);
  return b;
}
MessageBuilder Commit(std::uint64_t commit, std::uint64_t end) {
  MessageBuilder b;
  b.Char('C').U8(0).U64(commit).U64(end).U64(0);
  return b;
}

const StreamPosition kStart{.commit_lsn = Lsn(100), .index = 0, .ack_lsn = Lsn(100)};

// The stream's path for every message: the decoder, the streamer, else the assembler.
struct Stream {
  explicit Stream(std::size_t memory_limit = 1 << 20, StreamPosition from = kStart)
      : buffers(memory_limit, "", counters), streamer(buffers), assembler(Known(), from) {
    assembler.SetMessageHandler(
        [this](const LogicalMessage& m) {
          messages.push_back(m);
          messages_after.push_back(recorder.events.size());
        },
        cursor);
  }
  Stream& operator<<(const MessageBuilder& b) {
    const auto decoded = decoder.Decode(b.span());
    if (!streamer.Handle(decoded, b.span(), assembler, recorder)) {
      assembler.Handle(decoded, recorder);
    }
    assembler.Flush(recorder);
    return *this;
  }
  StreamCounters counters;
  StreamBuffers buffers;
  TransactionStreamer streamer;
  ChangeAssembler assembler;
  PgoutputDecoder decoder;
  ChangeAssembler::MessageCursor cursor;
  Recorder recorder;
  std::vector<LogicalMessage> messages;
  std::vector<std::size_t> messages_after;  // how many changes were delivered before each
};

TEST(TransactionStreamerTest, AStreamedTransactionIsDispatchedAtItsCommitWithItsPositions) {
  Stream s;
  s << RelationBytes(std::nullopt);
  s << Start(50, true) << RelationBytes(50) << InsertBytes(50, "1") << InsertBytes(50, "2")
    << Stop();
  s << Start(50, false) << InsertBytes(50, "3") << Stop();
  EXPECT_TRUE(s.recorder.events.empty());  // nothing before the commit
  EXPECT_EQ(s.counters.buffered_bytes.load() > 0, true);
  s << StreamCommit(50, 500, 540);
  ASSERT_EQ(s.recorder.Ids(), (std::vector<std::string>{"1", "2", "3"}));
  EXPECT_EQ(s.recorder.Pos(0), (StreamPosition{Lsn(500), 1, Lsn(100)}));
  EXPECT_EQ(s.recorder.Pos(2), (StreamPosition{Lsn(500), 3, Lsn(540)}));
  EXPECT_TRUE(s.recorder.events[2].ends_transaction);
  EXPECT_EQ(s.recorder.events[0].transaction_id, std::optional<std::uint64_t>(50));
  EXPECT_EQ(s.counters.committed_transactions.load(), 1U);
  EXPECT_EQ(s.counters.buffered_bytes.load(), 0U);
  EXPECT_EQ(s.recorder.schema_changes, 0);
}

TEST(TransactionStreamerTest, InterleavedStreamsAndOrdinaryTransactionsGoOutInCommitOrder) {
  Stream s;
  s << RelationBytes(std::nullopt);
  s << Start(50, true) << RelationBytes(50) << InsertBytes(50, "11") << Stop();
  s << Start(60, true) << RelationBytes(60) << InsertBytes(60, "21") << Stop();
  s << Begin(300, 70) << InsertBytes(std::nullopt, "31") << Commit(300, 340);  // ordinary
  s << Start(50, false) << InsertBytes(50, "12") << Stop();
  s << Start(60, false) << InsertBytes(60, "22") << Stop();
  s << StreamCommit(60, 400, 440);
  s << StreamCommit(50, 500, 540);
  EXPECT_EQ(s.recorder.Ids(), (std::vector<std::string>{"31", "21", "22", "11", "12"}));
  EXPECT_EQ(s.recorder.Pos(0), (StreamPosition{Lsn(300), 1, Lsn(340)}));
  EXPECT_EQ(s.recorder.Pos(1), (StreamPosition{Lsn(400), 1, Lsn(340)}));  // the previous end
  EXPECT_EQ(s.recorder.Pos(2), (StreamPosition{Lsn(400), 2, Lsn(440)}));
  EXPECT_EQ(s.recorder.Pos(4), (StreamPosition{Lsn(500), 2, Lsn(540)}));
}

TEST(TransactionStreamerTest, StreamAbortDiscardsTheTransaction) {
  Stream s;
  s << RelationBytes(std::nullopt);
  s << Start(50, true) << RelationBytes(50) << InsertBytes(50, "1") << Stop();
  s << StreamAbort(50, 50);
  s << Begin(300, 70) << InsertBytes(std::nullopt, "2") << Commit(300, 340);
  EXPECT_EQ(s.recorder.Ids(), std::vector<std::string>{"2"});
  EXPECT_EQ(s.counters.aborted_transactions.load(), 1U);
  EXPECT_EQ(s.counters.buffered_bytes.load(), 0U);
}

TEST(TransactionStreamerTest, SubtransactionAbortDiscardsOnlyItsChanges) {
  Stream s;
  // The relation is first described inside subtransaction 51, which then rolls back: the
  // description stays (the server does not send it again for this transaction).
  s << Start(50, true) << RelationBytes(51) << InsertBytes(51, "1") << InsertBytes(50, "2")
    << Stop();
  s << StreamAbort(50, 51);
  s << Start(50, false) << InsertBytes(52, "3") << InsertBytes(50, "4") << Stop();
  s << StreamCommit(50, 500, 540);
  EXPECT_EQ(s.recorder.Ids(), (std::vector<std::string>{"2", "3", "4"}));
  // Indexes count what survived, as in the same transaction sent whole after a reconnect.
  EXPECT_EQ(s.recorder.Pos(2), (StreamPosition{Lsn(500), 3, Lsn(540)}));
  EXPECT_EQ(s.counters.aborted_subtransactions.load(), 1U);
}

TEST(TransactionStreamerTest, ASchemaChangeInsideAnAbortedStreamNeverReachesTheCache) {
  Stream s;
  s << RelationBytes(std::nullopt);
  s << Start(50, true) << RelationBytes(50, /*extra=*/true) << Stop();
  s << StreamAbort(50, 50);
  // An ordinary transaction relying on the cached (committed) description: two columns.
  s << Begin(300, 70) << InsertBytes(std::nullopt, "2") << Commit(300, 340);
  EXPECT_EQ(s.recorder.Ids(), std::vector<std::string>{"2"});
  EXPECT_EQ(s.recorder.schema_changes, 0);
}

TEST(TransactionStreamerTest, ASchemaChangeInsideACommittedStreamComesInItsPlace) {
  Stream s;
  s << RelationBytes(std::nullopt);
  s << Start(50, true) << InsertBytes(50, "1") << Stop();
  s << Begin(300, 70) << InsertBytes(std::nullopt, "2") << Commit(300, 340);
  EXPECT_EQ(s.recorder.schema_changes, 0);
  s << Start(50, false) << RelationBytes(50, /*extra=*/true) << Stop();
  EXPECT_EQ(s.recorder.schema_changes, 0);  // not before the commit
  s << StreamCommit(50, 500, 540);
  EXPECT_EQ(s.recorder.schema_changes, 1);
}

TEST(TransactionStreamerTest, ALaterSegmentWithoutItsFirstReconnects) {
  Stream s;
  try {
    s << Start(50, false);
    FAIL() << "no error";
  } catch (const RetryableError& e) {  // a new connection sends the whole transaction
    EXPECT_EQ(e.code(), "pg_protocol");
  }
}

TEST(TransactionStreamerTest, MessagesComeInStreamOrder) {
  Stream s;
  s << RelationBytes(std::nullopt);
  s << MessageBytes(std::nullopt, false, 150, "now");  // non-transactional: at once
  ASSERT_EQ(s.messages.size(), 1U);
  EXPECT_FALSE(s.messages[0].transactional);
  s << Start(50, true) << RelationBytes(50) << InsertBytes(50, "1")
    << MessageBytes(50, true, 210, "mid") << InsertBytes(50, "2")
    << MessageBytes(50, true, 230, "last") << Stop();
  s << Start(60, true) << MessageBytes(60, true, 220, "aborted") << Stop();
  EXPECT_EQ(s.messages.size(), 1U);  // transactional: not before the commit
  s << StreamAbort(60, 60);
  s << StreamCommit(50, 500, 540);
  ASSERT_EQ(s.messages.size(), 3U);
  EXPECT_EQ(s.messages[1].content, "mid");
  EXPECT_EQ(s.messages_after[1], 1U);  // after change 1, before change 2
  EXPECT_EQ(s.messages[2].content, "last");
  EXPECT_EQ(s.messages_after[2], 2U);
  EXPECT_TRUE(s.messages[2].transactional);
  EXPECT_EQ(s.messages[2].commit_lsn, Lsn(500));
  EXPECT_EQ(s.messages[2].transaction_id, 50U);
  EXPECT_EQ(s.messages[2].lsn, Lsn(230));
  EXPECT_EQ(s.messages[2].prefix, "app");
  EXPECT_TRUE(s.recorder.events[1].ends_transaction);  // the message did not end it early
  EXPECT_EQ(s.recorder.Pos(1).ack_lsn, Lsn(540));
}

TEST(TransactionStreamerTest, AReconnectRepeatsNoMessage) {
  const auto feed = [](Stream& s) {
    s << RelationBytes(std::nullopt);
    s << MessageBytes(std::nullopt, false, 150, "n");
    s << Begin(300, 70) << MessageBytes(std::nullopt, true, 250, "t1")
      << InsertBytes(std::nullopt, "1") << Commit(300, 340);
    s << Begin(400, 71) << InsertBytes(std::nullopt, "2")
      << MessageBytes(std::nullopt, true, 350, "t2") << Commit(400, 440);
  };
  Stream s;
  feed(s);
  ASSERT_EQ(s.messages.size(), 3U);
  // The next connection starts from the last delivered change and sends everything again.
  Stream again(1 << 20, s.assembler.last_delivered());
  again.cursor = s.cursor;
  feed(again);
  EXPECT_TRUE(again.messages.empty());
  EXPECT_TRUE(again.recorder.events.empty());
  // Or from an older position (the engine's ACK): the changes come again, the messages do not.
  Stream older(1 << 20, kStart);
  older.cursor = s.cursor;
  feed(older);
  EXPECT_TRUE(older.messages.empty());
  EXPECT_EQ(older.recorder.events.size(), 2U);
}

TEST(TransactionStreamerTest, AMessageWhoseHandlerThrewComesAgain) {
  Stream s;
  bool fail = true;
  s.assembler.SetMessageHandler(
      [&](const LogicalMessage& m) {
        if (fail) throw std::runtime_error("handler failed");
        s.messages.push_back(m);
      },
      s.cursor);
  s << RelationBytes(std::nullopt);
  s << Begin(300, 70) << InsertBytes(std::nullopt, "1");
  EXPECT_THROW(s << MessageBytes(std::nullopt, true, 250, "t") << Commit(300, 340),
               std::runtime_error);
  Stream again(1 << 20, s.assembler.last_delivered());
  again.cursor = s.cursor;
  again << RelationBytes(std::nullopt);
  again << Begin(300, 70) << InsertBytes(std::nullopt, "1")
        << MessageBytes(std::nullopt, true, 250, "t") << Commit(300, 340);
  ASSERT_EQ(again.messages.size(), 1U);
  EXPECT_EQ(again.messages[0].content, "t");
}

TEST(TransactionStreamerTest, ASpilledStreamIsDeliveredWhole) {
  Stream s(/*memory_limit=*/8192);
  s << RelationBytes(std::nullopt);
  s << Start(50, true) << RelationBytes(50);
  for (int i = 0; i < 2000; ++i) s << InsertBytes(i % 3 == 0 ? 51 : 50, std::to_string(i));
  s << Stop() << StreamAbort(50, 51) << StreamCommit(50, 500, 540);
  EXPECT_EQ(s.counters.spilled_transactions.load(), 1U);
  EXPECT_LE(s.counters.peak_buffered_bytes.load(), 8192U);
  std::vector<std::string> expected;
  for (int i = 0; i < 2000; ++i) {
    if (i % 3 != 0) expected.push_back(std::to_string(i));
  }
  EXPECT_EQ(s.recorder.Ids(), expected);
  EXPECT_EQ(s.recorder.Pos(expected.size() - 1),
            (StreamPosition{Lsn(500), static_cast<std::uint32_t>(expected.size()), Lsn(540)}));
}

}  // namespace
}  // namespace laredo::pg
