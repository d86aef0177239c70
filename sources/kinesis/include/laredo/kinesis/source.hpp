#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "laredo/backoff.hpp"
#include "laredo/kinesis/aws_credentials.hpp"
#include "laredo/kinesis/checkpoint_store.hpp"
#include "laredo/sync_source.hpp"

namespace laredo::kinesis {

/// A Kinesis record that does not follow the data contract (docs/kinesis-data-contract.md).
struct MalformedRecord {
  std::string shard_id{};
  std::string sequence_number{};
  std::string partition_key{};
  /// The record's data as received.
  std::string data{};
  /// Why it was rejected.
  std::string error{};
};

/// Configuration of `Source`. Validated once, in `Init`, which reports every problem at once in
/// one `laredo::ConfigError`. Nothing that ends up in a request header (credentials, region,
/// endpoint hosts) may contain control characters.
struct SourceOptions {
  /// S3 bucket holding `manifest.json` and the table objects. Required.
  std::string bucket{};
  /// Key prefix of the snapshot, e.g. "exports/orders" (a trailing '/' is optional). Default "".
  std::string prefix{};
  /// Kinesis stream to follow. Default "": the manifest's `stream`.
  std::string stream_name{};
  /// Default "": AWS_REGION, else AWS_DEFAULT_REGION.
  std::string region{};
  /// Endpoint URL overrides ("http://127.0.0.1:4567"); plain HTTP is allowed. Default "": AWS.
  /// S3 is addressed path-style (https://host/bucket/key).
  std::string s3_endpoint{};
  std::string kinesis_endpoint{};
  /// Default: from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN.
  std::optional<AwsCredentials> credentials{};
  /// Renews temporary credentials (see `AwsCredentialsProvider`); asked before every request
  /// and preferred over `credentials`. An ExpiredToken answer is a `RetryableError`
  /// ("expired_credentials"), so the retry signs with what the provider returns then.
  /// Default none.
  AwsCredentialsProvider credentials_provider{};

  /// How long an open, caught-up shard (no records, MillisBehindLatest 0) waits before its next
  /// GetRecords. Default 1 s.
  std::chrono::milliseconds poll_interval{1000};
  /// Least time between two GetRecords on one shard (Kinesis allows 5 per second). Default 200 ms.
  std::chrono::milliseconds min_get_records_interval{200};
  /// `Limit` of each GetRecords call (Kinesis allows at most 10000). Default 10000.
  int max_records_per_call = 10000;
  /// How often the shard list is refreshed to find new shards; it is also refreshed whenever a
  /// shard ends. Default 10 s.
  std::chrono::milliseconds shard_discovery_interval{10'000};
  /// Wait before polling a shard again after it was throttled (or its temporary credentials
  /// expired): `Delay(n)` after the n-th consecutive time, per shard, while the other shards go
  /// on. Default 100 ms doubling up to 5 s.
  Backoff throttle_backoff{.initial = std::chrono::milliseconds(100),
                           .max = std::chrono::milliseconds(5000),
                           .multiplier = 2.0};
  /// Longest wait for connecting to an endpoint: the TCP connection and the TLS handshake (name
  /// resolution is left to the system resolver and its own limits). Default 10 s.
  std::chrono::milliseconds connect_timeout{10'000};
  /// Longest wait for sending a request and for each read of its response: a server that accepts
  /// the connection but does not answer fails the request ("timed out after N ms talking to
  /// HOST", a `RetryableError`) within this budget. Keep it above Kinesis's and S3's slowest
  /// answers. Default 30 s.
  std::chrono::milliseconds read_timeout{30'000};
  /// Page size of S3 listings (`max-keys`); 0 leaves the server's default (1000). Default 0.
  int list_page_size = 0;

  /// Where acknowledged positions are kept. With one, `SupportsResume()` is true and a restart
  /// continues after the saved position. Default none.
  std::shared_ptr<CheckpointStore> checkpoint_store{};

  /// Called (on the thread running `Stream`) for each record that does not follow the contract.
  /// Such a record produces no change event: it goes to `ChangeHandler::OnInvalidRecord` (the
  /// engine reports it to its observer and writes a dead letter), is logged and counted
  /// (`Source::MalformedRecords`). Must not throw. Default none.
  std::function<void(const MalformedRecord&)> on_malformed_record{};
};

/// Baseline from a JSON-Lines snapshot in S3, then the change stream from Kinesis. The data
/// contract is docs/kinesis-data-contract.md.
///
/// Positions are `StreamPosition` values (the `std::any` payload): the snapshot id plus, per
/// shard, the sequence number of the last record delivered. Every event carries the frontier of
/// every shard as of that event. Each GetRecords page reaches the handler in one
/// `ChangeHandler::OnChanges` call (split around malformed records, which go to
/// `OnInvalidRecord` in their place), from the thread running `Stream`, while a few fetch threads
/// of the source read the next pages of every shard (at most two pages per shard ahead). A child
/// shard is read only after all of its parents were read to their end, so the changes of one key
/// stay in order across splits and merges.
///
/// Threading contract: that of `laredo::SyncSource`. `Init`, `ValidateTables`, `Baseline` and
/// `Stream` come from one thread; `Ack`, `Pause`, `Resume`, `GetLag`, `State`,
/// `LastAckedPosition`, `MalformedRecords` and the position functions are thread-safe.
class Source final : public laredo::SyncSource {
 public:
  explicit Source(SourceOptions options);
  ~Source() override;
  Source(const Source&) = delete;
  Source& operator=(const Source&) = delete;

  std::map<TableIdentifier, std::vector<ColumnDefinition>> Init(
      const SourceConfig& config) override;
  std::vector<ValidationError> ValidateTables(const std::vector<TableIdentifier>& tables) override;
  Position Baseline(std::stop_token stop, const std::vector<TableIdentifier>& tables,
                    const RowCallback& on_row) override;
  void Stream(std::stop_token stop, const Position& from, ChangeHandler& handler) override;
  void Ack(const Position& position) override;
  bool SupportsResume() const override;
  Position LastAckedPosition() override;
  int ComparePositions(const Position& a, const Position& b) const override;
  std::string PositionToString(const Position& position) const override;
  Position PositionFromString(std::string_view text) const override;
  void Pause() override;
  void Resume() override;
  LagInfo GetLag() const override;
  laredo::OrderingGuarantee OrderingGuarantee() const override;
  SourceState State() const override;
  void Close() override;

  /// Records rejected as malformed since construction.
  [[nodiscard]] std::uint64_t MalformedRecords() const;

  struct Impl;

 private:
  // The library's own tests reach the implementation (fault injection) through it; it is declared
  // in an internal header only.
  friend struct SourceInternals;
  std::unique_ptr<Impl> impl_;
};

}  // namespace laredo::kinesis
