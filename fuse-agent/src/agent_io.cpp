// Status file and status reports shared by the swarm subcommands (see agent_io.hpp).
#include "agent_io.hpp"

#include "swarmcore/file_io.hpp"
#include "swarmcore/http_client.hpp"

namespace swarmboot::agent {

void write_file_replacing(const std::string& path, const std::string& content, const Logger& log) {
  if (auto s = write_file_atomic(path, content); !s) log.warn("{}", s.error().message);
}

void post_status_report(const std::string& url, const std::string& token, const std::string& json,
                        const Logger& log, bool unreachable_is_warning) {
  HttpRequest req;
  req.method = "POST";
  req.url = url;
  req.body = json;
  req.headers["Content-Type"] = "application/json";
  if (!token.empty()) req.headers["Authorization"] = "Bearer " + token;
  req.timeout = std::chrono::seconds(2);
  auto r = http_request(req);
  if (!r) {
    if (unreachable_is_warning) {
      log.warn("could not post a status report: {}", r.error().message);
    } else {
      log.debug("could not post a status report: {}", r.error().message);
    }
  } else if (r->status >= 300) {
    log.warn("could not post a status report: HTTP {} {}", r->status, r->body.substr(0, 200));
  }
}

}  // namespace swarmboot::agent
