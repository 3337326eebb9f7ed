// QemuGuest (see qemu_guest.hpp): fork/exec, SIGTERM then SIGKILL, waitpid polled so the kill deadline is
// checked without a second thread.
#include "qemu_guest.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include "swarmcore/process.hpp"

namespace swarmboot::agent {

Result<std::unique_ptr<QemuGuest>> QemuGuest::start(const std::vector<std::string>& argv, Logger log,
                                                    std::chrono::milliseconds kill_after) {
  if (argv.empty()) return Error{"could not start QEMU: no command"};
  std::vector<char*> cargv;
  for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);
  // exec failures come back through a close-on-exec pipe: nothing arrives when exec worked.
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return Error{"could not start QEMU: " + std::string(std::strerror(errno))};
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(p[0]);
    ::close(p[1]);
    return Error{"could not start QEMU: fork: " + std::string(std::strerror(errno))};
  }
  if (pid == 0) {
    ::setpgid(0, 0);
    // The agent blocks SIGTERM/SIGINT/SIGHUP in every thread to take them with sigwait; QEMU needs them.
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::signal(SIGPIPE, SIG_DFL);
    ::execvp(cargv[0], cargv.data());
    const int err = errno;
    [[maybe_unused]] auto n = ::write(p[1], &err, sizeof err);
    ::_exit(127);
  }
  ::close(p[1]);
  int err = 0;
  ssize_t n;
  do {
    n = ::read(p[0], &err, sizeof err);
  } while (n < 0 && errno == EINTR);
  ::close(p[0]);
  if (n == sizeof err) {
    ::waitpid(pid, nullptr, 0);
    return Error{"could not start " + argv[0] + ": " + std::strerror(err)};
  }
  log.info("started QEMU (pid {}): {}", pid, describe_command(argv));
  return std::unique_ptr<QemuGuest>(new QemuGuest(pid, std::move(log), kill_after));
}

void QemuGuest::terminate() {
  std::lock_guard lock(mutex_);
  if (exited_.load() || terminate_at_ != std::chrono::steady_clock::time_point{}) return;
  terminate_at_ = std::chrono::steady_clock::now();
  log_.info("asking QEMU (pid {}) to stop (SIGTERM)", pid_);
  ::kill(pid_, SIGTERM);
}

int QemuGuest::wait() { return *wait_for(std::nullopt); }

std::optional<int> QemuGuest::wait_for(std::optional<std::chrono::milliseconds> timeout) {
  const auto until = std::chrono::steady_clock::now() + timeout.value_or(std::chrono::milliseconds(0));
  for (;;) {
    {
      std::lock_guard lock(mutex_);
      if (exited_.load()) return status_;
      int status = 0;
      const pid_t r = ::waitpid(pid_, &status, WNOHANG);
      if (r == pid_ || (r < 0 && errno == ECHILD)) {
        status_ = r < 0 ? 1 : WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        exited_ = true;
        return status_;
      }
      if (!killed_ && terminate_at_ != std::chrono::steady_clock::time_point{} &&
          std::chrono::steady_clock::now() - terminate_at_ > kill_after_) {
        log_.warn("QEMU (pid {}) did not stop within {} ms of SIGTERM: killing it", pid_, kill_after_.count());
        ::kill(pid_, SIGKILL);
        killed_ = true;
      }
    }
    if (timeout && std::chrono::steady_clock::now() >= until) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

QemuGuest::~QemuGuest() {
  if (exited_.load()) return;
  log_.error("QEMU (pid {}) still running when its supervisor went away: killing it", pid_);
  {
    std::lock_guard lock(mutex_);
    ::kill(pid_, SIGKILL);
    killed_ = true;
  }
  wait();
}

}  // namespace swarmboot::agent
