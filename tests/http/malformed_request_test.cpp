// Requests no well-behaved client sends, over a raw socket: the server answers 4xx or closes the
// connection, and keeps serving everyone else.
#include <gtest/gtest.h>

#include "http/http_test_util.hpp"
#include "http/server_fixture.hpp"

namespace laredo::testing {
namespace {

constexpr auto kReadLimit = 10s;

class HttpMalformed : public ::testing::Test {
 protected:
  void SetUp() override {
    e_.Start({.max_connections = 4, .max_request_bytes = 1024, .read_timeout = 500ms});
  }
  // One request on a fresh connection; the response, read until the server closes.
  RawClient::ReadResult Exchange(const std::string& bytes) {
    RawClient client(e_.Port());
    EXPECT_TRUE(client.Connected());
    client.Send(bytes);
    return client.Read(kReadLimit);
  }
  void ExpectStillServing() {
    const auto result =
        Exchange("GET /health/live HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    EXPECT_EQ(StatusOf(result.data), 200) << result.data;
  }
  ServedEngine e_;
};

TEST_F(HttpMalformed, GarbageGets400AndTheConnectionCloses) {
  const auto result = Exchange("\x01\x02 this is not http \xff\r\n\r\n");
  EXPECT_EQ(StatusOf(result.data), 400) << result.data;
  EXPECT_TRUE(result.closed);
  ExpectStillServing();
}

TEST_F(HttpMalformed, BadVersionGets400) {
  const auto result = Exchange("GET /metrics HTTP/9.9\r\nHost: x\r\n\r\n");
  EXPECT_EQ(StatusOf(result.data), 400) << result.data;
  ExpectStillServing();
}

TEST_F(HttpMalformed, NonPathTargetGets400) {
  const auto result = Exchange("GET * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(StatusOf(result.data), 400) << result.data;
}

TEST_F(HttpMalformed, OversizeHeadersGet413) {
  const auto result =
      Exchange("GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(4096, 'a') + "\r\n\r\n");
  EXPECT_EQ(StatusOf(result.data), 413) << result.data;
  EXPECT_TRUE(result.closed);
  ExpectStillServing();
}

TEST_F(HttpMalformed, OversizeBodyGets413) {
  const auto result = Exchange(
      "POST /admin/sources/s/pause HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n" +
      std::string(2048, 'b'));
  EXPECT_EQ(StatusOf(result.data), 413) << result.data;
}

TEST_F(HttpMalformed, UnknownPathGets404AndWrongMethod405) {
  auto result = Exchange("GET /nothing/here HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(StatusOf(result.data), 404) << result.data;
  result = Exchange("DELETE /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(StatusOf(result.data), 405) << result.data;
  EXPECT_NE(result.data.find("Allow: GET"), std::string::npos) << result.data;
  result = Exchange("POST /admin/sources/s/pause HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(StatusOf(result.data), 403) << result.data;  // admin is off
}

TEST_F(HttpMalformed, SlowClientIsCutOffAtTheReadTimeout) {
  RawClient client(e_.Port());
  ASSERT_TRUE(client.Connected());
  const auto start = std::chrono::steady_clock::now();
  // A slow loris: a request head that never ends, one header line at a time.
  client.Send("GET /metrics HTTP/1.1\r\nHost: x\r\n");
  bool closed = false;
  for (int i = 0; i < 50 && !closed; ++i) {
    closed = !client.Send("X-Slow-" + std::to_string(i) + ": y\r\n") ||
             client.Read(100ms).closed;  // bytes keep coming, the deadline does not move
  }
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_TRUE(closed) << "still open after 5 s of trickling";
  EXPECT_GE(elapsed, 400ms);  // not before the 500 ms read timeout (allowing timer slack)
  ExpectStillServing();
}

TEST_F(HttpMalformed, IdleConnectionIsClosedAtTheReadTimeout) {
  RawClient client(e_.Port());
  ASSERT_TRUE(client.Connected());
  const auto result = client.Read(kReadLimit);
  EXPECT_TRUE(result.closed);
  EXPECT_EQ(result.data, "");
}

TEST_F(HttpMalformed, KeepAliveServesSeveralRequestsOnOneConnection) {
  RawClient client(e_.Port());
  ASSERT_TRUE(client.Connected());
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(client.Send("GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n"));
    const auto result = client.Read(kReadLimit, "live\n");
    EXPECT_EQ(StatusOf(result.data), 200) << result.data;
    EXPECT_FALSE(result.closed);
  }
}

TEST(HttpLimits, ConnectionsOverTheLimitAreClosedAtOnce) {
  // A long read timeout: the held connections must stay open while the extra one knocks.
  ServedEngine e;
  e.Start({.max_connections = 4, .read_timeout = 60s});
  std::vector<std::unique_ptr<RawClient>> held;
  for (int i = 0; i < 4; ++i) {
    held.push_back(std::make_unique<RawClient>(e.Port()));
    // A completed request proves the server accepted (and counts) this connection.
    ASSERT_TRUE(held.back()->Send("GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n"));
    ASSERT_EQ(StatusOf(held.back()->Read(kReadLimit, "live\n").data), 200);
  }
  RawClient extra(e.Port());
  extra.Send("GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n");
  const auto refused = extra.Read(kReadLimit);
  EXPECT_TRUE(refused.closed);
  EXPECT_EQ(refused.data, "");
  held.clear();
  // Room again once they are gone (the server notices the closes asynchronously).
  EXPECT_TRUE(Eventually([&] {
    RawClient client(e.Port());
    client.Send("GET /health/live HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    return StatusOf(client.Read(kReadLimit).data) == 200;
  }));
}

}  // namespace
}  // namespace laredo::testing
