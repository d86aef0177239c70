#include "gzip_lines.hpp"

#include <fmt/format.h>
#include <zlib.h>

#include <array>
#include <stdexcept>

#include "laredo/error.hpp"
#include "laredo/error_codes.hpp"

namespace laredo::kinesis {
namespace {

constexpr std::size_t kOutputChunk = std::size_t{64} * 1024;
// 16 + MAX_WBITS: a gzip wrapper, not zlib or raw deflate.
constexpr int kGzipWindowBits = 16 + MAX_WBITS;

[[noreturn]] void BadObject(const std::string& message) {
  throw DataError(codes::kBadObject, message);
}

}  // namespace

struct LineReader::Inflater {
  z_stream stream{};
  std::array<char, kOutputChunk> output{};
  bool member_ended = false;  // the last member was complete
  bool any_input = false;
  std::uint64_t offset = 0;  // compressed bytes consumed, for messages

  Inflater() {
    if (inflateInit2(&stream, kGzipWindowBits) != Z_OK) {
      throw std::bad_alloc();
    }
  }
  ~Inflater() { inflateEnd(&stream); }
  Inflater(const Inflater&) = delete;
  Inflater& operator=(const Inflater&) = delete;
};

Compression CompressionForKey(std::string_view object_key) {
  return object_key.ends_with(".gz") ? Compression::Gzip : Compression::None;
}

LineReader::LineReader(Compression compression, std::size_t max_line_bytes)
    : inflater_(compression == Compression::Gzip ? std::make_unique<Inflater>() : nullptr),
      max_line_bytes_(max_line_bytes) {}

LineReader::~LineReader() = default;

void LineReader::Feed(std::span<const std::byte> chunk, const LineCallback& on_line) {
  if (finished_) throw std::logic_error("LineReader::Feed after Finish");
  if (!inflater_) {
    Split({reinterpret_cast<const char*>(chunk.data()), chunk.size()}, on_line);  // NOLINT
    return;
  }
  Inflater& z = *inflater_;
  if (!chunk.empty()) z.any_input = true;
  z.stream.next_in = reinterpret_cast<Bytef*>(const_cast<std::byte*>(chunk.data()));  // NOLINT
  z.stream.avail_in = static_cast<uInt>(chunk.size());
  while (true) {
    if (z.member_ended) {
      if (z.stream.avail_in == 0) break;
      // Another member follows (concatenated gzip files are one valid gzip file).
      inflateReset(&z.stream);
      z.member_ended = false;
    }
    z.stream.next_out = reinterpret_cast<Bytef*>(z.output.data());  // NOLINT
    z.stream.avail_out = static_cast<uInt>(z.output.size());
    const uInt in_before = z.stream.avail_in;
    const int rc = inflate(&z.stream, Z_NO_FLUSH);
    z.offset += in_before - z.stream.avail_in;
    const std::size_t produced = z.output.size() - z.stream.avail_out;
    if (rc == Z_STREAM_END) {
      z.member_ended = true;
    } else if (rc != Z_OK && rc != Z_BUF_ERROR) {
      BadObject(fmt::format("corrupt gzip data near compressed offset {}: {}", z.offset,
                            z.stream.msg != nullptr ? z.stream.msg : zError(rc)));
    }
    Split({z.output.data(), produced}, on_line);
    // Done when the input is used up and inflate had room to spare (no output pending).
    if (z.stream.avail_in == 0 && z.stream.avail_out != 0) break;
    if (rc == Z_BUF_ERROR && produced == 0 && in_before == z.stream.avail_in) break;
  }
}

void LineReader::Finish(const LineCallback& on_line) {
  if (finished_) return;
  finished_ = true;
  if (inflater_ && !inflater_->member_ended) {
    BadObject(inflater_->any_input
                  ? fmt::format("gzip data ends early after {} compressed bytes", inflater_->offset)
                  : std::string("empty object is not gzip data"));
  }
  if (!partial_.empty()) {
    std::string last;
    last.swap(partial_);
    Deliver(last, on_line);
  }
}

void LineReader::Split(std::string_view data, const LineCallback& on_line) {
  while (!data.empty()) {
    const std::size_t nl = data.find('\n');
    if (nl == std::string_view::npos) {
      if (partial_.size() + data.size() > max_line_bytes_) {
        BadObject(
            fmt::format("line {} is longer than {} bytes", line_number_ + 1, max_line_bytes_));
      }
      partial_.append(data);
      return;
    }
    if (partial_.empty()) {
      Deliver(data.substr(0, nl), on_line);  // the common case: no copy
    } else {
      partial_.append(data.substr(0, nl));
      std::string line;
      line.swap(partial_);
      Deliver(line, on_line);
    }
    data.remove_prefix(nl + 1);
  }
}

void LineReader::Deliver(std::string_view line, const LineCallback& on_line) {
  if (line.size() > max_line_bytes_) {
    BadObject(fmt::format("line {} is longer than {} bytes", line_number_ + 1, max_line_bytes_));
  }
  if (line.ends_with('\r')) line.remove_suffix(1);
  on_line(line, ++line_number_);
}

}  // namespace laredo::kinesis
