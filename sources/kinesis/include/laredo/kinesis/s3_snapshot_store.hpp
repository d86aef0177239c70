#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "laredo/kinesis/aws_credentials.hpp"
#include "laredo/snapshot/store.hpp"

namespace laredo::kinesis {

/// Options of `S3SnapshotStore`.
struct S3SnapshotStoreOptions {
  /// Required.
  std::string bucket{};
  /// Key prefix of this store's snapshots, e.g. "replicas/orders" (no leading or trailing "/"
  /// needed). Default: the bucket's root.
  std::string prefix{};
  /// Default: AWS_REGION / AWS_DEFAULT_REGION.
  std::string region{};
  /// Endpoint URL override ("http://127.0.0.1:4568" for a local server). Default: the region's.
  std::string endpoint{};
  /// Default: from the environment (`AwsCredentials::FromEnvironment`).
  std::optional<AwsCredentials> credentials{};
  /// Renews temporary credentials; asked before every request and preferred over
  /// `credentials`. Default none.
  AwsCredentialsProvider credentials_provider{};
  /// A table file larger than this is uploaded in parts of about this size (multipart upload);
  /// a smaller one in one request. At least 5 MiB, S3's minimum for every part but the last.
  /// Each file being written holds up to one part in memory. Default 16 MiB.
  std::size_t part_size = std::size_t{16} << 20;
  /// Files are read in ranged requests of this many bytes. Default 8 MiB.
  std::size_t read_size = std::size_t{8} << 20;
  /// How table files are written (block size).
  snapshot::TableFileOptions table_file{};
  /// Time limits of each request, as `SourceOptions::connect_timeout` and `read_timeout`.
  /// Defaults 10 s and 30 s.
  std::chrono::milliseconds connect_timeout{10'000};
  std::chrono::milliseconds read_timeout{30'000};
};

/// Snapshots in S3: `<prefix>/<id>/metadata.json` and one object per table file.
///
/// The table files are uploaded first (multipart for large ones); `Commit` writes the metadata
/// object last, and a snapshot without one does not exist: `List` and `Open` see only
/// snapshots whose metadata is in place, newest first. An abandoned writer deletes what it
/// uploaded and aborts its multipart uploads; what a crash leaves is deleted by a later `Prune`
/// (objects of snapshots without metadata older than the newest committed one; incomplete
/// multipart uploads are left to the bucket's AbortIncompleteMultipartUpload lifecycle rule).
/// `Prune` deletes an old snapshot's metadata first (it stops existing at once), then its files;
/// it only ever deletes snapshots older than the `keep` newest committed ones, so the newer
/// metadata is always in place first.
///
/// Failures keep the S3 client's classes and codes: transport failures and throttling are
/// `RetryableError` (the store does not retry; the caller decides), a missing bucket is
/// `FatalError` ("not_found").
/// Threading contract: every method may be called from any thread; one process writes to a
/// prefix at a time.
class S3SnapshotStore final : public snapshot::SnapshotStore {
 public:
  /// Throws `laredo::ConfigError` listing every missing or invalid setting.
  explicit S3SnapshotStore(S3SnapshotStoreOptions options);
  ~S3SnapshotStore() override;
  S3SnapshotStore(const S3SnapshotStore&) = delete;
  S3SnapshotStore& operator=(const S3SnapshotStore&) = delete;

  std::unique_ptr<snapshot::SnapshotWriter> Begin() override;
  std::vector<snapshot::SnapshotMetadata> List() override;
  std::unique_ptr<snapshot::SnapshotReader> Open(const std::string& id) override;
  std::size_t Prune(std::size_t keep) override;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;  // shared with the writers and readers it hands out
};

}  // namespace laredo::kinesis
