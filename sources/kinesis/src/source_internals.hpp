#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "laredo/kinesis/source.hpp"

// What the library's own tests may do to a `Source` beyond its public interface. Not installed:
// the public header declares only the friend.
namespace laredo::kinesis {

/// Called before every AWS request with its operation name ("GetRecords", "GetShardIterator",
/// "GetObject", ...). Returning an AWS error type (for example
/// "ProvisionedThroughputExceededException" or "ExpiredIteratorException") makes the request fail
/// with that error instead of reaching the server.
using AwsFaultHook = std::function<std::optional<std::string>(std::string_view operation)>;

struct SourceInternals {
  /// Test-only: installs `hook` for every later request. Call before `Init` (the clients are made
  /// there), from the thread that will call it.
  static void SetFaultInjector(Source& source, AwsFaultHook hook);
};

}  // namespace laredo::kinesis
