#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>

// Splits a table object into lines as its bytes arrive, inflating gzip on the way. Holds only the
// current partial line and a fixed inflate window, never the whole object.
namespace laredo::kinesis {

enum class Compression : std::uint8_t { None, Gzip };

/// Gzip when the object key ends in ".gz", otherwise none.
Compression CompressionForKey(std::string_view object_key);

/// Chunks in, lines out. Lines end at '\n'; a trailing '\r' is dropped; a last line without a
/// terminator is delivered by `Finish`. Empty lines are delivered too (the caller decides what
/// they mean). Gzip input may hold several concatenated members, as `cat a.gz b.gz` makes.
///
/// Errors throw `laredo::DataError` (code "bad_object"): corrupt or truncated gzip, data after
/// the last member that is not another member, a line longer than `max_line_bytes`.
/// Thread-safety: one reader per object, used from one thread.
class LineReader {
 public:
  /// `line_number` counts from 1.
  using LineCallback = std::function<void(std::string_view line, std::uint64_t line_number)>;

  explicit LineReader(Compression compression, std::size_t max_line_bytes = 64U << 20U);
  ~LineReader();
  LineReader(const LineReader&) = delete;
  LineReader& operator=(const LineReader&) = delete;

  /// Processes one chunk of the object, calling `on_line` for each line it completes.
  void Feed(std::span<const std::byte> chunk, const LineCallback& on_line);
  void Feed(std::string_view chunk, const LineCallback& on_line) {
    Feed(std::as_bytes(std::span(chunk.data(), chunk.size())), on_line);
  }

  /// The object ended: delivers a last unterminated line and checks that gzip is complete.
  void Finish(const LineCallback& on_line);

  /// Lines delivered so far.
  [[nodiscard]] std::uint64_t lines() const noexcept { return line_number_; }

 private:
  struct Inflater;

  void Split(std::string_view data, const LineCallback& on_line);
  void Deliver(std::string_view line, const LineCallback& on_line);

  std::unique_ptr<Inflater> inflater_;  // null for Compression::None
  std::size_t max_line_bytes_;
  std::string partial_;
  std::uint64_t line_number_ = 0;
  bool finished_ = false;
};

}  // namespace laredo::kinesis
