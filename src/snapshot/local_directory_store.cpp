// LocalDirectoryStore: a snapshot is a directory, written under a temporary name and renamed into
// place, so the rename is the commit (see the class comment for the order of the fsyncs).
#include "laredo/snapshot/local_directory_store.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <mutex>
#include <set>
#include <system_error>

#include "laredo/error.hpp"
#include "laredo/error_codes.hpp"
#include "laredo/logging.hpp"
#include "snapshot/local_files.hpp"

namespace laredo::snapshot {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kTempPrefix = ".tmp-";
constexpr std::string_view kDeletePrefix = ".del-";
constexpr const char* kMetadataFile = "metadata.json";

void RemoveTree(const fs::path& path) {
  std::error_code ec;
  fs::remove_all(path, ec);
  if (ec) Logger()->warn("snapshot store: cannot remove {}: {}", path.string(), ec.message());
}

class LocalFiles final : public SnapshotFiles {
 public:
  explicit LocalFiles(fs::path dir) : dir_(std::move(dir)) {}
  std::unique_ptr<ByteSource> OpenFile(const std::string& name) override {
    return local::OpenFile(dir_ / name);
  }

 private:
  fs::path dir_;
};

}  // namespace

struct LocalDirectoryStore::State {
  std::mutex mu;
  std::set<std::string> writing;  // ids of this object's uncommitted writers
};

struct LocalDirectoryStore::Pending final : PendingSnapshot {
  std::shared_ptr<State> state;
  fs::path root;
  std::string id;
  bool committed = false;

  [[nodiscard]] fs::path Temp() const { return root / (std::string(kTempPrefix) + id); }

  ~Pending() override {
    if (!committed) RemoveTree(Temp());
    std::lock_guard lk(state->mu);
    state->writing.erase(id);
  }
  std::unique_ptr<ByteSink> CreateFile(const std::string& name) override {
    return local::CreateFile(Temp() / name);
  }
  void Commit(const SnapshotMetadata& metadata) override {
    local::WriteFile(Temp() / kMetadataFile, metadata.ToJson());
    local::SyncDirectory(Temp());
    const fs::path final_dir = root / id;
    std::error_code ec;
    fs::rename(Temp(), final_dir, ec);
    if (ec) {
      errno = ec.value();
      local::ThrowIo("cannot rename into place", final_dir);
    }
    committed = true;
    local::SyncDirectory(root);
  }
};

LocalDirectoryStore::LocalDirectoryStore(LocalDirectoryStoreOptions options)
    : options_(std::move(options)), state_(std::make_shared<State>()) {
  if (options_.directory.empty()) {
    throw ConfigError({"LocalDirectoryStore: options.directory is required"});
  }
  std::error_code ec;
  fs::create_directories(options_.directory, ec);
  if (ec) {
    errno = ec.value();
    local::ThrowIo("cannot create", options_.directory);
  }
}

std::unique_ptr<SnapshotWriter> LocalDirectoryStore::Begin() {
  auto pending = std::make_unique<Pending>();
  pending->state = state_;
  pending->root = options_.directory;
  pending->id = NewSnapshotId();
  {
    std::lock_guard lk(state_->mu);
    state_->writing.insert(pending->id);
  }
  std::error_code ec;
  if (!fs::create_directory(pending->Temp(), ec)) {
    errno = ec ? ec.value() : EEXIST;
    local::ThrowIo("cannot create", pending->Temp());
  }
  std::string id = pending->id;
  return std::make_unique<SnapshotWriter>(std::move(id), std::move(pending), options_.table_file);
}

std::vector<SnapshotMetadata> LocalDirectoryStore::List() {
  std::vector<SnapshotMetadata> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(options_.directory, ec)) {
    const std::string name = entry.path().filename().string();
    if (!IsSnapshotId(name) || !entry.is_directory()) continue;
    const fs::path metadata = entry.path() / kMetadataFile;
    try {
      SnapshotMetadata m = SnapshotMetadata::FromJson(local::ReadFile(metadata), metadata.string());
      if (m.id != name) {
        throw DataError(codes::kBadSnapshot, metadata.string() + " names snapshot " + m.id);
      }
      out.push_back(std::move(m));
    } catch (const Error& e) {
      Logger()->warn("snapshot store: skipping snapshot {}: {}", entry.path().string(), e.what());
    }
  }
  if (ec) {
    errno = ec.value();
    local::ThrowIo("cannot list", options_.directory);
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.id > b.id; });
  return out;
}

std::unique_ptr<SnapshotReader> LocalDirectoryStore::Open(const std::string& id) {
  const fs::path dir = options_.directory / id;
  const fs::path metadata = dir / kMetadataFile;
  if (!IsSnapshotId(id) || !fs::exists(metadata)) {
    throw Error(codes::kSnapshotNotFound,
                "snapshot store " + options_.directory.string() + " has no snapshot " + id);
  }
  SnapshotMetadata m = SnapshotMetadata::FromJson(local::ReadFile(metadata), metadata.string());
  return std::make_unique<SnapshotReader>(std::move(m), std::make_unique<LocalFiles>(dir));
}

std::size_t LocalDirectoryStore::Prune(std::size_t keep) {
  const auto listed = List();
  std::size_t removed = 0;
  for (std::size_t i = keep; i < listed.size(); ++i) {
    const fs::path doomed = options_.directory / (std::string(kDeletePrefix) + listed[i].id);
    std::error_code ec;
    fs::rename(options_.directory / listed[i].id, doomed, ec);  // unlisted from here on
    if (ec) {
      errno = ec.value();
      local::ThrowIo("cannot rename for removal", options_.directory / listed[i].id);
    }
    ++removed;
  }
  if (removed > 0) local::SyncDirectory(options_.directory);
  // What crashed writers and interrupted prunes left behind.
  std::set<std::string> writing;
  {
    std::lock_guard lk(state_->mu);
    writing = state_->writing;
  }
  std::vector<fs::path> leftovers;  // collected first: removing while iterating is unspecified
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(options_.directory, ec)) {
    const std::string name = entry.path().filename().string();
    const bool temp =
        name.starts_with(kTempPrefix) && writing.count(name.substr(kTempPrefix.size())) == 0;
    if (temp || name.starts_with(kDeletePrefix)) leftovers.push_back(entry.path());
  }
  for (const auto& path : leftovers) RemoveTree(path);
  return removed;
}

}  // namespace laredo::snapshot
