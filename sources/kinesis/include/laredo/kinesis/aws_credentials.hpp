#pragma once

#include <string>

namespace laredo::kinesis {

/// Credentials for signing AWS requests. Never logged.
/// Thread-safety: a value type.
struct AwsCredentials {
  std::string access_key_id;
  std::string secret_access_key;
  /// Set for temporary credentials (STS, instance roles); empty otherwise.
  std::string session_token;

  /// From AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN; fields stay empty for
  /// unset variables.
  static AwsCredentials FromEnvironment();

  [[nodiscard]] bool empty() const noexcept {
    return access_key_id.empty() || secret_access_key.empty();
  }
};

/// AWS_REGION, else AWS_DEFAULT_REGION, else "".
std::string RegionFromEnvironment();

}  // namespace laredo::kinesis
