// swarmboot-agent in a real swarm: a seed and agents in test-bed namespaces on shaped links. Reads issued
// while the image is still arriving return exactly its bytes; a squashfs loop-mounted from the FUSE file
// serves its files before the download completes; an agent killed mid-download resumes without fetching
// everything again; a peer sending corrupt data corrupts nobody; with the seed gone, the web seed delivers; a
// boot profile recorded from one host's reads comes first on the next, held until half of it is in, or until
// nearly all of it is in while the host's mount is being read.
#include <gtest/gtest.h>

#include <csignal>
#include <deque>
#include <map>
#include <set>
#include <future>
#include <thread>

#include "agent_harness.hpp"
#include "swarmcore/boot_profile.hpp"

using namespace swarmboot;
using namespace swarmboot::agent_test;
using swarmboot::testbed::TestBed;
using swarmboot::testbed::wait_until;

namespace {

struct Agent {
  std::string host;
  fs::path dir;  // cache/, mnt/, status.json, agent.log
  pid_t pid = -1;
  fs::path file() const { return dir / "mnt" / "img"; }
  fs::path status() const { return dir / "status.json"; }
  std::string log() const { return read_file(dir / "agent.log"); }
  nlohmann::json st() const { return read_status(status()); }
  bool seeding() const { return st().value("state", "") == "seeding"; }
};

class AgentSwarm : public SwarmTest {
 protected:
  AgentSwarm() : SwarmTest("ags", 72) {}
  void SetUp() override {
    if (auto why = fuse_unavailable_reason(); !why.empty()) GTEST_SKIP() << why;
    create_bed();
  }
  void TearDown() override {
    if (bed_) {
      for (const auto& a : agents_)
        if (a.pid > 0) bed_->stop(a.pid, SIGTERM, 10s);
      bed_.reset();
    }
    scratch_.cleanup();
  }

  // Starts an agent on `host` peering with `peers` (host names); waits until its file is mounted.
  Agent& start_agent(const std::string& host, const std::vector<std::string>& peers,
                     std::vector<std::string> extra = {}) {
    Agent* a = nullptr;
    for (auto& existing : agents_)
      if (existing.host == host) a = &existing;
    if (!a) {
      agents_.push_back({host, scratch_ / host, -1});
      a = &agents_.back();
      fs::create_directories(a->dir / "mnt");
    }
    std::vector<std::string> argv = {agent_binary(), "mount", "--torrent", (scratch_ / "img.torrent").string(),
                                     "--cache", (a->dir / "cache").string(), "--mountpoint", (a->dir / "mnt").string(),
                                     "--status-file", a->status().string(), "--foreground", "--listen", "6881"};
    for (const auto& p : peers) {
      argv.push_back("--peer");
      argv.push_back(bed_->ip(p) + ":6881");
    }
    argv.insert(argv.end(), extra.begin(), extra.end());
    auto pid = bed_->spawn(host, in_our_mounts(argv), (a->dir / "agent.log").string());
    EXPECT_TRUE(pid.ok());
    a->pid = pid.ok() ? *pid : -1;
    EXPECT_TRUE(wait_until([&] { std::error_code ec; return fs::file_size(a->file(), ec) == bytes_.size(); }, 20s))
        << a->log();
    return *a;
  }

  // Random preads of up to 1 MiB; returns how many returned other bytes than the image's.
  int random_reads(const Agent& a, int count, unsigned seed) {
    int fd = ::open(a.file().c_str(), O_RDONLY);
    if (fd < 0) return count;
    std::mt19937_64 rng(seed);
    int bad = 0;
    for (int i = 0; i < count; ++i) {
      const auto off = static_cast<std::int64_t>(rng() % bytes_.size());
      const size_t len = 1 + rng() % (1 << 20);
      int err = 0;
      if (pread_all(fd, off, len, err) != bytes_.substr(static_cast<size_t>(off), len) || err) ++bad;
    }
    ::close(fd);
    return bad;
  }

  std::deque<Agent> agents_;
};

TEST_F(AgentSwarm, RandomReadsDuringTheDownloadReturnExactlyTheImageBytes) {
  make_image(24 << 20, 1);
  add_host("seed", 1, 60);
  for (int i = 1; i <= 3; ++i) add_host("h" + std::to_string(i), 10 + i, 60);
  start_seed("seed", scratch_ / "img");
  for (int i = 1; i <= 3; ++i) {
    std::vector<std::string> peers = {"seed"};
    for (int j = 1; j <= 3; ++j)
      if (j != i) peers.push_back("h" + std::to_string(j));
    start_agent("h" + std::to_string(i), peers);
  }
  // Every agent gets readers at once, while its pieces are still arriving.
  std::vector<int> pieces_before;
  for (const auto& a : agents_) pieces_before.push_back(a.st().value("pieces_have", 0));
  std::vector<std::future<int>> readers;
  for (size_t i = 0; i < agents_.size(); ++i)
    for (unsigned t = 0; t < 3; ++t)
      readers.push_back(std::async(std::launch::async, [&, i, t] { return random_reads(agents_[i], 25, 10 * i + t); }));
  for (auto& r : readers) EXPECT_EQ(r.get(), 0);
  for (size_t i = 0; i < agents_.size(); ++i)
    EXPECT_LT(pieces_before[i], torrent_.num_pieces) << "the reads were meant to race the download";

  for (const auto& a : agents_) {
    ASSERT_TRUE(wait_until([&] { return a.seeding(); }, 60s)) << a.host << ": " << a.log();
    EXPECT_TRUE(read_file(a.file()) == bytes_) << a.host;
    EXPECT_TRUE(read_file(a.dir / "cache" / "img") == bytes_) << a.host;
  }
}

TEST_F(AgentSwarm, SquashfsLoopMountedFromTheFuseFileServesFilesBeforeTheDownloadCompletes) {
  // A tree of incompressible files, so the image is as big as its contents.
  const fs::path tree = scratch_ / "tree";
  fs::create_directories(tree / "etc");
  std::map<std::string, std::string> files;
  for (int i = 0; i < 40; ++i) files["blob" + std::to_string(i)] = random_image_bytes(400 * 1024, 100 + i).substr(4);
  files["etc/hostname"] = "swarmboot-test\n";
  for (const auto& [name, data] : files) write_file(tree / name, data);
  ASSERT_EQ(run_process({"mksquashfs", tree.string(), (scratch_ / "img").string(), "-noappend", "-quiet", "-no-progress"})->exit_code, 0);
  bytes_ = read_file(scratch_ / "img");
  auto t = make_torrent(scratch_ / "img", "img", scratch_ / "img.torrent", kPiece);
  ASSERT_TRUE(t.ok()) << t.error().message;
  torrent_ = *t;

  add_host("seed", 1, 12);  // 16 MiB at 12 Mbit/s: about 11 s to arrive in full
  add_host("h1", 11, 100);
  start_seed("seed", scratch_ / "img");
  Agent& a = start_agent("h1", {"seed"});

  fs::create_directories(scratch_ / "root");
  auto m = run_process({"mount", "-t", "squashfs", "-o", "ro,loop", a.file().string(), (scratch_ / "root").string()});
  ASSERT_TRUE(m.ok() && m->exit_code == 0) << (m.ok() ? m->output : m.error().message) << a.log();
  EXPECT_EQ(read_file(scratch_ / "root" / "etc" / "hostname"), files["etc/hostname"]);
  EXPECT_TRUE(read_file(scratch_ / "root" / "blob17") == files["blob17"]);
  const int have = a.st().value("pieces_have", -1);
  EXPECT_LT(have, torrent_.num_pieces) << "files were served before the image had arrived in full";

  for (const auto& [name, data] : files) EXPECT_TRUE(read_file(scratch_ / "root" / name) == data) << name;
  (void)run_process({"umount", (scratch_ / "root").string()});
}

TEST_F(AgentSwarm, AgentKilledMidDownloadResumesWithoutFetchingEverythingAgain) {
  make_image(24 << 20, 2);
  add_host("seed", 1, 40);
  add_host("h1", 11, 40);
  start_seed("seed", scratch_ / "img");
  Agent& a = start_agent("h1", {"seed"});
  // Background download only: nobody reads. Kill it when a good part has arrived.
  int have_at_kill = 0;
  ASSERT_TRUE(wait_until([&] { return (have_at_kill = a.st().value("pieces_have", 0)) >= torrent_.num_pieces / 3; }, 60s))
      << a.log();
  ASSERT_TRUE(bed_->stop(a.pid, SIGKILL, 5s));
  ASSERT_LT(have_at_kill, torrent_.num_pieces) << "killed too late to test resuming";
  (void)run_process({"umount", "-l", (a.dir / "mnt").string()});  // the dead daemon's mount
  fs::remove(a.status());

  start_agent("h1", {"seed"});
  ASSERT_TRUE(wait_until([&] { return a.seeding(); }, 60s)) << a.log();
  const auto fetched = a.st()["bytes_from_peers"].get<std::int64_t>();
  EXPECT_LE(fetched, (torrent_.num_pieces - have_at_kill + 4) * kPiece)
      << "after the restart only the pieces missing at the kill may be fetched (had " << have_at_kill << ")";
  EXPECT_TRUE(read_file(a.file()) == bytes_);
}

TEST_F(AgentSwarm, APeerSendingCorruptPiecesCorruptsNobody) {
  make_image(8 << 20, 3);
  // A copy with every piece damaged, served without hash checks.
  std::string bad = bytes_;
  for (std::int64_t off = 100; off < static_cast<std::int64_t>(bad.size()); off += kPiece) bad[static_cast<size_t>(off)] ^= 0x5a;
  write_file(scratch_ / "img.bad", bad);
  add_host("seed", 1, 60);
  add_host("evil", 2, 60);
  add_host("h1", 11, 60);
  add_host("h2", 12, 60);
  start_seed("evil", scratch_ / "img.bad", /*no_verify=*/true);
  Agent& a1 = start_agent("h1", {"evil", "seed", "h2"});
  Agent& a2 = start_agent("h2", {"evil", "seed", "h1"});
  // Readers at once: they must never see the corrupt bytes.
  auto r1 = std::async(std::launch::async, [&] { return random_reads(a1, 10, 5); });
  // Only the bad peer exists until it has been caught, so the test really exercises the hash check.
  ASSERT_TRUE(wait_until([&] { return a1.log().find("failed its hash check") != std::string::npos ||
                                      a2.log().find("failed its hash check") != std::string::npos; }, 20s))
      << a1.log();
  start_seed("seed", scratch_ / "img");
  EXPECT_EQ(r1.get(), 0);
  for (const Agent* a : {&a1, &a2}) {
    ASSERT_TRUE(wait_until([&] { return a->seeding(); }, 60s)) << a->host << ": " << a->log();
    EXPECT_TRUE(read_file(a->file()) == bytes_) << a->host;
  }
}

TEST_F(AgentSwarm, WithTheSeedGoneTheWebSeedDeliversTheBytes) {
  make_image(16 << 20, 4);
  add_host("seed", 1, 20);
  add_host("web", 2, 100);
  add_host("h1", 11, 100);
  fs::create_directories(scratch_ / "www");
  fs::copy_file(scratch_ / "img", scratch_ / "www" / "img");
  auto httpd = bed_->spawn("web", {"busybox", "httpd", "-f", "-p", bed_->ip("web") + ":80", "-h", (scratch_ / "www").string()},
                           (scratch_ / "httpd.log").string());
  ASSERT_TRUE(httpd.ok());
  const pid_t seed = start_seed("seed", scratch_ / "img");
  Agent& a = start_agent("h1", {"seed"}, {"--webseed", "http://" + bed_->ip("web") + "/img", "--stall-after", "2"});
  ASSERT_TRUE(wait_until([&] { return a.st().value("pieces_have", 0) >= 8; }, 30s)) << a.log();
  ASSERT_TRUE(bed_->stop(seed, SIGKILL, 5s));
  ASSERT_LT(a.st().value("pieces_have", 0), torrent_.num_pieces) << "seed stopped too late to test the web seed";

  auto reader = std::async(std::launch::async, [&] { return read_file(a.file()); });
  ASSERT_EQ(reader.wait_for(90s), std::future_status::ready) << a.log();
  EXPECT_TRUE(reader.get() == bytes_);
  ASSERT_TRUE(wait_until([&] { return a.st().value("bytes_from_webseed", 0) > 0; }, 5s)) << a.log();
}

// A read stalled on a slow swarm is rescued piece by piece: the server sends the pieces that read waits for,
// not the image. (libtorrent's web seed, attached on a stall, used to download whole runs of pieces from the
// server for as long as it stayed attached.)
TEST_F(AgentSwarm, AStalledReadIsRescuedPieceByPieceNotByTheWholeImage) {
  make_image(16 << 20, 5);
  add_host("seed", 1, 2);  // 16 MiB takes about a minute from this seed
  add_host("web", 2, 100);
  add_host("h1", 11, 100);
  fs::create_directories(scratch_ / "www");
  fs::copy_file(scratch_ / "img", scratch_ / "www" / "img");
  auto httpd = bed_->spawn("web", {"busybox", "httpd", "-f", "-p", bed_->ip("web") + ":80", "-h", (scratch_ / "www").string()},
                           (scratch_ / "httpd.log").string());
  ASSERT_TRUE(httpd.ok());
  start_seed("seed", scratch_ / "img");
  Agent& a = start_agent("h1", {"seed"}, {"--webseed", "http://" + bed_->ip("web") + "/img", "--stall-after", "1"});

  // 1 MiB from the middle of the image: 16 pieces the slow seed will not deliver within a second.
  const std::int64_t offset = 8 << 20, length = 1 << 20;
  auto reader = std::async(std::launch::async, [&] {
    int fd = ::open(a.file().c_str(), O_RDONLY);
    int err = 0;
    std::string got = fd < 0 ? std::string() : pread_all(fd, offset, static_cast<size_t>(length), err);
    if (fd >= 0) ::close(fd);
    return got;
  });
  ASSERT_EQ(reader.wait_for(30s), std::future_status::ready) << a.log();
  EXPECT_TRUE(reader.get() == bytes_.substr(static_cast<size_t>(offset), static_cast<size_t>(length)));
  std::this_thread::sleep_for(3s);
  const auto st = a.st();
  EXPECT_GT(st.value("bytes_from_webseed", std::int64_t{0}), 0) << a.log();
  // The read's 16 pieces, plus at most one rescue batch that raced with the swarm; far from the 16 MiB image.
  EXPECT_LE(st.value("bytes_from_webseed", std::int64_t{0}), length + 4 * kPiece) << a.log();
  EXPECT_LT(st.value("pieces_have", 0), torrent_.num_pieces) << "the slow seed should still be sending";
  EXPECT_NE(a.log().find("fetching pieces"), std::string::npos) << a.log();
  EXPECT_EQ(a.log().find("attaching web seed"), std::string::npos) << a.log();
}

// The offsets AgentBootProfile tests read on h1 while it records, 300 kB each: several pieces apiece, so the
// profile is longer than the pieces whose arrival overlaps the background's.
const std::int64_t kProfileReads[] = {std::int64_t{9} << 20, std::int64_t{3} << 20, std::int64_t{14} << 20};

class AgentBootProfile : public AgentSwarm {
 protected:
  // A 16 MiB image on a slow seed (4 Mbit/s: about 35 s for the whole image); h1 reads kProfileReads while
  // recording them to `profile_`. Returns every piece the recorded reads touch (reads plus the kernel's
  // readahead).
  std::set<std::int64_t> record_profile(unsigned image_seed) {
    make_image(16 << 20, image_seed);
    add_host("seed", 1, 4);
    add_host("h1", 11, 100);
    add_host("h2", 12, 100);
    start_seed("seed", scratch_ / "img");
    Agent& a1 = start_agent("h1", {"seed"}, {"--record-reads", profile_.string()});
    for (const std::int64_t offset : kProfileReads) {
      int fd = ::open(a1.file().c_str(), O_RDONLY);
      int err = 0;
      EXPECT_TRUE(pread_all(fd, offset, 300000, err) == bytes_.substr(static_cast<size_t>(offset), 300000));
      ::close(fd);
    }
    // Written by the agent's tick, once a second.
    std::string text;
    EXPECT_TRUE(wait_until([&] {
      text = read_file(profile_);
      auto r = parse_boot_profile(text, static_cast<std::int64_t>(bytes_.size()));
      return r.ok() && r->size() >= 3;
    }, 10s)) << text << a1.log();
    // The kernel's readahead requests may still be arriving: what counts is the file the agent leaves at exit.
    bed_->stop(a1.pid, SIGTERM, 10s);
    a1.pid = -1;
    text = read_file(profile_);
    auto ranges = parse_boot_profile(text, static_cast<std::int64_t>(bytes_.size()));
    EXPECT_TRUE(ranges.ok()) << (ranges.ok() ? "" : ranges.error().message);
    std::set<std::int64_t> pieces;
    if (!ranges.ok()) return pieces;
    for (const auto& r : *ranges)
      for (std::int64_t p = r.offset / kPiece; p <= (r.offset + r.length - 1) / kPiece; ++p) pieces.insert(p);
    for (const std::int64_t offset : kProfileReads)
      EXPECT_TRUE(pieces.count(offset / kPiece)) << "read at " << offset << " missing from the profile:\n" << text;
    return pieces;
  }

  // How many of `pieces` h2's sparse cache file holds: a piece not yet downloaded reads as zeros, never as the
  // image's random bytes.
  int pieces_cached(const Agent& a, const std::set<std::int64_t>& pieces) const {
    const std::string cache = read_file(a.dir / "cache" / "img");
    int held = 0;
    for (std::int64_t p : pieces) {
      const auto off = static_cast<size_t>(p * kPiece);
      const auto len = std::min<size_t>(static_cast<size_t>(kPiece), bytes_.size() - off);
      if (cache.size() >= off + len && cache.compare(off, len, bytes_, off, len) == 0) ++held;
    }
    return held;
  }

  fs::path profile_ = scratch_ / "boot.profile";
};

// A boot profile recorded from one host's reads is fetched first by the next host: on a slow seed, the first
// pieces to arrive at h2 are exactly the pieces h1 read, though h2 reads nothing. (Without a profile
// libtorrent picks pieces in its own order, and the chance that these come first is negligible.)
TEST_F(AgentBootProfile, ARecordedProfileIsFetchedFirstByTheNextHost) {
  const auto pieces = record_profile(6);
  ASSERT_FALSE(pieces.empty());
  const int want = static_cast<int>(pieces.size());
  ASSERT_LT(want + 4, torrent_.num_pieces / 2);

  Agent& a2 = start_agent("h2", {"seed"}, {"--boot-profile", profile_.string()});
  ASSERT_TRUE(wait_until([&] { return a2.st().value("pieces_have", 0) >= want + 2; }, 60s)) << a2.log();
  EXPECT_LT(a2.st().value("pieces_have", 0), torrent_.num_pieces);
  EXPECT_NE(a2.log().find("boot profile"), std::string::npos) << a2.log();
  // Profile first: h2 (fresh, reading nothing) downloaded no other piece before half its profile was in, and
  // the profile still came first (one seed: priority 7 against 1 decides).
  EXPECT_NE(a2.log().find("boot profile half in (nothing has read the mount): downloading the other " +
                          std::to_string(torrent_.num_pieces - want) + " pieces"),
            std::string::npos) << a2.log();
  EXPECT_EQ(pieces_cached(a2, pieces), want) << "with " << a2.st().value("pieces_have", 0) << " pieces present\n"
                                             << a2.log();
}

// A host that is booting (its mount is read) holds the background back until all but a few profile pieces are
// in, not half: its next reads are in the profile, and background pieces would compete with them.
TEST_F(AgentBootProfile, AHostReadingItsMountHoldsTheBackgroundUntilTheProfileIsNearlyIn) {
  const auto pieces = record_profile(8);
  ASSERT_FALSE(pieces.empty());
  const int want = static_cast<int>(pieces.size());

  Agent& a2 = start_agent("h2", {"seed"}, {"--boot-profile", profile_.string()});
  // The boot's first read: one page of the first profile piece.
  int fd = ::open(a2.file().c_str(), O_RDONLY);
  int err = 0;
  const std::int64_t first = *pieces.begin() * kPiece;
  EXPECT_EQ(pread_all(fd, first, 4096, err), bytes_.substr(static_cast<size_t>(first), 4096));
  ::close(fd);
  std::string log;
  ASSERT_TRUE(wait_until([&] { log = a2.log(); return log.find("boot profile nearly in") != std::string::npos; },
                         60s)) << log;
  EXPECT_NE(log.find("boot profile nearly in (the mount is being read): downloading the other"), std::string::npos)
      << log;
  EXPECT_EQ(log.find("half in"), std::string::npos) << log;
  // Released with at most 8 profile pieces missing: at least want - 8 were in (more may have arrived since).
  EXPECT_GE(pieces_cached(a2, pieces), want - 8) << log;
}

// A profile that does not fit the image is a warning, not a failure: the host boots without it.
TEST_F(AgentSwarm, ABadBootProfileIsAWarningAndReadsStillWork) {
  make_image(4 << 20, 7);
  add_host("seed", 1, 50);
  add_host("h1", 11, 100);
  start_seed("seed", scratch_ / "img");
  write_file(scratch_ / "bad.profile", "0 4096\n99999999 10\n");
  Agent& a = start_agent("h1", {"seed"}, {"--boot-profile", (scratch_ / "bad.profile").string()});
  EXPECT_EQ(random_reads(a, 5, 11), 0);
  EXPECT_NE(a.log().find("line 2: [99999999, +10) is outside"), std::string::npos) << a.log();
  EXPECT_NE(a.log().find("booting without it"), std::string::npos) << a.log();
}

}  // namespace
