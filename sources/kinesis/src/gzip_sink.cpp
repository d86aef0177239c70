#include "gzip_sink.hpp"

#include <zlib.h>

#include <array>
#include <new>
#include <string_view>

namespace laredo::kinesis {
namespace {

constexpr std::size_t kChunk = std::size_t{64} * 1024;
constexpr int kGzipWindowBits = 16 + MAX_WBITS;  // a gzip wrapper
constexpr int kMemLevel = 8;

class GzipSink final : public snapshot::ByteSink {
 public:
  explicit GzipSink(std::unique_ptr<snapshot::ByteSink> inner) : inner_(std::move(inner)) {
    if (deflateInit2(&z_, Z_DEFAULT_COMPRESSION, Z_DEFLATED, kGzipWindowBits, kMemLevel,
                     Z_DEFAULT_STRATEGY) != Z_OK) {
      throw std::bad_alloc();
    }
  }
  ~GzipSink() override { deflateEnd(&z_); }
  GzipSink(const GzipSink&) = delete;
  GzipSink& operator=(const GzipSink&) = delete;

  void Write(std::string_view bytes) override { Deflate(bytes, Z_NO_FLUSH); }

  void Close() override {
    Deflate({}, Z_FINISH);
    inner_->Close();
  }

 private:
  void Deflate(std::string_view bytes, int flush) {
    z_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));  // NOLINT
    z_.avail_in = static_cast<uInt>(bytes.size());
    while (true) {
      z_.next_out = reinterpret_cast<Bytef*>(out_.data());  // NOLINT
      z_.avail_out = static_cast<uInt>(out_.size());
      const int rc = deflate(&z_, flush);
      if (rc == Z_STREAM_ERROR) throw std::bad_alloc();
      const std::size_t n = out_.size() - z_.avail_out;
      if (n > 0) inner_->Write({out_.data(), n});
      if (flush == Z_FINISH ? rc == Z_STREAM_END : (z_.avail_in == 0 && z_.avail_out != 0)) {
        return;
      }
    }
  }

  std::unique_ptr<snapshot::ByteSink> inner_;
  z_stream z_{};
  std::array<char, kChunk> out_{};
};

}  // namespace

std::unique_ptr<snapshot::ByteSink> MakeGzipSink(std::unique_ptr<snapshot::ByteSink> inner) {
  return std::make_unique<GzipSink>(std::move(inner));
}

}  // namespace laredo::kinesis
