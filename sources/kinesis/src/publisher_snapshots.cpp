#include "publisher_snapshots.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "barrier_writer.hpp"
#include "laredo/error.hpp"
#include "laredo/error_codes.hpp"
#include "laredo/logging.hpp"
#include "laredo/snapshot/metadata.hpp"
#include "publisher_config.hpp"
#include "state_restorer.hpp"

namespace laredo::kinesis::publish {
namespace {

using Clock = std::chrono::steady_clock;

std::chrono::milliseconds Since(Clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
}

std::string Prefix(std::string prefix) {
  if (!prefix.empty() && !prefix.ends_with('/')) prefix += '/';
  return prefix;
}

}  // namespace

Snapshotter::Snapshotter(const PublisherOptions& options, PutSender& sender)
    : options_(options), sender_(sender), enabled_(!options.snapshots.bucket.empty()) {
  if (!enabled_) return;
  kinesis_ = std::make_unique<aws::KinesisClient>(ServiceFor(options, "kinesis", 1));
  location_ = SnapshotBucket{.s3 = std::make_shared<aws::S3Client>(ServiceFor(options, "s3", 2)),
                             .bucket = options.snapshots.bucket,
                             .prefix = Prefix(options.snapshots.prefix),
                             .object_bytes = options.snapshots.object_bytes,
                             .upload_part_bytes = options.snapshots.upload_part_bytes};
  thread_ = std::jthread([this](const std::stop_token& stop) { Run(stop); });
}

Snapshotter::~Snapshotter() {
  if (thread_.joinable()) {
    thread_.request_stop();
    thread_.join();
  }
}

void Snapshotter::SetColumns(const TableIdentifier& table,
                             const std::vector<ColumnDefinition>& columns) {
  if (!enabled_) return;
  std::lock_guard lk(admit_mu_);
  state_.SetColumns(table, columns);
}

void Snapshotter::BeginBaseline(const TableIdentifier& table) {
  if (!enabled_) return;
  std::lock_guard lk(admit_mu_);
  state_.BeginBaseline(table);
}

void Snapshotter::BaselineRow(const TableIdentifier& table, const Row& row) {
  if (!enabled_) return;
  std::lock_guard lk(admit_mu_);
  state_.ApplyBaselineRow(table, row);
}

void Snapshotter::CompleteBaseline(const TableIdentifier& table) {
  if (!enabled_) return;
  bool complete = false;
  {
    std::lock_guard lk(admit_mu_);
    state_.CompleteBaseline(table);
    ++baselines_completed_;
    complete = state_.IncompleteTables().empty();
    for (const auto& t : options_.snapshots.tables) complete = complete && state_.Knows(t);
  }
  if (!complete) return;
  {
    std::lock_guard lk(mu_);
    triggered_ = true;
  }
  wake_.notify_all();
}

void Snapshotter::Run(const std::stop_token& stop) {
  while (!stop.stop_requested()) {
    {
      std::unique_lock lk(mu_);
      wake_.wait_for(lk, stop, options_.snapshots.interval,
                     [&] { return triggered_ || requested_; });
      if (stop.stop_requested()) return;
      const bool by_baseline = triggered_ && !requested_;
      triggered_ = false;
      requested_ = false;
      if (by_baseline) {
        std::lock_guard admit(admit_mu_);
        if (baselines_snapshotted_ == baselines_completed_) continue;  // already in one
      }
    }
    std::exception_ptr failure;
    Take(stop, failure);  // reported there
  }
}

void Snapshotter::RequestSnapshot() {
  {
    std::lock_guard lk(mu_);
    requested_ = true;
  }
  wake_.notify_all();
}

SnapshotReport Snapshotter::TakeNow() {
  if (!enabled_) {
    throw FatalError(codes::kConfig,
                     "kinesis publisher: snapshots are off (PublisherOptions.snapshots.bucket)");
  }
  std::exception_ptr failure;
  SnapshotReport report = Take(thread_.get_stop_token(), failure);
  if (failure) std::rethrow_exception(failure);
  return report;
}

void Snapshotter::Align(const std::stop_token& stop, StateCopy& copy, SnapshotReport& report) {
  // Changes still flow while the backlog drains to about one request (for up to half the
  // quiesce timeout); only the rest is drained with admission closed, which keeps the pause short
  // when the writer keeps up. Best effort: the closed drain below is what the alignment needs.
  sender_.AwaitUnwrittenAtMost(options_.max_records_per_request,
                               options_.snapshots.quiesce_timeout / 2);
  closing_ = true;
  struct Reopen {
    Snapshotter& self;
    ~Reopen() {
      {
        std::lock_guard lk(self.admit_mu_);
        self.closing_ = false;
      }
      self.admitted_cv_.notify_all();
    }
  };
  const Reopen reopen{*this};  // also when this throws
  std::unique_lock admit(admit_mu_);
  const auto start = Clock::now();
  auto incomplete = state_.IncompleteTables();
  bool unknown = false;
  for (const auto& table : options_.snapshots.tables) {
    if (!state_.Knows(table)) {
      incomplete.push_back(table);
      unknown = true;
    }
  }
  // Tables of a resumed pipeline (no baseline under way) can be restored; others must wait.
  const bool restore = !incomplete.empty() && !unknown && options_.snapshots.restore &&
                       state_.UnloadedTables().size() == incomplete.size();
  if (!incomplete.empty() && !restore) {
    throw Error(codes::kSnapshotNotReady,
                fmt::format("the rows of {} are not all known (no completed baseline of it in "
                            "this process, or one under way)",
                            incomplete.front().ToString()));
  }
  if (state_.Columns().empty()) throw Error(codes::kSnapshotNotReady, "no table to snapshot yet");
  const std::uint64_t baselines = baselines_completed_;
  // Every record admitted so far is on its shard before the barriers.
  if (!sender_.AwaitAllWritten(options_.snapshots.quiesce_timeout)) {
    sender_.ThrowIfFailed();
    throw RetryableError(codes::kSnapshotFailed,
                         fmt::format("{} records were still unwritten after {} ms",
                                     sender_.GetStats().records_unwritten,
                                     options_.snapshots.quiesce_timeout.count()));
  }
  report.snapshot_id = snapshot::NewSnapshotId();
  report.stream_position =
      WriteBarriers(*kinesis_, options_.stream_name, report.snapshot_id, options_.retry_backoff,
                    start + options_.snapshots.quiesce_timeout, stop);
  if (restore) {
    // The state of the barriers: the newest snapshot plus every record up to them.
    const RestoreSummary restored =
        RestoreState(location_, *kinesis_, options_.stream_name, report.stream_position,
                     options_.retry_backoff, state_, stop);
    Logger()->info(
        "kinesis publisher {}: state restored from snapshot {} ({} rows) and {} stream records",
        options_.stream_name, restored.from_snapshot, restored.rows, restored.records);
    if (!state_.IncompleteTables().empty()) {
      throw Error(codes::kSnapshotNotReady,
                  fmt::format("{} is not in the snapshot restored from; it needs a baseline",
                              state_.IncompleteTables().front().ToString()));
    }
  }
  copy = state_.Copy();
  report.pause = Since(start);
  // Not yet committed, but a failed upload is reported and retried at the next interval.
  baselines_snapshotted_ = baselines;
}

SnapshotReport Snapshotter::Take(const std::stop_token& stop, std::exception_ptr& failure) {
  std::lock_guard one(take_mu_);
  const auto start = Clock::now();
  SnapshotReport report;
  try {
    StateCopy copy;
    Align(stop, copy, report);
    const WrittenSnapshot written = WriteSnapshot(
        location_, report.snapshot_id, options_.stream_name, copy, report.stream_position, stop);
    report.rows = written.rows;
    report.objects = written.objects;
    report.ok = true;
    try {
      report.pruned = PruneSnapshots(location_, options_.snapshots.keep);
    } catch (const std::exception& e) {
      // The new snapshot is in place; older ones stay until the next prune.
      Logger()->warn("kinesis publisher {}: pruning old snapshots in s3://{}/{} failed: {}",
                     options_.stream_name, location_.bucket, location_.prefix, e.what());
    }
  } catch (const std::exception& e) {
    failure = std::current_exception();
    report.ok = false;
    report.error = e.what();
  }
  report.duration = Since(start);
  {
    std::lock_guard lk(mu_);
    if (report.ok) {
      ++counters_.snapshots_written;
      counters_.last_snapshot_id = report.snapshot_id;
    } else {
      ++counters_.snapshot_failures;
      counters_.last_snapshot_error = report.error;
    }
  }
  if (report.ok) {
    Logger()->info(
        "kinesis publisher {}: snapshot {} in s3://{}/{}: {} rows in {} objects, {} shards; "
        "changes waited {} ms, {} ms in all",
        options_.stream_name, report.snapshot_id, location_.bucket, location_.prefix, report.rows,
        report.objects, report.stream_position.size(), report.pause.count(),
        report.duration.count());
  } else {
    Logger()->error("kinesis publisher {}: snapshot to s3://{}/{} failed: {}", options_.stream_name,
                    location_.bucket, location_.prefix, report.error);
  }
  if (options_.snapshots.on_snapshot) {
    try {
      options_.snapshots.on_snapshot(report);
    } catch (const std::exception& e) {
      Logger()->warn("kinesis publisher: on_snapshot threw: {}", e.what());
    }
  }
  return report;
}

void Snapshotter::AddStats(Publisher::Stats& stats) const {
  std::lock_guard lk(mu_);
  stats.snapshots_written = counters_.snapshots_written;
  stats.snapshot_failures = counters_.snapshot_failures;
  stats.last_snapshot_id = counters_.last_snapshot_id;
  stats.last_snapshot_error = counters_.last_snapshot_error;
  stats.state_anomalies = anomalies_.load(std::memory_order_relaxed);
}

}  // namespace laredo::kinesis::publish
