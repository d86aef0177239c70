// Streamed in-progress transactions (pgoutput protocol version 2) and logical decoding messages
// against a real server. The walsender runs with logical_decoding_work_mem = 64kB (a session
// setting in the conninfo), so every transaction here of more than a few hundred rows streams.
#include <fmt/format.h>

#include <chrono>
#include <iostream>
#include <mutex>

#include "pg_harness.hpp"

namespace laredo::pg::testing {
namespace {

using laredo::testing::RecordingTarget;

struct SlotStats {
  std::int64_t spill_bytes = -1;
  std::int64_t stream_bytes = -1;
  std::int64_t stream_txns = -1;
};

// Each test in a database of its own: a walsender decodes every transaction of its database,
// and when another test's transaction cannot be streamed at the moment the memory limit is hit
// (a TOASTed value half decoded), the server spills instead, which would make spill_bytes
// depend on what else runs.
class PgStreamTest : public PgOwnDatabaseTest {
 public:  // used by shared test bodies
  SourceOptions StreamingOptions(std::size_t memory = std::size_t{64} << 20) {
    auto o = Options(SlotMode::Stateful);
    o.conninfo = ConninfoWithSetting("logical_decoding_work_mem=64kB");
    o.stream_memory_bytes = memory;
    return o;
  }
  SlotStats Stats() {
    const auto rows = Query(
        "SELECT spill_bytes, stream_bytes, stream_txns FROM pg_stat_replication_slots "
        "WHERE slot_name = '" +
        name_ + "'");
    if (rows.empty()) return {};
    return {std::stoll(rows[0][0].value_or("-1")), std::stoll(rows[0][1].value_or("-1")),
            std::stoll(rows[0][2].value_or("-1"))};
  }
  /// Waits until the target holds `count` rows, then compares it with SELECT * once.
  bool Exact(const memory::IndexedTarget& target, const std::string& table, std::size_t count,
             std::chrono::milliseconds timeout = 120s) {
    if (!Eventually([&] { return target.Count() >= count; }, timeout)) {
      ADD_FAILURE() << "target holds " << target.Count() << " rows, expected " << count;
      return false;
    }
    return Index(target.All()) == ReadTable(table);
  }
  PgConnection Session() {
    return PgConnection::Connect(conninfo_, ConnectionKind::Normal, "laredo test writer");
  }
  void Create(const std::string& table) {
    Exec("CREATE TABLE " + Q(table) + " (id int PRIMARY KEY, v text)");
  }
  std::string InsertRange(const std::string& table, int from, int to) {
    return fmt::format("INSERT INTO {} SELECT i, 'row ' || i FROM generate_series({}, {}) AS i",
                       Q(table), from, to);
  }
};

// One streamed transaction of `rows` rows through a source with `memory` bytes of buffer.
void LargeTransaction(PgStreamTest& t, int rows, std::size_t memory) {
  t.Create("t");
  Harness h(t.StreamingOptions(memory));
  auto target = std::make_shared<memory::IndexedTarget>();
  h.engine.AddPipeline("pg", t.T("t"), target);
  h.engine.Start();
  ASSERT_TRUE(h.engine.AwaitReady(30s));
  const auto begin = std::chrono::steady_clock::now();
  t.Exec(t.InsertRange("t", 1, rows));
  const auto committed = std::chrono::steady_clock::now();
  ASSERT_TRUE(t.Exact(*target, "t", static_cast<std::size_t>(rows), 600s));
  const auto applied = std::chrono::steady_clock::now();
  const auto stats = h.source->StreamBufferStatistics();
  SlotStats slot;
  ASSERT_TRUE(Eventually(
      [&] {
        slot = t.Stats();
        return slot.stream_bytes > 0;
      },
      30s));
  const auto ms = [](auto d) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
  };
  std::cout << fmt::format(
      "{} rows: insert {} ms, then applied after {} ms; server stream_bytes {} stream_txns {} "
      "spill_bytes {}; source peak buffered {} bytes (bound {}), spilled {} bytes in {} "
      "transaction(s)\n",
      rows, ms(committed - begin), ms(applied - committed), slot.stream_bytes, slot.stream_txns,
      slot.spill_bytes, stats.peak_buffered_bytes, memory, stats.spilled_bytes,
      stats.spilled_transactions);
  EXPECT_EQ(slot.spill_bytes, 0);  // the server streamed instead of spilling
  EXPECT_GT(slot.stream_txns, 0);
  EXPECT_LE(stats.peak_buffered_bytes, memory);
  EXPECT_GE(stats.spilled_transactions, 1U);  // the transaction is larger than the bound
  EXPECT_GT(stats.spilled_bytes, static_cast<std::uint64_t>(rows) * 20);
  EXPECT_EQ(stats.committed_transactions, 1U);
  EXPECT_EQ(stats.buffered_bytes, 0U);
  h.engine.Stop();
}

TEST_F(PgStreamTest, ALargeTransactionIsStreamedAndSpilledByTheSourceNotTheServer) {
  LargeTransaction(*this, 200'000, std::size_t{4} << 20);
}

// 2M rows: minutes on a small machine, so opt-in (LAREDO_PG_STREAM_2M=1).
TEST_F(PgStreamTest, TwoMillionRowTransaction) {
  const char* env = std::getenv("LAREDO_PG_STREAM_2M");
  if (env == nullptr || std::string(env) != "1") GTEST_SKIP() << "set LAREDO_PG_STREAM_2M=1";
  LargeTransaction(*this, 2'000'000, std::size_t{64} << 20);
}

TEST_F(PgStreamTest, InterleavedStreamedTransactionsApplyInCommitOrder) {
  Create("t");
  Exec("INSERT INTO " + Q("t") + " VALUES (0, 'base')");
  Harness h(StreamingOptions());
  auto target = std::make_shared<memory::IndexedTarget>();
  h.engine.AddPipeline("pg", T("t"), target);
  h.engine.Start();
  ASSERT_TRUE(h.engine.AwaitReady(30s));
  auto a = Session();
  auto b = Session();
  a.Exec("BEGIN", "begin a");
  b.Exec("BEGIN", "begin b");
  a.Exec(InsertRange("t", 1, 20000), "a 1");
  b.Exec(InsertRange("t", 100001, 120000), "b 1");
  Exec("UPDATE " + Q("t") + " SET v = 'small' WHERE id = 0");  // an ordinary one in between
  a.Exec(InsertRange("t", 20001, 40000), "a 2");
  // b overwrites row 0 after the small transaction: commit order decides what the replica holds.
  b.Exec("UPDATE " + Q("t") + " SET v = 'from b' WHERE id = 0", "b 2");
  b.Exec(InsertRange("t", 120001, 130000), "b 3");
  b.Exec("COMMIT", "commit b");
  a.Exec("UPDATE " + Q("t") + " SET v = 'from a' WHERE id BETWEEN 100001 AND 100010", "a 3");
  a.Exec("COMMIT", "commit a");
  ASSERT_TRUE(Exact(*target, "t", 1 + 40000 + 30000));
  EXPECT_EQ(target->Get({Value(0)})->at("v"), Value("from b"));
  EXPECT_EQ(target->Get({Value(100005)})->at("v"), Value("from a"));
  const auto stats = h.source->StreamBufferStatistics();
  EXPECT_EQ(stats.committed_transactions, 2U);
  EXPECT_TRUE(Eventually([&] { return Stats().stream_txns >= 2; }, 30s));
  EXPECT_EQ(Stats().spill_bytes, 0);
  h.engine.Stop();
}

TEST_F(PgStreamTest, ARolledBackStreamedTransactionAppliesNothing) {
  Create("t");
  Harness h(StreamingOptions());
  auto target = std::make_shared<memory::IndexedTarget>();
  h.engine.AddPipeline("pg", T("t"), target);
  h.engine.Start();
  ASSERT_TRUE(h.engine.AwaitReady(30s));
  auto a = Session();
  a.Exec("BEGIN", "begin");
  a.Exec(InsertRange("t", 1, 50000), "insert");
  // Streamed to the source before the rollback.
  ASSERT_TRUE(Eventually(
      [&] {
        const auto s = h.source->StreamBufferStatistics();
        return s.buffered_bytes + s.spilled_bytes > 0;
      },
      60s));
  a.Exec("ROLLBACK", "rollback");
  Exec("INSERT INTO " + Q("t") + " VALUES (-1, 'marker')");
  ASSERT_TRUE(Exact(*target, "t", 1));
  EXPECT_EQ(target->Count(), 1U);
  const auto stats = h.source->StreamBufferStatistics();
  EXPECT_EQ(stats.aborted_transactions, 1U);
  EXPECT_EQ(stats.committed_transactions, 0U);
  EXPECT_EQ(stats.buffered_bytes, 0U);
  h.engine.Stop();
}

TEST_F(PgStreamTest, RollbackToSavepointInsideAStreamedTransaction) {
  Create("t");
  Harness h(StreamingOptions());
  auto target = std::make_shared<memory::IndexedTarget>();
  h.engine.AddPipeline("pg", T("t"), target);
  h.engine.Start();
  ASSERT_TRUE(h.engine.AwaitReady(30s));
  auto a = Session();
  a.Exec("BEGIN", "begin");
  a.Exec(InsertRange("t", 1, 20000), "before");
  a.Exec("SAVEPOINT s1", "savepoint");
  a.Exec(InsertRange("t", 20001, 40000), "in s1");
  a.Exec("UPDATE " + Q("t") + " SET v = 'undone' WHERE id <= 100", "update in s1");
  ASSERT_TRUE(Eventually(
      [&] {
        const auto s = h.source->StreamBufferStatistics();
        return s.buffered_bytes + s.spilled_bytes > 0;
      },
      60s));
  a.Exec("ROLLBACK TO SAVEPOINT s1", "rollback to");
  a.Exec("SAVEPOINT s2", "savepoint 2");
  a.Exec(InsertRange("t", 40001, 45000), "in s2");
  a.Exec("RELEASE SAVEPOINT s2", "release");
  a.Exec("UPDATE " + Q("t") + " SET v = 'kept' WHERE id <= 10", "update");
  a.Exec("COMMIT", "commit");
  ASSERT_TRUE(Exact(*target, "t", 25000));
  EXPECT_EQ(target->Count(), 25000U);
  EXPECT_EQ(target->Get({Value(5)})->at("v"), Value("kept"));
  EXPECT_EQ(target->Get({Value(50)})->at("v"), Value("row 50"));
  EXPECT_FALSE(target->Get({Value(30000)}).has_value());
  EXPECT_GE(h.source->StreamBufferStatistics().aborted_subtransactions, 1U);
  h.engine.Stop();
}

TEST_F(PgStreamTest, AWalsenderKilledMidStreamLosesAndRepeatsNothing) {
  Create("t");
  Harness h(StreamingOptions(std::size_t{1} << 20));
  auto target = std::make_shared<memory::IndexedTarget>();
  auto recorder = std::make_shared<RecordingTarget>();
  h.engine.AddPipeline("pg", T("t"), target);
  h.engine.AddPipeline("pg", T("t"), recorder);
  h.engine.Start();
  ASSERT_TRUE(h.engine.AwaitReady(30s));
  Exec(InsertRange("t", 1, 10));  // acknowledged before the big one starts
  ASSERT_TRUE(Exact(*target, "t", 10));
  auto a = Session();
  a.Exec("BEGIN", "begin");
  a.Exec(InsertRange("t", 1000, 60999), "first half");
  ASSERT_TRUE(Eventually(
      [&] {
        const auto s = h.source->StreamBufferStatistics();
        return s.buffered_bytes + s.spilled_bytes > 0;
      },
      60s));
  const auto walsender = AwaitWalsenderPid();
  // Committed while the big one is open: may be acknowledged (the server streams the open one
  // again, whole, after the reconnect).
  const Lsn before_small = CurrentLsn();
  Exec(InsertRange("t", 11, 20));
  ASSERT_TRUE(Exact(*target, "t", 20));
  // The open streamed transaction does not hold the acknowledgement back.
  ASSERT_TRUE(Eventually([&] { return ConfirmedFlush().value_or(Lsn()) > before_small; }, 30s));
  ASSERT_TRUE(KillWalsender());
  a.Exec(InsertRange("t", 61000, 100999), "second half");
  a.Exec("UPDATE " + Q("t") + " SET v = 'updated' WHERE id % 1000 = 0", "update");
  a.Exec("COMMIT", "commit");
  ASSERT_TRUE(Exact(*target, "t", 20 + 100000));
  EXPECT_NE(AwaitWalsenderPid(), walsender);  // it reconnected
  EXPECT_TRUE(h.observer->Rebaselines().empty());
  // Each row was inserted once: a duplicate delivery would add to the count.
  EXPECT_TRUE(Eventually([&] { return recorder->CountOf("insert") >= 20 + 100000; }, 30s));
  EXPECT_EQ(recorder->CountOf("insert"), 20U + 100000U);
  EXPECT_EQ(recorder->CountOf("update"), 100U);
  h.engine.Stop();
}

TEST_F(PgStreamTest, AConsumerRestartedMidStreamGetsTheOpenTransactionWhole) {
  Create("t");
  Exec(InsertRange("t", 1, 10));
  auto a = Session();
  {
    Harness h(StreamingOptions(std::size_t{1} << 20));
    auto target = std::make_shared<RecordingTarget>();
    target->SetKeepsState(true);
    h.engine.AddPipeline("pg", T("t"), target);
    h.engine.Start();
    ASSERT_TRUE(h.engine.AwaitReady(30s));
    Exec(InsertRange("t", 11, 20));
    ASSERT_TRUE(Eventually([&] { return target->CountOf("insert") == 10; }, 30s));
    a.Exec("BEGIN", "begin");
    a.Exec(InsertRange("t", 1000, 60999), "first part");
    ASSERT_TRUE(Eventually(
        [&] {
          const auto s = h.source->StreamBufferStatistics();
          return s.buffered_bytes + s.spilled_bytes > 0;
        },
        60s));
    h.engine.Stop();  // with part of the open transaction buffered
  }
  a.Exec(InsertRange("t", 61000, 70999), "second part");
  a.Exec("COMMIT", "commit");
  Exec("INSERT INTO " + Q("t") + " VALUES (-1, 'last')");
  Harness h(StreamingOptions(std::size_t{1} << 20));
  auto target = std::make_shared<RecordingTarget>();
  target->SetKeepsState(true);
  h.engine.AddPipeline("pg", T("t"), target);
  h.engine.Start();
  ASSERT_TRUE(h.engine.AwaitReady(30s));
  // The marker commits last: once it is here, everything before it is too.
  ASSERT_TRUE(Eventually([&] { return target->CountOf("insert") >= 70001; }, 120s));
  EXPECT_EQ(target->CountOf("insert"), 70001U);  // resumed: nothing twice, nothing lost
  EXPECT_EQ(target->CountOf("baseline"), 0U);
  h.engine.Stop();
}

// The same messages whether the large transaction streams or arrives whole.
void MessagesInStreamOrder(PgStreamTest& t, bool streaming) {
  t.Create("t");
  std::mutex mu;
  std::vector<LogicalMessage> seen;
  auto options = t.StreamingOptions();
  options.streaming = streaming;
  options.on_message = [&](const LogicalMessage& m) {
    std::lock_guard lk(mu);
    seen.push_back(m);
  };
  Harness h(options);
  auto target = std::make_shared<memory::IndexedTarget>();
  h.engine.AddPipeline("pg", t.T("t"), target);
  h.engine.Start();
  ASSERT_TRUE(h.engine.AwaitReady(30s));
  const auto emit = [](bool transactional, const std::string& content) {
    return fmt::format("SELECT pg_logical_emit_message({}, 'laredo-test', {})", transactional,
                       content);
  };
  t.Exec(emit(false, "'n1'"));
  t.Exec("BEGIN");
  t.Exec(t.InsertRange("t", 1, 1));
  t.Exec(emit(true, "'t1'"));
  t.Exec(t.InsertRange("t", 2, 2));
  t.Exec("COMMIT");
  t.Exec("BEGIN");
  t.Exec(emit(true, "'rolled back'"));
  t.Exec(t.InsertRange("t", 3, 3));
  t.Exec("ROLLBACK");
  t.Exec("BEGIN");  // streamed: the message comes from the source's buffer at commit
  t.Exec(t.InsertRange("t", 100, 20099));
  t.Exec(emit(true, "'t2'"));
  t.Exec(emit(false, "'n2 inside'"));  // non-transactional: at once, before t2
  t.Exec(t.InsertRange("t", 20100, 40099));
  t.Exec("COMMIT");
  t.Exec("BEGIN");
  t.Exec(t.InsertRange("t", 50000, 70000));
  t.Exec(emit(true, "'streamed then rolled back'"));
  t.Exec("ROLLBACK");
  t.Exec(emit(false, "'\\x00ff00'::bytea"));
  ASSERT_TRUE(Eventually(
      [&] {
        std::lock_guard lk(mu);
        return seen.size() >= 5;
      },
      60s));
  ASSERT_TRUE(t.Exact(*target, "t", 2 + 40000));
  std::lock_guard lk(mu);
  std::vector<std::string> contents;
  for (const auto& m : seen) contents.push_back(m.content);
  EXPECT_EQ(contents, (std::vector<std::string>{"n1", "t1", "n2 inside", "t2",
                                                std::string("\x00\xff\x00", 3)}));
  ASSERT_EQ(seen.size(), 5U);
  EXPECT_FALSE(seen[0].transactional);
  EXPECT_TRUE(seen[1].transactional);
  EXPECT_TRUE(seen[3].transactional);
  EXPECT_EQ(seen[1].prefix, "laredo-test");
  EXPECT_GT(seen[3].commit_lsn, seen[3].lsn);
  EXPECT_NE(seen[3].transaction_id, 0U);
  EXPECT_EQ(seen[2].commit_lsn, Lsn());
  EXPECT_EQ(h.source->StreamBufferStatistics().committed_transactions, streaming ? 1U : 0U);
  h.engine.Stop();
}

TEST_F(PgStreamTest, LogicalDecodingMessagesInStreamOrder) { MessagesInStreamOrder(*this, true); }

TEST_F(PgStreamTest, LogicalDecodingMessagesWithoutStreaming) {
  MessagesInStreamOrder(*this, false);
}

TEST_F(PgStreamTest, StreamingOffSendsLargeTransactionsWhole) {
  Create("t");
  auto options = StreamingOptions();
  options.streaming = false;
  Harness h(options);
  auto target = std::make_shared<memory::IndexedTarget>();
  h.engine.AddPipeline("pg", T("t"), target);
  h.engine.Start();
  ASSERT_TRUE(h.engine.AwaitReady(30s));
  Exec(InsertRange("t", 1, 20000));
  ASSERT_TRUE(Exact(*target, "t", 20000));
  EXPECT_TRUE(Eventually([&] { return Stats().spill_bytes > 0; }, 30s));  // the server spilled
  EXPECT_EQ(Stats().stream_txns, 0);
  EXPECT_EQ(h.source->StreamBufferStatistics().committed_transactions, 0U);
  h.engine.Stop();
}

}  // namespace
}  // namespace laredo::pg::testing
