// The target API for targets that write elsewhere: batches with per-change metadata, partial and
// whole-batch failures, and durability reported by the target instead of polled.
#include <gtest/gtest.h>

#include <any>
#include <mutex>
#include <vector>

#include "test_util.hpp"

namespace laredo::testing {
namespace {

/// What one change looked like to the target.
struct Seen {
  ChangeAction action;
  std::int64_t id = 0;
  std::uint64_t ticket = 0;
  std::uint64_t position = 0;
  std::string position_text;
  std::optional<std::uint64_t> transaction_id;
  std::optional<std::chrono::system_clock::time_point> commit_time;
  bool ends_transaction = false;
};

/// A target that takes batches, records them, and can fail on a chosen id: `partial` applies
/// the changes before it and says so; otherwise the whole batch fails and nothing of it is kept
/// (a rolled-back transaction). Fails `failures` times.
class BatchTarget : public RecordingTarget {
 public:
  void OnChanges(const TableIdentifier&, std::span<const TargetChange> changes) override {
    std::lock_guard lk(mu_);
    batch_sizes_.push_back(changes.size());
    std::vector<Seen> batch;
    for (std::size_t i = 0; i < changes.size(); ++i) {
      const TargetChange& c = changes[i];
      const Row& row = c.row != nullptr ? *c.row : *c.identity;
      const auto id = row.at("id").AsInt();
      if (id == fail_id_ && failures_ > 0) {
        --failures_;
        if (!partial_) throw std::runtime_error("batch rolled back at id " + std::to_string(id));
        for (auto& s : batch) applied_.push_back(s);
        throw PartialBatchError(i, std::make_exception_ptr(RetryableError("busy", "busy")),
                                "busy at id " + std::to_string(id));
      }
      batch.push_back(Seen{.action = c.action,
                           .id = id,
                           .ticket = c.ticket,
                           .position = std::any_cast<std::uint64_t>(c.event->position),
                           .position_text = c.PositionString(),
                           .transaction_id = c.event->transaction_id,
                           .commit_time = c.event->commit_time,
                           .ends_transaction = c.event->ends_transaction});
    }
    for (auto& s : batch) applied_.push_back(s);
  }
  void SetDurabilityReporter(DurabilityReporter* reporter) override { reporter_ = reporter; }

  void FailAt(std::int64_t id, int times, bool partial) {
    std::lock_guard lk(mu_);
    fail_id_ = id;
    failures_ = times;
    partial_ = partial;
  }
  std::vector<Seen> Applied() const {
    std::lock_guard lk(mu_);
    return applied_;
  }
  std::vector<std::size_t> BatchSizes() const {
    std::lock_guard lk(mu_);
    return batch_sizes_;
  }
  DurabilityReporter* reporter() const { return reporter_; }

 private:
  mutable std::mutex mu_;
  std::vector<Seen> applied_;
  std::vector<std::size_t> batch_sizes_;
  std::int64_t fail_id_ = -1;
  int failures_ = 0;
  bool partial_ = false;
  std::atomic<DurabilityReporter*> reporter_{nullptr};
};

std::vector<std::int64_t> Ids(const std::vector<Seen>& seen) {
  std::vector<std::int64_t> ids;
  for (const auto& s : seen) ids.push_back(s.id);
  return ids;
}

TEST(EngineTargetApi, BatchesCarryPositionsTicketsAndTransactions) {
  auto source = UsersSource();
  auto target = std::make_shared<BatchTarget>();
  Engine engine(FastOptions());
  engine.AddSource("s", source);
  engine.AddPipeline("s", kUsers, target);
  engine.Start();
  ASSERT_TRUE(engine.AwaitReady(10s));
  engine.Pause("s");  // everything below reaches the engine in few batches
  const auto commit = std::chrono::system_clock::time_point(std::chrono::seconds(1'700'000'000));
  std::vector<std::uint64_t> positions;
  source->EmitTransaction(77, commit, [&] {
    for (int i = 1; i <= 10; ++i) positions.push_back(source->EmitInsert(kUsers, User(i, "a")));
  });
  for (int i = 1; i <= 5; ++i) {
    positions.push_back(source->EmitUpdate(kUsers, User(i, "b"), User(i, "a")));
  }
  engine.Resume("s");
  ASSERT_TRUE(source->AwaitAck(positions.back(), 10s));
  const auto seen = target->Applied();
  ASSERT_EQ(seen.size(), 15U);
  EXPECT_LT(target->BatchSizes().size(), 15U) << "changes were not batched";
  for (std::size_t i = 0; i < seen.size(); ++i) {
    EXPECT_EQ(seen[i].position, positions[i]);
    EXPECT_EQ(seen[i].position_text, std::to_string(positions[i]));
    if (i > 0) {
      EXPECT_GT(seen[i].ticket, seen[i - 1].ticket);
    }
    EXPECT_EQ(seen[i].action, i < 10 ? ChangeAction::Insert : ChangeAction::Update);
    EXPECT_EQ(seen[i].transaction_id, i < 10 ? std::optional<std::uint64_t>(77) : std::nullopt);
    EXPECT_EQ(seen[i].commit_time.has_value(), i < 10);
    EXPECT_EQ(seen[i].ends_transaction, i == 9) << i;
  }
}

// Inserts ids 1-6 while paused (so they reach the target as one batch) and waits for the ACK.
void ApplySixInserts(const std::shared_ptr<BatchTarget>& target) {
  auto source = UsersSource();
  PipelineOptions options;
  options.error_policy = QuickRetries(5, ErrorAction::Isolate);
  Engine engine(FastOptions());
  engine.AddSource("s", source);
  engine.AddPipeline("s", kUsers, target, options);
  engine.Start();
  ASSERT_TRUE(engine.AwaitReady(10s));
  engine.Pause("s");
  std::uint64_t last = 0;
  for (int i = 1; i <= 6; ++i) last = source->EmitInsert(kUsers, User(i, "a"));
  engine.Resume("s");
  ASSERT_TRUE(source->AwaitAck(last, 10s));
}

TEST(EngineTargetApi, APartialBatchFailureRetriesOnlyTheChangeThatFailed) {
  auto target = std::make_shared<BatchTarget>();
  target->FailAt(3, 2, /*partial=*/true);
  ApplySixInserts(target);
  // Each change exactly once, in order: 1 and 2 were kept by the failed call and not sent again.
  EXPECT_EQ(Ids(target->Applied()), (std::vector<std::int64_t>{1, 2, 3, 4, 5, 6}));
}

TEST(EngineTargetApi, AFailedBatchIsAppliedAgainOneChangePerCall) {
  auto target = std::make_shared<BatchTarget>();
  target->FailAt(3, 1, /*partial=*/false);
  ApplySixInserts(target);
  // The rolled-back batch kept nothing; the engine re-sent its changes one per call until the
  // failing one went through, then batched again.
  EXPECT_EQ(Ids(target->Applied()), (std::vector<std::int64_t>{1, 2, 3, 4, 5, 6}));
  const auto sizes = target->BatchSizes();
  ASSERT_GE(sizes.size(), 2U);
  EXPECT_GT(sizes[0], 1U);  // the batch that failed
  EXPECT_EQ(sizes[1], 1U);  // id 1 on its own
}

TEST(EngineTargetApi, ADurabilityReportReleasesTheAckWithoutPolling) {
  auto source = UsersSource();
  auto target = std::make_shared<BatchTarget>();
  target->SetDurable(false);  // IsDurable never says yes: only reports count
  Engine engine(FastOptions());
  engine.AddSource("s", source);
  engine.AddPipeline("s", kUsers, target);
  engine.Start();
  ASSERT_TRUE(Eventually([&] { return target->reporter() != nullptr; }));
  target->SetDurable(true);  // the baseline
  ASSERT_TRUE(engine.AwaitReady(10s));
  ASSERT_TRUE(Eventually([&] { return source->LastAck().has_value(); }));
  target->SetDurable(false);
  std::vector<std::uint64_t> positions;
  for (int i = 1; i <= 4; ++i) {
    positions.push_back(source->EmitInsert(kUsers, User(i, "a")));
    ASSERT_TRUE(Eventually([&] { return target->Applied().size() == static_cast<size_t>(i); }));
  }
  const auto seen = target->Applied();
  EXPECT_FALSE(source->AwaitAck(positions[0], 50ms));  // applied, but not durable yet
  target->reporter()->Durable(seen[2].ticket);
  ASSERT_TRUE(source->AwaitAck(positions[2], 10s));
  EXPECT_FALSE(source->AwaitAck(positions[3], 50ms));  // not reported: not released
  EXPECT_EQ(source->LastAck(), positions[2]);
  target->reporter()->Durable(seen[3].ticket);
  ASSERT_TRUE(source->AwaitAck(positions[3], 10s));
  engine.Stop();
}

}  // namespace
}  // namespace laredo::testing
