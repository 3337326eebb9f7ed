// Command-line parsing for `swarmboot-agent install` (see install_options.hpp).
#include "install_options.hpp"

#include <boost/program_options.hpp>

#include <sstream>

#include "swarmcore/image_torrent.hpp"

namespace po = boost::program_options;

namespace swarmboot::agent {

namespace {

const char* kInstallUsage =
    "usage: swarmboot-agent install --torrent PATH|URL --cache DIR --target auto|DEVICE|FILE [options]\n"
    "exit: 0 installed and verified, 1 failed (a retry may help), 2 bad command line, 3 target unusable\n";

Error bad(const std::string& why) { return Error{"could not parse the command line: " + why}; }

}  // namespace

Result<InstallCommand> parse_install_command_line(const std::vector<std::string>& args) {
  InstallOptions o;
  std::vector<std::string> peers;
  int seed_after_s = 0;
  double stall_after_s = 10;
  po::options_description desc("install options");
  desc.add_options()
      ("help,h", "this help")
      ("torrent", po::value(&o.torrent)->required(), "the image's .torrent: a path or http:// URL")
      ("cache", po::value(&o.cache_dir)->required(), "directory for the piece cache (holds the whole image)")
      ("target", po::value(&o.target)->required(),
       "auto (first fixed writable disk big enough), a block device, or a regular file")
      ("tracker", po::value(&o.trackers)->composing(), "tracker announce URL (repeatable)")
      ("peer", po::value(&peers)->composing(), "a peer to connect to, HOST:PORT (repeatable)")
      ("webseed", po::value(&o.webseed), "the image's HTTP URL (BEP 19), used when the swarm stalls")
      ("report", po::value(&o.report_url), "URL to POST status reports to")
      ("token-file", po::value(&o.token_file), "file holding the bearer token for --report")
      ("listen", po::value(&o.listen_port), "BitTorrent listen port (default: any)")
      ("listen-address", po::value(&o.listen_address), "BitTorrent listen address (default 0.0.0.0)")
      ("status-file", po::value(&o.status_file), "JSON status file, rewritten about once a second")
      ("expected-info-hash", po::value(&o.expected_info_hash), "refuse a torrent with another info-hash")
      ("seed-after", po::value(&seed_after_s), "seconds to keep seeding once installed (default 0)")
      ("stall-after", po::value(&stall_after_s), "seconds without a new piece before the web seed (default 10)")
      ("log-level", po::value(&o.log_level), "debug|info|warn|error")
      ("lt-setting", po::value(&o.lt_settings)->composing(), "tests/benchmarks: libtorrent NAME=VALUE");
  try {
    po::variables_map vm;
    po::store(po::command_line_parser(args).options(desc).run(), vm);
    if (vm.count("help")) {
      std::ostringstream s;
      s << kInstallUsage << desc;
      return InstallCommand{HelpRequest{s.str()}};
    }
    po::notify(vm);
  } catch (const po::error& e) {
    return bad(e.what());
  }
  for (const auto& p : peers) {
    auto hp = parse_host_port(p);
    if (!hp) return bad("--peer: " + hp.error().message);
    o.peers.push_back(*hp);
  }
  if (o.listen_port < 0 || o.listen_port > 65535) return bad("--listen must be a port number 0-65535");
  if (o.target.empty()) return bad("--target must be auto, a block device or a file");
  if (seed_after_s < 0) return bad("--seed-after must not be negative");
  if (stall_after_s < 0) return bad("--stall-after must not be negative");
  o.seed_after = std::chrono::seconds(seed_after_s);
  o.stall_after = std::chrono::milliseconds(static_cast<long>(stall_after_s * 1000));
  if (!o.expected_info_hash.empty() && !is_info_hash_hex(o.expected_info_hash))
    return bad("--expected-info-hash must be 40 hex digits");
  if (!o.token_file.empty() && o.report_url.empty()) return bad("--token-file needs --report");
  return InstallCommand{o};
}

}  // namespace swarmboot::agent
