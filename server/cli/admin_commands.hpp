// `swarmboot hosts|images|host|reimage|status|events`: the administrator's commands over swarmbootd's REST
// API. The server is --server URL (or SWARMBOOT_SERVER, default http://127.0.0.1:8080); the admin token for
// changes comes from SWARMBOOT_API_TOKEN or --api-token-file, never from the command line.
#pragma once

#include <string>
#include <vector>

namespace swarmboot::cli {

// True when `command` is one of ours.
bool is_admin_command(const std::string& command);

// Runs the command (args after the command word); returns the process exit code (0 ok, 1 failed, 2 usage).
int run_admin_command(const std::string& command, const std::vector<std::string>& args);

// Usage lines for the top-level help.
std::string admin_usage();

}  // namespace swarmboot::cli
