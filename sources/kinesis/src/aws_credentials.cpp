#include "laredo/kinesis/aws_credentials.hpp"

#include <cstdlib>

namespace laredo::kinesis {

AwsCredentials AwsCredentials::FromEnvironment() {
  const auto get = [](const char* name) {
    const char* v = std::getenv(name);
    return std::string(v == nullptr ? "" : v);
  };
  return {get("AWS_ACCESS_KEY_ID"), get("AWS_SECRET_ACCESS_KEY"), get("AWS_SESSION_TOKEN")};
}

std::string RegionFromEnvironment() {
  for (const char* name : {"AWS_REGION", "AWS_DEFAULT_REGION"}) {
    if (const char* v = std::getenv(name); v != nullptr && *v != '\0') return v;
  }
  return {};
}

}  // namespace laredo::kinesis
