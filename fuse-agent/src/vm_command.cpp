// `swarmboot-agent vm`: wiring. Check input (nothing mounted on bad input) → mount and start the swarm as
// `mount --foreground` does → qemu-img create the overlay over MNT/<image> → QEMU as a supervised child,
// reported `booting` then `running` → QEMU exits → unmount (which ends the FUSE loop) → answer parked reads →
// save resume data → exit with QEMU's status.
//
// Threads: main serves FUSE (the guest's reads must keep being answered while QEMU shuts down, so the loop
// ends only after QEMU has exited, by the unmount); the guest thread creates the overlay, starts QEMU, waits
// for it, unmounts and ends the loop (ImageFs::request_exit + SIGHUP to the main thread); the signal thread
// takes SIGTERM/SIGINT (blocked in every thread, so libfuse's handlers never run) and forwards SIGTERM to QEMU.
// `guard` orders starting QEMU against a stop request.
#include "vm_command.hpp"

#include <signal.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <sstream>
#include <thread>

#include "image_agent.hpp"
#include "image_fs.hpp"
#include "preflight.hpp"
#include "qemu_guest.hpp"
#include "swarmcore/http_client.hpp"
#include "swarmcore/process.hpp"
#include "vm_options.hpp"

namespace swarmboot::agent {
namespace fs = std::filesystem;

namespace {

int fail(const std::string& message) {
  std::cerr << "swarmboot-agent: " << message << "\n";
  return 1;
}

std::optional<double> read_progress(const std::string& status_file) {
  if (status_file.empty()) return std::nullopt;
  std::ifstream f(status_file);
  std::ostringstream s;
  s << f.rdbuf();
  return progress_from_status_json(s.str());
}

// One host event to swarmbootd, best effort (the guest runs whether the server hears of it or not).
void report(const MountOptions& o, const std::string& token, const std::string& state, const std::string& message,
            const Logger& log) {
  if (o.report_url.empty()) return;
  HttpRequest req;
  req.method = "POST";
  req.url = o.report_url;
  req.body = vm_report_json(state, message, read_progress(o.status_file));
  req.headers["Content-Type"] = "application/json";
  if (!token.empty()) req.headers["Authorization"] = "Bearer " + token;
  req.timeout = std::chrono::seconds(5);
  auto r = http_request(req);
  if (!r) {
    log.warn("could not report '{}' to {}: {}", state, o.report_url, r.error().message);
  } else if (r->status >= 300) {
    log.warn("could not report '{}' to {}: HTTP {}", state, o.report_url, r->status);
  }
}

struct GuestControl {
  std::mutex guard;
  std::unique_ptr<QemuGuest> guest;  // guarded by guard (set once)
  bool stop_requested = false;       // guarded by guard
  std::atomic<bool> done{false};     // the guest thread has finished: the signal thread may leave
  int exit_code = 1;                 // written by the guest thread, read after join
};

void signal_loop(GuestControl& control, const sigset_t& sigs, const Logger& log) {
  const timespec tick{0, 200'000'000};
  while (!control.done.load()) {
    const int sig = ::sigtimedwait(&sigs, nullptr, &tick);
    if (sig <= 0) continue;
    std::lock_guard lock(control.guard);
    control.stop_requested = true;
    if (control.guest) {
      log.info("signal {}: stopping the guest", sig);
      control.guest->terminate();
    } else {
      log.info("signal {}: stopping before the guest started", sig);
    }
  }
}

void guest_main(const VmOptions& v, const ImageTorrent& torrent, const std::string& token, ImageFs& image_fs,
                GuestControl& control, const Logger& log) {
  const MountOptions& o = v.mount;
  const std::string backing = o.mountpoint + "/" + torrent.name;
  std::error_code ec;
  if (!(v.reuse_overlay && fs::exists(v.overlay, ec))) {
    // -u: qemu-img does not open the backing file, so creating the overlay reads nothing from the swarm.
    const auto argv = qemu_img_create_argv(v.qemu_img, backing, v.overlay, torrent.size);
    log.info("{}", describe_command(argv));
    if (auto r = run_checked(argv); !r) {
      log.error("could not create the overlay {}: {}", v.overlay, r.error().message);
      report(o, token, "failed", "could not create the overlay: " + r.error().message, log);
      image_fs.unmount();
      return;
    }
  } else {
    log.info("reusing the overlay {} (the guest's earlier writes)", v.overlay);
  }
  report(o, token, "booting", "starting a VM on " + torrent.name, log);
  QemuGuest* guest = nullptr;
  {
    std::lock_guard lock(control.guard);
    if (control.stop_requested) control.exit_code = 128 + SIGTERM;
    if (!control.stop_requested) {
      auto started = QemuGuest::start(qemu_argv(v), log.child("qemu"));
      if (!started) {
        log.error("{}", started.error().message);
        report(o, token, "failed", started.error().message, log);
      } else {
        control.guest = std::move(*started);
        guest = control.guest.get();
      }
    }
  }
  if (guest) {
    // "running" once QEMU has stayed up a moment: it opened the overlay and the backing file.
    std::optional<int> status = guest->wait_for(std::chrono::seconds(2));
    if (!status) {
      report(o, token, "running", "VM running on " + torrent.name + " (qemu pid " + std::to_string(guest->pid()) + ")",
             log);
      status = guest->wait();
    }
    log.info("QEMU exited with status {}", *status);
    control.exit_code = *status;
  }
  // Nothing has the image open any more. The lazy unmount would end the FUSE loop only once every copy of the
  // mount is gone (`ip netns exec` propagates it into other mount namespaces), so the loop is told to end.
  image_fs.unmount();
  image_fs.request_exit();
}

}  // namespace

int run_vm_command(const std::vector<std::string>& args) {
  auto command = parse_vm_command_line(args);
  if (!command) {
    std::cerr << "swarmboot-agent: " << command.error().message << "\n";
    return 2;
  }
  if (auto* help = std::get_if<HelpRequest>(&*command)) {
    std::cout << help->text;
    return 0;
  }
  VmOptions v = std::get<VmOptions>(*command);
  MountOptions& o = v.mount;
  LogLevel level = LogLevel::info;
  parse_log_level(o.log_level, level);
  const Logger log(std::make_shared<LogSink>(level), "vm");

  auto torrent = load_torrent(o.torrent, o.expected_info_hash);
  if (!torrent) return fail(torrent.error().message);
  std::string token;
  if (!o.token_file.empty()) {
    auto t = read_token_file(o.token_file);
    if (!t) return fail(t.error().message);
    token = *t;
  }
  for (const auto& check : {check_cache_dir(o.cache_dir), check_mountpoint(o.mountpoint)}) {
    if (!check) return fail(check.error().message);
  }
  std::error_code ec;
  v.overlay = fs::absolute(v.overlay).string();
  if (fs::exists(v.overlay, ec) && !v.reuse_overlay)
    return fail("could not create the overlay " + v.overlay +
                ": it exists (--reuse-overlay keeps the guest's earlier writes; or remove it)");
  if (!fs::is_directory(fs::path(v.overlay).parent_path(), ec))
    return fail("could not create the overlay " + v.overlay + ": no folder " + fs::path(v.overlay).parent_path().string());
  o.cache_dir = fs::absolute(o.cache_dir).string();
  o.mountpoint = fs::absolute(o.mountpoint).string();
  if (!o.status_file.empty()) o.status_file = fs::absolute(o.status_file).string();
  if (!v.serial.empty()) v.serial = fs::absolute(v.serial).string();

  auto image_fs = ImageFs::mount(o.mountpoint, torrent->name, torrent->size, o.readahead_kib, log.child("fuse"));
  if (!image_fs) return fail(image_fs.error().message);
  // Blocked here, before any thread starts, so every thread inherits it and only the signal thread takes them.
  sigset_t sigs;
  sigemptyset(&sigs);
  for (int s : {SIGTERM, SIGINT}) sigaddset(&sigs, s);
  // SIGHUP is the guest thread's wake-up call for the FUSE loop (see ImageFs::request_exit): a handler that
  // does nothing, without SA_RESTART, installed before serve() so libfuse keeps it and it is never SIG_DFL.
  struct sigaction wake {};
  wake.sa_handler = [](int) {};
  sigemptyset(&wake.sa_mask);
  ::sigaction(SIGHUP, &wake, nullptr);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
  ImageAgent agent(o, *torrent, token, log.child("swarm"));
  if (auto started = agent.start(); !started) {
    (*image_fs)->unmount();
    return fail(started.error().message);
  }
  log.info("mounted {}/{}", o.mountpoint, torrent->name);

  GuestControl control;
  std::thread signals([&] { signal_loop(control, sigs, log); });
  const pthread_t serving_thread = pthread_self();
  std::atomic<bool> served{false};
  std::thread guest([&] {
    guest_main(v, *torrent, token, **image_fs, control, log);
    control.done = true;
    // Wake the loop until it has seen the exit mark (a wake-up may land before it waits).
    while (!served.load()) {
      pthread_kill(serving_thread, SIGHUP);
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  });
  (*image_fs)->serve(agent);
  served = true;
  {
    // The loop can also end on its own (a FUSE error): the guest cannot go on without its disk.
    std::lock_guard lock(control.guard);
    control.stop_requested = true;
    if (control.guest) control.guest->terminate();
  }
  guest.join();
  signals.join();
  agent.stop_serving();
  (*image_fs)->unmount();
  agent.shut_down();
  log.info("unmounted {}; exiting with QEMU's status {}", o.mountpoint, control.exit_code);
  return control.exit_code;
}

}  // namespace swarmboot::agent
