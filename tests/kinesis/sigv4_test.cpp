// SigV4 against AWS's published examples: a test passes only when our signature equals the one
// AWS published for the same inputs. Sources:
//  - IAM ListUsers example and the derived-key example of the SigV4 documentation;
//  - the AWS SigV4 test suite (aws-sig-v4-test-suite: get-vanilla, post-x-www-form-urlencoded,
//  ...);
//  - the S3 page "Signature Calculations for the Authorization Header" (GET object with Range,
//    PUT object, GET bucket lifecycle, list objects).
#include "sigv4.hpp"

#include <gtest/gtest.h>

#include <ostream>
#include <stdexcept>

namespace laredo::kinesis::sigv4 {
namespace {

using std::chrono::sys_days;
using namespace std::chrono_literals;

constexpr std::string_view kEmptyHash =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

// The test suite's and IAM example's credentials and time.
const Credentials kSuiteCredentials{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", ""};
const auto kSuiteTime = sys_days{std::chrono::year{2015} / 8 / 30} + 12h + 36min;
const Scope kSuiteScope{"us-east-1", "service"};

// The S3 page's credentials (note '/' where the suite's secret has '+') and time.
const Credentials kS3Credentials{"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                                 ""};
const auto kS3Time = sys_days{std::chrono::year{2013} / 5 / 24};
const Scope kS3Scope{"us-east-1", "s3"};

std::string SuiteAuthorization(std::string_view signed_headers, std::string_view signature) {
  return "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
         "SignedHeaders=" +
         std::string(signed_headers) + ", Signature=" + std::string(signature);
}

Request SuiteRequest(std::string method, std::string path, HeaderList query = {},
                     HeaderList extra_headers = {}) {
  Request r{std::move(method),
            std::move(path),
            std::move(query),
            {{"Host", "example.amazonaws.com"}},
            std::string(kEmptyHash)};
  for (auto& h : extra_headers) r.headers.push_back(std::move(h));
  return r;
}

TEST(SigV4, DerivedSigningKeyMatchesTheDocumentedExample) {
  const auto key =
      DeriveSigningKey("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20150830", "us-east-1", "iam");
  EXPECT_EQ(crypto::HexEncode(key),
            "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9");
}

TEST(SigV4, IamListUsersDocumentationExample) {
  const Request request{"GET",
                        "/",
                        {{"Action", "ListUsers"}, {"Version", "2010-05-08"}},
                        {{"Host", "iam.amazonaws.com"},
                         {"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"}},
                        PayloadHash("")};
  const auto sig = Sign(kSuiteCredentials, {"us-east-1", "iam"}, request, kSuiteTime);
  EXPECT_EQ(sig.canonical_request,
            "GET\n/\nAction=ListUsers&Version=2010-05-08\n"
            "content-type:application/x-www-form-urlencoded; charset=utf-8\n"
            "host:iam.amazonaws.com\nx-amz-date:20150830T123600Z\n\n"
            "content-type;host;x-amz-date\n" +
                std::string(kEmptyHash));
  EXPECT_EQ(sig.string_to_sign,
            "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/iam/aws4_request\n"
            "f536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59");
  EXPECT_EQ(sig.authorization,
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, "
            "SignedHeaders=content-type;host;x-amz-date, "
            "Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7");
}

struct SuiteCase {
  const char* name;
  Request request;
  const char* signed_headers;
  const char* signature;
};

// Failure messages name the case instead of dumping its bytes.
void PrintTo(const SuiteCase& c, std::ostream* os) { *os << c.name; }

class SigV4TestSuite : public ::testing::TestWithParam<SuiteCase> {};

TEST_P(SigV4TestSuite, AuthorizationEqualsThePublishedOne) {
  const SuiteCase& c = GetParam();
  const auto sig = Sign(kSuiteCredentials, kSuiteScope, c.request, kSuiteTime);
  EXPECT_EQ(sig.authorization, SuiteAuthorization(c.signed_headers, c.signature))
      << "canonical request:\n"
      << sig.canonical_request;
}

const char* const kUnreserved =
    "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const char* const kStsToken =
    "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPf"
    "IeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7W"
    "Z0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8F"
    "DrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA==";

INSTANTIATE_TEST_SUITE_P(
    Published, SigV4TestSuite,
    ::testing::Values(
        SuiteCase{"get_vanilla", SuiteRequest("GET", "/"), "host;x-amz-date",
                  "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"},
        SuiteCase{"post_vanilla", SuiteRequest("POST", "/"), "host;x-amz-date",
                  "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"},
        SuiteCase{"get_vanilla_query_order_key_case",
                  SuiteRequest("GET", "/", {{"Param2", "value2"}, {"Param1", "value1"}}),
                  "host;x-amz-date",
                  "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"},
        SuiteCase{"post_vanilla_query", SuiteRequest("POST", "/", {{"Param1", "value1"}}),
                  "host;x-amz-date",
                  "28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11"},
        SuiteCase{"get_vanilla_query_unreserved",
                  SuiteRequest("GET", "/", {{kUnreserved, kUnreserved}}), "host;x-amz-date",
                  "9c3e54bfcdf0b19771a7f523ee5669cdf59bc7cc0884027167c21bb143a40197"},
        SuiteCase{"get_vanilla_utf8_query", SuiteRequest("GET", "/", {{"\xE1\x88\xB4", "bar"}}),
                  "host;x-amz-date",
                  "2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04"},
        SuiteCase{"get_unreserved", SuiteRequest("GET", std::string("/") + kUnreserved),
                  "host;x-amz-date",
                  "07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f"},
        // Paths as written on the wire; every service but S3 encodes them once more.
        SuiteCase{"get_utf8", SuiteRequest("GET", "/\xE1\x88\xB4"), "host;x-amz-date",
                  "8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85"},
        SuiteCase{"get_space", SuiteRequest("GET", "/example space/"), "host;x-amz-date",
                  "652487583200325589f1fba4c7e578f72c47cb61beeca81406b39ddec1366741"},
        SuiteCase{"get_special_character", SuiteRequest("GET", "/example/$delete"),
                  "host;x-amz-date",
                  "a853c9b21b528b19643d00910d35b83a10c366a10833ceefb45edd6c80e40f27"},
        SuiteCase{"get_header_value_trim",
                  SuiteRequest("GET", "/", {},
                               {{"My-Header1", " value1"}, {"My-Header2", " \"a   b   c\""}}),
                  "host;my-header1;my-header2;x-amz-date",
                  "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736"},
        SuiteCase{"get_header_key_duplicate",
                  SuiteRequest("GET", "/", {},
                               {{"My-Header1", "value2"},
                                {"My-Header1", "value2"},
                                {"My-Header1", "value1"}}),
                  "host;my-header1;x-amz-date",
                  "c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea"},
        SuiteCase{"post_header_key_sort", SuiteRequest("POST", "/", {}, {{"My-Header1", "value1"}}),
                  "host;my-header1;x-amz-date",
                  "c5410059b04c1ee005303aed430f6e6645f61f4dc9e1461ec8f8916fdf18852c"},
        SuiteCase{"post_header_value_case",
                  SuiteRequest("POST", "/", {}, {{"My-Header1", "VALUE1"}}),
                  "host;my-header1;x-amz-date",
                  "cdbc9802e29d2942e5e10b5bccfdd67c5f22c7c4e8ae67b53629efa58b974b7d"},
        SuiteCase{"post_x_www_form_urlencoded",
                  [] {
                    auto r = SuiteRequest("POST", "/", {},
                                          {{"Content-Type", "application/x-www-form-urlencoded"}});
                    r.payload_hash = PayloadHash("Param1=value1");
                    return r;
                  }(),
                  "content-type;host;x-amz-date",
                  "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a"}),
    [](const auto& test_info) { return std::string(test_info.param.name); });

TEST(SigV4, SessionTokenIsSentAndSignedAsInPostStsHeaderBefore) {
  Credentials credentials = kSuiteCredentials;
  credentials.session_token = kStsToken;
  const auto sig = Sign(credentials, kSuiteScope, SuiteRequest("POST", "/"), kSuiteTime);
  EXPECT_EQ(sig.authorization,
            SuiteAuthorization("host;x-amz-date;x-amz-security-token",
                               "85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead"));
  const HeaderList expected{{"x-amz-date", "20150830T123600Z"},
                            {"x-amz-security-token", kStsToken},
                            {"authorization", sig.authorization}};
  EXPECT_EQ(sig.headers, expected);
}

TEST(SigV4, PostXWwwFormUrlencodedPayloadHashIsThePublishedOne) {
  EXPECT_EQ(PayloadHash("Param1=value1"),
            "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e");
}

// --- S3 examples -------------------------------------------------------------------------------

TEST(SigV4S3, GetObjectWithRange) {
  const Request request{"GET",
                        "/test.txt",
                        {},
                        {{"Host", "examplebucket.s3.amazonaws.com"}, {"Range", "bytes=0-9"}},
                        std::string(kEmptyHash)};
  const auto sig = Sign(kS3Credentials, kS3Scope, request, kS3Time);
  EXPECT_EQ(sig.canonical_request,
            "GET\n/test.txt\n\nhost:examplebucket.s3.amazonaws.com\nrange:bytes=0-9\n"
            "x-amz-content-sha256:" +
                std::string(kEmptyHash) +
                "\nx-amz-date:20130524T000000Z\n\nhost;range;x-amz-content-sha256;x-amz-date\n" +
                std::string(kEmptyHash));
  EXPECT_EQ(sig.string_to_sign,
            "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n"
            "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972");
  EXPECT_EQ(sig.signature, "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
  EXPECT_EQ(sig.signed_headers, "host;range;x-amz-content-sha256;x-amz-date");
}

TEST(SigV4S3, PutObjectSignsTheBodyHashAndEncodesTheDollarOnce) {
  const std::string body = "Welcome to Amazon S3.";
  EXPECT_EQ(PayloadHash(body), "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
  const Request request{"PUT",
                        "/test$file.text",
                        {},
                        {{"Host", "examplebucket.s3.amazonaws.com"},
                         {"Date", "Fri, 24 May 2013 00:00:00 GMT"},
                         {"x-amz-storage-class", "REDUCED_REDUNDANCY"}},
                        PayloadHash(body)};
  const auto sig = Sign(kS3Credentials, kS3Scope, request, kS3Time);
  EXPECT_EQ(
      sig.canonical_request,
      "PUT\n/test%24file.text\n\ndate:Fri, 24 May 2013 00:00:00 GMT\n"
      "host:examplebucket.s3.amazonaws.com\n"
      "x-amz-content-sha256:44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072\n"
      "x-amz-date:20130524T000000Z\nx-amz-storage-class:REDUCED_REDUNDANCY\n\n"
      "date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class\n"
      "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
  EXPECT_EQ(sig.string_to_sign.substr(sig.string_to_sign.rfind('\n') + 1),
            "9e0e90d9c76de8fa5b200d8c849cd5b8dc7a3be3951ddb7f6a76b4158342019d");
  EXPECT_EQ(sig.signature, "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");
  // The same key already percent-encoded on the wire signs the same way.
  Request encoded = request;
  encoded.path = EncodePath("/test$file.text");
  EXPECT_EQ(encoded.path, "/test%24file.text");
  EXPECT_EQ(Sign(kS3Credentials, kS3Scope, encoded, kS3Time).signature, sig.signature);
}

TEST(SigV4S3, GetBucketLifecycle) {
  const Request request{"GET",
                        "/",
                        {{"lifecycle", ""}},
                        {{"Host", "examplebucket.s3.amazonaws.com"}},
                        std::string(kEmptyHash)};
  const auto sig = Sign(kS3Credentials, kS3Scope, request, kS3Time);
  EXPECT_EQ(sig.canonical_request.substr(0, 17), "GET\n/\nlifecycle=\n");
  EXPECT_EQ(sig.string_to_sign.substr(sig.string_to_sign.rfind('\n') + 1),
            "9766c798316ff2757b517bc739a67f6213b4ab36dd5da2f94eaebf79c77395ca");
  EXPECT_EQ(sig.signature, "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543");
}

TEST(SigV4S3, ListObjects) {
  const Request request{"GET",
                        "/",
                        {{"prefix", "J"}, {"max-keys", "2"}},
                        {{"Host", "examplebucket.s3.amazonaws.com"}},
                        std::string(kEmptyHash)};
  const auto sig = Sign(kS3Credentials, kS3Scope, request, kS3Time);
  EXPECT_EQ(sig.string_to_sign.substr(sig.string_to_sign.rfind('\n') + 1),
            "df57d21db20da04d7fa30298dd4488ba3a2b47ca3a489c74750e0f1e7df1b9b7");
  EXPECT_EQ(sig.signature, "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
  EXPECT_EQ(sig.authorization,
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
            "SignedHeaders=host;x-amz-content-sha256;x-amz-date, "
            "Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
}

// --- rules beyond the published examples -------------------------------------------------------

TEST(SigV4, S3EncodesThePathOnceOtherServicesTwice) {
  const std::string wire = EncodePath("/schema.table/part 1+2.jsonl");
  EXPECT_EQ(wire, "/schema.table/part%201%2B2.jsonl");
  EXPECT_EQ(CanonicalUri(wire, "s3"), "/schema.table/part%201%2B2.jsonl");
  EXPECT_EQ(CanonicalUri(wire, "kinesis"), "/schema.table/part%25201%252B2.jsonl");
  EXPECT_EQ(CanonicalUri("", "kinesis"), "/");
  EXPECT_EQ(CanonicalUri("", "s3"), "/");
}

TEST(SigV4, QueryIsEncodedAndSortedByNameThenValue) {
  EXPECT_EQ(CanonicalQueryString({{"prefix", "a b/c"}, {"list-type", "2"}, {"b", "2"}, {"b", "1"}}),
            "b=1&b=2&list-type=2&prefix=a%20b%2Fc");
  EXPECT_EQ(CanonicalQueryString({}), "");
}

TEST(SigV4, UnsignedPayloadForS3) {
  const Request request{
      "GET", "/k", {}, {{"Host", "b.s3.amazonaws.com"}}, std::string(kUnsignedPayload)};
  const auto sig = Sign(kS3Credentials, kS3Scope, request, kS3Time);
  EXPECT_TRUE(sig.canonical_request.ends_with("\nUNSIGNED-PAYLOAD"));
  EXPECT_NE(sig.canonical_request.find("x-amz-content-sha256:UNSIGNED-PAYLOAD\n"),
            std::string::npos);
  EXPECT_EQ(sig.headers[1],
            (std::pair<std::string, std::string>{"x-amz-content-sha256", "UNSIGNED-PAYLOAD"}));
}

TEST(SigV4, OtherServicesGetNoContentSha256Header) {
  const auto sig =
      Sign(kSuiteCredentials, {"us-east-1", "kinesis"}, SuiteRequest("POST", "/"), kSuiteTime);
  for (const auto& [name, value] : sig.headers) EXPECT_NE(name, "x-amz-content-sha256");
}

TEST(SigV4, RejectsRequestsItCannotSign) {
  Request no_host{"GET", "/", {}, {}, std::string(kEmptyHash)};
  EXPECT_THROW(Sign(kSuiteCredentials, kSuiteScope, no_host, kSuiteTime), std::invalid_argument);
  auto owned = SuiteRequest("GET", "/", {}, {{"X-Amz-Date", "20150830T123600Z"}});
  EXPECT_THROW(Sign(kSuiteCredentials, kSuiteScope, owned, kSuiteTime), std::invalid_argument);
  auto bad_hash = SuiteRequest("GET", "/");
  bad_hash.payload_hash = "E3B0";
  EXPECT_THROW(Sign(kSuiteCredentials, kSuiteScope, bad_hash, kSuiteTime), std::invalid_argument);
}

TEST(SigV4, AmzDateIsUtcToTheSecond) {
  EXPECT_EQ(FormatAmzDate(kSuiteTime + 999ms), "20150830T123600Z");
  EXPECT_EQ(FormatAmzDate(sys_days{std::chrono::year{2024} / 2 / 29} + 23h + 59min + 59s),
            "20240229T235959Z");
}

}  // namespace
}  // namespace laredo::kinesis::sigv4
