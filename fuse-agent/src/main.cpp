// swarmboot-agent: wiring only. Parse → check input (nothing mounted on bad input) → fork unless
// --foreground (the parent exits once the mount is live, so a caller can simply wait for it) → mount →
// start the swarm → serve until a signal → answer parked reads → unmount → save resume data.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <iostream>

#include "agent_options.hpp"
#include "image_agent.hpp"
#include "image_fs.hpp"
#include "install_command.hpp"
#include "preflight.hpp"
#include "seeder.hpp"
#include "vm_command.hpp"
#include "swarmcore/log.hpp"

using namespace swarmboot;
using namespace swarmboot::agent;

namespace {

std::shared_ptr<LogSink> make_sink(const std::string& level_text) {
  LogLevel level = LogLevel::info;
  parse_log_level(level_text, level);
  return std::make_shared<LogSink>(level);
}

// Tells the waiting parent (if any) how startup ended: "ok" or the error line.
void tell_parent(int& fd, const std::string& message) {
  if (fd < 0) return;
  [[maybe_unused]] auto n = ::write(fd, message.data(), message.size());
  ::close(fd);
  fd = -1;
}

int run_mount(MountOptions o, char* argv0) {
  Logger log(make_sink(o.log_level), "agent");
  auto torrent = load_torrent(o.torrent, o.expected_info_hash);
  if (!torrent) {
    std::cerr << "swarmboot-agent: " << torrent.error().message << "\n";
    return 1;
  }
  std::string token;
  if (!o.token_file.empty()) {
    auto t = read_token_file(o.token_file);
    if (!t) {
      std::cerr << "swarmboot-agent: " << t.error().message << "\n";
      return 1;
    }
    token = *t;
  }
  for (const auto& check : {check_cache_dir(o.cache_dir), check_mountpoint(o.mountpoint)}) {
    if (!check) {
      std::cerr << "swarmboot-agent: " << check.error().message << "\n";
      return 1;
    }
  }
  o.cache_dir = std::filesystem::absolute(o.cache_dir).string();
  o.mountpoint = std::filesystem::absolute(o.mountpoint).string();
  if (!o.status_file.empty()) o.status_file = std::filesystem::absolute(o.status_file).string();

  int ready_fd = -1;
  if (!o.foreground) {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) != 0) {
      std::perror("swarmboot-agent: could not create a pipe");
      return 1;
    }
    const pid_t pid = ::fork();
    if (pid < 0) {
      std::perror("swarmboot-agent: could not fork");
      return 1;
    }
    if (pid > 0) {
      ::close(p[1]);
      std::string message;
      char buf[512];
      ssize_t n;
      while ((n = ::read(p[0], buf, sizeof buf)) > 0) message.append(buf, static_cast<size_t>(n));
      if (message == "ok") return 0;
      std::cerr << "swarmboot-agent: " << (message.empty() ? "the agent exited during startup" : message) << "\n";
      return 1;
    }
    ::close(p[0]);
    ready_fd = p[1];
    ::setsid();
    // A daemon holds no terminal input and no caller's stdout (a caller reading it would never see EOF);
    // stderr stays, so logs keep going where the caller sent them (the console, in the initramfs).
    if (int null = ::open("/dev/null", O_RDWR | O_CLOEXEC); null >= 0) {
      ::dup2(null, STDIN_FILENO);
      ::dup2(null, STDOUT_FILENO);
      ::close(null);
    }
  }

  if (o.root_daemon) {
    argv0[0] = '@';  // systemd's root-storage-daemon convention: shutdown leaves us running
    if (auto s = become_root_storage_daemon(log); !s) {
      log.error("{}", s.error().message);
      tell_parent(ready_fd, s.error().message);
      return 1;
    }
  }

  auto fs = ImageFs::mount(o.mountpoint, torrent->name, torrent->size, o.readahead_kib, log.child("fuse"));
  if (!fs) {
    log.error("{}", fs.error().message);
    tell_parent(ready_fd, fs.error().message);
    return 1;
  }
  // Only the main thread (the FUSE loop's signal handlers) may take SIGTERM/SIGINT/SIGHUP: block them while
  // libtorrent and the agent start their threads, which inherit the mask.
  sigset_t sigs, old;
  sigemptyset(&sigs);
  for (int s : {SIGTERM, SIGINT, SIGHUP}) sigaddset(&sigs, s);
  pthread_sigmask(SIG_BLOCK, &sigs, &old);
  ::signal(SIGPIPE, SIG_IGN);
  ImageAgent agent(o, *torrent, token, log.child("swarm"));
  const Status started = agent.start();
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  if (!started) {
    log.error("{}", started.error().message);
    (*fs)->unmount();
    tell_parent(ready_fd, started.error().message);
    return 1;
  }
  log.info("mounted {}/{}", o.mountpoint, torrent->name);
  tell_parent(ready_fd, "ok");
  (*fs)->serve(agent);
  agent.stop_serving();
  (*fs)->unmount();
  agent.shut_down();
  log.info("unmounted {}; bye", o.mountpoint);
  return 0;
}

}  // namespace

int main(int argc, char** argv) try {
  std::vector<std::string> args(argv + 1, argv + argc);
  // `vm` has its own command line (vm_options.hpp) and exits with QEMU's status.
  if (!args.empty() && args[0] == "vm") return run_vm_command({args.begin() + 1, args.end()});
  // `install` has its own command line (install_options.hpp) and exit codes (install_target.hpp).
  if (!args.empty() && args[0] == "install") return run_install_command({args.begin() + 1, args.end()});
  auto command = parse_command_line(args);
  if (!command) {
    std::cerr << "swarmboot-agent: " << command.error().message << "\n";
    return 2;
  }
  if (auto* help = std::get_if<HelpRequest>(&*command)) {
    std::cout << help->text;
    return 0;
  }
  if (auto* seed = std::get_if<SeedOptions>(&*command)) {
    Logger log(make_sink(seed->log_level), "seed");
    if (auto s = run_seeder(*seed, log); !s) {
      std::cerr << "swarmboot-agent: " << s.error().message << "\n";
      return 1;
    }
    return 0;
  }
  return run_mount(std::get<MountOptions>(*command), argv[0]);
} catch (const std::exception& e) {
  std::cerr << "swarmboot-agent: " << e.what() << "\n";
  return 1;
}
