#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <stop_token>
#include <string>
#include <vector>

#include "publisher_state.hpp"
#include "s3_client.hpp"

// The S3 half of the data contract, written by the publisher: per-table JSON-Lines gzip objects of
// bounded size, then the manifest. Private to laredo::kinesis.
namespace laredo::kinesis::publish {

/// Where and how snapshots are written.
struct SnapshotBucket {
  std::shared_ptr<aws::S3Client> s3;
  std::string bucket;
  std::string prefix;  // "" or ending in '/'
  /// Uncompressed bytes of rows per table object before the next object starts.
  std::size_t object_bytes = std::size_t{256} << 20;
  /// Compressed bytes per multipart part (an object larger than this is a multipart upload).
  std::size_t upload_part_bytes = std::size_t{16} << 20;
};

/// What `WriteSnapshot` wrote.
struct WrittenSnapshot {
  std::uint64_t rows = 0;
  std::uint64_t objects = 0;
  std::uint64_t row_bytes = 0;  // uncompressed
};

/// Writes `state` as snapshot `id`: the objects under "<prefix><id>/<schema.table>/part-NNNNN
/// .jsonl.gz", then "<prefix><id>/manifest.json" (objects relative to "<prefix><id>/": this
/// snapshot, loadable on its own) and last "<prefix>manifest.json" (objects under "<id>/"; it
/// makes this the snapshot consumers load). `stream_position` is the manifest's (shard -> sequence
/// number). Throws what S3 answered (an object left half-written is never named by a manifest); a
/// row the contract cannot carry is a `DataError` naming table and column. Returns early (nothing
/// committed, throws `RetryableError`) when `stop` is requested.
WrittenSnapshot WriteSnapshot(const SnapshotBucket& location, const std::string& id,
                              const std::string& stream, const StateCopy& state,
                              const std::map<std::string, std::string>& stream_position,
                              const std::stop_token& stop);

/// The manifest document of a snapshot (docs/kinesis-data-contract.md, "manifest.json").
std::string ManifestJson(const std::string& id, const std::string& stream,
                         const std::map<TableIdentifier, std::vector<std::string>>& objects,
                         const StateCopy& state,
                         const std::map<std::string, std::string>& stream_position);

/// Deletes every object of the snapshots older than the `keep` newest committed ones (a snapshot
/// is committed when "<prefix><id>/manifest.json" exists), uncommitted leftovers of a failed
/// attempt included. Call it only after the newest manifest is in place. Returns the ids deleted.
std::vector<std::string> PruneSnapshots(const SnapshotBucket& location, std::size_t keep);

}  // namespace laredo::kinesis::publish
