// S3SnapshotStore: the files of a snapshot first, its metadata object last; a snapshot is what
// has metadata. See the class comment for pruning and crash leftovers.
#include "laredo/kinesis/s3_snapshot_store.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>
#include <mutex>
#include <set>

#include "aws_client.hpp"
#include "laredo/error.hpp"
#include "laredo/error_codes.hpp"
#include "laredo/logging.hpp"
#include "s3_client.hpp"
#include "s3_snapshot_files.hpp"

namespace laredo::kinesis {
namespace {

constexpr std::size_t kMinPartSize = std::size_t{5} << 20;
constexpr const char* kMetadataFile = "metadata.json";

}  // namespace

// What the store shares with the writers and readers it hands out (which may outlive it).
struct StoreState {
  S3SnapshotStoreOptions options;
  std::shared_ptr<aws::S3Client> s3;
  std::string root;  // "" or "prefix/"
  std::mutex mu;
  std::set<std::string> writing;  // ids of this store's uncommitted writers

  [[nodiscard]] std::string Key(const std::string& id, const std::string& name) const {
    return root + id + "/" + name;
  }
  /// The snapshot id a key belongs to, or "".
  [[nodiscard]] std::string IdOf(const std::string& key) const {
    if (!key.starts_with(root)) return {};
    const std::string rest = key.substr(root.size());
    const auto slash = rest.find('/');
    if (slash == std::string::npos) return {};
    std::string id = rest.substr(0, slash);
    return snapshot::IsSnapshotId(id) ? id : std::string();
  }
  void DeleteQuietly(const std::string& key) {
    try {
      s3->DeleteObject(options.bucket, key);
    } catch (const std::exception& e) {
      Logger()->warn("snapshot store: cannot delete s3://{}/{}: {}", options.bucket, key, e.what());
    }
  }
};

struct S3SnapshotStore::Impl : StoreState {};

namespace {

class S3Pending final : public snapshot::PendingSnapshot {
 public:
  S3Pending(std::shared_ptr<StoreState> store, std::string id)
      : store_(std::move(store)), id_(std::move(id)) {}
  ~S3Pending() override {
    if (!committed_) {
      for (const auto& key : keys_) store_->DeleteQuietly(key);
    }
    std::lock_guard lk(store_->mu);
    store_->writing.erase(id_);
  }
  std::unique_ptr<snapshot::ByteSink> CreateFile(const std::string& name) override {
    std::string key = store_->Key(id_, name);
    {
      std::lock_guard lk(mu_);
      keys_.push_back(key);
    }
    return MakeS3Sink(store_->s3, store_->options.bucket, std::move(key),
                      store_->options.part_size);
  }
  void Commit(const snapshot::SnapshotMetadata& metadata) override {
    // The commit point: until this object exists, the snapshot does not.
    store_->s3->PutObject(store_->options.bucket, store_->Key(id_, kMetadataFile),
                          metadata.ToJson());
    committed_ = true;
  }

 private:
  std::shared_ptr<StoreState> store_;
  std::string id_;
  std::mutex mu_;
  std::vector<std::string> keys_;
  bool committed_ = false;
};

class S3Files final : public snapshot::SnapshotFiles {
 public:
  S3Files(std::shared_ptr<StoreState> store, std::string id)
      : store_(std::move(store)), id_(std::move(id)) {}
  std::unique_ptr<snapshot::ByteSource> OpenFile(const std::string& name) override {
    return MakeS3Source(store_->s3, store_->options.bucket, store_->Key(id_, name),
                        store_->options.read_size);
  }

 private:
  std::shared_ptr<StoreState> store_;
  std::string id_;
};

}  // namespace

S3SnapshotStore::S3SnapshotStore(S3SnapshotStoreOptions options) {
  if (options.region.empty()) options.region = RegionFromEnvironment();
  while (options.prefix.starts_with('/')) options.prefix.erase(0, 1);
  while (options.prefix.ends_with('/')) options.prefix.pop_back();
  const AwsCredentials credentials =
      options.credentials.value_or(AwsCredentials::FromEnvironment());
  std::vector<std::string> problems;
  if (options.bucket.empty()) problems.emplace_back("S3SnapshotStoreOptions.bucket is empty");
  if (options.region.empty()) {
    problems.emplace_back("no region: set S3SnapshotStoreOptions.region or AWS_REGION");
  }
  if (credentials.empty() && !options.credentials_provider) {
    problems.emplace_back(
        "no credentials: set S3SnapshotStoreOptions.credentials, "
        "S3SnapshotStoreOptions.credentials_provider or AWS_ACCESS_KEY_ID and "
        "AWS_SECRET_ACCESS_KEY");
  }
  aws::AddRegionProblems(options.region, "S3SnapshotStoreOptions.region", problems);
  if (!options.credentials_provider) {
    aws::AddCredentialProblems(credentials,
                               options.credentials ? "S3SnapshotStoreOptions.credentials"
                                                   : "AWS_* environment credentials",
                               problems);
  }
  if (options.part_size < kMinPartSize) {
    problems.emplace_back(
        "S3SnapshotStoreOptions.part_size must be at least 5 MiB (S3's "
        "minimum part size)");
  }
  if (options.read_size == 0) problems.emplace_back("S3SnapshotStoreOptions.read_size is 0");
  if (options.connect_timeout <= std::chrono::milliseconds(0)) {
    problems.emplace_back("S3SnapshotStoreOptions.connect_timeout must be positive");
  }
  if (options.read_timeout <= std::chrono::milliseconds(0)) {
    problems.emplace_back("S3SnapshotStoreOptions.read_timeout must be positive");
  }
  http::Endpoint endpoint = aws::ResolveEndpoint(options.endpoint, "s3", options.region,
                                                 "S3SnapshotStoreOptions.endpoint", problems);
  if (!problems.empty()) throw ConfigError(std::move(problems));
  aws::ServiceConfig config{
      .http = http::MakeBeastClient(
          {.connect_timeout = options.connect_timeout, .io_timeout = options.read_timeout}),
      .credentials = credentials,
      .credentials_provider = options.credentials_provider,
      .region = options.region,
      .service = "s3",
      .endpoint = std::move(endpoint),
      .fault_injector = {}};
  impl_ = std::make_shared<Impl>();
  impl_->root = options.prefix.empty() ? std::string() : options.prefix + "/";
  impl_->options = std::move(options);
  impl_->s3 = std::make_shared<aws::S3Client>(std::move(config));
}

S3SnapshotStore::~S3SnapshotStore() = default;

std::unique_ptr<snapshot::SnapshotWriter> S3SnapshotStore::Begin() {
  std::string id = snapshot::NewSnapshotId();
  {
    std::lock_guard lk(impl_->mu);
    impl_->writing.insert(id);
  }
  auto pending = std::make_unique<S3Pending>(impl_, id);
  return std::make_unique<snapshot::SnapshotWriter>(std::move(id), std::move(pending),
                                                    impl_->options.table_file);
}

std::vector<snapshot::SnapshotMetadata> S3SnapshotStore::List() {
  Impl& d = *impl_;
  std::vector<snapshot::SnapshotMetadata> out;
  for (const auto& key : d.s3->ListAllObjects(d.options.bucket, d.root, 1000)) {
    const std::string id = d.IdOf(key);
    if (id.empty() || key != d.Key(id, kMetadataFile)) continue;
    const std::string name = "s3://" + d.options.bucket + "/" + key;
    try {
      auto m =
          snapshot::SnapshotMetadata::FromJson(d.s3->GetObjectText(d.options.bucket, key), name);
      if (m.id != id) throw DataError(codes::kBadSnapshot, name + " names snapshot " + m.id);
      out.push_back(std::move(m));
    } catch (const DataError& e) {
      Logger()->warn("snapshot store: skipping snapshot {}: {}", name, e.what());
    }
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.id > b.id; });
  return out;
}

std::unique_ptr<snapshot::SnapshotReader> S3SnapshotStore::Open(const std::string& id) {
  Impl& d = *impl_;
  const std::string key = d.Key(id, kMetadataFile);
  const std::string name = "s3://" + d.options.bucket + "/" + key;
  std::string text;
  try {
    if (!snapshot::IsSnapshotId(id)) throw FatalError(codes::kNotFound, "not an id");
    text = d.s3->GetObjectText(d.options.bucket, key);
  } catch (const FatalError& e) {
    if (e.code() != codes::kNotFound) throw;
    throw Error(codes::kSnapshotNotFound, "snapshot store s3://" + d.options.bucket + "/" + d.root +
                                              " has no snapshot " + id);
  }
  auto metadata = snapshot::SnapshotMetadata::FromJson(text, name);
  return std::make_unique<snapshot::SnapshotReader>(std::move(metadata),
                                                    std::make_unique<S3Files>(impl_, id));
}

std::size_t S3SnapshotStore::Prune(std::size_t keep) {
  Impl& d = *impl_;
  const auto listed = List();
  std::set<std::string> kept;
  for (std::size_t i = 0; i < std::min(keep, listed.size()); ++i) kept.insert(listed[i].id);
  std::size_t removed = 0;
  for (std::size_t i = keep; i < listed.size(); ++i) {
    // The metadata first: the snapshot stops existing before any of its files goes.
    d.s3->DeleteObject(d.options.bucket, d.Key(listed[i].id, kMetadataFile));
    ++removed;
  }
  // Files of pruned snapshots, of abandoned or crashed writers, of interrupted prunes: any id
  // older than the newest committed snapshot that is neither kept nor being written here.
  const std::string newest = listed.empty() ? std::string() : listed.front().id;
  std::set<std::string> writing;
  {
    std::lock_guard lk(d.mu);
    writing = d.writing;
  }
  for (const auto& key : d.s3->ListAllObjects(d.options.bucket, d.root, 1000)) {
    const std::string id = d.IdOf(key);
    if (id.empty() || kept.count(id) != 0 || writing.count(id) != 0 || id >= newest) continue;
    d.s3->DeleteObject(d.options.bucket, key);
  }
  return removed;
}

}  // namespace laredo::kinesis
