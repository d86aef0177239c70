// The only translation unit that includes Boost.Beast and Asio: accepting, reading requests with
// limits and deadlines, writing responses. What to answer is the router's business.

// Asio's scheduler, once inlined here at -O2, trips GCC's -Wnull-dereference on paths Asio guards
// itself; the warning is not about this file's code.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wnull-dereference"
#endif
#include "laredo/error_codes.hpp"
#include "laredo/http/server.hpp"

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "laredo/error.hpp"
#include "router.hpp"

namespace laredo::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using Tcp = asio::ip::tcp;

// How long a connection we are closing may take to send its last bytes, which we read and discard
// so that closing with unread input does not reset the connection before the client read our
// error response.
constexpr auto kLingerTimeout = std::chrono::seconds(1);

std::vector<std::string> Validate(const ServerOptions& o) {
  std::vector<std::string> problems;
  if (o.threads < 1) problems.emplace_back("ServerOptions.threads must be at least 1");
  if (o.max_connections < 1) problems.emplace_back("ServerOptions.max_connections must be >= 1");
  if (o.max_request_bytes < 256) problems.emplace_back("ServerOptions.max_request_bytes < 256");
  if (o.read_timeout <= std::chrono::milliseconds::zero() ||
      o.write_timeout <= std::chrono::milliseconds::zero()) {
    problems.emplace_back("ServerOptions.read_timeout and write_timeout must be positive");
  }
  if (o.admin_enabled && o.bearer_token.empty()) {
    problems.emplace_back("ServerOptions.admin_enabled needs a bearer_token");
  }
  beast::error_code ec;
  asio::ip::make_address(o.bind_address, ec);
  if (ec) problems.push_back("ServerOptions.bind_address is not an IP address: " + o.bind_address);
  return problems;
}

}  // namespace

namespace detail {

// What the sessions need of the server (Server::Impl itself is private to Server).
struct ServerCore {
  ServerCore(Engine& engine, ServerOptions server_options)
      : options(std::move(server_options)), router(engine, options) {}
  ServerOptions options;
  Router router;
  std::atomic<std::size_t> connections{0};
};

}  // namespace detail

struct Server::Impl : detail::ServerCore {
  using ServerCore::ServerCore;

  void Listen();
  void Accept();
  void Stop();

  std::uint16_t port = 0;
  std::mutex mu;  // Stop() against itself
  // Destroyed in Stop(), after the threads are joined: that destroys the sessions still queued.
  std::unique_ptr<asio::io_context> io;
  std::unique_ptr<Tcp::acceptor> acceptor;
  std::vector<std::jthread> threads;
};

namespace {

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(Tcp::socket socket, detail::ServerCore& server)
      : stream_(std::move(socket)), server_(server) {}
  ~Session() { server_.connections.fetch_sub(1); }
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  void Read() {
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(server_.options.max_request_bytes));
    parser_->body_limit(server_.options.max_request_bytes);
    // One deadline for the whole request, not per byte: a client trickling bytes still times out.
    stream_.expires_after(server_.options.read_timeout);
    bhttp::async_read(stream_, buffer_, *parser_,
                      beast::bind_front_handler(&Session::OnRead, shared_from_this()));
  }

 private:
  void OnRead(beast::error_code ec, std::size_t) {
    if (ec == bhttp::error::end_of_stream) return Linger();
    if (ec == bhttp::error::header_limit || ec == bhttp::error::body_limit ||
        ec == bhttp::error::buffer_overflow) {
      return Reply(detail::Text(413, "request too large"), 11, false);
    }
    // A malformed request: Beast's parse errors are in its http category; anything else (reset,
    // timeout: the stream already closed the socket) leaves nobody to answer.
    if (ec && ec.category() == bhttp::make_error_code(bhttp::error::bad_method).category()) {
      return Reply(detail::Text(400, "bad request: " + ec.message()), 11, false);
    }
    if (ec) return;
    const auto& request = parser_->get();
    detail::Request view{request.method_string(), request.target(), std::nullopt};
    if (const auto it = request.find(bhttp::field::authorization); it != request.end()) {
      view.authorization = it->value();
    }
    detail::Response response;
    try {
      response = server_.router.Handle(view);
    } catch (const std::exception& e) {
      response = detail::Text(500, std::string("internal error: ") + e.what());
    }
    Reply(std::move(response), request.version(), request.keep_alive());
  }

  void Reply(detail::Response response, unsigned version, bool keep_alive) {
    response_ = {};
    response_.version(version);
    response_.result(response.status);
    response_.set(bhttp::field::server, "laredo");
    response_.set(bhttp::field::content_type, response.content_type);
    response_.set(bhttp::field::cache_control, "no-store");
    for (const auto& [name, value] : response.headers) response_.set(name, value);
    response_.body() = std::move(response.body);
    response_.keep_alive(keep_alive);
    response_.prepare_payload();
    stream_.expires_after(server_.options.write_timeout);
    bhttp::async_write(stream_, response_,
                       [self = shared_from_this(), keep_alive](beast::error_code ec, std::size_t) {
                         if (ec) return;
                         if (keep_alive) return self->Read();
                         self->Linger();
                       });
  }

  // Half-close, then discard what the client still sends until it closes or time runs out.
  void Linger() {
    beast::error_code ignored;
    stream_.socket().shutdown(Tcp::socket::shutdown_send, ignored);
    stream_.expires_after(kLingerTimeout);
    Discard();
  }
  void Discard() {
    stream_.async_read_some(asio::buffer(scratch_),
                            [self = shared_from_this()](beast::error_code ec, std::size_t) {
                              if (!ec) self->Discard();
                            });
  }

  beast::tcp_stream stream_;
  detail::ServerCore& server_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  bhttp::response<bhttp::string_body> response_;
  std::array<char, 4096> scratch_{};
};

}  // namespace

void Server::Impl::Listen() {
  io = std::make_unique<asio::io_context>(static_cast<int>(options.threads));
  acceptor = std::make_unique<Tcp::acceptor>(*io);
  const Tcp::endpoint endpoint(asio::ip::make_address(options.bind_address), options.port);
  beast::error_code ec;
  if (!acceptor->open(endpoint.protocol(), ec)) {
    acceptor->set_option(asio::socket_base::reuse_address(true), ec);
  }
  if (!ec) acceptor->bind(endpoint, ec);
  if (!ec) acceptor->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    throw Error(codes::kHttpListen, "laredo::http::Server cannot listen on " + options.bind_address +
                                   ":" + std::to_string(options.port) + ": " + ec.message());
  }
  port = acceptor->local_endpoint().port();
}

void Server::Impl::Accept() {
  // Each connection gets a strand, so its handlers never run at once on two threads.
  acceptor->async_accept(asio::make_strand(*io), [this](beast::error_code ec, Tcp::socket socket) {
    if (ec == asio::error::operation_aborted || !acceptor->is_open()) return;
    if (!ec) {
      if (connections.fetch_add(1) >= options.max_connections) {
        connections.fetch_sub(1);
        beast::error_code ignored;
        socket.close(ignored);  // over the limit: closed at once, costs nothing to keep
      } else {
        std::make_shared<Session>(std::move(socket), *this)->Read();
      }
    }
    Accept();
  });
}

void Server::Impl::Stop() {
  std::lock_guard lk(mu);
  if (!io) return;
  io->stop();
  threads.clear();  // joins
  acceptor.reset();
  io.reset();  // destroys the queued handlers, and with them the sessions and their sockets
}

Server::Server(Engine& engine, ServerOptions options) {
  if (auto problems = Validate(options); !problems.empty()) throw ConfigError(std::move(problems));
  impl_ = std::make_unique<Impl>(engine, std::move(options));
  impl_->Listen();
  impl_->Accept();
  for (std::size_t i = 0; i < impl_->options.threads; ++i) {
    impl_->threads.emplace_back([io = impl_->io.get()] {
      // A handler that throws must not take the process down: log-free, keep serving.
      for (;;) {
        try {
          io->run();
          return;
        } catch (const std::exception&) {
          // Sessions catch the router's exceptions; this is a last resort.
        }
      }
    });
  }
}

Server::~Server() { Stop(); }

std::uint16_t Server::Port() const noexcept { return impl_->port; }

void Server::Stop() { impl_->Stop(); }

}  // namespace laredo::http
