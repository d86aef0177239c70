#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "laredo/snapshot/streams.hpp"
#include "s3_client.hpp"

// One S3 object as a snapshot file: written in one request or as a multipart upload, read in
// ranged requests. Private to laredo::kinesis.
namespace laredo::kinesis {

/// Buffers up to `part_size` bytes; a larger object becomes a multipart upload (parts of at least
/// `part_size`, the last one smaller). `Close` completes it; destroyed unclosed, it aborts the
/// upload (best effort: a failure is logged, and the bucket's lifecycle rule is the backstop).
/// One thread at a time.
std::unique_ptr<snapshot::ByteSink> MakeS3Sink(std::shared_ptr<aws::S3Client> s3,
                                               std::string bucket, std::string key,
                                               std::size_t part_size);

/// Reads the object in ranged requests of `read_size` bytes. One thread at a time.
std::unique_ptr<snapshot::ByteSource> MakeS3Source(std::shared_ptr<aws::S3Client> s3,
                                                   std::string bucket, std::string key,
                                                   std::size_t read_size);

}  // namespace laredo::kinesis
