// The fan-out observer forwards every hook to every observer, in order. The hooks are listed here
// by hand: a hook added to EngineObserver must be added to FanoutObserver and to this test.
#include "engine/observer_fanout.hpp"

#include <gtest/gtest.h>

#include <map>
#include <string>

#include "laredo/dead_letter.hpp"

namespace laredo::engine {
namespace {

class Counting final : public EngineObserver {
 public:
  Counting(std::vector<std::string>& order, std::string name)
      : order_(order), name_(std::move(name)) {}
  std::map<std::string, int> calls;

  void OnPipelineAdded(std::string_view, std::string_view, const TableIdentifier&) override {
    Hit("PipelineAdded");
  }
  void OnSourceStateChanged(std::string_view, SourceState) override { Hit("SourceState"); }
  void OnPipelineStateChanged(std::string_view, PipelineState) override { Hit("PipelineState"); }
  void OnBaselineStarted(std::string_view, const TableIdentifier&,
                         std::optional<std::uint64_t>) override {
    Hit("BaselineStarted");
  }
  void OnBaselineProgress(std::string_view, const TableIdentifier&, std::uint64_t,
                          std::optional<std::uint64_t>) override {
    Hit("BaselineProgress");
  }
  void OnBaselineCompleted(std::string_view, const TableIdentifier&, std::uint64_t) override {
    Hit("BaselineCompleted");
  }
  void OnChangesReceived(std::string_view, const TableIdentifier&, std::size_t) override {
    Hit("ChangesReceived");
  }
  void OnChangeFiltered(std::string_view, const ChangeEvent&) override { Hit("ChangeFiltered"); }
  void OnInvalidRecord(std::string_view, const std::optional<TableIdentifier>&) override {
    Hit("InvalidRecord");
  }
  void OnChangeApplied(std::string_view, const ChangeEvent&) override { Hit("ChangeApplied"); }
  void OnChangesApplied(std::string_view, std::size_t, std::chrono::nanoseconds) override {
    Hit("ChangesApplied");
  }
  void OnLag(std::string_view, const LagInfo&) override { Hit("Lag"); }
  void OnAckAdvanced(std::string_view, const Position&, std::string_view) override {
    Hit("AckAdvanced");
  }
  void OnBufferDepth(std::string_view, std::size_t, std::size_t) override { Hit("BufferDepth"); }
  void OnChangeDropped(std::string_view, const ChangeEvent&) override { Hit("ChangeDropped"); }
  void OnError(std::string_view, std::string_view, bool) override { Hit("Error"); }
  void OnDeadLetter(const DeadLetter&) override { Hit("DeadLetter"); }
  void OnRebaseline(std::string_view, std::string_view) override { Hit("Rebaseline"); }
  void OnSnapshotStarted(std::string_view) override { Hit("SnapshotStarted"); }
  void OnSnapshotCompleted(const SnapshotReport&) override { Hit("SnapshotCompleted"); }
  void OnSnapshotFailed(std::string_view, std::string_view) override { Hit("SnapshotFailed"); }
  void OnSnapshotRestored(std::string_view, const SnapshotReport&) override {
    Hit("SnapshotRestored");
  }
  void OnSnapshotRestoreSkipped(std::string_view, std::string_view, std::string_view) override {
    Hit("SnapshotRestoreSkipped");
  }
  void OnSchemaChange(std::string_view, const TableIdentifier&,
                      const SchemaChangeResponse&) override {
    Hit("SchemaChange");
  }

 private:
  void Hit(const std::string& hook) {
    ++calls[hook];
    order_.push_back(name_ + ":" + hook);
  }
  std::vector<std::string>& order_;
  std::string name_;
};

TEST(FanoutObserver, ForwardsEveryHookToEveryObserverInOrder) {
  std::vector<std::string> order;
  auto a = std::make_shared<Counting>(order, "a");
  auto b = std::make_shared<Counting>(order, "b");
  auto fanout = FanoutObserver::For({a, nullptr, b});
  const auto t = Table("public", "t");
  const ChangeEvent event{};
  fanout->OnPipelineAdded("p", "s", t);
  fanout->OnSourceStateChanged("s", SourceState::Streaming);
  fanout->OnPipelineStateChanged("p", PipelineState::Streaming);
  fanout->OnBaselineStarted("s", t, 1);
  fanout->OnBaselineProgress("s", t, 1, 1);
  fanout->OnBaselineCompleted("p", t, 1);
  fanout->OnChangesReceived("p", t, 1);
  fanout->OnChangeFiltered("p", event);
  fanout->OnInvalidRecord("s", t);
  fanout->OnChangeApplied("p", event);
  fanout->OnChangesApplied("p", 1, std::chrono::nanoseconds(1));
  fanout->OnLag("s", LagInfo{});
  fanout->OnAckAdvanced("s", Position{}, "0/0");
  fanout->OnBufferDepth("p", 1, 2);
  fanout->OnChangeDropped("p", event);
  fanout->OnError("p", "boom", true);
  fanout->OnDeadLetter(DeadLetter{});
  fanout->OnRebaseline("s", "why");
  fanout->OnSnapshotStarted("x");
  fanout->OnSnapshotCompleted(SnapshotReport{});
  fanout->OnSnapshotFailed("x", "why");
  fanout->OnSnapshotRestored("s", SnapshotReport{});
  fanout->OnSnapshotRestoreSkipped("s", "x", "why");
  fanout->OnSchemaChange("p", t, SchemaChangeResponse{});
  constexpr std::size_t kHooks = 24;
  ASSERT_EQ(a->calls.size(), kHooks);
  EXPECT_EQ(a->calls, b->calls);
  for (const auto& [hook, n] : a->calls) EXPECT_EQ(n, 1) << hook;
  ASSERT_EQ(order.size(), 2 * kHooks);
  for (std::size_t i = 0; i < order.size(); i += 2) {
    EXPECT_EQ(order[i].substr(0, 2), "a:");
    EXPECT_EQ(order[i + 1].substr(0, 2), "b:");
  }
}

}  // namespace
}  // namespace laredo::engine
