// `swarmboot-agent install` wiring (see install_command.hpp).
#include "install_command.hpp"

#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <iostream>

#include "disk_installer.hpp"
#include "install_options.hpp"
#include "install_target.hpp"
#include "preflight.hpp"
#include "swarmcore/log.hpp"

namespace swarmboot::agent {

namespace {

int failed(int code, const std::string& why) {
  std::cerr << "swarmboot-agent: " << why << "\n";
  return code;
}

}  // namespace

int run_install_command(const std::vector<std::string>& args) {
  auto command = parse_install_command_line(args);
  if (!command) return failed(kInstallUsage, command.error().message);
  if (auto* help = std::get_if<HelpRequest>(&*command)) {
    std::cout << help->text;
    return kInstallOk;
  }
  InstallOptions o = std::get<InstallOptions>(*command);
  LogLevel level = LogLevel::info;
  parse_log_level(o.log_level, level);
  const Logger log(std::make_shared<LogSink>(level), "agent");

  auto torrent = load_torrent(o.torrent, o.expected_info_hash);
  if (!torrent) return failed(kInstallFailed, torrent.error().message);
  std::string token;
  if (!o.token_file.empty()) {
    auto t = read_token_file(o.token_file);
    if (!t) return failed(kInstallFailed, t.error().message);
    token = *t;
  }
  if (auto s = check_cache_dir(o.cache_dir); !s) return failed(kInstallFailed, s.error().message);
  o.cache_dir = std::filesystem::absolute(o.cache_dir).string();
  if (!o.status_file.empty()) o.status_file = std::filesystem::absolute(o.status_file).string();

  // SIGTERM/SIGINT/SIGHUP are polled by DiskInstaller::run: block them before libtorrent starts its threads,
  // which inherit the mask, so no other thread takes them.
  sigset_t sigs;
  sigemptyset(&sigs);
  for (int s : {SIGTERM, SIGINT, SIGHUP}) sigaddset(&sigs, s);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  DiskInstaller installer(o, *torrent, token, log.child("install"));
  std::string target_path = o.target;
  if (target_path == "auto") {
    auto disks = read_block_devices();
    auto chosen = disks ? choose_install_disk(*disks, torrent->size, torrent->name) : Result<std::string>(disks.error());
    if (!chosen) {
      installer.report_failure("auto", chosen.error().message);
      return failed(kInstallTargetUnusable, chosen.error().message);
    }
    target_path = *chosen;
    log.info("--target auto chose {}", target_path);
  }
  auto target = open_install_target(target_path);
  if (!target) {
    installer.report_failure(target_path, target.error().message);
    return failed(kInstallTargetUnusable, target.error().message);
  }
  if (auto fits = check_target_fits(target_path, target->size, torrent->name, torrent->size); !fits) {
    ::close(target->fd);
    installer.report_failure(target_path, fits.error().message);
    return failed(kInstallTargetUnusable, fits.error().message);
  }
  const InstallOutcome outcome = installer.run(*target, sigs);
  if (outcome.exit_code != kInstallOk) return failed(outcome.exit_code, outcome.message);
  return kInstallOk;
}

}  // namespace swarmboot::agent
