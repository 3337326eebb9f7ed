// Command-line parsing for swarmboot-agent (see agent_options.hpp).
#include "agent_options.hpp"

#include <boost/program_options.hpp>

#include <sstream>

#include "swarmcore/image_torrent.hpp"

namespace po = boost::program_options;

namespace swarmboot::agent {

namespace {

const char* kUsage =
    "usage: swarmboot-agent mount --torrent PATH|URL --cache DIR --mountpoint DIR [options]\n"
    "       swarmboot-agent seed --torrent PATH --data FILE [--listen PORT] [--tracker URL]...\n"
    "       swarmboot-agent vm --torrent PATH|URL --cache DIR --mountpoint DIR --overlay FILE [options]\n"
    "       swarmboot-agent install --torrent PATH|URL --cache DIR --target auto|DEVICE|FILE [options]\n";

Error bad(const std::string& why) { return Error{"could not parse the command line: " + why}; }

Result<int> check_port(int port, const char* flag) {
  if (port < 0 || port > 65535) return bad(std::string(flag) + " must be a port number 0-65535");
  return port;
}

}  // namespace

Result<HostPort> parse_host_port(const std::string& text) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size())
    return Error{"could not parse peer \"" + text + "\": expected HOST:PORT"};
  std::string host = text.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  int port = 0;
  try {
    size_t used = 0;
    port = std::stoi(text.substr(colon + 1), &used);
    if (used != text.size() - colon - 1) throw std::invalid_argument("trailing");
  } catch (const std::exception&) {
    return Error{"could not parse peer \"" + text + "\": bad port"};
  }
  if (port < 1 || port > 65535) return Error{"could not parse peer \"" + text + "\": port out of range"};
  return HostPort{host, port};
}

void add_swarm_options(po::options_description& desc, SwarmOptions& o, std::vector<std::string>& peer_texts,
                       const char* report_help) {
  // clang-format off
  desc.add_options()
      ("tracker", po::value(&o.trackers)->composing(), "tracker announce URL (repeatable)")
      ("peer", po::value(&peer_texts)->composing(), "a peer to connect to, HOST:PORT (repeatable)")
      ("webseed", po::value(&o.webseed), "the image's HTTP URL (BEP 19), used when the swarm stalls")
      ("report", po::value(&o.report_url), report_help)
      ("token-file", po::value(&o.token_file), "file holding the bearer token for --report")
      ("listen", po::value(&o.listen_port), "BitTorrent listen port (default: any)")
      ("listen-address", po::value(&o.listen_address), "BitTorrent listen address (default 0.0.0.0)")
      ("status-file", po::value(&o.status_file), "JSON status file, rewritten about once a second")
      ("expected-info-hash", po::value(&o.expected_info_hash), "refuse a torrent with another info-hash");
  // clang-format on
}

void add_logging_options(po::options_description& desc, SwarmOptions& o) {
  // clang-format off
  desc.add_options()
      ("log-level", po::value(&o.log_level), "debug|info|warn|error")
      ("lt-setting", po::value(&o.lt_settings)->composing(), "tests/benchmarks: libtorrent NAME=VALUE");
  // clang-format on
}

Status finish_swarm_options(SwarmOptions& o, const std::vector<std::string>& peer_texts) {
  for (const auto& p : peer_texts) {
    auto hp = parse_host_port(p);
    if (!hp) return bad("--peer: " + hp.error().message);
    o.peers.push_back(*hp);
  }
  if (auto p = check_port(o.listen_port, "--listen"); !p) return p.error();
  if (!o.expected_info_hash.empty() && !is_info_hash_hex(o.expected_info_hash))
    return bad("--expected-info-hash must be 40 hex digits");
  if (!o.token_file.empty() && o.report_url.empty()) return bad("--token-file needs --report");
  return {};
}

Result<Command> parse_command_line(const std::vector<std::string>& args) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") return Command{HelpRequest{kUsage}};
  const std::string& cmd = args[0];
  const std::vector<std::string> rest(args.begin() + 1, args.end());

  try {
    if (cmd == "mount") {
      MountOptions o;
      std::vector<std::string> peers;
      int read_timeout_s = 120;
      double stall_after_s = 2;
      po::options_description desc("mount options");
      desc.add_options()
          ("help,h", "this help")
          ("torrent", po::value(&o.torrent)->required(), "the image's .torrent: a path or http:// URL")
          ("cache", po::value(&o.cache_dir)->required(), "directory holding the downloaded image and resume data")
          ("mountpoint", po::value(&o.mountpoint)->required(), "directory where MOUNTPOINT/<image> appears");
      add_swarm_options(desc, o, peers, "URL to POST status reports to");
      desc.add_options()
          ("foreground", po::bool_switch(&o.foreground), "do not daemonize")
          ("root-daemon", po::bool_switch(&o.root_daemon), "serve the root filesystem: survive shutdown, OOM")
          ("read-timeout", po::value(&read_timeout_s), "seconds before an undeliverable read fails with EIO")
          ("stall-after", po::value(&stall_after_s),
           "seconds a read may wait on the swarm before its pieces are fetched from the web seed (default 2)")
          ("boot-profile", po::value(&o.boot_profile),
           "path or http:// URL of a boot profile (\"offset length\" lines): those pieces are fetched first")
          ("record-reads", po::value(&o.record_reads), "write the reads of this boot as a boot profile to FILE")
          ("readahead-kib", po::value(&o.readahead_kib),
           "the mount's readahead window in KiB (default 128, the kernel's; larger reads sequentially faster "
           "from a complete image, but makes a read wait for pieces it did not ask for)");
      add_logging_options(desc, o);
      po::variables_map vm;
      po::store(po::command_line_parser(rest).options(desc).run(), vm);
      if (vm.count("help")) {
        std::ostringstream s;
        s << kUsage << desc;
        return Command{HelpRequest{s.str()}};
      }
      po::notify(vm);
      if (auto st = finish_swarm_options(o, peers); !st) return st.error();
      if (read_timeout_s < 1) return bad("--read-timeout must be at least 1 second");
      if (stall_after_s < 0) return bad("--stall-after must not be negative");
      if (o.readahead_kib < 4 || o.readahead_kib > 65536) return bad("--readahead-kib must be between 4 and 65536");
      o.read_timeout = std::chrono::seconds(read_timeout_s);
      o.stall_after = std::chrono::milliseconds(static_cast<long>(stall_after_s * 1000));
      return Command{o};
    }
    if (cmd == "seed") {
      SeedOptions o;
      po::options_description desc("seed options");
      desc.add_options()
          ("help,h", "this help")
          ("torrent", po::value(&o.torrent)->required(), "the image's .torrent file")
          ("data", po::value(&o.data_file)->required(), "the complete image file")
          ("listen", po::value(&o.listen_port), "BitTorrent listen port (default: any)")
          ("listen-address", po::value(&o.listen_address), "BitTorrent listen address (default 0.0.0.0)")
          ("tracker", po::value(&o.trackers)->composing(), "tracker announce URL (repeatable)")
          ("no-verify", po::bool_switch(&o.no_verify), "test only: serve the data unhashed (a corrupt peer)")
          ("log-level", po::value(&o.log_level), "debug|info|warn|error")
          ("lt-setting", po::value(&o.lt_settings)->composing(), "tests/benchmarks: libtorrent NAME=VALUE");
      po::variables_map vm;
      po::store(po::command_line_parser(rest).options(desc).run(), vm);
      if (vm.count("help")) {
        std::ostringstream s;
        s << kUsage << desc;
        return Command{HelpRequest{s.str()}};
      }
      po::notify(vm);
      if (auto p = check_port(o.listen_port, "--listen"); !p) return p.error();
      return Command{o};
    }
  } catch (const po::error& e) {
    return bad(e.what());
  }
  return bad("unknown command \"" + cmd + "\" (expected mount or seed)");
}

}  // namespace swarmboot::agent
