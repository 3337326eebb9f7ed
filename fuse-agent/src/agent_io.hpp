// The I/O that every swarm subcommand (mount, vm, install) does the same way: the status file and the status
// report POSTed to the server.
#pragma once

#include <string>

#include "swarmcore/log.hpp"

namespace swarmboot::agent {

// Replaces `path` with `content` so that readers never see a half-written file (a temporary renamed over
// it). Failures are logged, never fatal: the status file and a recorded profile are for watchers.
void write_file_replacing(const std::string& path, const std::string& content, const Logger& log);

// POSTs `json` to `url` with the bearer `token` (if any), bounded to 2 s. Failures are logged, never fatal:
// the server only watches. `unreachable_is_warning`: whether "no connection" is worth a warning (an
// installer's few reports) or only a debug line (a diskless host reporting every few seconds).
void post_status_report(const std::string& url, const std::string& token, const std::string& json,
                        const Logger& log, bool unreachable_is_warning);

}  // namespace swarmboot::agent
