// Option layering with Boost.Program_options: the first layer stored wins, so flags are stored first, then
// the environment (rewritten as flags), then the config file; defaults fill what none of them set.
#include "core/config.hpp"

#include <boost/program_options.hpp>
#include <charconv>
#include <fstream>
#include <sstream>

#include "core/boot_script.hpp"
#include "swarmcore/image_torrent.hpp"

namespace swarmboot::server {
namespace po = boost::program_options;

namespace {

po::options_description make_options(ServerConfig& c, std::string& listen, std::string& dhcp_mode,
                                     std::string& unknown_hosts, std::string& default_mode,
                                     std::string& seeding, std::string& log_level) {
  po::options_description d("swarmbootd options (config-file keys are the same names)");
  // clang-format off
  d.add_options()
    ("data-dir", po::value(&c.data_dir)->default_value(c.data_dir), "folder for all state: database, image registry (DATA_DIR/images), boot files")
    ("listen", po::value(&listen)->default_value("0.0.0.0:8080"), "HTTP listen address ADDR:PORT (port 0 = any free port)")
    ("boot-dir", po::value(&c.boot_dir), "folder with vmlinuz and initramfs.img (default DATA_DIR/boot)")
    ("advertise-url", po::value(&c.advertise_url), "URL hosts reach this server at, e.g. http://10.0.0.1:8080 (default: the address a request arrived on)")
    ("api-token-file", po::value(&c.api_token_file), "file holding the admin bearer token (or set SWARMBOOT_API_TOKEN)")
    ("dhcp-mode", po::value(&dhcp_mode)->default_value("off"), "off | full | proxy")
    ("interface", po::value(&c.interface), "network interface for DHCP/TFTP (needed unless --dhcp-mode off)")
    ("dhcp-range", po::value(&c.dhcp_range), "address range for --dhcp-mode full, dnsmasq syntax")
    ("unknown-hosts", po::value(&unknown_hosts)->default_value("retry"), "register | retry: boot unknown MACs with the default image, or show a message and retry later")
    ("default-image", po::value(&c.default_image), "image for unknown hosts under --unknown-hosts register")
    ("default-mode", po::value(&default_mode)->default_value("diskless"), "boot mode for unknown hosts: diskless | install | hypervisor")
    ("seeder", po::value(&c.seeder)->default_value(c.seeder), "seed every registered image with libtorrent (true/false)")
    ("bt-listen", po::value(&c.bt_listen)->default_value(c.bt_listen), "seeder listen interfaces, libtorrent syntax ADDR:PORT")
    ("seed-upload-limit", po::value(&c.seed_upload_limit)->default_value(0), "seeder upload cap in bytes/s (0 = none)")
    ("seeding", po::value(&seeding)->default_value(std::string(to_string(c.seeding))), "spread | plain: spread hides from each host the pieces other hosts hold or are being sent, so each piece leaves the server about once; plain shows every host every piece")
    ("announce-interval", po::value(&c.announce_interval)->default_value(c.announce_interval), "tracker re-announce interval for seeds, seconds")
    ("announce-interval-downloading", po::value(&c.announce_interval_downloading)->default_value(c.announce_interval_downloading), "tracker re-announce interval while downloading, seconds")
    ("max-numwant", po::value(&c.max_numwant)->default_value(c.max_numwant), "most peers in one announce answer")
    ("max-body-bytes", po::value(&c.max_body_bytes)->default_value(c.max_body_bytes), "largest accepted request body")
    ("http-threads", po::value(&c.http_threads)->default_value(c.http_threads), "threads serving HTTP")
    ("boot-attempts", po::value(&c.boot_attempts)->default_value(c.boot_attempts), "kernel/initramfs fetch attempts in boot scripts")
    ("boot-retry-delay", po::value(&c.boot_retry_delay)->default_value(c.boot_retry_delay), "seconds between fetch attempts")
    ("retry-later-delay", po::value(&c.retry_later_delay)->default_value(c.retry_later_delay), "seconds before a not-yet-assigned machine asks again")
    ("kernel-args", po::value(&c.kernel_args)->default_value(c.kernel_args), "extra kernel arguments after the swarmboot ones")
    ("install-seed-seconds", po::value(&c.install_seed_seconds)->default_value(c.install_seed_seconds), "seconds an installed host keeps seeding before it reboots into its disk")
    ("log-level", po::value(&log_level)->default_value("info"), "debug | info | warn | error");
  // clang-format on
  return d;
}

std::string env_name(const std::string& option) {
  std::string out = "SWARMBOOT_";
  for (char c : option)
    out += c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

Status positive(const char* flag, int v, int lo, int hi) {
  if (v < lo || v > hi) {
    return Error{std::string("could not use --") + flag + " " + std::to_string(v) + ": must be " +
                 std::to_string(lo) + " to " + std::to_string(hi)};
  }
  return {};
}

}  // namespace

std::string_view to_string(DhcpMode mode) {
  switch (mode) {
    case DhcpMode::off:
      return "off";
    case DhcpMode::full:
      return "full";
    case DhcpMode::proxy:
      return "proxy";
  }
  return "off";
}

std::string_view to_string(SeedingPolicy policy) {
  switch (policy) {
    case SeedingPolicy::plain:
      return "plain";
    case SeedingPolicy::spread:
      return "spread";
  }
  return "spread";
}

Result<std::pair<std::string, std::uint16_t>> parse_listen(const std::string& text) {
  const auto bad = [&](const char* why) { return Error{"could not use --listen '" + text + "': " + why}; };
  const auto colon = text.rfind(':');
  if (colon == std::string::npos) return bad("expected ADDR:PORT");
  std::string addr = text.substr(0, colon);
  const std::string port_text = text.substr(colon + 1);
  if (addr.size() >= 2 && addr.front() == '[' && addr.back() == ']') addr = addr.substr(1, addr.size() - 2);
  if (addr.empty()) return bad("no address");
  unsigned port = 0;
  auto [ptr, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || ec != std::errc() || ptr != port_text.data() + port_text.size() || port > 65535) {
    return bad("port must be 0 to 65535");
  }
  return std::make_pair(addr, static_cast<std::uint16_t>(port));
}

Result<ConfigLoad> load_server_config(const std::vector<std::string>& args,
                                      const std::map<std::string, std::string>& env) {
  ConfigLoad out;
  ServerConfig& c = out.config;
  std::string listen, dhcp_mode, unknown_hosts, default_mode, seeding, log_level, config_file;
  po::options_description options =
      make_options(c, listen, dhcp_mode, unknown_hosts, default_mode, seeding, log_level);
  po::options_description generic("general");
  generic.add_options()("help,h", "show this help")("config", po::value(&config_file),
                                                    "config file (also SWARMBOOT_CONFIG)");
  po::options_description all;
  all.add(generic).add(options);

  po::variables_map vm;
  try {
    po::store(po::command_line_parser(args).options(all).run(), vm);
    if (vm.count("help") != 0) {
      std::ostringstream ss;
      ss << "usage: swarmbootd [options]\n" << all;
      out.help = true;
      out.help_text = ss.str();
      return out;
    }
    // The environment as a second command line, only for names we know (other SWARMBOOT_* are not ours).
    std::vector<std::string> env_args;
    for (const auto& opt : options.options()) {
      const std::string name = opt->long_name();
      if (auto it = env.find(env_name(name)); it != env.end())
        env_args.push_back("--" + name + "=" + it->second);
    }
    if (auto it = env.find("SWARMBOOT_CONFIG"); it != env.end() && vm.count("config") == 0) {
      env_args.push_back("--config=" + it->second);
    }
    po::store(po::command_line_parser(env_args).options(all).run(), vm);
    if (vm.count("config") != 0) {
      const std::string path = vm["config"].as<std::string>();
      std::ifstream in(path);
      if (!in) return Error{"could not read config file " + path + ": cannot open it"};
      po::store(po::parse_config_file(in, options, /*allow_unregistered=*/false), vm);
    }
    po::notify(vm);
  } catch (const po::error& e) {
    return Error{std::string("could not parse options: ") + e.what()};
  }

  auto l = parse_listen(listen);
  if (!l) return l.error();
  c.listen_address = l->first;
  c.listen_port = l->second;
  if (dhcp_mode == "off")
    c.dhcp_mode = DhcpMode::off;
  else if (dhcp_mode == "full")
    c.dhcp_mode = DhcpMode::full;
  else if (dhcp_mode == "proxy")
    c.dhcp_mode = DhcpMode::proxy;
  else
    return Error{"could not use --dhcp-mode '" + dhcp_mode + "': expected off, full or proxy"};
  if (c.dhcp_mode != DhcpMode::off && c.interface.empty()) {
    return Error{"could not use --dhcp-mode " + dhcp_mode + ": --interface is required"};
  }
  if (seeding == "spread")
    c.seeding = SeedingPolicy::spread;
  else if (seeding == "plain")
    c.seeding = SeedingPolicy::plain;
  else
    return Error{"could not use --seeding '" + seeding + "': expected spread or plain"};
  if (unknown_hosts == "register")
    c.unknown_hosts = UnknownHostPolicy::register_default;
  else if (unknown_hosts == "retry")
    c.unknown_hosts = UnknownHostPolicy::retry;
  else
    return Error{"could not use --unknown-hosts '" + unknown_hosts + "': expected register or retry"};
  auto mode = parse_boot_mode(default_mode);
  if (!mode) return Error{"could not use --default-mode: " + mode.error().message};
  c.default_mode = *mode;
  if (!c.default_image.empty()) {
    if (auto s = validate_image_name(c.default_image); !s)
      return Error{"could not use --default-image: " + s.error().message};
  }
  if (c.unknown_hosts == UnknownHostPolicy::register_default && c.default_image.empty()) {
    return Error{"could not use --unknown-hosts register: --default-image is required"};
  }
  if (!parse_log_level(log_level, c.log_level)) {
    return Error{"could not use --log-level '" + log_level + "': expected debug, info, warn or error"};
  }
  if (!c.advertise_url.empty()) {
    if (auto s = validate_server_url(c.advertise_url); !s)
      return Error{"could not use --advertise-url: " + s.error().message};
  }
  if (c.data_dir.empty()) return Error{"could not use --data-dir: empty"};
  if (c.boot_dir.empty()) c.boot_dir = c.data_dir + "/boot";
  for (auto s :
       {positive("announce-interval", c.announce_interval, 1, 86400),
        positive("announce-interval-downloading", c.announce_interval_downloading, 1, 86400),
        positive("max-numwant", c.max_numwant, 1, 1000), positive("http-threads", c.http_threads, 1, 64),
        positive("boot-attempts", c.boot_attempts, 1, 100),
        positive("boot-retry-delay", c.boot_retry_delay, 0, 3600),
        positive("retry-later-delay", c.retry_later_delay, 0, 3600),
        positive("install-seed-seconds", c.install_seed_seconds, 0, 86400),
        positive("seed-upload-limit", c.seed_upload_limit, 0, 1 << 30)}) {
    if (!s) return s.error();
  }
  if (c.max_body_bytes < 1024 || c.max_body_bytes > (64u << 20)) {
    return Error{"could not use --max-body-bytes: must be 1 KiB to 64 MiB"};
  }
  if (auto it = env.find("SWARMBOOT_API_TOKEN"); it != env.end()) c.api_token = it->second;
  return out;
}

}  // namespace swarmboot::server
