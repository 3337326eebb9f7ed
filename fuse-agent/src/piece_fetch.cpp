// HTTP Range fetch of one piece (see piece_fetch.hpp).
#include "piece_fetch.hpp"

#include <fmt/format.h>

#include "swarmcore/http_client.hpp"

namespace swarmboot::agent {

std::string range_header_for(std::int64_t offset, std::int64_t length) {
  return fmt::format("bytes={}-{}", offset, offset + length - 1);
}

Result<std::string> fetch_byte_range(const std::string& url, std::int64_t offset, std::int64_t length,
                                     std::chrono::milliseconds timeout) {
  if (offset < 0 || length <= 0) return Error{fmt::format("invalid byte range {}+{}", offset, length)};
  HttpRequest req;
  req.url = url;
  req.timeout = timeout;
  req.headers["Range"] = range_header_for(offset, length);
  auto resp = http_request(req);
  if (!resp) return wrap(fmt::format("could not fetch bytes {}+{} of {}", offset, length, url), resp.error());
  if (resp->status != 206) {
    return Error{fmt::format("could not fetch bytes {}+{} of {}: HTTP {} instead of 206 Partial Content", offset,
                             length, url, resp->status)};
  }
  if (static_cast<std::int64_t>(resp->body.size()) != length) {
    return Error{fmt::format("could not fetch bytes {}+{} of {}: got {} bytes", offset, length, url,
                             resp->body.size())};
  }
  return std::move(resp->body);
}

}  // namespace swarmboot::agent
