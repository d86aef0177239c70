#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace laredo::pg {

/// An anonymous scratch file: created in `directory` and unlinked at once, so it disappears with
/// its descriptor on every path out (destructor, exception, even a crash of the process).
/// Appends are buffered; `Reader` reads it back from the start. I/O failures throw
/// `RetryableError` (code "pg_spill_io").
/// Thread-safety: one thread.
class TempFile {
 public:
  explicit TempFile(const std::string& directory);
  ~TempFile();
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;

  void Append(std::span<const std::byte> bytes);
  /// Writes out what `Append` buffered.
  void Flush();
  /// Bytes appended so far, buffered ones included.
  [[nodiscard]] std::uint64_t size() const noexcept { return written_ + pending_.size(); }

  /// Sequential reads from the start of a flushed file.
  class Reader {
   public:
    explicit Reader(const TempFile& file) : file_(file) {}
    /// Fills `out` completely; false at a clean end of file (nothing read). Throws on a file
    /// that ends inside `out`.
    bool Read(std::span<std::byte> out);

   private:
    const TempFile& file_;
    std::vector<std::byte> buffer_;
    std::size_t at_ = 0;             // next unread byte in buffer_
    std::uint64_t file_offset_ = 0;  // where buffer_ ends in the file
  };

 private:
  [[noreturn]] static void Fail(const std::string& what);
  void Write(std::span<const std::byte> bytes);

  int fd_ = -1;
  std::uint64_t written_ = 0;
  std::vector<std::byte> pending_;
};

}  // namespace laredo::pg
