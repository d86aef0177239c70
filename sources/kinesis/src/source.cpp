#include "laredo/kinesis/source.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "contract.hpp"
#include "kinesis_client.hpp"
#include "laredo/error.hpp"
#include "laredo/error_codes.hpp"
#include "laredo/logging.hpp"
#include "s3_client.hpp"
#include "shard_streamer.hpp"
#include "snapshot_reader.hpp"
#include "source_internals.hpp"

namespace laredo::kinesis {
namespace {

const StreamPosition& AsStreamPosition(const Position& position) {
  const auto* p = std::any_cast<StreamPosition>(&position);
  if (p == nullptr) throw DataError(codes::kBadPosition, "not a kinesis source position");
  return *p;
}

// The test hook names an AWS error; these turn it into the response the server would send.
aws::FaultInjector JsonFault(const AwsFaultHook& fault_hook) {
  if (!fault_hook) return {};
  return [hook = fault_hook](std::string_view operation) -> std::optional<http::Response> {
    auto type = hook(operation);
    if (!type) return std::nullopt;
    return http::Response{
        .status = 400,
        .headers = {},
        .body = nlohmann::json{{"__type", *type}, {"message", "injected"}}.dump()};
  };
}

aws::FaultInjector XmlFault(const AwsFaultHook& fault_hook) {
  if (!fault_hook) return {};
  return [hook = fault_hook](std::string_view operation) -> std::optional<http::Response> {
    auto type = hook(operation);
    if (!type) return std::nullopt;
    return http::Response{
        .status = 503,
        .headers = {},
        .body = fmt::format("<Error><Code>{}</Code><Message>injected</Message></Error>", *type)};
  };
}

}  // namespace

struct Source::Impl {
  SourceOptions options;
  AwsFaultHook fault_hook;  // tests only (SourceInternals)
  std::unique_ptr<aws::S3Client> s3;
  std::unique_ptr<aws::KinesisClient> kinesis;
  std::optional<contract::Manifest> manifest;
  std::unique_ptr<contract::Decoder> decoder;
  std::string stream;
  StreamShared shared;
  std::atomic<SourceState> state{SourceState::Connecting};
  std::mutex ack_mutex;
  std::optional<StreamPosition> last_saved;  // guarded by ack_mutex
  // A baseline completed since the last save: the next ack starts a new checkpoint lineage.
  // Guarded by ack_mutex.
  bool new_lineage = false;
  // A baseline began since Init: the next one (a re-baseline, or a retry) looks for a newer
  // manifest first.
  bool baselined = false;

  // A re-baseline loads the newest snapshot, not the one Init read: that one may be far behind
  // (the records after its position aged out of the stream) or pruned by its producer. A newer
  // manifest is taken only with the same stream and the same columns for `tables`, those the
  // targets were initialised with; otherwise the one of Init stays, as before.
  void AdoptNewestManifest(const std::vector<TableIdentifier>& tables) {
    contract::Manifest newest =
        contract::ParseManifest(s3->GetObjectText(options.bucket, Key("manifest.json")));
    if (newest.snapshot_id <= manifest->snapshot_id || newest.stream != manifest->stream) return;
    for (const auto& table : tables) {
      const auto old_table = manifest->tables.find(table);
      const auto new_table = newest.tables.find(table);
      if (old_table == manifest->tables.end() || new_table == newest.tables.end() ||
          old_table->second.columns != new_table->second.columns) {
        return;
      }
    }
    manifest = std::move(newest);
    decoder = std::make_unique<contract::Decoder>(*manifest);
  }

  [[nodiscard]] std::string Key(std::string_view relative) const {
    return options.prefix + std::string(relative);
  }
  [[nodiscard]] std::string ManifestUrl() const {
    return fmt::format("s3://{}/{}manifest.json", options.bucket, options.prefix);
  }

  void Connect() {
    std::vector<std::string> problems;
    if (options.bucket.empty()) problems.emplace_back("SourceOptions.bucket is empty");
    if (options.region.empty()) options.region = RegionFromEnvironment();
    if (options.region.empty()) {
      problems.emplace_back("no region: set SourceOptions.region or AWS_REGION");
    }
    aws::AddRegionProblems(options.region, "SourceOptions.region", problems);
    const AwsCredentials credentials =
        options.credentials.value_or(AwsCredentials::FromEnvironment());
    if (credentials.empty() && !options.credentials_provider) {
      problems.emplace_back(
          "no credentials: set SourceOptions.credentials, SourceOptions.credentials_provider or "
          "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY");
    }
    if (!options.credentials_provider) {
      aws::AddCredentialProblems(
          credentials,
          options.credentials ? "SourceOptions.credentials" : "AWS_* environment credentials",
          problems);
    }
    if (options.max_records_per_call < 1 || options.max_records_per_call > 10000) {
      problems.emplace_back("SourceOptions.max_records_per_call must be within 1..10000");
    }
    if (options.list_page_size < 0 || options.list_page_size > 1000) {
      problems.emplace_back("SourceOptions.list_page_size must be within 0..1000");
    }
    if (options.connect_timeout <= std::chrono::milliseconds(0)) {
      problems.emplace_back("SourceOptions.connect_timeout must be positive");
    }
    if (options.read_timeout <= std::chrono::milliseconds(0)) {
      problems.emplace_back("SourceOptions.read_timeout must be positive");
    }
    options.throttle_backoff.Validate("SourceOptions.throttle_backoff", problems);
    // Each endpoint on its own, so that a bad one does not hide a bad other.
    const http::Endpoint s3_endpoint = aws::ResolveEndpoint(
        options.s3_endpoint, "s3", options.region, "SourceOptions.s3_endpoint", problems);
    const http::Endpoint kinesis_endpoint =
        aws::ResolveEndpoint(options.kinesis_endpoint, "kinesis", options.region,
                             "SourceOptions.kinesis_endpoint", problems);
    if (!problems.empty()) throw ConfigError(std::move(problems));
    if (!options.prefix.empty() && !options.prefix.ends_with('/')) options.prefix += '/';

    // One HTTP client (one connection pool) for both services.
    const auto service =
        [&, client = std::shared_ptr<http::Client>(http::MakeBeastClient(
                {.connect_timeout = options.connect_timeout, .io_timeout = options.read_timeout}))](
            const char* name, const http::Endpoint& endpoint, aws::FaultInjector fault) {
          return aws::ServiceConfig{.http = client,
                                    .credentials = credentials,
                                    .credentials_provider = options.credentials_provider,
                                    .region = options.region,
                                    .service = name,
                                    .endpoint = endpoint,
                                    .fault_injector = std::move(fault)};
        };
    s3 = std::make_unique<aws::S3Client>(service("s3", s3_endpoint, XmlFault(fault_hook)));
    kinesis = std::make_unique<aws::KinesisClient>(
        service("kinesis", kinesis_endpoint, JsonFault(fault_hook)));
  }
};

Source::Source(SourceOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
}

Source::~Source() = default;

void SourceInternals::SetFaultInjector(Source& source, AwsFaultHook hook) {
  source.impl_->fault_hook = std::move(hook);
}

std::map<TableIdentifier, std::vector<ColumnDefinition>> Source::Init(const SourceConfig& config) {
  Impl& d = *impl_;
  if (!d.s3) d.Connect();
  d.state = SourceState::Connecting;
  std::string text;
  try {
    text = d.s3->GetObjectText(d.options.bucket, d.Key("manifest.json"));
  } catch (const FatalError& e) {
    throw FatalError(e.code(), fmt::format("reading manifest {}: {}", d.ManifestUrl(), e.what()));
  }
  try {
    d.manifest = contract::ParseManifest(text);
  } catch (const DataError& e) {
    throw DataError(e.code(), fmt::format("manifest {}: {}", d.ManifestUrl(), e.what()));
  }
  d.decoder = std::make_unique<contract::Decoder>(*d.manifest);
  d.baselined = false;
  d.stream = d.options.stream_name.empty() ? d.manifest->stream : d.options.stream_name;
  d.state = SourceState::Connected;

  std::map<TableIdentifier, std::vector<ColumnDefinition>> columns;
  for (const auto& table : config.tables) {
    if (const auto it = d.manifest->tables.find(table); it != d.manifest->tables.end()) {
      columns.emplace(table, it->second.columns);
    }
  }
  return columns;
}

std::vector<ValidationError> Source::ValidateTables(const std::vector<TableIdentifier>& tables) {
  Impl& d = *impl_;
  if (!d.manifest) throw FatalError(codes::kNotInitialized, "ValidateTables called before Init");
  std::vector<ValidationError> problems;
  for (const auto& table : tables) {
    if (!d.manifest->tables.contains(table)) {
      problems.push_back({table, validation_codes::kTableNotFound,
                          fmt::format("not in the manifest {} (snapshot {})", d.ManifestUrl(),
                                      d.manifest->snapshot_id)});
    }
  }
  try {
    const std::string status = d.kinesis->DescribeStreamStatus(d.stream);
    if (status != "ACTIVE" && status != "UPDATING") {
      problems.push_back({std::nullopt, validation_codes::kStreamNotActive,
                          fmt::format("Kinesis stream {} is {}", d.stream, status)});
    }
  } catch (const Error& e) {
    problems.push_back({std::nullopt,
                        e.code() == codes::kNotFound ? validation_codes::kStreamNotFound
                                                     : validation_codes::kStreamUnreachable,
                        fmt::format("Kinesis stream {}: {}", d.stream, e.what())});
  }
  return problems;
}

Position Source::Baseline(std::stop_token stop, const std::vector<TableIdentifier>& tables,
                          const RowCallback& on_row) {
  Impl& d = *impl_;
  if (!d.manifest) throw FatalError(codes::kNotInitialized, "Baseline called before Init");
  if (d.baselined) d.AdoptNewestManifest(tables);
  d.baselined = true;
  const SnapshotLocation location{.bucket = d.options.bucket,
                                  .prefix = d.options.prefix,
                                  .list_page_size = d.options.list_page_size};
  if (!ReadSnapshot(stop, *d.s3, *d.decoder, *d.manifest, tables, location, on_row)) return {};
  {
    // The targets now hold the snapshot, and the stream is read again from its start: positions
    // behind the saved checkpoint are this lineage's and must be accepted, not refused as a move
    // backwards. The store is told at the first ack, once something of it is durable.
    const std::lock_guard lock(d.ack_mutex);
    d.new_lineage = true;
    d.last_saved.reset();
  }
  return Position(d.manifest->StartPosition());
}

void Source::Stream(std::stop_token stop, const Position& from, ChangeHandler& handler) {
  Impl& d = *impl_;
  if (!d.decoder) throw FatalError(codes::kNotInitialized, "Stream called before Init");
  const StreamPosition start =
      from.has_value() ? AsStreamPosition(from) : d.manifest->StartPosition();
  d.state = SourceState::Streaming;
  handler.OnStateChanged(SourceState::Streaming);
  ShardStreamer streamer(*d.kinesis, d.stream, *d.decoder, d.options, d.shared);
  try {
    streamer.Run(stop, start, handler);
  } catch (const RetryableError&) {
    d.state = SourceState::Reconnecting;
    throw;
  } catch (...) {
    d.state = SourceState::Error;
    throw;
  }
  d.state = SourceState::Connected;
}

void Source::Ack(const Position& position) {
  Impl& d = *impl_;
  if (!d.options.checkpoint_store) return;
  const StreamPosition& p = AsStreamPosition(position);
  const std::lock_guard lock(d.ack_mutex);
  if (d.new_lineage) {
    d.options.checkpoint_store->StartLineage(p);
    d.last_saved = p;
    d.new_lineage = false;
    return;
  }
  // The engine acks in order; an older or equal position is not an advance.
  if (d.last_saved && d.last_saved->snapshot_id == p.snapshot_id &&
      StreamPosition::Covers(*d.last_saved, p)) {
    return;
  }
  d.options.checkpoint_store->Save(p);
  d.last_saved = p;
}

bool Source::SupportsResume() const { return impl_->options.checkpoint_store != nullptr; }

Position Source::LastAckedPosition() {
  Impl& d = *impl_;
  if (!d.options.checkpoint_store) return {};
  auto saved = d.options.checkpoint_store->Load();
  if (!saved) return {};
  const std::lock_guard lock(d.ack_mutex);
  d.last_saved = saved;
  return Position(std::move(*saved));
}

int Source::ComparePositions(const Position& a, const Position& b) const {
  return StreamPosition::Compare(AsStreamPosition(a), AsStreamPosition(b));
}

std::string Source::PositionToString(const Position& position) const {
  return AsStreamPosition(position).ToString();
}

Position Source::PositionFromString(std::string_view text) const {
  return Position(StreamPosition::Parse(text));
}

void Source::Pause() {
  {
    const std::lock_guard lock(impl_->shared.mutex);
    impl_->shared.paused = true;
  }
  impl_->shared.wake.notify_all();
}

void Source::Resume() {
  {
    const std::lock_guard lock(impl_->shared.mutex);
    impl_->shared.paused = false;
  }
  impl_->shared.wake.notify_all();
}

LagInfo Source::GetLag() const {
  const std::int64_t behind = impl_->shared.millis_behind.load();
  LagInfo lag;
  if (behind >= 0) lag.lag_time = std::chrono::milliseconds(behind);
  return lag;
}

laredo::OrderingGuarantee Source::OrderingGuarantee() const {
  return laredo::OrderingGuarantee::PerPartitionOrder;
}

SourceState Source::State() const {
  {
    const std::lock_guard lock(impl_->shared.mutex);
    // Paused once the stream thread is parked: a GetRecords in flight at Pause still delivers.
    if (impl_->shared.parked && impl_->state.load() == SourceState::Streaming) {
      return SourceState::Paused;
    }
  }
  return impl_->state.load();
}

void Source::Close() { impl_->state = SourceState::Closed; }

std::uint64_t Source::MalformedRecords() const { return impl_->shared.malformed.load(); }

}  // namespace laredo::kinesis
