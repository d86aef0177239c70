#include "laredo/kinesis/checkpoint_store.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <system_error>
#include <utility>

#include "laredo/error.hpp"
#include "laredo/error_codes.hpp"

namespace laredo::kinesis {
namespace {

// First line of every checkpoint file: tells a checkpoint from any other file, and its version.
constexpr std::string_view kHeader = "laredo-kinesis-checkpoint 1";

[[noreturn]] void IoError(const std::string& what, const std::filesystem::path& path, int err) {
  throw RetryableError(codes::kCheckpointIo, fmt::format("{} {}: {}", what, path.string(),
                                                         std::system_category().message(err)));
}

// Closes the descriptor on every path out.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  [[nodiscard]] int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

void WriteAll(int fd, std::string_view data, const std::filesystem::path& path) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      IoError("cannot write", path, errno);
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
}

void SyncDirectory(const std::filesystem::path& dir) {
  const Fd fd(::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0) IoError("cannot open directory", dir, errno);
  if (::fsync(fd.get()) != 0) IoError("cannot fsync directory", dir, errno);
}

}  // namespace

FileCheckpointStore::FileCheckpointStore(std::filesystem::path path) : path_(std::move(path)) {}

std::optional<StreamPosition> FileCheckpointStore::ReadFile() const {
  const Fd fd(::open(path_.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    if (errno == ENOENT) return std::nullopt;
    IoError("cannot open", path_, errno);
  }
  std::string text;
  std::array<char, 4096> buffer{};
  while (true) {
    const ssize_t n = ::read(fd.get(), buffer.data(), buffer.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      IoError("cannot read", path_, errno);
    }
    if (n == 0) break;
    text.append(buffer.data(), static_cast<std::size_t>(n));
    // A checkpoint is one short line; anything this large is not one.
    if (text.size() > (1U << 20U)) break;
  }
  const auto corrupt = [&](const std::string& why) {
    return DataError(codes::kBadCheckpoint,
                     fmt::format("checkpoint file {} is not a valid checkpoint ({}); restore it "
                                 "or remove it to start from the latest snapshot",
                                 path_.string(), why));
  };
  // Exactly: header '\n' position '\n'.
  const std::size_t first = text.find('\n');
  if (first == std::string::npos || std::string_view(text).substr(0, first) != kHeader) {
    throw corrupt(fmt::format("the first line is not '{}'", kHeader));
  }
  const std::size_t second = text.find('\n', first + 1);
  if (second == std::string::npos || second + 1 != text.size()) {
    throw corrupt("expected exactly two lines");
  }
  try {
    return StreamPosition::Parse(std::string_view(text).substr(first + 1, second - first - 1));
  } catch (const DataError& e) {
    throw corrupt(e.what());
  }
}

std::optional<StreamPosition> FileCheckpointStore::Load() {
  const std::lock_guard lock(mutex_);
  saved_ = ReadFile();
  loaded_ = true;
  return saved_;
}

void FileCheckpointStore::Save(const StreamPosition& position) {
  const std::lock_guard lock(mutex_);
  LoadOnce();
  if (saved_ && saved_->snapshot_id == position.snapshot_id) {
    if (*saved_ == position) return;
    if (!StreamPosition::Covers(position, *saved_)) {
      throw FatalError(codes::kCheckpointBackwards,
                       fmt::format("refusing to move checkpoint {} back from {} to {}",
                                   path_.string(), saved_->ToString(), position.ToString()));
    }
  }
  WriteFile(position);
}

void FileCheckpointStore::StartLineage(const StreamPosition& position) {
  const std::lock_guard lock(mutex_);
  LoadOnce();  // a damaged file is reported, not replaced
  WriteFile(position);
}

void FileCheckpointStore::LoadOnce() {
  if (loaded_) return;
  saved_ = ReadFile();
  loaded_ = true;
}

void FileCheckpointStore::WriteFile(const StreamPosition& position) {
  const std::string text = fmt::format("{}\n{}\n", kHeader, position.ToString());
  std::filesystem::path tmp = path_;
  tmp += ".tmp";
  {
    Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (fd.get() < 0) IoError("cannot create", tmp, errno);
    WriteAll(fd.get(), text, tmp);
    if (::fsync(fd.get()) != 0) IoError("cannot fsync", tmp, errno);
    if (::close(fd.release()) != 0) IoError("cannot close", tmp, errno);
  }
  if (::rename(tmp.c_str(), path_.c_str()) != 0) IoError("cannot rename over", path_, errno);
  // The rename is durable only once the directory entry is.
  SyncDirectory(path_.parent_path());
  saved_ = position;
}

}  // namespace laredo::kinesis
