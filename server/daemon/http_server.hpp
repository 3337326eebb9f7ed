// The one HTTP listen socket (Boost.Beast/Asio): accepts connections, reads requests with a body limit, hands
// each to a handler that returns a Reply, writes it, keeps the connection alive. It knows nothing about
// swarmboot: routing and decisions live in App.
//
// Replies carry either a string body or a span of an already-open file, streamed from disk in 64 KiB reads
// (an image is never loaded into memory).
//
// Shutdown: stop() closes the acceptor, lets in-flight requests finish their response, closes idle
// keep-alive connections; run() returns when nothing is left (or after the grace period).
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/http.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "swarmcore/log.hpp"
#include "swarmcore/result.hpp"

namespace swarmboot::server {

namespace http = boost::beast::http;
using HttpRequestMessage = http::request<http::string_body>;

// An open file shared by replies streaming from it.
class OpenFile {
 public:
  static Result<std::shared_ptr<OpenFile>> open(const std::string& path);
  ~OpenFile();
  OpenFile(const OpenFile&) = delete;
  OpenFile& operator=(const OpenFile&) = delete;
  int fd() const { return fd_; }
  std::int64_t size() const { return size_; }
  std::int64_t mtime() const { return mtime_; }

 private:
  OpenFile(int fd, std::int64_t size, std::int64_t mtime) : fd_(fd), size_(size), mtime_(mtime) {}
  int fd_;
  std::int64_t size_;
  std::int64_t mtime_;
};

struct FileSpan {
  std::shared_ptr<OpenFile> file;
  std::int64_t offset = 0;
  std::int64_t length = 0;
  std::function<void(std::uint64_t)> on_sent;  // called with each chunk's size (metrics)
};

struct Reply {
  http::response<http::string_body> message;  // status, headers, and the body unless `file` is set
  std::optional<FileSpan> file;               // stream this as the body instead
};

struct Peer {
  std::string remote_ip;
  std::string local_ip;
  std::uint16_t local_port = 0;
};

using Handler = std::function<Reply(const HttpRequestMessage&, const Peer&)>;

struct HttpServerOptions {
  std::string address = "0.0.0.0";
  std::uint16_t port = 0;
  std::size_t max_body_bytes = 1 << 20;
  int threads = 2;
};

class HttpServer {
 public:
  // Binds and listens (so the port is known before run()).
  static Result<std::unique_ptr<HttpServer>> bind(const HttpServerOptions& options, Handler handler,
                                                  Logger log);
  ~HttpServer();

  std::uint16_t port() const { return port_; }
  boost::asio::io_context& io() { return io_; }

  // Serves on options.threads threads until stop() and every connection is done; then returns.
  void run();
  // Thread-safe and signal-safe to call via io() (e.g. from an asio::signal_set handler).
  void stop();

  struct Session;  // one connection (defined in the .cpp)

 private:
  HttpServer(const HttpServerOptions& options, Handler handler, Logger log);
  void accept();
  void drain();

  HttpServerOptions options_;
  Handler handler_;
  Logger log_;
  boost::asio::io_context io_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  boost::asio::steady_timer drain_timer_{io_};            // only used on the io_context after stop()
  std::chrono::steady_clock::time_point drain_deadline_;  // set once by stop()
  std::mutex sessions_mutex_;
  std::vector<std::weak_ptr<Session>> sessions_;  // guarded by sessions_mutex_
};

}  // namespace swarmboot::server
