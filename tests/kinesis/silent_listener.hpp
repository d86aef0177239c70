#pragma once

// A TCP socket on 127.0.0.1 that accepts connections (the kernel completes the handshake from the
// listen backlog) but never reads or answers: the server that hangs, for timeout tests.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <stdexcept>
#include <string>

namespace laredo::kinesis::testing {

class SilentListener {
 public:
  SilentListener() : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof(address);
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&address), length) != 0 ||  // NOLINT
        ::listen(fd_, 16) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length) != 0) {  // NOLINT
      throw std::runtime_error("cannot listen on 127.0.0.1");
    }
    port_ = ntohs(address.sin_port);
  }
  ~SilentListener() { ::close(fd_); }
  SilentListener(const SilentListener&) = delete;
  SilentListener& operator=(const SilentListener&) = delete;

  /// "127.0.0.1:PORT", as error messages name it.
  [[nodiscard]] std::string HostPort() const { return "127.0.0.1:" + std::to_string(port_); }
  /// "http://127.0.0.1:PORT".
  [[nodiscard]] std::string Url() const { return "http://" + HostPort(); }

 private:
  int fd_;
  std::uint16_t port_ = 0;
};

}  // namespace laredo::kinesis::testing
