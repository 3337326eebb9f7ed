// Beast server: one strand per connection, a custom body type that streams a file span with pread.
#include "daemon/http_server.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <cerrno>
#include <cstring>
#include <thread>
#include <variant>

namespace swarmboot::server {
namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;

Result<std::shared_ptr<OpenFile>> OpenFile::open(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Error{"could not open " + path + ": " + std::strerror(errno)};
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return Error{"could not open " + path + ": not a regular file"};
  }
  return std::shared_ptr<OpenFile>(new OpenFile(fd, st.st_size, st.st_mtim.tv_sec));
}

OpenFile::~OpenFile() {
  ::close(fd_);
}

namespace {

// A Beast body streaming FileSpan in 64 KiB preads: constant memory per connection.
struct FileSpanBody {
  using value_type = FileSpan;
  static std::uint64_t size(const value_type& v) { return static_cast<std::uint64_t>(v.length); }

  class writer {
   public:
    using const_buffers_type = asio::const_buffer;
    template <bool isRequest, class Fields>
    writer(const http::header<isRequest, Fields>&, const value_type& body) : body_(body), buf_(64 * 1024) {}
    void init(beast::error_code& ec) { ec = {}; }
    boost::optional<std::pair<const_buffers_type, bool>> get(beast::error_code& ec) {
      ec = {};
      if (sent_ >= body_.length) return boost::none;
      const auto want = static_cast<std::size_t>(
          std::min<std::int64_t>(static_cast<std::int64_t>(buf_.size()), body_.length - sent_));
      const ssize_t got = ::pread(body_.file->fd(), buf_.data(), want, body_.offset + sent_);
      if (got <= 0) {
        ec = beast::error_code(got < 0 ? errno : EIO, beast::system_category());
        return boost::none;
      }
      sent_ += got;
      if (body_.on_sent) body_.on_sent(static_cast<std::uint64_t>(got));
      return std::make_pair(asio::const_buffer(buf_.data(), static_cast<std::size_t>(got)),
                            sent_ < body_.length);
    }

   private:
    const value_type& body_;
    std::vector<char> buf_;
    std::int64_t sent_ = 0;
  };
};

}  // namespace

struct HttpServer::Session : std::enable_shared_from_this<HttpServer::Session> {
  Session(tcp::socket socket, HttpServer& owner) : stream(std::move(socket)), server(owner) {}

  beast::tcp_stream stream;
  HttpServer& server;
  beast::flat_buffer buffer;
  std::optional<http::request_parser<http::string_body>> parser;
  std::variant<std::monostate, http::response<http::string_body>, http::response<FileSpanBody>> response;
  bool busy = false;  // a request is being handled or answered (only touched on the strand)
  Peer peer;

  void start() {
    beast::error_code ec;
    const auto remote = stream.socket().remote_endpoint(ec);
    const auto local = stream.socket().local_endpoint(ec);
    if (!ec) {
      peer.remote_ip = remote.address().to_string();
      peer.local_ip = local.address().to_string();
      peer.local_port = local.port();
      // IPv4 clients on a dual-stack socket: report the plain IPv4 form.
      for (auto* ip : {&peer.remote_ip, &peer.local_ip}) {
        if (ip->rfind("::ffff:", 0) == 0 && ip->find('.') != std::string::npos) *ip = ip->substr(7);
      }
    }
    asio::dispatch(stream.get_executor(), [self = shared_from_this()] { self->read(); });
  }

  void read() {
    busy = false;
    if (server.stopping_.load()) return close();
    parser.emplace();
    parser->body_limit(server.options_.max_body_bytes);
    parser->header_limit(16 * 1024);
    stream.expires_after(std::chrono::seconds(60));  // idle keep-alive connections are closed after this
    http::async_read(stream, buffer, *parser,
                     [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); });
  }

  void on_read(beast::error_code ec) {
    if (ec == http::error::end_of_stream || ec == asio::error::operation_aborted ||
        ec == beast::error::timeout || ec == asio::error::connection_reset || ec == asio::error::eof) {
      return close();
    }
    busy = true;
    if (ec) {
      // Malformed or oversized requests: one error answer, then close (the stream position is unknown).
      const bool too_big = ec == http::error::body_limit || ec == http::error::header_limit;
      http::response<http::string_body> res{
          too_big ? http::status::payload_too_large : http::status::bad_request, 11};
      res.set(http::field::content_type, "application/json");
      res.body() =
          std::string("{\"error\":\"") + (too_big ? "request too large" : "malformed HTTP request") + "\"}\n";
      res.keep_alive(false);
      res.prepare_payload();
      server.log_.debug("bad request from {}: {}", peer.remote_ip, ec.message());
      return write(std::move(res), true);
    }
    const HttpRequestMessage& req = parser->get();
    Reply reply;
    try {
      reply = server.handler_(req, peer);
    } catch (const std::exception& e) {
      server.log_.error("handler failed for {}: {}", std::string(req.target()), e.what());
      reply.message = http::response<http::string_body>{http::status::internal_server_error, 11};
      reply.message.set(http::field::content_type, "application/json");
      reply.message.body() = "{\"error\":\"internal error\"}\n";
      reply.message.prepare_payload();
    }
    const bool keep = req.keep_alive() && !server.stopping_.load();
    const bool head = req.method() == http::verb::head;
    if (reply.file && !head) {
      http::response<FileSpanBody> res{reply.message.result(), 11};
      for (const auto& f : reply.message) res.set(f.name_string(), f.value());
      res.body() = std::move(*reply.file);
      res.keep_alive(keep);
      res.prepare_payload();
      return write(std::move(res), !keep);
    }
    auto& res = reply.message;
    res.keep_alive(keep);
    if (head) {
      // HEAD: the headers a GET would have, no body.
      const std::uint64_t length =
          reply.file ? static_cast<std::uint64_t>(reply.file->length) : res.body().size();
      res.body().clear();
      res.content_length(length);
    } else {
      res.prepare_payload();
    }
    return write(std::move(res), !keep);
  }

  template <class Message>
  void write(Message&& message, bool close_after) {
    response = std::forward<Message>(message);
    stream.expires_after(std::chrono::minutes(30));  // a large web-seed response on a slow link
    auto& res = std::get<std::decay_t<Message>>(response);
    http::async_write(stream, res,
                      [self = shared_from_this(), close_after](beast::error_code ec, std::size_t) {
                        self->response = std::monostate{};
                        if (ec || close_after) return self->close();
                        self->read();
                      });
  }

  void close() {
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream.socket().close(ignored);
  }

  // Called on shutdown: idle connections close now, busy ones after their response.
  void close_if_idle() {
    asio::dispatch(stream.get_executor(), [self = shared_from_this()] {
      if (!self->busy) self->close();
    });
  }
};

HttpServer::HttpServer(const HttpServerOptions& options, Handler handler, Logger log)
    : options_(options), handler_(std::move(handler)), log_(std::move(log)), acceptor_(io_) {}

HttpServer::~HttpServer() = default;

Result<std::unique_ptr<HttpServer>> HttpServer::bind(const HttpServerOptions& options, Handler handler,
                                                     Logger log) {
  std::unique_ptr<HttpServer> s(new HttpServer(options, std::move(handler), std::move(log)));
  beast::error_code ec;
  const auto address = asio::ip::make_address(options.address, ec);
  if (ec) return Error{"could not listen on " + options.address + ": bad address"};
  const tcp::endpoint endpoint(address, options.port);
  const std::string where = options.address + ":" + std::to_string(options.port);
  s->acceptor_.open(endpoint.protocol(), ec);
  if (!ec) s->acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) s->acceptor_.bind(endpoint, ec);
  if (!ec) s->acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return Error{"could not listen on " + where + ": " + ec.message()};
  s->port_ = s->acceptor_.local_endpoint().port();
  return s;
}

void HttpServer::accept() {
  acceptor_.async_accept(asio::make_strand(io_), [this](beast::error_code ec, tcp::socket socket) {
    if (stopping_.load() || !acceptor_.is_open()) return;
    if (!ec) {
      auto session = std::make_shared<Session>(std::move(socket), *this);
      {
        std::lock_guard lock(sessions_mutex_);
        std::erase_if(sessions_, [](const auto& w) { return w.expired(); });
        sessions_.push_back(session);
      }
      session->start();
    } else {
      log_.warn("could not accept a connection: {}", ec.message());
    }
    accept();
  });
}

void HttpServer::run() {
  accept();
  std::vector<std::thread> threads;
  for (int i = 1; i < options_.threads; ++i) threads.emplace_back([this] { io_.run(); });
  io_.run();
  for (auto& t : threads) t.join();
}

void HttpServer::stop() {
  if (stopping_.exchange(true)) return;
  asio::post(io_, [this] {
    beast::error_code ignored;
    acceptor_.close(ignored);
    std::vector<std::shared_ptr<Session>> live;
    {
      std::lock_guard lock(sessions_mutex_);
      for (auto& w : sessions_) {
        if (auto s = w.lock()) live.push_back(std::move(s));
      }
    }
    for (auto& s : live) s->close_if_idle();
    drain_deadline_ = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    drain();
  });
}

// Waits for open connections to finish (polling, so that nothing else keeps run() alive), then stops the
// io_context; after the grace period whatever is left is cut off.
void HttpServer::drain() {
  bool any = false;
  {
    std::lock_guard lock(sessions_mutex_);
    for (auto& w : sessions_) any = any || !w.expired();
  }
  if (!any || std::chrono::steady_clock::now() >= drain_deadline_) {
    if (any) log_.warn("cutting off connections still open after the shutdown grace period");
    io_.stop();
    return;
  }
  drain_timer_.expires_after(std::chrono::milliseconds(50));
  drain_timer_.async_wait([this](beast::error_code) { drain(); });
}

}  // namespace swarmboot::server
