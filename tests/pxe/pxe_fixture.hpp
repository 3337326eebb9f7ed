// Shared by the PXE netns and QEMU tests: a swarmbootd (the real binary, built in this tree) running inside a
// test-bed namespace with --dhcp-mode full|proxy, plus small helpers to talk to it from inside that namespace.
#pragma once

#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <cstdint>
#include <dirent.h>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "testbed.hpp"

namespace swarmboot::pxetest {

using namespace std::chrono_literals;
using swarmboot::testbed::TestBed;
using swarmboot::testbed::wait_until;

inline const std::string kToken = "pxe0test0admin0token0123456789";

inline std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A directory everyone can traverse: dnsmasq serves TFTP after dropping root to "nobody".
inline std::string make_public_dir(const std::string& name) {
  // Per test, so that a failed test's files (kept for reading) are not wiped by the next one.
  const std::string dir = "/tmp/swarmboot-" + name + "-" + std::to_string(getpid()) + "-" +
                          testing::UnitTest::GetInstance()->current_test_info()->name();
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  std::filesystem::permissions(dir, std::filesystem::perms(0755));
  return dir;
}

struct Swarmbootd {
  pid_t pid = -1;
  std::string host;
  std::string data_dir;
  std::string log_file;
  std::uint16_t port = 0;
};

// Starts swarmbootd in `host`'s namespace and waits (bounded) until it wrote its port and dnsmasq started.
inline Swarmbootd start_swarmbootd(TestBed& bed, const std::string& host, const std::string& data_dir,
                                   const std::vector<std::string>& extra) {
  Swarmbootd s;
  s.host = host;
  s.data_dir = data_dir;
  s.log_file = data_dir + "/swarmbootd.log";
  std::filesystem::create_directories(data_dir);
  std::vector<std::string> argv = {"env", "SWARMBOOT_API_TOKEN=" + kToken, SWARMBOOTD_BINARY, "--data-dir", data_dir,
                                   "--listen", "0.0.0.0:0", "--seeder", "false"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  auto pid = bed.spawn(host, argv, s.log_file);
  if (!pid) {
    ADD_FAILURE() << pid.error().message;
    return s;
  }
  s.pid = *pid;
  const bool up = wait_until(
      [&] {
        return read_text(s.log_file).find("dnsmasq serving") != std::string::npos || !bed.running(s.pid);
      },
      30s);
  EXPECT_TRUE(up && bed.running(s.pid)) << "swarmbootd did not start:\n" << read_text(s.log_file);
  s.port = static_cast<std::uint16_t>(std::atoi(read_text(data_dir + "/swarmbootd.port").c_str()));
  return s;
}

// curl inside the server's namespace against its loopback; returns the body ("" on failure).
inline std::string api(TestBed& bed, const Swarmbootd& s, const std::string& method, const std::string& path,
                       const std::string& body = "") {
  std::vector<std::string> argv = {"curl", "-s", "-m", "5", "-X", method, "-H", "Authorization: Bearer " + kToken,
                                   "http://127.0.0.1:" + std::to_string(s.port) + path};
  if (!body.empty()) {
    argv.insert(argv.end(), {"-H", "Content-Type: application/json", "--data", body});
  }
  auto r = bed.run(s.host, argv, 10s);
  return r && r->exit_code == 0 ? r->output : "";
}

// Pids of the processes named `comm` whose parent is `parent`.
inline std::vector<pid_t> children_named(pid_t parent, const std::string& comm) {
  std::vector<pid_t> out;
  DIR* d = opendir("/proc");
  if (d == nullptr) return out;
  while (dirent* e = readdir(d)) {
    const pid_t pid = std::atoi(e->d_name);
    if (pid <= 0) continue;
    const std::string stat = read_text("/proc/" + std::string(e->d_name) + "/stat");
    const size_t open = stat.find('('), close = stat.rfind(')');
    if (open == std::string::npos || close == std::string::npos) continue;
    std::istringstream rest(stat.substr(close + 2));
    std::string state;
    pid_t ppid = 0;
    rest >> state >> ppid;
    if (ppid == parent && stat.substr(open + 1, close - open - 1) == comm) out.push_back(pid);
  }
  closedir(d);
  return out;
}

// Values from a "key=value" per line text (udhcpc's environment dump, the probe's output).
inline std::string value_of(const std::string& text, const std::string& key) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key + "=", 0) == 0) return line.substr(key.size() + 1);
  }
  return "";
}

}  // namespace swarmboot::pxetest
