#include "sigv4.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <stdexcept>

namespace laredo::kinesis::sigv4 {
namespace {

constexpr std::string_view kAlgorithm = "AWS4-HMAC-SHA256";

bool IsUnreserved(unsigned char c) {
  return std::isalnum(c) != 0 || c == '-' || c == '.' || c == '_' || c == '~';
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// "%41" -> "A"; a '%' that does not start an escape stays a literal '%'.
std::string PercentDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && HexValue(s[i + 1]) >= 0 && HexValue(s[i + 2]) >= 0) {
      out += static_cast<char>(HexValue(s[i + 1]) * 16 + HexValue(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

std::string ToLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Leading and trailing white space removed, inner runs collapsed to one space, as SigV4 asks.
std::string TrimHeaderValue(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  bool pending_space = false;
  for (const char c : v) {
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) out += ' ';
    pending_space = false;
    out += c;
  }
  return out;
}

bool IsSignerOwned(std::string_view lower_name) {
  return lower_name == "authorization" || lower_name == "x-amz-date" ||
         lower_name == "x-amz-security-token" || lower_name == "x-amz-content-sha256";
}

bool IsValidPayloadHash(std::string_view h) {
  if (h == kUnsignedPayload) return true;
  return h.size() == 64 && std::all_of(h.begin(), h.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

}  // namespace

std::string UriEncode(std::string_view bytes, bool keep_slash) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(bytes.size());
  for (const char ch : bytes) {
    const auto c = static_cast<unsigned char>(ch);
    if (IsUnreserved(c) || (keep_slash && c == '/')) {
      out += ch;
    } else {
      out += '%';
      out += kDigits[c >> 4];
      out += kDigits[c & 0x0f];
    }
  }
  return out;
}

std::string CanonicalUri(std::string_view wire_path, std::string_view service) {
  if (wire_path.empty()) return "/";
  if (service == "s3") return UriEncode(PercentDecode(wire_path), true);
  return UriEncode(wire_path, true);
}

std::string CanonicalQueryString(const HeaderList& query) {
  std::vector<std::pair<std::string, std::string>> encoded;
  encoded.reserve(query.size());
  for (const auto& [name, value] : query) {
    encoded.emplace_back(UriEncode(name, false), UriEncode(value, false));
  }
  std::sort(encoded.begin(), encoded.end());
  std::string out;
  for (const auto& [name, value] : encoded) {
    if (!out.empty()) out += '&';
    out += name;
    out += '=';
    out += value;
  }
  return out;
}

std::string PayloadHash(std::string_view body) { return crypto::HexEncode(crypto::Sha256(body)); }

std::string FormatAmzDate(std::chrono::system_clock::time_point now) {
  const auto secs = std::chrono::floor<std::chrono::seconds>(now);
  const auto days = std::chrono::floor<std::chrono::days>(secs);
  const std::chrono::year_month_day ymd{days};
  const std::chrono::hh_mm_ss hms{secs - days};
  return fmt::format("{:04}{:02}{:02}T{:02}{:02}{:02}Z", static_cast<int>(ymd.year()),
                     static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                     hms.hours().count(), hms.minutes().count(), hms.seconds().count());
}

crypto::Digest DeriveSigningKey(std::string_view secret_access_key, std::string_view date_yyyymmdd,
                                std::string_view region, std::string_view service) {
  const std::string secret = "AWS4" + std::string(secret_access_key);
  const auto k_date = crypto::HmacSha256(secret, date_yyyymmdd);
  const auto k_region = crypto::HmacSha256(crypto::AsBytes(k_date), region);
  const auto k_service = crypto::HmacSha256(crypto::AsBytes(k_region), service);
  return crypto::HmacSha256(crypto::AsBytes(k_service), "aws4_request");
}

Signature Sign(const Credentials& credentials, const Scope& scope, const Request& request,
               std::chrono::system_clock::time_point now) {
  if (!IsValidPayloadHash(request.payload_hash)) {
    throw std::invalid_argument("sigv4: payload_hash must be 64 lower-case hex digits or " +
                                std::string(kUnsignedPayload));
  }
  const std::string amz_date = FormatAmzDate(now);
  const std::string date = amz_date.substr(0, 8);

  Signature result;
  result.headers.emplace_back("x-amz-date", amz_date);
  if (scope.service == "s3") {
    // S3 requires the payload hash as a header too, and it is signed like any other.
    result.headers.emplace_back("x-amz-content-sha256", request.payload_hash);
  }
  if (!credentials.session_token.empty()) {
    result.headers.emplace_back("x-amz-security-token", credentials.session_token);
  }

  // name -> values in the order given; repeated headers are joined with ','.
  std::map<std::string, std::string> canonical;
  bool has_host = false;
  for (const auto& [name, value] : request.headers) {
    std::string lower = ToLower(name);
    if (IsSignerOwned(lower)) {
      throw std::invalid_argument("sigv4: header '" + lower + "' is added by the signer");
    }
    has_host = has_host || lower == "host";
    auto [it, inserted] = canonical.try_emplace(std::move(lower), TrimHeaderValue(value));
    if (!inserted) it->second.append(1, ',').append(TrimHeaderValue(value));
  }
  if (!has_host) throw std::invalid_argument("sigv4: the request has no Host header");
  for (const auto& [name, value] : result.headers) canonical.emplace(name, value);

  std::string canonical_headers;
  for (const auto& [name, value] : canonical) {
    canonical_headers.append(name).append(1, ':').append(value).append(1, '\n');
    if (!result.signed_headers.empty()) result.signed_headers += ';';
    result.signed_headers += name;
  }

  result.canonical_request =
      fmt::format("{}\n{}\n{}\n{}\n{}\n{}", request.method,
                  CanonicalUri(request.path, scope.service), CanonicalQueryString(request.query),
                  canonical_headers, result.signed_headers, request.payload_hash);

  const std::string credential_scope =
      fmt::format("{}/{}/{}/aws4_request", date, scope.region, scope.service);
  result.string_to_sign = fmt::format("{}\n{}\n{}\n{}", kAlgorithm, amz_date, credential_scope,
                                      PayloadHash(result.canonical_request));

  const auto key =
      DeriveSigningKey(credentials.secret_access_key, date, scope.region, scope.service);
  result.signature =
      crypto::HexEncode(crypto::HmacSha256(crypto::AsBytes(key), result.string_to_sign));
  result.authorization = fmt::format("{} Credential={}/{}, SignedHeaders={}, Signature={}",
                                     kAlgorithm, credentials.access_key_id, credential_scope,
                                     result.signed_headers, result.signature);
  result.headers.emplace_back("authorization", result.authorization);
  return result;
}

}  // namespace laredo::kinesis::sigv4
