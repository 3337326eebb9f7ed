// swarmbootd's configuration: one struct, layered defaults < config file < SWARMBOOT_* environment < flags
// (Boost.Program_options). Config-file keys are spelled exactly like the long flags (see
// server/swarmbootd.conf.example); the environment variable for --foo-bar is SWARMBOOT_FOO_BAR. The admin
// token is a secret and so never a flag: SWARMBOOT_API_TOKEN or --api-token-file.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/host_state.hpp"
#include "swarmcore/log.hpp"
#include "swarmcore/result.hpp"

namespace swarmboot::server {

// How swarmbootd takes part in DHCP (implemented by the PXE component, boot/): `off` touches no interface.
enum class DhcpMode { off, full, proxy };
// What a machine we have never seen gets: registered as new with the default image, or a retry-later script.
enum class UnknownHostPolicy { register_default, retry };

// How the seeder shows pieces (swarmbootd.conf.example, "seeding"): spread seeding (core/piece_spread.hpp:
// pieces other hosts hold or are being sent are hidden) or plain BitTorrent seeding.
enum class SeedingPolicy { spread, plain };
std::string_view to_string(SeedingPolicy policy);

struct ServerConfig {
  std::string data_dir = "/var/lib/swarmboot";
  std::string listen_address = "0.0.0.0";
  std::uint16_t listen_port = 8080;  // 0: any free port (written to DATA_DIR/swarmbootd.port)
  std::string boot_dir;              // default DATA_DIR/boot
  std::string advertise_url;         // empty: http://<address the request arrived on>:<port>
  std::string api_token_file;
  std::string api_token;  // from SWARMBOOT_API_TOKEN only
  DhcpMode dhcp_mode = DhcpMode::off;
  std::string interface;
  std::string dhcp_range;  // e.g. "10.99.0.100,10.99.0.200,12h" (dnsmasq syntax)
  UnknownHostPolicy unknown_hosts = UnknownHostPolicy::retry;
  std::string default_image;
  BootMode default_mode = BootMode::diskless;
  bool seeder = true;
  std::string bt_listen = "0.0.0.0:6881";
  int seed_upload_limit = 0;              // bytes/s, 0 = unlimited
  SeedingPolicy seeding = SeedingPolicy::spread;
  int announce_interval = 60;             // s, for seeds
  int announce_interval_downloading = 5;  // s, for peers still downloading
  int max_numwant = 200;
  std::size_t max_body_bytes = 1 << 20;
  int http_threads = 2;
  int boot_attempts = 5;
  int boot_retry_delay = 5;
  int retry_later_delay = 30;
  std::string kernel_args = "console=ttyS0,115200 console=tty0 quiet";
  int install_seed_seconds = 120;  // an installed host keeps seeding this long before it reboots
  LogLevel log_level = LogLevel::info;
};

struct ConfigLoad {
  ServerConfig config;
  bool help = false;  // --help was given: print help_text and exit 0
  std::string help_text;
};

// Parses flags (argv without the program name), the environment and, when --config / SWARMBOOT_CONFIG names
// one, the config file. Errors name the flag and read "could not …".
Result<ConfigLoad> load_server_config(const std::vector<std::string>& args,
                                      const std::map<std::string, std::string>& env);

// "0.0.0.0:8080", "[::1]:0" -> address and port.
Result<std::pair<std::string, std::uint16_t>> parse_listen(const std::string& text);

std::string_view to_string(DhcpMode mode);

}  // namespace swarmboot::server
