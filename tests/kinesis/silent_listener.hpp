#pragma once

// A TCP socket on 127.0.0.1 that accepts connections (the kernel completes the handshake from the
// listen backlog) but never reads or answers: the server that hangs, for timeout tests. With
// backlog 0 and `FillBacklog`, new connections are not even accepted (their SYNs are dropped), so
// connecting hangs as well.
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
  /// `backlog` 0 for `FillBacklog`.
  explicit SilentListener(int backlog = 16) : fd_(::socket(AF_INET, SOCK_STREAM, 0)), filler_(-1) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof(address);
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&address), length) != 0 ||  // NOLINT
        ::listen(fd_, backlog) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length) != 0) {  // NOLINT
      throw std::runtime_error("cannot listen on 127.0.0.1");
    }
    port_ = ntohs(address.sin_port);
  }
  ~SilentListener() {
    if (filler_ >= 0) ::close(filler_);
    ::close(fd_);
  }
  SilentListener(const SilentListener&) = delete;
  SilentListener& operator=(const SilentListener&) = delete;

  /// Takes the one place of a backlog-0 listener (Linux keeps backlog + 1 unaccepted
  /// connections), so that the next connection attempt is left without an answer.
  void FillBacklog() {
    filler_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(port_);
    if (::connect(filler_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) !=
        0) {  // NOLINT
      throw std::runtime_error("cannot fill the backlog");
    }
  }

  /// "127.0.0.1:PORT", as error messages name it.
  [[nodiscard]] std::string HostPort() const { return "127.0.0.1:" + std::to_string(port_); }
  /// "http://127.0.0.1:PORT".
  [[nodiscard]] std::string Url() const { return "http://" + HostPort(); }

 private:
  int fd_;
  int filler_;
  std::uint16_t port_ = 0;
};

}  // namespace laredo::kinesis::testing
