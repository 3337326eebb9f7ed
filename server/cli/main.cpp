// `swarmboot`: the administrator's command line. `swarmboot image …` builds and registers images locally;
// every other command talks to a running swarmbootd over its REST API.
#include <iostream>
#include <string>
#include <vector>

#include "cli/admin_commands.hpp"
#include "swarmboot/images/image_command.hpp"

namespace {

void usage() {
  std::cerr << "usage: swarmboot <command> [options]\n"
               "  image build|add …      build an OS image, register it (run `swarmboot image --help`)\n"
            << swarmboot::cli::admin_usage();
}

}  // namespace

int main(int argc, char** argv) try {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    usage();
    return args.empty() ? 2 : 0;
  }
  const std::string command = args[0];
  args.erase(args.begin());
  if (command == "image") return swarmboot::images::run_image_command(args);
  if (swarmboot::cli::is_admin_command(command)) return swarmboot::cli::run_admin_command(command, args);
  std::cerr << "swarmboot: unknown command '" << command << "'\n";
  usage();
  return 2;
} catch (const std::exception& e) {
  std::cerr << "swarmboot: " << e.what() << "\n";
  return 1;
}
