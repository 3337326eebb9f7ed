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

struct InstallOptions {
  std::string torrent;        // a path or an http:// URL
  std::string cache_dir;      // the piece cache (a tmpfs in the initramfs): holds the whole image
  std::string target;         // "auto", a block device or a regular file at least the image's size
  std::vector<std::string> trackers;
  std::vector<HostPort> peers;
  std::string webseed;        // empty: none
  std::string report_url;     // empty: no reports
  std::string token_file;     // bearer token for the reports
  int listen_port = 0;        // 0: any free port
  std::string listen_address = "0.0.0.0";
  std::string status_file;    // empty: none
  std::string expected_info_hash;  // empty: not checked
  std::chrono::seconds seed_after{0};  // keep seeding this long once installed (or until SIGTERM)
  // No verified piece for this long while incomplete (or no swarm peer for 5 s): attach the web seed.
  std::chrono::milliseconds stall_after{std::chrono::seconds(10)};
  std::string log_level = "info";
  std::vector<std::string> lt_settings;  // tests/benchmarks: libtorrent NAME=VALUE
};

using InstallCommand = std::variant<InstallOptions, HelpRequest>;

// args excludes "install". Errors read "could not parse the command line: …".
Result<InstallCommand> parse_install_command_line(const std::vector<std::string>& args);

}  // namespace swarmboot::agent
