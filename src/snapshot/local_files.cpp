#include "snapshot/local_files.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "laredo/error.hpp"
#include "laredo/error_codes.hpp"

namespace laredo::snapshot::local {
namespace {

class Fd {
 public:
  Fd(const std::filesystem::path& path, int flags, mode_t mode = 0644)
      : fd_(::open(path.c_str(), flags | O_CLOEXEC, mode)), path_(path) {
    if (fd_ < 0) ThrowIo("cannot open", path);
  }
  ~Fd() { Reset(); }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  void Reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  void CloseChecked() {
    const int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) ThrowIo("cannot close", path_);
  }
  [[nodiscard]] int get() const { return fd_; }
  [[nodiscard]] const std::filesystem::path& path() const { return path_; }

 private:
  int fd_;
  std::filesystem::path path_;
};

void WriteAll(const Fd& fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd.get(), bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      ThrowIo("cannot write", fd.path());
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
}

void Sync(const Fd& fd) {
  if (::fsync(fd.get()) != 0) ThrowIo("cannot fsync", fd.path());
}

class FileSink final : public ByteSink {
 public:
  explicit FileSink(const std::filesystem::path& path)
      : fd_(path, O_WRONLY | O_CREAT | O_EXCL | O_TRUNC) {}
  void Write(std::string_view bytes) override { WriteAll(fd_, bytes); }
  void Close() override {
    Sync(fd_);
    fd_.CloseChecked();
  }

 private:
  Fd fd_;
};

class FileSource final : public ByteSource {
 public:
  explicit FileSource(const std::filesystem::path& path) : fd_(path, O_RDONLY) {}
  std::size_t Read(char* out, std::size_t size) override {
    for (;;) {
      const ssize_t n = ::read(fd_.get(), out, size);
      if (n >= 0) return static_cast<std::size_t>(n);
      if (errno != EINTR) ThrowIo("cannot read", fd_.path());
    }
  }

 private:
  Fd fd_;
};

}  // namespace

void ThrowIo(const std::string& what, const std::filesystem::path& path) {
  const int error = errno;  // before anything else can change it
  throw Error(codes::kSnapshotIo,
              "snapshot store: " + what + " " + path.string() + ": " + std::strerror(error));
}

std::unique_ptr<ByteSink> CreateFile(const std::filesystem::path& path) {
  return std::make_unique<FileSink>(path);
}

std::unique_ptr<ByteSource> OpenFile(const std::filesystem::path& path) {
  return std::make_unique<FileSource>(path);
}

void WriteFile(const std::filesystem::path& path, const std::string& text) {
  FileSink sink(path);
  sink.Write(text);
  sink.Close();
}

std::string ReadFile(const std::filesystem::path& path) {
  FileSource source(path);
  std::string out;
  char buf[65536];
  while (const std::size_t n = source.Read(buf, sizeof buf)) out.append(buf, n);
  return out;
}

void SyncDirectory(const std::filesystem::path& directory) {
  Fd fd(directory, O_RDONLY | O_DIRECTORY);
  Sync(fd);
}

}  // namespace laredo::snapshot::local
