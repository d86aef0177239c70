#include "publisher_config.hpp"

#include <fmt/format.h>

#include "aws_client.hpp"
#include "laredo/error.hpp"

namespace laredo::kinesis::publish {
namespace {

constexpr std::size_t kKinesisMaxRecords = 500;
constexpr std::size_t kKinesisMaxRequestBytes = std::size_t{5} << 20;
constexpr std::size_t kKinesisMaxRecordBytes = std::size_t{1} << 20;

AwsCredentials CredentialsOf(const PublisherOptions& options) {
  return options.credentials.value_or(AwsCredentials::FromEnvironment());
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
  if (!problems.empty()) throw ConfigError(std::move(problems));
}

std::unique_ptr<PutSender> MakeSender(const PublisherOptions& options) {
  aws::ServiceConfig service{
      .http = std::shared_ptr<http::Client>(http::MakeBeastClient(
          {.connect_timeout = options.connect_timeout,
           .io_timeout = options.read_timeout,
           .max_idle_per_endpoint = static_cast<std::size_t>(options.max_in_flight)})),
      .credentials = CredentialsOf(options),
      .credentials_provider = options.credentials_provider,
      .region = options.region,
      .service = "kinesis",
      .endpoint = aws::ResolveEndpoint(options.endpoint, "kinesis", options.region),
      .fault_injector = {}};
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
