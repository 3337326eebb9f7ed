// swarmboot-bench-peer: the libtorrent baselines' peer (and their seeder). One torrent, one session with
// swarmcore's settings — LAN-tuned or libtorrent's defaults — so the benchmark compares exactly the settings
// the agent and server use against plain libtorrent. It writes a "done" file (UNIX time, seconds) when the
// torrent has every piece verified, a "ready" file once a tracker answered, and keeps seeding until SIGTERM.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <boost/program_options.hpp>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <libtorrent/alert_types.hpp>
#include <libtorrent/session.hpp>
#include <libtorrent/torrent_info.hpp>
#include <string>
#include <thread>
#include <vector>

#include "swarmcore/swarm_settings.hpp"

namespace po = boost::program_options;

namespace {

volatile std::sig_atomic_t g_stop = 0;  // set by the signal handler only (the one place a global is unavoidable)
void on_signal(int) { g_stop = 1; }

double unix_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// Written to a temporary name and renamed, so the driver never reads half a file.
void write_marker(const std::string& path, const std::string& text) {
  if (path.empty()) return;
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << text << "\n";
  }
  std::filesystem::rename(tmp, path);
}

}  // namespace

int main(int argc, char** argv) try {
  std::string torrent, save_dir, listen, tuning, done_file, ready_file;
  std::vector<std::string> trackers, peers;
  bool seed = false;
  po::options_description desc("swarmboot-bench-peer options");
  desc.add_options()("help,h", "this help")("torrent", po::value(&torrent)->required(), ".torrent file")(
      "save-dir", po::value(&save_dir)->required(), "folder holding (or receiving) the image file")(
      "listen", po::value(&listen)->default_value("0.0.0.0:6881"), "libtorrent listen_interfaces")(
      "tuning", po::value(&tuning)->default_value("tuned"), "tuned | default")(
      "tracker", po::value(&trackers)->composing(), "announce URL (repeatable)")(
      "peer", po::value(&peers)->composing(), "IP:PORT to connect to (repeatable)")(
      "seed", po::bool_switch(&seed), "the file is complete: seed it without checking first (seed_mode)")(
      "done-file", po::value(&done_file), "written with the UNIX time when every piece is verified")(
      "ready-file", po::value(&ready_file), "written once a tracker answered");
  po::variables_map vm;
  po::store(po::parse_command_line(argc, argv, desc), vm);
  if (vm.count("help")) {
    std::cout << desc << "\n";
    return 0;
  }
  po::notify(vm);
  if (tuning != "tuned" && tuning != "default") {
    std::cerr << "swarmboot-bench-peer: --tuning must be tuned or default, not '" << tuning << "'\n";
    return 2;
  }

  std::signal(SIGTERM, on_signal);
  std::signal(SIGINT, on_signal);

  swarmboot::SwarmTuning t;
  t.listen_interfaces = listen;
  t.lan_tuned = tuning == "tuned";
  lt::session ses(lt::session_params(swarmboot::swarm_settings(t)));

  lt::add_torrent_params atp;
  atp.ti = std::make_shared<lt::torrent_info>(torrent);
  atp.save_path = save_dir;
  atp.trackers = trackers;
  if (seed) atp.flags |= lt::torrent_flags::seed_mode;
  lt::torrent_handle h = ses.add_torrent(std::move(atp));
  for (const auto& p : peers) {
    const auto colon = p.rfind(':');
    if (colon == std::string::npos) continue;
    h.connect_peer(lt::tcp::endpoint(lt::make_address(p.substr(0, colon)),
                                     static_cast<unsigned short>(std::stoi(p.substr(colon + 1)))));
  }

  bool done = false, ready = false;
  while (!g_stop) {
    ses.wait_for_alert(std::chrono::milliseconds(200));
    std::vector<lt::alert*> alerts;
    ses.pop_alerts(&alerts);
    for (lt::alert* a : alerts) {
      if (lt::alert_cast<lt::torrent_finished_alert>(a) && !done) {
        done = true;
        write_marker(done_file, std::to_string(unix_now()));
      } else if (lt::alert_cast<lt::tracker_reply_alert>(a) && !ready) {
        ready = true;
        write_marker(ready_file, std::to_string(unix_now()));
      } else if (auto* e = lt::alert_cast<lt::torrent_error_alert>(a)) {
        std::cerr << "torrent error: " << e->message() << "\n";
      } else if (auto* te = lt::alert_cast<lt::tracker_error_alert>(a)) {
        std::cerr << "tracker error: " << te->message() << "\n";
      }
    }
  }
  return 0;
} catch (const std::exception& e) {
  std::cerr << "swarmboot-bench-peer: " << e.what() << "\n";
  return 1;
}
