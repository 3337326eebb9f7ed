// fork/exec of dnsmasq with its stdout+stderr on a pipe, a poll() loop over that pipe and a wake-up pipe,
// and the restart policy. See dnsmasq_supervisor.hpp.
#include "swarmboot/pxe/dnsmasq_supervisor.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <future>
#include <mutex>

#include "swarmboot/pxe/dnsmasq_log.hpp"
#include "swarmcore/process.hpp"

namespace swarmboot::pxe {

using Clock = std::chrono::steady_clock;

// How the first start went, handed from the supervising thread to start().
struct DnsmasqSupervisor::Startup {
  std::promise<Status> result;
  bool reported = false;  // only touched by the supervising thread
  void report(Status s) {
    if (reported) return;
    reported = true;
    result.set_value(std::move(s));
  }
};

namespace {

struct Child {
  pid_t pid = -1;
  int output = -1;  // read end of the child's stdout+stderr
};

Result<Child> spawn(const std::vector<std::string>& argv) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return Error{std::string("could not create a pipe: ") + std::strerror(errno)};
  std::vector<char*> args;
  std::vector<std::string> copy = argv;
  for (auto& a : copy) args.push_back(a.data());
  args.push_back(nullptr);
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) {
    close(fds[0]);
    close(fds[1]);
    return Error{std::string("could not fork: ") + std::strerror(errno)};
  }
  if (pid == 0) {
    // dnsmasq must not outlive swarmbootd (it would hold the DHCP port against the next start).
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent) _exit(127);
    dup2(fds[1], STDOUT_FILENO);
    dup2(fds[1], STDERR_FILENO);
    const int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, STDIN_FILENO);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    execvp(args[0], args.data());
    const std::string msg = std::string("could not run ") + args[0] + ": " + std::strerror(errno) + "\n";
    (void)!write(STDERR_FILENO, msg.data(), msg.size());
    _exit(127);
  }
  close(fds[1]);
  return Child{pid, fds[0]};
}

std::string describe_exit(int status) {
  if (WIFEXITED(status)) return "exit code " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return std::string("signal ") + strsignal(WTERMSIG(status));
  return "status " + std::to_string(status);
}

// Waits for pid up to `wait`; returns its wait status, or -1 if it is still running.
int reap(pid_t pid, std::chrono::milliseconds wait) {
  const auto deadline = Clock::now() + wait;
  for (;;) {
    int status = 0;
    const pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) return status;
    if (r < 0) return 0;
    if (Clock::now() >= deadline) return -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

}  // namespace

DnsmasqSupervisor::DnsmasqSupervisor(DnsmasqSupervisorOptions options, Logger log)
    : options_(std::move(options)), log_(std::move(log)) {}

Result<std::unique_ptr<DnsmasqSupervisor>> DnsmasqSupervisor::start(DnsmasqSupervisorOptions options, Logger log) {
  std::vector<std::string> test = options.command;
  test.push_back("--test");
  test.push_back("--conf-file=" + options.conf_file);
  ProcessOptions popts;
  popts.timeout = std::chrono::seconds(30);
  auto checked = run_process(test, popts);
  if (!checked) return wrap("could not check the dnsmasq configuration", checked.error());
  if (checked->exit_code != 0) {
    std::string out = checked->output;
    while (!out.empty() && out.back() == '\n') out.pop_back();
    return Error{"could not use the dnsmasq configuration " + options.conf_file + ": " + out};
  }

  std::unique_ptr<DnsmasqSupervisor> s(new DnsmasqSupervisor(std::move(options), std::move(log)));
  int wake[2];
  if (pipe2(wake, O_CLOEXEC | O_NONBLOCK) != 0) return Error{"could not start dnsmasq: no pipe"};
  s->wake_read_ = wake[0];
  s->wake_write_ = wake[1];
  auto startup = std::make_shared<Startup>();
  auto started = startup->result.get_future();
  s->thread_ = std::thread([raw = s.get(), startup] { raw->supervise(startup); });
  if (started.wait_for(s->options_.start_timeout) != std::future_status::ready) {
    s->stop();
    return Error{"could not start dnsmasq: it did not report that it started within " +
                 std::to_string(s->options_.start_timeout.count() / 1000) + " s"};
  }
  if (Status st = started.get(); !st) {
    s->stop();
    return st.error();
  }
  return s;
}

DnsmasqSupervisor::~DnsmasqSupervisor() {
  stop();
  if (wake_read_ >= 0) close(wake_read_);
  if (wake_write_ >= 0) close(wake_write_);
}

void DnsmasqSupervisor::stop() {
  stopping_.store(true);
  if (wake_write_ >= 0) (void)!write(wake_write_, "x", 1);
  if (thread_.joinable()) thread_.join();
}

void DnsmasqSupervisor::supervise(const std::shared_ptr<Startup>& startup) {
  std::vector<std::string> argv = options_.command;
  argv.push_back("--keep-in-foreground");
  argv.push_back("--conf-file=" + options_.conf_file);
  const Logger out_log = log_;
  DnsmasqLogReader reader;
  auto backoff = options_.min_backoff;

  while (!stopping_.load()) {
    auto child = spawn(argv);
    if (!child) {
      startup->report(wrap("could not start dnsmasq", child.error()));
      if (startup->reported && !stopping_.load()) log_.error("could not start dnsmasq: {}", child.error().message);
      return;
    }
    child_pid_.store(child->pid);
    const auto began = Clock::now();
    std::string pending;     // partial line
    std::string last_lines;  // for the startup error
    bool signalled = false;
    auto stop_deadline = Clock::time_point::max();
    for (;;) {
      if (stopping_.load() && !signalled) {
        kill(child->pid, SIGTERM);
        signalled = true;
        stop_deadline = Clock::now() + std::chrono::seconds(5);
      }
      if (Clock::now() >= stop_deadline) {
        kill(child->pid, SIGKILL);
        stop_deadline = Clock::time_point::max();
      }
      pollfd fds[2] = {{child->output, POLLIN, 0}, {wake_read_, POLLIN, 0}};
      const int r = poll(fds, 2, 200);
      if (r < 0 && errno != EINTR) break;
      if (r > 0 && (fds[1].revents & POLLIN) != 0) {
        char drain[64];
        while (read(wake_read_, drain, sizeof drain) > 0) {
        }
      }
      if (r > 0 && (fds[0].revents & (POLLIN | POLLHUP)) != 0) {
        char buf[4096];
        const ssize_t n = read(child->output, buf, sizeof buf);
        if (n <= 0) break;  // dnsmasq (and any script it ran) closed its output: it exited
        pending.append(buf, static_cast<size_t>(n));
        size_t nl;
        while ((nl = pending.find('\n')) != std::string::npos) {
          const std::string line = pending.substr(0, nl);
          pending.erase(0, nl + 1);
          if (!startup->reported) last_lines += line + "\n";
          for (const auto& l : reader.read(line)) {
            switch (l.level) {
              case LogLevel::debug: out_log.debug("{}", l.text); break;
              case LogLevel::info: out_log.info("{}", l.text); break;
              case LogLevel::warn: out_log.warn("{}", l.text); break;
              case LogLevel::error: out_log.error("{}", l.text); break;
            }
          }
          // dnsmasq logs "started, version …" once its sockets are bound and its configuration is loaded.
          if (line.find("started, version") != std::string::npos) startup->report({});
        }
      }
    }
    close(child->output);
    int status = reap(child->pid, std::chrono::seconds(5));
    if (status == -1) {
      kill(child->pid, SIGKILL);
      status = reap(child->pid, std::chrono::seconds(5));
    }
    child_pid_.store(0);
    if (!startup->reported) {
      while (!last_lines.empty() && last_lines.back() == '\n') last_lines.pop_back();
      startup->report(Error{"could not start dnsmasq (" + describe_exit(status) + "): " + last_lines});
      return;
    }
    if (stopping_.load()) {
      log_.info("dnsmasq stopped ({})", describe_exit(status));
      return;
    }
    if (Clock::now() - began >= options_.stable_after) backoff = options_.min_backoff;
    log_.warn("dnsmasq exited ({}); restarting it in {} ms", describe_exit(status), backoff.count());
    pollfd wake{wake_read_, POLLIN, 0};
    (void)poll(&wake, 1, static_cast<int>(backoff.count()));
    if (stopping_.load()) return;
    backoff = std::min(backoff * 2, options_.max_backoff);
    restarts_.fetch_add(1);
  }
}

}  // namespace swarmboot::pxe
