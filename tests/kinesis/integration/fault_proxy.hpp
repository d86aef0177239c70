#pragma once

// A real HTTP proxy in front of kinesalite (which never throttles) that makes PutRecords behave as
// Kinesis does under load: whole requests throttled, some entries of a request rejected (they are
// taken out before forwarding, so they are really not written), responses lost after the records
// were written (so the client sends them again), and requests held at a gate until the test opens
// it. Everything else passes through. It records which records kinesalite acknowledged.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "base64.hpp"

namespace laredo::kinesis::it {

class FaultProxy {
 public:
  struct Faults {
    int throttle_request_percent = 0;  // 400 ProvisionedThroughputExceeded, nothing written
    int fail_entry_percent = 0;        // per entry: ErrorCode, entry not written
    int lose_response_percent = 0;     // written, but the client gets a 500
  };

  FaultProxy(std::string upstream_host, int upstream_port)
      : upstream_host_(std::move(upstream_host)), upstream_port_(upstream_port) {
    listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    ::bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);  // NOLINT
    ::listen(listener_, 64);
    socklen_t len = sizeof addr;
    ::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len);  // NOLINT
    port_ = ntohs(addr.sin_port);
    acceptor_ = std::thread([this] { Accept(); });
  }

  ~FaultProxy() {
    stopping_ = true;
    Open();
    ::shutdown(listener_, SHUT_RDWR);
    ::close(listener_);
    acceptor_.join();
    std::vector<std::thread> connections;
    {
      std::lock_guard lk(mu_);
      for (const int fd : client_fds_) ::shutdown(fd, SHUT_RDWR);
      connections.swap(connections_);
    }
    for (auto& t : connections) t.join();
  }

  [[nodiscard]] std::string Endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }

  void SetFaults(Faults faults) {
    std::lock_guard lk(mu_);
    faults_ = faults;
  }
  /// While closed, PutRecords requests wait before being forwarded.
  void Close() {
    std::lock_guard lk(mu_);
    gate_open_ = false;
  }
  void Open() {
    {
      std::lock_guard lk(mu_);
      gate_open_ = true;
    }
    cv_.notify_all();
  }
  /// Waits until `n` PutRecords requests are held at the closed gate.
  bool AwaitHeld(int n, std::chrono::milliseconds timeout) {
    std::unique_lock lk(mu_);
    return cv_.wait_for(lk, timeout, [&] { return held_ >= n; });
  }

  /// The `source_position` of every record kinesalite acknowledged, in acknowledgement order.
  std::vector<std::string> WrittenPositions() const {
    std::lock_guard lk(mu_);
    return written_positions_;
  }
  struct Counts {
    int throttled_requests = 0;
    int failed_entries = 0;
    int lost_responses = 0;
  };
  Counts GetCounts() const {
    std::lock_guard lk(mu_);
    return counts_;
  }

 private:
  struct Message {
    std::string head;  // request or status line plus headers, without the blank line
    std::string body;
  };

  static std::optional<Message> Read(int fd, std::string& buffer) {
    std::size_t end = std::string::npos;
    while ((end = buffer.find("\r\n\r\n")) == std::string::npos) {
      if (!Fill(fd, buffer)) return std::nullopt;
    }
    Message m{buffer.substr(0, end), {}};
    std::size_t length = 0;
    const std::string lower = Lower(m.head);
    if (const auto at = lower.find("\r\ncontent-length:"); at != std::string::npos) {
      length = std::stoul(m.head.substr(at + 17));
    }
    buffer.erase(0, end + 4);
    while (buffer.size() < length) {
      if (!Fill(fd, buffer)) return std::nullopt;
    }
    m.body = buffer.substr(0, length);
    buffer.erase(0, length);
    return m;
  }

  static bool Fill(int fd, std::string& buffer) {
    char chunk[65536];
    const ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
    if (n <= 0) return false;
    buffer.append(chunk, static_cast<std::size_t>(n));
    return true;
  }

  static std::string Lower(std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
  }

  static bool SendAll(int fd, const std::string& data) {
    std::size_t sent = 0;
    while (sent < data.size()) {
      const ssize_t n = ::send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return false;
      sent += static_cast<std::size_t>(n);
    }
    return true;
  }

  // The head with Content-Length replaced by the body's.
  static std::string WithLength(const std::string& head, std::size_t length) {
    std::string out;
    std::size_t pos = 0;
    while (pos <= head.size()) {
      std::size_t eol = head.find("\r\n", pos);
      if (eol == std::string::npos) eol = head.size();
      const std::string line = head.substr(pos, eol - pos);
      if (Lower(line).rfind("content-length:", 0) != 0) out += line + "\r\n";
      pos = eol + 2;
    }
    return out + "Content-Length: " + std::to_string(length) + "\r\n\r\n";
  }

  static std::string Response(int status, const std::string& body) {
    return "HTTP/1.1 " + std::to_string(status) +
           " X\r\nContent-Type: application/x-amz-json-1.1\r\nContent-Length: " +
           std::to_string(body.size()) + "\r\n\r\n" + body;
  }

  std::optional<Message> Forward(const Message& request) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(upstream_port_));
    ::inet_pton(AF_INET, upstream_host_.c_str(), &addr.sin_addr);
    std::optional<Message> response;
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&  // NOLINT
        SendAll(fd, WithLength(request.head, request.body.size()) + request.body)) {
      std::string buffer;
      response = Read(fd, buffer);
    }
    ::close(fd);
    return response;
  }

  static std::string Error(const char* type, const char* message) {
    return nlohmann::json{{"__type", type}, {"message", message}}.dump();
  }

  int Percent() { return std::uniform_int_distribution(0, 99)(rng_); }

  // PutRecords with the faults applied; returns the response to send.
  std::string PutRecords(const Message& request) {
    std::unique_lock lk(mu_);
    ++held_;
    cv_.notify_all();
    cv_.wait(lk, [&] { return gate_open_; });
    --held_;
    // Each fault that is on happens at least once, whatever the draws: the first request is
    // throttled, the second loses its response, the third fails its first entry. The rest is
    // random (seeded), as often as the percentages say.
    const int n = ++requests_;
    const bool throttle = (n == 1 && faults_.throttle_request_percent > 0) ||
                          (n > 3 && Percent() < faults_.throttle_request_percent);
    if (throttle) {
      ++counts_.throttled_requests;
      return Response(400,
                      Error("ProvisionedThroughputExceededException", "Rate exceeded (proxy)"));
    }
    nlohmann::json input = nlohmann::json::parse(request.body);
    const nlohmann::json entries = input["Records"];
    std::vector<bool> rejected(entries.size());
    nlohmann::json forwarded = nlohmann::json::array();
    for (std::size_t i = 0; i < entries.size(); ++i) {
      rejected[i] = (n == 3 && i == 0 && faults_.fail_entry_percent > 0) ||
                    Percent() < faults_.fail_entry_percent;
      if (rejected[i]) {
        ++counts_.failed_entries;
      } else {
        forwarded.push_back(entries[i]);
      }
    }
    const bool lose =
        (n == 2 && faults_.lose_response_percent > 0) || Percent() < faults_.lose_response_percent;
    nlohmann::json answers = nlohmann::json::array();
    if (!forwarded.empty()) {
      input["Records"] = forwarded;
      lk.unlock();
      const auto response = Forward({request.head, input.dump()});
      lk.lock();
      if (!response) return Response(500, R"({"__type":"InternalFailure"})");
      const auto parsed = nlohmann::json::parse(response->body);
      if (!parsed.contains("Records")) return Response(400, response->body);
      answers = parsed["Records"];
      for (std::size_t k = 0; k < forwarded.size(); ++k) {
        if (!answers[k].contains("SequenceNumber")) continue;
        const auto data =
            nlohmann::json::parse(base64::Decode(forwarded[k]["Data"].get<std::string>()));
        written_positions_.push_back(data.value("source_position", ""));
      }
    }
    if (lose) {
      ++counts_.lost_responses;
      return Response(500, Error("InternalFailure", "response lost (proxy)"));
    }
    nlohmann::json out = nlohmann::json::array();
    std::size_t next = 0;
    int failed = 0;
    for (std::size_t i = 0; i < entries.size(); ++i) {
      if (rejected[i]) {
        ++failed;
        out.push_back({{"ErrorCode", "ProvisionedThroughputExceededException"},
                       {"ErrorMessage", "Rate exceeded for shard (proxy)"}});
      } else {
        out.push_back(answers[next++]);
      }
    }
    return Response(200, nlohmann::json{{"FailedRecordCount", failed}, {"Records", out}}.dump());
  }

  void Serve(int fd) {
    std::string buffer;
    while (!stopping_) {
      const auto request = Read(fd, buffer);
      if (!request) break;
      std::string reply;
      if (Lower(request->head).find("kinesis_20131202.putrecords\r\n") != std::string::npos) {
        reply = PutRecords(*request);
      } else if (const auto response = Forward(*request)) {
        reply = WithLength(response->head, response->body.size()) + response->body;
      } else {
        reply = Response(500, R"({"__type":"InternalFailure"})");
      }
      if (!SendAll(fd, reply)) break;
    }
    ::close(fd);
  }

  void Accept() {
    while (!stopping_) {
      const int fd = ::accept(listener_, nullptr, nullptr);
      if (fd < 0) break;
      std::lock_guard lk(mu_);
      client_fds_.push_back(fd);
      connections_.emplace_back([this, fd] { Serve(fd); });
    }
  }

  std::string upstream_host_;
  int upstream_port_;
  int listener_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread acceptor_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::thread> connections_;
  std::vector<int> client_fds_;
  Faults faults_;
  bool gate_open_ = true;
  int held_ = 0;
  std::mt19937 rng_{7};
  int requests_ = 0;  // PutRecords requests seen (guarded by mu_)
  std::vector<std::string> written_positions_;
  Counts counts_;
};

}  // namespace laredo::kinesis::it
