#pragma once

#include <chrono>
#include <map>
#include <stop_token>
#include <string>
#include <string_view>

#include "kinesis_client.hpp"
#include "laredo/backoff.hpp"

// The alignment of a snapshot with the stream (docs/kinesis-data-contract.md, "Barrier records"):
// one barrier record per open shard, whose sequence number becomes that shard's
// `stream_position`, and each closed shard's end. Private to laredo::kinesis.
namespace laredo::kinesis::publish {

/// The data of a barrier record: `{"action": "barrier", "snapshot_id": ..., "shard_id": ...}`.
std::string BarrierRecord(std::string_view snapshot_id, std::string_view shard_id);

/// Writes the barriers of snapshot `snapshot_id` and returns the snapshot's `stream_position`:
/// for each open shard the sequence number of its barrier, for each closed shard its ending
/// sequence number (it holds nothing later: everything in it is reflected).
///
/// The caller guarantees that no record is being written meanwhile (the publisher holds its
/// admission closed and every earlier record acknowledged), so every record before a barrier on
/// its shard is in the snapshot and every later one is not.
///
/// Each barrier goes to its shard by `ExplicitHashKey` (the shard's starting hash key). When
/// Kinesis puts it on another shard, or the shards listed afterwards differ from those listed
/// before (a split or merge during the barriers), the alignment is not proven and this throws
/// `RetryableError` ("snapshot_failed"); the barriers already written are harmless (consumers skip
/// them). Transient failures of a barrier are retried with `backoff` until `deadline`.
std::map<std::string, std::string> WriteBarriers(aws::KinesisClient& kinesis,
                                                 const std::string& stream,
                                                 const std::string& snapshot_id,
                                                 const Backoff& backoff,
                                                 std::chrono::steady_clock::time_point deadline,
                                                 const std::stop_token& stop);

}  // namespace laredo::kinesis::publish
