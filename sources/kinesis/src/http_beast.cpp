// The only translation unit that includes Boost.Beast and Asio: a blocking facade over Beast's
// asynchronous operations, so every step gets a timeout (Beast's synchronous calls have none).

// Asio's scheduler, once inlined here at -O2, trips GCC's -Wnull-dereference on paths Asio guards
// itself; the warning is not about this file's code.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wnull-dereference"
#endif
#include <fmt/format.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <array>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cstdlib>
#include <map>
#include <mutex>

#include "http_client.hpp"
#include "laredo/error.hpp"
#include "laredo/error_codes.hpp"

namespace laredo::kinesis::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using Tcp = asio::ip::tcp;

// A failed step; `response_started` tells a stale keep-alive connection (nothing came back) from
// a failure mid-response, `budget` is the time limit the step had.
struct IoFailure {
  std::string step;
  beast::error_code ec;
  bool response_started = false;
  std::chrono::milliseconds budget{};
};

class Connection {
 public:
  Connection(asio::ssl::context* tls_context, const Endpoint& endpoint,
             const ClientOptions& options)
      : options_(options) {
    Tcp::resolver resolver(io_);
    beast::error_code ec;
    const auto results = resolver.resolve(endpoint.host, std::to_string(endpoint.port), ec);
    if (ec) throw IoFailure{"resolve", ec};
    if (tls_context != nullptr) {
      tls_ = std::make_unique<beast::ssl_stream<beast::tcp_stream>>(io_, *tls_context);
      // SNI, and the certificate must name the host we asked for.
      // SSL_set_tlsext_host_name, spelled out: the macro's C cast trips -Wold-style-cast.
      if (SSL_ctrl(tls_->native_handle(), SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                   const_cast<char*>(endpoint.host.c_str())) != 1) {  // NOLINT

        throw IoFailure{"set SNI", beast::error_code(static_cast<int>(::ERR_get_error()),
                                                     asio::error::get_ssl_category())};
      }
      if (options_.verify_tls) {
        tls_->set_verify_mode(asio::ssl::verify_peer);
        tls_->set_verify_callback(asio::ssl::host_name_verification(endpoint.host));
      }
    } else {
      plain_ = std::make_unique<beast::tcp_stream>(io_);
    }
    Expire(options_.connect_timeout);
    Run("connect", [&](auto handler) { Lowest().async_connect(results, handler); });
    if (tls_) {
      Expire(options_.connect_timeout);
      Run("TLS handshake",
          [&](auto handler) { tls_->async_handshake(asio::ssl::stream_base::client, handler); });
    }
  }

  Response Exchange(const Request& request, const BodyCallback* on_body, bool& keep_alive) {
    bhttp::request<bhttp::string_body> req;
    req.method_string(request.method);
    req.target(request.query.empty() ? request.path : request.path + "?" + request.query);
    req.version(11);
    req.set(bhttp::field::host, request.endpoint.HostHeader());
    req.set(bhttp::field::user_agent, "laredo-kinesis");
    for (const auto& [name, value] : request.headers) req.set(name, value);
    req.body() = request.body;
    req.prepare_payload();

    Expire(options_.io_timeout);
    Run("send request", [&](auto handler) { Write(req, handler); });

    bhttp::response_parser<bhttp::buffer_body> parser;
    parser.body_limit(boost::none);  // S3 objects are streamed, never held whole
    Expire(options_.io_timeout);
    Run("read response header", [&](auto handler) { ReadHeader(parser, handler); });

    Response response;
    response.status = parser.get().result_int();
    for (const auto& field : parser.get()) {
      response.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    }
    const bool stream_body = on_body != nullptr && response.status / 100 == 2;
    while (!parser.is_done()) {
      parser.get().body().data = chunk_.data();
      parser.get().body().size = chunk_.size();
      Expire(options_.io_timeout);
      Run(
          "read response body", [&](auto handler) { ReadSome(parser, handler); }, true);
      const std::size_t n = chunk_.size() - parser.get().body().size;
      if (n == 0) continue;
      const std::string_view piece(chunk_.data(), n);
      if (stream_body) {
        (*on_body)(piece);
      } else {
        response.body.append(piece);
      }
    }
    keep_alive = parser.get().keep_alive();
    return response;
  }

 private:
  beast::tcp_stream& Lowest() { return tls_ ? beast::get_lowest_layer(*tls_) : *plain_; }

  // Limits the next step to `budget`.
  void Expire(std::chrono::milliseconds budget) {
    budget_ = budget;
    Lowest().expires_after(budget);
  }

  template <class Message, class Handler>
  void Write(Message& message, Handler handler) {
    if (tls_) {
      bhttp::async_write(*tls_, message, handler);
    } else {
      bhttp::async_write(*plain_, message, handler);
    }
  }
  template <class Parser, class Handler>
  void ReadHeader(Parser& parser, Handler handler) {
    if (tls_) {
      bhttp::async_read_header(*tls_, buffer_, parser, handler);
    } else {
      bhttp::async_read_header(*plain_, buffer_, parser, handler);
    }
  }
  template <class Parser, class Handler>
  void ReadSome(Parser& parser, Handler handler) {
    if (tls_) {
      bhttp::async_read(*tls_, buffer_, parser, handler);
    } else {
      bhttp::async_read(*plain_, buffer_, parser, handler);
    }
  }

  // Starts one asynchronous operation and runs the context until it completes (or times out).
  template <class Start>
  void Run(const char* step, Start start, bool response_started = false) {
    beast::error_code result;
    start([&result](beast::error_code ec, auto&&...) { result = ec; });
    io_.restart();
    io_.run();
    // A full chunk buffer is not an error: the caller hands it on and reads again.
    if (result == bhttp::error::need_buffer) return;
    if (result) throw IoFailure{step, result, response_started, budget_};
  }

  const ClientOptions& options_;
  std::chrono::milliseconds budget_{};
  asio::io_context io_;
  std::unique_ptr<beast::tcp_stream> plain_;
  std::unique_ptr<beast::ssl_stream<beast::tcp_stream>> tls_;
  beast::flat_buffer buffer_;
  std::array<char, 64 * 1024> chunk_{};
};

class BeastClient final : public Client {
 public:
  explicit BeastClient(const ClientOptions& options)
      : options_(options), tls_context_(asio::ssl::context::tls_client) {
    tls_context_.set_options(asio::ssl::context::default_workarounds |
                             asio::ssl::context::no_sslv2 | asio::ssl::context::no_sslv3 |
                             asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1);
    beast::error_code ec;
    tls_context_.set_default_verify_paths(ec);
    std::string ca_file = options_.ca_file;
    // The AWS SDKs' variable for a private CA bundle; honoured the same way here.
    if (const char* bundle = std::getenv("AWS_CA_BUNDLE"); ca_file.empty() && bundle != nullptr) {
      ca_file = bundle;
    }
    if (!ca_file.empty()) {
      tls_context_.load_verify_file(ca_file, ec);
      if (ec) {
        throw ConfigError({fmt::format("cannot load CA file {}: {}", ca_file, ec.message())});
      }
    }
  }

  Response Send(const Request& request, const BodyCallback* on_body) override {
    // The last gate before the wire: Beast writes header values as given, and a CR/LF in one
    // would end its line and start a header of the value's choosing.
    for (const auto& [name, value] : request.headers) {
      if (HasControlCharacter(name) || HasControlCharacter(value)) {
        throw ConfigError({fmt::format("header '{}' contains a control character",
                                       HasControlCharacter(name) ? "(name)" : name)});
      }
    }
    const std::string key = request.endpoint.ToString();
    for (int attempt = 0;; ++attempt) {
      std::unique_ptr<Connection> connection = TakeIdle(key);
      const bool reused = connection != nullptr;
      try {
        if (!connection) {
          connection = std::make_unique<Connection>(request.endpoint.tls ? &tls_context_ : nullptr,
                                                    request.endpoint, options_);
        }
        bool keep_alive = false;
        Response response = connection->Exchange(request, on_body, keep_alive);
        if (keep_alive) PutIdle(key, std::move(connection));
        return response;
      } catch (const IoFailure& failure) {
        const bool timed_out = failure.ec == beast::error::timeout;
        // The server may have closed an idle connection just as we reused it: one fresh try. Not
        // after a timeout: the server is there but silent, and the budget is spent.
        if (reused && !failure.response_started && !timed_out && attempt == 0) continue;
        const std::string what =
            timed_out ? fmt::format("{} timed out after {} ms talking to {}", failure.step,
                                    failure.budget.count(), request.endpoint.HostHeader())
                      : fmt::format("{} failed: {}", failure.step, failure.ec.message());
        throw RetryableError(codes::kHttpIo,
                             fmt::format("{} {}{}: {}", request.method, request.endpoint.ToString(),
                                         request.path, what));
      }
    }
  }

 private:
  std::unique_ptr<Connection> TakeIdle(const std::string& key) {
    const std::lock_guard lock(mutex_);
    auto it = idle_.find(key);
    if (it == idle_.end() || it->second.empty()) return nullptr;
    auto connection = std::move(it->second.back());
    it->second.pop_back();
    return connection;
  }

  void PutIdle(const std::string& key, std::unique_ptr<Connection> connection) {
    const std::lock_guard lock(mutex_);
    auto& pool = idle_[key];
    if (pool.size() < options_.max_idle_per_endpoint) pool.push_back(std::move(connection));
  }

  const ClientOptions options_;
  asio::ssl::context tls_context_;
  std::mutex mutex_;
  std::map<std::string, std::vector<std::unique_ptr<Connection>>> idle_;
};

}  // namespace

std::unique_ptr<Client> MakeBeastClient(const ClientOptions& options) {
  return std::make_unique<BeastClient>(options);
}

}  // namespace laredo::kinesis::http
