// Publisher options and the errors a change can cause before anything is sent.
#include <gtest/gtest.h>

#include "laredo/error.hpp"
#include "laredo/error_codes.hpp"
#include "laredo/kinesis/publisher.hpp"

namespace laredo::kinesis {
namespace {

const TableIdentifier kUsers = Table("public", "users");

PublisherOptions Valid() {
  PublisherOptions o;
  o.stream_name = "s";
  o.region = "us-east-1";
  o.endpoint = "http://127.0.0.1:1";  // nothing listens: no test here reaches the network
  o.credentials = AwsCredentials{.access_key_id = "AKIDEXAMPLE",
                                 .secret_access_key = "secret-value-never-shown",
                                 .session_token = {}};
  return o;
}

std::vector<ColumnDefinition> Columns() {
  ColumnDefinition id{.name = "id", .type = "bigint", .nullable = false};
  id.primary_key = true;
  id.primary_key_ordinal = 1;
  return {id, ColumnDefinition{.name = "body", .type = "text"}};
}

TEST(PublisherOptions, EveryProblemIsListedInOneConfigErrorWithoutSecrets) {
  PublisherOptions o = Valid();
  o.stream_name.clear();
  o.credentials->secret_access_key = "bad\nsecret-value-never-shown";
  o.max_records_per_request = 501;
  o.max_request_bytes = (std::size_t{5} << 20) + 1;
  o.max_record_bytes = 0;
  o.max_in_flight = 0;
  o.buffer_full_timeout = std::chrono::milliseconds(0);
  o.retry_backoff.multiplier = 0.5;
  o.endpoint = "ftp://nowhere";
  try {
    Publisher publisher(o);
    FAIL() << "no ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.code(), codes::kConfig);
    const std::string all = e.what();
    for (const char* expected :
         {"stream_name", "secret_access_key", "max_records_per_request", "max_request_bytes",
          "max_record_bytes", "max_in_flight", "buffer_full_timeout", "retry_backoff",
          "PublisherOptions.endpoint"}) {
      EXPECT_NE(all.find(expected), std::string::npos) << expected << " in " << all;
    }
    EXPECT_GE(e.problems().size(), 9U);
    EXPECT_EQ(all.find("secret-value-never-shown"), std::string::npos) << all;
  }
}

TEST(PublisherOptions, DefaultsAreValidAndDurableWhileIdle) {
  Publisher publisher(Valid());
  EXPECT_TRUE(publisher.IsDurable());
  EXPECT_TRUE(publisher.KeepsStateAcrossRestarts());
  publisher.OnInit(kUsers, Columns());
  publisher.OnBaselineBegin(kUsers, Columns());
  EXPECT_FALSE(publisher.KeepsStateAcrossRestarts());  // a restart must baseline again
  publisher.OnBaselineRow(kUsers, Row{{"id", Value(1)}, {"body", Value("ignored")}});
  publisher.OnBaselineComplete(kUsers);
  EXPECT_TRUE(publisher.KeepsStateAcrossRestarts());
  EXPECT_EQ(publisher.GetStats().records_unwritten, 0U);  // baseline rows are not published
}

TEST(Publisher, ARecordOverTheLimitIsADataErrorAndTheChangesBeforeItAreQueued) {
  PublisherOptions o = Valid();
  o.max_record_bytes = 1000;
  Publisher publisher(o);
  publisher.OnInit(kUsers, Columns());
  const Row small{{"id", Value(1)}, {"body", Value("short")}};
  const Row large{{"id", Value(2)}, {"body", Value(std::string(1000, 'x'))}};
  const TargetChange one{.action = ChangeAction::Insert, .row = &large, .ticket = 1};
  try {
    publisher.OnChanges(kUsers, {&one, 1});
    FAIL() << "no error";
  } catch (const DataError& e) {
    EXPECT_EQ(e.code(), codes::kRecordTooLarge);
    EXPECT_NE(std::string(e.what()).find("over the limit of 1000 bytes"), std::string::npos)
        << e.what();
  }
  const std::vector<TargetChange> batch{
      {.action = ChangeAction::Insert, .row = &small, .ticket = 2},
      {.action = ChangeAction::Insert, .row = &large, .ticket = 3},
      {.action = ChangeAction::Insert, .row = &small, .ticket = 4}};
  try {
    publisher.OnChanges(kUsers, batch);
    FAIL() << "no error";
  } catch (const PartialBatchError& e) {
    EXPECT_EQ(e.applied(), 1U);
    ASSERT_TRUE(e.cause());
    try {
      std::rethrow_exception(e.cause());
    } catch (const DataError& cause) {
      EXPECT_EQ(cause.code(), codes::kRecordTooLarge);
    }
  }
  // The first change is queued (its endpoint is unreachable, so it stays unwritten).
  EXPECT_EQ(publisher.GetStats().records_unwritten, 1U);
  EXPECT_FALSE(publisher.IsDurable());
}

}  // namespace
}  // namespace laredo::kinesis
