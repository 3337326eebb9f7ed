// Helpers for the agent's integration tests: a private scratch directory, random images and their torrents,
// swarmboot-agent processes started inside test-bed namespaces but in *this* process's mount namespace
// (`ip netns exec` gives each command a private one, so the FUSE mount would be invisible to the test),
// status-file polling, and cleanup of mounts, loop devices and processes even when a test fails.
#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "swarmcore/image_torrent.hpp"
#include "swarmcore/process.hpp"
#include "testbed.hpp"

namespace swarmboot::agent_test {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

inline const char* agent_binary() { return SWARMBOOT_AGENT_BIN; }

// Empty when FUSE integration tests can run here; else why not.
inline std::string fuse_unavailable_reason() {
  if (geteuid() != 0) return "needs root (FUSE allow_other mounts, loop devices, namespaces)";
  int fd = ::open("/dev/fuse", O_RDWR | O_CLOEXEC);
  if (fd < 0) return "needs /dev/fuse";
  ::close(fd);
  if (!swarmboot::run_process({"fusermount3", "-V"}).ok()) return "needs fusermount3 (package fuse3)";
  return "";
}

inline bool is_mounted(const fs::path& dir) {
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  const std::string want = " " + dir.string() + " ";
  while (std::getline(in, line))
    if (line.find(want) != std::string::npos) return true;
  return false;
}

// A scratch directory that unmounts everything below it and removes it when the test ends.
class Scratch {
 public:
  Scratch() {
    char tmpl[] = "/tmp/sbagent-XXXXXX";
    dir_ = mkdtemp(tmpl);
  }
  ~Scratch() { cleanup(); }
  void cleanup() {
    if (dir_.empty()) return;
    // Loop devices backed by files below us first, then mounts deepest first.
    (void)swarmboot::run_process({"sh", "-c", "losetup -j '" + dir_.string() + "' >/dev/null 2>&1; for d in $(losetup -nO NAME,BACK-FILE | awk '$2 ~ \"^" + dir_.string() + "\" {print $1}'); do losetup -d $d; done"});
    for (int round = 0; round < 3; ++round) {
      std::vector<std::string> mounts;
      std::ifstream in("/proc/self/mountinfo");
      std::string line;
      while (std::getline(in, line)) {
        std::istringstream f(line);
        std::string a, b, c, d, mp;
        f >> a >> b >> c >> d >> mp;
        if (mp.rfind(dir_.string(), 0) == 0) mounts.push_back(mp);
      }
      if (mounts.empty()) break;
      std::sort(mounts.rbegin(), mounts.rend());
      for (const auto& m : mounts) (void)swarmboot::run_process({"umount", "-l", m});
    }
    std::error_code ec;
    // SWARMBOOT_TEST_KEEP=1 keeps logs and status files for a post-mortem (mounts are gone either way).
    if (std::getenv("SWARMBOOT_TEST_KEEP") == nullptr) fs::remove_all(dir_, ec);
    dir_.clear();
  }
  const fs::path& dir() const { return dir_; }
  fs::path operator/(const std::string& name) const { return dir_ / name; }

 private:
  fs::path dir_;
};

// Random bytes that pass for a squashfs image (magic first), so the image tools accept them.
inline std::string random_image_bytes(size_t size, unsigned seed) {
  std::string data(size, '\0');
  std::mt19937_64 rng(seed);
  for (size_t i = 0; i + 8 <= size; i += 8) {
    const std::uint64_t v = rng();
    std::memcpy(&data[i], &v, 8);
  }
  data.replace(0, 4, "hsqs");
  return data;
}

inline void write_file(const fs::path& p, const std::string& bytes) {
  std::ofstream(p, std::ios::binary | std::ios::trunc).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

inline std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Writes the torrent for `image` next to it as NAME.torrent.
inline swarmboot::Result<swarmboot::ImageTorrent> make_torrent(const fs::path& image, const std::string& name,
                                                               const fs::path& torrent_out, std::int64_t piece_size) {
  auto t = swarmboot::create_image_torrent(image, name, piece_size);
  if (!t) return t;
  write_file(torrent_out, std::string(t->bytes.begin(), t->bytes.end()));
  return t;
}

inline nlohmann::json read_status(const fs::path& status_file) {
  // An empty object until the agent has written its first status, so callers can use value(key, default).
  std::ifstream in(status_file);
  if (!in) return nlohmann::json::object();
  try {
    auto j = nlohmann::json::parse(in);
    return j.is_object() ? j : nlohmann::json::object();
  } catch (const std::exception&) {
    return nlohmann::json::object();
  }
}

inline int status_int(const fs::path& status_file, const char* key) {
  auto j = read_status(status_file);
  if (!j.is_object() || !j.contains(key)) return -1;
  return j[key].get<int>();
}

// argv that runs `argv` inside a test-bed host's network namespace but in this process's mount namespace.
inline std::vector<std::string> in_our_mounts(std::vector<std::string> argv) {
  std::vector<std::string> full = {"nsenter", "--mount=/proc/" + std::to_string(getpid()) + "/ns/mnt", "--"};
  full.insert(full.end(), argv.begin(), argv.end());
  return full;
}

// pread exactly `len` bytes (or to EOF); returns what was read, or sets `err` to errno.
inline std::string pread_all(int fd, std::int64_t off, size_t len, int& err) {
  std::string out(len, '\0');
  size_t got = 0;
  err = 0;
  while (got < len) {
    const ssize_t n = ::pread(fd, out.data() + got, len - got, static_cast<off_t>(off + static_cast<std::int64_t>(got)));
    if (n < 0) {
      if (errno == EINTR) continue;
      err = errno;
      break;
    }
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  out.resize(got);
  return out;
}

// A seed and hosts in test-bed namespaces, one random image of 64 KiB pieces ("img" in the scratch folder):
// what the swarm and install tests share. `tag` names the namespaces (a test binary's suites need different
// ones), `subnet` the third octet of the hosts' addresses (10.99.<subnet>.n/16).
class SwarmTest : public ::testing::Test {
 protected:
  static constexpr std::int64_t kPiece = 64 * 1024;

  SwarmTest(std::string tag, int subnet) : tag_(std::move(tag)), subnet_(subnet) {}

  // Creates the test bed, or skips the test when the machine cannot (no root, no namespaces).
  void create_bed() {
    if (auto why = swarmboot::testbed::testbed_unavailable_reason(); !why.empty()) GTEST_SKIP() << why;
    auto bed = swarmboot::testbed::TestBed::create(tag_);
    ASSERT_TRUE(bed.ok()) << bed.error().message;
    bed_ = std::move(*bed);
  }

  void make_image(size_t size, unsigned seed) {
    bytes_ = random_image_bytes(size, seed);
    write_file(scratch_ / "img", bytes_);
    auto t = make_torrent(scratch_ / "img", "img", scratch_ / "img.torrent", kPiece);
    ASSERT_TRUE(t.ok()) << t.error().message;
    torrent_ = *t;
  }

  void add_host(const std::string& name, int n, double mbit) {
    ASSERT_TRUE(
        bed_->add_host({name, "10.99." + std::to_string(subnet_) + "." + std::to_string(n) + "/16", mbit}).ok());
  }

  // `swarmboot-agent seed` of `data` on `host`; --no-verify serves it without hash checks (a corrupt peer).
  pid_t start_seed(const std::string& host, const fs::path& data, bool no_verify = false) {
    std::vector<std::string> argv = {agent_binary(), "seed", "--torrent", (scratch_ / "img.torrent").string(),
                                     "--data", data.string(), "--listen", "6881"};
    if (no_verify) argv.push_back("--no-verify");
    auto pid = bed_->spawn(host, argv, (scratch_ / (host + ".log")).string());
    EXPECT_TRUE(pid.ok());
    // Agents started before the seed listens dial it once, are refused, and may not dial again (seen once on
    // a saturated machine: a test hung with 0 peers). Give the seed up to 15 s to say it listens.
    swarmboot::testbed::wait_until(
        [&] { return read_file(scratch_ / (host + ".log")).find("listening on") != std::string::npos; },
        std::chrono::seconds(15));
    return pid.ok() ? *pid : -1;
  }

  Scratch scratch_;
  std::unique_ptr<swarmboot::testbed::TestBed> bed_;
  std::string bytes_;
  swarmboot::ImageTorrent torrent_;

 private:
  std::string tag_;
  int subnet_;
};

}  // namespace swarmboot::agent_test
