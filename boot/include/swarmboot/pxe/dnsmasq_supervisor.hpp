// dnsmasq as a supervised child process. start() checks the configuration with `dnsmasq --test`, starts
// `dnsmasq --keep-in-foreground --conf-file=…` and waits until it says it started; from then on a thread
// forwards every line it prints to the "dnsmasq" logger (through DnsmasqLogReader) and restarts it with
// exponential backoff whenever it exits. stop() (also the destructor) ends it with SIGTERM, then SIGKILL.
// The child gets PR_SET_PDEATHSIG, so a crashed swarmbootd never leaves a dnsmasq holding port 67.
//
// Thread safety: child_pid(), restarts() and stop() may be called from any thread.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "swarmcore/log.hpp"
#include "swarmcore/result.hpp"

namespace swarmboot::pxe {

struct DnsmasqSupervisorOptions {
  std::string conf_file;                       // written by the caller
  std::vector<std::string> command = {"dnsmasq"};  // program (and leading arguments) to run
  std::chrono::milliseconds start_timeout{std::chrono::seconds(15)};
  std::chrono::milliseconds min_backoff{std::chrono::milliseconds(500)};
  std::chrono::milliseconds max_backoff{std::chrono::seconds(30)};
  std::chrono::milliseconds stable_after{std::chrono::seconds(60)};  // a run this long resets the backoff
};

class DnsmasqSupervisor {
 public:
  // Fails with dnsmasq's own words when the configuration does not pass `--test` or dnsmasq exits (or stays
  // silent) at its first start, e.g. "could not start dnsmasq: dnsmasq: unknown interface eth9".
  static Result<std::unique_ptr<DnsmasqSupervisor>> start(DnsmasqSupervisorOptions options, Logger log);
  ~DnsmasqSupervisor();
  DnsmasqSupervisor(const DnsmasqSupervisor&) = delete;
  DnsmasqSupervisor& operator=(const DnsmasqSupervisor&) = delete;

  // Ends dnsmasq and the supervising thread; idempotent.
  void stop();
  // The running dnsmasq's pid, or 0 between restarts.
  pid_t child_pid() const { return child_pid_.load(); }
  // How many times dnsmasq was restarted after exiting.
  int restarts() const { return restarts_.load(); }

 private:
  struct Startup;
  DnsmasqSupervisor(DnsmasqSupervisorOptions options, Logger log);
  void supervise(const std::shared_ptr<Startup>& startup);

  DnsmasqSupervisorOptions options_;
  Logger log_;
  int wake_read_ = -1;   // stop() writes to wake_write_ to interrupt poll()
  int wake_write_ = -1;
  std::atomic<bool> stopping_{false};
  std::atomic<pid_t> child_pid_{0};
  std::atomic<int> restarts_{0};
  std::thread thread_;
};

}  // namespace swarmboot::pxe
