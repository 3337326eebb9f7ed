// A small blocking HTTP/1.1 client (Boost.Beast) for the agent, the CLI and tests: fetch a torrent, post a
// status report, call the REST API. Plain http:// only: swarmboot runs on a provisioning LAN, and every byte
// a host boots from is verified against an info-hash it was given, not trusted for arriving over HTTP.
#pragma once

#include <chrono>
#include <map>
#include <string>

#include "swarmcore/result.hpp"

namespace swarmboot {

struct Url {
  std::string host;
  std::string port = "80";
  std::string target = "/";  // path and query
};

// Parses "http://host[:port][/path?query]". IPv6 literals in brackets are accepted.
Result<Url> parse_url(const std::string& url);

struct HttpRequest {
  std::string method = "GET";
  std::string url;
  std::string body;
  std::map<std::string, std::string> headers;  // e.g. {"Authorization", "Bearer …"}
  std::chrono::milliseconds timeout{std::chrono::seconds(10)};  // whole exchange
};

struct HttpResponse {
  int status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // lower-case names
};

// Performs one request. An Error for transport failures (resolve, connect, timeout, malformed reply);
// any HTTP status, 4xx/5xx included, is a response.
Result<HttpResponse> http_request(const HttpRequest& request);

// Convenience: GET that requires 200 and returns the body.
Result<std::string> http_get(const std::string& url, std::chrono::milliseconds timeout = std::chrono::seconds(10));

}  // namespace swarmboot
