// swarmboot-agent on one host: bad input is refused with one line and nothing mounted; a mount served by a
// local seed (127.0.0.1 inside a private namespace) shows one read-only file at full size, returns exactly
// the image's bytes, fails an impossible read with EIO instead of hanging, unmounts on SIGTERM and resumes
// from its cache without downloading again.
#include <gtest/gtest.h>

#include <libtorrent/create_torrent.hpp>
#include <libtorrent/file_storage.hpp>

#include <csignal>
#include <thread>

#include "agent_harness.hpp"

using namespace swarmboot;
using namespace swarmboot::agent_test;
using swarmboot::testbed::TestBed;
using swarmboot::testbed::wait_until;

namespace {

constexpr std::int64_t kPiece = 64 * 1024;

std::string one_line(const std::string& s) {
  std::string t = s;
  while (!t.empty() && t.back() == '\n') t.pop_back();
  return t;
}

class AgentLocal : public ::testing::Test {
 protected:
  void SetUp() override {
    if (auto why = fuse_unavailable_reason(); !why.empty()) GTEST_SKIP() << why;
    image_ = scratch_ / "img.raw";
    bytes_ = random_image_bytes(6 * 1024 * 1024 + 12345, 42);
    write_file(image_, bytes_);
    auto t = make_torrent(image_, "local", scratch_ / "local.torrent", kPiece);
    ASSERT_TRUE(t.ok()) << t.error().message;
    torrent_ = *t;
    fs::create_directories(scratch_ / "mnt");
  }

  ProcessResult run_agent(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {agent_binary()};
    argv.insert(argv.end(), args.begin(), args.end());
    ProcessOptions po;
    po.timeout = 60s;
    auto r = run_process(argv, po);
    EXPECT_TRUE(r.ok());
    return r.ok() ? *r : ProcessResult{};
  }

  Scratch scratch_;
  fs::path image_;
  std::string bytes_;
  ImageTorrent torrent_;
};

TEST_F(AgentLocal, BadInputIsOneLineNonZeroAndMountsNothing) {
  const fs::path mnt = scratch_ / "mnt";
  write_file(scratch_ / "garbage.torrent", "this is not bencode");
  write_file(scratch_ / "truncated.torrent", std::string(torrent_.bytes.begin(), torrent_.bytes.begin() + 100));
  {
    // A two-file torrent (valid BitTorrent, not an image torrent).
    fs::create_directories(scratch_ / "two");
    write_file(scratch_ / "two" / "a", std::string(1000, 'a'));
    write_file(scratch_ / "two" / "b", std::string(1000, 'b'));
    lt::file_storage files;
    lt::add_files(files, (scratch_ / "two").string());
    lt::create_torrent ct(files, 16384, lt::create_torrent::v1_only);
    lt::set_piece_hashes(ct, scratch_.dir().string());
    std::vector<char> buf;
    lt::bencode(std::back_inserter(buf), ct.generate());
    write_file(scratch_ / "two.torrent", std::string(buf.begin(), buf.end()));
  }
  write_file(scratch_ / "not-a-dir", "x");
  fs::create_directories(scratch_ / "busy");
  ASSERT_EQ(run_process({"mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", (scratch_ / "busy").string()})->exit_code, 0);

  const std::string good = (scratch_ / "local.torrent").string();
  const std::string cache = (scratch_ / "cache").string();
  struct Case {
    const char* what;
    std::vector<std::string> args;
    const char* expect;
  };
  const std::vector<Case> cases = {
      {"corrupt torrent", {"--torrent", (scratch_ / "garbage.torrent").string(), "--cache", cache, "--mountpoint", mnt.string()}, "torrent"},
      {"truncated torrent", {"--torrent", (scratch_ / "truncated.torrent").string(), "--cache", cache, "--mountpoint", mnt.string()}, "torrent"},
      {"two-file torrent", {"--torrent", (scratch_ / "two.torrent").string(), "--cache", cache, "--mountpoint", mnt.string()}, "torrent"},
      {"missing torrent", {"--torrent", (scratch_ / "nope.torrent").string(), "--cache", cache, "--mountpoint", mnt.string()}, "torrent"},
      {"wrong info-hash", {"--torrent", good, "--cache", cache, "--mountpoint", mnt.string(), "--expected-info-hash", std::string(40, '0')}, "info-hash"},
      {"unwritable cache", {"--torrent", good, "--cache", "/proc/sbagent-cache", "--mountpoint", mnt.string()}, "cache"},
      {"cache is a file", {"--torrent", good, "--cache", (scratch_ / "not-a-dir").string(), "--mountpoint", mnt.string()}, "cache"},
      {"missing mountpoint", {"--torrent", good, "--cache", cache, "--mountpoint", (scratch_ / "absent").string()}, "mountpoint"},
      {"mountpoint in use", {"--torrent", good, "--cache", cache, "--mountpoint", (scratch_ / "busy").string()}, "mounted"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    std::vector<std::string> args = {"mount"};
    args.insert(args.end(), c.args.begin(), c.args.end());
    args.push_back("--foreground");
    const ProcessResult r = run_agent(args);
    EXPECT_NE(r.exit_code, 0) << r.output;
    EXPECT_EQ(one_line(r.output).find('\n'), std::string::npos) << "one line: " << r.output;
    EXPECT_NE(r.output.find(c.expect), std::string::npos) << r.output;
    EXPECT_FALSE(is_mounted(mnt)) << "nothing may be mounted after: " << r.output;
  }
  (void)run_process({"umount", (scratch_ / "busy").string()});
}

class AgentOnLoopback : public AgentLocal {
 protected:
  void SetUp() override {
    AgentLocal::SetUp();
    if (IsSkipped()) return;
    if (auto why = testbed::testbed_unavailable_reason(); !why.empty()) GTEST_SKIP() << why;
    auto bed = TestBed::create("agl");
    ASSERT_TRUE(bed.ok()) << bed.error().message;
    bed_ = std::move(*bed);
    ASSERT_TRUE(bed_->add_host({"h", "10.99.70.1/16", 0}).ok());
  }
  void TearDown() override {
    // Agents first (SIGTERM unmounts), then whatever is left mounted below the scratch directory.
    for (pid_t p : agents_) bed_->stop(p, SIGTERM, 10s);
    bed_.reset();
    scratch_.cleanup();
  }

  pid_t start_seed() {
    auto pid = bed_->spawn("h", {agent_binary(), "seed", "--torrent", (scratch_ / "local.torrent").string(), "--data",
                                 image_.string(), "--listen", "6881", "--listen-address", "127.0.0.1"},
                           (scratch_ / "seed.log").string());
    EXPECT_TRUE(pid.ok());
    return pid.ok() ? *pid : -1;
  }

  pid_t start_agent(std::vector<std::string> extra) {
    std::vector<std::string> argv = {agent_binary(), "mount", "--torrent", (scratch_ / "local.torrent").string(),
                                     "--cache", (scratch_ / "cache").string(), "--mountpoint",
                                     (scratch_ / "mnt").string(), "--status-file", (scratch_ / "status.json").string(),
                                     "--foreground", "--listen-address", "127.0.0.1"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    auto pid = bed_->spawn("h", in_our_mounts(argv), (scratch_ / "agent.log").string());
    EXPECT_TRUE(pid.ok());
    if (!pid.ok()) return -1;
    agents_.push_back(*pid);
    const fs::path file = scratch_ / "mnt" / "local";
    EXPECT_TRUE(wait_until([&] { std::error_code ec; return fs::file_size(file, ec) == bytes_.size(); }, 20s))
        << read_file(scratch_ / "agent.log");
    return *pid;
  }

  std::unique_ptr<TestBed> bed_;
  std::vector<pid_t> agents_;
};

TEST_F(AgentOnLoopback, ServesExactBytesReadOnlyAndResumesAfterSigterm) {
  start_seed();
  const pid_t agent = start_agent({"--peer", "127.0.0.1:6881"});
  const fs::path file = scratch_ / "mnt" / "local";

  // One read-only file at its full size from the start.
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(scratch_ / "mnt")) names.push_back(e.path().filename());
  EXPECT_EQ(names, std::vector<std::string>{"local"});
  EXPECT_EQ(fs::file_size(file), bytes_.size());
  EXPECT_LT(::open(file.c_str(), O_WRONLY), 0);
  EXPECT_EQ(errno, EROFS);

  // Reads from many threads at random offsets and lengths, including across piece boundaries and the end.
  int fd = ::open(file.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  std::vector<std::thread> readers;
  std::atomic<int> bad{0};
  for (int t = 0; t < 6; ++t) {
    readers.emplace_back([&, t] {
      std::mt19937_64 rng(100 + t);
      for (int i = 0; i < 40; ++i) {
        const auto off = static_cast<std::int64_t>(rng() % bytes_.size());
        const size_t len = 1 + rng() % (3 * kPiece);
        int err = 0;
        const std::string got = pread_all(fd, off, len, err);
        const std::string want = bytes_.substr(static_cast<size_t>(off), len);
        if (err != 0 || got != want) ++bad;
      }
    });
  }
  for (auto& r : readers) r.join();
  EXPECT_EQ(bad.load(), 0);
  int err = 0;
  EXPECT_EQ(pread_all(fd, static_cast<std::int64_t>(bytes_.size()), 100, err), "") << "read at EOF is empty";
  EXPECT_TRUE(pread_all(fd, 0, bytes_.size(), err) == bytes_);
  ::close(fd);

  // The download completes and the status file says so.
  ASSERT_TRUE(wait_until([&] { return read_status(scratch_ / "status.json").value("state", "") == "seeding"; }, 30s))
      << read_file(scratch_ / "status.json");
  auto st = read_status(scratch_ / "status.json");
  EXPECT_EQ(st["pieces_have"], st["pieces_total"]);
  EXPECT_EQ(st["info_hash"], torrent_.info_hash);
  EXPECT_GE(st["bytes_from_peers"].get<std::int64_t>(), static_cast<std::int64_t>(bytes_.size()));
  EXPECT_TRUE(read_file(scratch_ / "cache" / "local") == bytes_);

  // SIGTERM unmounts cleanly and leaves resume data.
  ASSERT_TRUE(bed_->stop(agent, SIGTERM, 15s));
  EXPECT_FALSE(is_mounted(scratch_ / "mnt"));
  EXPECT_TRUE(fs::exists(scratch_ / "cache" / "local.resume")) << read_file(scratch_ / "agent.log");

  // Restarted on the same cache, with no peer at all: everything is there, nothing is downloaded.
  fs::remove(scratch_ / "status.json");
  start_agent({});
  ASSERT_TRUE(wait_until([&] { return read_status(scratch_ / "status.json").value("state", "") == "seeding"; }, 20s))
      << read_file(scratch_ / "agent.log");
  EXPECT_EQ(read_status(scratch_ / "status.json")["bytes_from_peers"], 0);
  EXPECT_TRUE(read_file(file) == bytes_);
}

// The hash-before-write trap (write_fence.hpp): libtorrent says a piece passed its hash check while its bytes
// may still be queued for the disk. One disk I/O thread and separate hash threads let the writes lag the
// hashes; a parked read on every piece of the image is answered the moment its piece is declared readable.
// (On the development machine the race window proved too narrow to hit with the fence removed, 3 of 3 runs
// passed, so the WriteFence table test is the guard of the bookkeeping; this one guards the whole path.)
TEST_F(AgentOnLoopback, ReadersWokenAtPieceCompletionNeverSeeUnwrittenBytes) {
  bytes_ = random_image_bytes(32 << 20, 43);
  write_file(image_, bytes_);
  ASSERT_TRUE(make_torrent(image_, "local", scratch_ / "local.torrent", kPiece).ok());
  start_seed();
  start_agent({"--peer", "127.0.0.1:6881", "--lt-setting", "aio_threads=1", "--lt-setting", "hashing_threads=4"});
  int fd = ::open((scratch_ / "mnt" / "local").c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  const int pieces = static_cast<int>((bytes_.size() + kPiece - 1) / kPiece);
  std::atomic<int> bad{0}, next{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 16; ++t) {
    readers.emplace_back([&] {
      // Each thread takes the next piece in a scattered order and reads all of it: one parked read per piece.
      for (int i; (i = next++) < pieces;) {
        const std::int64_t off = static_cast<std::int64_t>((i * 389) % pieces) * kPiece;
        int err = 0;
        if (pread_all(fd, off, kPiece, err) != bytes_.substr(static_cast<size_t>(off), kPiece) || err) ++bad;
      }
    });
  }
  for (auto& r : readers) r.join();
  ::close(fd);
  EXPECT_EQ(bad.load(), 0) << "reads returned bytes that were not the image's";
}

// The initramfs's way of starting it: no --foreground (the command returns once the mount is live),
// --root-daemon hygiene, and status reports POSTed with the host's bearer token.
TEST_F(AgentOnLoopback, DaemonizesAfterTheMountIsLiveAsARootStorageDaemonAndReports) {
  start_seed();
  write_file(scratch_ / "token", "s3cret-token\n");
  // A listener that records whatever is POSTed to it (it never answers; the agent's report times out).
  auto sink = bed_->spawn("h", {"socat", "-u", "TCP-LISTEN:8099,bind=127.0.0.1,reuseaddr,fork",
                                "OPEN:" + (scratch_ / "reports.txt").string() + ",creat,append"},
                          (scratch_ / "socat.log").string());
  ASSERT_TRUE(sink.ok());
  ASSERT_TRUE(wait_until([&] { return bed_->run("h", {"sh", "-c", "ss -ltn | grep -q 127.0.0.1:8099"})->exit_code == 0; }, 15s))
      << "the report listener did not come up: " << read_file(scratch_ / "socat.log");

  // The daemon keeps the caller's stderr (the console, in the initramfs), so send it to a file here rather
  // than into the pipe run() waits on.
  auto r = bed_->run("h", in_our_mounts({"sh", "-c", "exec \"$0\" \"$@\" 2>>" + (scratch_ / "agent.log").string(), agent_binary(), "mount", "--torrent", (scratch_ / "local.torrent").string(),
                                         "--cache", (scratch_ / "cache").string(), "--mountpoint",
                                         (scratch_ / "mnt").string(), "--status-file",
                                         (scratch_ / "status.json").string(), "--peer", "127.0.0.1:6881",
                                         "--listen-address", "127.0.0.1", "--root-daemon", "--report",
                                         "http://127.0.0.1:8099/api/v1/hosts/aa:bb:cc:dd:ee:ff/events",
                                         "--token-file", (scratch_ / "token").string()}),
                     30s);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->exit_code, 0) << read_file(scratch_ / "agent.log");
  // Returned means mounted: no waiting needed.
  EXPECT_TRUE(is_mounted(scratch_ / "mnt")) << read_file(scratch_ / "agent.log");
  EXPECT_EQ(fs::file_size(scratch_ / "mnt" / "local"), bytes_.size());
  EXPECT_TRUE(read_file(scratch_ / "mnt" / "local") == bytes_) << read_file(scratch_ / "agent.log");

  // The daemon: found by its mount, checked for the root-storage-daemon hygiene.
  auto pids = run_process({"sh", "-c", "for p in /proc/[0-9]*; do cat $p/cmdline 2>/dev/null | tr '\\0' ' ' | grep -q '^@.*swarmboot-agent mount.*" +
                                           scratch_.dir().string() + "' && basename $p; done"});
  ASSERT_TRUE(pids.ok());
  const std::string pid = one_line(pids->output);
  ASSERT_FALSE(pid.empty()) << "argv[0] must start with '@': " << read_file(scratch_ / "agent.log");
  ASSERT_EQ(pid.find('\n'), std::string::npos) << pids->output;
  // Lowering oom_score_adj and PR_SET_IO_FLUSHER need CAP_SYS_RESOURCE, which some containers withhold: then
  // the agent must say so and carry on.
  const bool sys_resource = [] {
    const std::string st = read_file("/proc/self/status");
    const auto pos = st.find("CapEff:");
    return (std::stoull(st.substr(pos + 7), nullptr, 16) >> 24) & 1U;
  }();
  if (sys_resource) {
    EXPECT_EQ(one_line(read_file("/proc/" + pid + "/oom_score_adj")), "-1000");
  } else {
    EXPECT_NE(read_file(scratch_ / "agent.log").find("CAP_SYS_RESOURCE"), std::string::npos);
  }
  const std::string proc_status = read_file("/proc/" + pid + "/status");
  EXPECT_EQ(proc_status.find("VmLck:\t       0 kB"), std::string::npos) << "memory must be locked";

  ASSERT_TRUE(wait_until([&] { return read_file(scratch_ / "reports.txt").find("\"agent\"") != std::string::npos; }, 30s))
      << "no report arrived: " << read_file(scratch_ / "agent.log");
  const std::string reports = read_file(scratch_ / "reports.txt");
  EXPECT_NE(reports.find("POST /api/v1/hosts/aa:bb:cc:dd:ee:ff/events"), std::string::npos) << reports;
  EXPECT_NE(reports.find("Bearer s3cret-token"), std::string::npos) << reports;
  EXPECT_NE(reports.find("\"progress\""), std::string::npos) << reports;

  // Unmounting ends the daemon.
  (void)run_process({"fusermount3", "-u", (scratch_ / "mnt").string()});
  EXPECT_TRUE(wait_until([&] { return !fs::exists("/proc/" + pid); }, 30s)) << read_file(scratch_ / "agent.log");
}

TEST_F(AgentOnLoopback, ImpossibleReadFailsWithEioInsteadOfHanging) {
  // No seed, no peer, no web seed: the read must come back, as EIO, after --read-timeout.
  start_agent({"--read-timeout", "3"});
  int fd = ::open((scratch_ / "mnt" / "local").c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  int err = 0;
  const std::string got = pread_all(fd, 3 * kPiece + 5, 1000, err);
  ::close(fd);
  EXPECT_EQ(err, EIO);
  EXPECT_TRUE(got.empty());
  EXPECT_NE(read_file(scratch_ / "agent.log").find("failed with EIO"), std::string::npos)
      << "the log says why: " << read_file(scratch_ / "agent.log");
}

}  // namespace
