// The Beast client against a tiny in-test HTTP server: keep-alive reuse, a stale kept-alive
// connection retried once on a fresh one, bodies streamed only for 2xx, timeouts.
#include "http_client.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "laredo/error.hpp"
#include "silent_listener.hpp"

namespace laredo::kinesis::http {
namespace {

// Answers every request with `status` and `body` (until `GoSilent`); closes each connection after
// one response when `close_after_each` (without saying so, like a server dropping idle
// connections).
class TinyServer {
 public:
  TinyServer(unsigned status, std::string body, bool close_after_each)
      : status_(status), body_(std::move(body)), close_after_each_(close_after_each) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof(address);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&address), length);  // NOLINT
    ::listen(fd_, 16);
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length);  // NOLINT
    port_ = ntohs(address.sin_port);
    thread_ = std::thread([this] { Serve(); });
  }
  ~TinyServer() {
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
  }
  [[nodiscard]] Endpoint endpoint() const {
    return Endpoint::Parse("http://127.0.0.1:" + std::to_string(port_));
  }
  [[nodiscard]] int accepted() const { return accepted_.load(); }
  /// From now on, requests are read but never answered.
  void GoSilent() { silent_ = true; }

 private:
  void Serve() {
    while (true) {
      const int client = ::accept(fd_, nullptr, nullptr);
      if (client < 0) return;
      ++accepted_;
      std::string buffer;
      char chunk[4096];
      while (true) {
        const auto header_end = buffer.find("\r\n\r\n");
        if (header_end != std::string::npos) {
          buffer.erase(0, header_end + 4);  // the tests send no request bodies
          if (silent_) continue;
          const std::string response = "HTTP/1.1 " + std::to_string(status_) +
                                       " X\r\nContent-Length: " + std::to_string(body_.size()) +
                                       "\r\n\r\n" + body_;
          if (::send(client, response.data(), response.size(), MSG_NOSIGNAL) < 0) break;
          if (close_after_each_) break;
          continue;
        }
        const ssize_t n = ::recv(client, chunk, sizeof(chunk), 0);
        if (n <= 0) break;
        buffer.append(chunk, static_cast<std::size_t>(n));
      }
      ::close(client);
    }
  }

  unsigned status_;
  std::string body_;
  bool close_after_each_;
  int fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<int> accepted_{0};
  std::atomic<bool> silent_{false};
  std::thread thread_;
};

Request Get(const Endpoint& endpoint) {
  Request request;
  request.endpoint = endpoint;
  request.path = "/x";
  return request;
}

TEST(HttpClientTest, ReusesAKeptAliveConnection) {
  TinyServer server(200, "hello", false);
  auto client = MakeBeastClient();
  for (int i = 0; i < 5; ++i) {
    const auto response = client->Send(Get(server.endpoint()), nullptr);
    EXPECT_EQ(response.status, 200U);
    EXPECT_EQ(response.body, "hello");
  }
  EXPECT_EQ(server.accepted(), 1);
}

TEST(HttpClientTest, RetriesOnceWhenAKeptConnectionWasClosed) {
  TinyServer server(200, "hello", true);
  auto client = MakeBeastClient();
  for (int i = 0; i < 3; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // let the server close it
    EXPECT_EQ(client->Send(Get(server.endpoint()), nullptr).body, "hello");
  }
  EXPECT_GE(server.accepted(), 3);
}

TEST(HttpClientTest, StreamsOnlySuccessfulBodies) {
  TinyServer ok(200, "streamed", false);
  TinyServer missing(404, "<Error><Code>NoSuchKey</Code></Error>", false);
  auto client = MakeBeastClient();
  std::string got;
  const BodyCallback collect = [&](std::string_view chunk) { got.append(chunk); };
  const auto r1 = client->Send(Get(ok.endpoint()), &collect);
  EXPECT_EQ(got, "streamed");
  EXPECT_EQ(r1.body, "");
  got.clear();
  const auto r2 = client->Send(Get(missing.endpoint()), &collect);
  EXPECT_EQ(r2.status, 404U);
  EXPECT_EQ(got, "");
  EXPECT_EQ(r2.body, "<Error><Code>NoSuchKey</Code></Error>");
}

TEST(HttpClientTest, ACallbackThatThrowsAbandonsTheResponse) {
  TinyServer server(200, "data", false);
  auto client = MakeBeastClient();
  const BodyCallback fail = [](std::string_view) { throw DataError("bad_object", "stop"); };
  EXPECT_THROW(client->Send(Get(server.endpoint()), &fail), DataError);
  // The abandoned connection is not reused.
  EXPECT_EQ(client->Send(Get(server.endpoint()), nullptr).body, "data");
  EXPECT_EQ(server.accepted(), 2);
}

TEST(HttpClientTest, ResponseHeadersAreCaseInsensitive) {
  TinyServer server(200, "", false);
  const auto response = MakeBeastClient()->Send(Get(server.endpoint()), nullptr);
  EXPECT_EQ(response.Header("content-length"), "0");
  EXPECT_EQ(response.Header("CONTENT-LENGTH"), "0");
  EXPECT_EQ(response.Header("x-missing"), "");
}

TEST(HttpClientTest, AHeaderWithAControlCharacterIsNeverSent) {
  TinyServer server(200, "hello", false);
  auto client = MakeBeastClient();
  Request request = Get(server.endpoint());
  request.headers.emplace_back("x-amz-security-token", "token\r\nX-Injected: 1");
  try {
    client->Send(request, nullptr);
    FAIL() << "sent";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()).find("X-Injected"), std::string::npos) << e.what();
  }
  EXPECT_EQ(server.accepted(), 0);
}

// Needs no server: a socket that listens but never answers.
TEST(HttpClientTest, ASilentServerTimesOutAsRetryable) {
  const testing::SilentListener silent;
  auto client = MakeBeastClient({.io_timeout = std::chrono::milliseconds(300)});
  Request request;
  request.endpoint = Endpoint::Parse(silent.Url());
  const auto start = std::chrono::steady_clock::now();
  try {
    client->Send(request, nullptr);
    ADD_FAILURE() << "expected a timeout";
  } catch (const RetryableError& e) {
    EXPECT_EQ(e.code(), "http_io");
    EXPECT_NE(std::string(e.what()).find("read response header timed out after 300 ms talking to " +
                                         silent.HostPort()),
              std::string::npos)
        << e.what();
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

// A kept-alive connection whose server went silent is not tried a second time: that would double
// the budget.
TEST(HttpClientTest, ATimeoutOnAReusedConnectionIsNotRetried) {
  TinyServer server(200, "hello", false);
  auto client = MakeBeastClient({.io_timeout = std::chrono::milliseconds(300)});
  ASSERT_EQ(client->Send(Get(server.endpoint()), nullptr).body, "hello");
  server.GoSilent();
  EXPECT_THROW(client->Send(Get(server.endpoint()), nullptr), RetryableError);
  // A retry would have opened a second connection (accepted once the first one closed).
  EXPECT_EQ(server.accepted(), 1);
}

}  // namespace
}  // namespace laredo::kinesis::http
