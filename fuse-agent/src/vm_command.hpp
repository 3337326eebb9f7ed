// `swarmboot-agent vm …`: mount the disk image from the swarm and run a QEMU guest on it (see vm_options.hpp).
#pragma once

#include <string>
#include <vector>

namespace swarmboot::agent {

// args start after "vm". Exit: QEMU's exit status once it has run; 1 when the mount, the overlay or QEMU could
// not be started (one line on stderr why, nothing left mounted); 2 on a bad command line.
int run_vm_command(const std::vector<std::string>& args);

}  // namespace swarmboot::agent
