#pragma once

#include <memory>

#include "kinesis_client.hpp"
#include "laredo/kinesis/publisher.hpp"
#include "put_sender.hpp"

// `PublisherOptions` checked and turned into what the publisher runs on. Private.
namespace laredo::kinesis::publish {

/// Fills defaults (region from the environment) and throws one `laredo::ConfigError` naming every
/// problem of `options`; credential values never appear in it.
void ValidateOptions(PublisherOptions& options);

/// The sender for validated `options`, with its own HTTP client.
std::unique_ptr<PutSender> MakeSender(const PublisherOptions& options);

/// A Kinesis (`service` "kinesis") or S3 ("s3", the snapshot settings) service for validated
/// `options`, with its own HTTP client keeping up to `connections` idle connections.
aws::ServiceConfig ServiceFor(const PublisherOptions& options, const char* service,
                              std::size_t connections);

}  // namespace laredo::kinesis::publish
