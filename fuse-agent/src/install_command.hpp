// `swarmboot-agent install`: wiring only. Parse → check input → choose and open the target → refuse a target
// too small (nothing written) → DiskInstaller::run → exit code (install_target.hpp, InstallExit).
#pragma once

#include <string>
#include <vector>

namespace swarmboot::agent {

// args excludes "install". Returns the process exit code; the reason of a failure is the last line on stderr.
int run_install_command(const std::vector<std::string>& args);

}  // namespace swarmboot::agent
