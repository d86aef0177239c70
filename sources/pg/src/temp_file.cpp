#include "temp_file.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "laredo/error.hpp"
#include "laredo/error_codes.hpp"

namespace laredo::pg {
namespace {

// Per spilled transaction, outside `stream_memory_bytes` (documented): kept small.
constexpr std::size_t kWriteBuffer = std::size_t{64} << 10;
constexpr std::size_t kReadBuffer = std::size_t{256} << 10;  // one at a time, while replaying

}  // namespace

void TempFile::Fail(const std::string& what) {
  throw RetryableError(codes::kPgSpillIo, fmt::format("{}: {}", what, std::strerror(errno)));
}

TempFile::TempFile(const std::string& directory) {
  const std::string dir =
      directory.empty() ? std::filesystem::temp_directory_path().string() : directory;
  std::string path = dir + "/laredo-pg-spill-XXXXXX";
  fd_ = mkostemp(path.data(), O_CLOEXEC);
  if (fd_ < 0) Fail("creating a spill file in " + dir);
  // Unlinked while open: nothing is left behind, whatever happens to the process.
  if (unlink(path.c_str()) != 0) {
    const int saved = errno;
    close(fd_);
    errno = saved;
    Fail("unlinking spill file " + path);
  }
  pending_.reserve(kWriteBuffer);
}

TempFile::~TempFile() {
  if (fd_ >= 0) close(fd_);
}

void TempFile::Append(std::span<const std::byte> bytes) {
  if (pending_.size() + bytes.size() > kWriteBuffer) Flush();
  if (bytes.size() >= kWriteBuffer) {
    Write(bytes);  // large: straight to the file, so the buffer never grows
    return;
  }
  pending_.insert(pending_.end(), bytes.begin(), bytes.end());
}

void TempFile::Flush() {
  Write(pending_);
  pending_.clear();
}

void TempFile::Write(std::span<const std::byte> bytes) {
  std::size_t done = 0;
  while (done < bytes.size()) {
    const auto n =
        pwrite(fd_, bytes.data() + done, bytes.size() - done, static_cast<off_t>(written_ + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      Fail("writing a spill file");
    }
    done += static_cast<std::size_t>(n);
  }
  written_ += done;
}

bool TempFile::Reader::Read(std::span<std::byte> out) {
  std::size_t filled = 0;
  while (filled < out.size()) {
    if (at_ == buffer_.size()) {
      buffer_.resize(kReadBuffer);
      const auto n =
          pread(file_.fd_, buffer_.data(), buffer_.size(), static_cast<off_t>(file_offset_));
      if (n < 0) {
        buffer_.clear();
        at_ = 0;
        if (errno == EINTR) continue;
        Fail("reading a spill file");
      }
      buffer_.resize(static_cast<std::size_t>(n));
      at_ = 0;
      file_offset_ += static_cast<std::uint64_t>(n);
      if (n == 0) {
        if (filled == 0) return false;
        errno = 0;
        throw RetryableError(codes::kPgSpillIo, "spill file ends inside a record");
      }
    }
    const std::size_t take = std::min(out.size() - filled, buffer_.size() - at_);
    std::memcpy(out.data() + filled, buffer_.data() + at_, take);
    at_ += take;
    filled += take;
  }
  return true;
}

}  // namespace laredo::pg
