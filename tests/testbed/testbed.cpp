// TestBed: `ip netns`, veth pairs into a bridge, `tc tbf` on both ends of every link.
#include "testbed.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include "swarmboot/pxe/pxe_config.hpp"

#include <charconv>
#include <cstdint>
#include <filesystem>
#include <thread>

namespace swarmboot::testbed {

using swarmboot::Error;
using swarmboot::ProcessOptions;
using swarmboot::Result;
using swarmboot::run_checked;
using swarmboot::run_process;
using swarmboot::Status;

namespace {

// Locally administered, unique within one test bed (hosts are on its bridge only): 02:73:62 ("sb"), index.
std::string host_mac(size_t index) {
  return fmt::format("02:73:62:{:02x}:{:02x}:{:02x}", (index >> 16) & 0xff, (index >> 8) & 0xff, index & 0xff);
}

// "10.99.0.5/16" -> "10.99.0.0/16": the route the kernel adds for an address. Unchanged if not IPv4/len.
std::string subnet_of(const std::string& cidr) {
  const auto slash = cidr.find('/');
  if (slash == std::string::npos) return cidr;
  const auto address = swarmboot::pxe::parse_ipv4(std::string_view(cidr).substr(0, slash));
  int length = -1;
  const char* digits = cidr.data() + slash + 1;
  const auto [end, ec] = std::from_chars(digits, cidr.data() + cidr.size(), length);
  if (!address || ec != std::errc{} || end != cidr.data() + cidr.size() || length < 0 || length > 32) return cidr;
  return swarmboot::pxe::format_ipv4(*address & swarmboot::pxe::ipv4_mask(length)) + cidr.substr(slash);
}

std::string tbf_rate(double mbit) { return std::to_string(static_cast<long>(mbit * 1000)) + "kbit"; }

Status shape(const std::string& ns, const std::string& dev, double mbit) {
  if (mbit <= 0) return {};
  // Burst must cover at least one jiffy's worth of bytes at this rate, and a full-size frame.
  const long burst = std::max<long>(32 * 1024, static_cast<long>(mbit * 1e6 / 8 / 250));
  auto r = run_checked({"ip", "netns", "exec", ns, "tc", "qdisc", "replace", "dev", dev, "root", "tbf", "rate",
                        tbf_rate(mbit), "burst", std::to_string(burst), "latency", "200ms"});
  if (!r) return r.error();
  return {};
}

}  // namespace

std::string testbed_unavailable_reason() {
  if (geteuid() != 0) return "needs root to create network namespaces";
  if (run_process({"ip", "-V"}).ok() == false) return "needs iproute2 (`ip`)";
  auto tc = run_process({"tc", "-V"});
  if (!tc || tc->exit_code != 0) return "needs `tc` (iproute2)";
  if (!std::filesystem::exists("/proc/self/ns/net")) return "kernel has no network namespaces";
  return "";
}

Result<std::unique_ptr<TestBed>> TestBed::create(const std::string& tag) {
  std::unique_ptr<TestBed> bed(new TestBed("sb" + tag + "-"));
  // Remove leftovers of an earlier crashed run with the same tag.
  if (auto list = run_process({"ip", "netns", "list"}); list) {
    size_t pos = 0;
    while (pos < list->output.size()) {
      auto end = list->output.find('\n', pos);
      std::string line = list->output.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
      pos = end == std::string::npos ? list->output.size() : end + 1;
      std::string name = line.substr(0, line.find(' '));
      if (name.rfind(bed->prefix_, 0) == 0) {
        (void)run_process({"ip", "netns", "pids", name});
        (void)run_process({"sh", "-c", "ip netns pids " + name + " | xargs -r kill -9"});
        (void)run_process({"ip", "netns", "del", name});
      }
    }
  }
  if (auto s = bed->setup_fabric(); !s) return s.error();
  return bed;
}

Status TestBed::setup_fabric() {
  const std::string fab = fabric_netns();
  auto r = run_checked({"ip", "netns", "add", fab});
  if (!r) return wrap("could not create the fabric namespace", r.error());
  namespaces_.push_back(fab);
  for (const auto& argv : std::vector<std::vector<std::string>>{
           {"ip", "netns", "exec", fab, "ip", "link", "set", "lo", "up"},
           {"ip", "netns", "exec", fab, "ip", "link", "add", "br0", "type", "bridge", "stp_state", "0",
            "forward_delay", "0"},
           {"ip", "netns", "exec", fab, "ip", "link", "set", "br0", "up"}}) {
    if (auto rr = run_checked(argv); !rr) return wrap("could not set up the fabric bridge", rr.error());
  }
  return {};
}

Status TestBed::add_host(const HostSpec& host) {
  const std::string ns = netns(host.name);
  const std::string fab = fabric_netns();
  const std::string mac = host_mac(hosts_.size());
  const std::string veth_br = "vb" + std::to_string(hosts_.size());
  if (auto r = run_checked({"ip", "netns", "add", ns}); !r) return wrap("could not add host " + host.name, r.error());
  namespaces_.push_back(ns);
  const std::vector<std::vector<std::string>> steps = {
      {"ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up"},
      {"ip", "-n", ns, "link", "add", "eth0", "address", mac, "mtu", std::to_string(host.mtu), "type", "veth", "peer",
       "name", veth_br, "mtu", std::to_string(host.mtu), "netns", fab},
      {"ip", "-n", ns, "addr", "add", host.address, "dev", "eth0"},
      {"ip", "-n", ns, "link", "set", "eth0", "up"},
      // A new namespace inherits the machine's congestion control, and machines differ: one kernel here
      // defaulted to BBR, under which 32 hosts' flows into 8 Mbit/s ports retransmitted 305-10922 segments per
      // host in one run (cubic: 100-169) and took 85-98% of both cores instead of 79-88% (docs/benchmarks.md,
      // "Reading the default run (2026-11-28 ...)"). Hosts on a rack run their distribution's default: cubic.
      // Set on the subnet's route, not with the namespace's sysctl: a kernel whose
      // net.ipv4.tcp_allowed_congestion_control leaves cubic out refuses that sysctl outside the initial
      // namespace (EPERM; seen on 6.18 with "reno bbr"), while a route's congctl applies to every connection
      // on it, both the ones the host opens and the ones it accepts.
      {"ip", "-n", ns, "route", "replace", subnet_of(host.address), "dev", "eth0", "proto", "kernel", "scope", "link",
       "src", host.address.substr(0, host.address.find('/')), "congctl", "cubic"},
      {"ip", "-n", fab, "link", "set", veth_br, "master", "br0"},
      {"ip", "-n", fab, "link", "set", veth_br, "up"},
  };
  for (const auto& argv : steps) {
    if (auto r = run_checked(argv); !r) return wrap("could not add host " + host.name, r.error());
  }
  if (auto s = shape(ns, "eth0", host.rate_mbit); !s) return s;
  if (auto s = shape(fab, veth_br, host.rate_mbit); !s) return s;
  hosts_.push_back({host.name, host.address, mac});
  return {};
}

Status TestBed::pin_neighbours() {
  for (const auto& host : hosts_) {
    std::string batch;
    for (const auto& other : hosts_) {
      if (other.name == host.name) continue;
      batch += fmt::format("neigh replace {} lladdr {} dev eth0 nud permanent\n",
                           other.address.substr(0, other.address.find('/')), other.mac);
    }
    if (batch.empty()) continue;
    ProcessOptions opts;
    opts.stdin_data = std::move(batch);
    if (auto r = run_checked({"ip", "-n", netns(host.name), "-batch", "-"}, opts); !r) {
      return wrap("could not pin the neighbours of host " + host.name, r.error());
    }
  }
  return {};
}

Status TestBed::add_tap(const std::string& tap_name, double rate_mbit) {
  const std::string fab = fabric_netns();
  for (const auto& argv : std::vector<std::vector<std::string>>{
           {"ip", "-n", fab, "tuntap", "add", "dev", tap_name, "mode", "tap"},
           {"ip", "-n", fab, "link", "set", tap_name, "master", "br0"},
           {"ip", "-n", fab, "link", "set", tap_name, "up"}}) {
    if (auto r = run_checked(argv); !r) return wrap("could not add tap " + tap_name, r.error());
  }
  return shape(fab, tap_name, rate_mbit);
}

std::string TestBed::ip(const std::string& host) const {
  for (const auto& h : hosts_) {
    if (h.name == host) return h.address.substr(0, h.address.find('/'));
  }
  return "";
}

Result<ProcessResult> TestBed::run(const std::string& host, const std::vector<std::string>& argv,
                                   std::chrono::milliseconds timeout) {
  std::vector<std::string> full = {"ip", "netns", "exec", host == "fabric" ? fabric_netns() : netns(host)};
  full.insert(full.end(), argv.begin(), argv.end());
  ProcessOptions opts;
  opts.timeout = timeout;
  return run_process(full, opts);
}

Result<pid_t> TestBed::spawn(const std::string& host, const std::vector<std::string>& argv,
                             const std::string& log_file) {
  std::vector<std::string> full = {"ip", "netns", "exec", host == "fabric" ? fabric_netns() : netns(host)};
  full.insert(full.end(), argv.begin(), argv.end());
  std::vector<char*> args;
  for (auto& a : full) args.push_back(a.data());
  args.push_back(nullptr);
  const pid_t pid = fork();
  if (pid < 0) return Error{"could not fork"};
  if (pid == 0) {
    setpgid(0, 0);
    int fd = open(log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd >= 0) {
      dup2(fd, STDOUT_FILENO);
      dup2(fd, STDERR_FILENO);
    }
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, STDIN_FILENO);
    execvp(args[0], args.data());
    _exit(127);
  }
  setpgid(pid, pid);
  children_.push_back(pid);
  return pid;
}

bool TestBed::running(pid_t pid) {
  int status = 0;
  const pid_t r = waitpid(pid, &status, WNOHANG);
  return r == 0;
}

bool TestBed::stop(pid_t pid, int signal, std::chrono::milliseconds wait) {
  kill(-pid, signal);
  const bool exited = wait_until([&] { return !running(pid); }, wait, std::chrono::milliseconds(50));
  if (exited) std::erase(children_, pid);
  return exited;
}

void TestBed::teardown() {
  for (pid_t pid : children_) kill(-pid, SIGTERM);
  for (pid_t pid : children_) {
    if (!wait_until([&] { return !running(pid); }, std::chrono::seconds(3), std::chrono::milliseconds(50))) {
      kill(-pid, SIGKILL);
      int status = 0;
      waitpid(pid, &status, 0);
    }
  }
  children_.clear();
  // Anything still inside a namespace (e.g. a daemon that detached) dies with it.
  for (auto it = namespaces_.rbegin(); it != namespaces_.rend(); ++it) {
    (void)run_process({"sh", "-c", "ip netns pids " + *it + " | xargs -r kill -9"});
    (void)run_process({"ip", "netns", "del", *it});
  }
  namespaces_.clear();
}

TestBed::~TestBed() { teardown(); }

}  // namespace swarmboot::testbed
