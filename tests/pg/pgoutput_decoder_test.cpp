// Hand-built pgoutput messages: shapes the recordings cannot produce (stream aborts, binary
// columns next to text ones) and every kind of malformed input.
#include "pgoutput_decoder.hpp"

#include <gtest/gtest.h>

#include <string>

#include "message_builder.hpp"

namespace laredo::pg {
namespace {

using testing::MessageBuilder;

template <class T>
T DecodeAs(const MessageBuilder& b, bool in_stream_block = false) {
  auto message = DecodePgoutputMessage(b.span(), in_stream_block);
  EXPECT_TRUE(std::holds_alternative<T>(message)) << "got " << MessageName(message);
  return std::get<T>(std::move(message));
}

// Expects a PgoutputDecodeError at `offset` whose expectation mentions `expected`.
void ExpectDecodeError(const MessageBuilder& b, std::size_t offset, std::string_view expected,
                       bool in_stream_block = false) {
  try {
    (void)DecodePgoutputMessage(b.span(), in_stream_block);
    ADD_FAILURE() << "decoded without error";
  } catch (const PgoutputDecodeError& e) {
    EXPECT_EQ(e.code(), "pgoutput_decode");
    EXPECT_EQ(e.offset(), offset) << e.what();
    EXPECT_NE(e.expected().find(expected), std::string::npos) << e.what();
  }
}

TEST(PgoutputDecoderTest, Begin) {
  MessageBuilder b;
  b.Char('B').U64(0x16B374D848).U64(757382400000000).U32(4242);
  const auto m = DecodeAs<BeginMessage>(b);
  EXPECT_EQ(m.final_lsn, Lsn(0x16B374D848));
  EXPECT_EQ(m.commit_time, 757382400000000);
  EXPECT_EQ(m.xid, 4242U);
}

TEST(PgoutputDecoderTest, Commit) {
  MessageBuilder b;
  b.Char('C').U8(0).U64(100).U64(200).U64(300);
  const auto m = DecodeAs<CommitMessage>(b);
  EXPECT_EQ(m.flags, 0);
  EXPECT_EQ(m.commit_lsn, Lsn(100));
  EXPECT_EQ(m.end_lsn, Lsn(200));
  EXPECT_EQ(m.commit_time, 300);
}

TEST(PgoutputDecoderTest, StreamControlMessages) {
  MessageBuilder start;
  start.Char('S').U32(77).U8(1);
  const auto s = DecodeAs<StreamStartMessage>(start);
  EXPECT_EQ(s.xid, 77U);
  EXPECT_TRUE(s.first_segment);

  MessageBuilder stop;
  stop.Char('E');
  (void)DecodeAs<StreamStopMessage>(stop, /*in_stream_block=*/true);

  MessageBuilder commit;
  commit.Char('c').U32(77).U8(0).U64(10).U64(20).U64(30);
  const auto c = DecodeAs<StreamCommitMessage>(commit);
  EXPECT_EQ(c.xid, 77U);
  EXPECT_EQ(c.commit_lsn, Lsn(10));
  EXPECT_EQ(c.end_lsn, Lsn(20));
  EXPECT_EQ(c.commit_time, 30);

  MessageBuilder abort;
  abort.Char('A').U32(77).U32(78);
  const auto a = DecodeAs<StreamAbortMessage>(abort);
  EXPECT_EQ(a.xid, 77U);
  EXPECT_EQ(a.subxid, 78U);
}

// The streaming messages built by hand (Stream Abort is not in the recordings): every cut throws
// the decoder's error, naming a field of the message, and so does one byte too many.
TEST(PgoutputDecoderTest, EveryTruncationOfAStreamingMessageThrows) {
  std::vector<std::pair<MessageBuilder, bool>> messages;  // bytes, inside a stream block
  messages.emplace_back(MessageBuilder().Char('S').U32(77).U8(1), false);
  messages.emplace_back(MessageBuilder().Char('c').U32(77).U8(0).U64(10).U64(20).U64(30), false);
  messages.emplace_back(MessageBuilder().Char('A').U32(77).U32(78), false);
  messages.emplace_back(
      MessageBuilder().Char('I').U32(78).U32(5).Char('N').U16(1).Column('t', "42"), true);
  messages.emplace_back(
      MessageBuilder().Char('M').U32(78).U8(1).U64(99).CString("p").U32(2).Raw("hi"), true);
  messages.emplace_back(MessageBuilder().Char('T').U32(78).U32(1).U8(0).U32(5), true);
  for (const auto& [b, in_block] : messages) {
    const auto bytes = b.span();
    (void)DecodePgoutputMessage(bytes, in_block);  // whole: decodes
    for (std::size_t n = 0; n < bytes.size(); ++n) {
      try {
        (void)DecodePgoutputMessage(bytes.first(n), in_block);
        ADD_FAILURE() << "message '" << static_cast<char>(bytes[0]) << "' cut to " << n
                      << " bytes decoded";
      } catch (const PgoutputDecodeError& e) {
        EXPECT_LE(e.offset(), n);
        EXPECT_FALSE(e.expected().empty());
      }
    }
    MessageBuilder longer = b;
    longer.U8(0);
    EXPECT_THROW((void)DecodePgoutputMessage(longer.span(), in_block), PgoutputDecodeError);
  }
  // A Stream Abort cut inside its subtransaction id says so.
  ExpectDecodeError(MessageBuilder().Char('A').U32(77).U8(0), 5, "subtransaction id");
}

TEST(PgoutputDecoderTest, StreamedMessagesCarryTheirXid) {
  MessageBuilder b;
  b.Char('I').U32(77).U32(16384).Char('N').U16(2).Column('t', "1").Column('b',
                                                                          std::string("\0\1", 2));
  const auto m = DecodeAs<InsertMessage>(b, /*in_stream_block=*/true);
  ASSERT_TRUE(m.xid.has_value());
  EXPECT_EQ(*m.xid, 77U);
  EXPECT_EQ(m.relation_id, 16384U);
  ASSERT_EQ(m.new_tuple.size(), 2U);
  EXPECT_EQ(m.new_tuple[0].kind, TupleColumn::Kind::Text);
  EXPECT_EQ(m.new_tuple[0].data, "1");
  EXPECT_EQ(m.new_tuple[1].kind, TupleColumn::Kind::Binary);
  EXPECT_EQ(m.new_tuple[1].data, std::string("\0\1", 2));
  // The same bytes outside a stream block read the xid as the relation id and then fail.
  ExpectDecodeError(b, 5, "'N'");
}

TEST(PgoutputDecoderTest, StreamedTruncateRelationTypeAndMessage) {
  MessageBuilder t;
  t.Char('T').U32(9).U32(2).U8(2).U32(1).U32(2);
  const auto truncate = DecodeAs<TruncateMessage>(t, true);
  EXPECT_EQ(truncate.xid, 9U);
  EXPECT_FALSE(truncate.cascade);
  EXPECT_TRUE(truncate.restart_identity);
  EXPECT_EQ(truncate.relation_ids, (std::vector<std::uint32_t>{1, 2}));

  MessageBuilder r;
  r.Char('R').U32(9).U32(5).CString("s").CString("t").Char('i').U16(1);
  r.U8(1).CString("k").U32(23).I32(-1);
  const auto relation = DecodeAs<RelationMessage>(r, true);
  EXPECT_EQ(relation.xid, 9U);
  EXPECT_EQ(relation.replica_identity, 'i');
  ASSERT_EQ(relation.columns.size(), 1U);
  EXPECT_TRUE(relation.columns[0].key);

  MessageBuilder y;
  y.Char('Y').U32(9).U32(600).CString("public").CString("mood");
  const auto type = DecodeAs<TypeMessage>(y, true);
  EXPECT_EQ(type.xid, 9U);
  EXPECT_EQ(type.type_oid, 600U);
  EXPECT_EQ(type.type_name, "mood");

  MessageBuilder msg;
  msg.Char('M').U32(9).U8(1).U64(55).CString("p").U32(0);
  const auto logical = DecodeAs<LogicalDecodingMessage>(msg, true);
  EXPECT_EQ(logical.xid, 9U);
  EXPECT_TRUE(logical.transactional);
  EXPECT_EQ(logical.lsn, Lsn(55));
  EXPECT_EQ(logical.prefix, "p");
  EXPECT_TRUE(logical.content.empty());
}

TEST(PgoutputDecoderTest, UpdateAndDeleteOldTupleShapes) {
  MessageBuilder plain;
  plain.Char('U').U32(1).Char('N').U16(1).Char('u');
  const auto u0 = DecodeAs<UpdateMessage>(plain);
  EXPECT_EQ(u0.old_kind, OldTuple::None);
  EXPECT_TRUE(u0.old_tuple.empty());
  ASSERT_EQ(u0.new_tuple.size(), 1U);
  EXPECT_EQ(u0.new_tuple[0].kind, TupleColumn::Kind::UnchangedToast);

  MessageBuilder full;
  full.Char('U').U32(1).Char('O').U16(1).Char('n').Char('N').U16(1).Column('t', "x");
  const auto u1 = DecodeAs<UpdateMessage>(full);
  EXPECT_EQ(u1.old_kind, OldTuple::Full);
  ASSERT_EQ(u1.old_tuple.size(), 1U);
  EXPECT_EQ(u1.old_tuple[0].kind, TupleColumn::Kind::Null);

  MessageBuilder del;
  del.Char('D').U32(1).Char('K').U16(0);
  const auto d = DecodeAs<DeleteMessage>(del);
  EXPECT_EQ(d.old_kind, OldTuple::Key);
  EXPECT_TRUE(d.old_tuple.empty());
}

TEST(PgoutputDecoderTest, RejectsEmptyAndUnknownMessages) {
  ExpectDecodeError(MessageBuilder{}, 0, "message type");
  MessageBuilder z;
  z.Char('Z').U64(0);
  ExpectDecodeError(z, 0, "known message type");
  // 'k' and 'w' are replication framing, not pgoutput: an error, not a skip.
  MessageBuilder w;
  w.Char('w');
  ExpectDecodeError(w, 0, "known message type");
}

TEST(PgoutputDecoderTest, RejectsUnknownTupleKind) {
  MessageBuilder b;
  b.Char('I').U32(1).Char('N').U16(2).Char('n').Char('x');
  ExpectDecodeError(b, 9, "column kind");
}

TEST(PgoutputDecoderTest, RejectsBadTupleMarkers) {
  MessageBuilder insert;
  insert.Char('I').U32(1).Char('K').U16(0);
  ExpectDecodeError(insert, 5, "'N'");
  MessageBuilder update;
  update.Char('U').U32(1).Char('X').U16(0);
  ExpectDecodeError(update, 5, "'K', 'O' or 'N'");
  MessageBuilder update_old_then_bad;
  update_old_then_bad.Char('U').U32(1).Char('K').U16(0).Char('K').U16(0);
  ExpectDecodeError(update_old_then_bad, 8, "'N'");
  MessageBuilder del;
  del.Char('D').U32(1).Char('N').U16(0);
  ExpectDecodeError(del, 5, "'K' or 'O'");
}

TEST(PgoutputDecoderTest, RejectsLengthsPastTheEnd) {
  MessageBuilder column;
  column.Char('I').U32(1).Char('N').U16(1).Char('t').U32(1000).Raw("abc");
  ExpectDecodeError(column, 13, "column value of 1000 bytes (3 left)");
  MessageBuilder content;
  content.Char('M').U8(0).U64(1).CString("p").U32(10).Raw("short");
  ExpectDecodeError(content, 16, "message content of 10 bytes");
  MessageBuilder columns;
  columns.Char('I').U32(1).Char('N').U16(3).Char('n');
  ExpectDecodeError(columns, 9, "column kind");
  MessageBuilder unterminated;
  unterminated.Char('O').U64(1).Raw("no terminator");
  ExpectDecodeError(unterminated, 9, "NUL-terminated origin name");
}

TEST(PgoutputDecoderTest, RejectsNegativeLengths) {
  MessageBuilder column;
  column.Char('I').U32(1).Char('N').U16(1).Char('t').I32(-1);
  ExpectDecodeError(column, 9, "non-negative Int32 column value length (got -1)");
  MessageBuilder content;
  content.Char('M').U8(0).U64(1).CString("p").I32(-5);
  ExpectDecodeError(content, 12, "non-negative Int32 content length (got -5)");
  MessageBuilder relations;
  relations.Char('T').I32(-1).U8(0);
  ExpectDecodeError(relations, 1, "non-negative Int32 number of relations");
  MessageBuilder columns;
  columns.Char('I').U32(1).Char('N').U16(0x8000);
  ExpectDecodeError(columns, 6, "non-negative Int16 number of columns");
  MessageBuilder relation_columns;
  relation_columns.Char('R').U32(1).CString("s").CString("t").Char('d').U16(0xFFFF);
  ExpectDecodeError(relation_columns, 10, "non-negative Int16 number of columns");
}

TEST(PgoutputDecoderTest, HugeCountsFailWithoutHugeAllocations) {
  MessageBuilder truncate;
  truncate.Char('T').I32(0x7FFFFFFF).U8(0).U32(1);
  ExpectDecodeError(truncate, 6, "2147483647 Int32 relation ids");
  MessageBuilder relation;
  relation.Char('R').U32(1).CString("s").CString("t").Char('d').U16(0x7FFF);
  ExpectDecodeError(relation, 12, "Int8 column flags");
}

TEST(PgoutputDecoderTest, RejectsTrailingBytes) {
  MessageBuilder b;
  b.Char('E').U8(0);
  ExpectDecodeError(b, 1, "end of message (1 bytes left)", true);
  MessageBuilder commit;
  commit.Char('C').U8(0).U64(1).U64(2).U64(3).Raw("junk");
  ExpectDecodeError(commit, 26, "end of message");
}

TEST(PgoutputDecoderTest, ErrorMessageNamesMessageAndOffset) {
  MessageBuilder b;
  b.Char('B').U64(1);
  try {
    (void)DecodePgoutputMessage(b.span(), false);
    FAIL();
  } catch (const DataError& e) {  // catchable as the library's data error
    EXPECT_EQ(std::string(e.what()),
              "pgoutput Begin: at byte 9 of 9: expected Int64 commit timestamp (8 bytes, 0 left)");
  }
}

TEST(PgoutputDecoderTest, DecoderTracksStreamBlocks) {
  PgoutputDecoder decoder;
  MessageBuilder start;
  start.Char('S').U32(5).U8(1);
  MessageBuilder insert;
  insert.Char('I').U32(5).U32(1).Char('N').U16(0);
  MessageBuilder stop;
  stop.Char('E');
  MessageBuilder commit;
  commit.Char('c').U32(5).U8(0).U64(1).U64(2).U64(3);

  EXPECT_FALSE(decoder.in_stream_block());
  (void)decoder.Decode(start.span());
  EXPECT_TRUE(decoder.in_stream_block());
  const auto m = std::get<InsertMessage>(decoder.Decode(insert.span()));
  EXPECT_EQ(m.xid, 5U);
  EXPECT_THROW((void)decoder.Decode(start.span()), PgoutputDecodeError);   // nested
  EXPECT_THROW((void)decoder.Decode(commit.span()), PgoutputDecodeError);  // commit inside
  (void)decoder.Decode(stop.span());
  EXPECT_FALSE(decoder.in_stream_block());
  EXPECT_THROW((void)decoder.Decode(stop.span()), PgoutputDecodeError);  // stop outside
  (void)std::get<StreamCommitMessage>(decoder.Decode(commit.span()));

  MessageBuilder begin;
  begin.Char('B').U64(1).U64(2).U32(3);
  (void)decoder.Decode(start.span());
  EXPECT_THROW((void)decoder.Decode(begin.span()), PgoutputDecodeError);
}

TEST(PgoutputDecoderTest, MessageNames) {
  EXPECT_EQ(MessageName(BeginMessage{}), "Begin");
  EXPECT_EQ(MessageName(LogicalDecodingMessage{}), "Message");
  EXPECT_EQ(MessageName(StreamAbortMessage{}), "Stream Abort");
}

}  // namespace
}  // namespace laredo::pg
