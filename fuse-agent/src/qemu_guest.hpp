// A QEMU guest as a supervised child process of the agent: started with an argv, asked to stop with SIGTERM
// (QEMU shuts the guest down and flushes the overlay), killed if it has not exited `kill_after` later, and
// reaped exactly once. terminate() and wait() may be called from different threads: a signal is never sent
// to a pid that has been reaped (it could belong to another process by then).
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "swarmcore/log.hpp"
#include "swarmcore/result.hpp"

namespace swarmboot::agent {

class QemuGuest {
 public:
  // Starts argv[0] (searched in PATH) in its own process group, with the agent's stdin/stdout/stderr (so a
  // terminal's Ctrl-C reaches the agent, which forwards it). An Error when it cannot be started at all.
  static Result<std::unique_ptr<QemuGuest>> start(const std::vector<std::string>& argv, Logger log,
                                                  std::chrono::milliseconds kill_after = std::chrono::seconds(30));
  ~QemuGuest();  // kills and reaps a guest still running (a bug elsewhere; logged)
  QemuGuest(const QemuGuest&) = delete;
  QemuGuest& operator=(const QemuGuest&) = delete;

  pid_t pid() const { return pid_; }
  // SIGTERM now (once), SIGKILL from wait() if it is still running kill_after later. No-op once exited.
  void terminate();
  // Blocks until the guest has exited; its exit status, or 128+signal. Call from one thread only.
  int wait();
  // The same, giving up after `timeout` (nullopt: still running).
  std::optional<int> wait_for(std::optional<std::chrono::milliseconds> timeout);
  bool exited() const { return exited_.load(); }

 private:
  QemuGuest(pid_t pid, Logger log, std::chrono::milliseconds kill_after)
      : pid_(pid), log_(std::move(log)), kill_after_(kill_after) {}
  const pid_t pid_;
  const Logger log_;
  const std::chrono::milliseconds kill_after_;
  std::mutex mutex_;                                   // held around kill() and waitpid()
  std::atomic<bool> exited_{false};                    // set under mutex_ when reaped
  std::chrono::steady_clock::time_point terminate_at_{};  // guarded by mutex_; {} = not asked
  bool killed_ = false;                                // guarded by mutex_
  int status_ = -1;                                    // guarded by mutex_
};

}  // namespace swarmboot::agent
