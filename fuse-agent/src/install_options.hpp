// The `swarmboot-agent install` command line, parsed into InstallOptions. Pure: argv (after "install") in,
// options, a help text or a one-line error naming the flag out. The flags /init passes are a contract with
// the initramfs (initramfs/init, install_image); keep their spelling.
#pragma once

#include <chrono>
#include <string>
#include <variant>
#include <vector>

#include "agent_options.hpp"
#include "swarmcore/result.hpp"

namespace swarmboot::agent {

// The swarm flags (SwarmOptions) are spelled as `mount`'s; the cache here holds the whole image.
struct InstallOptions : SwarmOptions {
  std::string target;         // "auto", a block device or a regular file at least the image's size
  std::chrono::seconds seed_after{0};  // keep seeding this long once installed (or until SIGTERM)
  // No verified piece for this long while incomplete (or no swarm peer for 5 s): attach the web seed.
  std::chrono::milliseconds stall_after{std::chrono::seconds(10)};
};

using InstallCommand = std::variant<InstallOptions, HelpRequest>;

// args excludes "install". Errors read "could not parse the command line: …".
Result<InstallCommand> parse_install_command_line(const std::vector<std::string>& args);

}  // namespace swarmboot::agent
