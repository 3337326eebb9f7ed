// `swarmboot-agent install` against a real swarm in test-bed namespaces: the target (a regular file, a loop
// device) ends up holding exactly the image and the agent exits 0; a target too small is refused untouched
// with exit 3; a target already half written (some pieces corrupt) is resumed and only what is missing is
// fetched; a peer sending corrupt data never puts a wrong byte on the target, not even for a moment; an
// install killed with SIGKILL completes on the next run.
#include <gtest/gtest.h>

#include <csignal>
#include <regex>

#include "agent_harness.hpp"

using namespace swarmboot;
using namespace swarmboot::agent_test;
using swarmboot::testbed::TestBed;
using swarmboot::testbed::wait_until;

namespace {

// Offset of the first byte where `got` differs from `want` (or the shorter length), -1 if equal.
std::int64_t first_difference(const std::string& got, const std::string& want) {
  const size_t n = std::min(got.size(), want.size());
  for (size_t i = 0; i < n; ++i)
    if (got[i] != want[i]) return static_cast<std::int64_t>(i);
  return got.size() == want.size() ? -1 : static_cast<std::int64_t>(n);
}

class AgentInstall : public SwarmTest {
 protected:
  AgentInstall() : SwarmTest("agi", 73) {}
  void SetUp() override { create_bed(); }
  void TearDown() override {
    bed_.reset();  // kills what it spawned, removes the namespaces
    scratch_.cleanup();
  }

  // A target file of `size` bytes: zeros (sparse), then `tail` bytes of a pattern that must survive.
  fs::path make_target_file(const std::string& name, std::int64_t size) {
    const fs::path p = scratch_ / name;
    write_file(p, "");
    fs::resize_file(p, static_cast<std::uintmax_t>(size));
    return p;
  }

  std::vector<std::string> install_argv(const std::string& target, const std::vector<std::string>& peers,
                                        std::vector<std::string> extra = {}) {
    std::vector<std::string> argv = {agent_binary(), "install", "--torrent", (scratch_ / "img.torrent").string(),
                                     "--cache", (scratch_ / "cache").string(), "--target", target,
                                     "--status-file", status_file().string(), "--listen", "6881",
                                     "--expected-info-hash", torrent_.info_hash};
    for (const auto& p : peers) {
      argv.push_back("--peer");
      argv.push_back(bed_->ip(p) + ":6881");
    }
    argv.insert(argv.end(), extra.begin(), extra.end());
    return argv;
  }

  // Runs the install to its end in `host`'s namespace (bounded), output captured.
  ProcessResult run_install(const std::string& host, const std::vector<std::string>& argv) {
    auto r = bed_->run(host, argv, std::chrono::seconds(120));
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
    return r.ok() ? *r : ProcessResult{};
  }

  // Starts the install in the background, output to install.log, exit code to install.rc when it ends.
  pid_t spawn_install(const std::string& host, const std::vector<std::string>& argv) {
    fs::remove(scratch_ / "install.rc");
    std::vector<std::string> sh = {"sh", "-c", "\"$@\"; echo $? > " + (scratch_ / "install.rc").string(), "sh"};
    sh.insert(sh.end(), argv.begin(), argv.end());
    auto pid = bed_->spawn(host, sh, (scratch_ / "install.log").string());
    EXPECT_TRUE(pid.ok());
    return pid.ok() ? *pid : -1;
  }
  int spawned_exit_code() {
    const std::string rc = read_file(scratch_ / "install.rc");
    return rc.empty() ? -1 : std::stoi(rc);
  }

  fs::path status_file() const { return scratch_ / "status.json"; }
  nlohmann::json st() const { return read_status(status_file()); }

  // The run must have ended installed, with exactly the image at the start of `target`.
  void expect_installed(const ProcessResult& r, const fs::path& target) {
    EXPECT_EQ(r.exit_code, 0) << r.output;
    const std::string got = read_file(target).substr(0, bytes_.size());
    EXPECT_EQ(first_difference(got, bytes_), -1) << "the target differs from the image";
    const auto s = st();
    EXPECT_EQ(s.value("state", ""), "installed") << s.dump();
    EXPECT_EQ(s.value("pieces_on_target", -1), torrent_.num_pieces);
    EXPECT_DOUBLE_EQ(s.value("progress", 0.0), 1.0);
    EXPECT_NE(r.output.find("installed img (" + std::to_string(bytes_.size()) + " bytes)"), std::string::npos) << r.output;
  }

  std::int64_t fetched() const { return st().value("bytes_from_peers", 0LL) + st().value("bytes_from_webseed", 0LL); }

};

TEST_F(AgentInstall, ARegularFileTargetEndsWithExactlyTheImageAndTheRestUntouched) {
  make_image(8 << 20, 11);
  add_host("seed", 1, 60);
  add_host("h1", 11, 60);
  start_seed("seed", scratch_ / "img");
  // Bigger than the image, with a tail that is not the image's business.
  const fs::path target = make_target_file("disk.img", static_cast<std::int64_t>(bytes_.size()) + (1 << 20));
  const std::string tail = random_image_bytes(1 << 20, 99);
  {
    std::fstream f(target, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(bytes_.size()));
    f.write(tail.data(), static_cast<std::streamsize>(tail.size()));
  }
  const ProcessResult r = run_install("h1", install_argv(target.string(), {"seed"}));
  expect_installed(r, target);
  EXPECT_TRUE(read_file(target).substr(bytes_.size()) == tail) << "bytes past the image were touched";
  EXPECT_NE(r.output.find("resumed: 0 of " + std::to_string(torrent_.num_pieces)), std::string::npos) << r.output;
  EXPECT_GE(fetched(), static_cast<std::int64_t>(bytes_.size()));
}

TEST_F(AgentInstall, ALoopDeviceTargetEndsWithExactlyTheImage) {
  make_image(8 << 20, 12);
  add_host("seed", 1, 60);
  add_host("h1", 11, 60);
  start_seed("seed", scratch_ / "img");
  const fs::path backing = make_target_file("loop.img", 16 << 20);
  auto lo = run_process({"losetup", "-f", "--show", backing.string()});
  if (!lo.ok() || lo->exit_code != 0) GTEST_SKIP() << "no loop device here: " << (lo.ok() ? lo->output : lo.error().message);
  std::string dev = lo->output;
  while (!dev.empty() && std::isspace(static_cast<unsigned char>(dev.back()))) dev.pop_back();

  const ProcessResult r = run_install("h1", install_argv(dev, {"seed"}));
  expect_installed(r, dev);
  EXPECT_NE(st().value("target", ""), "") << "the status names the target";
  EXPECT_EQ(st().value("target", ""), dev);
  (void)run_process({"losetup", "-d", dev});
  EXPECT_EQ(first_difference(read_file(backing).substr(0, bytes_.size()), bytes_), -1) << "on the device itself";
}

TEST_F(AgentInstall, ATargetTooSmallIsRefusedUntouchedWithExit3) {
  make_image(8 << 20, 13);
  add_host("h1", 11, 60);
  const fs::path target = scratch_ / "small.img";
  const std::string before = random_image_bytes(4 << 20, 77);
  write_file(target, before);
  const ProcessResult r = run_install("h1", install_argv(target.string(), {}));
  EXPECT_EQ(r.exit_code, 3) << r.output;
  const std::string want = "target " + target.string() + " holds 4194304 bytes; image img needs 8388608: nothing written";
  EXPECT_NE(r.output.find("swarmboot-agent: " + want), std::string::npos) << r.output;
  EXPECT_TRUE(read_file(target) == before) << "the target was written to";
  EXPECT_EQ(st().value("state", ""), "failed");
  EXPECT_EQ(st().value("message", ""), want);
  EXPECT_FALSE(fs::exists(scratch_ / "cache" / "img")) << "nothing was downloaded";
}

TEST_F(AgentInstall, AHalfWrittenTargetResumesAndFetchesOnlyTheMissingAndCorruptPieces) {
  make_image(8 << 20, 14);
  add_host("seed", 1, 60);
  add_host("h1", 11, 60);
  start_seed("seed", scratch_ / "img");
  const int n = torrent_.num_pieces;
  // Even pieces correct; every third odd piece there but with one byte flipped (a write torn by a power cut
  // looks like this); the other odd pieces zeros.
  std::string disk(bytes_.size(), '\0');
  int good = 0;
  for (int p = 0; p < n; ++p) {
    const auto off = static_cast<size_t>(p * kPiece);
    if (p % 2 == 0) {
      disk.replace(off, kPiece, bytes_.substr(off, kPiece));
      ++good;
    } else if (p % 3 == 0) {
      disk.replace(off, kPiece, bytes_.substr(off, kPiece));
      disk[off + 1000] ^= 0x40;
    }
  }
  const fs::path target = scratch_ / "disk.img";
  write_file(target, disk);

  const ProcessResult r = run_install("h1", install_argv(target.string(), {"seed"}));
  expect_installed(r, target);
  EXPECT_NE(r.output.find("resumed: " + std::to_string(good) + " of " + std::to_string(n) + " pieces already on the target"),
            std::string::npos)
      << r.output;
  EXPECT_EQ(st().value("pieces_resumed", -1), good);
  EXPECT_EQ(st().value("bytes_written", -1LL), (n - good) * kPiece) << "only the missing pieces were written";
  // Only the missing and corrupt pieces come over the wire (a few requests in flight may be duplicated).
  EXPECT_GE(fetched(), (n - good) * kPiece);
  EXPECT_LE(fetched(), (n - good + 4) * kPiece);
}

TEST_F(AgentInstall, APeerSendingCorruptDataNeverPutsAWrongByteOnTheTarget) {
  make_image(8 << 20, 15);
  std::string bad = bytes_;
  for (std::int64_t off = 100; off < static_cast<std::int64_t>(bad.size()); off += kPiece) bad[static_cast<size_t>(off)] ^= 0x5a;
  write_file(scratch_ / "img.bad", bad);
  add_host("evil", 2, 40);
  add_host("seed", 1, 20);  // 8 MiB at 20 Mbit/s: about 3.5 s of install to sample
  add_host("h1", 11, 60);
  start_seed("evil", scratch_ / "img.bad", /*no_verify=*/true);
  const fs::path target = make_target_file("disk.img", static_cast<std::int64_t>(bytes_.size()));
  const pid_t pid = spawn_install("h1", install_argv(target.string(), {"evil", "seed"}));

  // Sample the target all along: every byte is still zero or already the image's. (A piece being written is
  // a prefix of right bytes; a corrupt byte would be non-zero and wrong.)
  int samples = 0, samples_midway = 0;
  std::int64_t wrong_at = -1;
  bool seed_started = false;
  const auto deadline = std::chrono::steady_clock::now() + 90s;
  while (bed_->running(pid) && std::chrono::steady_clock::now() < deadline) {
    const std::string t = read_file(target);
    for (size_t i = 0; i < t.size() && i < bytes_.size() && wrong_at < 0; ++i)
      if (t[i] != 0 && t[i] != bytes_[i]) wrong_at = static_cast<std::int64_t>(i);
    ++samples;
    const int on = st().value("pieces_on_target", 0);
    if (on > 0 && on < torrent_.num_pieces) ++samples_midway;
    // Only the bad peer exists until it has been caught, so the hash check is really exercised.
    if (!seed_started && read_file(scratch_ / "install.log").find("failed its hash check") != std::string::npos) {
      start_seed("seed", scratch_ / "img");
      seed_started = true;
    }
    std::this_thread::sleep_for(50ms);
  }
  ASSERT_FALSE(bed_->running(pid)) << "install did not finish within 90 s: " << read_file(scratch_ / "install.log");
  EXPECT_TRUE(seed_started) << "the corrupt peer was never caught: " << read_file(scratch_ / "install.log");
  EXPECT_EQ(wrong_at, -1) << "a byte not from the image was on the target at offset " << wrong_at;
  EXPECT_GT(samples_midway, 3) << "the target was meant to be sampled while the install ran (" << samples << " samples)";
  EXPECT_EQ(spawned_exit_code(), 0) << read_file(scratch_ / "install.log");
  EXPECT_EQ(first_difference(read_file(target), bytes_), -1);
  EXPECT_EQ(st().value("state", ""), "installed");
}

TEST_F(AgentInstall, AnInstallKilledWithSigkillCompletesOnTheNextRun) {
  make_image(16 << 20, 16);
  add_host("seed", 1, 16);  // 16 MiB at 16 Mbit/s: about 8.5 s
  add_host("h1", 11, 60);
  start_seed("seed", scratch_ / "img");
  const fs::path target = make_target_file("disk.img", static_cast<std::int64_t>(bytes_.size()));
  const int n = torrent_.num_pieces;
  const pid_t pid = spawn_install("h1", install_argv(target.string(), {"seed"}));
  int on_at_kill = 0;
  ASSERT_TRUE(wait_until([&] { return (on_at_kill = st().value("pieces_on_target", 0)) >= n / 3; }, 60s))
      << read_file(scratch_ / "install.log");
  ASSERT_TRUE(bed_->stop(pid, SIGKILL, 5s));
  ASSERT_LT(on_at_kill, n) << "killed too late to test resuming";

  // Rerun as /init does: same cache (a tmpfs that outlives the agent within one boot), same target.
  const ProcessResult r = run_install("h1", install_argv(target.string(), {"seed"}));
  expect_installed(r, target);
  std::smatch m;
  ASSERT_TRUE(std::regex_search(r.output, m, std::regex("resumed: (\\d+) of (\\d+)"))) << r.output;
  EXPECT_GE(std::stoi(m[1]), on_at_kill) << "what was on the target at the kill counts";
  EXPECT_EQ(std::stoi(m[2]), n);
  // Pieces the cache held and the target did not are copied, not fetched again.
  EXPECT_LE(fetched(), (n - on_at_kill + 4) * kPiece) << r.output;
}

}  // namespace
