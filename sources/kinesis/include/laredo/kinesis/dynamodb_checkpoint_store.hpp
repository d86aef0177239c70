#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "laredo/kinesis/aws_credentials.hpp"
#include "laredo/kinesis/checkpoint_store.hpp"

namespace laredo::kinesis {

/// Where a `DynamoDbCheckpointStore` keeps its checkpoint.
struct DynamoDbCheckpointOptions {
  /// Table name; required. Its hash key is a string attribute named `key_attribute`.
  std::string table{};
  /// The checkpoint's item key, e.g. "orders-replica/orders-cdc"; required. Consumers that
  /// must not share progress use different keys.
  std::string key{};
  /// Name of the table's hash key attribute. Default "id".
  std::string key_attribute = "id";
  /// Default: AWS_REGION / AWS_DEFAULT_REGION.
  std::string region{};
  /// Endpoint URL override ("http://127.0.0.1:8000" for a local server). Default: the region's.
  std::string endpoint{};
  /// Default: from the environment (`AwsCredentials::FromEnvironment`).
  std::optional<AwsCredentials> credentials{};
  /// Renews temporary credentials (see `AwsCredentialsProvider`); asked before every request
  /// and preferred over `credentials`. An ExpiredToken answer is a `RetryableError`
  /// ("expired_credentials"), so the retry signs with what the provider returns then.
  /// Default none.
  AwsCredentialsProvider credentials_provider{};
  /// Time limits of each request, as `SourceOptions::connect_timeout` and `read_timeout`: a
  /// DynamoDB endpoint that never answers fails `Load` or `Save` ("timed out after N ms talking
  /// to HOST", a `RetryableError`) within them. Defaults 10 s and 30 s.
  std::chrono::milliseconds connect_timeout{10'000};
  std::chrono::milliseconds read_timeout{30'000};
};

/// Keeps the checkpoint in one DynamoDB item: {key_attribute: key, position: text, version: n}.
///
/// `Save` is a compare-and-set on `version` (a ConditionExpression), after checking in the client
/// that the new position covers the stored one. Two consumers saving the same key therefore never
/// move it backwards: the loser of a race re-reads the item and re-checks. Errors follow
/// `CheckpointStore`; transport failures and throttling are `laredo::RetryableError`, a stored
/// value that is not a position is `laredo::DataError` ("bad_checkpoint").
/// Thread-safety: every member may be called from any thread.
class DynamoDbCheckpointStore final : public CheckpointStore {
 public:
  /// Throws `laredo::ConfigError` listing every missing setting.
  explicit DynamoDbCheckpointStore(DynamoDbCheckpointOptions options);
  ~DynamoDbCheckpointStore() override;
  DynamoDbCheckpointStore(const DynamoDbCheckpointStore&) = delete;
  DynamoDbCheckpointStore& operator=(const DynamoDbCheckpointStore&) = delete;

  std::optional<StreamPosition> Load() override;
  void Save(const StreamPosition& position) override;
  /// The same compare-and-set as `Save`, without the direction check.
  void StartLineage(const StreamPosition& position) override;

  /// Creates the table (on-demand billing) unless it exists. For setup scripts and tests.
  void CreateTableIfMissing();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace laredo::kinesis
