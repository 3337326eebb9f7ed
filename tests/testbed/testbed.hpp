// The network-namespace test bed (DESIGN.md "Test bed"): one fabric namespace holding a Linux bridge, one
// namespace per host with a veth into the bridge, each link shaped with `tc tbf` in both directions.
// Addresses live only inside these namespaces (10.99.0.0/16). Everything it makes — namespaces, processes it
// spawned — is removed by the destructor, also when a test fails; namespaces left by an earlier crashed run
// with the same tag are removed on creation.
//
// Tests needing it call `testbed_unavailable_reason()` first and GTEST_SKIP with that reason when non-empty.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "swarmcore/process.hpp"
#include "swarmcore/result.hpp"

namespace swarmboot::testbed {

// Empty when this process can build a test bed (root, `ip`, `tc`, netns support); else why it cannot.
std::string testbed_unavailable_reason();

struct HostSpec {
  std::string name;          // short, e.g. "seed", "h1" (namespace is "<tag>-<name>")
  std::string address;       // with prefix length, e.g. "10.99.0.1/16"
  double rate_mbit = 0;      // 0: unshaped
  int mtu = 1500;            // both ends of the host's veth; the bridge follows the smallest of its ports
};

class TestBed {
 public:
  // tag: a short word unique to the test (max 8 chars); namespaces are named "sb<tag>-<host>".
  static swarmboot::Result<std::unique_ptr<TestBed>> create(const std::string& tag);
  ~TestBed();
  TestBed(const TestBed&) = delete;
  TestBed& operator=(const TestBed&) = delete;

  swarmboot::Status add_host(const HostSpec& host);

  // Gives every host a permanent neighbour entry for every other host added so far, so that no host needs
  // ARP to reach another. Call it after adding many hosts: the kernel's ARP table is shared by all network
  // namespaces, and its dynamic entries are capped machine-wide (net.ipv4.neigh.default.gc_thresh3, 1024 by
  // default). N hosts talking to each other need about N·N of them: at N = 64 the cap was hit ("arp_cache:
  // neighbor table overflow!" in the kernel log) and late-started hosts reached no one for minutes.
  // Permanent entries are exempt from that cap, and they change nothing outside the test's namespaces.
  // Taps (QEMU machines) keep ARP.
  swarmboot::Status pin_neighbours();

  // Makes a tap device enslaved to the bridge inside the fabric namespace, for a QEMU machine that is
  // started inside the fabric namespace with `-netdev tap,ifname=<tap>,script=no,downscript=no`.
  swarmboot::Status add_tap(const std::string& tap_name, double rate_mbit = 0);

  std::string netns(const std::string& host) const { return prefix_ + host; }
  std::string fabric_netns() const { return prefix_ + "fabric"; }
  // Address without prefix length, e.g. "10.99.0.1".
  std::string ip(const std::string& host) const;

  // Runs argv inside the host's namespace and waits (bounded by timeout).
  swarmboot::Result<swarmboot::ProcessResult> run(const std::string& host, const std::vector<std::string>& argv,
                                                  std::chrono::milliseconds timeout = std::chrono::seconds(60));

  // Starts argv inside the namespace ("fabric" for the fabric one) in its own process group, output to
  // log_file. The destructor kills it (SIGTERM, then SIGKILL after 3 s) unless stopped earlier.
  swarmboot::Result<pid_t> spawn(const std::string& host, const std::vector<std::string>& argv,
                                 const std::string& log_file);
  // Sends `signal` to the process group and waits up to `wait` for it to exit; true if it exited.
  bool stop(pid_t pid, int signal, std::chrono::milliseconds wait = std::chrono::seconds(5));
  // Whether the spawned process is still running (reaps it if not).
  bool running(pid_t pid);

 private:
  explicit TestBed(std::string prefix) : prefix_(std::move(prefix)) {}
  swarmboot::Status setup_fabric();
  void teardown();

  std::string prefix_;
  std::vector<std::string> namespaces_;
  struct Host {
    std::string name;
    std::string address;  // with prefix length
    std::string mac;      // eth0's, fixed by the test bed so that neighbours can be pinned
  };
  std::vector<Host> hosts_;
  std::vector<pid_t> children_;
};

// Polls `done` every `interval` until it returns true or `timeout` passes; returns its last answer.
template <class Pred>
bool wait_until(Pred done, std::chrono::milliseconds timeout,
                std::chrono::milliseconds interval = std::chrono::milliseconds(100));

}  // namespace swarmboot::testbed

#include <thread>

template <class Pred>
bool swarmboot::testbed::wait_until(Pred done, std::chrono::milliseconds timeout, std::chrono::milliseconds interval) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (done()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(interval);
  }
}
