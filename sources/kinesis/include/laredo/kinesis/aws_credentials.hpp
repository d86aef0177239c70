#pragma once

#include <functional>
#include <string>

namespace laredo::kinesis {

/// Credentials for signing AWS requests. Never logged.
/// Thread-safety: a value type.
struct AwsCredentials {
  std::string access_key_id{};
  std::string secret_access_key{};
  /// Set for temporary credentials (STS, instance roles); empty otherwise.
  std::string session_token{};

  /// From AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN; fields stay empty for
  /// unset variables.
  static AwsCredentials FromEnvironment();

  [[nodiscard]] bool empty() const noexcept {
    return access_key_id.empty() || secret_access_key.empty();
  }
};

/// Returns the credentials to sign the next request with: for temporary credentials (STS, instance
/// or pod roles) that must be renewed while the source runs. Called before every AWS request, from
/// the thread making it (several at once): it must be thread-safe and quick, so keep the
/// credentials cached and renew them ahead of their expiry. May throw `laredo::RetryableError`
/// when none are available right now.
using AwsCredentialsProvider = std::function<AwsCredentials()>;

/// AWS_REGION, else AWS_DEFAULT_REGION, else "".
std::string RegionFromEnvironment();

}  // namespace laredo::kinesis
