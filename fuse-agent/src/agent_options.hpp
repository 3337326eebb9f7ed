// The swarmboot-agent command line (Boost.Program_options), parsed into plain structs. Pure: argv in, options
// or a one-line error naming the flag out; `main()` does the I/O. The `mount` command line is a contract with
// the initramfs (see the team brief); keep every flag's spelling.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "swarmcore/result.hpp"

namespace boost::program_options {
class options_description;
}

namespace swarmboot::agent {

struct HostPort {
  std::string host;
  int port = 0;
};

// What every subcommand that joins an image's swarm (`mount`, `vm`, `install`) takes, spelled the same in each.
struct SwarmOptions {
  std::string torrent;        // a path or an http:// URL
  std::string cache_dir;
  std::vector<std::string> trackers;
  std::vector<HostPort> peers;
  std::string webseed;        // empty: none
  std::string report_url;     // empty: no reports
  std::string token_file;     // bearer token for the reports
  int listen_port = 0;        // 0: any free port
  std::string listen_address = "0.0.0.0";
  std::string status_file;    // empty: none
  std::string expected_info_hash;  // empty: not checked
  std::string log_level = "info";
  // Tests and benchmarks: raw libtorrent settings applied over the LAN tuning, "name=value".
  std::vector<std::string> lt_settings;
};

struct MountOptions : SwarmOptions {
  std::string mountpoint;
  bool foreground = false;
  bool root_daemon = false;
  std::chrono::milliseconds read_timeout{std::chrono::seconds(120)};  // then EIO, with a log line why
  std::chrono::milliseconds stall_after{std::chrono::seconds(2)};     // then the read's pieces come over HTTP
  std::string boot_profile;   // path or http:// URL of a boot profile (boot_profile.hpp); empty: none
  std::string record_reads;   // empty: no recording; else the profile of this boot is written here
  int readahead_kib = 128;    // the mount's readahead window (bdi read_ahead_kb): the kernel's default
};

struct SeedOptions {
  std::string torrent;
  std::string data_file;
  int listen_port = 0;
  std::string listen_address = "0.0.0.0";
  std::vector<std::string> trackers;
  // Test only: serve the data file without hashing it, so a corrupted copy goes out as-is (a bad peer).
  bool no_verify = false;
  std::string log_level = "info";
  std::vector<std::string> lt_settings;
};

struct HelpRequest {
  std::string text;
};

using Command = std::variant<MountOptions, SeedOptions, HelpRequest>;

// args excludes argv[0]. Errors read "could not parse the command line: …".
Result<Command> parse_command_line(const std::vector<std::string>& args);

// The swarm flags shared by `mount`, `vm` and `install`, from --tracker to --expected-info-hash, bound to `o`
// (--peer to `peer_texts`, parsed by finish_swarm_options). `report_help` is --report's help text.
void add_swarm_options(boost::program_options::options_description& desc, SwarmOptions& o,
                       std::vector<std::string>& peer_texts, const char* report_help);

// --log-level and --lt-setting, last in every swarm subcommand's help.
void add_logging_options(boost::program_options::options_description& desc, SwarmOptions& o);

// After notify: parses the --peer texts into o.peers and checks --listen, --expected-info-hash, --token-file.
// Errors read "could not parse the command line: …" and name the flag.
Status finish_swarm_options(SwarmOptions& o, const std::vector<std::string>& peer_texts);

// "10.99.0.1:6881" → {host, port}; "[::1]:6881" too.
Result<HostPort> parse_host_port(const std::string& text);

}  // namespace swarmboot::agent
