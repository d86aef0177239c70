#include "s3_snapshot_files.hpp"

#include <spdlog/spdlog.h>

#include <cstring>
#include <vector>

#include "laredo/logging.hpp"

namespace laredo::kinesis {
namespace {

class S3Sink final : public snapshot::ByteSink {
 public:
  S3Sink(std::shared_ptr<aws::S3Client> s3, std::string bucket, std::string key,
         std::size_t part_size)
      : s3_(std::move(s3)),
        bucket_(std::move(bucket)),
        key_(std::move(key)),
        part_size_(part_size) {}
  ~S3Sink() override {
    if (closed_ || upload_id_.empty()) return;
    try {
      s3_->AbortMultipartUpload(bucket_, key_, upload_id_);
    } catch (const std::exception& e) {
      Logger()->warn("snapshot store: cannot abort the upload of s3://{}/{}: {}", bucket_, key_,
                     e.what());
    }
  }
  S3Sink(const S3Sink&) = delete;
  S3Sink& operator=(const S3Sink&) = delete;

  void Write(std::string_view bytes) override {
    buffer_.append(bytes);
    if (buffer_.size() >= part_size_) UploadBuffered();
  }
  void Close() override {
    if (upload_id_.empty()) {
      s3_->PutObject(bucket_, key_, buffer_);  // small enough for one request
    } else {
      if (!buffer_.empty()) UploadBuffered();
      s3_->CompleteMultipartUpload(bucket_, key_, upload_id_, etags_);
    }
    closed_ = true;
    buffer_ = std::string();
  }

 private:
  void UploadBuffered() {
    if (upload_id_.empty()) upload_id_ = s3_->CreateMultipartUpload(bucket_, key_);
    etags_.push_back(s3_->UploadPart(bucket_, key_, upload_id_, static_cast<int>(etags_.size() + 1),
                                     std::move(buffer_)));
    buffer_ = std::string();
    buffer_.reserve(part_size_ + (part_size_ >> 3));
  }

  std::shared_ptr<aws::S3Client> s3_;
  std::string bucket_;
  std::string key_;
  std::size_t part_size_;
  std::string buffer_;
  std::string upload_id_;
  std::vector<std::string> etags_;
  bool closed_ = false;
};

class S3Source final : public snapshot::ByteSource {
 public:
  S3Source(std::shared_ptr<aws::S3Client> s3, std::string bucket, std::string key,
           std::size_t read_size)
      : s3_(std::move(s3)),
        bucket_(std::move(bucket)),
        key_(std::move(key)),
        read_size_(read_size) {}

  std::size_t Read(char* out, std::size_t size) override {
    if (pos_ == chunk_.size()) {
      if (ended_) return 0;
      chunk_ = s3_->GetObjectRange(bucket_, key_, offset_, offset_ + read_size_ - 1);
      pos_ = 0;
      offset_ += chunk_.size();
      ended_ = chunk_.size() < read_size_;  // a short range is the object's end
      if (chunk_.empty()) return 0;
    }
    const std::size_t n = std::min(size, chunk_.size() - pos_);
    std::memcpy(out, chunk_.data() + pos_, n);
    pos_ += n;
    return n;
  }

 private:
  std::shared_ptr<aws::S3Client> s3_;
  std::string bucket_;
  std::string key_;
  std::size_t read_size_;
  std::string chunk_;
  std::size_t pos_ = 0;
  std::uint64_t offset_ = 0;
  bool ended_ = false;
};

}  // namespace

std::unique_ptr<snapshot::ByteSink> MakeS3Sink(std::shared_ptr<aws::S3Client> s3,
                                               std::string bucket, std::string key,
                                               std::size_t part_size) {
  return std::make_unique<S3Sink>(std::move(s3), std::move(bucket), std::move(key), part_size);
}

std::unique_ptr<snapshot::ByteSource> MakeS3Source(std::shared_ptr<aws::S3Client> s3,
                                                   std::string bucket, std::string key,
                                                   std::size_t read_size) {
  return std::make_unique<S3Source>(std::move(s3), std::move(bucket), std::move(key), read_size);
}

}  // namespace laredo::kinesis
