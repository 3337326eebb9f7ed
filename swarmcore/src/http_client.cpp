// Beast client: async operations on a private io_context bounded by run_for(), so every call has a deadline.
#include "swarmcore/http_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cctype>

namespace swarmboot {

namespace beast = boost::beast;
namespace http = beast::http;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

Result<Url> parse_url(const std::string& url) {
  const std::string scheme = "http://";
  if (url.rfind(scheme, 0) != 0) return Error{"could not parse URL '" + url + "': only http:// is supported"};
  std::string rest = url.substr(scheme.size());
  Url out;
  const auto slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  if (slash != std::string::npos) out.target = rest.substr(slash);
  if (authority.empty()) return Error{"could not parse URL '" + url + "': no host"};
  if (authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string::npos) return Error{"could not parse URL '" + url + "': unterminated IPv6 literal"};
    out.host = authority.substr(1, close - 1);
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':') return Error{"could not parse URL '" + url + "': junk after host"};
      out.port = authority.substr(close + 2);
    }
  } else {
    const auto colon = authority.rfind(':');
    out.host = authority.substr(0, colon);
    if (colon != std::string::npos) out.port = authority.substr(colon + 1);
  }
  if (out.host.empty()) return Error{"could not parse URL '" + url + "': no host"};
  if (out.port.empty() || out.port.size() > 5 ||
      !std::all_of(out.port.begin(), out.port.end(), [](unsigned char c) { return std::isdigit(c); })) {
    return Error{"could not parse URL '" + url + "': bad port"};
  }
  return out;
}

Result<HttpResponse> http_request(const HttpRequest& request) {
  auto url = parse_url(request.url);
  if (!url) return url.error();
  const std::string what = "could not " + request.method + " " + request.url;

  asio::io_context io;
  tcp::resolver resolver(io);
  beast::tcp_stream stream(io);
  beast::flat_buffer buffer;
  http::request<http::string_body> req{http::string_to_verb(request.method), url->target, 11};
  req.set(http::field::host, url->host);
  req.set(http::field::user_agent, "swarmboot/0.1");
  req.set(http::field::connection, "close");
  for (const auto& [k, v] : request.headers) req.set(k, v);
  if (!request.body.empty() || request.method == "POST" || request.method == "PUT") {
    req.body() = request.body;
    req.prepare_payload();
  }
  http::response_parser<http::string_body> parser;
  parser.body_limit(512ull * 1024 * 1024);
  // A HEAD answer announces a Content-Length but carries no body: don't wait for one.
  if (request.method == "HEAD") parser.skip(true);

  beast::error_code failure;
  bool done = false;
  stream.expires_after(request.timeout);
  resolver.async_resolve(url->host, url->port, [&](beast::error_code ec, tcp::resolver::results_type results) {
    if (ec) {
      failure = ec;
      return;
    }
    stream.async_connect(results, [&](beast::error_code ec2, const tcp::endpoint&) {
      if (ec2) {
        failure = ec2;
        return;
      }
      http::async_write(stream, req, [&](beast::error_code ec3, std::size_t) {
        if (ec3) {
          failure = ec3;
          return;
        }
        http::async_read(stream, buffer, parser, [&](beast::error_code ec4, std::size_t) {
          if (ec4) failure = ec4;
          else done = true;
        });
      });
    });
  });
  io.run_for(request.timeout + std::chrono::milliseconds(100));
  if (!done) {
    if (failure) return Error{what + ": " + failure.message()};
    return Error{what + ": timed out after " + std::to_string(request.timeout.count()) + " ms"};
  }
  HttpResponse out;
  auto& res = parser.get();
  out.status = static_cast<int>(res.result_int());
  out.body = std::move(res.body());
  for (const auto& field : res) {
    std::string name(field.name_string());
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out.headers[name] = std::string(field.value());
  }
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  return out;
}

Result<std::string> http_get(const std::string& url, std::chrono::milliseconds timeout) {
  HttpRequest req;
  req.url = url;
  req.timeout = timeout;
  auto res = http_request(req);
  if (!res) return res.error();
  if (res->status != 200) {
    return Error{"could not GET " + url + ": HTTP " + std::to_string(res->status) + " " + res->body.substr(0, 200)};
  }
  return std::move(res->body);
}

}  // namespace swarmboot
