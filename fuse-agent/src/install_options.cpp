// Command-line parsing for `swarmboot-agent install` (see install_options.hpp).
#include "install_options.hpp"

#include <boost/program_options.hpp>

#include <sstream>

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
       "auto (first fixed writable disk big enough), a block device, or a regular file");
  add_swarm_options(desc, o, peers, "URL to POST status reports to");
  desc.add_options()
      ("seed-after", po::value(&seed_after_s), "seconds to keep seeding once installed (default 0)")
      ("stall-after", po::value(&stall_after_s), "seconds without a new piece before the web seed (default 10)");
  add_logging_options(desc, o);
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
  if (auto st = finish_swarm_options(o, peers); !st) return st.error();
  if (o.target.empty()) return bad("--target must be auto, a block device or a file");
  if (seed_after_s < 0) return bad("--seed-after must not be negative");
  if (stall_after_s < 0) return bad("--stall-after must not be negative");
  o.seed_after = std::chrono::seconds(seed_after_s);
  o.stall_after = std::chrono::milliseconds(static_cast<long>(stall_after_s * 1000));
  return InstallCommand{o};
}

}  // namespace swarmboot::agent
