#include "barrier_writer.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "laredo/error.hpp"
#include "laredo/error_codes.hpp"
#include "laredo/logging.hpp"

namespace laredo::kinesis::publish {
namespace {

[[noreturn]] void NotAligned(const std::string& stream, const std::string& why) {
  throw RetryableError(
      codes::kSnapshotFailed,
      fmt::format("kinesis stream {}: snapshot barriers not aligned: {}", stream, why));
}

std::set<std::string> OpenShards(const std::vector<aws::ShardInfo>& shards) {
  std::set<std::string> open;
  for (const auto& shard : shards) {
    if (shard.ending_sequence_number.empty()) open.insert(shard.shard_id);
  }
  return open;
}

aws::PutRecordResult PutBarrier(aws::KinesisClient& kinesis, const std::string& stream,
                                const aws::ShardInfo& shard, const std::string& data,
                                const Backoff& backoff,
                                std::chrono::steady_clock::time_point deadline,
                                const std::stop_token& stop) {
  for (int attempt = 1;; ++attempt) {
    try {
      // The partition key only has to be valid: the explicit hash key picks the shard.
      return kinesis.PutRecord(stream, "laredo-barrier", data, shard.starting_hash_key);
    } catch (const RetryableError& e) {
      const auto delay = backoff.Delay(attempt);
      if (stop.stop_requested() || std::chrono::steady_clock::now() + delay > deadline) throw;
      Logger()->warn("kinesis stream {}: barrier on {} failed (attempt {}), retrying: {}", stream,
                     shard.shard_id, attempt, e.what());
      std::this_thread::sleep_for(delay);
    }
  }
}

}  // namespace

std::string BarrierRecord(std::string_view snapshot_id, std::string_view shard_id) {
  return nlohmann::json{{"action", "barrier"},
                        {"snapshot_id", std::string(snapshot_id)},
                        {"shard_id", std::string(shard_id)}}
      .dump();
}

std::map<std::string, std::string> WriteBarriers(aws::KinesisClient& kinesis,
                                                 const std::string& stream,
                                                 const std::string& snapshot_id,
                                                 const Backoff& backoff,
                                                 std::chrono::steady_clock::time_point deadline,
                                                 const std::stop_token& stop) {
  const auto before = kinesis.ListShards(stream);
  std::map<std::string, std::string> position;
  for (const auto& shard : before) {
    if (!shard.ending_sequence_number.empty()) {
      position[shard.shard_id] = shard.ending_sequence_number;
      continue;
    }
    if (shard.starting_hash_key.empty()) {
      NotAligned(stream, fmt::format("shard {} has no starting hash key", shard.shard_id));
    }
    const auto written =
        PutBarrier(kinesis, stream, shard, BarrierRecord(snapshot_id, shard.shard_id), backoff,
                   deadline, stop);
    if (written.shard_id != shard.shard_id) {
      NotAligned(stream, fmt::format("the barrier for {} landed on {} (resharding under way)",
                                     shard.shard_id, written.shard_id));
    }
    if (written.sequence_number.empty()) {
      NotAligned(stream, fmt::format("no sequence number for the barrier on {}", shard.shard_id));
    }
    position[shard.shard_id] = written.sequence_number;
  }
  // A shard closed or opened while the barriers were written: a record of the snapshot's time may
  // be on a shard without a barrier.
  if (OpenShards(kinesis.ListShards(stream)) != OpenShards(before)) {
    NotAligned(stream, "the open shards changed while the barriers were written");
  }
  return position;
}

}  // namespace laredo::kinesis::publish
