#pragma once

#include <cstdint>
#include <map>
#include <stop_token>
#include <string>

#include "kinesis_client.hpp"
#include "laredo/backoff.hpp"
#include "publisher_state.hpp"
#include "s3_client.hpp"
#include "snapshot_writer.hpp"

// A restarted publisher rebuilds its state as a consumer would: the newest snapshot, then every
// record after its `stream_position` up to barriers written for the purpose. Private.
namespace laredo::kinesis::publish {

/// What `RestoreState` did.
struct RestoreSummary {
  std::string from_snapshot;
  std::uint64_t rows = 0;
  std::uint64_t records = 0;
};

/// Replaces the rows of every table `state` knows and the manifest under `bucket` holds with the
/// manifest's rows, applies every change record of the stream after the manifest's
/// `stream_position` and at or before `until` (per shard; parents before children, a shard the
/// manifest does not list from its start), and marks those tables complete.
///
/// The caller holds admission closed with every admitted record acknowledged and `until` the
/// positions of barriers it just wrote: then the state reflects exactly the records at or before
/// `until`, which makes it a snapshot's state for those barriers. Throws what S3 or Kinesis
/// answered, `DataError` for a record it cannot read (nothing is skipped), and `Error`
/// ("snapshot_not_ready") when there is no manifest or it is of another stream.
RestoreSummary RestoreState(const SnapshotBucket& bucket, aws::KinesisClient& kinesis,
                            const std::string& stream,
                            const std::map<std::string, std::string>& until, const Backoff& backoff,
                            ReplicaState& state, const std::stop_token& stop);

}  // namespace laredo::kinesis::publish
