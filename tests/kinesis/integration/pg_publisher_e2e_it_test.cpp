// End to end, as deployed: real PostgreSQL -> the publisher program (examples/publisher, a child
// process on a stateful slot) -> kinesalite + s3rver -> three `kinesis::Source` consumers into
// indexed targets: one from the first snapshot before any change, one started while changes
// stream, one from the snapshot the publisher takes after it was killed with SIGKILL in the middle
// of a transaction (key changes, then 100,000 inserts) and restarted on the same slot. Each must
// end equal to `SELECT *`, field by field, across inserts, updates, deletes, a truncate, updates
// leaving a TOASTed column unchanged, primary-key changes and the replay that follows the kill.
#include "pg_e2e_fixture.hpp"

namespace laredo::kinesis::it {
namespace {

using namespace std::chrono_literals;

class PgPublisherE2eIt : public PgE2eTest {};

TEST_F(PgPublisherE2eIt, ThreeConsumersConvergeAcrossAKill9OfThePublisher) {
  const std::string& t = table_;
  Exec("INSERT INTO " + t +
       " SELECT g, 'n' || g, g, repeat(md5(g::text), 200) FROM generate_series(1, 200) g");
  StartPublisher();
  // The first snapshot follows the baseline.
  ASSERT_TRUE(AwaitCondition([&] { return !NewestSnapshot().empty(); }, 30s)) << publisher_->Log();
  Consumer a = StartConsumer("consumer from the first snapshot");

  Exec("TRUNCATE " + t);
  Exec("INSERT INTO " + t +
       " SELECT g, 'm' || g, g * 10, repeat(md5((g * 7)::text), 200) FROM generate_series(1, 300) "
       "g");
  Exec("INSERT INTO " + t +
       " SELECT g, 'short ' || g, g, 'small' FROM generate_series(301, 320) g");
  Exec("UPDATE " + t + " SET name = 'renamed ' || id WHERE id <= 50");  // big unchanged (TOAST)
  // Key changes of rows with no out-of-line value: a delete and an insert on the stream.
  Exec("UPDATE " + t + " SET id = id + 1000, v = -v WHERE id BETWEEN 301 AND 310");
  Exec("DELETE FROM " + t + " WHERE id BETWEEN 181 AND 200");
  Exec("UPDATE " + t + " SET v = NULL, name = NULL WHERE id BETWEEN 60 AND 64");
  Exec("INSERT INTO " + t + " VALUES (5000, 'new', 1, NULL)");
  Consumer b = StartConsumer("consumer started while changes stream");

  // One transaction: key changes that leave the TOASTed column unchanged (one update each, under
  // the new key), then 100,000 inserts. SIGKILL once the consumers see part of it on the stream:
  // the slot replays the whole transaction, and the replayed key changes find their rows already
  // at the new key (the consumers must fill `big` from there, not re-baseline).
  Exec("BEGIN");
  Exec("UPDATE " + t + " SET id = id + 2000 WHERE id BETWEEN 65 AND 70");
  Exec("INSERT INTO " + t +
       " SELECT g, 'bulk ' || g, g, NULL FROM generate_series(10001, 110000) g");
  Exec("COMMIT");
  ASSERT_TRUE(AwaitCondition(
      [&] { return a.target->Count() > 320 + 5000 && a.target->Get({Value(2065)}).has_value(); },
      40s, 2ms))
      << a.engine->SourceError("kinesis").value_or("") << publisher_->Log();
  publisher_->Kill();
  const std::size_t seen_at_kill = a.target->Count();
  const std::string snapshot_before_restart = NewestSnapshot();
  // The walsender lets go of the slot once it notices its client is gone.
  ASSERT_TRUE(AwaitCondition([&] { return !SlotActive(); }, 30s));
  StartPublisher();

  Exec("UPDATE " + t + " SET name = 'after restart ' || id WHERE id <= 20");  // big unchanged
  Exec("UPDATE " + t + " SET v = v + 1 WHERE id BETWEEN 10001 AND 10100");
  Exec("DELETE FROM " + t + " WHERE id BETWEEN 10101 AND 10200");
  Exec("UPDATE " + t + " SET id = 6000 WHERE id = 5000");
  // The restarted publisher has no state: its next snapshot restores it from the newest snapshot
  // and the stream (docs/kinesis-publisher.md, Restart). A consumer of that snapshot is the third.
  ASSERT_TRUE(AwaitCondition(
      [&] {
        const auto id = NewestSnapshot();
        return !id.empty() && id != snapshot_before_restart;
      },
      40s))
      << publisher_->Log();
  Consumer c = StartConsumer("consumer from the snapshot after the restart");
  Exec("UPDATE " + t + " SET big = 'rewritten', v = 0 WHERE id BETWEEN 21 AND 25");
  Exec("INSERT INTO " + t + " VALUES (7000, 'last', 7, repeat('x', 5000))");

  const auto expected = TableRows();
  ASSERT_EQ(expected.size(), 300U + 20 - 20 + 1 + 100'000 - 100 + 1);
  for (Consumer* consumer : {&a, &b, &c}) {
    EXPECT_TRUE(AwaitCondition([&] { return Holds(*consumer->target, expected); }, 60s))
        << consumer->who << ": " << consumer->engine->SourceError("kinesis").value_or("")
        << ", has " << consumer->target->Count() << " rows of " << expected.size();
    ExpectSame(*consumer->target, expected, consumer->who);
  }
  // The kill was in the middle of the stream: the consumers had part of the transaction only.
  EXPECT_LT(seen_at_kill, 320U + 100'000);
  EXPECT_TRUE(publisher_->Running()) << publisher_->Log();
  EXPECT_TRUE(publisher_->Stop()) << publisher_->Log();
  for (Consumer* consumer : {&a, &b, &c}) consumer->engine->Stop();
}

}  // namespace
}  // namespace laredo::kinesis::it
