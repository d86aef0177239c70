#pragma once

// Clients for the server tests: curl as a real HTTP client, and a raw socket for requests no
// well-behaved client would send.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <string>

#include "metrics/external_tools.hpp"

namespace laredo::testing {

struct CurlResult {
  int status = 0;  // 0 when curl failed
  std::string body;
  std::string output;  // everything curl printed, for failure messages
};

/// `curl` with `args` (options and URL); the status comes from `-w`.
inline CurlResult Curl(const std::string& args) {
  CurlResult out;
  const auto result = RunCommand("curl -sS --max-time 20 -w '\\n%{http_code}' " + args);
  out.output = result.output;
  const auto newline = result.output.rfind('\n');
  if (newline == std::string::npos) return out;
  try {
    out.status = std::stoi(result.output.substr(newline + 1));
  } catch (const std::exception&) {
    return out;
  }
  out.body = result.output.substr(0, newline);
  return out;
}

inline std::string Url(std::uint16_t port, const std::string& path) {
  return "'http://127.0.0.1:" + std::to_string(port) + path + "'";
}

/// A TCP connection to 127.0.0.1:port. Closes on destruction.
class RawClient {
 public:
  explicit RawClient(std::uint16_t port) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0;
  }
  ~RawClient() { ::close(fd_); }
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;

  [[nodiscard]] bool Connected() const { return connected_; }

  /// False when the peer already reset the connection.
  bool Send(const std::string& bytes) {
    std::size_t sent = 0;
    while (sent < bytes.size()) {
      const auto n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return false;
      sent += static_cast<std::size_t>(n);
    }
    return true;
  }

  struct ReadResult {
    std::string data;
    bool closed = false;  // the server closed (EOF or reset) before the deadline
  };

  /// Reads until the server closes the connection, or `timeout` passes, or (when `until` is not
  /// empty) the data read contains `until`.
  ReadResult Read(std::chrono::milliseconds timeout, const std::string& until = {}) {
    ReadResult result;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      if (!until.empty() && result.data.find(until) != std::string::npos) return result;
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return result;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      char buffer[4096];
      const auto n = ::recv(fd_, buffer, sizeof buffer, 0);
      if (n <= 0) {
        result.closed = true;
        return result;
      }
      result.data.append(buffer, static_cast<std::size_t>(n));
    }
  }

 private:
  int fd_;
  bool connected_ = false;
};

/// The status code of the first response in `data` ("HTTP/1.1 404 Not Found" → 404), or 0.
inline int StatusOf(const std::string& data) {
  if (data.rfind("HTTP/1.", 0) != 0 || data.size() < 12) return 0;
  return std::stoi(data.substr(9, 3));
}

}  // namespace laredo::testing
