#include "laredo/kinesis/dynamodb_checkpoint_store.hpp"

#include <fmt/format.h>

#include <mutex>

#include "aws_client.hpp"
#include "laredo/error.hpp"
#include "laredo/error_codes.hpp"

namespace laredo::kinesis {
namespace {

using nlohmann::json;

struct Stored {
  StreamPosition position;
  std::uint64_t version = 0;
};

}  // namespace

struct DynamoDbCheckpointStore::Impl {
  DynamoDbCheckpointOptions options;
  aws::JsonApi api;
  std::mutex mutex;
  std::optional<Stored> known;  // the item as last read or written

  Impl(DynamoDbCheckpointOptions o, aws::ServiceConfig config)
      : options(std::move(o)),
        api(std::move(config), "DynamoDB_20120810", "application/x-amz-json-1.0") {}

  [[nodiscard]] json Key() const { return {{options.key_attribute, {{"S", options.key}}}}; }

  std::optional<Stored> Read() {
    const json out = api.Call(
        "GetItem", {{"TableName", options.table}, {"Key", Key()}, {"ConsistentRead", true}});
    const auto item = out.find("Item");
    if (item == out.end() || !item->is_object()) return std::nullopt;
    const auto corrupt = [&](const std::string& why) {
      return DataError(codes::kBadCheckpoint,
                       fmt::format("checkpoint item {}={} in DynamoDB table {} is not valid: {}",
                                   options.key_attribute, options.key, options.table, why));
    };
    try {
      Stored stored;
      stored.position = StreamPosition::Parse(item->at("position").at("S").get<std::string>());
      stored.version = std::stoull(item->at("version").at("N").get<std::string>());
      return stored;
    } catch (const DataError& e) {
      throw corrupt(e.what());
    } catch (const std::exception& e) {
      throw corrupt(e.what());
    }
  }

  // Save (checked to move forward) or StartLineage (not checked): a compare-and-set on `version`
  // either way, so a concurrent writer is seen and, for Save, re-checked. Holds `mutex`.
  void Put(const StreamPosition& position, bool new_lineage) {
    bool fresh = false;  // whether `known` was read in this call
    for (int attempt = 0; attempt < 20; ++attempt) {
      if (!fresh && !known) {
        known = Read();
        fresh = true;
      }
      if (!new_lineage && known && known->position.snapshot_id == position.snapshot_id) {
        if (known->position == position) return;
        if (!StreamPosition::Covers(position, known->position)) {
          throw FatalError(
              codes::kCheckpointBackwards,
              fmt::format("refusing to move checkpoint {} in {} back from {} to {}", options.key,
                          options.table, known->position.ToString(), position.ToString()));
        }
      }
      const std::uint64_t version = known ? known->version + 1 : 1;
      json input = {
          {"TableName", options.table},
          {"Item",
           {{options.key_attribute, {{"S", options.key}}},
            {"position", {{"S", position.ToString()}}},
            {"version", {{"N", std::to_string(version)}}}}},
          {"ExpressionAttributeNames", {{"#k", options.key_attribute}, {"#v", "version"}}}};
      if (known) {
        input["ConditionExpression"] = "#v = :v";
        input["ExpressionAttributeValues"] = {{":v", {{"N", std::to_string(known->version)}}}};
        input["ExpressionAttributeNames"].erase("#k");
      } else {
        input["ConditionExpression"] = "attribute_not_exists(#k)";
        input["ExpressionAttributeNames"].erase("#v");
      }
      try {
        api.Call("PutItem", input);
        known = Stored{position, version};
        return;
      } catch (const FatalError& e) {
        if (e.code() != codes::kConditionalCheckFailed) throw;
        // Another writer moved the item: read it again and re-check the direction.
        known = Read();
        fresh = true;
      }
    }
    throw RetryableError(codes::kCheckpointContention,
                         fmt::format("checkpoint {} in {} kept changing under 20 attempts to save",
                                     options.key, options.table));
  }
};

DynamoDbCheckpointStore::DynamoDbCheckpointStore(DynamoDbCheckpointOptions options) {
  if (options.region.empty()) options.region = RegionFromEnvironment();
  const AwsCredentials credentials =
      options.credentials.value_or(AwsCredentials::FromEnvironment());
  std::vector<std::string> problems;
  if (options.table.empty()) problems.emplace_back("DynamoDbCheckpointOptions.table is empty");
  if (options.key.empty()) problems.emplace_back("DynamoDbCheckpointOptions.key is empty");
  if (options.key_attribute.empty()) {
    problems.emplace_back("DynamoDbCheckpointOptions.key_attribute is empty");
  }
  if (options.region.empty()) {
    problems.emplace_back("no region: set DynamoDbCheckpointOptions.region or AWS_REGION");
  }
  if (credentials.empty() && !options.credentials_provider) {
    problems.emplace_back(
        "no credentials: set DynamoDbCheckpointOptions.credentials, "
        "DynamoDbCheckpointOptions.credentials_provider or AWS_ACCESS_KEY_ID and "
        "AWS_SECRET_ACCESS_KEY");
  }
  aws::AddRegionProblems(options.region, "DynamoDbCheckpointOptions.region", problems);
  if (!options.credentials_provider) {
    aws::AddCredentialProblems(credentials,
                               options.credentials ? "DynamoDbCheckpointOptions.credentials"
                                                   : "AWS_* environment credentials",
                               problems);
  }
  if (options.connect_timeout <= std::chrono::milliseconds(0)) {
    problems.emplace_back("DynamoDbCheckpointOptions.connect_timeout must be positive");
  }
  if (options.read_timeout <= std::chrono::milliseconds(0)) {
    problems.emplace_back("DynamoDbCheckpointOptions.read_timeout must be positive");
  }
  http::Endpoint endpoint = aws::ResolveEndpoint(options.endpoint, "dynamodb", options.region,
                                                 "DynamoDbCheckpointOptions.endpoint", problems);
  if (!problems.empty()) throw ConfigError(std::move(problems));
  aws::ServiceConfig config{
      .http = http::MakeBeastClient(
          {.connect_timeout = options.connect_timeout, .io_timeout = options.read_timeout}),
      .credentials = credentials,
      .credentials_provider = options.credentials_provider,
      .region = options.region,
      .service = "dynamodb",
      .endpoint = std::move(endpoint),
      .fault_injector = {}};
  impl_ = std::make_unique<Impl>(std::move(options), std::move(config));
}

DynamoDbCheckpointStore::~DynamoDbCheckpointStore() = default;

std::optional<StreamPosition> DynamoDbCheckpointStore::Load() {
  const std::lock_guard lock(impl_->mutex);
  impl_->known = impl_->Read();
  if (!impl_->known) return std::nullopt;
  return impl_->known->position;
}

void DynamoDbCheckpointStore::Save(const StreamPosition& position) {
  const std::lock_guard lock(impl_->mutex);
  impl_->Put(position, /*new_lineage=*/false);
}

void DynamoDbCheckpointStore::StartLineage(const StreamPosition& position) {
  const std::lock_guard lock(impl_->mutex);
  impl_->Put(position, /*new_lineage=*/true);
}

void DynamoDbCheckpointStore::CreateTableIfMissing() {
  const std::lock_guard lock(impl_->mutex);
  Impl& d = *impl_;
  try {
    d.api.Call("DescribeTable", {{"TableName", d.options.table}});
    return;
  } catch (const FatalError& e) {
    if (e.code() != codes::kNotFound) throw;
  }
  try {
    d.api.Call(
        "CreateTable",
        {{"TableName", d.options.table},
         {"AttributeDefinitions",
          json::array({{{"AttributeName", d.options.key_attribute}, {"AttributeType", "S"}}})},
         {"KeySchema",
          json::array({{{"AttributeName", d.options.key_attribute}, {"KeyType", "HASH"}}})},
         {"BillingMode", "PAY_PER_REQUEST"}});
  } catch (const FatalError& e) {
    // A concurrent creator won the race: that is fine.
    if (std::string_view(e.what()).find("ResourceInUseException") == std::string_view::npos) throw;
  }
}

}  // namespace laredo::kinesis
