#include "publisher_config.hpp"

#include <fmt/format.h>

#include "aws_client.hpp"
#include "laredo/error.hpp"

namespace laredo::kinesis::publish {
namespace {

constexpr std::size_t kKinesisMaxRecords = 500;
constexpr std::size_t kKinesisMaxRequestBytes = std::size_t{5} << 20;
constexpr std::size_t kKinesisMaxRecordBytes = std::size_t{1} << 20;
constexpr std::size_t kS3MinPartBytes = std::size_t{5} << 20;

AwsCredentials CredentialsOf(const PublisherOptions& options) {
  return options.credentials.value_or(AwsCredentials::FromEnvironment());
}

void ValidateSnapshots(const PublisherOptions& options, std::vector<std::string>& problems) {
  const PublisherSnapshotOptions& o = options.snapshots;
  if (o.bucket.empty()) return;
  if (o.interval <= std::chrono::milliseconds(0)) {
    problems.emplace_back("PublisherOptions.snapshots.interval must be positive");
  }
  if (o.quiesce_timeout <= std::chrono::milliseconds(0)) {
    problems.emplace_back("PublisherOptions.snapshots.quiesce_timeout must be positive");
  }
  if (o.keep < 1) problems.emplace_back("PublisherOptions.snapshots.keep must be at least 1");
  if (o.object_bytes < 1) {
    problems.emplace_back("PublisherOptions.snapshots.object_bytes must be at least 1");
  }
  if (o.upload_part_bytes < kS3MinPartBytes) {
    problems.emplace_back(
        "PublisherOptions.snapshots.upload_part_bytes must be at least 5242880 (5 MiB, the S3 "
        "minimum part)");
  }
  if (o.credentials) {
    aws::AddCredentialProblems(*o.credentials, "PublisherOptions.snapshots.credentials", problems);
  }
  aws::ResolveEndpoint(o.endpoint, "s3", options.region, "PublisherOptions.snapshots.endpoint",
                       problems);
}

}  // namespace

void ValidateOptions(PublisherOptions& options) {
  std::vector<std::string> problems;
  const auto positive = [&](std::chrono::milliseconds value, const char* name) {
    if (value <= std::chrono::milliseconds(0)) {
      problems.push_back(fmt::format("PublisherOptions.{} must be positive", name));
    }
  };
  if (options.stream_name.empty()) problems.emplace_back("PublisherOptions.stream_name is empty");
  if (options.region.empty()) options.region = RegionFromEnvironment();
  if (options.region.empty()) {
    problems.emplace_back("no region: set PublisherOptions.region or AWS_REGION");
  }
  aws::AddRegionProblems(options.region, "PublisherOptions.region", problems);
  const AwsCredentials credentials = CredentialsOf(options);
  if (credentials.empty() && !options.credentials_provider) {
    problems.emplace_back(
        "no credentials: set PublisherOptions.credentials, PublisherOptions.credentials_provider "
        "or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY");
  }
  if (!options.credentials_provider) {
    aws::AddCredentialProblems(
        credentials,
        options.credentials ? "PublisherOptions.credentials" : "AWS_* environment credentials",
        problems);
  }
  if (options.max_records_per_request < 1 || options.max_records_per_request > kKinesisMaxRecords) {
    problems.emplace_back("PublisherOptions.max_records_per_request must be within 1..500");
  }
  if (options.max_request_bytes < 1 || options.max_request_bytes > kKinesisMaxRequestBytes) {
    problems.emplace_back("PublisherOptions.max_request_bytes must be within 1..5242880 (5 MiB)");
  }
  if (options.max_record_bytes < 1 || options.max_record_bytes > kKinesisMaxRecordBytes ||
      options.max_record_bytes > options.max_request_bytes) {
    problems.emplace_back(
        "PublisherOptions.max_record_bytes must be within 1..1048576 (1 MiB) and at most "
        "max_request_bytes");
  }
  if (options.max_in_flight < 1 || options.max_in_flight > 64) {
    problems.emplace_back("PublisherOptions.max_in_flight must be within 1..64");
  }
  if (options.max_buffered_records < 1) {
    problems.emplace_back("PublisherOptions.max_buffered_records must be at least 1");
  }
  if (options.max_buffered_bytes < options.max_record_bytes) {
    problems.emplace_back("PublisherOptions.max_buffered_bytes must be at least max_record_bytes");
  }
  positive(options.buffer_full_timeout, "buffer_full_timeout");
  positive(options.close_timeout, "close_timeout");
  positive(options.connect_timeout, "connect_timeout");
  positive(options.read_timeout, "read_timeout");
  options.retry_backoff.Validate("PublisherOptions.retry_backoff", problems);
  aws::ResolveEndpoint(options.endpoint, "kinesis", options.region, "PublisherOptions.endpoint",
                       problems);
  ValidateSnapshots(options, problems);
  if (!problems.empty()) throw ConfigError(std::move(problems));
}

aws::ServiceConfig ServiceFor(const PublisherOptions& options, const char* service,
                              std::size_t connections) {
  const bool s3 = std::string_view(service) == "s3";
  const auto& own = options.snapshots.credentials;
  return aws::ServiceConfig{
      .http = std::shared_ptr<http::Client>(
          http::MakeBeastClient({.connect_timeout = options.connect_timeout,
                                 .io_timeout = options.read_timeout,
                                 .max_idle_per_endpoint = connections})),
      .credentials = s3 && own ? *own : CredentialsOf(options),
      .credentials_provider = s3 && own ? AwsCredentialsProvider{} : options.credentials_provider,
      .region = options.region,
      .service = service,
      .endpoint = aws::ResolveEndpoint(s3 ? options.snapshots.endpoint : options.endpoint, service,
                                       options.region),
      .fault_injector = {}};
}

std::unique_ptr<PutSender> MakeSender(const PublisherOptions& options) {
  aws::ServiceConfig service =
      ServiceFor(options, "kinesis", static_cast<std::size_t>(options.max_in_flight));
  SenderConfig config{.stream = options.stream_name,
                      .limits = {.max_records = options.max_records_per_request,
                                 .max_bytes = options.max_request_bytes},
                      .threads = options.max_in_flight,
                      .max_buffered_records = options.max_buffered_records,
                      .max_buffered_bytes = options.max_buffered_bytes,
                      .backoff = options.retry_backoff};
  return std::make_unique<PutSender>(std::move(config),
                                     std::make_unique<aws::KinesisClient>(std::move(service)));
}

}  // namespace laredo::kinesis::publish
